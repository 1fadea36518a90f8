"""Render analytics (GET /v1/analytics/renders) on SQLite and PostgreSQL: renders seeded as rows
of the real database, checked against the same figures computed here from the seeded values;
and renders made through the API with campaign tags, which the numbers then count."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from reelforge.db.models import RENDER_STATES, Render, RenderLabel, new_id
from service import Service, wait_render

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CODES = ("ffmpeg_failed", "asset_missing", "timeout")


def _workspace(svc: Service) -> str:
    return str(svc.get("/v1/workspace").json()["id"])


def seed(
    svc: Service, count: int, rng: random.Random, *, workspace_id: str | None = None
) -> list[dict[str, Any]]:
    """``count`` renders over the 40 days before NOW, as their rows; what was written."""
    workspace_id = workspace_id or _workspace(svc)
    made: list[dict[str, Any]] = []
    with svc.services.sessions() as db:
        for i in range(count):
            created = NOW - timedelta(seconds=rng.uniform(0, 40 * 86400))
            state = rng.choice(("succeeded", "succeeded", "succeeded", "failed", "cancelled", "queued"))
            finished = state in ("succeeded", "failed")
            queue = round(rng.uniform(0, 30), 3) if finished else None
            run = round(rng.expovariate(1 / 20), 3) if finished else None
            tags = rng.sample(["spring", "summer", "winter"], rng.randint(0, 2))
            formats = rng.sample(["mp4", "webm", "gif"], rng.randint(1, 2))
            row = {
                "id": new_id("rnd"),
                "created_at": created,
                "state": state,
                "failure_code": rng.choice(CODES) if state == "failed" else None,
                "queue_seconds": queue,
                "run_seconds": run,
                "output_seconds": rng.choice((5.0, 15.0, 30.0)) if state == "succeeded" else None,
                "output_bytes": rng.randint(10_000, 5_000_000) if state == "succeeded" else None,
                "template_id": rng.choice(("tpl_a", "tpl_b", None)),
                "batch_id": rng.choice(("bat_1", None)),
                "locale": rng.choice(("en-US", "fr-FR", None)),
                "tags": tags,
                "formats": formats,
            }
            db.add(
                Render(
                    id=row["id"],
                    seq=i,
                    workspace_id=workspace_id,
                    edit={},
                    state=state,
                    created_at=created,
                    started_at=created + timedelta(seconds=queue) if queue is not None else None,
                    finished_at=created + timedelta(seconds=queue + run)
                    if queue is not None and run
                    else None,
                    failure_code=row["failure_code"],
                    queue_seconds=queue,
                    run_seconds=run,
                    output_seconds=row["output_seconds"],
                    output_bytes=row["output_bytes"],
                    template_id=row["template_id"],
                    batch_id=row["batch_id"],
                    locale=row["locale"],
                    tags=tags,
                )
            )
            db.flush()
            db.add_all(RenderLabel(render_id=row["id"], kind="tag", value=t) for t in tags)
            db.add_all(RenderLabel(render_id=row["id"], kind="format", value=f) for f in formats)
            made.append(row)
        db.commit()
    return made


def keys_of(row: dict[str, Any], group_by: str | None) -> list[Any]:
    if group_by is None:
        return [None]
    if group_by == "tag":
        return list(row["tags"])
    if group_by == "format":
        return list(row["formats"])
    if group_by == "day":
        return [row["created_at"].strftime("%Y-%m-%d")]
    return [row[{"template": "template_id", "batch": "batch_id", "locale": "locale"}[group_by]]]


def percentile(values: list[float], p: int) -> float | None:
    # numpy's default ("linear") is what PostgreSQL's percentile_cont computes.
    return round(float(np.percentile(values, p)), 3) if values else None


def expected(rows: list[dict[str, Any]], group_by: str | None) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        for key in keys_of(row, group_by):
            groups.setdefault(key, []).append(row)
    out = {}
    for key, members in groups.items():
        states = {s: sum(1 for r in members if r["state"] == s) for s in RENDER_STATES}
        finished = states["succeeded"] + states["failed"]
        codes: dict[str, int] = {}
        for r in members:
            if r["failure_code"]:
                codes[r["failure_code"]] = codes.get(r["failure_code"], 0) + 1
        runs = [r["run_seconds"] for r in members if r["run_seconds"] is not None]
        waits = [r["queue_seconds"] for r in members if r["queue_seconds"] is not None]
        out[key] = {
            "key": key,
            "renders": len(members),
            "states": states,
            "success_rate": round(states["succeeded"] / finished, 4) if finished else None,
            "errors": sorted(
                ({"code": c, "count": n, "rate": round(n / finished, 4)} for c, n in codes.items()),
                key=lambda e: (-e["count"], e["code"]),
            ),
            "render_seconds": {"p50": percentile(runs, 50), "p95": percentile(runs, 95)},
            "queue_seconds": {"p50": percentile(waits, 50), "p95": percentile(waits, 95)},
            "output_minutes": round(sum(r["output_seconds"] or 0 for r in members) / 60, 3),
            "output_bytes": sum(r["output_bytes"] or 0 for r in members),
        }
    return out


def close(got: dict[str, Any], want: dict[str, Any]) -> None:
    for name in ("render_seconds", "queue_seconds"):
        for p in ("p50", "p95"):
            a, b = got[name][p], want[name][p]
            assert (a is None) == (b is None) and (a is None or abs(a - b) < 0.002), (name, p, got, want)
    assert abs(got["output_minutes"] - want["output_minutes"]) < 0.002, (got, want)
    rest = ("key", "renders", "states", "success_rate", "errors", "output_bytes")
    assert {k: got[k] for k in rest} == {k: want[k] for k in rest}


def test_the_figures_of_every_grouping_are_those_of_the_rows(
    service: Service, subtests: pytest.Subtests
) -> None:
    # The same rows for every grouping: seeded once, each grouping checked as a subtest.
    rows = seed(service, 300, random.Random(16))
    # Another workspace's renders are never counted.
    other = service.other_workspace_key()
    seed(
        service,
        40,
        random.Random(17),
        workspace_id=str(service.get("/v1/workspace", token=other).json()["id"]),
    )
    start, end = NOW - timedelta(days=30), NOW
    inside = [row for row in rows if start <= row["created_at"] < end]
    assert 0 < len(inside) < len(rows)
    for group_by in (None, "tag", "template", "batch", "format", "locale", "day"):
        with subtests.test(group_by=group_by):
            params: dict[str, str] = {"from": start.isoformat(), "to": end.isoformat()}
            if group_by:
                params["group_by"] = group_by
            r = service.get("/v1/analytics/renders", params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["object"] == "render_analytics" and body["group_by"] == group_by
            assert body["from"] == "2026-11-06T12:00:00Z" and body["to"] == "2026-12-06T12:00:00Z"
            want = expected(inside, group_by)
            got = {g["key"]: g for g in body["groups"]}
            assert set(got) == set(want)
            for key, group in got.items():
                close(group, want[key])
            counts = [g["renders"] for g in body["groups"]]
            if group_by == "day":
                assert [g["key"] for g in body["groups"]] == sorted(got)
            else:
                assert counts == sorted(counts, reverse=True)


def test_days_of_any_range_are_those_of_the_rows(service: Service) -> None:
    """By day, only the range's days are visited: ranges on and off midnight, shorter than a
    day, and ending before or after the newest render give the days of the rows."""
    rows = seed(service, 150, random.Random(31))
    midnight = NOW.replace(hour=0)
    for start, end in (
        (midnight - timedelta(days=10), midnight - timedelta(days=3)),
        (NOW - timedelta(days=20, hours=-5), NOW - timedelta(days=19, hours=3)),
        (NOW - timedelta(days=12, minutes=7), NOW - timedelta(days=12)),
        (midnight - timedelta(days=39), midnight + timedelta(days=2)),
    ):
        params = {"from": start.isoformat(), "to": end.isoformat(), "group_by": "day"}
        r = service.get("/v1/analytics/renders", params=params)
        assert r.status_code == 200, r.text
        got = {g["key"]: g for g in r.json()["groups"]}
        want = expected([row for row in rows if start <= row["created_at"] < end], "day")
        assert set(got) == set(want), (start, end)
        for key, group in got.items():
            close(group, want[key])


def test_a_range_of_one_microsecond_holds_its_render(service: Service) -> None:
    """The percentiles read the range exactly as the totals do, to the microsecond: a range
    from a render's creation to a microsecond later holds it, with its timings."""
    rows = seed(service, 30, random.Random(37))
    row = next(r for r in rows if r["run_seconds"] is not None and r["created_at"].microsecond)
    start = row["created_at"]
    params = {"from": start.isoformat(), "to": (start + timedelta(microseconds=1)).isoformat()}
    groups = service.get("/v1/analytics/renders", params=params).json()["groups"]
    assert [g["renders"] for g in groups] == [1]
    assert groups[0]["render_seconds"] == {"p50": row["run_seconds"], "p95": row["run_seconds"]}
    assert groups[0]["queue_seconds"]["p50"] == row["queue_seconds"]


