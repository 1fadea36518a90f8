"""OpenTimelineIO import and export: an edit -> .otio -> edit renders the same frames (real
FFmpeg, decoded and compared), times stay exact, and what cannot be represented is reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest

from frames import video_frames
from reelforge.edit.validate import parse_edit
from reelforge.interchange import edit_to_otio, otio_to_edit
from reelforge.render.engine import render_edit

SRC = Path(__file__).resolve().parents[1] / "src"


def cut_edit(fps: Any = 25) -> dict[str, Any]:
    return {
        "name": "cut",
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "picture",
                    "clips": [
                        {"asset": {"type": "video", "src": "clip.mp4", "trim": 0.2}, "length": 0.6},
                        {
                            "asset": {"type": "color", "color": "#c03030"},
                            "length": 0.8,
                            "transition": {"type": "fade", "duration": 0.28},
                        },
                        {"asset": {"type": "color", "color": "#3050c0"}, "start": 1.6, "length": "12f"},
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {"type": "text", "text": "Round trip", "style": {"size": 0.12}},
                            "start": 0.4,
                            "length": 0.9,
                            "offset": {"y": -0.2},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"width": 320, "height": 180, "fps": fps, "quality": "draft", "audio": False}],
    }


def api_edit(asset_id: str) -> dict[str, Any]:
    """:func:`cut_edit` naming a service's asset (the recorded API examples use it too)."""
    document = cut_edit()
    document["timeline"]["tracks"][0]["clips"][0]["asset"]["src"] = asset_id
    return document


def test_an_edit_round_trips_through_otio_and_renders_the_same_frames(tmp_path: Path, media: Any) -> None:
    shutil.copy(media.video(duration=2), tmp_path / "clip.mp4")
    original = cut_edit()
    timeline, notes = edit_to_otio(original, tmp_path)
    written = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(written))

    # What other editors see: two video tracks, a dissolve, a gap, exact frames at 25 fps.
    read = otio.adapters.read_from_file(str(written))
    picture = read.tracks[0]
    assert [type(i).__name__ for i in picture] == ["Clip", "Transition", "Clip", "Gap", "Clip"]
    assert picture[0].source_range.start_time.value == 5  # trim 0.2 s = 5 frames
    assert picture[0].source_range.duration.value == 15 - 7  # cut where the 7-frame dissolve starts
    assert picture[1].transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert picture[1].out_offset.value == 7
    assert picture[3].source_range.duration.value == 40 - (15 - 7 + 20)
    assert any("generator" in n.message for n in notes)
    assert any(n.where.endswith("/clips/0") and "offset" in n.message for n in notes)

    back, import_notes = otio_to_edit(read)
    assert not [n for n in import_notes if "rounded" in n.message]
    assert back["outputs"] == original["outputs"] and back["name"] == "cut"
    parse_edit(back)

    frames = []
    for name, document in (("original", original), ("roundtrip", back)):
        result = render_edit(parse_edit(document), out_dir=tmp_path / name, base_dir=tmp_path, name=name)
        frames.append(video_frames(result.outputs[0].path))
    assert frames[0].shape == frames[1].shape and frames[0].shape[0] == 52
    assert np.array_equal(frames[0], frames[1])


def test_times_stay_exact_at_ntsc_rates(tmp_path: Path, media: Any) -> None:
    shutil.copy(media.video(duration=2), tmp_path / "clip.mp4")
    document = cut_edit(fps="30000/1001")
    timeline, _ = edit_to_otio(document, tmp_path)
    assert timeline.metadata["reelforge"]["fps"] == "30000/1001"
    back, notes = otio_to_edit(otio.adapters.read_from_string(otio.adapters.write_to_string(timeline)))
    assert not [n for n in notes if "rounded" in n.message]
    assert (
        back["timeline"]["tracks"][0]["clips"][2]["start"]
        == f"{round(Fraction('1.6') * Fraction(30000, 1001))}f"
    )


