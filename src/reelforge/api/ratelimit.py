"""Request rate limits: GCRA per policy, per credential and per workspace, IETF RateLimit headers.

Every ``/v1`` request is counted against the policies of its class: reads (GET, HEAD, OPTIONS),
writes (POST, PUT, PATCH, DELETE) and, on top of writes, render creation (``POST /v1/renders``,
``POST /v1/batches`` and any ``POST …/renders``). Each class has a policy per credential
(``reads``) and one per workspace (``workspace-reads``); both apply, so one busy key cannot use
up a workspace's other keys' share without the workspace limit stopping it too. Requests without
a valid credential (and ``/v1/oauth/token`` always) are counted per client address against the
per-credential policies.

The algorithm is GCRA (the conventions sheet, section 4.2): one "theoretical arrival time" per
policy and partition, equivalent to a token bucket whose burst is the policy's quota. A request
passes only if every policy of its class allows it, and a refused request consumes nothing.

Every response of a limited route carries ``RateLimit-Policy`` (the policies that apply, stable
per route class) and ``RateLimit`` (``r`` remaining, ``t`` seconds until one more unit is
available); ``pk`` is never sent, the partition is implied by the credential. Over a limit: 429
``rate-limited`` problem with ``violated-policies`` and ``Retry-After`` (never earlier than ``t``).

State lives in this process (thread-safe, bounded), or in Redis when ``redis_url`` is set, so
that every API process shares one limit: a Lua script checks and updates all of a request's
policies atomically with time from Redis ``TIME`` (no clock skew between app hosts). When Redis
does not answer, the limiter fails open to the in-process state, logs a warning, and tries Redis
again a few seconds later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge import metrics
from reelforge.extras import require
from reelforge.settings import Settings

from .auth import authenticate
from .openapi_extra import extend_openapi
from .problems import CATALOGUE, PROBLEM_BASE, PROBLEM_JSON, ApiError

__all__ = [
    "CLASSES",
    "DEFAULT_POLICIES",
    "MemoryStore",
    "Outcome",
    "Policy",
    "RateLimitMiddleware",
    "RateLimiter",
    "RedisStore",
    "gcra",
    "install_rate_limit_docs",
    "parse_rate",
]

log = logging.getLogger("reelforge.ratelimit")

CLASSES = ("reads", "writes", "renders")
DEFAULT_POLICIES: dict[str, str] = {
    "reads": "1200/minute",
    "writes": "300/minute",
    "renders": "60/minute",
    "workspace-reads": "3000/minute",
    "workspace-writes": "600/minute",
    "workspace-renders": "120/minute",
}
"""Defaults (a product decision, overridable per policy with the ``rate_limits`` setting)."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RENDER_PATHS = frozenset({"/v1/renders", "/v1/batches"})
IP_ONLY_PATHS = frozenset({"/v1/oauth/token"})
"""Counted per client address even when a bearer credential is sent."""

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")
_MICRO = 1_000_000


def parse_rate(text: str) -> tuple[int, int]:
    """``"600/minute"``, ``"100/10s"``, ``"5/second"`` -> (quota, window in seconds)."""
    match = _RATE.match(text.lower())
    unit = None
    if match is not None and match[3] != "ms":
        unit = _UNITS.get(match[3]) or _UNITS.get(match[3].removesuffix("s"))
    if match is None or unit is None:
        raise ValueError(
            f"{text!r} is not a rate: write it as <quota>/<unit> (second, minute, hour, day) "
            "or <quota>/<n><s|m|h|d>, e.g. 600/minute or 100/10s"
        )
    quota, window = int(match[1]), int(match[2] or 1) * unit
    if quota < 1 or window < 1:
        raise ValueError(f"{text!r}: the quota and the window must be positive")
    return quota, window


