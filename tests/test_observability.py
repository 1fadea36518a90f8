"""Logs, FFmpeg's log of a render, and traces, as an operator sees them.

* ``reelforge serve`` outside a terminal writes JSON lines, and every line of a render's request
  and of the render itself carries the request id, the workspace, the render id and the batch.
* ``GET /v1/renders/{id}/log`` gives what FFmpeg wrote, with none of the server's paths.
* With the ``tracing`` extra, one render through the API is one trace: the request, the database
  statements, the queue hop to the worker, compiling and the FFmpeg run, linked as parents.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import ServeProcess, Service, running_service, wait_render, with_previews

COLOUR_EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "teal"}, "length": 1}]}]},
    "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
}


def _records(lines: list[str]) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_serve_writes_json_lines_carrying_the_ids_of_the_request_and_the_render(tmp_path: Path) -> None:
    env = {**os.environ, "REELFORGE_DATA_DIR": str(tmp_path / "data"), "REELFORGE_WORKERS": "1"}
    env.pop("REELFORGE_LOG_FORMAT", None)  # the default: JSON lines, as stdout is a pipe
    with ServeProcess(tmp_path, env, "--port", "0") as server:
        base = server.wait_listening()
        token = server.wait_for(r"\b(rf_live_\S+)")[1]
        headers = {"Authorization": f"Bearer {token}"}
        workspace = httpx.get(f"{base}/v1/workspace", headers=headers, timeout=30).json()["id"]
        first = len(server.lines)
        created = httpx.post(
            f"{base}/v1/renders", json={"edit": COLOUR_EDIT, "tags": ["spring"]}, headers=headers, timeout=60
        )
        assert created.status_code == 202, created.text
        request_id, render_id = created.headers["x-request-id"], created.json()["id"]
        deadline = time.monotonic() + 180
        while httpx.get(f"{base}/v1/renders/{render_id}", headers=headers, timeout=30).json()[
            "state"
        ] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, "the render did not end"
            time.sleep(0.1)
        server.wait_for(r'"render ended', start=first)
        lines = server.lines[first:]  # before stopping: the shutdown's lines are no request's
        server.stop()
    records = _records(lines)
    # Outside a terminal every log line is a JSON object (the first-start banner comes before).
    assert all(line.startswith("{") for line in lines if line.strip()), lines
    requests = [r for r in records if r["logger"] == "reelforge.access"]
    assert requests and all(
        r["request_id"].startswith("req_") and r["workspace_id"] == workspace for r in requests
    )
    assert any(r["request_id"] == request_id and r["method"] == "POST" for r in requests)
    rendering = [r for r in records if r["logger"] != "reelforge.access"]
    assert any(r["event"].startswith("render started") for r in rendering), rendering
    assert any(r["event"].startswith("render ended: succeeded") for r in rendering), rendering
    for record in rendering:
        assert record["render_id"] == render_id, record
        assert record["workspace_id"] == workspace, record
        assert record["request_id"] == request_id, record  # the request that queued it
        assert "batch_id" in record and record["batch_id"] is None, record  # not from a batch
        assert record["timestamp"].endswith("Z")


def test_the_ffmpeg_log_of_a_render_names_no_server_path(rendering: Service, media: Any) -> None:
    upload = rendering.post("/v1/assets", files={"file": ("clip.mp4", Path(media.video()).read_bytes())})
    assert upload.status_code == 201, upload.text
    asset_id = with_previews(rendering, upload.json())["id"]
    edit = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "video", "src": asset_id}, "length": 1}]},
                {"clips": [{"asset": {"type": "text", "text": "Hello"}, "length": 1}]},
            ]
        },
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
    }
    created = rendering.post("/v1/renders", json={"edit": edit})
    assert created.status_code == 202, created.text
    render_id = created.json()["id"]
    assert wait_render(rendering, render_id)["state"] == "succeeded"
    r = rendering.get(f"/v1/renders/{render_id}/log")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "Output #0" in text and "Input #0" in text, text
    assert asset_id in text  # the input, named by its asset
    settings = rendering.services.settings
    for server_path in {
        str(rendering.data_dir.resolve()),
        str(settings.resolved_storage_dir()),
        str(rendering.services.storage.temp_dir()),
        str(Path.home()),
        "/tmp/",
        "/usr/",
    }:
        assert server_path not in text, server_path
    # No absolute path of more than one part at all (a time base such as 1/25 is not one).
    assert not re.search(r"(?<![\w.:/])/[\w.-]+/[\w./-]+", text), text
    # Another workspace's key sees no such render; a key without renders:read is refused.
    assert (
        rendering.get(f"/v1/renders/{render_id}/log", token=rendering.other_workspace_key()).status_code
        == 404
    )
    refused = rendering.get(f"/v1/renders/{render_id}/log", token=rendering.new_key("assets:read"))
    assert refused.status_code == 403
    assert rendering.get("/v1/renders/rnd_01jdzzzzzzzzzzzzzzzzzzzzzz/log").json()["code"] == "not-found"


def test_server_paths_with_spaces_are_hidden_whole(tmp_path: Path, media: Any) -> None:
    """A data directory whose path holds blanks: no part of it shows in the FFmpeg log of a
    render, nor in the log tail of a failed one (a path is not cut at its first blank)."""
    root = tmp_path / "reel forge data" / "srv x"
    root.mkdir(parents=True)
    with running_service(root, workers=1) as svc:
        video = Path(media.video(duration=0.4))
        with video.open("rb") as f:
            upload = svc.post("/v1/assets", files={"file": ("clip.mp4", f)})
        assert upload.status_code == 201, upload.text
        asset_id = with_previews(svc, upload.json())["id"]
        edit = {
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "video", "src": asset_id}, "length": 0.4}]},
                    {"clips": [{"asset": {"type": "text", "text": "Hello"}, "length": 0.4}]},
                ]
            },
            "outputs": [{"width": 160, "height": 90, "quality": "draft", "fps": 25}],
        }
        created = svc.post("/v1/renders", json={"edit": edit})
        assert created.status_code == 202, created.text
        render_id = created.json()["id"]
        assert wait_render(svc, render_id)["state"] == "succeeded"
        log = svc.get(f"/v1/renders/{render_id}/log")
        assert log.status_code == 200 and asset_id in log.text, log.text

        # The stored file turns to garbage: FFmpeg fails naming the file it could not open.
        with svc.services.sessions() as db:
            from reelforge.db.models import Asset

            row = db.get(Asset, asset_id)
            assert row is not None
            stored = svc.services.storage.local_path(row.storage_key)
        stored.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is no longer a video")
        failed = wait_render(svc, svc.post("/v1/renders", json={"edit": edit}).json()["id"])
        assert failed["state"] == "failed", failed
        shown = log.text + "\n" + json.dumps(failed["error"])
    for fragment in ("reel forge", "forge data", "srv x", str(tmp_path)):
        assert fragment not in shown, (fragment, shown)


def test_the_ffmpeg_log_is_bounded_keeping_its_start_and_end() -> None:
    from reelforge.ffmpeg.runner import StderrLog

    log = StderrLog(max_bytes=1000)
    for i in range(500):
        log(f"line {i:04d} " + "x" * 20)
    lines = log.lines()
    assert lines[0].startswith("line 0000") and lines[-1].startswith("line 0499")
    assert sum(len(line) + 1 for line in lines) < 1100
    gap = [line for line in lines if line.startswith("[…")]
    shown = len(lines) - 1
    assert gap == [f"[… {500 - shown} lines left out …]"]
    huge = StderrLog(max_bytes=100)
    huge("y" * 10_000)
    assert len(huge.lines()[0]) < 60


def test_reelforge_imports_and_serves_without_the_tracing_extra(tmp_path: Path) -> None:
    code = """
