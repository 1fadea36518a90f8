"""The benchmark edit in MoviePy 2, run as its own process: ``python bench_moviepy.py SPEC.json``.

``render_bench.py`` writes the spec (paths and sizes) and times this script like the other
contenders. MoviePy is optional (the ``bench`` extra): without it this exits with status 3.

MoviePy has no saturation effect, so the clips go through a NumPy function that scales each
pixel's distance from its luma by the same factor as FFmpeg's ``eq=saturation``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NOT_INSTALLED = 3


def _saturate(factor: float) -> Any:
    import numpy as np

    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)

    def apply(frame: Any) -> Any:
        rgb = frame.astype(np.float32)
        luma = rgb @ weights
        out = luma[..., None] + factor * (rgb - luma[..., None])
        return np.clip(out, 0, 255).astype(np.uint8)

    return apply


def render(spec: dict[str, Any]) -> None:
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        TextClip,
        VideoFileClip,
        afx,
        vfx,
    )
    from moviepy.video.tools.subtitles import SubtitlesClip

    w, h = spec["width"], spec["height"]
    n, t, total = spec["clip_length"], spec["transition"], spec["total"]
    saturate = _saturate(spec["saturation"])
    trims = (1, 0, 1)
    layers: list[Any] = []
    for i, (path, trim) in enumerate(zip(spec["clips"], trims, strict=True)):
        clip = VideoFileClip(path).subclipped(trim, trim + n).image_transform(saturate)
        start = i * (n - t)
        audio_fx = []
        if i > 0:  # crossfade in from the previous clip, picture and sound
            clip = clip.with_effects([vfx.CrossFadeIn(t)])
            audio_fx.append(afx.AudioFadeIn(t))
        if i < 2:
            audio_fx.append(afx.AudioFadeOut(t))
        clip = clip.with_effects(audio_fx)
        layers.append(clip.with_start(start))
    lw = spec["logo_size"][0]
    layers.append(
        ImageClip(spec["logo"])
        .with_duration(total)
        .with_opacity(spec["logo_opacity"])
        .with_position((w - lw - spec["margin_x"], spec["margin_y"]))
    )
    # MoviePy sizes a label by its ascent only; a margin keeps descenders ("g", "y") whole.
    title = TextClip(
        font=spec["font_file"],
        text=spec["title"],
        font_size=spec["title_size"],
        color="white",
        margin=(2, round(spec["title_size"] * 0.25)),
    )
    fade = spec["title_fade"]
    layers.append(
        title.with_duration(spec["title_length"])
        .with_position("center")
        .with_effects([vfx.CrossFadeIn(fade), vfx.CrossFadeOut(fade)])
    )

    def caption(text: str) -> Any:
        return TextClip(
            font=spec["font_file"],
            text=text,
            font_size=spec["caption_size"],
            color="white",
            stroke_color="black",
            stroke_width=max(1, round(spec["caption_size"] * 0.06)),
            margin=(2, round(spec["caption_size"] * 0.25)),
        )

    subtitles = SubtitlesClip(spec["captions"], make_textclip=caption, encoding="utf-8")
    layers.append(
        subtitles.with_position(
            ("center", round(h * (1 - spec["caption_margin"]) - spec["caption_size"] * 1.3))
        )
    )
    video = CompositeVideoClip(layers, size=(w, h)).with_duration(total)
    music = (
        AudioFileClip(spec["music"])
        .subclipped(0, total)
        .with_effects(
            [afx.MultiplyVolume(10 ** (spec["music_db"] / 20)), afx.AudioFadeOut(spec["music_fade_out"])]
        )
    )
    video = video.with_audio(CompositeAudioClip([video.audio, music]).with_duration(total))
    video.write_videofile(
        spec["out"],
        fps=spec["fps"],
        codec="libx264",
        preset=spec["preset"],
        audio_codec="aac",
        audio_bitrate=spec["audio_bitrate"],
        audio_fps=48000,
        ffmpeg_params=["-crf", str(spec["crf"])],
        pixel_format="yuv420p",
        temp_audiofile=str(Path(spec["out"]).with_suffix(".temp-audio.m4a")),
        logger=None,
    )


def main(argv: list[str]) -> int:
    try:
        import moviepy  # noqa: F401
    except ImportError:
        print("moviepy not installed", file=sys.stderr)
        return NOT_INSTALLED
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    render(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
