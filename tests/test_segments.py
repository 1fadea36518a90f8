"""Long timelines rendered as sequential segments: the same frames and audio as one pass.

A segmented render opens only each segment's inputs, encodes each segment's picture on its own
and joins them by stream copy, with the audio mixed once. The policy is forced small here
(segments of about a second on a 12-clip, 320x180 timeline) so the real mechanism runs on
tiny media.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import numpy as np
import pytest

from conftest import MediaFiles
from frames import audio_samples, video_frames
from reelforge.edit.timeline import resolve_timeline
from reelforge.edit.validate import parse_edit
from reelforge.render.engine import plan_edit, render_edit
from reelforge.render.segments import SegmentPolicy, audio_groups, cut_points, segment_bounds
from reelforge.render.sources import LocalResolver

FORCED = SegmentPolicy(min_inputs=3, max_clips=3, max_seconds=1.0)
ONE_PASS = SegmentPolicy(min_inputs=0)


def twelve_clip_edit(media: MediaFiles, **output: Any) -> dict[str, Any]:
    """12 chained clips (every third one crossfades in), a title across a cut, an audio clip
    that outlasts the pictures (the last segment shows only the background) and music."""
    clips: list[dict[str, Any]] = []
    for i in range(12):
        src = media.video(
            duration=1.2, tone_hz=300 + 40 * i, source=("testsrc2", "smptebars", "rgbtestsrc")[i % 3]
        )
        clip: dict[str, Any] = {"asset": {"type": "video", "src": str(src), "trim": 0.1}, "length": 0.6}
        if i % 3 == 2:
            clip["transition"] = {"type": "fade", "duration": 0.2}
        clips.append(clip)
    tail = media.audio(duration=2.0, tone_hz=660)
    return {
        "timeline": {
            "background": "#203040",
            "tracks": [
                {"clips": clips},
                {"clips": [{"asset": {"type": "text", "text": "Segments"}, "start": 1.0, "length": 1.2}]},
                {"clips": [{"asset": {"type": "audio", "src": str(tail)}, "start": 6.0, "length": 1.0}]},
            ],
            "soundtrack": {"src": str(media.audio(duration=3.0, tone_hz=220)), "volume": 0.3},
        },
        "outputs": [{"width": 320, "height": 180, "fps": 25, **output}],
    }


def ssim_per_frame(a: Path, b: Path) -> list[float]:
    """FFmpeg's ``ssim`` filter, frame by frame (the ``All`` value)."""
    stats = a.with_suffix(".ssim.log")  # a file: FFmpeg's stdout may lose the last lines
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(a), "-i", str(b),
         "-lavfi", f"[0:v][1:v]ssim=stats_file={stats.name}", "-f", "null", "-"],
        capture_output=True, check=True, cwd=a.parent,
    )  # fmt: skip
    return [float(m[1]) for m in re.finditer(r"All:([0-9.]+)", stats.read_text())]


def test_cuts_fall_only_where_no_picture_clip_spans_them() -> None:
    edit = parse_edit(
        {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {"asset": {"type": "color", "color": "red"}, "length": "10f"},
                            {"asset": {"type": "color", "color": "blue"}, "length": "10f"},
                            {
                                "asset": {"type": "color", "color": "green"},
                                "length": "10f",
                                "transition": {"type": "fade", "duration": "4f"},
                            },
                            {"asset": {"type": "color", "color": "white"}, "length": "10f"},
                        ]
                    },
                    {"clips": [{"asset": {"type": "text", "text": "over"}, "start": "25f", "length": "8f"}]},
                ]
            },
            "outputs": [{"width": 160, "height": 90, "fps": 25}],
        }
    )
    timeline = resolve_timeline(edit, Fraction(25))
    # Clips at 0-10, 10-20, 16-26 (crossfading from 16 to 20), 26-36; the title at 25-33.
    # 10 is a cut; 16 and 20 are inside the crossfade; 26 is inside the title.
    assert cut_points(timeline) == [10]


