"""Prometheus metrics: every metric the service exports, defined once, and how to expose them.

The metrics live in the process (``prometheus_client``'s default registry) and are updated
where things happen: the HTTP middleware (:mod:`reelforge.api.metrics`), the render observer
(:class:`reelforge.jobs.observers.RenderMetrics`), the webhook sender, the idempotency and
rate-limit code, uploads and downloads. ``GET /metrics`` exposes them
(:func:`exposition`) with the gauges read from the database at scrape time (queue depth,
running renders, live workers).

Several processes (uvicorn ``--workers``, worker processes) each count on their own; with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory, shared by the processes of one
installation, emptied before they start) ``prometheus_client`` keeps every process's values in
files there and the exposition adds them up (its multiprocess mode). The variable must be set
before the process starts: the library picks its storage when it is first imported.

Labels are bounded: route templates (never raw paths), methods, status codes, states, output
formats, failure codes, outcomes and policy names are small fixed sets; no id is ever a label.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = [
    "CONTENT_TYPE_LATEST",
    "DELIVERED_BYTES",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "IDEMPOTENCY",
    "RATE_LIMIT_REDIS_DEGRADED",
    "RATE_LIMIT_REDIS_FALLBACK",
    "RATE_LIMIT_REJECTIONS",
    "RENDERS",
    "RENDER_DURATION",
    "RENDER_OUTPUT_SECONDS",
    "RENDER_QUEUE_WAIT",
    "RENDER_REALTIME_FACTOR",
    "UPLOADED_BYTES",
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_DURATION",
    "exposition",
    "label_value",
    "multiprocess_dir",
    "process_exited",
]

_PREFIX = "reelforge_"

# A `_created` series per counter and histogram doubles the exposition for a timestamp that
# Prometheus's own rate() does not need.
disable_created_metrics()

HTTP_REQUESTS = Counter(
    _PREFIX + "http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    _PREFIX + "http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and method.",
    ["route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

RENDERS = Counter(
    _PREFIX + "renders",
    "Renders entering a state in a worker, by state, output format (``mixed`` when the outputs "
    "differ) and failure code (empty unless failed).",
    ["state", "format", "failure_code"],
)
RENDER_DURATION = Histogram(
    _PREFIX + "render_duration_seconds",
    "Wall-clock time of a render's last attempt, from its claim to its end, by final state.",
    ["state"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600),
)
RENDER_QUEUE_WAIT = Histogram(
    _PREFIX + "render_queue_wait_seconds",
    "Time from a render's creation to a worker claiming it.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400),
)
RENDER_REALTIME_FACTOR = Histogram(
    _PREFIX + "render_realtime_factor",
    "Seconds of output made per second of rendering, of each succeeded render (above 1: faster "
    "than real time).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
RENDER_OUTPUT_SECONDS = Counter(
    _PREFIX + "render_output_seconds",
    "Seconds of video and audio output made by succeeded renders (stills count none).",
)

UPLOADED_BYTES = Counter(_PREFIX + "uploaded_bytes", "Bytes of files received by uploads.")
DELIVERED_BYTES = Counter(
    _PREFIX + "delivered_bytes",
    "Bytes of stored files sent, by way: ``download`` (asset content) or a destination's kind "
    "(``folder``, ``s3``, ``http``, ``sftp``).",
    ["via"],
)

WEBHOOK_ATTEMPTS = Counter(
    _PREFIX + "webhook_attempts",
    "Webhook delivery attempts, by outcome: ``success`` or the error class (``http_status``, "
    "``timeout``, ``connect``, ``dns``, ``tls``, ``ssrf_blocked``).",
    ["outcome"],
)
WEBHOOK_DURATION = Histogram(
    _PREFIX + "webhook_attempt_duration_seconds",
    "Time of one webhook delivery attempt, response included, by outcome.",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60),
)

IDEMPOTENCY = Counter(
    _PREFIX + "idempotency_requests",
    "Requests with an Idempotency-Key, by outcome: ``new``, ``replayed``, ``in_progress`` "
    "(409), ``mismatch`` (422, the key was used for another request) or ``invalid`` (400).",
    ["outcome"],
)

RATE_LIMIT_REJECTIONS = Counter(
    _PREFIX + "rate_limit_rejections",
    "Requests refused with 429 by a rate-limit policy, by policy (one count per violated policy).",
    ["policy"],
)
RATE_LIMIT_REDIS_FALLBACK = Counter(
    _PREFIX + "rate_limit_redis_fallback",
    "Requests limited in the process instead of in Redis because Redis did not answer.",
)
RATE_LIMIT_REDIS_DEGRADED = Gauge(
    _PREFIX + "rate_limit_redis_degraded",
    "1 while a process limits on its own because Redis does not answer, else 0.",
    multiprocess_mode="max",
)

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:+-]")


def label_value(value: str | None, *, default: str = "", limit: int = 40) -> str:
    """A bounded label value from a code the service made (a failure code, a format): anything
    unexpected is shortened and stripped of odd characters rather than trusted."""
    if not value:
        return default
    return _LABEL_UNSAFE.sub("_", value)[:limit]


def multiprocess_dir() -> str | None:
    """The multiprocess directory when that mode is on (see the module), else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_exited(pid: int | None = None) -> None:
    """In multiprocess mode, drop the live-only gauge files of a process that ends."""
    if multiprocess_dir():
        mark_process_dead(pid if pid is not None else os.getpid())


class _Scrape:
    """What one scrape collects: this process's registry (or, in multiprocess mode, every
    process's files) and the gauges read at scrape time."""

    def __init__(self, extra: Iterable[Callable[[], Iterable[Metric]]]):
        self._extra = list(extra)

    def collect(self) -> Iterator[Metric]:
        path = multiprocess_dir()
        if path:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        for collect in self._extra:
            yield from collect()


def exposition(*collectors: Callable[[], Iterable[Metric]]) -> bytes:
    """The Prometheus text exposition of every metric, plus those ``collectors`` yield."""
    return generate_latest(_Scrape(collectors))
