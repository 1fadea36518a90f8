"""The delivery worker: a thread that claims due deliveries and puts each file at its
destination, with retries and backoff.

Claims work as the webhook dispatcher's (:mod:`reelforge.webhooks.claims`): a conditional
``UPDATE … WHERE state = 'pending'`` decides who takes a delivery, under a lease that this
worker renews while the transfer runs (a large file may take minutes); a worker that dies
leaves its claims to expire and be taken again, one stopped cleanly hands them back. Retries
wait in the database (``next_attempt_at``), so they survive restarts. An outcome is written
only by the lease holder, with its ``delivery.succeeded`` / ``delivery.failed`` event in the
same transaction.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.delivery import ERROR_LENGTH, LOCATION_LENGTH, Destination, OutputDelivery
from reelforge.db.events import record_event
from reelforge.db.models import Asset, Render, utcnow
from reelforge.db.workers import Heartbeat
from reelforge.media.storage import Storage
from reelforge.metrics import DELIVERED_BYTES
from reelforge.representations import json_ready
from reelforge.settings import Settings
from reelforge.webhooks.ssrf import Resolver, system_resolver

from .crypto import CredentialBox, CredentialError
from .naming import DEFAULT_TEMPLATE, file_name
from .records import delivery_json, naming_fields
from .targets import DeliveryFailed, OutgoingFile, deliver

__all__ = ["DeliveryWorker", "finish", "next_delay", "prune"]

log = logging.getLogger("reelforge.delivery")

CLAIM_BATCH = 50
LEASE = 120.0
"""Seconds a claim holds without renewal (renewed every third of it while the transfer runs)."""


def next_delay(settings: Settings, attempts: int, rng: random.Random) -> float | None:
    """Seconds before the next attempt after ``attempts`` failed ones; None: no more attempts."""
    schedule = settings.delivery_retry_schedule
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    jitter = settings.delivery_retry_jitter
    return max(0.0, base * (1 + rng.uniform(-jitter, jitter)))


def _fitting(text: str | None, length: int) -> str | None:
    """``text`` if it fits its column, else None: part of a location (a receiver's ``Location``
    may be any length) points nowhere, and a database that enforces the length (PostgreSQL)
    would refuse the whole outcome."""
    return text if text is not None and len(text) <= length else None


def _clipped(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def finish(
    db: Session,
    delivery_id: str,
    name: str,
    *,
    location: str | None = None,
    error: DeliveryFailed | None = None,
    settings: Settings,
    rng: random.Random,
) -> str | None:
    """Write an attempt's outcome if ``name`` still holds the claim; the new state (None: the
    claim was lost and nothing was written). The caller commits."""
    row = db.scalar(
        select(OutputDelivery)
        .where(
            OutputDelivery.id == delivery_id,
            OutputDelivery.state == "sending",
            OutputDelivery.claimed_by == name,
        )
        .with_for_update()
    )
    if row is None:
        return None
    now = utcnow()
    row.attempts += 1
    row.claimed_by = None
    row.claimed_until = None
    row.updated_at = now
    if error is None:
        row.state, row.location, row.error, row.delivered_at, row.next_attempt_at = (
            "succeeded",
            _fitting(location, LOCATION_LENGTH),
            None,
            now,
            None,
        )
    else:
        row.error = _clipped(str(error), ERROR_LENGTH)
        delay = next_delay(settings, row.attempts, rng) if error.retry else None
        if delay is None:
            row.state, row.next_attempt_at = "failed", None
        else:
            row.state, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
    if row.state in ("succeeded", "failed"):
        db.flush()
        record_event(
            db,
            workspace_id=row.workspace_id,
            type=f"delivery.{row.state}",
            resource_type="delivery",
            resource_id=row.id,
            data=json_ready(delivery_json(row)),
        )
    return row.state


def prune(sessions: sessionmaker[Session], before: datetime) -> int:
    """Forget finished deliveries last changed before ``before`` (the delivery log's retention)."""
    with sessions() as db:
        result = db.execute(
            delete(OutputDelivery)
            .where(OutputDelivery.state.in_(("succeeded", "failed")), OutputDelivery.updated_at < before)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        return int(getattr(result, "rowcount", 0) or 0)


class DeliveryWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        storage: Storage,
        settings: Settings,
        box: CredentialBox,
        *,
        name: str | None = None,
        resolver: Resolver = system_resolver,
        poll_interval: float = 1.0,
        seed: int | None = None,
    ):
        self.sessions = sessions
        self.storage = storage
        self.settings = settings
        self.box = box
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}:delivery"
        self.resolver = resolver
        self.poll_interval = poll_interval
        self._rng = random.Random(seed)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat: Heartbeat | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._holding: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self.attempted = 0
        """Attempts made by this worker (for tests)."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the delivery worker is already started")
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.settings.delivery_concurrency, thread_name_prefix="delivery")
        self._thread = threading.Thread(target=self._run, name="delivery-worker", daemon=True)
        self._thread.start()
        self._heartbeat = Heartbeat(
            self.sessions, self.name, "delivery", self.alive, interval=self.settings.worker_heartbeat_interval
        )
        self._heartbeat.start()
        log.info("delivery worker %s started", self.name)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, wait up to ``timeout`` for transfers in flight, hand the rest back."""
        if self._heartbeat is not None:  # first: a clean stop is recorded as one, not seen as a death
            self._heartbeat.stop()
            self._heartbeat = None
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + 5)
        self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def _run(self) -> None:
        assert self._pool is not None
        last_renewal = 0.0
        failures = 0
        try:
            self._release()
        except Exception:
            log.exception("delivery worker: could not take back its claims at start")
        while not self._stopping.is_set():
            self._wake.clear()
            wait = self.poll_interval
            try:
                if time.monotonic() - last_renewal >= LEASE / 3:
                    last_renewal = time.monotonic()
                    self._renew()
                    self._recover_expired()
                room = self.settings.delivery_concurrency * 2 - len(self._holding)
                for delivery_id in self._claim(room) if room > 0 else []:
                    with self._lock:
                        self._holding[delivery_id] = self._pool.submit(self._attempt, delivery_id)
                due = self._next_due()
                if due is not None:
                    wait = max(0.01, min(wait, due))
                failures = 0
            except Exception:  # the database may be restarting: back off, never die
                failures += 1
                log.exception("delivery worker pass failed")
                wait = min(30.0, self.poll_interval * 2 ** min(failures, 5))
            self._wake.wait(wait)
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._release()
        except Exception:
            log.exception("delivery worker: could not hand back its claims")
        log.info("delivery worker %s stopped", self.name)

    # ------------------------------------------------------------------ claims

    def _release(self) -> None:
        """Claims of this name left by a previous life, or not finished at stop: due at once."""
        with self.sessions() as db:
            now = utcnow()
            db.execute(
                update(OutputDelivery)
                .where(OutputDelivery.state == "sending", OutputDelivery.claimed_by == self.name)
                .values(
                    state="pending", claimed_by=None, claimed_until=None, next_attempt_at=now, updated_at=now
                )
                .execution_options(synchronize_session=False)
            )
            db.commit()

    def _recover_expired(self) -> None:
        with self.sessions() as db:
            now = utcnow()
            result = db.execute(
                update(OutputDelivery)
                .where(OutputDelivery.state == "sending", OutputDelivery.claimed_until < now)
                .values(
                    state="pending", claimed_by=None, claimed_until=None, next_attempt_at=now, updated_at=now
                )
                .execution_options(synchronize_session=False)
            )
            db.commit()
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                log.warning("deliveries taken back from a lost worker: %d", count)

    def _renew(self) -> None:
        with self._lock:
            held = list(self._holding)
        if not held:
            return
        with self.sessions() as db:
            now = utcnow()
            db.execute(
                update(OutputDelivery)
                .where(OutputDelivery.id.in_(held), OutputDelivery.claimed_by == self.name)
                .values(claimed_until=now + timedelta(seconds=LEASE))
                .execution_options(synchronize_session=False)
            )
            db.commit()

    def _next_due(self) -> float | None:
        with self.sessions() as db:
            due = db.scalar(
                select(func.min(OutputDelivery.next_attempt_at)).where(OutputDelivery.state == "pending")
            )
        return None if due is None else (due - utcnow()).total_seconds()

    def _claim(self, room: int) -> list[str]:
        now = utcnow()
        with self.sessions() as db:
            ids = list(
                db.scalars(
                    select(OutputDelivery.id)
                    .where(OutputDelivery.state == "pending", OutputDelivery.next_attempt_at <= now)
                    .order_by(OutputDelivery.next_attempt_at)
                    .limit(min(room, CLAIM_BATCH))
                )
            )
            if not ids:
                return []
            won = list(
                db.scalars(
                    update(OutputDelivery)
                    .where(
                        OutputDelivery.id.in_(ids),
                        OutputDelivery.state == "pending",
                        OutputDelivery.next_attempt_at <= now,
                    )
                    .values(
                        state="sending",
                        claimed_by=self.name,
                        claimed_until=now + timedelta(seconds=LEASE),
                        updated_at=now,
                    )
                    .returning(OutputDelivery.id)
                    .execution_options(synchronize_session=False)
                )
            )
            db.commit()
        return won

    # ------------------------------------------------------------------ one attempt

    def _attempt(self, delivery_id: str) -> None:
        try:
            location: str | None = None
            failure: DeliveryFailed | None = None
            try:
                kind, config, credentials, outgoing = self._prepare(delivery_id)
                location = deliver(kind, config, credentials, outgoing, self.settings, self.resolver)
                DELIVERED_BYTES.labels(via=kind).inc(outgoing.size)
            except DeliveryFailed as exc:
                failure = exc
            except Exception:
                log.exception("delivery %s failed unexpectedly", delivery_id)
                failure = DeliveryFailed("an unexpected error stopped the delivery")
            self.attempted += 1
            with self.sessions() as db:
                state = finish(
                    db,
                    delivery_id,
                    self.name,
                    location=location,
                    error=failure,
                    settings=self.settings,
                    rng=self._rng,
                )
                db.commit()
            if state is not None:
                log.info("delivery %s: %s", delivery_id, state)
        except Exception:
            log.exception("delivery worker: could not record delivery %s", delivery_id)
            self._record_unrecordable(delivery_id)
        finally:
            with self._lock:
                self._holding.pop(delivery_id, None)
            self._wake.set()

    def _record_unrecordable(self, delivery_id: str) -> None:
        """The attempt still counts when its outcome could not be written: as a failure (retried
        on the schedule, then given up), so a delivery whose outcome can never be stored is not
        sent again at every lease expiry forever. If even this fails, the claim stays 'sending'
        until its lease runs out and it is taken again."""
        try:
            with self.sessions() as db:
                finish(
                    db,
                    delivery_id,
                    self.name,
                    error=DeliveryFailed("the outcome of the delivery could not be recorded"),
                    settings=self.settings,
                    rng=self._rng,
                )
                db.commit()
        except Exception:
            log.exception("delivery worker: could not record the failure of delivery %s", delivery_id)

    def _prepare(self, delivery_id: str) -> tuple[str, dict[str, Any], dict[str, Any], OutgoingFile]:
        with self.sessions() as db:
            row = db.get(OutputDelivery, delivery_id)
            destination = db.get(Destination, row.destination_id) if row else None
            asset = db.get(Asset, row.asset_id) if row else None
            render = db.get(Render, row.render_id) if row else None
            if row is None or destination is None or render is None:
                raise DeliveryFailed("the delivery's destination or render was deleted", retry=False)
            if asset is None:
                raise DeliveryFailed(f"output asset {row.asset_id} was deleted", retry=False)
            if not destination.enabled:
                raise DeliveryFailed(f"destination {destination.id} is disabled", retry=False)
            try:
                credentials = self.box.open(destination.credentials) if destination.credentials else {}
            except CredentialError as exc:
                raise DeliveryFailed(str(exc), retry=False) from None
            fields = naming_fields(
                db, render, output=row.output, role=row.role, file_name=row.file_name, asset=asset
            )
            template = str(destination.config.get("name_template") or DEFAULT_TEMPLATE)
            name = file_name(template, fields)
            path = self.storage.local_path(asset.storage_key)
            if not path.is_file():
                raise DeliveryFailed(f"the content of asset {asset.id} is missing from storage", retry=False)
            outgoing = OutgoingFile(
                path=Path(path),
                name=name,
                content_type=asset.content_type,
                size=asset.size_bytes,
                sha256=asset.sha256,
                delivery_id=row.id,
                render_id=render.id,
                workspace_id=destination.workspace_id,
            )
            return destination.kind, dict(destination.config or {}), credentials, outgoing