@dataclass(frozen=True, slots=True)
class Policy:
    """``quota`` requests per ``window`` seconds, bursts up to ``quota`` (GCRA with B = L)."""

    name: str
    quota: int
    window: int
    interval_us: int
    """T: the emission interval, microseconds per request."""
    tolerance_us: int
    """D = B x T: how far ahead of now the theoretical arrival time may run."""

    @classmethod
    def of(cls, name: str, rate: str) -> Policy:
        quota, window = parse_rate(rate)
        interval = max(1, round(window * _MICRO / quota))
        return cls(name, quota, window, interval, interval * quota)

    def header_item(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window}'


@dataclass(frozen=True, slots=True)
class Outcome:
    allowed: bool
    states: tuple[tuple[Policy, int, int], ...]
    """(policy, r remaining, t seconds) for every policy of the request."""
    violated: tuple[Policy, ...]
    retry_after: int
    new_tats: tuple[int, ...]
    """The arrival times to store when allowed."""


def gcra(now: int, tats: Sequence[int], policies: Sequence[Policy], cost: int = 1) -> Outcome:
    """The decision for one request, from the stored arrival times (microseconds; ``now`` where
    none is stored). Pure, so the in-process and the Redis store answer alike."""
    current = [max(tat, now) for tat in tats]
    new = [tat + cost * p.interval_us for tat, p in zip(current, policies, strict=True)]
    violated = [i for i, p in enumerate(policies) if now < new[i] - p.tolerance_us]
    states: list[tuple[Policy, int, int]] = []
    if violated:
        retry = 0
        for i, p in enumerate(policies):
            if i in violated:
                wait = math.ceil((new[i] - p.tolerance_us - now) / _MICRO)
                retry = max(retry, wait)
                states.append((p, 0, wait))
            else:  # unchanged: report what is left without this request
                states.append(_state(p, p.tolerance_us - (current[i] - now)))
        return Outcome(
            False, tuple(states), tuple(policies[i] for i in violated), max(retry, 1), tuple(current)
        )
    for i, p in enumerate(policies):
        states.append(_state(p, p.tolerance_us - (new[i] - now)))
    return Outcome(True, tuple(states), (), 0, tuple(new))


def _state(policy: Policy, slack: int) -> tuple[Policy, int, int]:
    remaining = slack // policy.interval_us
    if remaining >= policy.quota:
        return policy, policy.quota, 0
    return policy, remaining, math.ceil(((remaining + 1) * policy.interval_us - slack) / _MICRO)


# ------------------------------------------------------------------ stores


class MemoryStore:
    """Arrival times in this process: thread-safe, at most ``max_keys`` partitions.

    An entry whose time has passed holds no information (a fresh partition answers the same), so
    pruning drops those first; past the cap it drops the partitions closest to a full quota,
    the ones whose loss matters least."""

    def __init__(self, max_keys: int = 100_000):
        self.max_keys = max_keys
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, keys: Sequence[str], policies: Sequence[Policy], cost: int = 1) -> Outcome:
        now = time.monotonic_ns() // 1000
        with self._lock:
            tats = self._tats
            outcome = gcra(now, [tats.get(k, now) for k in keys], policies, cost)
            if outcome.allowed:
                for key, tat in zip(keys, outcome.new_tats, strict=True):
                    tats[key] = tat
                if len(tats) > self.max_keys:
                    self._prune(now)
        return outcome

    def _prune(self, now: int) -> None:
        live = {k: t for k, t in self._tats.items() if t > now}
        keep = int(self.max_keys * 0.9)
        if len(live) > keep:
            live = dict(sorted(live.items(), key=lambda kv: kv[1])[len(live) - keep :])
        self._tats = live

    def __len__(self) -> int:
        return len(self._tats)


_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local tats = {}
local denied = 0
for i = 1, #KEYS do
  local stored = redis.call('GET', KEYS[i])
  local tat = now
  if stored then tat = math.max(tonumber(stored), now) end
  tats[i] = tat
  if now < tat + cost * tonumber(ARGV[2 * i]) - tonumber(ARGV[2 * i + 1]) then denied = 1 end
