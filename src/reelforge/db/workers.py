"""Worker heartbeats: each background worker (the render worker of a process, today) keeps one
row up to date while it runs, so any process can tell which workers live.

A worker writes ``heartbeat_at`` every few seconds from its own thread; on a clean stop it sets
``stopped_at``. A row whose heartbeat is older than the staleness limit and that never said it
stopped is a worker that died or hangs: ``/readyz`` reports it. Rows of workers stopped or
silent for a day are removed by the next worker that starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, utcnow

__all__ = [
    "WorkerHeartbeat",
    "beat",
    "forget_old_workers",
    "recent_workers",
    "worker_started",
    "worker_stopped",
]

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
