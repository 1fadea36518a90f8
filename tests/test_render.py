"""End-to-end renders with the real FFmpeg: frame-exact cuts, outputs, audio, fidelity."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from frames import audio_samples, close, integrated_loudness, mean_rgb, video_frames
from reelforge.edit.errors import EditError
from reelforge.edit.validate import parse_edit
from reelforge.ffmpeg.probe import probe
from reelforge.render.engine import RenderResult, render_edit
from reelforge.render.sources import LocalResolver

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 128, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def render(doc: dict[str, Any], tmp_path: Path, *roots: Path, **kwargs: Any) -> RenderResult:
    edit = parse_edit(doc)
    resolver = LocalResolver(tmp_path, [tmp_path, *roots])
    return render_edit(edit, out_dir=tmp_path / "out", base_dir=tmp_path, resolver=resolver, **kwargs)


def small(**extra: Any) -> dict[str, Any]:
    return {"width": 320, "height": 180, "fps": 25, "quality": "draft", **extra}


def colour_clip(color: str, length: Any, **extra: Any) -> dict[str, Any]:
    return {"asset": {"type": "color", "color": color}, "length": length, **extra}


def test_cuts_land_on_exact_frames(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        colour_clip("red", "10f"),
                        colour_clip("#008000", 0.4),
                        colour_clip("blue", "00:00:00.480"),
                    ]
                }
            ]
        },
        "outputs": [small(audio=False)],
    }
    result = render(doc, tmp_path)
    frames = video_frames(result.outputs[0].path)
    assert len(frames) == 10 + 10 + 12
    for index, expected in [(0, RED), (9, RED), (10, GREEN), (19, GREEN), (20, BLUE), (31, BLUE)]:
        assert close(mean_rgb(frames[index]), expected), (index, mean_rgb(frames[index]))


@pytest.mark.parametrize("fps", ["23.976", "29.97"])
def test_ntsc_rates_are_exact(tmp_path: Path, fps: str) -> None:
    doc = {
        "timeline": {"tracks": [{"clips": [colour_clip("red", 1), colour_clip("blue", 1)]}]},
        "outputs": [small(fps=fps, audio=False, format="mp4")],
    }
    result = render(doc, tmp_path)
    info = result.outputs[0].info
    assert info.fps == {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001)}[fps]
    frames = video_frames(result.outputs[0].path)
    per_clip = round(float(info.fps))  # 1 s at 23.976 is 24 frames (rounded), at 29.97 is 30
    assert len(frames) == 2 * per_clip
    assert close(mean_rgb(frames[per_clip - 1]), RED) and close(mean_rgb(frames[per_clip]), BLUE)


def test_video_trim_and_auto_length(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=2, fps=25)
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": str(src), "trim": 0.5}}]}]},
        "outputs": [small()],
    }
    result = render(doc, tmp_path, media.dir)
    frames = video_frames(result.outputs[0].path)
    assert len(frames) == 37  # 1.5 s of a 2 s source, less the floor of the source's own end
    assert result.outputs[0].info.has_audio


def test_three_aspect_ratios_from_one_run(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=1, size=(320, 180))
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {"type": "video", "src": str(src)},
                            "fit": "cover",
                            "effects": {"saturation": 0, "blur": 2},
                        }
                    ]
                }
            ]
        },
        "outputs": [
            {"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft", "fps": 25},
            {"aspect_ratio": "1:1", "resolution": "360p", "quality": "draft", "fps": 25},
            {"aspect_ratio": "9:16", "resolution": "360p", "quality": "draft", "fps": 25},
        ],
    }
    result = render(doc, tmp_path, media.dir)
    sizes = [(o.info.width, o.info.height) for o in result.outputs]
    assert sizes == [(640, 360), (360, 360), (360, 640)]
    graph = result.plan.graph
    # One decode of the source, split to the three outputs; colour applied once before the split,
    # blur (which depends on each canvas) once per output.
    assert len(result.plan.inputs) == 1 and "split=3" in graph
    assert graph.count("eq=") == 1 and graph.count("gblur") == 3
    for o in result.outputs:
        r, g, b = mean_rgb(video_frames(o.path)[5])
        assert abs(r - g) < 6 and abs(g - b) < 6  # saturation 0: grey in every output
    for o in result.outputs:
        assert o.info.duration is not None and abs(float(o.info.duration) - 1.0) < 0.05


def test_audio_ends_with_the_video_and_is_normalised(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=2, fps=25)
    music = media.audio(duration=3, tone_hz=220)
    doc = {
        "timeline": {
            "tracks": [{"clips": [{"asset": {"type": "video", "src": str(src)}, "length": 1.6}]}],
            "soundtrack": {"src": str(music), "volume": "-12dB", "fade_out": 0.5},
        },
        "outputs": [small(format="mov", codec="h264")],
    }
    result = render(doc, tmp_path, media.dir)
    path = result.outputs[0].path
    samples = audio_samples(path)
    assert abs(len(samples) / 48000 - 1.6) <= 1024 / 48000
    assert abs(integrated_loudness(path) - (-14)) <= 1.0


def test_output_formats(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=1)
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": str(src)}}]}]},
        "outputs": [
            small(name="h265", codec="h265"),
            small(name="vp9", format="webm"),
            small(name="prores", format="mov", codec="prores"),
            small(name="anim", format="gif"),
            {"name": "sound", "format": "mp3"},
            {"name": "sound", "format": "m4a"},
            {"name": "sound", "format": "wav"},
            small(name="still", format="png", time=0.5),
            small(name="still", format="jpg", time=0.5),
        ],
    }
    result = render(doc, tmp_path, media.dir)
    infos = {o.path.name: o.info for o in result.outputs}
    assert infos["h265.mp4"].video_codec == "hevc"
    assert infos["vp9.webm"].video_codec == "vp9" and infos["vp9.webm"].audio_codec == "opus"
    assert infos["prores.mov"].video_codec == "prores"
    assert infos["anim.gif"].kind == "video" and infos["anim.gif"].video_codec == "gif"
    assert infos["sound.mp3"].audio_codec == "mp3" and not infos["sound.mp3"].has_video
    assert infos["sound.m4a"].audio_codec == "aac"
    assert infos["sound.wav"].audio_codec == "pcm_s16le"
    assert infos["still.png"].kind == "image" and infos["still.png"].width == 320
    assert infos["still.jpg"].kind == "image"


def test_an_edit_of_video_clips_renders_to_sound_alone(tmp_path: Path, media: Any) -> None:
    # With no picture output, a video clip's picture has no user: only its sound is mixed.
    clips = [
        {"asset": {"type": "video", "src": str(media.video(duration=1, tone_hz=hz))}, "length": 0.8}
        for hz in (330, 550)
    ]
    clips[1]["transition"] = {"type": "fade", "duration": 0.2}
    doc = {
        "timeline": {"tracks": [{"clips": clips}]},
        "outputs": [{"name": "sound", "format": "m4a", "fps": 25}],
        "audio": {"loudness": None},
    }
    result = render(doc, tmp_path, media.dir)
    (output,) = result.outputs
    assert output.info.audio_codec == "aac" and not output.info.has_video
    samples = audio_samples(output.path)
    assert abs(len(samples) / 48000 - 1.4) <= 1024 / 48000
    assert np.abs(samples).max() > 0.05


def test_range_poster_thumbnail_and_watermark(tmp_path: Path, media: Any) -> None:
    logo = media.image(size=(64, 64), color="white")
    doc = {
        "timeline": {"tracks": [{"clips": [colour_clip("red", 1), colour_clip("blue", 1)]}]},
        "outputs": [
            small(
                range={"start": 0.6, "length": 0.8},
                audio=False,
                poster={"time": 0.6, "format": "png"},
                thumbnail={"time": 0, "width": 160},
                watermark={"src": str(logo), "anchor": "top-left", "width": 0.2, "margin": 0, "opacity": 1},
            )
        ],
    }
    result = render(doc, tmp_path, media.dir)
    out = result.outputs[0]
    frames = video_frames(out.path)
    assert len(frames) == 20
    assert close(mean_rgb(frames[0][100:, 100:]), RED) and close(mean_rgb(frames[-1][100:, 100:]), BLUE)
    assert close(mean_rgb(frames[0][2:30, 2:60]), WHITE)  # the watermark, top-left
    assert out.poster is not None and out.thumbnail is not None
    poster = probe(out.poster)
    assert (poster.width, poster.height) == (320, 180)
    assert probe(out.thumbnail).width == 160
    poster_frame = video_frames(out.poster, size=(320, 180))[0]
    assert close(mean_rgb(poster_frame[100:, 100:]), BLUE)


def test_bad_media_is_named_before_rendering(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a video")
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": "missing.mp4"}},
                        {"asset": {"type": "video", "src": "notes.txt"}},
                        {"asset": {"type": "image", "src": "../../etc/passwd"}},
                    ]
                }
            ]
        },
        "outputs": [small()],
    }
    with pytest.raises(EditError) as info:
        render(doc, tmp_path)
    pointers = {p.pointer for p in info.value.problems}
    assert pointers == {f"/timeline/tracks/0/clips/{i}/asset/src" for i in range(3)}
    assert not (tmp_path / "out" / "render.mp4").exists()


def test_layers_paint_bottom_to_top_with_layout(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "background": "black",
            "tracks": [
                {"clips": [colour_clip("red", 1)]},
                {"clips": [colour_clip("blue", 1, width=0.5, height=0.5, anchor="top-left")]},
                {
                    "clips": [
                        colour_clip("white", 1, width=0.25, height=0.25, anchor="bottom-right", opacity=0.5)
                    ]
                },
            ],
        },
        "outputs": [small(audio=False)],
    }
    frame = video_frames(render(doc, tmp_path).outputs[0].path)[0]
    assert close(mean_rgb(frame[10:80, 10:150]), BLUE)
    assert close(mean_rgb(frame[100:170, 170:230]), RED)
    assert close(mean_rgb(frame[150:175, 250:315]), (255, 128, 128), tol=30)


@pytest.mark.parametrize("fit,expect_bars", [("contain", True), ("cover", False), ("blur", False)])
def test_fit_in_portrait_output(tmp_path: Path, media: Any, fit: str, expect_bars: bool) -> None:
    src = media.video(duration=0.4, color="white", size=(320, 180))
    doc = {
        "timeline": {
            "background": "black",
            "tracks": [{"clips": [{"asset": {"type": "video", "src": str(src)}, "fit": fit}]}],
        },
        "outputs": [{"width": 180, "height": 320, "fps": 25, "quality": "draft"}],
    }
    frame = video_frames(render(doc, tmp_path, media.dir).outputs[0].path)[0]
    top = mean_rgb(frame[:40])
    assert close(top, BLACK) == expect_bars
    assert close(mean_rgb(frame[150:170]), WHITE)


def test_hostile_text_and_paths_stay_inert(tmp_path: Path, media: Any) -> None:
    weird_dir = tmp_path / "a dir: with [brackets], 'quotes'; and %{pts}"
    weird_dir.mkdir()
    logo = weird_dir / "lo'go;[x].png"
    logo.write_bytes(media.image(size=(32, 32), color="white").read_bytes())
    hostile = "'; drawtext=text=pwned:fontsize=200 [x]; %{pts} %{eif:n:d} \\ {\\fs300} :,"
    doc = {
        "timeline": {
            "tracks": [
                {"clips": [colour_clip("black", 0.4)]},
                {"clips": [{"asset": {"type": "text", "text": hostile}, "length": 0.4}]},
                {
                    "clips": [
                        {
                            "asset": {"type": "image", "src": str(logo.relative_to(tmp_path))},
                            "length": 0.4,
                            "fit": "none",
                            "anchor": "top-left",
                        }
                    ]
                },
                {
                    "clips": [
                        {"asset": {"type": "caption", "cues": [{"start": 0, "end": 0.4, "text": hostile}]}}
                    ]
                },
            ]
        },
        "outputs": [small(audio=False)],
    }
    result = render(doc, tmp_path)
    assert result.outputs[0].info.width == 320
    # User text never reaches the filter graph (it is drawn to an image or an escaped script),
    # and the oddly named file reaches FFmpeg only as an input path, never as filter syntax.
    graph = result.plan.graph
    assert "pwned" not in graph and "drawtext" not in graph and "%{" not in graph
    assert str(logo) in [path for path, _ in result.plan.inputs]
    frame = video_frames(result.outputs[0].path)[0]
    assert close(mean_rgb(frame[2:30, 2:30]), WHITE)  # the oddly named file was read as a file


def test_cancel_removes_partial_outputs(tmp_path: Path) -> None:
    from reelforge.ffmpeg.runner import CancelToken, RenderCancelled

    token = CancelToken()
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "red"}, "length": 120, "effects": {"blur": 20}}
                    ]
                }
            ]
        },
        "outputs": [{"resolution": "720p", "fps": 25, "quality": "max", "audio": False}],
    }

    def on_progress(p: Any) -> None:
        if p.frame > 5:
            token.cancel()

    with pytest.raises(RenderCancelled):
        render(doc, tmp_path, on_progress=on_progress, cancel=token)
    assert list((tmp_path / "out").glob("*.mp4")) == []


def test_sidecar_subtitles_are_written(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "tracks": [
                {"clips": [colour_clip("black", 2)]},
                {
                    "clips": [
                        {
                            "start": 0.4,
                            "length": "end",
                            "asset": {
                                "type": "caption",
                                "sidecar": ["srt", "vtt"],
                                "cues": [{"start": 0, "end": 1, "text": "Hello"}],
                            },
                        }
                    ]
                },
            ]
        },
        "outputs": [small(audio=False)],
    }
    out = render(doc, tmp_path).outputs[0]
    srt = out.path.with_suffix(".srt").read_text()
    assert "00:00:00,400 --> 00:00:01,400" in srt and "Hello" in srt
    assert out.path.with_suffix(".vtt").read_text().startswith("WEBVTT")


def test_transition_group_length_and_mix(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        colour_clip("red", 1),
                        colour_clip("blue", 1, transition={"type": "fade", "duration": 0.4}),
                    ]
                }
            ]
        },
        "outputs": [small(audio=False)],
    }
    result = render(doc, tmp_path)
    frames = video_frames(result.outputs[0].path)
    assert len(frames) == 25 + 25 - 10
    mid = mean_rgb(frames[20])
    assert mid[0] > 60 and mid[2] > 60  # both clips show mid-transition
    assert close(mean_rgb(frames[14]), RED) and close(mean_rgb(frames[25]), BLUE)


def test_still_image_and_text_and_shape(tmp_path: Path, media: Any) -> None:
    img = media.image(size=(160, 90), color="green")
    doc = {
        "timeline": {
            "background": "black",
            "tracks": [
                {"clips": [{"asset": {"type": "image", "src": str(img)}, "length": 0.4, "fit": "contain"}]},
                {
                    "clips": [
                        {
                            "asset": {"type": "shape", "shape": "rectangle", "fill": "yellow"},
                            "length": 0.4,
                            "width": 0.2,
                            "height": 0.2,
                            "anchor": "top-left",
                        }
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {"type": "text", "text": "HI", "style": {"size": 0.3, "color": "white"}},
                            "length": 0.4,
                            "anchor": "bottom-right",
                        }
                    ]
                },
            ],
        },
        "outputs": [small(audio=False)],
    }
    frame = video_frames(render(doc, tmp_path, media.dir).outputs[0].path)[0].astype(int)
    assert close(mean_rgb(frame[90:100, 150:170]), GREEN, tol=40)
    assert close(mean_rgb(frame[5:30, 5:55]), (255, 255, 0))
    bottom_right = frame[120:, 220:]
    assert (bottom_right.min(axis=2) > 200).sum() > 200  # white text ink


def test_every_problem_at_once_with_pointers() -> None:
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": "a.mp4", "speed": 9}, "length": "forever"},
                        {"asset": {"type": "text", "text": "x"}, "transition": {"type": "spin"}},
                    ]
                }
            ]
        },
        "outputs": [{"format": "webm", "codec": "h264"}, {"fps": 0}],
    }
    with pytest.raises(EditError) as info:
        parse_edit(doc)
    pointers = [p.pointer for p in info.value.problems]
    assert "/timeline/tracks/0/clips/0/asset/speed" in pointers
    assert "/timeline/tracks/0/clips/0/length" in pointers
    assert "/timeline/tracks/0/clips/1/transition/type" in pointers
    assert "/outputs/0" in pointers and "/outputs/1/fps" in pointers


def test_effects_keep_transparency_and_chroma_key(tmp_path: Path, media: Any) -> None:
    green = media.video(duration=0.4, color="0x00ff00")
    doc = {
        "timeline": {
            "tracks": [
                {"clips": [colour_clip("red", 0.4)]},
                {
                    "clips": [
                        {
                            "asset": {"type": "video", "src": str(green)},
                            "effects": {"chroma_key": {"color": "#00ff00"}},
                        }
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {"type": "text", "text": "A", "style": {"size": 0.2}},
                            "length": 0.4,
                            "anchor": "top-left",
                            "effects": {"vignette": {"strength": 0.8}},
                        }
                    ]
                },
            ]
        },
        "outputs": [small(audio=False)],
    }
    frame = video_frames(render(doc, tmp_path, media.dir).outputs[0].path)[0]
    # The green screen is keyed out and the text's clear area stays clear: red shows through.
    assert close(mean_rgb(frame[100:170, 100:300]), RED)
    assert close(mean_rgb(frame[0:4, 60:120]), RED)


def test_speed_loop_and_freeze(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=1, fps=25, source="testsrc2")
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": str(src), "speed": 2}},
                        {"asset": {"type": "video", "src": str(src), "loop": True}, "length": 1.6},
                        {"asset": {"type": "video", "src": str(src), "freeze": True}, "length": 1.4},
                    ]
                }
            ]
        },
        "outputs": [small()],
    }
    result = render(doc, tmp_path, media.dir)
    frames = video_frames(result.outputs[0].path).astype(int)
    assert len(frames) == 12 + 40 + 35  # 1 s at 2x is half a second (floored to whole frames)
    # Speed 2: output frame k shows source frame 2k.
    source = video_frames(src).astype(int)
    assert np.abs(frames[3] - source[6]).mean() < 6
    # Loop: 1.04 s into the looped clip the source starts again.
    assert np.abs(frames[12 + 26] - source[1]).mean() < 6
    # Freeze: the clip's last second holds the source's last frame.
    assert np.abs(frames[-1] - frames[-5]).mean() < 2
    assert np.abs(frames[-1] - source[-1]).mean() < 6
    samples = audio_samples(result.outputs[0].path)
    assert abs(len(samples) / 48000 - 87 / 25) <= 1024 / 48000


def test_crop_flip_and_rotate(tmp_path: Path, media: Any) -> None:
    # Left half red, right half blue.
    img = tmp_path / "halves.png"
    from PIL import Image

    im = Image.new("RGB", (200, 100), (255, 0, 0))
    im.paste((0, 0, 255), (100, 0, 200, 100))
    im.save(img)
    base = {"asset": {"type": "image", "src": "halves.png"}, "length": 0.2, "fit": "fill"}
    doc = {
        "timeline": {
            "background": "black",
            "tracks": [
                {
                    "clips": [
                        {**base, "flip": "horizontal", "width": 0.5, "height": 0.5, "anchor": "top-left"}
                    ]
                },
                {
                    "clips": [
                        {**base, "crop": {"right": 0.5}, "width": 0.5, "height": 0.5, "anchor": "top-right"}
                    ]
                },
                {"clips": [{**base, "rotate": 180, "width": 0.5, "height": 0.5, "anchor": "bottom-left"}]},
            ],
        },
        "outputs": [small(audio=False)],
    }
    frame = video_frames(render(doc, tmp_path).outputs[0].path)[0]
    assert close(mean_rgb(frame[10:80, 5:70]), BLUE) and close(mean_rgb(frame[10:80, 90:155]), RED)  # flipped
    assert close(mean_rgb(frame[10:80, 165:315]), RED)  # only the red half is left after the crop
    assert close(mean_rgb(frame[100:170, 5:70]), BLUE)  # rotated half a turn


def test_keyframed_offset_moves_the_sprite(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "background": "black",
            "tracks": [
                {
                    "clips": [
                        colour_clip(
                            "white",
                            1,
                            width=0.1,
                            height=0.1,
                            anchor="left",
                            keyframes={"offset_x": [{"time": 0, "value": 0}, {"time": 1, "value": 0.9}]},
                        ),
                    ]
                }
            ],
        },
        "outputs": [small(audio=False)],
    }
    frames = video_frames(render(doc, tmp_path).outputs[0].path)
    xs = [int(np.argmax(f[90, :, 0] > 128)) for f in frames]
    assert xs[0] < 4 and 130 <= xs[12] <= 160 and xs[-1] > 270
    assert all(b >= a for a, b in itertools.pairwise(xs))


def test_typewriter_reveals_text_over_time(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "background": "black",
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "TYPEWRITER",
                                "style": {"size": 0.15},
                                "animation_in": {"type": "typewriter", "duration": 0.8},
                            },
                            "length": 1.2,
                        },
                    ]
                }
            ],
        },
        "outputs": [small(audio=False)],
    }
    frames = video_frames(render(doc, tmp_path).outputs[0].path).astype(int)
    ink = [(f.min(axis=2) > 200).sum() for f in frames]
    assert ink[0] == 0 and ink[-1] > 300
    assert ink[5] < ink[12] < ink[20] and abs(ink[20] - ink[-1]) < 0.02 * ink[-1]


def _frame_diff(a: Path, b: Path) -> tuple[int, int, float, float]:
    """Frame counts of two videos, the mean difference of their pixels, and the PSNR (dB) of
    their most different frame."""
    fa, fb = video_frames(a), video_frames(b)
    assert fa.shape == fb.shape, (fa.shape, fb.shape)
    diff = fa.astype(np.float64) - fb.astype(np.float64)
    mse = (diff**2).reshape(len(fa), -1).mean(axis=1)
    worst = float(10 * np.log10(255**2 / max(float(mse.max()), 1e-10)))
    return len(fa), len(fb), float(np.abs(diff).mean()), worst


def _fade_per_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compile with each output timing and cross-fading its own copy of each clip (colour and
    the conversion to 4:4:4 still run once, before the split)."""
    from reelforge.render import compile as compiler

    monkeypatch.setattr(compiler._Compiler, "_crossfade_before_split", lambda self, group: False)
    shared_fps = property(lambda self: None, lambda self, value: None)
    monkeypatch.setattr(compiler._Compiler, "shared_fps", shared_fps, raising=False)


