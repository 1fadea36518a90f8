"""The render worker: N threads that take queued renders in order and run them.

Claiming is one conditional ``UPDATE … WHERE id = :oldest_queued AND state = 'queued'``: of any
number of threads and processes sharing the database, exactly one sees a row count of 1 for a
render, so no render runs twice at once (on PostgreSQL the UPDATE re-checks the row after
waiting for a concurrent one; SQLite serialises writers).

A running render's row gets a heartbeat every second. Renders whose worker stopped beating
(``stale_after``, 30 s by default), or that a worker of the same name left behind in a previous
life, are recovered: back to ``queued`` while attempts remain, else ``failed`` with
``interrupted``. Recovery runs at start and then every ``recover_interval`` seconds, so a crashed
process's renders are taken over by the others.

Give each process its own ``name`` (the default is host, pid and a random suffix); a stable name
lets a restarted process recover its own renders at once instead of after ``stale_after``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from reelforge.db.models import Render, Workspace, utcnow
from reelforge.representations import record_render_event

from .render_job import RUNNING_STATES, Claim, RenderJob, release, rows_updated

if TYPE_CHECKING:
    from .context import JobContext

__all__ = ["RenderWorker", "queue_positions"]

log = logging.getLogger("reelforge.worker")


def _running_in(workspace_id: str) -> ColumnElement[int]:
    """How many renders of the workspace run now (a scalar subquery)."""
    other = aliased(Render)
    return (
        select(func.count())
        .select_from(other)
        .where(other.workspace_id == workspace_id, other.state.in_(RUNNING_STATES))
        .scalar_subquery()
    )


def _candidates(quota: int) -> Select[str, int, str]:
    """Queued renders in the order they should start: creation order; with a quota, only
    workspaces under it, fewest running first (so one workspace's burst does not starve the
    others of free workers), each workspace's own renders still in creation order."""
    query = select(Render.id, Render.attempts, Render.workspace_id).where(Render.state == "queued")
    if not quota:
        return query.order_by(Render.seq, Render.id)
    running = (
        select(Render.workspace_id, func.count().label("n"))
        .where(Render.state.in_(RUNNING_STATES))
        .group_by(Render.workspace_id)
        .subquery()
    )
    busy = func.coalesce(running.c.n, 0)
    return (
        query.outerjoin(running, running.c.workspace_id == Render.workspace_id)
        .where(busy < quota)
        .order_by(busy, Render.seq, Render.id)
    )


def queue_positions(db: Session, renders: Sequence[Render]) -> dict[str, int]:
    """The 1-based place of each queued render among its workspace's queued renders, in the
    order they will start (1: the workspace's next to start once a worker and its quota allow)."""
    out: dict[str, int] = {}
    for render in renders:
        if render.state == "queued":
            ahead = db.scalar(
                select(func.count())
                .select_from(Render)
                .where(
                    Render.state == "queued",
                    Render.workspace_id == render.workspace_id,
                    or_(Render.seq < render.seq, (Render.seq == render.seq) & (Render.id < render.id)),
                )
            )
            out[render.id] = int(ahead or 0) + 1
    return out


