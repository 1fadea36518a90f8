"""How quickly the ``reelforge`` command starts, against Python starting and doing nothing.

Wall time and CPU time (user + system; medians of alternating rounds) of:

* ``python -c pass``: the reference, the interpreter alone;
* ``ffmpeg -version``: a bare FFmpeg start (the binary the render runs), a second reference;
* the libraries alone: Python importing what these commands are built on (Typer, Pydantic with
  one model built, PyAV and Rich's console) and doing nothing with them, a third reference:
  the floor no lazy import goes below;
* ``reelforge validate``, ``reelforge plan`` and ``reelforge probe`` on a one-clip edit (a
  2-second 320x180 H.264 clip generated with FFmpeg's ``testsrc2``);
* a ``reelforge render`` of that edit up to the moment its FFmpeg starts: ``REELFORGE_FFMPEG``
  points at a shell wrapper that writes the clock (``date +%s%N``) and then runs the real
  FFmpeg.

Each figure is reported as a ratio to ``python -c pass`` and to ``ffmpeg -version`` measured in
the same rounds and, with
``--compare SRC``, side by side with another source tree (e.g. an older checkout's ``src``).

``--instructions`` also counts the instructions each command executes (Valgrind's callgrind,
one run each): a figure other processes do not change, for a busy machine. The render row
counts up to the moment its first FFmpeg process is started (an audit hook ends the process
there).

    .venv/bin/python bench/startup_bench.py [--runs N] [--compare OTHER/src] [--cache-dir DIR]
                                            [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def ffmpeg_binary() -> str:
    import imageio_ffmpeg

    return os.environ.get("REELFORGE_FFMPEG") or imageio_ffmpeg.get_ffmpeg_exe()


def make_edit(work: Path, ffmpeg: str) -> Path:
    clip = work / "clip.mp4"
    if not clip.exists():
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
             "-f", "lavfi", "-i", "sine=d=2", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(clip)],
            check=True,
        )  # fmt: skip
    edit = work / "one-clip.json"
    edit.write_text(
        json.dumps(
            {
                "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": "clip.mp4"}}]}]},
                "outputs": [{"width": 320, "height": 180, "fps": 25, "quality": "draft"}],
            }
        )
    )
    return edit


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the process and what it waited for) of ``cmd``."""
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu


def ffmpeg_start(cmd: list[str], env: dict[str, str], cwd: Path, stamp: Path) -> float:
    """Seconds from launching ``cmd`` to its first FFmpeg starting (read from the wrapper)."""
    stamp.unlink(missing_ok=True)
    launched = time.time_ns()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = int(stamp.read_text(encoding="ascii").split()[0])
    return (first - launched) / 1e9


# The floor: the libraries the commands are built on, loaded as they load them (Pydantic's
# validator machinery and plugin lookup come with the first model built).
LIBRARIES = """
import av, pydantic, rich.console, typer
class Model(pydantic.BaseModel):
    x: int = 0
"""
LIBRARIES_ROW = "libraries alone"


# Run a command as `python -m reelforge ...` does, ending the process when its first
# subprocess (FFmpeg) is about to start.
UNTIL_FIRST_PROCESS = """
import os, runpy, sys
def hook(event, args):
    if event == "subprocess.Popen":
        os._exit(0)
sys.addaudithook(hook)
sys.argv = ["reelforge", *sys.argv[1:]]
runpy.run_module("reelforge", run_name="__main__", alter_sys=True)
"""


