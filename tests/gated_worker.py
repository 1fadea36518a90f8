"""`reelforge worker` with a gate the test controls, for the multi-process tests.

Run as ``python tests/gated_worker.py GATE_DIR [reelforge worker options]`` with the same
REELFORGE_* environment as the real command. Each render this process runs stops at its first
progress report (FFmpeg running) while ``GATE_DIR/open`` does not exist, after writing
``GATE_DIR/held-<render id>`` with this process's pid: the test sees which worker holds which
render, and can kill one there. Chunks of long renders are held the same way, at their FFmpeg
run's first progress, after writing ``GATE_DIR/chunk-<pid>-<n>``. Everything else is the real
worker.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import typer

import reelforge.jobs.chunks as chunks
from reelforge.extras import check_settings
from reelforge.jobs.distributed import run_worker
from reelforge.logs import configure_logging
from reelforge.services.context import open_services
from reelforge.settings import Settings


class FileGate:
    """A render observer holding each render at its first progress report until ``open``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def on_state(self, render_id: str, state: str) -> None:
        pass

    def on_progress(self, render_id: str, fraction: float) -> None:
        with self._lock:
            if render_id in self._seen:
                return
            self._seen.add(render_id)
        opened = self.directory / "open"
        if opened.exists():
            return
        (self.directory / f"held-{render_id}").write_text(str(os.getpid()))
        deadline = time.monotonic() + 600  # never forever, whatever the test does
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def gate_chunks(directory: Path) -> None:
    """Hold each chunk's FFmpeg run at its first progress report before its end while ``open``
    does not exist (the chunk job itself reports no progress: the gate listens to FFmpeg's)."""
    render_segment = chunks.render_segment
    count = iter(range(1_000_000))

    def gated(*args: Any, **kwargs: Any) -> Any:
        marker = directory / f"chunk-{os.getpid()}-{next(count)}"
        opened = directory / "open"

        def hold(progress: Any) -> None:
            # The last report comes after FFmpeg exited: only a report mid-run holds it.
            if progress.fraction >= 1.0 or marker.exists() or opened.exists():
                return
            marker.write_text(str(os.getpid()))
            deadline = time.monotonic() + 600
            while not opened.exists() and time.monotonic() < deadline:
                time.sleep(0.05)

        return render_segment(*args, **{**kwargs, "on_progress": hold})

    chunks.render_segment = gated  # type: ignore[assignment]


def main(
    gate: Path,
    concurrency: int = typer.Option(1),
    queues: str = typer.Option("renders,previews,webhooks"),
    name: str | None = typer.Option(None),
) -> None:
    settings = Settings()
    check_settings(settings.database_url, settings.redis_url, "celery")
    configure_logging(settings.log_format)
    gate_chunks(gate)
    run_worker(
        open_services(settings),
        roles=queues.split(","),
        concurrency=concurrency,
        name=name,
        observers=[FileGate(gate)],
    )


if __name__ == "__main__":
    sys.exit(typer.run(main))
