"""The render worker: N threads that take queued renders in order and run them.

Claims follow :mod:`reelforge.jobs.queue`. A running render's row gets a heartbeat every second.
Renders whose worker stopped beating (``stale_after``, 30 s by default), or that a worker of the
same name left behind in a previous life, are recovered: back to ``queued`` while attempts
remain, else ``failed`` with ``interrupted``. Recovery runs at start and then every
``recover_interval`` seconds, so a crashed process's renders are taken over by the others.

While it runs, the worker also keeps its row of ``worker_heartbeats`` fresh (every
``settings.worker_heartbeat_interval`` seconds, from a thread of its own) and marks it stopped
when it stops, so ``/readyz`` of any process can tell live, stale and stopped workers apart.

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
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from reelforge.db.models import Render, utcnow
from reelforge.db.workers import beat, forget_old_workers, worker_started, worker_stopped

from .chunks import ChunkJob, run_next_chunk
from .observers import RenderLog, RenderMetrics, RenderObservers
from .queue import RUNNING_STATES, Claim, claim_next
from .render_job import RenderJob, release

if TYPE_CHECKING:
    from .context import JobContext

__all__ = ["RenderWorker"]

log = logging.getLogger("reelforge.worker")


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
        self._jobs: set[RenderJob | ChunkJob] = set()
        self._jobs_lock = threading.Lock()
        self._last_recover = 0.0
        self._recover_lock = threading.Lock()
        self.observers = RenderObservers(RenderLog(), RenderMetrics(services.sessions))
        """Who hears of the states and progress of this worker's renders (add yours)."""
        self._liveness: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, loops: bool = True) -> None:
        """Recover, record this worker live and start its ``concurrency`` claim loops; with
        ``loops=False`` none: another engine's threads call :meth:`run_once` (Celery tasks)."""
        if self._threads or self._liveness is not None:
            raise RuntimeError("the worker is already started")
        self._stopping.clear()
        try:
            self.recover(include_own=True)
        except Exception:  # a database not answering yet: the loops retry recovery later
            log.exception("render recovery failed at start")
        self._threads = [
            threading.Thread(target=self._loop, name=f"render-worker-{i}", daemon=True)
            for i in range(self.concurrency if loops else 0)
        ]
        for thread in self._threads:
            thread.start()
        recorded = self._record_start()  # live from its first moment; else the thread retries
        self._liveness = threading.Thread(
            target=self._liveness_loop, args=(recorded,), name="render-worker-liveness", daemon=True
        )
        self._liveness.start()
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
        if self._liveness is not None:
            self._liveness.join(max(0.0, deadline - time.monotonic()))
            self._liveness = None
            try:
                with self.services.sessions() as db:
                    worker_stopped(db, self.name)
            except Exception:  # the row goes stale instead; readyz still tells
                log.warning("render worker %s: could not record its stop", self.name, exc_info=True)

    def wake(self) -> None:
        """New work was queued: look now rather than at the next poll."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def alive(self) -> bool:
        if self._stopping.is_set():
            return False
        if not self._threads:  # started without loops: live while it records its liveness
            return self._liveness is not None and self._liveness.is_alive()
        return all(t.is_alive() for t in self._threads)

    def busy(self) -> int:
        """Renders this worker runs now."""
        with self._jobs_lock:
            return len(self._jobs)

    def run_once(self, on_claim: Callable[[Claim], None] | None = None) -> str | None:
        """Claim the next queued render and run it to its end in this thread; its id, or None
        when there was none to take (or the worker is stopping). What a Celery task does;
        ``on_claim`` hears of the claim before the render runs."""
        if self._stopping.is_set():
            return None
        claim = self.claim()
        if claim is None:
            return None
        if on_claim is not None:
            try:
                on_claim(claim)
            except Exception:
                log.warning("render %s: on_claim failed", claim.render_id, exc_info=True)
        self._run(claim)
        return claim.render_id

    def recover_now(self) -> int:
        """:meth:`recover` unless a recovery is running in another thread (then 0)."""
        if not self._recover_lock.acquire(blocking=False):
            return 0
        try:
            return self.recover()
        finally:
            self._recover_lock.release()

    # ------------------------------------------------------------------ liveness

    def _record_start(self) -> bool:
        try:
            with self.services.sessions() as db:
                forget_old_workers(db)
                worker_started(db, self.name, "render", self.concurrency)
            return True
        except Exception:
            log.warning("render worker %s: could not record its start", self.name, exc_info=True)
            return False

    def _liveness_loop(self, recorded: bool) -> None:
        """Keep this worker's heartbeat row fresh until it stops (a failed write is retried at
        the next beat: a database restart makes the worker look stale for a while, no more)."""
        interval = self.services.settings.worker_heartbeat_interval
        while not self._stopping.wait(interval):
            if not recorded:
                recorded = self._record_start()
                continue
            try:
                with self.services.sessions() as db:
                    recorded = beat(db, self.name)  # False: the row is gone; record it again
            except Exception:
                log.warning("render worker %s: heartbeat failed", self.name, exc_info=True)

    # ------------------------------------------------------------------ claiming

    def claim(self) -> Claim | None:
        """Take the next queued render (see :func:`reelforge.jobs.queue.claim_next`), or None."""
        quota = self.services.settings.max_running_renders_per_workspace
        claim = claim_next(self.services.sessions, self.name, quota=quota)
        if claim is not None:
            self.observers.state(claim.render_id, "preparing")
        return claim

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
            state = release(self.services, Claim(row.id, row.worker, row.attempts), observers=self.observers)
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
                # Chunks of renders already running first: their renders wait for them.
                if self.run_chunk():
                    continue
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

    def run_chunk(self) -> bool:
        """Render a chunk of a long render (see :mod:`.chunks`), if one waits; whether one did.
        Each loop and each Celery render task looks for chunks before claiming a render."""
        current: list[ChunkJob] = []

        def track(job: ChunkJob | None) -> None:
            with self._jobs_lock:
                if job is None:
                    self._jobs.difference_update(current)
                    return
                current.append(job)
                self._jobs.add(job)
            if self._stopping.is_set():
                job.interrupt()

        return run_next_chunk(self.services, self.name, track=track)

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
        job = RenderJob(
            self.services, claim, heartbeat_interval=self.heartbeat_interval, observers=self.observers
        )
        with self._jobs_lock:
            self._jobs.add(job)
        if self._stopping.is_set():
            job.interrupt()
        started = time.monotonic()
        try:
            outcome = job.run()  # logs its start and end with the render's ids
            log.debug(
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
