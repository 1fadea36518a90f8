"""Each workspace's limits: how much work one request may ask for, and how many seconds of
rendering it may use per day.

The numbers are the installation's defaults (settings ``REELFORGE_LIMIT_*`` and
``REELFORGE_RENDER_SECONDS_PER_DAY``) unless the operator set others for the workspace
(``workspaces.limits``). What an edit asks for is worked out by the engine's pure check
(:mod:`reelforge.render.limits`); this module supplies the workspace's numbers and the sources'
known durations, and turns what is exceeded into a 422 ``limit-exceeded``.

The daily budget counts the wall seconds of every render of the workspace that ended (succeeded,
failed or cancelled while running) since midnight UTC, from its start to its end. It is checked
when a render is created: once the day's seconds reach the budget, new renders are refused with
429 ``render-budget-exhausted`` and ``Retry-After`` (the seconds to midnight UTC). Renders already
queued still run, so a day may end a little above the budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import Asset, Render, Workspace, utcnow
from reelforge.edit.models import Edit
from reelforge.edit.references import ASSET_ID_PREFIX
from reelforge.edit.timeline import source_key
from reelforge.render.limits import (
    BUDGET,
    STORAGE_ASSETS,
    STORAGE_BYTES,
    WORKSPACE_LIMITS,
    ZERO_IS_NONE,
    LimitExceeded,
    Limits,
    default_limits,
    edit_limit_problems,
    merged_limits,
)
from reelforge.settings import Settings

from .audit import SYSTEM_ACTOR, Actor
from .errors import Invalid, NotFound, ServiceError

__all__ = [
    "BUDGET",
    "SETTINGS_KEY",
    "WORKSPACE_LIMITS",
    "check_edit_limits",
    "check_limit_values",
    "check_render_budget",
    "check_storage_quota",
    "check_upload_quota",
    "default_limits",
    "limit_error",
    "limits_of",
    "render_seconds_today",
    "set_workspace_limits",
    "storage_used",
    "usage_json",
]

SETTINGS_KEY = "settings"
"""Where a session finds the installation's settings (``Session.info``; set by
:func:`reelforge.services.context.open_services`)."""

_INTEGERS = {"clips", "tracks", "outputs", STORAGE_BYTES, STORAGE_ASSETS}
_MAXIMUM = {"outputs": 20}


def _settings(db: Session) -> Settings | None:
    found = db.info.get(SETTINGS_KEY)
    return found if isinstance(found, Settings) else None


def limits_of(db: Session, workspace_id: str, settings: Settings | None = None) -> dict[str, float | int]:
    """The workspace's numbers: its overrides over the defaults."""
    ws = db.get(Workspace, workspace_id)
    return merged_limits(default_limits(settings or _settings(db)), ws.limits if ws is not None else None)


def _durations(edit: Edit, db: Session, workspace_id: str) -> dict[str, Fraction | None]:
    """The stored (probed at upload) duration of each asset a ``length: "auto"`` clip needs."""
    wanted = {
        key
        for track in edit.timeline.tracks
        for clip in track.clips
        if clip.length == "auto" and (key := source_key(clip)) is not None and key.startswith(ASSET_ID_PREFIX)
    }
    if not wanted:
        return {}
    rows = db.execute(
        select(Asset.id, Asset.media).where(Asset.workspace_id == workspace_id, Asset.id.in_(sorted(wanted)))
    )
    durations: dict[str, Fraction | None] = {}
    for asset_id, media in rows:
        value = (media or {}).get("duration")
        durations[asset_id] = Fraction(str(value)) if isinstance(value, int | float) and value > 0 else None
    return durations


def limit_error(problems: list[LimitExceeded], prefix: str, **extra: Any) -> Invalid:
    names = ", ".join(dict.fromkeys(p.limit for p in problems))
    return Invalid(
        f"the edit asks for more than this workspace allows ({names})",
        code="limit-exceeded",
        errors=[p.as_error(prefix) for p in problems],
        **extra,
    )


