"""Leased background jobs: a row that one run at a time holds, by a conditional UPDATE.

Imports and transcripts run the same way: a run claims the row (``claimed_by`` a token of its
own, ``claimed_until`` a lease ahead, ``attempts + 1``) unless another run holds a live lease;
a thread renews the lease every third of it while the work goes on; the end releases it. A run
whose process died simply stops renewing, and the row can be claimed again once its lease has
passed, so of several processes exactly one runs a job at a time.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.models import utcnow

__all__ = ["LeasedJobs"]

log = logging.getLogger("reelforge.leases")


@dataclass(frozen=True)
class LeasedJobs:
    """The jobs of one table (``model``: ``id``, ``state``, ``claimed_by``, ``claimed_until``,
    ``attempts``, ``updated_at``), claimable in ``claimable`` states, ``running`` once taken."""

    model: Any
    claimable: tuple[str, ...]
    running: str
    lease: float
    kind: str
    """What the jobs are, for thread names and log lines (``import``, ``transcript``)."""

    def claim(self, sessions: sessionmaker[Session], job_id: str, token: str) -> bool:
        """Take the job for the run ``token`` names, unless another run holds a live lease."""
        model, now = self.model, utcnow()
        with sessions() as db:
            taken = db.execute(
                update(model)
                .where(
                    model.id == job_id,
                    model.state.in_(self.claimable),
                    or_(model.claimed_by.is_(None), model.claimed_until < now),
                )
                .values(
                    state=self.running,
                    claimed_by=token,
                    claimed_until=now + timedelta(seconds=self.lease),
                    attempts=model.attempts + 1,
                    updated_at=now,
                )
            )
            db.commit()
            return getattr(taken, "rowcount", 0) == 1

    def renew(self, sessions: sessionmaker[Session], job_id: str, token: str) -> bool:
        """Push the lease ahead; False once the run no longer holds the job."""
        model = self.model
        with sessions() as db:
            renewed = db.execute(
                update(model)
                .where(model.id == job_id, model.claimed_by == token)
                .values(claimed_until=utcnow() + timedelta(seconds=self.lease))
            )
            db.commit()
            return getattr(renewed, "rowcount", 0) == 1

    def release(self, sessions: sessionmaker[Session], job_id: str, token: str) -> None:
        model = self.model
        with sessions() as db:
            db.execute(
                update(model)
                .where(model.id == job_id, model.claimed_by == token)
                .values(claimed_by=None, claimed_until=None)
            )
            db.commit()

    @contextmanager
    def held(self, sessions: sessionmaker[Session], job_id: str) -> Iterator[bool]:
        """Claim the job for a new run: yields whether it was taken (do nothing when not); while
        the block runs the lease is renewed, and at its end released."""
        token = secrets.token_hex(16)
        if not self.claim(sessions, job_id, token):
            yield False
            return
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease / 3):
                try:
                    if not self.renew(sessions, job_id, token):
                        return
                except Exception:
                    log.exception("%s %s: renewing the lease failed", self.kind, job_id)

        thread = threading.Thread(target=renew, daemon=True, name=f"reelforge-{self.kind}-lease")
        thread.start()
        try:
            yield True
        finally:
            stop.set()
            thread.join(timeout=self.lease)
            self.release(sessions, job_id, token)
