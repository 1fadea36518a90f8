"""Observers of render jobs: who hears of a render's states and progress as its worker makes them.

A worker calls its observers in the job's own thread, right after the change is committed to the
database, so an observer sees what readers of the database can see. The worker logs through one
(:class:`RenderLog`); metrics (a Prometheus exporter, say) plug in the same way. An observer that
blocks holds the render where it is: the job does not advance until the call returns, and it
re-reads a cancel request once FFmpeg has returned, so a cancel asked meanwhile is honoured.
An observer that raises is logged and ignored: observing never fails a render.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from reelforge.db.models import RUNNING_STATES

__all__ = ["RenderLog", "RenderObserver", "RenderObservers"]

log = logging.getLogger("reelforge.jobs")


class RenderObserver(Protocol):
    def on_state(self, render_id: str, state: str) -> None:
        """The render is now in ``state`` (one of :data:`reelforge.jobs.queue.RENDER_STATES`)."""

    def on_progress(self, render_id: str, fraction: float) -> None:
        """The render's recorded progress is now ``fraction`` (0 to 1) while it renders."""


class RenderObservers:
    """A worker's observers; added and removed at any time, from any thread."""

    def __init__(self, *observers: RenderObserver) -> None:
        self._lock = threading.Lock()
        self._observers: tuple[RenderObserver, ...] = observers

    def add(self, observer: RenderObserver) -> None:
        with self._lock:
            self._observers = (*self._observers, observer)

    def remove(self, observer: RenderObserver) -> None:
        with self._lock:
            self._observers = tuple(o for o in self._observers if o is not observer)

    def state(self, render_id: str, state: str) -> None:
        for observer in self._observers:
            try:
                observer.on_state(render_id, state)
            except Exception:
                log.warning("an observer of render %s failed", render_id, exc_info=True)

    def progress(self, render_id: str, fraction: float) -> None:
        for observer in self._observers:
            try:
                observer.on_progress(render_id, fraction)
            except Exception:
                log.warning("an observer of render %s failed", render_id, exc_info=True)


class RenderLog:
    """Logs each state a render enters (debug level), with the seconds since it was claimed."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def on_state(self, render_id: str, state: str) -> None:
        now = time.monotonic()
        if state == "preparing":
            self._started[render_id] = now
        since = now - self._started.get(render_id, now)
        if state not in RUNNING_STATES:
            self._started.pop(render_id, None)
        log.debug("render %s: %s (%.1f s after its start)", render_id, state, since)

    def on_progress(self, render_id: str, fraction: float) -> None:
        log.debug("render %s: %.0f%% rendered", render_id, fraction * 100)