@pytest.mark.parametrize(
    ("source_fps", "extra"),
    [
        (25, {}),
        # Another frame rate than the output's, a speed and a crop: all timed and cut once.
        (30, {"speed": 2, "crop": {"left": 0.1, "top": 0.05}}),
    ],
)
def test_fades_between_footage_run_once_before_the_split(
    tmp_path: Path, media: Any, monkeypatch: pytest.MonkeyPatch, source_fps: int, extra: dict[str, Any]
) -> None:
    # Fades between full-frame footage are per pixel: they run once, on the sources, and each
    # output crops and scales the faded picture straight to 4:2:0, as a hand-written graph does.
    a = media.video(duration=3, size=(320, 180), fps=source_fps)
    b = media.video(duration=3, size=(320, 180), fps=source_fps, source="smptehdbars")
    fade = {"type": "fade", "duration": 0.4}
    speed = extra.get("speed", 1)
    crop = {"crop": extra["crop"]} if "crop" in extra else {}

    def clip(src: Path, **more: Any) -> dict[str, Any]:
        asset = {"type": "video", "src": str(src), "speed": speed}
        return {"asset": asset, "length": 1, "effects": {"saturation": 1.5}, **crop, **more}

    frames = 25 + 25 - 10
    doc = {
        "timeline": {"tracks": [{"clips": [clip(a), clip(b, transition=fade)]}]},
        "outputs": [
            # Lossless, so that the pictures are compared and not the encoder's choices.
            {"name": n, "aspect_ratio": r, "resolution": "360p", "crf": 0, "fps": 25, "audio": False}
            for n, r in (("wide", "16:9"), ("square", "1:1"), ("story", "9:16"))
        ],
    }
    once = render(doc, tmp_path / "once", media.dir)
    graph = once.plan.graph
    # One chain per clip (timing, colour in 4:2:0, one conversion), one xfade, one split.
    assert graph.count("xfade=") == 1 and graph.count("split=3") == 1
    assert graph.count("tpad=") == 2 and graph.count("eq=saturation=1.5,scale,format=yuv444p") == 2
    # Each output's share: crop and scale straight to 4:2:0, nothing else.
    assert graph.count("format=yuv420p[c0_0_o") == 3
    _fade_per_output(monkeypatch)
    per_output = render(doc, tmp_path / "per-output", media.dir)
    assert per_output.plan.graph.count("xfade=") == 3 and per_output.plan.graph.count("tpad=") == 6
    for x, y in zip(once.outputs, per_output.outputs, strict=True):
        n_x, n_y, mean, worst_psnr = _frame_diff(x.path, y.path)
        assert n_x == n_y == frames
        # The same crops and fades; the chroma is resampled once rather than twice where an
        # output scales: differences of rounding only.
        assert mean < 0.5 and worst_psnr > 42, (x.path.name, mean, worst_psnr)


