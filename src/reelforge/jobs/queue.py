"""The render queue: its states, its order, claims on it, and where a queued render stands.

States (named with the ``renders`` table in :mod:`reelforge.db.models`): ``queued``, then while a
worker holds it ``preparing``, ``rendering``, ``finishing`` (:data:`RUNNING_STATES`), and at last
``succeeded``, ``failed`` or ``cancelled`` (:data:`TERMINAL_STATES`).

Order: ``priority`` first (higher first: ``high`` 10, ``normal`` 0, ``low`` -10, or an integer
from -100 to 100), then ``seq``, microseconds since the epoch at creation and above every render
already queued; ties (two creations racing) broken by id, a time-ordered ULID. A workspace's
queued renders start in that order; across workspaces, the workspaces running fewest renders go first (fairness: one
workspace's batch cannot starve another's single render), and with a quota of running renders
per workspace, a workspace at its quota waits.

Claiming is one conditional ``UPDATE … WHERE id = :candidate AND state = 'queued'``: of any number
of threads and processes sharing the database, exactly one sees a row count of 1 for a render, so
no render runs twice at once (on PostgreSQL the UPDATE re-checks the row after waiting for a
concurrent one; SQLite serialises writers). Every later write of the job is conditional on still
holding its claim (:func:`held_by`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    FromClause,
    Select,
    Update,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from reelforge.db.models import (
    RENDER_STATES,
    RUNNING_STATES,
    TERMINAL_STATES,
    Render,
    RenderState,
    Workspace,
    utcnow,
)
from reelforge.representations import record_render_event

__all__ = [
    "PRIORITIES",
    "RENDER_STATES",
    "RUNNING_STATES",
    "TERMINAL_STATES",
    "Claim",
    "RenderState",
    "candidates",
    "claim_next",
    "held_by",
    "next_seq",
    "queue_position",
    "queue_positions",
    "rows_updated",
]

PRIORITIES = {"high": 10, "normal": 0, "low": -10}
"""The named priorities of a render (any integer from -100 to 100 may be given instead)."""

_RENDERS = cast(FromClause, Render.__table__)
_AHEAD = _RENDERS.alias("ahead")


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's hold on a render: its name and the attempt number the claim gave the render."""

    render_id: str
    worker: str | None
    attempt: int


def rows_updated(db: Session, statement: Update) -> int:
    """Run an UPDATE; how many rows it changed (what every conditional write relies on)."""
    return int(cast("CursorResult[Any]", db.execute(statement)).rowcount)


def held_by(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    """The render is still running under this claim (a later claim has another attempt number)."""
    worker = Render.worker.is_(None) if claim.worker is None else Render.worker == claim.worker
    return (
        Render.id == claim.render_id,
        worker,
        Render.attempts == claim.attempt,
        Render.state.in_(RUNNING_STATES),
    )


def next_seq(db: Session) -> int:
    """A new render's place in the queue: after every render already queued (see the module)."""
    highest = db.scalar(select(func.max(Render.seq))) or 0
    return max(time.time_ns() // 1000, int(highest) + 1)


# ------------------------------------------------------------------ where a render stands


def queue_position(renders: FromClause = _RENDERS) -> ColumnElement[Any]:
    """A column of ``renders`` (the table or an alias of it): the 1-based place of a queued
    render among its workspace's queued renders, in the order they will start (1: the
    workspace's next to start once a worker and its quota allow); NULL for any other state.

    The one definition of a queue position: reads select it with their rows (one round trip),
    :func:`queue_positions` with a render's id."""
    render, ahead = renders.c, _AHEAD.c
    return case(
        (
            render.state == "queued",
            select(func.count() + 1)
            .where(
                ahead.state == "queued",
                ahead.workspace_id == render.workspace_id,
                or_(
                    ahead.priority > render.priority,
                    (ahead.priority == render.priority)
                    & or_(ahead.seq < render.seq, (ahead.seq == render.seq) & (ahead.id < render.id)),
                ),
            )
            .scalar_subquery(),
        ),
        else_=None,
    ).label("queue_position")


def queue_positions(db: Session, renders: Sequence[Render]) -> dict[str, int]:
    """The queue positions (see :func:`queue_position`) of those of ``renders`` that are queued,
    as the database (this transaction included) has them."""
    ids = [r.id for r in renders if r.state == "queued"]
    if not ids:
        return {}
    db.flush()
    rows = db.execute(select(_RENDERS.c.id, queue_position()).where(_RENDERS.c.id.in_(ids)))
    return {row.id: int(row.queue_position) for row in rows if row.queue_position is not None}


# ------------------------------------------------------------------ claims


def _running_in(workspace_id: str) -> ColumnElement[int]:
    """How many renders of the workspace run now (a scalar subquery)."""
    other = aliased(Render)
    return (
        select(func.count())
        .select_from(other)
        .where(other.workspace_id == workspace_id, other.state.in_(RUNNING_STATES))
        .scalar_subquery()
    )


def candidates(quota: int) -> Select[str, int, str]:
    """Queued renders in the order they should start: the workspaces running fewest renders
    first (so one workspace's batch of hundreds does not starve another's single render: the
    next free worker takes the render of the workspace running none), then by priority (among
    workspaces running as many: a workspace's high-priority render does not pass another
    workspace that runs fewer), then in creation order; with a quota, only workspaces under it."""
    # A render waiting for a transcript's approval stays queued, in its place, until approved.
    query = select(Render.id, Render.attempts, Render.workspace_id).where(
        Render.state == "queued", Render.awaiting_approval.is_(False)
    )
    running = (
        select(Render.workspace_id, func.count().label("n"))
        .where(Render.state.in_(RUNNING_STATES))
        .group_by(Render.workspace_id)
        .subquery()
    )
    busy = func.coalesce(running.c.n, 0)
    query = query.outerjoin(running, running.c.workspace_id == Render.workspace_id)
    if quota:
        query = query.where(busy < quota)
    return query.order_by(busy, Render.priority.desc(), Render.seq, Render.id)


def claim_next(sessions: sessionmaker[Session], worker: str, *, quota: int = 0) -> Claim | None:
    """Take the next queued render for ``worker`` (``preparing``, ``attempts + 1``), or None when
    there is none to take.

    With a ``quota`` of running renders per workspace, renders of a workspace at its quota are
    skipped (they stay queued, in order) and the workspaces running fewest renders go first."""
    for _ in range(20):  # another worker may take the candidate first; then try the next one
        with sessions() as db:
            candidate = db.execute(candidates(quota).limit(1)).first()
            if candidate is None:
                return None
            conditions = [Render.id == candidate.id, Render.state == "queued"]
            if quota:
                # Claims in one workspace take turns, so the count below includes every claim
                # committed before (SQLite: the UPDATE holds the only write lock).
                if db.get_bind().dialect.name != "sqlite":
                    db.execute(
                        select(Workspace.id)
                        .where(Workspace.id == candidate.workspace_id)
                        .with_for_update(key_share=True)
                    )
                conditions.append(_running_in(candidate.workspace_id) < quota)
            now = utcnow()
            count = rows_updated(
                db,
                update(Render)
                .where(*conditions)
                .values(
                    state="preparing",
                    worker=worker,
                    attempts=Render.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                    progress=0.0,
                    eta_seconds=None,
                    error=None,
                ),
            )
            if count == 1:
                attempt = db.scalar(select(Render.attempts).where(Render.id == candidate.id))
                record_render_event(
                    db, db.get_one(Render, candidate.id, populate_existing=True), "render.started"
                )
                db.commit()
                return Claim(candidate.id, worker, int(attempt or candidate.attempts + 1))
            db.rollback()
    return None