def test_an_editors_timeline_imports_with_what_it_cannot_carry_reported() -> None:
    """A timeline as an editor's OTIO adapter writes it: 24 fps, sources with timecode, a
    dissolve centred on the cut, markers, a clip without media, a nested stack."""
    rate = 24.0

    def rt(v: float) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(v, rate)

    def media_clip(name: str, start: float, duration: float) -> otio.schema.Clip:
        ref = otio.schema.ExternalReference(
            target_url=f"file://media/{name}", available_range=otio.opentime.TimeRange(rt(86400), rt(2400))
        )
        return otio.schema.Clip(
            name=name,
            media_reference=ref,
            source_range=otio.opentime.TimeRange(rt(86400 + start), rt(duration)),
        )

    track = otio.schema.Track(name="V1")
    a, b = media_clip("a.mov", 10, 48), media_clip("b.mov", 30, 72)
    a.markers.append(
        otio.schema.Marker(name="check color", marked_range=otio.opentime.TimeRange(rt(12), rt(1)))
    )
    track.extend(
        [
            a,
            otio.schema.Transition(transition_type="SMPTE_Dissolve", in_offset=rt(6), out_offset=rt(6)),
            b,
            otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=rt(24))),
            otio.schema.Clip(
                name="offline",
                media_reference=otio.schema.MissingReference(),
                source_range=otio.opentime.TimeRange(rt(0), rt(24)),
            ),
            media_clip("c.mov", 0, 24),
        ]
    )
    timeline = otio.schema.Timeline(name="From an editor")
    timeline.tracks.append(track)
    timeline.tracks.append(otio.schema.Stack())
    document, notes = otio_to_edit(timeline)
    clips = document["timeline"]["tracks"][0]["clips"]
    assert clips[0] == {
        "asset": {"type": "video", "src": "media/a.mov", "trim": "10f"},
        "start": "0f",
        "length": "54f",
    }
    # The dissolve starts 6 frames before the cut: b's media and place start 6 frames earlier.
    assert clips[1]["start"] == "auto" and clips[1]["transition"] == {"type": "fade", "duration": "12f"}
    assert clips[1]["asset"]["trim"] == "24f" and clips[1]["length"] == "78f"
    assert clips[2]["start"] == f"{48 + 72 + 24 + 24}f"  # after the gap and the offline clip
    assert document["outputs"] == [{"fps": "24"}]
    messages = " | ".join(f"{n.where}: {n.message}" for n in notes)
    assert "check color" in messages and "offline" in messages and "nested stack" in messages
    assert "default output" in messages
    edit = parse_edit(document)
    assert len(edit.timeline.tracks[0].clips) == 3


def test_the_otio_commands(tmp_path: Path, media: Any) -> None:
    shutil.copy(media.video(duration=2), tmp_path / "clip.mp4")
    edit = tmp_path / "cut.json"
    edit.write_text(json.dumps(cut_edit()))
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, env=env, timeout=300
        )

    exported = cli("otio", "export", str(edit), "-o", str(tmp_path / "cut.otio"))
    assert exported.returncode == 0, exported.stderr
    assert "generator" in exported.stderr  # the notes, on stderr
    imported = cli("otio", "import", str(tmp_path / "cut.otio"), "-o", str(tmp_path / "back.json"))
    assert imported.returncode == 0, imported.stderr
    valid = cli("validate", str(tmp_path / "back.json"))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"timeline": {"tracks": []}}))
    refused = cli("otio", "export", str(bad), "-o", str(tmp_path / "bad.otio"))
    assert refused.returncode == 2 and "/timeline/tracks" in refused.stdout + refused.stderr


def test_the_api_reads_a_project_as_otio_and_creates_one_from_it(tmp_path: Path, media: Any) -> None:
    from reelforge.client import Client, UnprocessableEntityError
    from service import live_server, running_service

    with (
        running_service(tmp_path / "svc") as svc,
        live_server(svc) as base,
        Client(base, api_key=svc.token) as rf,
    ):
        clip = rf.assets.upload(media.video(duration=2))
        project = rf.projects.create(name="cut", edit=api_edit(clip["id"]))

        exported = rf.projects.as_otio(project["id"])
        assert exported["object"] == "otio_timeline" and exported["revision"] == 1
        assert any("generator" in n["message"] for n in exported["notes"])
        timeline = otio.adapters.read_from_string(json.dumps(exported["timeline"]))
        # The version the project's edit resolves to now, pinned: the OTIO names exact media.
        assert timeline.tracks[0][0].media_reference.target_url == f"{clip['id']}@1"

        made = rf.projects.from_otio(name="from otio", timeline=exported["timeline"])
        assert made["name"] == "from otio" and made["otio_notes"] == []
        again = rf.renders.plan(project_id=made["id"])
        original = rf.renders.plan(project_id=project["id"])
        assert again["outputs"] == original["outputs"] and again["duration"] == original["duration"]

        with pytest.raises(UnprocessableEntityError) as refused:
            rf.projects.from_otio(name="x", timeline={"OTIO_SCHEMA": "Nonsense.1"})
        assert refused.value.errors[0]["pointer"] == "#/timeline"
        # Well-formed OTIO that cannot be timed: a clip with neither a range nor media to measure.
        untimed = otio.schema.Timeline(name="untimed")
        untimed.tracks.append(otio.schema.Track(children=[otio.schema.Clip(name="x")]))
        with pytest.raises(UnprocessableEntityError) as refused:
            rf.projects.from_otio(name="x", timeline=json.loads(otio.adapters.write_to_string(untimed)))
        assert refused.value.errors[0]["pointer"] == "#/timeline"


def check_openapi_examples(c: Any, svc: Any, media: Any) -> None:
    """Called by tests/test_openapi.py: the documented examples of these routes against ``svc``."""
    from reelforge.api import examples_otio as exo

    r = svc.post("/v1/assets", files={"file": ("intro.mp4", Path(media.video(duration=2)).read_bytes())})
    assert r.status_code in (200, 201), r.text
    c.ids[exo.OTIO_ASSET_ID] = r.json()["id"]
    project = svc.post("/v1/projects", json={"name": "p", "edit": api_edit(r.json()["id"])}).json()
    c.call("GET", "/v1/projects/{project_id}/otio", params={"project_id": project["id"]}, expect=200)
    c.send_examples("POST", "/v1/projects/otio")
