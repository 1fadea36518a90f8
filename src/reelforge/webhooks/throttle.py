"""Per-endpoint concurrency (AIMD): a receiver that signals overload (429, 502, 503, 504) gets
half as many attempts at once, and nothing for its ``Retry-After``; each success grows it back
by one, up to the configured maximum."""

from __future__ import annotations

import time

from .delivery import THROTTLE_STATUSES, Outcome

__all__ = ["EndpointLimits"]


class EndpointLimits:
    def __init__(self, full: int):
        self.full = full
        self.caps: dict[str, int] = {}
        """Endpoints below the full concurrency, and their cap."""
        self.paused: dict[str, float] = {}
        """Endpoint -> monotonic time before which nothing more is sent to it (its Retry-After)."""

    def cap(self, endpoint_id: str) -> int:
        return self.caps.get(endpoint_id, self.full)

    def paused_for(self, endpoint_id: str, clock: float | None = None) -> float:
        """Seconds the endpoint stays paused (<= 0: not paused)."""
        return self.paused.get(endpoint_id, 0.0) - (time.monotonic() if clock is None else clock)

    def pauses(self, clock: float) -> list[float]:
        """The pauses still running, in seconds from ``clock``."""
        return [p - clock for p in self.paused.values() if p > clock]

    def adapt(self, endpoint_id: str, outcome: Outcome) -> None:
        if outcome.status in THROTTLE_STATUSES:
            self.caps[endpoint_id] = max(1, self.caps.get(endpoint_id, self.full) // 2)
            pause = outcome.retry_after()
            if pause:
                self.paused[endpoint_id] = time.monotonic() + min(pause, 3600)
        elif outcome.succeeded and endpoint_id in self.caps:
            self.caps[endpoint_id] += 1
            if self.caps[endpoint_id] >= self.full:
                del self.caps[endpoint_id]
            self.paused.pop(endpoint_id, None)