def instructions(cmd: list[str], env: dict[str, str], cwd: Path) -> int:
    """Instructions executed by ``cmd`` (user space, the process itself), counted by callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *cmd],
            env=env, cwd=cwd, capture_output=True, text=True, check=True,
        )  # fmt: skip
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise RuntimeError(f"no instruction count from callgrind: {proc.stderr[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--compare", type=Path, help="another source tree to time side by side")
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".cache" / "startup")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions with valgrind (slow)"
    )
    args = parser.parse_args()
    work: Path = args.cache_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    real = ffmpeg_binary()
    edit = make_edit(work, real)
    stamp = work / "ffmpeg-started"
    wrapper = work / "ffmpeg-wrapper.sh"
    wrapper.write_text(
        f"#!/bin/sh\n[ -e {shlex.quote(str(stamp))} ] || date +%s%N > {shlex.quote(str(stamp))}\n"
        f'exec {shlex.quote(real)} "$@"\n'
    )
    wrapper.chmod(0o755)
    trees = {"this tree": ROOT / "src"}
    if args.compare is not None:
        trees["compared"] = args.compare.resolve()
    # As installed: a wheel's modules are compiled to bytecode once. The bytecode goes to a
    # cache of its own (PYTHONPYCACHEPREFIX), so neither tree is written to, and an
    # environment that says not to write bytecode would otherwise time the compiling of
    # every module on every run.
    pycache = work / "pycache"
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    envs = {
        name: {**base_env, "PYTHONPATH": str(src), "PYTHONPYCACHEPREFIX": str(pycache)}
        for name, src in trees.items()
    }
    py = sys.executable
    rf = [py, "-m", "reelforge"]
    out = Path(tempfile.mkdtemp(prefix="startup-out-", dir=work))
    commands: dict[str, list[str]] = {
        "python -c pass": [py, "-c", "pass"],
        "ffmpeg -version": [real, "-version"],
        LIBRARIES_ROW: [py, "-c", LIBRARIES],
        "reelforge validate": [*rf, "validate", edit.name],
        "reelforge plan": [*rf, "plan", edit.name, "-o", str(out)],
        "reelforge probe": [*rf, "probe", "clip.mp4"],
    }
    render = [*rf, "render", edit.name, "-q", "-o", str(out)]
    start_row = "render: launch to FFmpeg start"
    times: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for env in envs.values():  # warm-up: page cache, bytecode
        for cmd in commands.values():
            wall(cmd, env, work)
        ffmpeg_start(render, {**env, "REELFORGE_FFMPEG": str(wrapper)}, work, stamp)
    for _ in range(args.runs):  # alternating: the trees see the same load
        for tree, env in envs.items():
            for name, cmd in commands.items():
                took, cpu = wall(cmd, env, work)
                times.setdefault((tree, name), []).append(took)
                cpus.setdefault((tree, name), []).append(cpu)
            started = ffmpeg_start(render, {**env, "REELFORGE_FFMPEG": str(wrapper)}, work, stamp)
            times.setdefault((tree, start_row), []).append(started)
    header = f"{'command':<34}"
    for tree in trees:
        header += f" {tree + ' s':>13} {'x python':>9} {'x ffmpeg':>9} {'x libraries':>11}"
    if len(trees) > 1:
        header += f" {'this/compared':>14}"
    print(header)
    for name in [*commands, start_row]:
        row = f"{name:<34}"
        medians = []
        for tree in trees:
            m = statistics.median(times[(tree, name)])
            reference = statistics.median(times[(tree, "python -c pass")])
            bare = statistics.median(times[(tree, "ffmpeg -version")])
            floor = statistics.median(times[(tree, LIBRARIES_ROW)])
            medians.append(m)
            row += f" {m:13.3f} {m / reference:9.1f} {m / bare:9.1f} {m / floor:11.2f}"
        if len(medians) > 1:
            row += f" {medians[0] / medians[1]:14.2f}"
        print(row)
    print(f"({args.runs} alternating rounds; other load is not subtracted: run it on a quiet machine)")
    # CPU time hardly changes when other processes compete for the CPUs: on a busy machine,
    # judge by these.
    print()
    print(header.replace("command   ", "CPU time  ", 1))
    for name in commands:
        row = f"{name:<34}"
        medians = []
        for tree in trees:
            m = statistics.median(cpus[(tree, name)])
            reference = statistics.median(cpus[(tree, "python -c pass")])
            bare = statistics.median(cpus[(tree, "ffmpeg -version")])
            floor = statistics.median(cpus[(tree, LIBRARIES_ROW)])
            medians.append(m)
            row += f" {m:13.3f} {m / reference:9.1f} {m / bare:9.1f} {m / floor:11.2f}"
        if len(medians) > 1:
            row += f" {medians[0] / medians[1]:14.2f}"
        print(row)

    if not args.instructions:
        return
    pydantic_row = 'python -c "import pydantic"'
    counted = {
        "python -c pass": [py, "-c", "pass"],
        pydantic_row: [py, "-c", "import pydantic"],
        LIBRARIES_ROW: [py, "-c", LIBRARIES],
        **{name: cmd for name, cmd in commands.items() if name.startswith("reelforge")},
        "render: launch to FFmpeg start": [py, "-c", UNTIL_FIRST_PROCESS, *render[3:]],
    }
    print()
    header = f"{'instructions (millions)':<34}"
    for tree in trees:
        header += f" {tree:>13} {'x python':>9} {'x pydantic':>10} {'x libraries':>11}"
    if len(trees) > 1:
        header += f" {'this/compared':>14}"
    print(header)
    counts = {
        (tree, name): instructions(cmd, env, work)
        for name, cmd in counted.items()
        for tree, env in envs.items()
    }
    for name in counted:
        row = f"{name:<34}"
        for tree in trees:
            n = counts[(tree, name)]
            row += f" {n / 1e6:13.0f} {n / counts[(tree, 'python -c pass')]:9.1f}"
            row += f" {n / counts[(tree, pydantic_row)]:10.2f} {n / counts[(tree, LIBRARIES_ROW)]:11.2f}"
        if len(trees) > 1:
            first, second = trees
            row += f" {counts[(first, name)] / counts[(second, name)]:14.2f}"
        print(row)


if __name__ == "__main__":
    main()
