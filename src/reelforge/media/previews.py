"""Previews made after the upload answers: a small thread pool per process.

An upload is answered as soon as the file is stored, probed and recorded (the asset says
``"previews": "pending"``); the thumbnail or waveform, which can mean FFmpeg decoding an hour of
audio, is made here and recorded with :func:`~reelforge.media.ingest.complete_previews`
(``previews`` becomes ``ready`` or ``failed``, and an ``asset.updated`` event is recorded).

Nothing is lost when the process stops first: the state is in the database, and the first
runner of the next process picks up every asset still pending (:meth:`PreviewRunner.recover`).
A failure of one job is logged and recorded as ``failed``; the runner carries on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.orm import Session

from .ingest import complete_previews, fail_previews, pending_previews
from .storage import Storage

__all__ = ["PreviewRunner"]

log = logging.getLogger("reelforge.previews")


class PreviewRunner:
    """Make deferred previews on ``workers`` threads (each runs one FFmpeg at a time)."""

    def __init__(self, sessions: Callable[[], Session], storage: Storage, *, workers: int = 2):
        self._sessions = sessions
        self._storage = storage
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="previews")
        self._lock = threading.Lock()
        self._queued: dict[str, Future[None]] = {}

    def submit(self, asset_id: str) -> None:
        """Make the asset's previews soon (a no-op when they are already queued)."""
        with self._lock:
            if asset_id not in self._queued:
                self._queued[asset_id] = self._pool.submit(self._run, asset_id)

    def recover(self) -> int:
        """Queue every asset left pending (by a process that stopped); return how many."""
        ids = pending_previews(self._sessions)
        for asset_id in ids:
            self.submit(asset_id)
        if ids:
            log.info("making the previews of %d assets left pending", len(ids))
        return len(ids)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued (tests, shutdown); False on timeout."""
        with self._lock:
            futures = list(self._queued.values())
        done = True
        for future in futures:
            try:
                future.result(timeout)
            except TimeoutError:
                done = False
        return done

    def shutdown(self) -> None:
        """Finish the job in progress and drop the rest (recovered by the next process)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, asset_id: str) -> None:
        try:
            complete_previews(self._sessions, self._storage, asset_id)
        except Exception:
            log.exception("the previews of asset %s failed", asset_id)
            try:
                fail_previews(self._sessions, asset_id)
            except Exception:
                log.exception("could not record the failed previews of asset %s", asset_id)
        finally:
            with self._lock:
                self._queued.pop(asset_id, None)
