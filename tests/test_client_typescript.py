"""The TypeScript client (``clients/typescript``) under Node's test runner against a live service
over real HTTP on loopback, behind a proxy that fails on cue; and its generated types checked
against the service's OpenAPI document (no drift).

The npm packages (pinned in its package-lock.json) are installed on first use; skipped only when
Node or npm is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service import live_server, running_service
from test_client_sdk import Fault, faulty_proxy

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "clients" / "typescript"


def npm() -> str:
    node, found = shutil.which("node"), shutil.which("npm")
    if node is None or found is None:
        pytest.skip("Node.js (node and npm) is not installed: the TypeScript client cannot run")
    if not (PROJECT / "node_modules" / "openapi-fetch").is_dir():
        subprocess.run(
            [found, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PROJECT, check=True, timeout=900
        )
    return found


def test_the_generated_types_match_the_openapi_document(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import export_openapi
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert (PROJECT / "openapi.json").read_text(encoding="utf-8") == export_openapi.document_text(), (
        "run: make ts-client"
    )
    npm_exe = npm()
    out = tmp_path / "schema.ts"
    subprocess.run(
        [npm_exe, "exec", "--", "openapi-typescript", "openapi.json", "-o", str(out)],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert out.read_text(encoding="utf-8") == (PROJECT / "src" / "schema.ts").read_text(encoding="utf-8"), (
        "run: make ts-client"
    )


def test_the_typescript_client_against_a_live_service(tmp_path: Path) -> None:
    npm_exe = npm()
    with (
        running_service(tmp_path, workers=1) as svc,
        live_server(svc) as base,
        faulty_proxy(base) as (proxy, url),
    ):
        proxy.faults = [
            Fault("GET", "/v1/projects", status=503),
            Fault("GET", "/v1/projects", drop=True),
            Fault("GET", "/v1/projects", status=502),
            # Reaches the service (the render is created), answers after the client gave up.
            Fault("POST", "/v1/renders", hold=3.0),
        ]
        done = subprocess.run(
            [npm_exe, "test"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=900,
            env={
                **os.environ,
                "REELFORGE_SERVER": base,
                "REELFORGE_PROXY": url,
                "REELFORGE_API_KEY": svc.token,
            },
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        assert "# fail 0" in done.stdout and "# pass 4" in done.stdout, done.stdout[-2000:]
        assert not proxy.faults, f"faults never met: {proxy.faults}"
        gets = [s for s in proxy.seen if s[:2] == ("GET", "/v1/projects?limit=5")]
        assert len(gets) == 4
        posts = [s for s in proxy.seen if s[:2] == ("POST", "/v1/renders")]
        assert len(posts) >= 2 and len({key for _, _, key in posts}) == 1 and posts[0][2]
