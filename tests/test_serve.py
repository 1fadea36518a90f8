"""`reelforge serve` as a user starts it: first-start key, a live server on loopback, key admin."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "REELFORGE_WORKERS": "0",
    }


def test_first_start_prints_a_working_key_and_serves_http(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        token = None
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if m := re.search(r"\b(rf_live_\S+)", line):
                token = token or m[1]
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        assert token is not None, "".join(lines)
        curl = next(line for line in lines if "curl" in line and "/v1/renders" in line)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        r = httpx.get(f"{base}/v1/workspace", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["name"] == "default"
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Reelforge"
        # The printed example works as pasted.
        body = curl.split(" -d '", 1)[1].rsplit("'", 1)[0]
        r = httpx.post(
            f"{base}/v1/renders",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert r.status_code == 202, r.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    # A second start finds the workspace and prints no new key.
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "startup complete" not in seen:
            seen += proc.stdout.readline()
        assert "rf_live_" not in seen
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_keys_commands(tmp_path: Path) -> None:
    env = {**_env(tmp_path, 8000), "COLUMNS": "250"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reelforge", "keys", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    from reelforge.api.app import bootstrap, open_services
    from reelforge.settings import Settings

    bootstrap(open_services(Settings(data_dir=tmp_path / "data", _env_file=None)))  # type: ignore[call-arg]
    created = run("create", "--scope", "renders:write", "--scope", "renders:read", "--name", "ci")
    assert created.returncode == 0, created.stderr
    key_id, token = created.stdout.split()
    assert token.startswith("rf_live_")
    listed = run("list")
    assert key_id in listed.stdout and token not in listed.stdout
    rolled = run("roll", key_id, "--grace", "60")
    assert rolled.returncode == 0 and "expires at" in rolled.stdout
    assert run("revoke", key_id).returncode == 0
    bad = run("create", "--scope", "everything")
    assert bad.returncode == 2 and "unknown scopes" in bad.stderr


def test_json_logs_carry_the_request_id(tmp_path: Path) -> None:
    import json

    port = _free_port()
    env = {**_env(tmp_path, port), "REELFORGE_LOG_FORMAT": "json"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "startup complete" not in proc.stdout.readline():
            pass
        r = httpx.get(f"http://127.0.0.1:{port}/v1/workspace")
        assert r.status_code == 401
        request_id = r.headers["x-request-id"]
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if request_id in line:
                record = json.loads(line)
                assert record["request_id"] == request_id and record["status"] == 401
                assert record["level"] == "info" and record["timestamp"].endswith("Z")
                assert "authorization" not in line.lower()
                break
        else:
            raise AssertionError("no log line for the request")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
