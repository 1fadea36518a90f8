"""The webhook dispatcher: fans events out of the outbox into deliveries and sends them.

It runs in its own thread with its own asyncio event loop. Async, because a delivery mostly
waits on a receiver (up to the 15 s timeout): hundreds can be in flight on one thread, with a
per-endpoint cap. Its own thread and loop, because its database work is blocking SQLAlchemy
(run on a small executor) and must never stall the API's event loop; and it runs the same way
in a process without a web server.

Fan-out: a cursor row (``webhook_cursor``) says how far the outbox (``events.seq``) was read.
A dispatcher moves it with a conditional ``UPDATE … WHERE last_seq = :seen`` in the same
transaction that creates the messages and the ``(message, endpoint)`` deliveries, so whatever
number of dispatchers share the database, each event is fanned out exactly once, and a
restart continues where the committed cursor is. On PostgreSQL a transaction may commit a lower
``seq`` after a higher one is visible; the cursor waits at such a gap until every transaction
running when it was seen has finished (or ``gap_timeout`` passed; a rolled-back insert leaves
a gap for ever).

Delivery: due deliveries are claimed with a conditional ``UPDATE … WHERE status = 'pending'``
(the row count says who won, as the render worker claims renders), with a lease, renewed from
the moment a claim gets its slot to send (a claim queued behind the endpoint's cap may outwait
its first lease; one taken back meanwhile is not sent); the attempt's outcome is written by the
lease holder only. A dispatcher that dies leaves its claims to expire
and be taken again (the receiver may then see a message twice, with the same ``webhook-id``:
at-least-once); a dispatcher stopped cleanly finishes or hands back its claims. Retries wait
in the database (``next_attempt_at``), so they survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import secrets
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import httpx
from sqlalchemy import CursorResult, delete, exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.events import EVENTS_COMMITTED, Event
from reelforge.db.models import utcnow
from reelforge.db.webhooks import WebhookCursor, WebhookDelivery, WebhookEndpoint, WebhookMessage
from reelforge.settings import Settings

from .delivery import (
    ERROR_TEXT,
    LOGGED_HEADERS,
    NOT_DELIVERED,
    RESPONSE_BODY_LIMIT,
    THROTTLE_STATUSES,
    Claimed,
    Outcome,
    event_message,
    matches,
    new_delivery,
    record_outcomes,
    url_policy,
)
from .signing import SecretBox, signature_header
from .ssrf import Resolver, SafeAsyncTransport, UnsafeURL, check_url, system_resolver, unsafe_cause

__all__ = ["WebhookDispatcher"]

log = logging.getLogger("reelforge.webhooks")
T = TypeVar("T")

CURSOR = "events"
USER_AGENT = "Reelforge-Webhooks/1.0"
FAN_OUT_BATCH = 500
WRITE_BATCH = 200
CLAIM_SCAN = 200
"""Due deliveries looked at per claim."""
GAP_SETTLE = 0.2
"""Seconds after first seeing a gap before taking the reference snapshot (the transaction that
holds the missing ``seq`` has surely got its transaction id by then)."""


class WebhookDispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        box: SecretBox,
        *,
        name: str | None = None,
        resolver: Resolver = system_resolver,
        poll_interval: float = 1.0,
        lease_margin: float = 30.0,
        gap_timeout: float = 60.0,
        seed: int | None = None,
    ):
        self.sessions = sessions
        self.settings = settings
        self.box = box
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}:webhooks"
        self.resolver = resolver
        self.poll_interval = poll_interval
        self.lease = settings.webhooks_timeout + lease_margin
        self.gap_timeout = gap_timeout
        self._rng = random.Random(seed)
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._db_pool: ThreadPoolExecutor | None = None
        self._held: Counter[str] = Counter()
        """Deliveries claimed and not finished, per endpoint (sending, or queued for a slot)."""
        self._holding: set[str] = set()
        """Deliveries with a task here: never claimed again by this dispatcher meanwhile (its
        name would match the old task's renewal too), even if their lease ran out."""
        self._active: Counter[str] = Counter()
        """Attempts sending now, per endpoint (at most its cap)."""
        self._slots: dict[str, asyncio.Condition] = {}
        self._new_events = True
        self._last_fan_out = 0.0
        self._caps: dict[str, int] = {}
        """Per-endpoint concurrency, lowered when a receiver signals overload (429/502/503/504)."""
        self._paused: dict[str, float] = {}
        """Endpoint -> monotonic time before which nothing more is sent to it (its Retry-After)."""
        self._gaps: dict[int, tuple[float, int | None]] = {}
        self._opened: dict[tuple[str, str], str] = {}
        self._outcomes: list[tuple[Claimed, Outcome]] = []
        """Attempts made and not yet written; the writer task writes them in batches."""
        self._outcomes_ready: asyncio.Event | None = None
        self._closing = False
        self._grace = 10.0
        """Seconds a stop waits for attempts in flight."""
        self._last_maintenance = 0.0
        self._last_prune = 0.0
        self.sent = 0
        """Attempts made by this dispatcher (for tests and benchmarks)."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the dispatcher is already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(target=self._watch_events, name="webhook-events", daemon=True)
        self._watcher.start()
        self._started.wait(10)
        log.info("webhook dispatcher %s started", self.name)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; let attempts in flight finish for up to ``timeout`` seconds, then
        cancel the rest and hand their deliveries back (due at once for the next dispatcher)."""
        self._grace = timeout
        self._stopping.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout + 5)
        # The event watcher notices within half a second and ends by itself; no need to wait.
        self._thread = self._watcher = None

    def wake(self) -> None:
        """Something is due now (an event committed, a retry asked for): look at once."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def _watch_events(self) -> None:
        seen = EVENTS_COMMITTED.generation
        while not self._stopping.is_set():
            now = EVENTS_COMMITTED.wait(seen, 0.5)
            if now != seen:
                seen = now
                self._new_events = True
                self.wake()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._db_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="webhook-db")
        try:
            loop.run_until_complete(self._main())
        except Exception:
            log.exception("the webhook dispatcher stopped on an error")
        finally:
            self._started.set()
            self._db_pool.shutdown(wait=True)
            loop.close()

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_pool, functools.partial(fn, *args))

    # ------------------------------------------------------------------ the loop

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        if self._stopping.is_set():
            self._stop.set()
        transport = SafeAsyncTransport(url_policy(self.settings).addresses, resolver=self.resolver)
        client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self.settings.webhooks_timeout),
            headers={"User-Agent": USER_AGENT},
        )
        tasks: set[asyncio.Task[None]] = set()
        self._outcomes_ready = asyncio.Event()
        self._closing = False
        writer = asyncio.create_task(self._writer())
        try:
            await self._db(self._release, True)
        except Exception:
            log.exception("webhook dispatcher: could not take back its deliveries at start")
        self._started.set()
        failures = 0
        try:
            while not self._stop.is_set():
                self._wake.clear()
                busy = False
                wait = self.poll_interval
                try:
                    await self._maintain()
                    fanned = 0
                    # Fan out when this process committed events, and every poll for other processes'.
                    if (
                        self._new_events
                        or self._gaps
                        or time.monotonic() - self._last_fan_out >= self.poll_interval
                    ):
                        self._new_events = False
                        self._last_fan_out = time.monotonic()
                        fanned = await self._db(self._fan_out)
                    claims = await self._db(self._claim)
                    for claim in claims:
                        self._held[claim.endpoint_id] += 1
                        self._holding.add(claim.delivery_id)
                        task = asyncio.create_task(self._attempt(client, claim))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    busy = fanned >= FAN_OUT_BATCH or bool(claims)
                    if busy:
                        await asyncio.sleep(0)
                        continue
                    due = await self._db(self._next_due)
                    if due is not None and due > 0:
                        wait = min(wait, due)
                    elif due is not None and not claims:
                        # Due but no room (endpoints at their cap or paused): a finishing attempt
                        # wakes the loop; a pause ends on its own.
                        pauses = [p - time.monotonic() for p in self._paused.values() if p > time.monotonic()]
                        if pauses:
                            wait = min(wait, max(0.01, min(pauses)))
                    if self._gaps:
                        wait = min(wait, GAP_SETTLE)
                    failures = 0
                except Exception:  # the database may be restarting: back off, never die
                    failures += 1
                    log.exception("webhook dispatcher pass failed")
                    wait = min(30.0, self.poll_interval * 2 ** min(failures, 5))
                if busy:
                    await asyncio.sleep(0)
                    continue
                await self._sleep(wait)
        finally:
            await self._shutdown(client, tasks, writer)

    async def _sleep(self, seconds: float) -> None:
        assert self._stop is not None and self._wake is not None
        waiters = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _shutdown(
        self, client: httpx.AsyncClient, tasks: set[asyncio.Task[None]], writer: asyncio.Task[None]
    ) -> None:
        if tasks:
            _, pending = await asyncio.wait(set(tasks), timeout=self._grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        # What was sent is written before the claims still held are handed back.
        self._closing = True
        assert self._outcomes_ready is not None
        self._outcomes_ready.set()
        try:
            await asyncio.wait_for(writer, timeout=30)
        except Exception:
            log.exception("webhook dispatcher: could not write its last attempts")
        await client.aclose()
        try:
            await self._db(self._release, False)
        except Exception:
            log.exception("webhook dispatcher: could not hand back its deliveries")
        log.info("webhook dispatcher %s stopped", self.name)

    async def _maintain(self) -> None:
        now = time.monotonic()
        if now - self._last_maintenance >= 5:
            self._last_maintenance = now
            await self._db(self._recover_expired)
        if now - self._last_prune >= 3600:
            self._last_prune = now
            await self._db(self._prune)

    # ------------------------------------------------------------------ database work (executor threads)

    def _release(self, at_start: bool) -> int:
        """Hand back this dispatcher's claims: at start, those a previous life of the same name
        left; at stop, those whose attempts were cancelled. They are due at once."""
        with self.sessions() as db:
            now = utcnow()
            result = cast(
                CursorResult[Any],
                db.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.status == "sending", WebhookDelivery.claimed_by == self.name)
                    .values(
                        status="pending",
                        claimed_by=None,
                        claimed_until=None,
                        next_attempt_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ),
            )
            db.commit()
            if result.rowcount:
                log.info(
                    "webhook dispatcher %s handed back %d deliveries (%s)",
                    self.name,
                    result.rowcount,
                    "start" if at_start else "stop",
                )
            return int(result.rowcount)

    def _recover_expired(self) -> int:
        """Claims whose lease ran out (their dispatcher died or stalled) are due again."""
        with self.sessions() as db:
            now = utcnow()
            result = cast(
                CursorResult[Any],
                db.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.status == "sending", WebhookDelivery.claimed_until < now)
                    .values(
                        status="pending",
                        claimed_by=None,
                        claimed_until=None,
                        next_attempt_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ),
            )
            db.commit()
            if result.rowcount:
                log.warning("webhook deliveries taken back from a lost dispatcher: %d", result.rowcount)
            return int(result.rowcount)

    def _prune(self) -> None:
        """Forget finished deliveries (and their attempts) past the retention period."""
        cutoff = utcnow() - timedelta(days=self.settings.webhooks_retention_days)
        with self.sessions() as db:
            db.execute(
                delete(WebhookDelivery)
                .where(
                    WebhookDelivery.status.in_(("succeeded", "failed")), WebhookDelivery.updated_at < cutoff
                )
                .execution_options(synchronize_session=False)
            )
            db.execute(
                delete(WebhookMessage)
                .where(
                    WebhookMessage.created_at < cutoff,
                    ~exists().where(WebhookDelivery.message_id == WebhookMessage.id),
                )
                .execution_options(synchronize_session=False)
            )
            db.commit()

    def _next_due(self) -> float | None:
        """Seconds until the earliest waiting delivery is due (None: nothing waits)."""
        with self.sessions() as db:
            due = db.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(WebhookDelivery.status == "pending")
            )
        if due is None:
            return None
        if due.tzinfo is None:
            due = due.replace(tzinfo=utcnow().tzinfo)
        return (due - utcnow()).total_seconds()

    def _fan_out(self) -> int:
        """Turn new outbox events into messages and deliveries; return how many events were read."""
        with self.sessions() as db:
            cursor = db.scalar(select(WebhookCursor.last_seq).where(WebhookCursor.name == CURSOR))
            if cursor is None:  # the first pass ever on this database
                try:
                    db.add(WebhookCursor(name=CURSOR, last_seq=0, updated_at=utcnow()))
                    db.commit()
                except IntegrityError:  # another dispatcher made it first
                    db.rollback()
                cursor = int(
                    db.scalar(select(WebhookCursor.last_seq).where(WebhookCursor.name == CURSOR)) or 0
                )
            events = list(
                db.scalars(select(Event).where(Event.seq > cursor).order_by(Event.seq).limit(FAN_OUT_BATCH))
            )
            if not events:
                return 0
            usable = self._contiguous(db, cursor, events)
            if not usable:
                return 0
            now = utcnow()
            result = cast(
                CursorResult[Any],
                db.execute(
                    update(WebhookCursor)
                    .where(WebhookCursor.name == CURSOR, WebhookCursor.last_seq == cursor)
                    .values(last_seq=usable[-1].seq, updated_at=now)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount != 1:  # another dispatcher fanned these out first
                db.rollback()
                return 0
            workspaces = {e.workspace_id for e in usable}
            # Disabled endpoints get their messages too, logged as failed without an attempt, so
            # that recover replays everything an outage missed once the endpoint is enabled again.
            endpoints = list(
                db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.workspace_id.in_(workspaces)))
            )
            made = 0
            messages: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            for event in usable:
                if event.type in NOT_DELIVERED:
                    continue
                targets = [
                    ep
                    for ep in endpoints
                    if ep.workspace_id == event.workspace_id
                    and ep.created_at <= event.created_at
                    and matches(ep.event_types, event.type)
                    # an endpoint is never told about itself (no feedback loop of failures)
                    and not (event.resource_type == "webhook_endpoint" and event.resource_id == ep.id)
                ]
                if not targets:
                    continue
                message = event_message(event)
                messages.append({c: getattr(message, c) for c in _MESSAGE_COLUMNS})
                for endpoint in targets:
                    delivery = new_delivery(message.id, endpoint.id, now=now)
                    if not endpoint.enabled:
                        delivery.status, delivery.next_attempt_at = "failed", None
                    deliveries.append({c: getattr(delivery, c) for c in _DELIVERY_COLUMNS})
                    made += 1
            if messages:  # executemany: one statement per table for the whole batch
                db.execute(insert(WebhookMessage), messages)
                db.execute(insert(WebhookDelivery), deliveries)
            db.commit()
            if made:
                log.debug("fanned out %d events into %d deliveries", len(usable), made)
            return len(events)

    def _contiguous(self, db: Session, cursor: int, events: list[Event]) -> list[Event]:
        """The events up to the first gap in ``seq`` that may still fill (PostgreSQL only)."""
        out: list[Event] = []
        expected = cursor + 1
        for event in events:
            if event.seq > expected and not self._gap_settled(db, expected):
                break
            out.append(event)
            expected = event.seq + 1
        self._gaps = {seq: v for seq, v in self._gaps.items() if seq >= expected}
        return out

    def _gap_settled(self, db: Session, missing: int) -> bool:
        if db.get_bind().dialect.name != "postgresql":
            return True  # SQLite serialises writers: a gap is a deleted or rolled-back row
        now = time.monotonic()
        first, reference = self._gaps.get(missing, (now, None))
        if now - first >= self.gap_timeout:
            log.warning(
                "event seq %d never committed after %.0f s; going on without it", missing, self.gap_timeout
            )
            return True
        if reference is None:
            if now - first >= GAP_SETTLE:
                reference = int(
                    db.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))
                )
            self._gaps[missing] = (first, reference)
            return False
        oldest = int(db.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))
        return oldest >= reference  # every transaction running when the gap was seen has ended

    def _claim(self) -> list[Claimed]:
        """Take the due deliveries this dispatcher has room for."""
        now = utcnow()
        clock = time.monotonic()
        with self.sessions() as db:
            # Endpoints with a full queue or a pause are left out in SQL, so one busy endpoint's
            # backlog never hides the others' due deliveries behind the LIMIT.
            full = [e for e, held in self._held.items() if held > self._cap(e)]
            full += [e for e, until in self._paused.items() if until > clock and e not in full]
            query = select(WebhookDelivery.id, WebhookDelivery.endpoint_id).where(
                WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
            )
            if full:
                query = query.where(WebhookDelivery.endpoint_id.not_in(full))
            rows = db.execute(query.order_by(WebhookDelivery.next_attempt_at).limit(CLAIM_SCAN)).all()
            if not rows:
                return []
            room = dict(self._held)
            chosen: list[str] = []
            for row in rows:
                if self._paused.get(row.endpoint_id, 0.0) > clock or row.id in self._holding:
                    continue
                # Claimed ahead up to twice the cap, so a freed slot starts the next one at once;
                # claimed again only once that queue ran dry, so claims come in batches.
                held, cap = room.get(row.endpoint_id, 0), self._cap(row.endpoint_id)
                if held >= 2 * cap or self._held.get(row.endpoint_id, 0) > cap:
                    continue
                room[row.endpoint_id] = room.get(row.endpoint_id, 0) + 1
                chosen.append(row.id)
            if not chosen:
                return []
            until = now + timedelta(seconds=self.lease)
            won = list(
                db.scalars(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id.in_(chosen),
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .values(status="sending", claimed_by=self.name, claimed_until=until, updated_at=now)
                    .returning(WebhookDelivery.id)
                    .execution_options(synchronize_session=False)
                )
            )
            db.commit()
            if not won:
                return []
            found = db.execute(
                select(
                    WebhookDelivery.id,
                    WebhookDelivery.attempts,
                    WebhookDelivery.trigger,
                    WebhookDelivery.schedule_step,
                    WebhookMessage.id.label("message_id"),
                    WebhookMessage.body,
                    WebhookEndpoint.id.label("endpoint_id"),
                    WebhookEndpoint.url,
                    WebhookEndpoint.secret,
                    WebhookEndpoint.previous_secret,
                    WebhookEndpoint.previous_secret_expires_at,
                )
                .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id.in_(won))
            ).all()
            claims: list[Claimed] = []
            for item in found:
                keys = self._secrets(
                    item.endpoint_id, item.secret, item.previous_secret, item.previous_secret_expires_at, now
                )
                claims.append(
                    Claimed(
                        item.id,
                        item.message_id,
                        item.endpoint_id,
                        item.url,
                        item.body.encode(),
                        keys,
                        item.attempts + 1,
                        item.trigger,
                        item.schedule_step,
                    )
                )
            return claims

    def _secrets(
        self,
        endpoint_id: str,
        sealed: str,
        previous: str | None,
        previous_until: datetime | None,
        now: datetime,
    ) -> list[str]:
        """The endpoint's signing secrets now, decrypted once per stored value."""
        wanted = [sealed]
        if previous and previous_until is not None and previous_until > now:
            wanted.append(previous)
        found: list[str] = []
        for value in wanted:
            key = (endpoint_id, value)
            if key not in self._opened:
                try:
                    if len(self._opened) > 10_000:
                        self._opened.clear()
                    self._opened[key] = self.box.open(value, endpoint_id)
                except ValueError:
                    log.error(
                        "webhook endpoint %s: its secret cannot be decrypted (was secrets.json replaced?)",
                        endpoint_id,
                    )
                    return []
            found.append(self._opened[key])
        return found

    # ------------------------------------------------------------------ one attempt

    def _cap(self, endpoint_id: str) -> int:
        return self._caps.get(endpoint_id, self.settings.webhooks_max_in_flight)

    async def _attempt(self, client: httpx.AsyncClient, claim: Claimed) -> None:
        endpoint = claim.endpoint_id
        slot = self._slots.setdefault(endpoint, asyncio.Condition())
        acquired = False
        try:
            async with slot:
                await slot.wait_for(lambda: self._active[endpoint] < self._cap(endpoint))
                self._active[endpoint] += 1
                acquired = True
            paused = self._paused.get(endpoint, 0.0) - time.monotonic()
            if paused > 0:  # the receiver asked for a pause while this one waited: not now
                await self._db(self._hand_back, claim, paused)
                return
            # The claim may have waited for its slot longer than its lease: renew it now, or
            # leave the send to whoever took the delivery over (no second delivery).
            if not await self._db(self._renew, claim):
                return
            outcome = await self._send(client, claim)
            self.sent += 1
            self._adapt(endpoint, outcome)
            self._outcomes.append((claim, outcome))
            assert self._outcomes_ready is not None
            self._outcomes_ready.set()
        finally:
            if acquired:
                self._active[endpoint] -= 1
                async with slot:
                    slot.notify()
            self._holding.discard(claim.delivery_id)
            self._held[endpoint] -= 1
            if self._held[endpoint] <= 0:
                del self._held[endpoint]
                if not self._active[endpoint]:
                    self._active.pop(endpoint, None)
            if self._wake is not None:
                self._wake.set()

    def _renew(self, claim: Claimed) -> bool:
        """Extend the claim's lease from now, for one send; False when the claim is no longer
        this dispatcher's (its lease expired and the delivery was taken back) or the endpoint
        was disabled or deleted meanwhile (the delivery then fails like the endpoint's other
        waiting ones, replayable with recover)."""
        with self.sessions() as db:
            now = utcnow()
            ours = (
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.status == "sending",
                WebhookDelivery.claimed_by == self.name,
            )
            enabled = exists().where(
                WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.enabled.is_(True)
            )
            renewed = cast(
                CursorResult[Any],
                db.execute(
                    update(WebhookDelivery)
                    .where(*ours, enabled)
                    .values(claimed_until=now + timedelta(seconds=self.lease), updated_at=now)
                    .execution_options(synchronize_session=False)
                ),
            )
            if renewed.rowcount == 1:
                db.commit()
                return True
            failed = cast(
                CursorResult[Any],
                db.execute(
                    update(WebhookDelivery)
                    .where(*ours)
                    .values(
                        status="failed",
                        next_attempt_at=None,
                        claimed_by=None,
                        claimed_until=None,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ),
            )
            db.commit()
            log.info(
                "webhook delivery %s not sent: %s",
                claim.delivery_id,
                "its endpoint was disabled" if failed.rowcount else "its claim was taken over",
            )
            return False

    def _hand_back(self, claim: Claimed, delay: float) -> None:
        with self.sessions() as db:
            now = utcnow()
            db.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claim.delivery_id,
                    WebhookDelivery.status == "sending",
                    WebhookDelivery.claimed_by == self.name,
                )
                .values(
                    status="pending",
                    claimed_by=None,
                    claimed_until=None,
                    next_attempt_at=now + timedelta(seconds=delay),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            db.commit()

    async def _writer(self) -> None:
        """Writes finished attempts, as many per transaction as have finished meanwhile (one
        commit per batch: on SQLite each commit is a sync to disk)."""
        assert self._outcomes_ready is not None
        while True:
            await self._outcomes_ready.wait()
            self._outcomes_ready.clear()
            while self._outcomes:
                batch, self._outcomes = self._outcomes[:WRITE_BATCH], self._outcomes[WRITE_BATCH:]
                try:
                    await self._db(self._record, batch)
                except Exception:
                    # Their claims stay 'sending' until the lease expires; then they are sent again.
                    log.exception("webhook dispatcher: could not record %d attempts", len(batch))
                if self._wake is not None:
                    self._wake.set()
            if self._closing:
                return

    def _record(self, batch: list[tuple[Claimed, Outcome]]) -> None:
        with self.sessions() as db:
            try:
                record_outcomes(db, batch, self.settings, dispatcher=self.name, rng=self._rng)
                return
            except Exception:
                if len(batch) == 1:
                    raise
                db.rollback()
                log.exception("webhook dispatcher: a batch of attempts failed; writing them one by one")
        for item in batch:
            with self.sessions() as db:
                try:
                    record_outcomes(db, [item], self.settings, dispatcher=self.name, rng=self._rng)
                except Exception:
                    log.exception("webhook delivery %s: could not record the attempt", item[0].delivery_id)

    async def _send(self, client: httpx.AsyncClient, claim: Claimed) -> Outcome:
        attempted_at = utcnow()
        started = time.perf_counter()
        outcome = Outcome(attempted_at=attempted_at, duration_ms=0.0)
        try:
            if not claim.secrets:
                raise _Refused("internal", "the endpoint's secret cannot be read by this server")
            try:
                url = check_url(claim.url, url_policy(self.settings))  # the rules may have changed since
            except UnsafeURL:
                raise _Refused("ssrf_blocked", ERROR_TEXT["ssrf_blocked"]) from None
            timestamp = int(time.time())
            headers = {
                "webhook-id": claim.message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature_header(claim.secrets, claim.message_id, timestamp, claim.body),
                "content-type": "application/json",
            }
            async with asyncio.timeout(self.settings.webhooks_timeout):
                async with client.stream("POST", url, content=claim.body, headers=headers) as response:
                    outcome.status = response.status_code
                    outcome.headers = {
                        k: response.headers[k] for k in LOGGED_HEADERS if k in response.headers
                    }
                    outcome.body = await _head(response)
            if not outcome.succeeded:
                outcome.error_class = "http_status"
                kind = "a redirect (never followed)" if 300 <= response.status_code < 400 else "not a 2xx"
                outcome.error = f"HTTP {response.status_code}: {kind}"
        except _Refused as exc:
            outcome.error_class, outcome.error = exc.error_class, exc.detail
        except (TimeoutError, httpx.TimeoutException):
            outcome.error_class, outcome.error = "timeout", ERROR_TEXT["timeout"]
        except Exception as exc:
            outcome.error_class = _error_class(exc)
            outcome.error = ERROR_TEXT.get(outcome.error_class, exc.__class__.__name__)
            if outcome.error_class == "connect" and not isinstance(exc, httpx.HTTPError):
                log.exception("webhook delivery %s: unexpected error", claim.delivery_id)
        outcome.duration_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _adapt(self, endpoint_id: str, outcome: Outcome) -> None:
        """AIMD per endpoint: halve its concurrency (and pause for its Retry-After) when it says it
        is overloaded; grow it back by one per success."""
        full = self.settings.webhooks_max_in_flight
        if outcome.status in THROTTLE_STATUSES:
            self._caps[endpoint_id] = max(1, self._caps.get(endpoint_id, full) // 2)
            pause = outcome.retry_after()
            if pause:
                self._paused[endpoint_id] = time.monotonic() + min(pause, 3600)
        elif outcome.succeeded and endpoint_id in self._caps:
            self._caps[endpoint_id] += 1
            if self._caps[endpoint_id] >= full:
                del self._caps[endpoint_id]
            self._paused.pop(endpoint_id, None)


_MESSAGE_COLUMNS = [c.key for c in WebhookMessage.__table__.columns]
_DELIVERY_COLUMNS = [c.key for c in WebhookDelivery.__table__.columns]


class _Refused(Exception):
    def __init__(self, error_class: str, detail: str):
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail


def _error_class(exc: BaseException) -> str:
    unsafe = unsafe_cause(exc)
    if unsafe is not None:
        return "dns" if unsafe.reason == "dns" else "ssrf_blocked"
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return "tls"
        seen = seen.__cause__ or seen.__context__
    return "connect"


async def _head(response: httpx.Response) -> str:
    """The first 4 KiB of the body; the rest is not read."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= RESPONSE_BODY_LIMIT:
            break
    return data[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")
