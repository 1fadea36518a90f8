"""tus-js-client (the npm package browsers and Node apps use) against /v1/uploads, run by Node.

The package is installed from the npm registry into ``tests/tus_js/node_modules`` on first use
(``npm install`` of ``tests/tus_js/package.json``, pinned); skipped only when Node or npm is
not installed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import mediagen
from service import live_server, running_service

PROJECT = Path(__file__).resolve().parent / "tus_js"


def tus_js() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not installed: tus-js-client cannot run")
    if not (PROJECT / "node_modules" / "tus-js-client").is_dir():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PROJECT,
            check=True,
            timeout=600,
        )
    return Path(node)


@pytest.mark.parametrize("chunk", [None, 20000])
def test_tus_js_client_uploads(tmp_path: Path, chunk: int | None) -> None:
    node = tus_js()
    video = mediagen.make_video(tmp_path / "clip.mp4")
    with running_service(tmp_path) as svc, live_server(svc) as base:
        svc.services.settings.public_url = base
        args = [str(node), "upload.mjs", f"{base}/v1/uploads", svc.token, str(video)]
        done = subprocess.run(
            [*args, *([str(chunk)] if chunk else [])],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["url"].startswith(f"{base}/v1/uploads/upl_")
        asset = svc.get(f"/v1/assets/{result['asset_id']}").json()
        assert asset["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
        assert asset["kind"] == "video" and asset["name"] == "clip.mp4"
        assert sorted(asset["tags"]) == ["conformance", "js"]