def test_segments_hold_at_most_the_policy_s_clips_and_seconds() -> None:
    colours = ["red", "blue", "green", "white", "black", "yellow", "red"]
    edit = parse_edit(
        {
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "color", "color": c}, "length": "10f"} for c in colours]}
                ]
            },
            "outputs": [{"width": 160, "height": 90, "fps": 25}],
        }
    )
    timeline = resolve_timeline(edit, Fraction(25))
    assert segment_bounds(timeline, SegmentPolicy(max_clips=3, max_seconds=60)) == [0, 30, 60, 70]
    assert segment_bounds(timeline, SegmentPolicy(max_clips=8, max_seconds=0.8)) == [0, 20, 40, 60, 70]
    assert segment_bounds(timeline, SegmentPolicy(max_clips=8, max_seconds=60)) == [0, 70]


def test_the_mix_is_chained_in_the_one_pass_order_with_the_music_first() -> None:
    sounds = [{"asset": {"type": "audio", "src": f"s{i}.wav"}, "start": i, "length": 1} for i in range(7)]
    sounds[4]["asset"]["role"] = "music"
    doc: dict[str, Any] = {
        "timeline": {
            "tracks": [
                {"clips": sounds[:5]},
                {"clips": [{"asset": {"type": "video", "src": "v.mp4", "muted": True}, "length": 2}]},
                {"clips": sounds[5:]},
            ],
            "soundtrack": {"src": "music.m4a"},
        },
        "outputs": [{"width": 160, "height": 90, "fps": 25}],
        "audio": {"ducking": None},
    }
    # Runs of at most 4 inputs: the first takes the music (the soundtrack and the music clip)
    # and two sounds; each later one the sum so far and three sounds, track by track; the
    # muted video is not heard.
    assert audio_groups(parse_edit(doc), 4) == [[(0, 4), (0, 0), (0, 1)], [(0, 2), (0, 3), (2, 0)], [(2, 1)]]
    assert audio_groups(parse_edit(doc), 2) == [
        [(0, 4)],
        [(0, 0)],
        [(0, 1)],
        [(0, 2)],
        [(0, 3)],
        [(2, 0)],
        [(2, 1)],
    ]
    # Ducking lowers the music wherever any voice plays: one run mixes everything.
    doc["audio"] = {}
    sounds[0]["asset"]["role"] = "voice"
    assert audio_groups(parse_edit(doc), 4) is None
    doc["audio"] = {"ducking": None}
    assert audio_groups(parse_edit(doc), 4) is not None


