"""The event outbox: every state change worth reacting to is a row, written in the same
transaction as the change, so no event is lost when the process dies after the commit.

Readers (``GET /v1/events``, Server-Sent Events, the webhook dispatcher) page by ``seq``, which
only grows. Writers call :func:`record_event` before they commit; :data:`EVENTS_COMMITTED`
wakes in-process readers right after the commit instead of at their next poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, new_id, utcnow

__all__ = ["EVENTS_COMMITTED", "Event", "EventSignal", "record_event"]

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_seq", "workspace_id", "seq"),
        Index("ix_events_workspace_type_seq", "workspace_id", "type", "seq"),
        Index("ix_events_resource", "resource_id", "seq"),
        Index("ix_events_created", "created_at"),  # pruning by age (migration 0014)
    )
    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    """``render.succeeded``, ``asset.ready``, …: ``<resource object>.<what happened>``."""
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column()
    """The resource as the API shows it at the moment of the event."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventSignal:
    """A process-wide 'something was committed' signal with a generation counter, so a waiter
    never misses a commit that happened between its read and its wait."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0
        self._listeners: set[Callable[[], None]] = set()

    def notify(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (on the committing thread; it must be quick and never raise) after
        every notify, until :meth:`unsubscribe`: how an asyncio waiter wakes without polling."""
        with self._cond:
            self._listeners.add(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._cond:
            self._listeners.discard(listener)

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the generation moves past ``seen`` or ``timeout`` passes; return it."""
        with self._cond:
            self._cond.wait_for(lambda: self.generation != seen, timeout=timeout)
            return self.generation


EVENTS_COMMITTED = EventSignal()

_PENDING = "reelforge.pending_events"


def record_event(
    db: Session, *, workspace_id: str, type: str, resource_type: str, resource_id: str, data: dict[str, Any]
) -> Event:
    """Add an event to ``db``'s transaction; it exists exactly when the caller's change commits.

    ``data`` must be JSON-ready (the resource's API representation)."""
    row = Event(
        id=new_id("evt"),
        workspace_id=workspace_id,
        type=type,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data,
        created_at=utcnow(),
    )
    db.add(row)
    db.info[_PENDING] = True
    return row


@event.listens_for(Session, "after_commit")
def _wake_readers(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        EVENTS_COMMITTED.notify()


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
