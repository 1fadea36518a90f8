"""`reelforge serve` as a user starts it: first-start key, a live server on loopback, key admin."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from service import ServeProcess


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_WORKERS": "0",
        **extra,
    }


def test_first_start_prints_a_working_key_and_serves_http(tmp_path: Path) -> None:
    with ServeProcess(tmp_path, _env(tmp_path), "--port", "0") as server:
        base = server.wait_listening()
        # The URL printed is the one the system chose for port 0.
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base) and not base.endswith(":0"), base
        token = server.wait_for(r"\b(rf_live_\S+)")[1]
        # The printed example names the port listened on.
        curl = server.wait_for(rf"curl .*{re.escape(base)}/v1/renders.*")[0]
        assert httpx.get(f"{base}/healthz", timeout=30).json() == {"status": "ok"}
        r = httpx.get(f"{base}/v1/workspace", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200 and r.json()["name"] == "default"
        assert httpx.get(f"{base}/openapi.json", timeout=30).json()["info"]["title"] == "Reelforge"
        # The printed example works as pasted.
        body = curl.split(" -d '", 1)[1].rsplit("'", 1)[0]
        r = httpx.post(
            f"{base}/v1/renders",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
        assert r.status_code == 202, r.text
        server.stop()
    # A second start finds the workspace and prints no new key.
    with ServeProcess(tmp_path, _env(tmp_path), "--port", "0") as server:
        server.wait_listening()
        server.stop()
        assert "rf_live_" not in server.output


def test_a_busy_port_is_one_line_and_no_key(tmp_path: Path) -> None:
    """A port in use fails at once, in one line naming a free one, before anything is made."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "reelforge", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_env(tmp_path, COLUMNS="40"),  # one line even on a narrow terminal
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done
    assert "rf_live_" not in done.stdout + done.stderr
    assert not (tmp_path / "data").exists()  # no database was made
    [line] = done.stderr.splitlines()
    suggested = re.fullmatch(
        rf"error: 127\.0\.0\.1:{port} is in use; try --port (\d+) \(or PORT=(\d+) make run\)", line
    )
    assert suggested and suggested[1] == suggested[2] and int(suggested[1]) != port, line


def test_make_run_passes_host_and_port() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    done = subprocess.run(
        [make, "-n", "run", "PORT=8123", "HOST=0.0.0.0"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "reelforge serve --host 0.0.0.0 --port 8123" in done.stdout, done.stdout


def test_keys_commands(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "COLUMNS": "250"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reelforge", "keys", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    from reelforge.services.context import open_services
    from reelforge.services.workspaces import bootstrap
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

    with ServeProcess(tmp_path, _env(tmp_path, REELFORGE_LOG_FORMAT="json"), "--port", "0") as server:
        base = server.wait_listening()
        r = httpx.get(f"{base}/v1/workspace", timeout=30)
        assert r.status_code == 401
        request_id = r.headers["x-request-id"]
        line = server.wait_for(rf".*{re.escape(request_id)}.*")[0]
        record = json.loads(line)
        assert record["request_id"] == request_id and record["status"] == 401
        assert record["level"] == "info" and record["timestamp"].endswith("Z")
        assert "authorization" not in line.lower()
        server.stop()


@pytest.mark.parametrize(
    ("setting", "url", "module", "extra"),
    [
        (
            "REELFORGE_DATABASE_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
            "psycopg",
            "postgres",
        ),
        ("REELFORGE_REDIS_URL", "redis://127.0.0.1:6379/0", "redis", "redis"),
    ],
)
def test_a_driver_not_installed_is_one_line(
    tmp_path: Path, setting: str, url: str, module: str, extra: str
) -> None:
    """PostgreSQL and Redis drivers are extras: configured without them, serve says which to
    install, in one line, before anything is made."""
    # As on an install without the extra: importing the driver fails.
    absent = f"import sys; sys.modules[{module!r}] = None; from reelforge.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", absent, "serve", "--port", "0"],
        cwd=tmp_path,
        env=_env(tmp_path, COLUMNS="40", **{setting: url}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done
    assert done.stderr.splitlines() == [
        f"error: {setting}{' (PostgreSQL)' if extra == 'postgres' else ''} needs the {module} driver, "
        f"which is not installed: pip install 'reelforge[{extra}]'"
    ]
    assert "rf_live_" not in done.stdout and not (tmp_path / "data").exists()
