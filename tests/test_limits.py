"""Limits on the work one request asks for, and the daily render budget, per workspace.

A 10-hour timeline or 10,000 clips are refused when the edit is validated (a render, a project,
a template render, a batch, the CLI) with 422 ``limit-exceeded`` naming the limit, its value,
its maximum and where; the refusal reads the edit and nothing more. The operator raises a
workspace's limits; a workspace whose render seconds of the day are spent gets 429.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from reelforge.edit.errors import EditError
from reelforge.edit.validate import parse_edit
from reelforge.render.limits import Limits, edit_limit_problems
from reelforge.services import keys
from service import Service, wait_render

TEN_HOURS = 10 * 3600
PROBLEM = "application/problem+json"


def colour_edit(length: float = 0.4, clips: int = 1, **output: Any) -> dict[str, Any]:
    return {
        "timeline": {
            "tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": length}] * clips}]
        },
        "outputs": [{"width": 64, "height": 36, "fps": 10, "quality": "draft", "audio": False, **output}],
    }


def many_clips(n: int) -> dict[str, Any]:
    doc = colour_edit(0.1)
    doc["timeline"]["tracks"][0]["clips"] = [
        {"asset": {"type": "color", "color": "red"}, "length": 0.1} for _ in range(n)
    ]
    return doc


def operator_key(svc: Service) -> str:
    from reelforge.services.workspaces import workspace_or_first

    with svc.services.sessions() as db:
        first = workspace_or_first(db, None)
        _, token = keys.create_key(db, svc.services, first.id, "operator", ["operator"])
    return token


def limit_errors(r: Any) -> dict[str, dict[str, Any]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == "limit-exceeded", body
    return {e["limit"]: e for e in body["errors"]}


def calls_during(action: Callable[[], Any]) -> Counter[str]:
    """How many times each function ran (by qualified name) while ``action`` ran: a measure of
    the work done that does not depend on the machine's speed."""
    seen: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            seen[f"{frame.f_globals.get('__name__')}.{frame.f_code.co_name}"] += 1

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return seen


# --------------------------------------------------------------------------- the pure check


def test_a_ten_hour_timeline_and_ten_thousand_clips_name_their_limit() -> None:
    limits = Limits()
    [long] = edit_limit_problems(parse_edit(colour_edit(TEN_HOURS)), limits)
    assert (long.limit, long.value, long.maximum, long.pointer) == (
        "timeline_seconds",
        TEN_HOURS,
        3 * 3600,
        "/timeline",
    )
    edit = parse_edit(many_clips(10_000))
    [clips] = edit_limit_problems(edit, limits)
    assert (clips.limit, clips.value, clips.maximum, clips.pointer) == (
        "clips",
        10_000,
        1000,
        "/timeline/tracks",
    )
    # Counting refuses it: the timeline is not even resolved, nothing is compiled.
    seen = calls_during(lambda: edit_limit_problems(edit, limits))
    assert not [name for name in seen if "resolve_timeline" in name or "compile" in name or "probe" in name]
    assert sum(seen.values()) < 200, seen.most_common(5)
    # 250 hours is the same few frames of arithmetic as ten seconds.
    small = sum(calls_during(lambda: edit_limit_problems(parse_edit(colour_edit(10)), limits)).values())
    huge = sum(
        calls_during(lambda: edit_limit_problems(parse_edit(colour_edit(250 * 3600)), limits)).values()
    )
    assert huge < small * 2
    # A thousand hours is not even a time the edit language takes (at most 10^6 seconds).
    with pytest.raises(EditError) as refused:
        parse_edit(colour_edit(1000 * 3600))
    assert [p.pointer for p in refused.value.problems] == ["/timeline/tracks/0/clips/0/length"]


def test_outputs_add_up_in_seconds_and_in_pixels_times_frames() -> None:
    two_hours_4k = colour_edit(2 * 3600, width=3840, height=2160, fps=30)
    two_hours_4k["outputs"] *= 2
    found = {p.limit: p for p in edit_limit_problems(parse_edit(two_hours_4k), Limits())}
    assert set(found) == {"output_pixel_frames"}
    assert found["output_pixel_frames"].value == 2 * 3840 * 2160 * 30 * 7200
    assert found["output_pixel_frames"].pointer == "/outputs"
    spread = colour_edit(2 * 3600)
    spread["outputs"] *= 7  # 14 hours of output from a 2-hour timeline
    assert [p.limit for p in edit_limit_problems(parse_edit(spread), Limits())] == ["output_seconds"]
    assert [p.limit for p in edit_limit_problems(parse_edit(spread), Limits(outputs=5))] == ["outputs"]
    # A range cuts what an output costs.
    ranged = colour_edit(2 * 3600, range={"start": 0, "length": 60})
    ranged["outputs"] *= 7
    assert edit_limit_problems(parse_edit(ranged), Limits()) == []


