"""The Grafana dashboard in ``deploy/grafana/`` uses exactly the metrics the service exports:
every PromQL expression parses, every metric it names is in the ``/metrics`` output of a real
running app after some traffic, and every metric exported is shown somewhere (and documented in
docs/operations.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import promql_parser
from prometheus_client.parser import text_string_to_metric_families

from reelforge.services.keys import create_key
from reelforge.services.workspaces import workspace_or_first
from service import live_server, running_service, wait_render

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "reelforge.json"
OPERATIONS = ROOT / "docs" / "operations.md"
GRAFANA_DURATIONS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}
"""Grafana fills these in before Prometheus sees the query; any duration parses the same."""
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels") or [])


def expressions() -> list[tuple[str, str]]:
    """(panel title, expression) of every query of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in panels(dashboard["panels"])
        for target in panel.get("targets") or []
    ]


def metric_names(expr: str) -> set[str]:
    """The metrics an expression selects, once Grafana's variables are filled in."""
    for variable, duration in GRAFANA_DURATIONS.items():
        expr = expr.replace(variable, duration)
    assert "$" not in expr, f"an unknown Grafana variable in {expr!r}"
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expr!r}"
            found.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def test_every_expression_parses_and_names_a_metric() -> None:
    found = expressions()
    assert len(found) > 20
    for title, expr in found:
        assert metric_names(expr), f"{title}: {expr}"


def exported(text: str) -> set[str]:
    """The series names of the exposition: those with samples and, for families declared
    without a sample yet (a labelled counter no request has touched), the names their type
    gives them."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {s.name for s in family.samples}
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ())}
    return names


def test_the_dashboard_uses_exactly_the_exported_metrics(tmp_path: Path, media: Any) -> None:
    with (
        running_service(tmp_path, workers=1, rate_limits={"writes": "4/minute"}) as svc,
        live_server(svc) as base,
    ):
        with svc.services.sessions() as db:
            ws = workspace_or_first(db, None)
            _, scraper = create_key(db, svc.services, ws.id, "scraper", ["metrics"])
        auth = svc.headers()
        with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
            # Some of everything: a render, an upload and its download, an idempotent retry,
            # requests over a rate limit.
            render = client.post("/v1/renders", json={"edit": _colour()}).json()
            path = Path(media.video())
            asset = client.post("/v1/assets", files={"file": (path.name, path.read_bytes())}).json()
            assert client.get(f"/v1/assets/{asset['id']}/content").status_code == 200
            for _ in range(6):
                client.post(
                    "/v1/projects",
                    headers={"Idempotency-Key": "dashboard-1"},
                    json={"name": "p", "edit": _colour()},
                )
            assert wait_render(svc, render["id"])["state"] == "succeeded"
            r = client.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
            assert r.status_code == 200
    names = exported(r.text)
    used: set[str] = set()
    for title, expr in expressions():
        for name in metric_names(expr):
            assert name in names, f"panel {title!r} uses {name}, which /metrics does not export"
            used.add(name)
    families = {f.name for f in text_string_to_metric_families(r.text) if f.name.startswith("reelforge_")}
    unused = {
        f
        for f in families
        if not any(re.fullmatch(re.escape(f) + r"(_total|_bucket|_sum|_count)?", u) for u in used)
    }
    assert not unused, f"exported but not on the dashboard: {sorted(unused)}"
    # The operations guide documents exactly these metrics too.
    documented = set(re.findall(r"`(reelforge_[a-z_]+)`", OPERATIONS.read_text(encoding="utf-8")))
    assert {d.removesuffix("_total") for d in documented} == families


def _colour() -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
        "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
    }
