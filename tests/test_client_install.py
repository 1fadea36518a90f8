"""The light install: ``pip install reelforge`` (or ``reelforge[client]``) is the SDK and the
command against a server, without the server's packages. The wheel is built from this tree
(offline, no build isolation), its metadata read, and it is installed into a fresh virtualenv
next to only the packages its base requirements reach; there the SDK imports, the command lists
a live server's renders, and a local command says which extra it needs."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from reelforge.extras import SERVER_MODULES
from service import live_server, running_service

ROOT = Path(__file__).resolve().parents[1]
EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "teal"}, "length": 1}]}]},
    "outputs": [{"resolution": "360p", "quality": "draft", "fps": 25, "audio": False}],
}


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=600)


def _build_wheel(tmp: Path) -> Path:
    """The project's wheel, built from a copy of the tree (the build leaves nothing in it)."""
    tree, out = tmp / "tree", tmp / "wheels"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    done = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        out,
        tree,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("reelforge-*.whl")
    return built


def _metadata(wheel: Path) -> tuple[list[Requirement], list[str]]:
    """The wheel's requirements and extras, from its METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(zf.read(name).decode())
    return [Requirement(r) for r in message.get_all("Requires-Dist") or []], message.get_all(
        "Provides-Extra"
    ) or []


def _of(reqs: list[Requirement], extra: str) -> list[Requirement]:
    return [r for r in reqs if r.marker is not None and r.marker.evaluate({"extra": extra})]


def _closure(reqs: list[Requirement]) -> set[str]:
    """Every distribution ``reqs`` reach, through the metadata of what this environment has
    installed (it has them all: the `dev` extra brings the server)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_install
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    reached, problems = check_install.walk(reqs)
    assert problems == []
    return reached


def _modules() -> dict[str, set[str]]:
    """Distribution (canonical name) -> the top-level modules it installs."""
    found: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        for dist in dists:
            found.setdefault(canonicalize_name(dist), set()).add(module)
    return found


def _check_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's base requirements, checked to reach none of the server's packages."""
    reqs, extras = _metadata(wheel)
    base = [r for r in reqs if r.marker is None]
    server, client = _of(reqs, "server"), _of(reqs, "client")
    assert {canonicalize_name(r.name) for r in base} == {"httpx", "httpcore", "rich", "typer", "sniffio"}
    # `reelforge[client]` adds nothing the base does not have.
    assert {canonicalize_name(r.name) for r in client} <= {canonicalize_name(r.name) for r in base}

    light = _closure(base + client)
    assert "reelforge" not in light
    heavy = _closure(base + server) - light
    assert "pydantic" in heavy and "fastapi" in heavy and "av" in heavy and "opencv-python-headless" in heavy
    assert light.isdisjoint({canonicalize_name(r.name) for r in server})

    # The modules the CLI takes as "the server is not installed" are the server's, never the
    # light install's (that would hide a bug), and every package of the server has one.
    modules = _modules()
    light_modules = set().union(*(modules.get(d, set()) for d in light))
    assert not SERVER_MODULES & light_modules
    for req in server:
        assert modules.get(canonicalize_name(req.name), set()) & SERVER_MODULES, req.name

    # Every extra that adds to the server brings it with it.
    assert {"postgres", "redis", "celery", "tracing", "asr", "mcp", "otio"} <= set(extras)
    for extra in set(extras) - {"server", "client", "bench"}:
        assert any(r.name == "reelforge" and "server" in r.extras for r in _of(reqs, extra)), extra
    return base


def _light_venv(wheel: Path, base: list[Requirement], venv: Path, env: dict[str, str]) -> Path:
    """A fresh virtualenv with the wheel (no dependencies resolved, nothing fetched) and, linked
    from this environment, only the distributions its base requirements reach."""
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"  # the dev extra's; pip installs the same, slower
    done = _run(
        uv, "pip", "install", "--quiet", "--python", python, "--offline", "--no-index", "--no-deps", wheel
    )
    assert done.returncode == 0, done.stderr

    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", env=env).stdout.strip()
    )
    for name in _closure(base):
        dist = md.distribution(name)
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (site / top).exists():
                (site / top).symlink_to(target)
    # What is installed there satisfies every requirement, with nothing of the server.
    checked = _run(
        sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python, "check", env=env
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return venv


def _light_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and not k.startswith("REELFORGE_") and not k.startswith("VIRTUAL_ENV")
    }
    return {**env, "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home), "COLUMNS": "200"}


def test_the_light_install_is_the_sdk_and_the_cli_against_a_server(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    env = _light_env(tmp_path / "home")  # without PYTHONPATH: the installed wheel, not this tree
    light_venv = _light_venv(wheel, _check_requirements(wheel), tmp_path / "venv", env)
    python = light_venv / "bin" / "python"
    probe = _run(
        python,
        "-c",
        "import importlib.util, json, reelforge, reelforge.client, reelforge.cli; "
        "print(json.dumps([reelforge.__file__, [m for m in ('pydantic', 'fastapi', 'av', 'sqlalchemy', "
        "'cv2', 'numpy', 'boto3') if importlib.util.find_spec(m)]]))",
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    where, server_modules = json.loads(probe.stdout)
    assert Path(where).is_relative_to(light_venv) and server_modules == []

    reelforge = light_venv / "bin" / "reelforge"
    with running_service(tmp_path / "svc") as svc, live_server(svc) as base:
        created = svc.post("/v1/renders", json={"edit": EDIT})
        assert created.status_code in (201, 202), created.text
        listed = _run(reelforge, "--server", base, "--token", svc.token, "renders", "list", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [r["id"] for r in json.loads(listed.stdout)] == [created.json()["id"]]

    # Rendering here needs the server's packages: one line says which extra, no traceback.
    edit = tmp_path / "edit.json"
    edit.write_text(json.dumps(EDIT))
    local = _run(reelforge, "validate", edit, env=env)
    assert local.returncode == 2
    assert "pip install 'reelforge[server]'" in local.stderr and "Traceback" not in local.stderr
    mcp = _run(reelforge, "mcp", env=env)
    assert mcp.returncode == 2
    assert "pip install 'reelforge[mcp]'" in mcp.stderr and "Traceback" not in mcp.stderr