import sys
# As on an install without the tracing extra: OpenTelemetry's API is there (FastAPI needs it),
# its SDK and exporter are not.
sys.modules["opentelemetry.sdk"] = None
from pathlib import Path
from fastapi.testclient import TestClient
from reelforge import tracing
from reelforge.api.app import create_app
from reelforge.services.context import open_services
from reelforge.settings import Settings
assert not tracing.tracing_available()
services = open_services(Settings(data_dir=Path(sys.argv[1]), workers=0, _env_file=None))
with TestClient(create_app(services=services)) as client:
    assert client.get("/healthz").status_code == 200
try:
    tracing.configure_tracing(endpoint="http://127.0.0.1:4318/v1/traces")
except RuntimeError as exc:
    print(exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tracing needs OpenTelemetry: pip install 'reelforge[tracing]'"


def test_one_render_is_one_trace_from_the_request_to_the_ffmpeg_run(rendering: Service) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from reelforge.tracing import configure_tracing, shutdown_tracing

    exporter = InMemorySpanExporter()
    configure_tracing(exporter=exporter, batch=False)
    try:
        created = rendering.post("/v1/renders", json={"edit": COLOUR_EDIT, "tags": ["spring"]})
        assert created.status_code == 202, created.text
        render_id = created.json()["id"]
        assert wait_render(rendering, render_id)["state"] == "succeeded"
        deadline = time.monotonic() + 60
        while not any(s.name == "render.run" and s.end_time for s in exporter.get_finished_spans()):
            assert time.monotonic() < deadline, "the worker's span did not end"
            time.sleep(0.05)
    finally:
        shutdown_tracing()
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    [request] = [s for s in spans if s.name == "POST /v1/renders"]
    assert request.attributes["http.route"] == "/v1/renders"
    assert request.attributes["http.response.status_code"] == 202
    trace = request.context.trace_id

    def ancestors(span: Any) -> list[str]:
        chain = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            chain.append(span.name)
        return chain

    [run] = [s for s in spans if s.name == "render.run"]
    assert run.context.trace_id == trace and run.attributes["reelforge.render.id"] == render_id
    assert ancestors(run) == ["POST /v1/renders"]  # the queue hop: the request is the parent
    # The render's run, then the output's thumbnail made as it is stored.
    runs = [s for s in spans if s.name == "ffmpeg.run" and s.context.trace_id == trace]
    assert runs and all(ancestors(s) == ["render.run", "POST /v1/renders"] for s in runs)
    assert runs[0].attributes["reelforge.ffmpeg.duration"] == 1.0
    [compile_span] = [s for s in spans if s.name == "render.compile"]
    assert ancestors(compile_span) == ["render.run", "POST /v1/renders"]
    inserts = [s for s in spans if s.name == "db INSERT" and s.context.trace_id == trace]
    assert inserts and all("POST /v1/renders" in ancestors(s) for s in inserts)
    assert any(s.name.startswith("db ") and "render.run" in ancestors(s) for s in spans)
    # Polls are traces of their own.
    polls = [s for s in spans if s.name == "GET /v1/renders/{render_id}"]
    assert polls and all(s.context.trace_id != trace for s in polls)


def test_a_batch_render_logs_its_batch_and_counts_under_the_batch_and_its_tags(
    rendering: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    from reelforge.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("json")  # to the captured stdout
    try:
        template = rendering.post(
            "/v1/templates",
            json={
                "name": "colour card",
                "edit": {
                    "timeline": {
                        "tracks": [
                            {"clips": [{"asset": {"type": "color", "color": "{{colour}}"}, "length": 1}]}
                        ]
                    },
                    "outputs": [{"width": 160, "height": 90, "quality": "draft", "audio": False}],
                },
                "variables": [{"name": "colour", "type": "color", "required": True}],
            },
        )
        assert template.status_code == 201, template.text
        created = rendering.post(
            "/v1/batches",
            json={"template_id": template.json()["id"], "rows": [{"colour": "red"}], "tags": ["autumn"]},
        )
        assert created.status_code == 202, created.text
        batch_id, request_id = created.json()["id"], created.headers["x-request-id"]
        [render] = rendering.get(f"/v1/batches/{batch_id}/renders").json()["data"]
        assert render["tags"] == ["autumn"]
        assert wait_render(rendering, render["id"])["state"] == "succeeded"
        output = ""
        deadline = time.monotonic() + 60
        while '"render ended' not in output:
            assert time.monotonic() < deadline, output
            time.sleep(0.05)
            output += capsys.readouterr().out
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
    records = [r for r in _records(output.splitlines()) if r.get("render_id") == render["id"]]
    assert any(r["event"].startswith("render ended: succeeded") for r in records), output
    for record in records:
        assert record["batch_id"] == batch_id and record["request_id"] == request_id, record
        assert record["workspace_id"] == rendering.get("/v1/workspace").json()["id"]
    by_batch = rendering.get("/v1/analytics/renders?group_by=batch").json()["groups"]
    assert [(g["key"], g["renders"], g["states"]["succeeded"]) for g in by_batch] == [(batch_id, 1, 1)]
    by_template = rendering.get("/v1/analytics/renders?group_by=template").json()["groups"]
    assert [(g["key"], g["renders"]) for g in by_template] == [(template.json()["id"], 1)]
    by_tag = rendering.get("/v1/analytics/renders?group_by=tag").json()["groups"]
    assert [(g["key"], g["renders"]) for g in by_tag] == [("autumn", 1)]