def check_edit_limits(edit: Edit, db: Session, workspace_id: str, pointer_prefix: str = "/edit") -> None:
    """Raise 422 ``limit-exceeded`` naming each limit ``edit`` goes beyond (``errors[]`` with
    ``limit``, ``value``, ``maximum`` and a pointer ``#<pointer_prefix>…``)."""
    problems = edit_limit_problems(
        edit, Limits.of(limits_of(db, workspace_id)), _durations(edit, db, workspace_id)
    )
    if problems:
        raise limit_error(problems, pointer_prefix)


def _midnight(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def render_seconds_today(db: Session, workspace_id: str, now: datetime | None = None) -> float:
    """Wall seconds of the workspace's renders that ended since midnight UTC, start to end."""
    since = _midnight(now or utcnow())
    rows = db.execute(
        select(Render.started_at, Render.finished_at).where(
            Render.workspace_id == workspace_id,
            Render.finished_at >= since,
            Render.started_at.is_not(None),
        )
    ).all()
    seconds = 0.0
    for start, end in rows:
        if start is not None and end is not None:
            seconds += max((end - start).total_seconds(), 0.0)
    return round(seconds, 3)


def _whole(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def usage_json(db: Session, workspace_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The day's render seconds against the budget, and when the day ends."""
    now = now or utcnow()
    budget = float(limits_of(db, workspace_id)[BUDGET])
    used = render_seconds_today(db, workspace_id, now)
    return {
        "render_seconds_today": used,
        "render_seconds_per_day": _whole(budget) or None,
        "render_seconds_left": _whole(max(round(budget - used, 3), 0.0)) if budget else None,
        "resets_at": _midnight(now) + timedelta(days=1),
        **dict(
            zip(("storage_bytes_used", "storage_assets_used"), storage_used(db, workspace_id), strict=True)
        ),
    }


def storage_used(db: Session, workspace_id: str) -> tuple[int, int]:
    """Bytes and assets the workspace stores now (expired outputs' bytes are gone: not counted)."""
    from reelforge.db.retention import AssetRetention

    expired = select(AssetRetention.asset_id).where(AssetRetention.expired_at.is_not(None))
    size, count = db.execute(
        select(func.coalesce(func.sum(Asset.size_bytes), 0), func.count(Asset.id)).where(
            Asset.workspace_id == workspace_id, Asset.id.not_in(expired)
        )
    ).one()
    return int(size), int(count)


def check_storage_quota(db: Session, workspace_id: str, adding_bytes: int, adding_assets: int = 1) -> None:
    """Refuse (403 ``quota-exceeded``) what would take the workspace past its storage quotas
    (``storage_bytes``, ``storage_assets``; 0: none)."""
    numbers = limits_of(db, workspace_id)
    quota_bytes, quota_assets = int(numbers[STORAGE_BYTES]), int(numbers[STORAGE_ASSETS])
    if not quota_bytes and not quota_assets:
        return
    size, count = storage_used(db, workspace_id)
    for name, used, adding, quota in (
        (STORAGE_BYTES, size, adding_bytes, quota_bytes),
        (STORAGE_ASSETS, count, adding_assets, quota_assets),
    ):
        if quota and used + adding > quota:
            what = "bytes" if name == STORAGE_BYTES else "assets"
            raise ServiceError(
                f"the workspace's storage quota is {quota} {what}; it stores {used} and this would add "
                f"{adding}: delete assets (or ask the operator for a larger quota)",
                code="quota-exceeded",
                limit=name,
                used=used,
                requested=adding,
                quota=quota,
            )


def check_upload_quota(
    db: Session, workspace_id: str, adding_bytes: int, *, excluding: str | None = None
) -> None:
    """:func:`check_storage_quota` for a tus upload declaring ``adding_bytes``: the bytes the
    workspace's other unfinished uploads declared (or hold, length deferred) count as stored,
    so many open uploads cannot fill the disk past the quota together."""
    from reelforge.db.uploads import Upload

    query = select(func.coalesce(func.sum(func.coalesce(Upload.length, Upload.offset)), 0)).where(
        Upload.workspace_id == workspace_id, Upload.state == "receiving"
    )
    if excluding is not None:
        query = query.where(Upload.id != excluding)
    reserved = int(db.scalar(query) or 0)
    check_storage_quota(db, workspace_id, reserved + adding_bytes, adding_assets=1)


def check_render_budget(db: Session, workspace_id: str, now: datetime | None = None) -> None:
    """Refuse a new render (429 ``render-budget-exhausted``, ``retry_after`` seconds to the next
    UTC day) once the workspace's render seconds of the day reach its budget."""
    now = now or utcnow()
    budget = float(limits_of(db, workspace_id)[BUDGET])
    if not budget:
        return
    used = render_seconds_today(db, workspace_id, now)
    if used >= budget:
        resets = _midnight(now) + timedelta(days=1)
        raise ServiceError(
            f"this workspace used {used:g} of its {budget:g} render seconds today; "
            f"new renders are accepted again from {resets.isoformat().replace('+00:00', 'Z')}",
            code="render-budget-exhausted",
            limit=BUDGET,
            value=used,
            maximum=budget,
            retry_after=max(int((resets - now).total_seconds()) + 1, 1),
        )


def check_limit_values(changes: Mapping[str, Any], prefix: str = "") -> dict[str, float | int | None]:
    """The overrides in ``changes`` checked: known names, positive numbers (``None``: back to
    the default); :class:`Invalid` with a pointer per problem."""
    problems: list[dict[str, Any]] = []
    clean: dict[str, float | int | None] = {}
    for name, value in changes.items():
        where = f"#{prefix}/{name}"
        integer = name in _INTEGERS
        wrong = None
        if name not in WORKSPACE_LIMITS:
            problems.append({"pointer": where, "code": "unknown_field", "detail": "unknown limit"})
            continue
        if value is None:
            clean[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
            wrong = "a whole number" if integer else "a number"
        elif not math.isfinite(value) or value > 1e18:
            wrong = "a finite number up to 1e18"
        elif name in ZERO_IS_NONE and value < 0:
            wrong = "0 (none) or more" if name != BUDGET else "0 (no budget) or more seconds"
        elif name not in ZERO_IS_NONE and value <= 0:
            wrong = "a number above 0"
        elif value > _MAXIMUM.get(name, value):
            wrong = f"at most {_MAXIMUM[name]}"
        if wrong is not None:
            problems.append({"pointer": where, "code": "invalid", "detail": f"expected {wrong}"})
        else:
            clean[name] = value
    if problems:
        raise Invalid(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the limits", errors=problems
        )
    return clean


def set_workspace_limits(
    db: Session,
    workspace_id: str,
    changes: Mapping[str, Any],
    *,
    actor: Actor = SYSTEM_ACTOR,
    prefix: str = "",
) -> Workspace:
    """Set (or with ``None`` reset to the default) some of the workspace's limits, audited as
    ``workspace.limits_changed`` with the old and new overrides; committed. The operator's
    alone: the caller checks. Problems point at ``#<prefix>/<name>``."""
    clean = check_limit_values(changes, prefix)
    ws = db.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound(f"no workspace {workspace_id}")
    old = dict(ws.limits or {})
    new = {**old, **{k: v for k, v in clean.items() if v is not None}}
    for name in (k for k, v in clean.items() if v is None):
        new.pop(name, None)
    if new != old:
        record_audit(
            db,
            workspace_id=ws.id,
            action="workspace.limits_changed",
            resource_type="workspace",
            resource_id=ws.id,
            details={"old_limits": old, "limits": new},
            **actor,
        )
        ws.limits = new
        db.commit()
    return ws
