"""Asset versions, their review, and references that resolve to them.

An asset keeps its id across versions. Its row describes the newest version (``assets.version``);
every version, the first included, is a row of ``asset_versions`` with its own bytes, probe
data, previews, checksum and provenance. A new version arrives through any ingest path (a
multipart upload, a resumable upload, a URL import, the DAM sync's upsert) and goes through the
same checks as a new asset. The same bytes as one of the asset's versions add nothing (that
version is answered); the same bytes as another asset are refused (they are that asset).

Review: each version is ``draft``, ``in_review``, ``approved``, ``rejected`` or ``archived``,
changed only with the ``assets:approve`` scope, with who, when and a comment, audited and
recorded in ``asset_reviews`` (which "approved at time T" is answered from). A version's
``revision`` is its ETag: two reviews with the same ``If-Match`` cannot both win (the update is
conditional on the revision read). An approval may end (``approved_until``): from then on the
version no longer resolves as approved, and the retention run records ``asset.approval_expired``.

References (:mod:`reelforge.edit.references`) resolve here, in the service, before an edit is
compiled: the engine only ever sees pinned versions (``ast_…@3``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.events import record_event
from reelforge.db.models import (
    REVIEW_STATES,
    Asset,
    AssetCollection,
    AssetReview,
    AssetTag,
    AssetVersion,
    new_id,
    utcnow,
)
from reelforge.edit.errors import Problem
from reelforge.edit.references import (
    QUERY_PREFIX,
    asset_references,
    is_asset_id,
    normalise_references,
    parse_query,
    parse_version_ref,
)
from reelforge.media.ingest import IngestError, discard_stored, ingest_file, store_version, version_row
from reelforge.representations import asset_json, json_ready

from .audit import Actor
from .context import Services
from .errors import Conflict, Invalid, NotFound, PreconditionFailed
from .limits import check_storage_quota

__all__ = [
    "Resolution",
    "ResolutionCache",
    "add_version",
    "approved_now",
    "asset_exists",
    "expire_approvals",
    "find_version",
    "list_versions",
    "media_report",
    "resolve_references",
    "restore_version",
    "review_version",
    "unapproved_problems",
    "upsert_by_ref",
    "version_etag",
    "version_json",
]

log = logging.getLogger("reelforge.assets.versions")

MAX_COMMENT = 2000


# ------------------------------------------------------------------------------ representation


def approved_now(version: AssetVersion, at: datetime) -> bool:
    """Whether the version counts as approved at ``at`` (approved, and its approval not ended)."""
    return version.state == "approved" and (version.approved_until is None or version.approved_until > at)


def version_etag(version: AssetVersion) -> str:
    return f'"{version.revision}"'


def version_json(version: AssetVersion, current: int, at: datetime | None = None) -> dict[str, Any]:
    base = f"/v1/assets/{version.asset_id}/versions/{version.number}"
    return {
        "object": "asset_version",
        "asset_id": version.asset_id,
        "version": version.number,
        "current": version.number == current,
        "kind": version.kind,
        "content_type": version.content_type,
        "size_bytes": version.size_bytes,
        "sha256": version.sha256,
        "media": version.media,
        "source": version.source,
        "derived_from": version.derived_from,
        "external_version": version.external_version,
        "created_by": version.created_by,
        "created_at": version.created_at,
        "review": {
            "state": version.state,
            "by": version.reviewed_by,
            "at": version.reviewed_at,
            "comment": version.review_comment,
            "approved_until": version.approved_until,
        },
        "approved": approved_now(version, at or utcnow()),
        "revision": version.revision,
        "content_url": f"{base}/content",
    }


def _find_asset(db: Session, workspace_id: str, asset_id: str, *, lock: bool = False) -> Asset:
    query = select(Asset).where(Asset.id == asset_id, Asset.workspace_id == workspace_id)
    asset = db.scalar(query.with_for_update() if lock else query)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


def asset_exists(services: Services, workspace_id: str, asset_id: str) -> None:
    """404 unless the workspace has the asset."""
    with services.sessions() as db:
        _find_asset(db, workspace_id, asset_id)


def find_version(
    db: Session, workspace_id: str, asset_id: str, number: int, *, lock: bool = False
) -> tuple[Asset, AssetVersion]:
    """The asset and its version ``number``; 404 (the same for another workspace's asset)."""
    asset = _find_asset(db, workspace_id, asset_id)
    query = select(AssetVersion).where(AssetVersion.asset_id == asset.id, AssetVersion.number == number)
    version = db.scalar(query.with_for_update() if lock else query)
    if version is None:
        raise NotFound(f"asset {asset_id} has no version {number}")
    return asset, version


def list_versions(db: Session, workspace_id: str, asset_id: str) -> list[dict[str, Any]]:
    """Every version of the asset, newest first."""
    asset = _find_asset(db, workspace_id, asset_id)
    at = utcnow()
    rows = db.scalars(
        select(AssetVersion).where(AssetVersion.asset_id == asset.id).order_by(AssetVersion.number.desc())
    )
    return [version_json(v, asset.version, at) for v in rows]


def _tags(db: Session, asset_id: str) -> list[str]:
    return list(db.scalars(select(AssetTag.tag).where(AssetTag.asset_id == asset_id)))


def _shown(db: Session, asset: Asset) -> dict[str, Any]:
    """The asset as shown, its tags and collections read."""
    collections = db.scalars(select(AssetCollection.collection).where(AssetCollection.asset_id == asset.id))
    return asset_json(asset, _tags(db, asset.id), list(collections))


def _version_event(db: Session, asset: Asset, version: AssetVersion, type: str) -> None:
    record_event(
        db,
        workspace_id=asset.workspace_id,
        type=type,
        resource_type="asset",
        resource_id=asset.id,
        data=json_ready({"asset": _shown(db, asset), "version": version_json(version, asset.version)}),
    )


# ------------------------------------------------------------------------------ new versions


def _ensure_head_version(db: Session, asset: Asset) -> None:
    """An asset row written without its version (by another process) gets it now, from its own
    columns, before a newer version is added."""
    if _newest(db, asset.id, AssetVersion.number == asset.version) is None:
        db.add(version_row(asset, asset.version))
        db.flush()


def _make_head(asset: Asset, version: AssetVersion, previews: str) -> None:
    """The asset row describes ``version`` from now on (the revision triggers bump it)."""
    asset.version = version.number
    asset.kind, asset.content_type = version.kind, version.content_type
    asset.size_bytes, asset.sha256, asset.storage_key = (
        version.size_bytes,
        version.sha256,
        version.storage_key,
    )
    asset.media = dict(version.media)
    asset.thumbnail_key, asset.waveform_key = version.thumbnail_key, version.waveform_key
    asset.previews = previews


def add_version(
    services: Services,
    workspace_id: str,
    asset_id: str,
    path: Path,
    *,
    name: str = "",
    sha256: str,
    actor: Actor,
    source: str = "upload",
    derived_from: Mapping[str, Any] | None = None,
    external_version: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Make the file at ``path`` the newest version of the workspace's asset: the version as
    shown, and whether it is new (the same bytes, or the same ``external_version``, as one of
    the asset's versions answer that version). Checked like any upload (422
    ``media-unsupported`` or ``content-too-large``; a version of another kind than the asset is
    refused); 409 when the bytes are another asset's. Committed, with ``asset.version_created``."""
    with services.sessions() as db:
        asset = _find_asset(db, workspace_id, asset_id)
        same_as = [AssetVersion.sha256 == sha256]
        if external_version is not None:
            same_as.append(AssetVersion.external_version == external_version)
        same = db.scalar(
            select(AssetVersion)
            .where(AssetVersion.asset_id == asset.id, or_(*same_as))
            .order_by(AssetVersion.number.desc())
            .limit(1)
        )
        if same is not None:
            return version_json(same, asset.version), False
        other = db.scalar(
            select(Asset.id).where(
                Asset.workspace_id == workspace_id, Asset.sha256 == sha256, Asset.id != asset.id
            )
        )
        if other is not None:
            raise Conflict(
                f"these bytes are already asset {other}; a version must be new content", asset=other
            )
        size = path.stat().st_size
        check_storage_quota(db, workspace_id, size, adding_assets=0)
        kind = asset.kind
    version_id = new_id("avr")
    try:
        sniffed, key, keys, previews = store_version(
            services.storage,
            prefix=f"{workspace_id}/{asset_id}/{version_id}",
            path=path,
            name=name,
            settings=services.settings,
        )
    except IngestError as exc:
        code = exc.code if exc.code in ("media-unsupported", "content-too-large") else "media-unsupported"
        raise Invalid(
            exc.reason,
            code=code,
            errors=[{"pointer": "#/file", "detail": exc.reason, "code": code.replace("-", "_")}],
        ) from None
    stored = [k for k in (key, *keys.values())]
    if sniffed.kind != kind:
        discard_stored(services.storage, stored)
        raise Invalid(
            f"asset {asset_id} is a {kind} asset; a new version must be one too (this file is {sniffed.kind})",
            errors=[
                {"pointer": "#/file", "detail": f"a {sniffed.kind} file, not {kind}", "code": "kind_mismatch"}
            ],
        )
    try:
        with services.sessions() as db:
            asset = _find_asset(db, workspace_id, asset_id, lock=True)
            # The same bytes may have arrived meanwhile (two syncs at once): that version.
            arrived = db.scalar(
                select(AssetVersion)
                .where(AssetVersion.asset_id == asset.id, or_(*same_as))
                .order_by(AssetVersion.number.desc())
                .limit(1)
            )
            if arrived is not None:
                db.rollback()
                discard_stored(services.storage, stored)
                return version_json(arrived, asset.version), False
            _ensure_head_version(db, asset)
            version = AssetVersion(
                id=version_id,
                asset_id=asset.id,
                workspace_id=workspace_id,
                number=asset.version + 1,
                kind=sniffed.kind,
                content_type=sniffed.content_type,
                size_bytes=services.storage.local_path(key).stat().st_size,
                sha256=sha256,
                storage_key=key,
                media=sniffed.media,
                thumbnail_key=keys.get("thumbnail"),
                waveform_key=keys.get("waveform"),
                source=source,
                derived_from=dict(derived_from or {}),
                external_version=external_version,
                created_by=actor.get("actor_id"),
                created_at=utcnow(),
                state="draft",
                review_comment="",
                expiry_notified=False,
                revision=1,
            )
            db.add(version)
            db.flush()
            _make_head(asset, version, previews)
            _version_event(db, asset, version, "asset.version_created")
            record_audit(
                db,
                workspace_id=workspace_id,
                action="asset.version_created",
                resource_type="asset",
                resource_id=asset.id,
                details={"version": version.number, "sha256": sha256, "source": source},
                **actor,
            )
            db.commit()
            return version_json(version, asset.version), True
    except IntegrityError:
        # Another asset took these bytes meanwhile, or another version took this number.
        discard_stored(services.storage, stored)
        raise Conflict(
            f"asset {asset_id} changed meanwhile (or its bytes became another asset); try again"
        ) from None
    except BaseException:
        discard_stored(services.storage, stored)
        raise


def restore_version(
    db: Session, workspace_id: str, asset_id: str, number: int, actor: Actor
) -> dict[str, Any]:
    """Make a copy of version ``number`` the newest version (its bytes shared, its review state
    ``draft``: a restored file is reviewed again)."""
    asset = _find_asset(db, workspace_id, asset_id, lock=True)
    _ensure_head_version(db, asset)
    asset, old = find_version(db, workspace_id, asset_id, number)
    clash = db.scalar(
        select(Asset.id).where(
            Asset.workspace_id == workspace_id, Asset.sha256 == old.sha256, Asset.id != asset.id
        )
    )
    if clash is not None:
        raise Conflict(f"the bytes of version {number} are now asset {clash}", asset=clash)
    version = AssetVersion(
        id=new_id("avr"),
        asset_id=asset.id,
        workspace_id=workspace_id,
        number=asset.version + 1,
        kind=old.kind,
        content_type=old.content_type,
        size_bytes=old.size_bytes,
        sha256=old.sha256,
        storage_key=old.storage_key,
        media=dict(old.media),
        thumbnail_key=old.thumbnail_key,
        waveform_key=old.waveform_key,
        source="restore",
        derived_from={"restored_from": number},
        external_version=None,
        created_by=actor.get("actor_id"),
        created_at=utcnow(),
        state="draft",
        review_comment="",
        expiry_notified=False,
        revision=1,
    )
    db.add(version)
    db.flush()
    _make_head(asset, version, "ready" if old.thumbnail_key or old.waveform_key else "none")
    _version_event(db, asset, version, "asset.version_created")
    record_audit(
        db,
        workspace_id=workspace_id,
        action="asset.version_restored",
        resource_type="asset",
        resource_id=asset.id,
        details={"version": version.number, "restored_from": number},
        **actor,
    )
    db.commit()
    return version_json(version, asset.version)


def upsert_by_ref(
    services: Services,
    workspace_id: str,
    system: str,
    external_id: str,
    external_version: str,
    path: Path,
    *,
    name: str,
    sha256: str,
    tags: list[str],
    metadata: dict[str, Any],
    actor: Actor,
    collections: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The DAM sync: the asset with this external reference gets ``external_version`` as a new
    version (once), or is created with it. Returns the asset, the version, and whether anything
    was created; running it twice creates nothing the second time."""
    with services.sessions() as db:
        known = db.scalar(
            select(Asset.id).where(
                Asset.workspace_id == workspace_id,
                Asset.external_system == system,
                Asset.external_id == external_id,
            )
        )
    if known is not None:
        version, created = add_version(
            services,
            workspace_id,
            known,
            path,
            name=name,
            sha256=sha256,
            actor=actor,
            source="sync",
            derived_from={"external_ref": {"system": system, "id": external_id, "version": external_version}},
            external_version=external_version,
        )
        with services.sessions() as db:
            asset = _find_asset(db, workspace_id, known)
            return _shown(db, asset), version, created
    with services.sessions() as db:
        same = db.scalar(select(Asset).where(Asset.workspace_id == workspace_id, Asset.sha256 == sha256))
        if same is not None and (same.external_system, same.external_id) != (system, external_id):
            raise Conflict(
                f"these bytes are already asset {same.id}, which is not {system}/{external_id}", asset=same.id
            )
        try:
            asset, created = ingest_file(
                db,
                services.storage,
                workspace_id=workspace_id,
                path=path,
                name=name,
                settings=services.settings,
                sha256=sha256,
                tags=tags,
                collections=collections,
                metadata=metadata,
                source="import",
                derived_from={
                    "external_ref": {"system": system, "id": external_id, "version": external_version}
                },
                created_by=actor.get("actor_id"),
                external_version=external_version,
                defer_previews=True,
            )
        except IngestError as exc:
            code = exc.code if exc.code in ("media-unsupported", "content-too-large") else "media-unsupported"
            raise Invalid(
                exc.reason,
                code=code,
                errors=[{"pointer": "#/file", "detail": exc.reason, "code": code.replace("-", "_")}],
            ) from None
        try:
            asset.external_system, asset.external_id = system, external_id
            db.commit()
        except IntegrityError:
            # Another sync of the same reference won the race: its asset is the answer.
            db.rollback()
            raise Conflict(f"{system}/{external_id} was created meanwhile; run the sync again") from None
        if created and asset.previews == "pending":
            services.previews().submit(asset.id)
        version = db.scalar(
            select(AssetVersion).where(
                AssetVersion.asset_id == asset.id, AssetVersion.number == asset.version
            )
        )
        assert version is not None
        return _shown(db, asset), version_json(version, asset.version), created


# ------------------------------------------------------------------------------ review

_EVENTS = {"approved": "asset.approved", "rejected": "asset.rejected"}


def review_version(
    db: Session,
    workspace_id: str,
    asset_id: str,
    number: int,
    *,
    state: str,
    comment: str,
    approved_until: datetime | None,
    actor: Actor,
    if_match: int | None,
) -> dict[str, Any]:
    """Set the version's review state (audited, recorded in its history, with
    ``asset.approved``, ``asset.rejected`` or ``asset.review_changed``). ``if_match``: the
    revision the caller read; 412 when the version was reviewed since."""
    at = utcnow()
    problems = []
    if state not in REVIEW_STATES:
        problems.append(
            {"pointer": "#/state", "detail": f"one of {', '.join(REVIEW_STATES)}", "code": "enum"}
        )
    if approved_until is not None and state != "approved":
        problems.append(
            {"pointer": "#/approved_until", "detail": "only an approval has an end", "code": "not_allowed"}
        )
    if approved_until is not None and approved_until <= at:
        problems.append(
            {"pointer": "#/approved_until", "detail": "must be in the future", "code": "in_the_past"}
        )
    if len(comment) > MAX_COMMENT:
        problems.append(
            {"pointer": "#/comment", "detail": f"at most {MAX_COMMENT} characters", "code": "too_long"}
        )
    if problems:
        raise Invalid(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the review", errors=problems
        )
    asset, version = find_version(db, workspace_id, asset_id, number, lock=True)
    expected = version.revision if if_match is None else if_match
    # Conditional on the revision read: of two reviews racing with the same If-Match, one wins.
    changed = db.execute(
        update(AssetVersion)
        .where(AssetVersion.id == version.id, AssetVersion.revision == expected)
        .values(
            state=state,
            reviewed_by=actor.get("actor_id"),
            reviewed_at=at,
            review_comment=comment,
            approved_until=approved_until,
            expiry_notified=False,
            revision=AssetVersion.revision + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        db.rollback()
        current = db.scalar(select(AssetVersion.revision).where(AssetVersion.id == version.id))
        raise PreconditionFailed(
            f"version {number} of asset {asset_id} was reviewed since you read it (If-Match does not match)",
            etag=f'"{current}"',
            errors=[{"header": "If-Match", "detail": "stale revision", "code": "stale"}],
        )
    db.add(
        AssetReview(
            id=new_id("arv"),
            version_id=version.id,
            asset_id=asset.id,
            state=state,
            at=at,
            by=actor.get("actor_id"),
            comment=comment,
            approved_until=approved_until,
        )
    )
    db.flush()
    db.refresh(version)
    _version_event(db, asset, version, _EVENTS.get(state, "asset.review_changed"))
    record_audit(
        db,
        workspace_id=workspace_id,
        action=f"asset.{state}" if state in _EVENTS else "asset.review_changed",
        resource_type="asset",
        resource_id=asset.id,
        details={
            "version": number,
            "state": state,
            "comment": comment,
            "approved_until": approved_until.isoformat() if approved_until else None,
        },
        **actor,
    )
    db.commit()
    return version_json(version, asset.version, at)


def expire_approvals(db: Session, now: datetime | None = None) -> int:
    """Record ``asset.approval_expired`` (once) for every approval that has ended; how many.
    The version stopped resolving as approved at ``approved_until`` already: this only tells."""
    now = now or utcnow()
    ended = list(
        db.scalars(
            select(AssetVersion)
            .where(
                AssetVersion.state == "approved",
                AssetVersion.approved_until.is_not(None),
                AssetVersion.approved_until <= now,
                AssetVersion.expiry_notified.is_(False),
            )
            .order_by(AssetVersion.approved_until)
            .limit(500)
        )
    )
    for version in ended:
        version.expiry_notified = True
        asset = db.get(Asset, version.asset_id)
        if asset is None:
            continue
        _version_event(db, asset, version, "asset.approval_expired")
        record_audit(
            db,
            workspace_id=asset.workspace_id,
            action="asset.approval_expired",
            resource_type="asset",
            resource_id=asset.id,
            details={
                "version": version.number,
                "approved_until": version.approved_until.isoformat() if version.approved_until else None,
            },
        )
    db.commit()
    return len(ended)


# ------------------------------------------------------------------------------ resolving references


@dataclass(frozen=True)
class Resolution:
    """What one place of an edit resolved to."""

    pointer: str
    reference: str
    asset: str
    version: int
    sha256: str
    state: str
    approved: bool
    approved_until: datetime | None

    def as_json(self, prefix: str = "") -> dict[str, Any]:
        return {
            "pointer": prefix + self.pointer,
            "reference": self.reference,
            "asset": self.asset,
            "version": self.version,
            "sha256": self.sha256,
            "state": self.state,
            "approved": self.approved,
            "approved_until": json_ready(self.approved_until),
        }


@dataclass
class ResolutionCache:
    """References resolved once and reused: a batch makes one at its start, so every row uses
    the same versions, at the same time ``at``."""

    at: datetime = field(default_factory=utcnow)
    found: dict[str, AssetVersion | Problem | str] = field(default_factory=dict)


def _approved_clause(at: datetime) -> Any:
    return and_(
        AssetVersion.state == "approved",
        or_(AssetVersion.approved_until.is_(None), AssetVersion.approved_until > at),
    )


def _newest(db: Session, asset_id: str, *where: Any) -> AssetVersion | None:
    return db.scalar(
        select(AssetVersion)
        .where(AssetVersion.asset_id == asset_id, *where)
        .order_by(AssetVersion.number.desc())
        .limit(1)
    )


def _resolve_one(db: Session, workspace_id: str, src: str, at: datetime) -> AssetVersion | str:
    """The version ``src`` names, or why none."""
    if is_asset_id(src):
        asset = db.scalar(select(Asset).where(Asset.id == src, Asset.workspace_id == workspace_id))
        if asset is None:
            return f"no asset {src} in this workspace"
        found = _newest(db, asset.id, AssetVersion.number == asset.version)
        # A row written without its version (by another process, or before versions): the
        # asset's own columns are its only version, named by the plain id (not stored).
        return found if found is not None else version_row(asset, asset.version)
    ref = parse_version_ref(src)
    if ref is not None:
        asset = db.scalar(select(Asset).where(Asset.id == ref.asset, Asset.workspace_id == workspace_id))
        if asset is None:
            return f"no asset {ref.asset} in this workspace"
        if ref.version == "approved":
            found = _newest(db, asset.id, _approved_clause(at))
            return found if found is not None else f"asset {ref.asset} has no approved version"
        number = asset.version if ref.version == "latest" else ref.version
        found = _newest(db, asset.id, AssetVersion.number == number)
        return found if found is not None else f"asset {ref.asset} has no version {number}"
    query = parse_query(src)
    assert query is not None
    if query.problems:
        return "; ".join(query.problems)
    assets = select(Asset.id).where(Asset.workspace_id == workspace_id)
    if query.kind is not None:
        assets = assets.where(Asset.kind == query.kind)
    for tag in query.tags:
        assets = assets.where(exists().where(AssetTag.asset_id == Asset.id, AssetTag.tag == tag))
    if query.collection is not None:
        assets = assets.where(
            exists().where(
                AssetCollection.asset_id == Asset.id, AssetCollection.collection == query.collection
            )
        )
    if query.state == "any":
        condition: Any = AssetVersion.number == Asset.version
    elif query.state == "approved":
        condition = _approved_clause(at)
    else:
        condition = AssetVersion.state == query.state
    # Per matching asset, its newest version meeting the state.
    newest = (
        select(AssetVersion.asset_id, func.max(AssetVersion.number).label("number"))
        .join(Asset, Asset.id == AssetVersion.asset_id)
        .where(AssetVersion.asset_id.in_(assets), condition)
        .group_by(AssetVersion.asset_id)
        .subquery()
    )
    candidates = list(
        db.scalars(
            select(AssetVersion)
            .join(
                newest,
                and_(AssetVersion.asset_id == newest.c.asset_id, AssetVersion.number == newest.c.number),
            )
            .order_by(AssetVersion.created_at.desc(), AssetVersion.id.desc())
        )
    )
    terms = [f"tags {list(query.tags)}"] if query.tags else []
    if query.collection is not None:
        terms.append(f"collection {query.collection!r}")
    if query.kind is not None:
        terms.append(f"kind {query.kind}")
    what = " and ".join(terms)
    if not candidates:
        state = "" if query.state == "any" else f" with a version {query.state.replace('_', ' ')}"
        return f"no asset with {what}{state}"
    if len(candidates) > 1 and query.pick == "only":
        ids = ", ".join(c.asset_id for c in candidates[:10])
        return (
            f"{len(candidates)} assets match ({ids}); add tags, or say which with pick=newest or pick=oldest"
        )
    return candidates[-1] if query.pick == "oldest" else candidates[0]


def _set_at(document: Any, ptr: str, value: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]
    node = document
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def resolve_references(
    document: Any, db: Session, workspace_id: str, *, cache: ResolutionCache | None = None
) -> tuple[Any, list[Resolution], list[Problem]]:
    """``document`` with every asset it names pinned to a version (``ast_…@N``; a copy), what
    each place resolved to, and the places that resolve to nothing (or to several assets),
    each with its pointer. Other sources (URLs, paths) are left to the edit's checks."""
    cache = cache if cache is not None else ResolutionCache()
    pinned = copy.deepcopy(document)
    resolutions: list[Resolution] = []
    problems: list[Problem] = []
    for ref in asset_references(document):
        src = ref.src
        if not (is_asset_id(src) or parse_version_ref(src) is not None or src.startswith(QUERY_PREFIX)):
            continue
        found = cache.found.get(src)
        if found is None:
            found = _resolve_one(db, workspace_id, src, cache.at)
            cache.found[src] = found
        if isinstance(found, str):
            code = (
                "asset_not_found"
                if found.startswith("no asset ") and not src.startswith(QUERY_PREFIX)
                else "reference_unresolved"
            )
            if " assets match " in found:
                code = "reference_ambiguous"
            problems.append(Problem(ref.pointer, found, code))
            continue
        assert isinstance(found, AssetVersion)
        if not inspect(found).transient:
            _set_at(pinned, ref.pointer, f"{found.asset_id}@{found.number}")
        resolutions.append(
            Resolution(
                ref.pointer,
                src,
                found.asset_id,
                found.number,
                found.sha256,
                found.state,
                approved_now(found, cache.at),
                found.approved_until,
            )
        )
    return pinned, resolutions, problems


def unapproved_problems(resolutions: list[Resolution]) -> list[Problem]:
    """Each place whose version is not approved now (never, no longer, or rejected)."""
    problems = []
    for r in resolutions:
        if r.approved:
            continue
        if r.state == "approved":
            why = f"its approval ended on {json_ready(r.approved_until)}"
        else:
            why = f"it is {r.state.replace('_', ' ')}"
        problems.append(
            Problem(
                r.pointer,
                f"version {r.version} of asset {r.asset} is not approved ({why}); a publication render "
                "uses approved media only (a draft or preview may use any)",
                "unapproved_media",
            )
        )
    return problems


def media_report(
    db: Session, workspace_id: str, document: Any, *, pointer_prefix: str = ""
) -> dict[str, Any]:
    """Before a render: what each file of ``document`` resolves to now, and what stands in the
    way of publishing it: a reference that resolves to nothing (or to several assets), a
    version never approved (or rejected, archived), an approval that has ended. ``passed``: a
    render for publication would take every file."""
    pinned_document = copy.deepcopy(document)
    normalise_references(pinned_document)
    _, resolutions, problems = resolve_references(pinned_document, db, workspace_id)
    found = [
        {"pointer": "#" + pointer_prefix + p.pointer, "code": p.code, "detail": p.message} for p in problems
    ]
    for r in resolutions:
        if r.approved:
            continue
        expired = r.state == "approved"
        found.append(
            {
                "pointer": "#" + pointer_prefix + r.pointer,
                "code": "approval_expired" if expired else "unapproved_media",
                "detail": (
                    f"the approval of version {r.version} of asset {r.asset} ended on {json_ready(r.approved_until)}"
                    if expired
                    else f"version {r.version} of asset {r.asset} is {r.state.replace('_', ' ')}, not approved"
                ),
            }
        )
    found.sort(key=lambda f: f["pointer"])
    return {
        "object": "media_report",
        "passed": not found,
        "files": [r.as_json("#" + pointer_prefix) for r in resolutions],
        "problems": found,
    }