def test_a_segmented_render_has_the_frames_and_audio_of_one_pass(media: MediaFiles, tmp_path: Path) -> None:
    edit = parse_edit(twelve_clip_edit(media))
    plan = plan_edit(
        edit,
        resolver=LocalResolver(media.dir),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "w",
        segmenting=FORCED,
    )
    segmented = plan.segmented
    assert segmented is not None and len(segmented.segments) >= 4
    timeline = plan.timelines[Fraction(25)]
    assert segmented.segments[0].start_frame == 0
    assert segmented.segments[-1].end_frame == timeline.frames
    for before, after in zip(segmented.segments, segmented.segments[1:], strict=False):
        assert before.end_frame == after.start_frame

    # Each segment's FFmpeg opens the inputs of its own clips and nothing else: one per video
    # clip, and the pictures made for its own text clips.
    clips = {ct.pointer: ct for ct in timeline.clips()}
    for segment in segmented.segments:
        videos = [clips[p].clip.asset for p in segment.clips if clips[p].clip.asset.type == "video"]
        texts = [p for p in segment.clips if clips[p].clip.asset.type == "text"]
        expected = [str(plan.sources[a.src].path) for a in videos]  # type: ignore[union-attr]
        opened = [path for path, _ in segment.plan.inputs]
        made = [p for p in opened if Path(p).is_relative_to(segment.plan.work_dir)]
        assert sorted(p for p in opened if p not in made) == sorted(expected)
        assert len(made) == len(texts)
        # FFmpeg's errors name clips of the sub-edit; each maps back to its clip in the edit.
        assert sorted(segment.pointers.values()) == sorted(segment.clips)
        for inner, outer in segment.pointers.items():
            sub = segment.plan.timelines[Fraction(25)]
            assert next(ct for ct in sub.clips() if ct.pointer == inner).length == clips[outer].length
    # The mix is a chain of audio runs, none opening more than the policy's 3 inputs: the first
    # the music and two clips, each later one the sum so far and the next two sounds, so all 12
    # clips, the audio clip and the music are each opened by exactly one run.
    assert segmented.audio is not None
    runs = [part.plan for part in segmented.audio_parts] + [segmented.audio]
    assert len(runs) == 7
    assert all(len(run.inputs) <= FORCED.min_inputs for run in runs)
    opened = [path for run in runs for path, _ in run.inputs]
    sums = [str(part.path) for part in segmented.audio_parts]
    assert [p for p in opened if p in sums] == sums
    assert len([p for p in opened if p not in sums]) == 14
    assert segmented.inputs < len(plan.inputs)

    joined = (
        render_edit(
            edit, out_dir=tmp_path / "seg", base_dir=media.dir, work_dir=tmp_path / "ws", segmenting=FORCED
        )
        .outputs[0]
        .path
    )
    single = (
        render_edit(
            edit, out_dir=tmp_path / "one", base_dir=media.dir, work_dir=tmp_path / "wo", segmenting=ONE_PASS
        )
        .outputs[0]
        .path
    )
    assert not list((tmp_path / "ws" / "segments").glob("*.mp4")), "segment files are removed"
    # The mix is measured once, by the audio run, not by the one-pass plan as well.
    assert (tmp_path / "ws" / "segments" / "audio" / "loudness-25-1.json").exists()
    assert not (tmp_path / "ws" / "loudness-25-1.json").exists()

    frames_joined, frames_single = video_frames(joined), video_frames(single)
    assert len(frames_joined) == len(frames_single) == timeline.frames
    # Sample for sample: the chained mix adds the same floats in the same order as one pass.
    sound_joined, sound_single = audio_samples(joined), audio_samples(single)
    assert sound_joined.shape == sound_single.shape
    assert np.array_equal(sound_joined, sound_single)
    assert not list((tmp_path / "ws" / "segments").rglob("*.wav")), "the running sums are removed"

    # Sources differ in colour tags; the joined stream still describes its colours one way.
    with av.open(str(joined)) as container:
        described = {(f.colorspace, f.color_range) for f in container.decode(video=0)}
    assert len(described) == 1

    ssim = ssim_per_frame(joined, single)
    assert len(ssim) == timeline.frames
    for segment in segmented.segments[1:]:
        at = segment.start_frame
        assert min(ssim[at - 1], ssim[at]) > 0.95, (at, ssim[at - 1], ssim[at])
    assert sum(ssim) / len(ssim) > 0.97
    # The last second shows only the background, as in one pass.
    assert np.abs(frames_joined[-1].astype(int) - frames_single[-1].astype(int)).mean() < 2


@pytest.mark.slow
def test_a_segmented_webm_joins_and_encodes_its_mix_once(media: MediaFiles, tmp_path: Path) -> None:
    edit = parse_edit(twelve_clip_edit(media, format="webm", quality="low"))
    result = render_edit(
        edit, out_dir=tmp_path / "seg", base_dir=media.dir, work_dir=tmp_path / "ws", segmenting=FORCED
    )
    single = render_edit(edit, out_dir=tmp_path / "one", base_dir=media.dir, segmenting=ONE_PASS)
    assert result.plan.segmented is not None
    joined, alone = result.outputs[0].path, single.outputs[0].path
    assert len(video_frames(joined)) == len(video_frames(alone))
    sound_joined, sound_single = audio_samples(joined), audio_samples(alone)
    assert abs(len(sound_joined) - len(sound_single)) <= 960  # Opus frames are 20 ms
    assert min(ssim_per_frame(joined, alone)) > 0.9


def test_short_edits_and_unjoinable_outputs_render_in_one_pass(media: MediaFiles, tmp_path: Path) -> None:
    doc = twelve_clip_edit(media)
    plan = plan_edit(
        parse_edit(doc),
        resolver=LocalResolver(media.dir),
        out_dir=tmp_path,
        work_dir=tmp_path,
        segmenting=ONE_PASS,
    )
    assert plan.segmented is None
    doc["outputs"].append({"format": "gif", "width": 160, "height": 90, "fps": 25})
    plan = plan_edit(
        parse_edit(doc),
        resolver=LocalResolver(media.dir),
        out_dir=tmp_path,
        work_dir=tmp_path,
        segmenting=FORCED,
    )
    assert plan.segmented is None


