"""The webhook dispatcher: the thread that fans events out of the outbox and sends deliveries.

It runs in its own thread with its own asyncio event loop. Async, because a delivery mostly
waits on a receiver (up to the 15 s timeout): hundreds can be in flight on one thread, with a
per-endpoint cap. Its own thread and loop, because its database work is blocking SQLAlchemy
(run on a small executor) and must never stall the API's event loop; and it runs the same way
in a process without a web server.

The parts it drives live beside it: :mod:`.fanout` (outbox -> messages and deliveries, exactly
once), :mod:`.claims` (leases on due deliveries, hand-back, expiry, retention), :mod:`.sender`
(one signed attempt, the attempt log), :mod:`.throttle` (per-endpoint concurrency and pauses);
what an outcome does to a delivery (retry schedule, giving up, disabling) is :mod:`.delivery`.
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
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from sqlalchemy import Row
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.events import EVENTS_COMMITTED
from reelforge.db.workers import Heartbeat
from reelforge.settings import Settings

from . import claims
from .delivery import Claimed, Outcome
from .fanout import FAN_OUT_BATCH, GAP_SETTLE, FanOut
from .sender import SecretCache, open_client, record_batch, send
from .signing import SecretBox
from .ssrf import Resolver, system_resolver
from .throttle import EndpointLimits

__all__ = ["WebhookDispatcher"]

log = logging.getLogger("reelforge.webhooks")
T = TypeVar("T")

WRITE_BATCH = 200


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
        self._fanout = FanOut(sessions, gap_timeout=gap_timeout)
        self._limits = EndpointLimits(settings.webhooks_max_in_flight)
        self._secrets = SecretCache(box)
        self._rng = random.Random(seed)
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._heartbeat: Heartbeat | None = None
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
        self._heartbeat = Heartbeat(
            self.sessions, self.name, "webhooks", self.alive, interval=self.settings.worker_heartbeat_interval
        )
        self._heartbeat.start()
        log.info("webhook dispatcher %s started", self.name)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; let attempts in flight finish for up to ``timeout`` seconds, then
        cancel the rest and hand their deliveries back (due at once for the next dispatcher)."""
        self._grace = timeout
        if self._heartbeat is not None:  # first: a clean stop is recorded as one, not seen as a death
            self._heartbeat.stop()
            self._heartbeat = None
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
        client = open_client(self.settings, self.resolver)
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
                        or self._fanout.gaps
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
                        pauses = self._limits.pauses(time.monotonic())
                        if pauses:
                            wait = min(wait, max(0.01, min(pauses)))
                    if self._fanout.gaps:
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
        return claims.release(self.sessions, self.name, at_start)

    def _recover_expired(self) -> int:
        return claims.recover_expired(self.sessions)

    def _prune(self) -> None:
        claims.prune(self.sessions, self.settings.webhooks_retention_days)

    def _next_due(self) -> float | None:
        return claims.next_due(self.sessions)

    def _fan_out(self) -> int:
        return self._fanout.run()

    def _claim(self) -> list[Claimed]:
        """Take the due deliveries this dispatcher has room for."""
        clock = time.monotonic()
        # Endpoints with a full queue or a pause are left out in SQL, so one busy endpoint's
        # backlog never hides the others' due deliveries behind the LIMIT.
        full = [e for e, held in self._held.items() if held > self._cap(e)]
        full += [e for e, until in self._limits.paused.items() if until > clock and e not in full]

        def choose(rows: Sequence[Row[str, str]]) -> list[str]:
            room = dict(self._held)
            chosen: list[str] = []
            for row in rows:
                if self._limits.paused_for(row.endpoint_id, clock) > 0 or row.id in self._holding:
                    continue
                # Claimed ahead up to twice the cap, so a freed slot starts the next one at once;
                # claimed again only once that queue ran dry, so claims come in batches.
                held, cap = room.get(row.endpoint_id, 0), self._cap(row.endpoint_id)
                if held >= 2 * cap or self._held.get(row.endpoint_id, 0) > cap:
                    continue
                room[row.endpoint_id] = room.get(row.endpoint_id, 0) + 1
                chosen.append(row.id)
            return chosen

        return claims.claim_due(
            self.sessions, self.name, self.lease, excluded=full, choose=choose, secrets=self._secrets
        )

    # ------------------------------------------------------------------ one attempt

    def _cap(self, endpoint_id: str) -> int:
        return self._limits.cap(endpoint_id)

    async def _attempt(self, client: httpx.AsyncClient, claim: Claimed) -> None:
        endpoint = claim.endpoint_id
        slot = self._slots.setdefault(endpoint, asyncio.Condition())
        acquired = False
        try:
            async with slot:
                await slot.wait_for(lambda: self._active[endpoint] < self._cap(endpoint))
                self._active[endpoint] += 1
                acquired = True
            paused = self._limits.paused_for(endpoint)
            if paused > 0:  # the receiver asked for a pause while this one waited: not now
                await self._db(self._hand_back, claim, paused)
                return
            # The claim may have waited for its slot longer than its lease: renew it now, or
            # leave the send to whoever took the delivery over (no second delivery).
            if not await self._db(self._renew, claim):
                return
            outcome = await send(client, claim, self.settings)
            self.sent += 1
            self._limits.adapt(endpoint, outcome)
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
        return claims.renew(self.sessions, claim, self.name, self.lease)

    def _hand_back(self, claim: Claimed, delay: float) -> None:
        claims.hand_back(self.sessions, claim, self.name, delay)

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
        record_batch(self.sessions, batch, self.settings, dispatcher=self.name, rng=self._rng)