# --------------------------------------------------------------------------- the service


def test_renders_projects_and_plans_refuse_a_huge_edit_naming_the_limit(service: Service) -> None:
    svc = service
    r = svc.post("/v1/renders", json={"edit": colour_edit(TEN_HOURS)})
    found = limit_errors(r)
    assert found["timeline_seconds"] == {
        "pointer": "#/edit/timeline",
        "code": "limit_exceeded",
        "limit": "timeline_seconds",
        "value": TEN_HOURS,
        "maximum": 10800,
        "detail": "the timeline's duration (seconds) is 36000; this workspace allows at most 10800",
    }
    assert "timeline_seconds" in r.json()["detail"]
    found = limit_errors(svc.post("/v1/renders", json={"edit": many_clips(10_000)}))
    assert found["clips"]["pointer"] == "#/edit/timeline/tracks" and found["clips"]["value"] == 10_000
    limit_errors(svc.post("/v1/renders", params={"dry_run": "true"}, json={"edit": many_clips(10_000)}))
    assert svc.get("/v1/renders").json()["data"] == []

    found = limit_errors(svc.post("/v1/projects", json={"name": "long", "edit": colour_edit(TEN_HOURS)}))
    assert found["timeline_seconds"]["pointer"] == "#/edit/timeline"
    assert svc.get("/v1/projects").json()["data"] == []
    # An edit within the limits is unchanged business.
    assert svc.post("/v1/projects", json={"name": "short", "edit": colour_edit(3600)}).status_code == 201