@pytest.mark.parametrize(
    ("outputs", "extra", "transition", "xfades", "converted_before_split"),
    [
        (3, {}, "fade", 1, 2),
        (3, {}, "fade-black", 1, 2),
        (1, {}, "fade", 1, 0),  # one output: nothing to share
        # Laid out on each canvas: a wipe on the source is not a wipe on a 9:16 crop of it.
        (3, {}, "wipe-left", 3, 2),
        (3, {}, "dissolve", 3, 2),
        (3, {"effects": {"blur": 2}}, "fade", 3, 0),  # blur per output would run on 4:4:4
        (3, {"opacity": 0.5}, "fade", 3, 0),
        (3, {"fit": "contain"}, "fade", 3, 2),  # not the whole canvas: placed per output
        (3, {"scale": 0.5}, "fade", 3, 2),
    ],
)
def test_which_crossfades_run_before_the_split(
    tmp_path: Path,
    media: Any,
    outputs: int,
    extra: dict[str, Any],
    transition: str,
    xfades: int,
    converted_before_split: int,
) -> None:
    src = media.video(duration=1, size=(320, 180))
    fade = {"type": transition, "duration": 0.4}
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": str(src)}, **extra},
                        {"asset": {"type": "video", "src": str(src)}, "transition": fade, **extra},
                    ]
                }
            ]
        },
        "outputs": [
            {"aspect_ratio": r, "resolution": "360p", "fps": 25} for r in ("16:9", "1:1", "9:16")[:outputs]
        ],
    }
    graph = _plan(doc, tmp_path, media).graph
    assert graph.count("xfade=") == xfades
    assert graph.count("scale,format=yuv444p") == converted_before_split


