"""Worker heartbeats: each background worker of a process keeps one row up to date while it
runs, so any process can tell which workers live. Their kinds: ``render`` (the render worker),
``webhooks`` (the webhook dispatcher), ``delivery`` (the output delivery worker), ``imports``
(the import fetcher) and ``retention`` (the retention scheduler).

A worker writes ``heartbeat_at`` every few seconds from its own thread; on a clean stop it sets
``stopped_at``. A row whose heartbeat is older than the staleness limit and that never said it
stopped is a worker that died or hangs: ``/readyz`` reports it. Rows of workers stopped or
silent for a day are removed by the next worker that starts. The loops other than the render
worker's beat through a :class:`Heartbeat`, which beats only while its loop's thread lives: a
loop that died on an error goes stale like a killed process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from .models import Base, utcnow

__all__ = [
    "WORKER_KINDS",
    "Heartbeat",
    "WorkerHeartbeat",
    "beat",
    "forget_old_workers",
    "recent_workers",
    "worker_started",
    "worker_stopped",
]

log = logging.getLogger("reelforge.workers")

WORKER_KINDS = ("render", "webhooks", "delivery", "imports", "transcripts", "retention")
"""The kinds of worker that heartbeat."""

KEEP_FOR = timedelta(days=1)
"""How long the row of a stopped or silent worker stays listed."""


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The worker's name (unique per process; see :class:`reelforge.jobs.worker.RenderWorker`)."""
    kind: Mapped[str] = mapped_column(String(20), default="render")
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)


def worker_started(db: Session, name: str, kind: str, concurrency: int) -> None:
    """Record that worker ``name`` runs from now (a restart under the same name starts afresh)."""
    now = utcnow()
    row = db.get(WorkerHeartbeat, name)
    if row is None:
        db.add(
            WorkerHeartbeat(name=name, kind=kind, concurrency=concurrency, started_at=now, heartbeat_at=now)
        )
    else:
        row.kind, row.concurrency, row.started_at, row.heartbeat_at, row.stopped_at = (
            kind,
            concurrency,
            now,
            now,
            None,
        )
    db.commit()


def beat(db: Session, name: str) -> bool:
    """Worker ``name`` is alive now; False when its row is gone (then the caller records it again)."""
    done = db.execute(
        update(WorkerHeartbeat).where(WorkerHeartbeat.name == name).values(heartbeat_at=utcnow())
    )
    db.commit()
    return bool(getattr(done, "rowcount", 0))


def worker_stopped(db: Session, name: str) -> None:
    db.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.name == name).values(stopped_at=utcnow()))
    db.commit()


def recent_workers(db: Session) -> list[WorkerHeartbeat]:
    """The workers that ran in the last day (see :data:`KEEP_FOR`), by name."""
    since = utcnow() - KEEP_FOR
    return list(
        db.scalars(
            select(WorkerHeartbeat)
            .where(WorkerHeartbeat.heartbeat_at >= since)
            .order_by(WorkerHeartbeat.name)
        )
    )


def forget_old_workers(db: Session) -> None:
    cutoff = utcnow() - KEEP_FOR
    db.execute(
        delete(WorkerHeartbeat).where(
            or_(WorkerHeartbeat.heartbeat_at < cutoff, WorkerHeartbeat.stopped_at < cutoff)
        )
    )
    db.commit()


class Heartbeat:
    """Keeps the row of worker ``name`` of ``kind`` fresh from a thread of its own, every
    ``interval`` seconds while ``alive()`` holds (the loop it stands for runs); records the
    start at :meth:`start` and the stop at :meth:`stop`. When ``alive()`` turns false without a
    stop (the loop's thread ended on an error), it stops beating: the row goes stale. A write
    that fails (the database restarting) is tried again at the next beat."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        kind: str,
        alive: Callable[[], bool],
        *,
        interval: float,
        concurrency: int = 1,
    ):
        self.sessions = sessions
        self.name = name
        self.kind = kind
        self.alive = alive
        self.interval = interval
        self.concurrency = concurrency
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        recorded = self._record_start()  # live from its first moment; else the thread retries
        self._thread = threading.Thread(
            target=self._loop, args=(recorded,), name=f"{self.kind}-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and record that the worker stopped (cleanly)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.interval + 30)
            self._thread = None
        try:
            with self.sessions() as db:
                worker_stopped(db, self.name)
        except Exception:  # the row goes stale instead; readyz still tells
            log.warning("%s worker %s: could not record its stop", self.kind, self.name, exc_info=True)

    def _record_start(self) -> bool:
        try:
            with self.sessions() as db:
                forget_old_workers(db)
                worker_started(db, self.name, self.kind, self.concurrency)
            return True
        except Exception:
            log.warning("%s worker %s: could not record its start", self.kind, self.name, exc_info=True)
            return False

    def _loop(self, recorded: bool) -> None:
        while not self._stopping.wait(self.interval):
            if not self.alive():
                log.error("%s worker %s stopped running: no more heartbeats", self.kind, self.name)
                return
            if not recorded:
                recorded = self._record_start()
                continue
            try:
                with self.sessions() as db:
                    recorded = beat(db, self.name)  # False: the row is gone; record it again
            except Exception:
                log.warning("%s worker %s: heartbeat failed", self.kind, self.name, exc_info=True)