class RenderWorker:
    def __init__(
        self,
        services: JobContext,
        *,
        concurrency: int,
        name: str | None = None,
        poll_interval: float = 1.0,
        heartbeat_interval: float = 1.0,
        stale_after: float = 30.0,
        recover_interval: float = 15.0,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.services = services
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.poll_interval = poll_interval
        """Seconds between looks at the queue when nobody calls :meth:`wake` (other processes
        may add work)."""
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.recover_interval = recover_interval
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._cond = threading.Condition()
        self._generation = 0
        self._jobs: set[RenderJob] = set()
        self._jobs_lock = threading.Lock()
        self._last_recover = 0.0
        self._recover_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the worker is already started")
        self._stopping.clear()
        try:
            self.recover(include_own=True)
        except Exception:  # a database not answering yet: the loops retry recovery later
            log.exception("render recovery failed at start")
        self._threads = [
            threading.Thread(target=self._loop, name=f"render-worker-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()
        log.info("render worker %s started with %d thread(s)", self.name, self.concurrency)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop taking work and interrupt running renders (they go back to the queue, or fail if
        they used up their attempts). Queued renders stay queued."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        with self._jobs_lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.interrupt()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            log.warning("render worker %s: threads still busy after %.0f s", self.name, timeout)
        self._threads = []

    def wake(self) -> None:
        """New work was queued: look now rather than at the next poll."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def alive(self) -> bool:
        return (
            bool(self._threads) and not self._stopping.is_set() and all(t.is_alive() for t in self._threads)
        )

    # ------------------------------------------------------------------ claiming

    def claim(self) -> Claim | None:
        """Take the oldest queued render, or None when there is none.

        With a quota of running renders per workspace, renders of a workspace at its quota are
        skipped (they stay queued, in order) and the workspaces running fewest renders go first."""
        sessions = self.services.sessions
        quota = self.services.settings.max_running_renders_per_workspace
        for _ in range(20):  # another worker may take the candidate first; then try the next one
            with sessions() as db:
                candidate = db.execute(_candidates(quota).limit(1)).first()
                if candidate is None:
                    return None
                conditions = [Render.id == candidate.id, Render.state == "queued"]
                if quota:
                    # Claims in one workspace take turns, so the count below includes every
                    # claim committed before (SQLite: the UPDATE holds the only write lock).
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
                        worker=self.name,
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
                    return Claim(candidate.id, self.name, int(attempt or candidate.attempts + 1))
                db.rollback()
        return None

    # ------------------------------------------------------------------ recovery

    def recover(self, *, include_own: bool = False) -> int:
        """Put renders whose worker is gone back in the queue (or fail them); return how many.

        ``include_own`` also takes this worker's name's running renders: only right for a
        process that has just started and so runs none of them."""
        sessions = self.services.sessions
        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        gone = or_(Render.heartbeat_at.is_(None), Render.heartbeat_at < cutoff)
        if include_own:
            gone = or_(gone, Render.worker == self.name)
        with sessions() as db:
            rows = db.execute(
                select(Render.id, Render.worker, Render.attempts).where(
                    Render.state.in_(RUNNING_STATES), gone
                )
            ).all()
        count = 0
        for row in rows:
            state = release(self.services, Claim(row.id, row.worker, row.attempts))
            if state is not None:
                count += 1
                log.warning(
                    "render %s of worker %s was interrupted (attempt %d): now %s",
                    row.id,
                    row.worker,
                    row.attempts,
                    state,
                )
        self._last_recover = time.monotonic()
        return count

    # ------------------------------------------------------------------ the loop

    def _loop(self) -> None:
        seen = -1
        failures = 0
        while not self._stopping.is_set():
            try:
                claim = self.claim()
                failures = 0
            except Exception:  # the database may be restarting: back off, never die
                failures += 1
                log.exception("could not claim a render")
                self._stopping.wait(min(30.0, self.poll_interval * 2 ** min(failures, 5)))
                continue
            if claim is not None:
                self._run(claim)
                continue
            self._maybe_recover()
            with self._cond:
                if self._generation == seen and not self._stopping.is_set():
                    self._cond.wait(self.poll_interval)
                seen = self._generation

    def _maybe_recover(self) -> None:
        if time.monotonic() - self._last_recover < self.recover_interval:
            return
        if not self._recover_lock.acquire(blocking=False):
            return
        try:
            self.recover()
        except Exception:
            log.exception("render recovery failed")
        finally:
            self._recover_lock.release()

    def _run(self, claim: Claim) -> None:
        job = RenderJob(self.services, claim, heartbeat_interval=self.heartbeat_interval)
        with self._jobs_lock:
            self._jobs.add(job)
        if self._stopping.is_set():
            job.interrupt()
        started = time.monotonic()
        try:
            outcome = job.run()
            log.info(
                "render %s: %s after %.1f s (attempt %d)",
                claim.render_id,
                outcome,
                time.monotonic() - started,
                claim.attempt,
            )
        except Exception:  # the job records its own failures; this is a last resort
            log.exception("render %s crashed the worker thread", claim.render_id)
        finally:
            with self._jobs_lock:
                self._jobs.discard(job)