RANGED = SegmentPolicy(min_inputs=3, max_clips=3, max_seconds=1.0, audio_range_seconds=0.7)


def sounding_edit(media: MediaFiles) -> dict[str, Any]:
    """:func:`twelve_clip_edit` with sounds that cross the mix's 0.7 s ranges in every way the
    mix treats them: faded video clips, a fading mono tone, a looped tone, a sped-up tone with a
    volume envelope, and a fading soundtrack over the whole timeline."""
    doc = twelve_clip_edit(media)
    clips = doc["timeline"]["tracks"][0]["clips"]
    for i, clip in enumerate(clips):
        if i % 2:
            clip["asset"].update(fade_in=0.25, fade_out=0.3, volume=0.8)
            clip["effects"] = {"saturation": 1.2}  # a picture field, left out of the ranges' edits
    sounds = [
        {
            "asset": {"type": "audio", "src": str(media.audio(duration=2.0, tone_hz=520, channels=1)),
                      "fade_in": 0.4, "fade_out": 0.5},
            "start": 0.33, "length": 1.9,
        },
        {
            "asset": {"type": "audio", "src": str(media.audio(duration=0.45, tone_hz=880)), "loop": True},
            "start": 2.1, "length": 1.7,
        },
        {
            "asset": {"type": "audio", "src": str(media.audio(duration=3.0, tone_hz=410)), "speed": 1.5,
                      "fade_out": 0.2},
            "start": 4.05, "length": 1.3,
            "keyframes": {"volume": [{"time": 0, "value": 0.2}, {"time": 1.0, "value": 1.0}]},
        },
    ]  # fmt: skip
    doc["timeline"]["tracks"].append({"clips": sounds})
    doc["timeline"]["soundtrack"].update(fade_in=0.5, fade_out=1.0, loop=True)
    return doc


def test_the_mix_in_ranges_is_the_whole_mix_sample_for_sample(media: MediaFiles, tmp_path: Path) -> None:
    from reelforge.render.audio import sample_at
    from reelforge.render.engine import join_ranges, render_segment

    edit = parse_edit(sounding_edit(media))
    plan = plan_edit(
        edit,
        resolver=LocalResolver(media.dir),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "w",
        segmenting=RANGED,
    )
    segmented = plan.segmented
    assert segmented is not None and not segmented.audio_parts
    ranges = segmented.audio_ranges
    total = sample_at(plan.timelines[Fraction(25)].duration)
    # The ranges tile the mix: 0.7 s (17 frames, 32640 samples) each, the last one shorter.
    assert [r.window for r in ranges] == [
        (k * 32640, min((k + 1) * 32640, total)) for k in range(len(ranges))
    ]
    assert len(ranges) == 11 and ranges[-1].end_sample == total
    # Each range opens only the sounds overlapping it (and the soundtrack), never every clip.
    assert max(len(r.plan.inputs) for r in ranges) < len(plan.inputs) - 6
    for r in ranges:
        # A worker elsewhere validates the range's edit again: it holds sounds only (not the
        # title, nor the clips' picture fields), named by their pointers in the full edit.
        again = parse_edit(r.edit.model_dump(mode="json", exclude_none=True, warnings=False))
        assert {c.asset.type for t in again.timeline.tracks[1:] for c in t.clips} <= {"audio"}
        assert all(p.startswith("/timeline/tracks/") for p in r.pointers.values())
        assert len(r.pointers) == sum(len(t.clips) for t in again.timeline.tracks[1:])
    for r in ranges:
        render_segment(r.plan, base_dir=media.dir, pointers={}, on_progress=None, cancel=None, timeout=60)
    joined = tmp_path / "joined.wav"
    join_ranges([r.path for r in ranges], joined)

    # The single mix, before its tail, as 32-bit float: the whole timeline in one window.
    whole = plan_edit(
        edit.model_copy(
            update={
                "outputs": [edit.outputs[0].model_copy(update={"format": "wav"})],
                "audio": edit.audio.model_copy(update={"loudness": None}),
            }
        ),
        resolver=LocalResolver(media.dir),
        out_dir=tmp_path / "whole",
        work_dir=tmp_path / "ww",
        mix_window=(0, total),
    )
    render_segment(whole, base_dir=media.dir, pointers={}, on_progress=None, cancel=None, timeout=60)
    ranged_sum = audio_samples(joined)
    single_sum = audio_samples(whole.outputs[0].path)
    assert ranged_sum.shape == single_sum.shape == (total, 2)
    assert np.abs(single_sum).max() > 0.05  # something sounds
    # Bit for bit: no click, no drift, at any range boundary.
    assert ranged_sum.tobytes() == single_sum.tobytes()

    # And through the whole render: normalised and encoded once, as one pass does.
    joined_render = render_edit(
        edit, out_dir=tmp_path / "seg", base_dir=media.dir, work_dir=tmp_path / "ws", segmenting=RANGED
    )
    assert joined_render.plan.segmented is not None and joined_render.plan.segmented.audio_ranges
    single = render_edit(
        edit, out_dir=tmp_path / "one", base_dir=media.dir, work_dir=tmp_path / "wo", segmenting=ONE_PASS
    )
    a, b = audio_samples(joined_render.outputs[0].path), audio_samples(single.outputs[0].path)
    assert a.shape == b.shape and np.array_equal(a, b)
    assert not list((tmp_path / "ws" / "segments").rglob("*.wav")), "range files and their sum are removed"


