"""The deployment examples of docs/deploy.md run: the Procfile's commands and the systemd units'
ExecStart lines are started as they are written (the units' install path and port replaced by
this checkout's), and the installation they make renders.
"""

from __future__ import annotations

import configparser
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings
from service import database, require_database
from test_celery_workers import BROKERS, cluster_env, require_broker

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
UNIT_BIN = "/opt/reelforge/.venv/bin/"


def procfile() -> dict[str, str]:
    """Process name -> shell command, as honcho and foreman read a Procfile."""
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def unit_commands() -> dict[str, str]:
    """Unit -> its ExecStart as a shell command, with systemd's specifiers filled in."""
    commands = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        unit = configparser.ConfigParser(interpolation=None, strict=False)
        unit.read(path)
        command = unit["Service"]["ExecStart"]
        assert command.startswith(UNIT_BIN), command
        assert unit["Service"]["EnvironmentFile"] == "/etc/reelforge/env"
        command = command.replace("%H", socket.gethostname()).replace("%i", "1")
        commands[path.stem.rstrip("@")] = shlex.join(shlex.split(command))
    return commands


def test_the_example_environment_names_only_real_settings() -> None:
    fields = {f"REELFORGE_{name.upper()}" for name in Settings.model_fields}
    names = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "systemd" / "reelforge.env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert names and set(names) <= fields, set(names) - fields


@pytest.mark.slow
@pytest.mark.parametrize("example", ["Procfile", "systemd"])
def test_the_deployment_examples_run_an_installation(tmp_path: Path, example: str) -> None:
    require_database("postgresql")
    require_broker("redis")
    commands = procfile() if example == "Procfile" else unit_commands()
    assert {"api", "worker"} <= {k.removeprefix("reelforge-") for k in commands}
    with database("postgresql", tmp_path, migrated=True) as url:
        env = cluster_env(tmp_path, url, BROKERS["redis"][0])
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", PORT="0", REELFORGE_READYZ_REQUIRES_WORKER="true"
        )
        settings = Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None)  # type: ignore[call-arg]
        services = open_services(settings)
        token = bootstrap(services)
        services.engine.dispose()
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, command in commands.items():
                command = command.replace(UNIT_BIN, f"{BIN}/").replace("--port 8000", "--port 0")
                log = (tmp_path / f"{name}.log").open("wb")
                procs[name] = subprocess.Popen(
                    ["bash", "-c", f"exec {command}"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=tmp_path,
                )
            api_name = next(n for n in procs if n.endswith("api"))
            url_line = _wait(lambda: _listening(tmp_path / f"{api_name}.log", procs[api_name]), "the API")
            base = url_line.split("Listening on ", 1)[1].split()[0]
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
                edit = {
                    "timeline": {
                        "tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]
                    },
                    "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft", "audio": False}],
                }
                r = api.post("/v1/renders", json={"edit": edit})
                assert r.status_code == 202, r.text
                render_id = r.json()["id"]
                body = _wait(
                    lambda: (
                        (b := api.get(f"/v1/renders/{render_id}").json())["state"]
                        in ("succeeded", "failed", "cancelled")
                        and b
                    ),
                    "the render",
                )
                assert body["state"] == "succeeded", body
                ready = api.get("/readyz").json()
                assert ready["checks"]["workers"] == "ok", ready  # a live worker, in another process
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for name, proc in procs.items():
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    pytest.fail(f"{name} did not stop on SIGTERM")


def _listening(log: Path, proc: subprocess.Popen[bytes]) -> str | None:
    assert proc.poll() is None, log.read_text(errors="replace")
    return next((x for x in log.read_text(errors="replace").splitlines() if "Listening on " in x), None)


def _wait(check: Any, what: str, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def _reelforge(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    clean.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), clean.get("PYTHONPATH", "")]),
        REELFORGE_DATA_DIR=str(tmp_path / "data"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_or_celery_api_without_a_broker_says_so_in_one_line(tmp_path: Path) -> None:
    done = _reelforge(tmp_path, "worker")
    assert done.returncode == 1 and "REELFORGE_BROKER_URL" in done.stderr and "Traceback" not in done.stderr
    done = _reelforge(tmp_path, "serve", "--no-worker", "--port", "0", REELFORGE_QUEUE="celery")
    assert done.returncode == 1 and "REELFORGE_BROKER_URL" in done.stderr and "Traceback" not in done.stderr


def test_a_worker_refuses_unknown_roles(tmp_path: Path) -> None:
    done = _reelforge(
        tmp_path, "worker", "--queues", "renders,bogus", REELFORGE_BROKER_URL="redis://127.0.0.1:1/0"
    )
    assert done.returncode == 2 and "bogus" in done.stderr and "Traceback" not in done.stderr