def test_each_output_scales_the_shared_fade_to_its_own_pixel_format(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=1, size=(320, 180))
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": str(src)}},
                        {"asset": {"type": "video", "src": str(src)}, "transition": {"type": "fade"}},
                    ]
                }
            ]
        },
        "outputs": [
            {"aspect_ratio": "9:16", "resolution": "360p", "fps": 25},
            {"format": "mov", "codec": "prores", "aspect_ratio": "1:1", "resolution": "360p", "fps": 25},
        ],
    }
    graph = _plan(doc, tmp_path, media).graph
    assert graph.count("xfade=") == 1
    assert "crop=102:180:108:0,scale=360:640,format=yuv420p[" in graph
    assert "crop=180:180:70:0,scale=360:360,format=yuv422p[" in graph


def test_outputs_at_different_rates_time_and_fade_their_own_copies(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=1, size=(320, 180))
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": str(src)}},
                        {"asset": {"type": "video", "src": str(src)}, "transition": {"type": "fade"}},
                        {"asset": {"type": "video", "src": str(src)}},
                    ]
                }
            ]
        },
        "outputs": [
            {"aspect_ratio": "16:9", "resolution": "360p", "fps": 25},
            {"aspect_ratio": "9:16", "resolution": "360p", "fps": 30},
        ],
    }
    graph = _plan(doc, tmp_path, media).graph
    # Each rate has its own frame grid, so timing and fades are per output (the decode is shared).
    assert graph.count("xfade=") == 2 and graph.count("tpad=") == 6 and graph.count("]split=2") == 3