def test_a_mix_where_voices_duck_music_is_not_made_in_ranges(media: MediaFiles, tmp_path: Path) -> None:
    doc = twelve_clip_edit(media)
    doc["timeline"]["soundtrack"]["role"] = "music"
    doc["timeline"]["tracks"][2]["clips"][0]["asset"]["role"] = "voice"
    plan = plan_edit(
        parse_edit(doc),
        resolver=LocalResolver(media.dir),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "w",
        segmenting=RANGED,
    )
    assert plan.segmented is not None and not plan.segmented.audio_ranges


SPLIT = SegmentPolicy(min_inputs=1, max_clips=3, max_seconds=1.0, split_clips=True)


def test_a_stretch_with_no_cut_is_split_inside_clips_that_allow_it() -> None:
    def colour(c: str, length: str, **extra: Any) -> dict[str, Any]:
        return {"asset": {"type": "color", "color": c}, "length": length, **extra}

    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        colour("red", "60f"),
                        colour("blue", "40f", transition={"type": "fade", "duration": "10f"}),
                        colour("green", "60f", keyframes={"opacity": [{"time": 0, "value": 1}]}),
                    ]
                }
            ]
        },
        "outputs": [{"width": 160, "height": 90, "fps": 25}],
    }
    timeline = resolve_timeline(parse_edit(doc), Fraction(25))
    # red 0-60, blue 50-90 (crossfading 50-60), green (animated: never split) 90-150.
    # 25 inside red; not 50, where blue's crossfade begins (red's part would be no longer than
    # it), but 49; 74 inside blue; the cut at 90; then green whole.
    assert segment_bounds(timeline, SPLIT) == [0, 25, 49, 74, 90, 150]
    # Without splitting, only the cut at 90.
    assert segment_bounds(timeline, replace(SPLIT, split_clips=False)) == [0, 90, 150]

    # red 0-10, blue 5-25 (crossfading 5-10), green 20-40 (crossfading 20-25); 22 frames at most.
    # 22 is inside green's crossfade: the split falls back to 19, just before it begins.
    doc["timeline"]["tracks"][0]["clips"] = [  # type: ignore[index]
        colour("red", "10f"),
        colour("blue", "20f", transition={"type": "fade", "duration": "5f"}),
        colour("green", "20f", transition={"type": "fade", "duration": "5f"}),
    ]
    timeline = resolve_timeline(parse_edit(doc), Fraction(25))
    assert segment_bounds(timeline, replace(SPLIT, max_seconds=0.88)) == [0, 19, 40]


