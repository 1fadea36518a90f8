"""The command starts quickly because it imports only what a command needs.

Structural guards, never timings: a fresh interpreter imports the CLI (or runs a command) and
reports which heavy packages ended up in ``sys.modules``. Timings are in
``bench/startup_bench.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# The service's stack, the decoder library and the progress bar: none is needed to start.
HEAVY = ("fastapi", "starlette", "sqlalchemy", "alembic", "av", "uvicorn", "rich.progress")
# What text, captions and pictures need (Pillow, fonts, line breaking, subtitles): an edit of
# video clips is planned and rendered without them.
DRAWING = ("PIL", "fontTools", "uniseg", "pyphen", "pysubs2")

REPORT = """
import json, sys
{body}
print("MODULES " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def loaded_after(
    body: str, cwd: Path | None = None, heavy: tuple[str, ...] = HEAVY, env: dict[str, str] | None = None
) -> list[str]:
    code = REPORT.format(body=body, heavy=heavy)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES "))
    return list(json.loads(line.removeprefix("MODULES ")))


def test_importing_the_cli_loads_no_service_decoder_or_progress_bar() -> None:
    assert loaded_after("import reelforge.cli") == []


def test_validating_an_edit_without_media_loads_none_of_the_service(tmp_path: Path) -> None:
    edit = tmp_path / "edit.json"
    edit.write_text(
        json.dumps(
            {
                "timeline": {"tracks": [{"clips": [{"asset": {"type": "text", "text": "hi"}, "length": 1}]}]},
                "outputs": [{"width": 160, "height": 90, "fps": 25}],
            }
        )
    )
    body = (
        "from reelforge.cli import app\n"
        f"sys.argv = ['reelforge', 'validate', {str(edit)!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )
    assert loaded_after(body) == []


def _video_edit(tmp_path: Path, clip: Path) -> Path:
    shutil.copyfile(clip, tmp_path / "clip.mp4")  # sources resolve inside the edit's folder
    edit = tmp_path / "edit.json"
    edit.write_text(
        json.dumps(
            {
                "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": "clip.mp4"}}]}]},
                "outputs": [{"width": 160, "height": 90, "fps": 25, "quality": "draft"}],
            }
        )
    )
    return edit


def _run_cli(*args: str) -> str:
    return (
        "from reelforge.cli import app\n"
        f"sys.argv = ['reelforge', *{list(args)!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )


# What a command never needs when nothing configures the installation (no ``REELFORGE_*``
# variable, no ``.env``): the settings (pydantic-settings brings asyncio and SSL), the speech
# transcriber, the template models, and what only running FFmpeg needs.
UNCONFIGURED = (
    "pydantic_settings",
    "reelforge.settings",
    "asyncio",
    "ssl",
    "reelforge.media.transcribe",
    "reelforge.edit.template_model",
    "ctypes",
)


def _unconfigured_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("REELFORGE_")}


def test_validating_and_planning_with_nothing_configured_load_no_settings_or_transcriber(
    tmp_path: Path, media: Any
) -> None:
    edit = _video_edit(tmp_path, media.video())
    for command in ("validate", "plan"):
        loaded = loaded_after(
            _run_cli(command, str(edit)), cwd=tmp_path, heavy=UNCONFIGURED, env=_unconfigured_env()
        )
        assert loaded == [], command


def test_planning_an_edit_of_video_clips_loads_nothing_that_draws(tmp_path: Path, media: Any) -> None:
    edit = _video_edit(tmp_path, media.video())
    for command in ("validate", "plan"):
        assert loaded_after(_run_cli(command, str(edit)), cwd=tmp_path, heavy=DRAWING) == [], command


# An audit hook sees every process started: it notes which of ``heavy`` are loaded when the
# first FFmpeg starts, and how many processes started in all.
AT_FFMPEG_START = """
import json, sys
first = []
started = []
def hook(event, args):
    if event == "subprocess.Popen":
        started.append([str(a) for a in args[1]] if isinstance(args[1], list) else [str(args[1])])
        if not first:
            first.append(sorted(m for m in {heavy!r} if m in sys.modules))
sys.addaudithook(hook)
{body}
print("STARTED " + json.dumps(dict(processes=started, loaded=first[0] if first else None)))
"""


def at_ffmpeg_start(body: str, cwd: Path, heavy: tuple[str, ...]) -> dict[str, Any]:
    env = {k: v for k, v in _unconfigured_env().items() if k != "IMAGEIO_FFMPEG_EXE"}
    code = AT_FFMPEG_START.format(body=body, heavy=heavy)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("STARTED "))
    report: dict[str, Any] = json.loads(line.removeprefix("STARTED "))
    return report


def test_a_render_starts_ffmpeg_before_the_progress_bar_and_anything_that_draws(
    tmp_path: Path, media: Any
) -> None:
    edit = _video_edit(tmp_path, media.video())
    body = _run_cli("render", str(edit), "-o", str(tmp_path / "out"))
    heavy = ("rich.progress", "rich.console", "sqlalchemy", "fastapi", *DRAWING, *UNCONFIGURED[:-1])
    report = at_ffmpeg_start(body, tmp_path, heavy=heavy)
    # Rich's console too: nothing is printed before FFmpeg has run.
    assert report["loaded"] == []
    # The first process is the render itself, not a check of the binary.
    assert not any("-version" in args for args in report["processes"])
    assert (tmp_path / "out" / "edit.mp4").stat().st_size > 0


def test_finding_the_bundled_ffmpeg_starts_no_process(tmp_path: Path) -> None:
    body = "from reelforge.ffmpeg.binary import ffmpeg_exe\nprint(ffmpeg_exe())"
    report = at_ffmpeg_start(body, tmp_path, heavy=())
    assert report["processes"] == []


def test_probing_a_file_loads_neither_the_edit_models_nor_the_ffmpeg_runner(
    tmp_path: Path, media: Any
) -> None:
    # `probe` reads a file with PyAV: validation, settings, the compiler, the SVG rasteriser
    # and the FFmpeg runner (with its logging and tracing) are not needed to start.
    clip = media.video()
    heavy = (
        "reelforge.edit.models",
        "pydantic_settings",
        "reelforge.render.compile",
        "reelforge.ffmpeg.rasterise",
        "reelforge.ffmpeg.runner",
        "rich.progress",
    )
    assert loaded_after(_run_cli("probe", str(clip)), cwd=tmp_path, heavy=heavy) == []