end
if denied == 0 then
  for i = 1, #KEYS do
    local new_tat = tats[i] + cost * tonumber(ARGV[2 * i])
    redis.call('SET', KEYS[i], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
  end
end
local out = {denied, now}
for i = 1, #KEYS do out[#out + 1] = tats[i] end
return out
"""


class RedisStore:
    """Arrival times in Redis, shared by every process: one script call per request checks and
    updates all its policies atomically. Fails open to ``fallback`` when Redis is unreachable,
    and retries Redis after ``retry_interval`` seconds."""

    def __init__(
        self,
        url: str,
        prefix: str,
        fallback: MemoryStore,
        *,
        timeout: float = 0.5,
        retry_interval: float = 5.0,
    ):
        require("redis", "redis", "REELFORGE_REDIS_URL")
        self.url = url
        self.prefix = prefix + "rl:"
        self.fallback = fallback
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.failures = 0
        """Requests answered by the fallback because Redis failed (a counter to watch)."""
        self._down_until = 0.0
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def _client(self) -> tuple[Any, Any]:
        # redis.asyncio connections belong to the event loop that made them.
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=self.timeout, socket_timeout=self.timeout
            )
            found = (client, client.register_script(_SCRIPT))
            with self._lock:
                for old in [lp for lp in self._clients if lp.is_closed()]:
                    del self._clients[old]
                self._clients[loop] = found
        return found

    async def check(self, keys: Sequence[str], policies: Sequence[Policy], cost: int = 1) -> Outcome:
        if self._down_until and time.monotonic() < self._down_until:
            self.failures += 1
            metrics.RATE_LIMIT_REDIS_FALLBACK.inc()
            return self.fallback.check(keys, policies, cost)
        from redis.exceptions import RedisError

        try:
            client, script = self._client()
            args: list[int] = [cost]
            for p in policies:
                args += [p.interval_us, p.tolerance_us]
            reply = await script(keys=[self.prefix + k for k in keys], args=args, client=client)
        except (TimeoutError, RedisError, OSError) as exc:
            self.failures += 1
            metrics.RATE_LIMIT_REDIS_FALLBACK.inc()
            metrics.RATE_LIMIT_REDIS_DEGRADED.set(1)
            if not self._down_until:
                log.warning(
                    "rate limits: Redis at %s does not answer (%s: %s); limiting in this process "
                    "until it does",
                    _redact(self.url),
                    type(exc).__name__,
                    exc,
                )
            self._down_until = time.monotonic() + self.retry_interval
            return self.fallback.check(keys, policies, cost)
        if self._down_until:
            log.warning("rate limits: Redis at %s answers again; limits are shared again", _redact(self.url))
            self._down_until = 0.0
            metrics.RATE_LIMIT_REDIS_DEGRADED.set(0)
        now, tats = int(reply[1]), [int(v) for v in reply[2:]]
        return gcra(now, tats, policies, cost)


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


# ------------------------------------------------------------------ the limiter


class RateLimiter:
    """The configured policies and where their state lives."""

    def __init__(self, settings: Settings, *, max_keys: int = 100_000):
        unknown = set(settings.rate_limits) - set(DEFAULT_POLICIES)
        if unknown:
            raise ValueError(
                f"unknown rate-limit policies {sorted(unknown)}; known: {sorted(DEFAULT_POLICIES)}"
            )
        self.policies: dict[str, Policy] = {}
        for name, default in DEFAULT_POLICIES.items():
            rate = settings.rate_limits.get(name, default)
            if rate is not None and rate.strip().lower() not in ("off", "none", ""):
                try:
                    self.policies[name] = Policy.of(name, rate)
                except ValueError as exc:
                    raise ValueError(f"rate-limit policy {name!r} (REELFORGE_RATE_LIMITS): {exc}") from None
        self.memory = MemoryStore(max_keys)
        self.redis = (
            RedisStore(settings.redis_url, settings.redis_prefix, self.memory) if settings.redis_url else None
        )
        self._policy_headers: dict[tuple[Policy, ...], bytes] = {}

    def applicable(
        self, classes: Iterable[str], credential: str | None, workspace: str | None, address: str
    ) -> tuple[list[Policy], list[str]]:
        """The policies of a request and the partition key of each."""
        policies: list[Policy] = []
        keys: list[str] = []
        for cls in classes:
            own = self.policies.get(cls)
            if own is not None:
                policies.append(own)
                keys.append(f"{cls}:k:{credential}" if credential else f"{cls}:ip:{address}")
            shared = self.policies.get("workspace-" + cls) if workspace else None
            if shared is not None:
                policies.append(shared)
                keys.append(f"{cls}:w:{workspace}")
        return policies, keys

    async def check(self, policies: Sequence[Policy], keys: Sequence[str]) -> Outcome:
        if self.redis is not None:
            return await self.redis.check(keys, policies)
        return self.memory.check(keys, policies)

    def policy_header(self, policies: Sequence[Policy]) -> bytes:
        key = tuple(policies)
        value = self._policy_headers.get(key)
        if value is None:
            value = self._policy_headers[key] = ", ".join(p.header_item() for p in policies).encode()
        return value


def classify(method: str, path: str) -> tuple[str, ...]:
    if method in READ_METHODS:
        return ("reads",)
    if method == "POST" and (path in RENDER_PATHS or path.endswith("/renders")):
        return ("writes", "renders")
    return ("writes",)


def rate_limit_header(outcome: Outcome) -> bytes:
    return ", ".join(f'"{p.name}";r={r};t={t}' for p, r, t in outcome.states).encode()


class RateLimitMiddleware:
    """Counts ``/v1`` requests against the policies and adds the headers to every response.

    It authenticates the request itself (the same cached check the routes use, which then find
    the principal already on the request) to know the credential and workspace; a request
    without a valid credential is counted per client address and answered by the route."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        credential = workspace = None
        if path not in IP_ONLY_PATHS:
            credential, workspace = await self._identify(scope)
        client = scope.get("client")
        limiter = self.limiter
        policies, keys = limiter.applicable(
            classify(scope["method"], path), credential, workspace, client[0] if client else "unknown"
        )
        if not policies:
            await self.app(scope, receive, send)
            return
        outcome = await limiter.check(policies, keys)
        headers = [
            (b"ratelimit-policy", limiter.policy_header(policies)),
            (b"ratelimit", rate_limit_header(outcome)),
        ]
        if not outcome.allowed:
            await self._refuse(scope, send, outcome, headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _identify(self, scope: Scope) -> tuple[str | None, str | None]:
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                if value[:7].lower() != b"bearer ":
                    return None, None
                break
        else:
            return None, None
        try:
            principal = await authenticate(Request(scope))
        except ApiError:  # the route answers it (401/400); meanwhile count it by address
            return None, None
        return principal.credential_id, principal.workspace_id

    async def _refuse(
        self, scope: Scope, send: Send, outcome: Outcome, headers: list[tuple[bytes, bytes]]
    ) -> None:
        names = [p.name for p in outcome.violated]
        for name in names:
            metrics.RATE_LIMIT_REJECTIONS.labels(name).inc()
        status, title = CATALOGUE["rate-limited"]
        body = json.dumps(
            {
                "type": PROBLEM_BASE + "rate-limited",
                "title": title,
                "status": status,
                "detail": f"the {', '.join(names)} rate limit{'s are' if len(names) > 1 else ' is'} used up; "
                f"retry in {outcome.retry_after} s",
                "instance": scope.get("path", ""),
                "code": "rate-limited",
                "request_id": (scope.get("state") or {}).get("request_id"),
                "violated-policies": names,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(outcome.retry_after).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install_rate_limit_docs(app: FastAPI) -> None:
    """Document the 429 answer and the RateLimit headers on every ``/v1`` operation."""
    extend_openapi(app, "reelforge.api.examples_ratelimit")
