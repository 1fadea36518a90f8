"""What the installation's health looks like from here: readiness (database, storage, the
render queue, workers) and the gauges ``/metrics`` reads from the database at scrape time.

The render queue is the ``renders`` table today (the broker of the embedded default): it is
ready when it answers. Workers (the render worker and the other background loops: webhook
dispatcher, delivery worker, import fetcher, retention) write heartbeats
(:mod:`reelforge.db.workers`); one that stopped beating without saying it stopped is ``stale``:
it crashed or hangs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import case, func, select, text

from reelforge.db.models import RUNNING_STATES, Render, Workspace, utcnow
from reelforge.db.workers import WORKER_KINDS, recent_workers

from .context import Services

__all__ = ["OTHER_WORKSPACES", "Readiness", "readiness", "scrape_gauges"]

OTHER_WORKSPACES = "(other)"
"""The ``workspace`` label of the workspaces beyond the busiest ``metrics_top_workspaces``."""


LOOPS = {
    "webhook_dispatcher": "webhook_dispatcher",
    "delivery_worker": "delivery_worker",
    "import_runner": "import_runner",
    "transcript_runner": "transcript_runner",
    "retention": "retention",
}
"""``/readyz`` check -> the ``Services.extras`` entry of the background loop it checks."""


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, str]
    workers: list[dict[str, Any]]
    queue: dict[str, int] | None


def _worker_states(services: Services) -> list[dict[str, Any]]:
    now = utcnow()
    stale_after = services.settings.worker_stale_after
    with services.sessions() as db:
        rows = recent_workers(db)
    found = []
    for row in rows:
        age = max(0.0, (now - row.heartbeat_at).total_seconds())
        state = "stopped" if row.stopped_at is not None else "stale" if age > stale_after else "live"
        found.append(
            {
                "name": row.name,
                "kind": row.kind,
                "state": state,
                "concurrency": row.concurrency,
                "started_at": row.started_at,
                "heartbeat_at": row.heartbeat_at,
                "heartbeat_age_seconds": round(age, 1),
            }
        )
    return found


def readiness(services: Services) -> Readiness:
    """Each check ``ok`` or ``error: <why>``: ``database``, ``storage``, ``broker`` (the render
    queue), ``worker`` (this process's own render worker, when it runs one), each other
    background loop this process runs (:data:`LOOPS`: ``webhook_dispatcher``,
    ``delivery_worker``, ``import_runner``, ``transcript_runner``, ``retention``) and ``workers`` (a live render worker
    exists in the installation; checked when this process runs a worker or
    ``readyz_requires_worker`` asks for one); the checks name no worker, as anyone may read
    them. The workers of the last day, each ``live``, ``stale`` or ``stopped``, are listed
    whatever the checks say."""
    checks: dict[str, str] = {}
    queue: dict[str, int] | None = None
    workers: list[dict[str, Any]] = []
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure as not ready
        checks["database"] = f"error: {type(exc).__name__}"
    checks["storage"] = "ok" if services.storage.temp_dir().is_dir() else "error: missing"
    if checks["database"] == "ok":
        try:
            with services.sessions() as db:
                counts = dict(
                    db.execute(
                        select(Render.state, func.count())
                        .where(Render.state.in_(("queued", *RUNNING_STATES)))
                        .group_by(Render.state)
                    ).all()
                )
            queue = {
                "queued": int(counts.get("queued", 0)),
                "running": sum(int(counts.get(s, 0)) for s in RUNNING_STATES),
            }
            checks["broker"] = "ok"
            workers = _worker_states(services)
        except Exception as exc:
            checks["broker"] = f"error: {type(exc).__name__}"
    else:
        checks["broker"] = "error: the database does not answer"
    worker = services.worker
    if worker is not None:
        checks["worker"] = "ok" if worker.alive() else "error: stopped"
    # This process's other background loops, each when it runs one.
    for check, extra in LOOPS.items():
        loop = services.extras.get(extra)
        if loop is not None:
            checks[check] = "ok" if loop.alive() else "error: stopped"
    if worker is not None or services.settings.readyz_requires_worker:
        renderers = [w for w in workers if w["kind"] == "render"]
        if any(w["state"] == "live" for w in renderers):
            checks["workers"] = "ok"
        else:
            # No worker names here: the checks are public (the names are in ``workers``).
            stale = sum(1 for w in renderers if w["state"] == "stale")
            checks["workers"] = "error: no live worker" + (f" ({stale} stale)" if stale else "")
    return Readiness(all(v == "ok" for v in checks.values()), checks, workers, queue)


def scrape_gauges(services: Services) -> Iterator[Metric]:
    """The gauges read from the database at each scrape: queued and running renders by
    workspace (the busiest ``metrics_top_workspaces`` by name, the rest as ``(other)``: no ids,
    a bounded number of label values) and workers by state."""
    top = services.settings.metrics_top_workspaces
    queued = GaugeMetricFamily(
        "reelforge_renders_queued", "Renders waiting in the queue, by workspace.", labels=["workspace"]
    )
    running = GaugeMetricFamily(
        "reelforge_renders_running", "Renders a worker runs now, by workspace.", labels=["workspace"]
    )
    workers = GaugeMetricFamily(
        "reelforge_workers",
        "Workers of the last day by kind (render, webhooks, delivery, imports, retention) and state "
        "(live, stale, stopped).",
        labels=["kind", "state"],
    )
    with services.sessions() as db:
        rows = db.execute(
            select(
                Workspace.name,
                func.sum(case((Render.state == "queued", 1), else_=0)),
                func.sum(case((Render.state.in_(RUNNING_STATES), 1), else_=0)),
            )
            .join(Workspace, Workspace.id == Render.workspace_id)
            .where(Render.state.in_(("queued", *RUNNING_STATES)))
            .group_by(Render.workspace_id, Workspace.name)
        ).all()
    by_load = sorted(rows, key=lambda r: (-(int(r[1] or 0) + int(r[2] or 0)), r[0]))
    totals: dict[str, list[int]] = {}
    for i, (name, q, r) in enumerate(by_load):
        label = str(name)[:64] if i < top else OTHER_WORKSPACES
        entry = totals.setdefault(label, [0, 0])  # two workspaces of one name add up
        entry[0] += int(q or 0)
        entry[1] += int(r or 0)
    totals.setdefault(OTHER_WORKSPACES, [0, 0])  # the series exists even when idle
    for label, (q, r) in sorted(totals.items()):
        queued.add_metric([label], q)
        running.add_metric([label], r)
    yield queued
    yield running
    # Every kind and state has its series, zero included: an alert on a stale one sees it appear.
    states = {(kind, state): 0 for kind in WORKER_KINDS for state in ("live", "stale", "stopped")}
    for w in _worker_states(services):
        states[(w["kind"], w["state"])] = states.get((w["kind"], w["state"]), 0) + 1
    for (kind, state), n in sorted(states.items()):
        workers.add_metric([kind, state], n)
    yield workers