def test_a_template_render_and_a_batch_refuse_a_template_filled_beyond_the_limits(service: Service) -> None:
    svc = service
    template = {
        "name": "long",
        "edit": {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {"asset": {"type": "text", "text": "{{title}}"}, "length": "{{seconds}}"},
                        ]
                    }
                ]
            },
            "outputs": [{"width": 64, "height": 36, "fps": 10, "quality": "draft", "audio": False}],
        },
        "variables": [
            {"name": "title", "type": "text", "required": True},
            {"name": "seconds", "type": "duration", "default": 1, "validation": {"min": 0.2, "max": 100000}},
        ],
    }
    r = svc.post("/v1/templates", json=template)
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    r = svc.post(f"/v1/templates/{tid}/renders", json={"values": {"title": "hi", "seconds": TEN_HOURS}})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "limit-exceeded"
    assert {e["limit"] for e in r.json()["errors"]} == {"timeline_seconds"}
    r = svc.post(
        "/v1/batches",
        json={"template_id": tid, "rows": [{"title": "hi", "seconds": TEN_HOURS}]},
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["code"] == "limit_exceeded" and error["pointer"] == "#/rows/0"
    assert (error["limit"], error["value"], error["maximum"]) == ("timeline_seconds", TEN_HOURS, 10800)
    assert error["template_pointer"] == "/edit/timeline"
    assert svc.get("/v1/renders").json()["data"] == []


def test_the_operator_raises_a_workspace_limit_and_the_bigger_edit_goes_through(service: Service) -> None:
    svc = service
    operator = operator_key(svc)
    ws = svc.get("/v1/workspace").json()
    assert ws["limits"]["timeline_seconds"] == 10800 and ws["limits"]["clips"] == 1000
    assert ws["usage"]["render_seconds_today"] == 0
    url = f"/v1/workspaces/{ws['id']}/limits"

    # A workspace admin reads its limits but cannot change them.
    assert svc.get(url).json()["limits"] == ws["limits"]
    r = svc.client.patch(url, headers=svc.headers(), json={"timeline_seconds": 40000})
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope", r.text
    r = svc.client.patch(
        url, headers=svc.headers(operator), json={"timeline_seconds": -1, "clips": 2.5, "nope": 1}
    )
    assert r.status_code == 422, r.text
    assert {e["pointer"] for e in r.json()["errors"]} == {
        "#/timeline_seconds",
        "#/clips",
        "#/nope",
    }

    r = svc.client.patch(url, headers=svc.headers(operator), json={"timeline_seconds": 40000, "clips": 20000})
    assert r.status_code == 200, r.text
    assert r.json()["overrides"] == {"timeline_seconds": 40000, "clips": 20000}
    assert r.json()["limits"]["timeline_seconds"] == 40000
    assert svc.post("/v1/projects", json={"name": "long", "edit": colour_edit(TEN_HOURS)}).status_code == 201
    assert svc.post("/v1/projects", json={"name": "many", "edit": many_clips(10_000)}).status_code == 201
    # Another workspace keeps the defaults.
    other = svc.other_workspace_key()
    limit_errors(svc.post("/v1/projects", other, json={"name": "long", "edit": colour_edit(TEN_HOURS)}))

    r = svc.client.patch(url, headers=svc.headers(operator), json={"timeline_seconds": None})
    assert r.json()["overrides"] == {"clips": 20000} and r.json()["limits"]["timeline_seconds"] == 10800
    limit_errors(svc.post("/v1/projects", json={"name": "long", "edit": colour_edit(TEN_HOURS)}))
    actions = [e["action"] for e in svc.get("/v1/audit", params={"limit": 100}).json()["data"]]
    assert actions.count("workspace.limits_changed") == 2


def test_the_daily_budget_refuses_new_renders_once_real_renders_spent_it(rendering: Service) -> None:
    svc = rendering
    operator = operator_key(svc)
    ws = svc.get("/v1/workspace").json()
    url = f"/v1/workspaces/{ws['id']}/limits"
    r = svc.client.patch(url, headers=svc.headers(operator), json={"render_seconds_per_day": 0.001})
    assert r.status_code == 200, r.text

    r = svc.post("/v1/renders", json={"edit": colour_edit(0.4)})
    assert r.status_code == 202, r.text
    assert wait_render(svc, r.json()["id"])["state"] == "succeeded"
    usage = svc.get("/v1/workspace").json()["usage"]
    assert usage["render_seconds_today"] > 0 and usage["render_seconds_left"] == 0
    assert usage["render_seconds_per_day"] == 0.001

    r = svc.post("/v1/renders", json={"edit": colour_edit(0.4)})
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["code"] == "render-budget-exhausted" and body["limit"] == "render_seconds_per_day"
    assert body["value"] == usage["render_seconds_today"] and body["maximum"] == 0.001
    assert 0 < int(r.headers["retry-after"]) <= 86400 + 1
    assert len(svc.get("/v1/renders").json()["data"]) == 1
    # Projects are no renders: still saved.
    assert svc.post("/v1/projects", json={"name": "p", "edit": colour_edit(0.4)}).status_code == 201

    # The operator lifts the budget (0: none): renders are accepted again.
    r = svc.client.patch(url, headers=svc.headers(operator), json={"render_seconds_per_day": 0})
    assert r.json()["usage"]["render_seconds_per_day"] is None
    r = svc.post("/v1/renders", json={"edit": colour_edit(0.4)})
    assert r.status_code == 202, r.text
    wait_render(svc, r.json()["id"])


# --------------------------------------------------------------------------- the CLI


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_the_cli_refuses_a_huge_edit_with_the_default_limits(tmp_path: Path) -> None:
    (tmp_path / "long.json").write_text(json.dumps(colour_edit(TEN_HOURS)))
    (tmp_path / "many.json").write_text(json.dumps(many_clips(10_000)))
    started = time.process_time()
    for command in ("validate", "render", "plan"):
        r = run(command, "long.json", cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        assert "/timeline: the timeline's duration (seconds) is 36000" in r.stderr
        assert "limit `timeline_seconds`" in r.stderr and "Traceback" not in r.stderr
    r = run("validate", "many.json", cwd=tmp_path)
    assert r.returncode == 2 and "limit `clips`" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
    del started
    # The defaults come from the settings.
    r = run("validate", "long.json", cwd=tmp_path, env={"REELFORGE_LIMIT_TIMELINE_SECONDS": "40000"})
    assert r.returncode == 0, r.stderr


def test_the_cli_reads_the_limits_from_a_dotenv_file_when_no_variable_is_set(tmp_path: Path) -> None:
    # With nothing configured the CLI checks against the class defaults without loading the
    # settings; a `.env` in the working directory is configuration too.
    import os

    (tmp_path / "long.json").write_text(json.dumps(colour_edit(TEN_HOURS)))
    bare = {k: v for k, v in os.environ.items() if not k.upper().startswith("REELFORGE_")}
    r = subprocess.run(
        [sys.executable, "-m", "reelforge", "validate", "long.json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, env=bare,
    )  # fmt: skip
    assert r.returncode == 2 and "limit `timeline_seconds`" in r.stderr, r.stderr
    (tmp_path / ".env").write_text("reelforge_limit_timeline_seconds=40000\n")
    r = subprocess.run(
        [sys.executable, "-m", "reelforge", "validate", "long.json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, env=bare,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_the_defaults_used_when_nothing_is_configured_are_the_settings_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from reelforge.configured import ENV_FILE, ENV_PREFIX, NOT_SETTINGS, configured_settings, is_configured
    from reelforge.render.limits import configured_limits, default_limits
    from reelforge.render.segments import SegmentPolicy
    from reelforge.settings import Settings

    for name in [n for n in os.environ if n.upper().startswith("REELFORGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert not is_configured() and configured_settings() is None
    settings = Settings()
    assert (
        configured_limits()
        == Limits()
        == Limits.of(default_limits(settings))
        == Limits.of(default_limits(None))
    )
    assert SegmentPolicy.configured() == SegmentPolicy() == SegmentPolicy.of(settings)
    # What counts as configured is what the settings read.
    assert (Settings.model_config["env_prefix"], Settings.model_config["env_file"]) == (ENV_PREFIX, ENV_FILE)
    assert not Settings.model_config["case_sensitive"]
    # Variables other parts read (the FFmpeg binary, the client) are no settings.
    assert not {n.removeprefix(ENV_PREFIX).lower() for n in NOT_SETTINGS} & set(Settings.model_fields)
    monkeypatch.setenv("REELFORGE_FFMPEG", "ffmpeg")
    assert not is_configured()
    monkeypatch.setenv("reelforge_limit_clips", "7")
    assert is_configured() and configured_limits().clips == 7
    monkeypatch.delenv("reelforge_limit_clips")
    (tmp_path / ENV_FILE).write_text("REELFORGE_RENDER_SEGMENT_INPUTS=3\n")
    assert is_configured() and SegmentPolicy.configured().min_inputs == 3


@pytest.mark.parametrize("value", ["5", "default"])
def test_the_cli_sets_a_workspace_limit(tmp_path: Path, value: str) -> None:
    env = {"REELFORGE_DATA_DIR": str(tmp_path / "data")}
    r = run("workspaces", "create", "acme", "--no-key", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    ws = r.stdout.strip()
    r = run("workspaces", "limits", ws, "--set", f"clips={value}", "--json", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["limits"]["clips"] == (5 if value == "5" else 1000)
    r = run("workspaces", "limits", ws, "--set", "clips=-3", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "#/clips" in r.stderr, r.stderr


def test_a_queued_render_beyond_lowered_limits_fails_before_ffmpeg_runs(service: Service) -> None:
    from reelforge.jobs.worker import RenderWorker

    svc = service
    operator = operator_key(svc)
    ws = svc.get("/v1/workspace").json()
    r = svc.post("/v1/renders", json={"edit": colour_edit(2)})
    assert r.status_code == 202, r.text
    # Lowered while the render waits (no worker runs yet): the worker checks its plan again.
    url = f"/v1/workspaces/{ws['id']}/limits"
    assert (
        svc.client.patch(url, headers=svc.headers(operator), json={"timeline_seconds": 1}).status_code == 200
    )
    worker = RenderWorker(svc.services, concurrency=1, poll_interval=0.05)
    worker.start()
    try:
        done = wait_render(svc, r.json()["id"])
    finally:
        worker.stop()
    assert done["state"] == "failed", done
    assert done["error"]["pointer"] == "/timeline" and "limit `timeline_seconds`" in done["error"]["message"]
    assert done["outputs"] == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0012_goes_down_and_up_keeping_the_workspaces(kind: str, tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command

    from reelforge.db.session import alembic_config, migrate
    from service import database, require_database

    require_database(kind)
    with database(kind, tmp_path) as url:
        migrate(url)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_a', 'a', :now)"),
                {"now": "2026-12-06 00:00:00"},
            )
            assert conn.execute(sa.text("SELECT limits FROM workspaces")).scalar_one() in ("{}", {})
            conn.execute(
                sa.text(
                    "INSERT INTO projects (id, workspace_id, name, revision, created_at, updated_at) "
                    "VALUES ('prj_a', 'ws_a', 'p', 1, :now, :now)"
                ),
                {"now": "2026-12-06 00:00:00"},
            )
        command.downgrade(alembic_config(url), "0011")
        with engine.connect() as conn:
            assert "limits" not in {c["name"] for c in sa.inspect(conn).get_columns("workspaces")}
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM workspaces")).scalar_one() == "a"
            # Rows that belong to the workspace survive the table's rebuild (SQLite).
            assert conn.execute(sa.text("SELECT id FROM projects")).scalar_one() == "prj_a"
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("renders")}
            assert "ix_renders_workspace_finished" in indexes
        engine.dispose()