def test_sqlite_adds_up_groups_by_seeks_without_sorting_the_range(tmp_path: Path) -> None:
    """On SQLite every read of the totals' statement is a seek in an index (never a scan of
    ``render_facts``), each group's totals one stretch of ``ix_render_facts_groups``; the only
    sort is that of a group's failed renders by code."""
    import sqlalchemy as sa

    from reelforge.db.session import migrate
    from reelforge.services.analytics import _AGGREGATES

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    migrate(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        for bounded, statement in _AGGREGATES.items():
            compiled = statement.compile(dialect=conn.dialect)
            arguments = ["x"] * len(compiled.positiontup or ())
            plan = [
                row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(arguments))
            ]
            reads = [step for step in plan if "render_facts" in step or "later" in step]
            assert reads and all(step.startswith("SEARCH") for step in reads), (bounded, plan)
            totals = "ix_render_facts_groups (workspace_id=? AND dim=? AND key=? AND state=? AND created_at>?"
            assert sum(totals in step for step in reads) == 2 * (len(RENDER_STATES) + 1), plan
            assert sum("TEMP B-TREE" in step for step in plan) == 2, plan  # failed renders by code
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0024_swaps_the_range_index_for_the_groups_index(kind: str, tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command

    from reelforge.db.session import alembic_config, migrate
    from service import database, require_database

    def indexes(engine: sa.Engine) -> set[str]:
        with engine.connect() as conn:
            return {str(ix["name"]) for ix in sa.inspect(conn).get_indexes("render_facts")}

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        engine = sa.create_engine(url)
        found = indexes(engine)
        assert "ix_render_facts_groups" in found and "ix_render_facts_range" not in found
        command.downgrade(alembic_config(url), "0023")
        found = indexes(engine)
        assert "ix_render_facts_range" in found and "ix_render_facts_groups" not in found
        command.upgrade(alembic_config(url), "head")
        assert "ix_render_facts_groups" in indexes(engine)
        engine.dispose()


def test_percentiles_match_postgresql_percentile_cont(service: Service) -> None:
    """On PostgreSQL, the portable percentiles equal the database's own percentile_cont."""
    if service.services.engine.dialect.name != "postgresql":
        pytest.skip("percentile_cont is PostgreSQL's")
    seed(service, 200, random.Random(5))
    params = {"from": (NOW - timedelta(days=60)).isoformat(), "to": NOW.isoformat(), "group_by": "template"}
    groups = service.get("/v1/analytics/renders", params=params).json()["groups"]
    with service.services.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT template_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY run_seconds), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY queue_seconds) FROM renders "
                "WHERE workspace_id = :ws GROUP BY template_id"
            ),
            {"ws": _workspace(service)},
        ).all()
    reference = {t: (p50, p95) for t, p50, p95 in rows}
    for group in groups:
        p50, p95 = reference[group["key"]]
        assert abs(group["render_seconds"]["p50"] - p50) < 0.002
        assert abs(group["queue_seconds"]["p95"] - p95) < 0.002


