"""Idempotency keys: one row per ``(workspace, Idempotency-Key)``, claimed before a creating
request runs and completed, with the response to replay, in the same transaction as its effect.

The protocol (``reelforge.api.idempotency`` drives it):

* :func:`claim` inserts the row ``in_progress`` with a random ``lock_token`` and
  ``locked_until = now + lock`` (``INSERT … ON CONFLICT DO NOTHING``: race-free on SQLite and
  PostgreSQL alike) and commits at once, so a concurrent request sees it.
* The request's own transaction calls :func:`complete` just before its commit: a compare-and-set
  on ``lock_token``, so a request whose lock ran out and was taken over cannot also commit.
* :func:`release` deletes an unfinished claim (validation failures, 5xx): a retry runs again.
* Rows older than :data:`RETENTION` count as absent (a reused old key is a new request) and are
  deleted by :func:`purge_expired`, which :func:`claim` runs now and then.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, utcnow

__all__ = [
    "RETENTION",
    "Claim",
    "IdempotencyKey",
    "StoredResponse",
    "claim",
    "complete",
    "extend",
    "purge_expired",
    "release",
]

RETENTION = timedelta(hours=24)
"""A key is remembered this long after its first use (documented in docs/api.md)."""
PURGE_EVERY = 600.0
"""Seconds between two garbage collections by one process."""


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    """sha256 over method, route, path parameters, query and body; ``None`` while an upload's
    body is still streaming (its fingerprint is known at the end)."""
    state: Mapped[str] = mapped_column(String(16))
    """``in_progress`` or ``completed``."""
    lock_token: Mapped[str | None] = mapped_column(String(32), default=None)
    """Who runs the request now; completing and taking over compare-and-set on it."""
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    response_encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    """The body holds a secret shown once (a new API key's token) and is stored encrypted."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    encrypted: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """What :func:`claim` found: ``claimed`` (``token`` is ours: run the request), ``completed``
    (``response`` to replay, when ``fingerprint`` matches), ``in_progress`` (another request
    holds it until ``locked_until``), ``mismatch`` (the key was used for another request)."""

    outcome: Literal["claimed", "completed", "in_progress", "mismatch"]
    fingerprint: str | None = None
    token: str | None = None
    response: StoredResponse | None = None
    locked_until: datetime | None = None


def _insert(db: Session) -> Any:
    return (postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert)(
        IdempotencyKey
    )


_last_purge: dict[str, float] = {}
_purge_lock = threading.Lock()


def _maybe_purge(db: Session) -> None:
    """Garbage-collect at most every :data:`PURGE_EVERY` seconds per database per process."""
    url = str(db.get_bind().engine.url)
    now = time.monotonic()
    with _purge_lock:
        if now - _last_purge.get(url, -PURGE_EVERY) < PURGE_EVERY:
            return
        _last_purge[url] = now
    purge_expired(db)


def purge_expired(db: Session, now: datetime | None = None) -> int:
    """Delete keys older than :data:`RETENTION`; commit; return how many went."""
    cutoff = (now or utcnow()) - RETENTION
    result = db.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at <= cutoff).returning(IdempotencyKey.key)
    )
    gone = len(result.all())
    db.commit()
    return gone


def claim(db: Session, workspace_id: str, key: str, fingerprint: str | None, lock: timedelta) -> Claim:
    """Take ``key`` for a request with ``fingerprint`` (``None``: not known yet), or say who has
    it. Commits its own transaction (the claim must be visible to concurrent requests)."""
    _maybe_purge(db)
    for _ in range(5):  # each pass either decides or saw the row change under it
        now = utcnow()
        token = secrets.token_hex(16)
        inserted = db.execute(
            _insert(db)
            .values(
                workspace_id=workspace_id,
                key=key,
                fingerprint=fingerprint,
                state="in_progress",
                lock_token=token,
                locked_until=now + lock,
                response_encrypted=False,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
            .returning(IdempotencyKey.key)
        )
        # RETURNING, not rowcount: drivers differ in what rowcount says for ON CONFLICT.
        won = inserted.first() is not None
        db.commit()
        if won:
            return Claim("claimed", fingerprint, token=token)
        row = db.get(IdempotencyKey, (workspace_id, key), populate_existing=True)
        if row is None:
            continue  # released or purged meanwhile: try to insert again
        if row.created_at <= now - RETENTION:
            # Expired: the key behaves as new. Delete exactly the row we saw (its creation time
            # is the version), so a request that re-created it meanwhile keeps its claim.
            db.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.workspace_id == workspace_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.created_at == row.created_at,
                )
            )
            db.commit()
            continue
        if fingerprint is not None and row.fingerprint is not None and row.fingerprint != fingerprint:
            return Claim("mismatch", row.fingerprint)
        if row.state == "completed":
            assert row.response_status is not None and row.response_body is not None
            response = StoredResponse(
                row.response_status,
                dict(row.response_headers or {}),
                row.response_body,
                row.response_encrypted,
            )
            return Claim("completed", row.fingerprint, response=response)
        if row.locked_until is not None and row.locked_until > now:
            return Claim("in_progress", row.fingerprint, locked_until=row.locked_until)
        # The request that claimed it stopped renewing its lock (its process died): take over.
        taken = db.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.workspace_id == workspace_id,
                IdempotencyKey.key == key,
                IdempotencyKey.state == "in_progress",
                IdempotencyKey.lock_token == row.lock_token,
            )
            .values(
                lock_token=token,
                locked_until=now + lock,
                fingerprint=fingerprint if fingerprint is not None else row.fingerprint,
            )
            .returning(IdempotencyKey.key)
            .execution_options(synchronize_session=False)
        )
        took = taken.first() is not None
        db.commit()
        if took:
            return Claim("claimed", fingerprint if fingerprint is not None else row.fingerprint, token=token)
    raise RuntimeError(f"idempotency key {key!r} kept changing while it was claimed")


def _mine(workspace_id: str, key: str, token: str) -> Any:
    return (
        IdempotencyKey.workspace_id == workspace_id,
        IdempotencyKey.key == key,
        IdempotencyKey.state == "in_progress",
        IdempotencyKey.lock_token == token,
    )


def complete(
    db: Session, workspace_id: str, key: str, token: str, fingerprint: str | None, response: StoredResponse
) -> bool:
    """Mark the claim completed with ``response``, in ``db``'s transaction (not committed).
    False when the claim is no longer ours (its lock ran out and another request took over):
    the caller must then roll its effect back."""
    result = db.execute(
        update(IdempotencyKey)
        .where(*_mine(workspace_id, key, token))
        .values(
            state="completed",
            lock_token=None,
            locked_until=None,
            fingerprint=fingerprint,
            response_status=response.status,
            response_headers=response.headers,
            response_body=response.body,
            response_encrypted=response.encrypted,
        )
        .returning(IdempotencyKey.key)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


def extend(db: Session, workspace_id: str, key: str, token: str, lock: timedelta) -> bool:
    """Renew a claim's lock (a long request, e.g. an upload still streaming); commits."""
    result = db.execute(
        update(IdempotencyKey)
        .where(*_mine(workspace_id, key, token))
        .values(locked_until=utcnow() + lock)
        .returning(IdempotencyKey.key)
        .execution_options(synchronize_session=False)
    )
    renewed = result.first() is not None
    db.commit()
    return renewed


def release(db: Session, workspace_id: str, key: str, token: str) -> None:
    """Forget an unfinished claim, so a retry runs the request again; commits."""
    db.execute(
        delete(IdempotencyKey)
        .where(*_mine(workspace_id, key, token))
        .execution_options(synchronize_session=False)
    )
    db.commit()


def stored(db: Session, workspace_id: str, key: str) -> IdempotencyKey | None:
    """The row as the database has it now (tests and diagnostics)."""
    return db.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
