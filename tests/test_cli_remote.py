"""The CLI against a server (``reelforge login``, ``renders``, ``assets``, ``templates``,
``batches``, ``events``): the real command in a child process, against the real service over
HTTP on loopback, with real renders."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reelforge.client import Client
from service import live_server, running_service

SRC = Path(__file__).resolve().parents[1] / "src"
EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "teal"}, "length": 1}]}]},
    "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25, "audio": False}],
}
TEMPLATE = {
    "name": "card",
    "edit": {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "text", "text": "{{title}}"}, "length": 0.5}]},
                {"clips": [{"asset": {"type": "color", "color": "black"}, "length": 0.5}]},
            ]
        },
        "outputs": [{"width": 160, "height": 90, "quality": "draft", "fps": 25, "audio": False}],
    },
    "variables": [{"name": "title", "type": "text", "required": True}],
}


def environment(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REELFORGE_SERVER", "REELFORGE_TOKEN", "REELFORGE_API_KEY", "REELFORGE_PROFILE")
    }
    return {
        **env,
        "PYTHONPATH": str(SRC),
        "XDG_CONFIG_HOME": str(home),
        "XDG_CACHE_HOME": str(home),
        "COLUMNS": "200",
    }


def cli(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        capture_output=True,
        text=True,
        env=environment(home),
        timeout=timeout,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_cli_against_a_server(tmp_path: Path, media: Any) -> None:
    home = tmp_path / "home"
    video = Path(media.video())
    edit = tmp_path / "edit.json"
    edit.write_text(json.dumps(EDIT))
    with running_service(tmp_path / "svc", workers=1) as svc, live_server(svc) as base:
        # Without a server named anywhere the commands say so (local rendering needs none).
        nowhere = cli("renders", "list", home=home)
        assert nowhere.returncode == 2 and "no server" in nowhere.stderr

        refused = cli("login", "--server", base, "--token", "rf_wrong", home=home)
        assert refused.returncode == 1 and "401" in refused.stderr
        done = cli("login", "--server", base, "--token", svc.token, home=home)
        assert done.returncode == 0, done.stderr
        profile = home / "reelforge" / "profiles.json"
        assert stat.S_IMODE(profile.stat().st_mode) == 0o600
        assert json.loads(profile.read_text())["default"] == {"server": base, "api_key": svc.token}

        # Assets, with the saved profile.
        uploaded = cli("assets", "upload", str(video), "--tag", "cli", home=home)
        assert uploaded.returncode == 0, uploaded.stderr
        asset_id = uploaded.stdout.strip()
        assert asset_id.startswith("ast_")
        listed = as_json(cli("assets", "list", "--json", home=home))
        assert [a["id"] for a in listed] == [asset_id] and listed[0]["tags"] == ["cli"]
        (tmp_path / "dl").mkdir()
        got = cli("assets", "download", asset_id, "-o", str(tmp_path / "dl"), home=home)
        assert got.returncode == 0, got.stderr
        assert Path(got.stdout.strip()).read_bytes() == video.read_bytes()

        # Renders: create, wait with the bar, download; list, get; a finished one cannot be cancelled.
        made = cli("renders", "create", str(edit), "--wait", "-o", str(tmp_path / "out"), home=home)
        assert made.returncode == 0, made.stderr
        render_id = made.stdout.split()[0]
        assert f"{render_id} succeeded" in made.stdout
        assert list((tmp_path / "out").iterdir())
        assert [r["id"] for r in as_json(cli("renders", "list", "--json", home=home))] == [render_id]
        assert as_json(cli("renders", "get", render_id, "--json", home=home))["state"] == "succeeded"
        waited = cli("renders", "wait", render_id, home=home)
        assert waited.returncode == 0 and "succeeded" in waited.stdout
        cancelled = cli("renders", "cancel", render_id, home=home)
        assert cancelled.returncode == 1 and "409" in cancelled.stderr and "request" in cancelled.stderr
        table = cli("renders", "list", home=home)
        assert table.returncode == 0 and render_id in table.stdout

        # --server/--token win over the profile.
        wrong = cli("--server", base, "--token", "rf_wrong", "renders", "list", home=home)
        assert wrong.returncode == 1 and "401" in wrong.stderr

        # Templates and a batch from a CSV.
        with Client(base, api_key=svc.token) as rf:
            template = rf.templates.create(**TEMPLATE)
        assert template["id"] in cli("templates", "list", home=home).stdout
        rows = tmp_path / "rows.csv"
        rows.write_text("title\nOne\nTwo\n")
        batch = as_json(
            cli("batches", "create", "--template", template["id"], "--csv", str(rows), "--json", home=home)
        )
        assert batch["renders"] == 2
        assert [b["id"] for b in as_json(cli("batches", "list", "--json", home=home))] == [batch["id"]]

        # Events as they happen.
        tail = subprocess.Popen(
            [sys.executable, "-m", "reelforge", "events", "tail", "--type", "asset.*", "--count", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(home),
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(tail.stdout or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        with Client(base, api_key=svc.token) as rf:
            # The stream starts with events committed from when it connected: upload until one shows.
            while tail.poll() is None and time.monotonic() < deadline:
                rf.assets.upload(media.video(color="red"))
                rf.assets.delete(rf.assets.list(limit=1).data[0]["id"])
                try:
                    tail.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    continue
        assert tail.wait(timeout=60) == 0, tail.stderr.read() if tail.stderr else ""
        reader.join(timeout=30)
        event = json.loads(lines[0])
        assert event["type"].startswith("asset.") and event["object"] == "event"

        assert cli("logout", home=home).returncode == 0
        assert cli("renders", "list", home=home).returncode == 2