def test_bad_parameters_are_problems_naming_them(service: Service) -> None:
    r = service.get("/v1/analytics/renders", params={"group_by": "colour"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["parameter"] == "group_by"
    r = service.get(
        "/v1/analytics/renders", params={"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "from", r.text
    r = service.get(
        "/v1/analytics/renders", params={"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "to", r.text
    r = service.get("/v1/analytics/renders", params={"to": "yesterday"})
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "to", r.text
    # Dates at the edges of the calendar: a problem naming the parameter, never a 500.
    for params, name in (
        ({"to": "0001-01-02T00:00:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00+01:00", "to": "0001-01-02T00:00:00Z"}, "from"),
        ({"to": "9999-12-31T23:59:59-05:00"}, "to"),
    ):
        r = service.get("/v1/analytics/renders", params=params)
        assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == name, (params, r.text)
    r = service.get("/v1/analytics/renders", token=service.new_key("assets:read"))
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    # Nothing in the range: no groups.
    empty = service.get("/v1/analytics/renders", params={"group_by": "tag"})
    assert empty.status_code == 200 and empty.json()["groups"] == []


COLOUR = {"timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "navy"}, "length": 1}]}]}}


def test_renders_made_through_the_api_are_counted_by_tag_and_format(rendering: Service) -> None:
    made = rendering.post(
        "/v1/renders",
        json={
            "edit": {
                **COLOUR,
                "outputs": [
                    {"resolution": "360p", "quality": "draft", "fps": 25, "format": "mp4"},
                    {"resolution": "360p", "quality": "draft", "fps": 25, "format": "webm"},
                ],
            },
            "tags": ["spring-sale", "emea"],
        },
    )
    assert made.status_code == 202, made.text
    assert made.json()["tags"] == ["spring-sale", "emea"]
    broken = rendering.post(
        "/v1/renders",
        json={
            "edit": {**COLOUR, "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}]},
            "tags": ["emea"],
        },
    )
    assert broken.status_code == 202, broken.text
    done = wait_render(rendering, made.json()["id"])
    assert done["state"] == "succeeded" and done["tags"] == ["spring-sale", "emea"], done
    assert wait_render(rendering, broken.json()["id"])["state"] == "succeeded"

    by_tag = {g["key"]: g for g in rendering.get("/v1/analytics/renders?group_by=tag").json()["groups"]}
    assert set(by_tag) == {"spring-sale", "emea"}
    assert by_tag["emea"]["renders"] == 2 and by_tag["emea"]["states"]["succeeded"] == 2
    spring = by_tag["spring-sale"]
    assert spring["renders"] == 1 and spring["success_rate"] == 1.0 and spring["errors"] == []
    sizes = sum(o["size_bytes"] for o in done["outputs"])
    assert spring["output_bytes"] == sizes > 0
    assert spring["output_minutes"] == pytest.approx(2 / 60, abs=0.005)  # two outputs of a second
    assert spring["render_seconds"]["p50"] == pytest.approx(done["render_seconds"], abs=0.01)
    assert spring["queue_seconds"]["p50"] is not None and spring["queue_seconds"]["p50"] >= 0

    by_format = {
        g["key"]: g["renders"]
        for g in rendering.get("/v1/analytics/renders?group_by=format").json()["groups"]
    }
    assert by_format == {"mp4": 2, "webm": 1}
    tags = rendering.post("/v1/renders", json={"edit": COLOUR, "tags": ["a", "a"]})
    assert tags.status_code == 422 and tags.json()["errors"][0]["pointer"].startswith("#/tags"), tags.text


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0015_fills_the_new_columns_of_existing_renders(kind: str, tmp_path: Path) -> None:
    """Renders made before the analytics columns existed get what their rows tell: the failure
    code, seconds queued and running, their batch and its tags, their outputs' formats."""
    import sqlalchemy as sa
    from alembic import command

    from reelforge.db.session import alembic_config, migrate
    from service import database, require_database

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        command.downgrade(alembic_config(url), "0014")
        engine = sa.create_engine(url)
        meta = sa.MetaData()
        tables = {
            name: sa.Table(name, meta, autoload_with=engine)
            for name in ("workspaces", "renders", "batches", "batch_items")
        }
        created = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        render = {
            "seq": 1,
            "workspace_id": "ws_a",
            "progress": 100.0,
            "attempts": 1,
            "cancel_requested": False,
            "outputs": [],
            "log_tail": "",
            "created_at": created,
            "started_at": created + timedelta(seconds=4),
            "finished_at": created + timedelta(seconds=14.5),
        }
        with engine.begin() as conn:
            conn.execute(sa.insert(tables["workspaces"]), {"id": "ws_a", "name": "a", "created_at": created})
            conn.execute(
                sa.insert(tables["renders"]),
                [
                    {
                        **render,
                        "id": "rnd_failed",
                        "state": "failed",
                        "edit": {"outputs": [{"format": "webm"}, {"format": "gif"}]},
                        "meta": {},
                        "error": {"code": "ffmpeg_failed", "message": "x"},
                    },
                    {
                        **render,
                        "id": "rnd_batch",
                        "state": "succeeded",
                        "edit": {"timeline": {}},
                        "meta": {"batch": {"id": "bat_a", "items": [], "tags": ["spring", "emea"]}},
                        "error": None,
                    },
                ],
            )
            conn.execute(
                sa.insert(tables["batches"]),
                {
                    "id": "bat_a",
                    "workspace_id": "ws_a",
                    "template_id": "tpl_a",
                    "template_version": 1,
                    "locales": [],
                    "outputs": [],
                    "tags": ["spring", "emea"],
                    "meta": {},
                    "all_or_nothing": False,
                    "rows_source": "json",
                    "rows_total": 1,
                    "rejected": [],
                    "cancel_requested": False,
                    "created_at": created,
                },
            )
            conn.execute(
                sa.insert(tables["batch_items"]),
                {"batch_id": "bat_a", "position": 0, "row": 0, "locale": None, "render_id": "rnd_batch"},
            )
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            rows = {
                r.id: r
                for r in conn.execute(
                    sa.text(
                        "SELECT id, failure_code, queue_seconds, run_seconds, batch_id, tags FROM renders"
                    )
                )
            }
            labels = set(conn.execute(sa.text("SELECT render_id, kind, value FROM render_labels")).all())
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("renders")}
        failed, batched = rows["rnd_failed"], rows["rnd_batch"]
        assert failed.failure_code == "ffmpeg_failed" and batched.failure_code is None
        assert failed.queue_seconds == pytest.approx(4.0, abs=0.01)
        assert failed.run_seconds == pytest.approx(10.5, abs=0.01)
        assert batched.batch_id == "bat_a" and failed.batch_id is None
        tags = batched.tags if isinstance(batched.tags, list) else json.loads(batched.tags)
        assert tags == ["emea", "spring"]
        assert labels == {
            ("rnd_failed", "format", "gif"),
            ("rnd_failed", "format", "webm"),
            ("rnd_batch", "format", "mp4"),  # the edit language's default output
            ("rnd_batch", "tag", "emea"),
            ("rnd_batch", "tag", "spring"),
        }
        assert "ix_renders_analytics" in indexes
        # And down again, keeping the renders.
        command.downgrade(alembic_config(url), "0014")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM renders")).scalar_one() == 2
            assert "failure_code" not in {c["name"] for c in sa.inspect(conn).get_columns("renders")}
        engine.dispose()


# -------------------------------------------------------------- render_facts (migration 0019)

_FIXED = {"all": None, "template": "template_id", "batch": "batch_id", "locale": "locale"}
_REPEATED = (
    "workspace_id",
    "created_at",
    "state",
    "failure_code",
    "run_seconds",
    "queue_seconds",
    "output_seconds",
    "output_bytes",
)


def facts_of_rows(svc: Service) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What ``render_facts`` must hold, derived here from ``renders`` and ``render_labels``,
    and what it holds: both sorted."""
    from sqlalchemy import select

    from reelforge.db.models import RenderFact

    want: list[tuple[Any, ...]] = []
    with svc.services.sessions() as db:
        renders = {r.id: r for r in db.scalars(select(Render))}
        for r in renders.values():
            repeated = tuple(getattr(r, c) for c in _REPEATED)
            for dim, column in _FIXED.items():
                want.append((r.id, dim, getattr(r, column) if column else None, *repeated))
            want.append((r.id, "day", r.created_at.strftime("%Y-%m-%d"), *repeated))
        for label in db.scalars(select(RenderLabel)):
            r = renders[label.render_id]
            want.append((r.id, label.kind, label.value, *(getattr(r, c) for c in _REPEATED)))
        got = [
            (f.render_id, f.dim, f.key, *(getattr(f, c) for c in _REPEATED))
            for f in db.scalars(select(RenderFact))
        ]
    return sorted(want, key=repr), sorted(got, key=repr)


def assert_exact(svc: Service) -> None:
    """The facts are those of the rows, and every grouping's figures those computed here from them."""
    want, got = facts_of_rows(svc)
    assert got == want
    with svc.services.sessions() as db:
        rows = [
            {
                "created_at": r.created_at,
                "state": r.state,
                "failure_code": r.failure_code,
                "queue_seconds": r.queue_seconds,
                "run_seconds": r.run_seconds,
                "output_seconds": r.output_seconds,
                "output_bytes": r.output_bytes,
                "template_id": r.template_id,
                "batch_id": r.batch_id,
                "locale": r.locale,
                "tags": sorted(
                    label.value for label in db.query(RenderLabel).filter_by(render_id=r.id, kind="tag")
                ),
                "formats": sorted(
                    label.value for label in db.query(RenderLabel).filter_by(render_id=r.id, kind="format")
                ),
            }
            for r in db.query(Render).filter_by(workspace_id=_workspace(svc))
        ]
    start, end = NOW - timedelta(days=60), NOW + timedelta(days=1)
    for group_by in (None, "tag", "template", "batch", "format", "locale", "day"):
        params = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            **({"group_by": group_by} if group_by else {}),
        }
        r = svc.get("/v1/analytics/renders", params=params)
        assert r.status_code == 200, r.text
        got_groups = {g["key"]: g for g in r.json()["groups"]}
        want_groups = expected(rows, group_by)
        assert set(got_groups) == set(want_groups), group_by
        for key, group in got_groups.items():
            close(group, want_groups[key])


def test_the_facts_stay_exact_across_cancels_retries_restarts_and_deletes(service: Service) -> None:
    """Every write path that moves a render keeps ``render_facts`` equal to the rows: the API's
    cancel, a restart giving a running render back to the queue (a retry) and failing it once its
    attempts are spent, the render job's end, labels added and removed, a render deleted."""
    from sqlalchemy import delete, update

    from reelforge.jobs.queue import Claim
    from reelforge.jobs.render_job import release

    rows = seed(service, 40, random.Random(23))
    assert_exact(service)
    services = service.services
    queued = [r["id"] for r in rows if r["state"] == "queued"]
    finished = [r["id"] for r in rows if r["state"] == "succeeded"]
    assert len(queued) >= 2 and len(finished) >= 2

    # The API's cancel of a queued render.
    assert service.post(f"/v1/renders/{queued[0]}/cancel").status_code == 200
    assert_exact(service)

    # A worker claims a render, then the service restarts: the render goes back to the queue
    # (attempt 1 of 3), runs again, and when its last attempt is interrupted too it fails.
    render_id = queued[1]
    for attempt, state in ((1, "queued"), (3, "failed")):
        with services.sessions() as db:
            db.execute(
                update(Render)
                .where(Render.id == render_id)
                .values(state="rendering", worker="w1", attempts=attempt, started_at=NOW)
            )
            db.commit()
        assert_exact(service)
        assert release(services, Claim(render_id, "w1", attempt), now=NOW) == state
        assert_exact(service)

    # A retried render that ends after all: new timings and totals replace the old ones.
    with services.sessions() as db:
        db.execute(
            update(Render)
            .where(Render.id == finished[0])
            .values(run_seconds=1.25, queue_seconds=0.5, output_seconds=7.0, output_bytes=123, locale="de-DE")
        )
        db.commit()
    assert_exact(service)

    # Labels removed and added; a render deleted (its labels and facts go with it).
    with services.sessions() as db:
        db.execute(
            delete(RenderLabel).where(RenderLabel.render_id == finished[1], RenderLabel.kind == "format")
        )
        db.add(RenderLabel(render_id=finished[1], kind="tag", value="autumn"))
        db.execute(delete(Render).where(Render.id == finished[0]))
        db.commit()
    assert_exact(service)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0017_copies_existing_renders_into_the_facts(kind: str, tmp_path: Path) -> None:
    """Renders and labels stored before ``render_facts`` existed are in it after the upgrade,
    and the triggers keep it up to date from then on; the downgrade removes both."""
    import sqlalchemy as sa
    from alembic import command

    from reelforge.db.session import alembic_config, migrate
    from service import database, require_database

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        command.downgrade(alembic_config(url), "0018")
        engine = sa.create_engine(url)
        created = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
        render = {
            "seq": 1,
            "workspace_id": "ws_a",
            "edit": {},
            "meta": {},
            "progress": 100.0,
            "attempts": 1,
            "cancel_requested": False,
            "outputs": [],
            "log_tail": "",
            "tags": [],
            "created_at": created,
            "locale": "fr-FR",
            "template_id": "tpl_a",
            "failure_code": None,
            "run_seconds": None,
            "output_bytes": None,
        }
        meta = sa.MetaData()
        renders = sa.Table("renders", meta, autoload_with=engine)
        workspaces = sa.Table("workspaces", meta, autoload_with=engine)
        labels = sa.Table("render_labels", meta, autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(workspaces), {"id": "ws_a", "name": "a", "created_at": created})
            conn.execute(
                sa.insert(renders),
                [
                    {**render, "id": "rnd_ok", "state": "succeeded", "run_seconds": 9.5, "output_bytes": 10},
                    {**render, "id": "rnd_bad", "state": "failed", "failure_code": "timeout", "locale": None},
                ],
            )
            conn.execute(
                sa.insert(labels),
                [
                    {"render_id": "rnd_ok", "kind": "tag", "value": "spring"},
                    {"render_id": "rnd_ok", "kind": "format", "value": "mp4"},
                    {"render_id": "rnd_bad", "kind": "format", "value": "webm"},
                ],
            )
        command.upgrade(alembic_config(url), "head")
        query = sa.text(
            "SELECT render_id, dim, key, state, failure_code, run_seconds, output_bytes FROM render_facts"
        )
        with engine.connect() as conn:
            facts = set(conn.execute(query).all())
        assert facts == {
            *{
                ("rnd_ok", dim, key, "succeeded", None, 9.5, 10)
                for dim, key in (
                    ("all", None),
                    ("template", "tpl_a"),
                    ("batch", None),
                    ("locale", "fr-FR"),
                    ("day", "2026-12-01"),  # the UTC day
                    ("tag", "spring"),
                    ("format", "mp4"),
                )
            },
            *{
                ("rnd_bad", dim, key, "failed", "timeout", None, None)
                for dim, key in (
                    ("all", None),
                    ("template", "tpl_a"),
                    ("batch", None),
                    ("locale", None),
                    ("day", "2026-12-01"),
                    ("format", "webm"),
                )
            },
        }
        # The triggers run from now on.
        with engine.begin() as conn:
            conn.execute(sa.update(renders).where(renders.c.id == "rnd_bad").values(locale="de-DE"))
            conn.execute(sa.delete(labels).where(labels.c.render_id == "rnd_ok", labels.c.kind == "tag"))
        with engine.connect() as conn:
            facts = set(conn.execute(query).all())
        assert ("rnd_bad", "locale", "de-DE", "failed", "timeout", None, None) in facts
        assert not any(f[0] == "rnd_ok" and f[1] == "tag" for f in facts)
        command.downgrade(alembic_config(url), "0018")
        with engine.connect() as conn:
            assert "render_facts" not in sa.inspect(conn).get_table_names()
            conn.execute(sa.update(renders).values(state="cancelled"))  # no trigger left behind
            assert conn.execute(sa.text("SELECT count(*) FROM renders")).scalar_one() == 2
        engine.dispose()
