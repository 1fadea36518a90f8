"""What the sync and async clients share: the retry policy, the headers every request carries,
the reading of Server-Sent Events, and the small helpers that touch no socket."""

from __future__ import annotations

import os
import random
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_STATUSES",
    "TERMINAL_STATES",
    "RetryPolicy",
    "ServerSentEvent",
    "SseParser",
    "new_idempotency_key",
    "resolve_config",
]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
"""Answers that say "try again": the request was not carried out (or was, under the same
idempotency key, which the retry then replays)."""
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
SDK_VERSION = "0.1.0"

_RATE_LIMIT_ITEM = re.compile(r'"(?P<name>[^"]*)"(?P<params>(?:;[^,]*)?)')


def new_idempotency_key() -> str:
    """A fresh key for one create, kept for all of its retries."""
    return f"rf-{uuid.uuid4()}"


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Network errors, timeouts, 408, 429, 502, 503, 504 and 409 ``idempotency-request-in-progress``
    are retried up to ``max_retries`` times. The wait is the server's ``Retry-After`` (or the
    ``t`` of an exhausted ``RateLimit`` item) when it gives one, else exponential backoff from
    ``initial_delay`` doubling up to ``max_delay``, less up to a quarter at random (jitter, so
    many clients failing at once do not come back at once). A server asking for a longer wait
    than ``max_retry_after`` gets the error raised instead of a sleeping caller."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """The wait before retry number ``attempt + 1`` when the server gave no advice."""
        delay = min(self.max_delay, self.initial_delay * 2**attempt)
        return delay * (1 - 0.25 * self.rng.random())

    def wait_for(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retrying after ``response`` (None: a network error or
        timeout), or None when it must not be retried."""
        if attempt >= self.max_retries:
            return None
        if response is None:
            return self.backoff(attempt)
        if not retryable(response):
            return None
        advised = server_advice(response)
        if advised is None:
            return self.backoff(attempt)
        return advised if advised <= self.max_retry_after else None


def retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRY_STATUSES:
        return True
    if response.status_code == 409:
        # Our own create still running under the same key: it answers once that one is done.
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("code") == "idempotency-request-in-progress"
    return False


def server_advice(response: httpx.Response) -> float | None:
    """Seconds the server asks the client to wait: ``Retry-After`` (delay-seconds) first, else
    the largest ``t`` among ``RateLimit`` items with nothing remaining."""
    value = response.headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    waits: list[float] = []
    for item in _RATE_LIMIT_ITEM.finditer(response.headers.get("ratelimit", "")):
        params = dict(p.split("=", 1) for p in item.group("params").split(";") if "=" in p)
        try:
            if int(params.get("r", "1")) <= 0 and "t" in params:
                waits.append(float(params["t"]))
        except ValueError:
            continue
    return max(waits) if waits else None


@dataclass
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None


class SseParser:
    """Reads ``text/event-stream`` lines into events (the HTML living standard's rules, less
    ``retry``, which the service never sends)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, lines: Iterable[str]) -> Iterator[ServerSentEvent]:
        for line in lines:
            found = self.line(line)
            if found is not None:
                yield found

    def line(self, line: str) -> ServerSentEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data:
                self._event = ""
                return None
            done = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return done
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


def resolve_config(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The server and key: the arguments, else ``REELFORGE_SERVER`` / ``REELFORGE_API_KEY``
    (or ``REELFORGE_TOKEN``), else the saved profile (:mod:`reelforge.client.profiles`)."""
    from .profiles import load_profile

    url = base_url or os.environ.get("REELFORGE_SERVER")
    key = api_key or os.environ.get("REELFORGE_API_KEY") or os.environ.get("REELFORGE_TOKEN")
    if not url or not key:
        saved = load_profile()
        if saved is not None:
            url, key = url or saved["server"], key or saved["api_key"]
    if not url:
        raise ValueError("no server: pass base_url, set REELFORGE_SERVER or run `reelforge login`")
    if not key:
        raise ValueError("no API key: pass api_key, set REELFORGE_API_KEY or run `reelforge login`")
    return url.rstrip("/"), key


def default_headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": f"reelforge-python/{SDK_VERSION}",
        "Accept": "application/json",
    }


def safe_file_name(name: str, fallback: str) -> str:
    """A name for a downloaded file that stays inside the target folder."""
    base = os.path.basename(name.replace("\\", "/")).strip()
    return base if base not in ("", ".", "..") else fallback