def test_a_clip_split_across_segments_shows_the_frames_of_one_pass(media: MediaFiles, tmp_path: Path) -> None:
    long = media.video(duration=4.0, tone_hz=350)
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": str(long), "trim": 0.3}, "length": 3.2},
                        {"asset": {"type": "image", "src": str(media.image())}, "length": 0.96,
                         "transition": {"type": "fade", "duration": 0.2}},
                    ]
                }
            ]
        },
        "outputs": [{"width": 320, "height": 180, "fps": 25, "quality": "high"}],
    }  # fmt: skip
    edit = parse_edit(doc)
    joined = render_edit(
        edit, out_dir=tmp_path / "seg", base_dir=media.dir, work_dir=tmp_path / "ws", segmenting=SPLIT
    )
    segmented = joined.plan.segmented
    assert segmented is not None
    # The 3.2 s clip (80 frames) in parts of 25 frames, but not at 75, where the image's
    # crossfade (75-80) would be as long as the clip's part: at 74; the rest (25 frames) whole.
    assert [s.start_frame for s in segmented.segments] == [0, 25, 50, 74]
    single = render_edit(edit, out_dir=tmp_path / "one", base_dir=media.dir, segmenting=ONE_PASS)
    a, b = video_frames(joined.outputs[0].path), video_frames(single.outputs[0].path)
    assert len(a) == len(b) == 99
    # Each part seeks into the clip at its offset: every frame is the one-pass frame, not a
    # neighbour (the test source changes every frame).
    for n in range(1, 79):
        same = np.abs(a[n].astype(int) - b[n].astype(int)).mean()
        assert same < np.abs(a[n].astype(int) - b[n - 1].astype(int)).mean(), n
        assert same < np.abs(a[n].astype(int) - b[n + 1].astype(int)).mean(), n
    ssim = ssim_per_frame(joined.outputs[0].path, single.outputs[0].path)
    at_seams = [min(ssim[f - 1], ssim[f]) for f in (25, 50, 74)]
    # No seam: the frames on either side of each join are as close to one pass as the frames
    # elsewhere (re-encoding this busy 320x180 source differs from one pass by SSIM 0.98-0.99
    # on every frame, seam or not).
    seams = {f + d for f in (25, 50, 74) for d in (-1, 0)}
    elsewhere = [v for n, v in enumerate(ssim) if n not in seams]
    assert min(at_seams) >= min(elsewhere) - 0.001 and min(at_seams) >= 0.98, (at_seams, min(elsewhere))
    assert np.array_equal(audio_samples(joined.outputs[0].path), audio_samples(single.outputs[0].path))


def test_a_clip_held_past_its_source_s_end_is_split_only_where_the_source_lasts(
    media: MediaFiles, tmp_path: Path
) -> None:
    short = media.video(duration=1.0, tone_hz=370)  # 25 frames
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": str(short), "freeze": True},
                                            "length": "60f"}]}]},
        "outputs": [{"width": 320, "height": 180, "fps": 25, "quality": "high"}],
    }  # fmt: skip
    edit = parse_edit(doc)
    timeline = resolve_timeline(edit, Fraction(25))
    # Frame 24 shows the source's last frame; a part from 25 on would seek past its end.
    assert segment_bounds(timeline, SPLIT, {str(short): Fraction(1)}) == [0, 24, 60]
    doc["timeline"]["tracks"][0]["clips"][0]["asset"]["freeze"] = False  # type: ignore[index]
    padded = resolve_timeline(parse_edit(doc), Fraction(25))
    assert segment_bounds(padded, SPLIT, {str(short): Fraction(1)}) == [0, 24, 60]

    joined = render_edit(
        edit, out_dir=tmp_path / "seg", base_dir=media.dir, work_dir=tmp_path / "ws", segmenting=SPLIT
    )
    segmented = joined.plan.segmented
    assert segmented is not None, "the held clip still renders in segments"
    assert [s.start_frame for s in segmented.segments] == [0, 24]
    single = render_edit(edit, out_dir=tmp_path / "one", base_dir=media.dir, segmenting=ONE_PASS)
    a, b = video_frames(joined.outputs[0].path), video_frames(single.outputs[0].path)
    assert len(a) == len(b) == 60

    def diff(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.abs(x.astype(int) - y.astype(int)).mean())

    for n in range(1, 24):
        assert diff(a[n], b[n]) < min(diff(a[n], b[n - 1]), diff(a[n], b[n + 1])), n
    # From the split on, the source's last frame, held: one pass's held frame, not the one before.
    assert diff(b[24], b[59]) < 1 < diff(b[23], b[59])
    for n in range(24, 60):
        assert diff(a[n], b[n]) < diff(a[n], b[23]), n
    assert np.array_equal(audio_samples(joined.outputs[0].path), audio_samples(single.outputs[0].path))