def test_a_lone_clip_is_timed_once_for_every_output(tmp_path: Path, media: Any) -> None:
    src = media.video(duration=1, size=(320, 180))
    doc = {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": str(src), "speed": 2}}]}]},
        "outputs": [{"aspect_ratio": r, "resolution": "360p", "fps": 30} for r in ("16:9", "1:1", "9:16")],
    }
    graph = _plan(doc, tmp_path, media).graph
    assert graph.count("tpad=") == 1 and graph.count("fps=30/1") == 1 and graph.count("]split=3") == 1


def _plan(doc: dict[str, Any], tmp_path: Path, media: Any) -> Any:
    from reelforge.render.engine import plan_edit

    return plan_edit(
        parse_edit(doc),
        resolver=LocalResolver(tmp_path, [tmp_path, media.dir]),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "work",
    )


class CountingResolver(LocalResolver):
    """A resolver that counts its calls: the plan must resolve each source once."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[str] = []

    def resolve(self, src: str) -> Path:
        self.calls.append(src)
        return super().resolve(src)


@pytest.mark.parametrize("loudness", [None, {"target": -16}])
def test_a_render_resolves_probes_and_compiles_once(
    tmp_path: Path, media: Any, loudness: dict[str, Any] | None
) -> None:
    from reelforge.ffmpeg.probe import probe_cache
    from reelforge.render.audio import parse_loudnorm_json
    from reelforge.render.compile import compile_edit
    from reelforge.render.engine import plan_edit, render_plan

    video, logo = media.video(duration=1), media.image()
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": str(video)}},
                        {"asset": {"type": "video", "src": str(video)}},
                    ]
                },
                {"clips": [{"asset": {"type": "image", "src": str(logo)}, "length": 1, "width": 0.2}]},
            ]
        },
        "outputs": [small(), small(aspect_ratio="1:1", resolution="360p", width=None, height=None)],
        "audio": {"loudness": loudness},
    }
    resolver = CountingResolver(tmp_path, [tmp_path, media.dir])
    lookups = lambda: (lambda i: i.hits + i.misses)(probe_cache.cache_info())  # noqa: E731

    before = lookups()
    plan = plan_edit(parse_edit(doc), resolver=resolver, out_dir=tmp_path / "out", work_dir=tmp_path / "work")
    assert sorted(resolver.calls) == sorted({str(video), str(logo)})
    assert lookups() - before == 2  # one probe per source, though the video is used twice
    assert plan.sources[str(video)].info is not None

    before = lookups()
    result = render_plan(plan)
    assert len(resolver.calls) == 2  # running the plan resolves nothing
    assert lookups() - before == len(plan.outputs)  # it probes only what it made
    assert result.plan.sources is plan.sources
    if loudness is None:
        assert result.plan is plan  # compiled once: the plan that was printed is the one that ran
    else:
        # The measurement replaced the mix's last chain; nothing was compiled again...
        assert plan.loudness_passes and not result.plan.loudness_passes
        assert result.plan.inputs is plan.inputs and result.plan.artifacts is plan.artifacts
        changed = [i for i, (a, b) in enumerate(zip(plan.chains, result.plan.chains, strict=True)) if a != b]
        assert changed == [lp.tail.chain for lp in plan.loudness_passes]
        # ...and the graph is the one a compile with the measurement makes.
        measured = {
            lp.fps: parse_loudnorm_json(lp.stats.read_text(encoding="utf-8")) for lp in plan.loudness_passes
        }
        again = compile_edit(
            plan.edit, plan.sources, out_dir=plan.out_dir, work_dir=plan.work_dir, loudness=measured
        )
        assert result.plan.graph == again.graph and "volume=" in again.graph
    assert [o.path for o in result.outputs] == [o.path for o in plan.outputs]
