"""Observers of render jobs: who hears of a render's states and progress as its worker makes them.

A worker calls its observers in the job's own thread, right after the change is committed to the
database, so an observer sees what readers of the database can see. The worker logs through one
(:class:`RenderLog`) and counts for Prometheus through another (:class:`RenderMetrics`). An observer that
blocks holds the render where it is: the job does not advance until the call returns, and it
re-reads a cancel request once FFmpeg has returned, so a cancel asked meanwhile is honoured.
An observer that raises is logged and ignored: observing never fails a render.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reelforge import metrics
from reelforge.db.models import RUNNING_STATES, TERMINAL_STATES, Asset, Render

__all__ = ["RenderLog", "RenderMetrics", "RenderObserver", "RenderObservers"]

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


class RenderMetrics:
    """Counts renders for Prometheus (:mod:`reelforge.metrics`): each state a render enters, by
    output format and failure code; the queue wait when a worker claims it; the duration of
    its last attempt when it ends; for a succeeded render, the seconds of output and the
    realtime factor (output seconds per second of rendering).

    It reads the render's row when it is claimed and when it ends (the state is committed
    before observers hear of it), and remembers the format in between."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._formats: dict[str, str] = {}

    def on_state(self, render_id: str, state: str) -> None:
        row: Render | None = None
        output_seconds = 0.0
        fmt = self._formats.get(render_id)
        if state == "preparing" or state not in RUNNING_STATES or fmt is None:
            with self._sessions() as db:
                row = db.get(Render, render_id)
                if row is None:
                    return
                fmt = output_format(row.edit)
                if state == "succeeded":
                    output_seconds = _output_seconds(db, row.outputs)
        if state in RUNNING_STATES:
            if len(self._formats) > 10_000:  # renders lost to another worker never end here
                self._formats.clear()
            self._formats[render_id] = fmt
        else:
            self._formats.pop(render_id, None)
        code = ""
        if row is not None and state == "failed":
            code = metrics.label_value(str((row.error or {}).get("code") or ""), default="unknown")
        metrics.RENDERS.labels(state, fmt, code).inc()
        if row is None or row.started_at is None:
            return
        if state == "preparing":
            metrics.RENDER_QUEUE_WAIT.observe(max(0.0, (row.started_at - row.created_at).total_seconds()))
        elif state in TERMINAL_STATES and row.finished_at is not None:
            took = max(0.0, (row.finished_at - row.started_at).total_seconds())
            metrics.RENDER_DURATION.labels(state).observe(took)
            if state == "succeeded" and output_seconds > 0:
                metrics.RENDER_OUTPUT_SECONDS.inc(output_seconds)
                if took > 0:
                    metrics.RENDER_REALTIME_FACTOR.observe(output_seconds / took)

    def on_progress(self, render_id: str, fraction: float) -> None:
        """Progress is not counted (the states and durations say what matters)."""


def output_format(edit: Any) -> str:
    """The output format of a stored edit's outputs (``mp4`` by default), ``mixed`` when they
    differ: a label with a handful of values."""
    outputs = edit.get("outputs") if isinstance(edit, dict) else None
    formats = {
        str(o.get("format") or "mp4")
        for o in (outputs if isinstance(outputs, list) else [])
        if isinstance(o, dict)
    } or {"mp4"}
    return metrics.label_value(formats.pop(), limit=8) if len(formats) == 1 else "mixed"


def _output_seconds(db: Session, outputs: Any) -> float:
    """The probed durations of a render's output files added up (posters, thumbnails and
    subtitles are not outputs; stills have no duration)."""
    ids = [o.get("asset_id") for o in outputs or () if isinstance(o, dict) and o.get("role") == "output"]
    if not ids:
        return 0.0
    total = 0.0
    for media in db.scalars(select(Asset.media).where(Asset.id.in_(ids))):
        duration = media.get("duration") if isinstance(media, dict) else None
        if isinstance(duration, int | float) and duration > 0:
            total += float(duration)
    return total
