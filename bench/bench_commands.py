"""The benchmark edit, twice: as a Reelforge edit (JSON) and as hand-written FFmpeg commands.

Both sides describe the same video (see ``README.md``):

* clip 1 from 1 s (10 s), a 1 s crossfade into clip 2 (0-10 s), a 1 s crossfade into clip 3
  (1-11 s): 28 s in all; saturation 1.2 on the three clips; their audio crossfades too;
* the 400x200 logo top-right with a 40 px margin at 80 % opacity, for the whole video;
* a centred title for the first 3 s, fading in and out over 0.5 s;
* four SRT captions burned in;
* music at -12 dB under the clips' sound, fading out over the last 2 s;
* libx264 veryfast CRF 23 yuv420p at 30 fps, AAC 128k, MP4 with the index at the front.

Sizes are given for a 1920x1080 canvas and scale with the canvas (the logo is 400/1920 of
the canvas width, the title 96/1080 of its height), as Reelforge's fractions do.

The hand-written command is written the way an FFmpeg expert would write it: input seeking
(``-ss``/``-t``), ``eq`` once per source (before the per-output split when there are several
outputs), ``xfade`` twice, ``acrossfade`` twice, the logo made translucent once and
overlaid, ``drawtext`` with an alpha expression for the title, ``subtitles`` for the SRT,
the music through ``volume`` and ``afade``, and ``amix normalize=0``. For a canvas of
another shape the decoded source is cropped to the canvas's shape, then scaled (cover fit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_media import Media

__all__ = [
    "Canvas",
    "Look",
    "aspect_canvases",
    "encoder_args",
    "hand_command",
    "reelforge_edit",
]

SATURATION = 1.2
LOGO_OPACITY = 0.8
MUSIC_DB = -12
MUSIC_FADE_OUT = 2
TITLE_LENGTH = 3
TITLE_FADE = 0.5
CRF = 23
PRESET = "veryfast"
AUDIO_BITRATE = "128k"


@dataclass(frozen=True)
class Canvas:
    """One output: its file name (without suffix) and picture size."""

    name: str
    width: int
    height: int


def aspect_canvases(width: int, height: int) -> tuple[Canvas, Canvas, Canvas]:
    """16:9, 1:1 and 9:16 outputs whose shorter side is ``height`` (``width`` is the 16:9 one)."""
    return (
        Canvas("wide-16x9", width, height),
        Canvas("square-1x1", height, height),
        Canvas("story-9x16", height, width),
    )


@dataclass(frozen=True)
class Look:
    """The edit's sizes as fractions, measured on a 1920x1080 canvas (or the scale's own)."""

    title: str
    font_file: str
    logo_width: float
    """Fraction of the canvas width."""
    margin_x: float
    """Fraction of the canvas width."""
    margin_y: float
    """Fraction of the canvas height."""
    title_size: float = 96 / 1080
    """Fraction of the canvas height."""

    @classmethod
    def for_media(cls, media: Media, title: str, font_file: str) -> Look:
        w, h = media.scale.width, media.scale.height
        margin = 40 * w / 1920  # 40 px on a 1920-wide canvas
        return cls(title, font_file, media.logo_size[0] / w, margin / w, margin / h)


def even(value: float) -> int:
    """The nearest even whole number (4:2:0 video needs even sizes)."""
    return max(2, round(value / 2) * 2)


# ---------------------------------------------------------------------------------- Reelforge


def reelforge_edit(media: Media, look: Look, canvases: tuple[Canvas, ...]) -> dict[str, Any]:
    """The benchmark as a Reelforge edit, with ``src`` paths relative to ``media.dir``."""
    s = media.scale
    n, t = s.clip_length, s.transition
    saturation = {"saturation": SATURATION}
    fade = {"type": "fade", "duration": t}
    footage = [
        {
            "asset": {"type": "video", "src": media.clips[0].name, "trim": 1, "fade_out": t},
            "length": n,
            "effects": saturation,
        },
        {
            "asset": {"type": "video", "src": media.clips[1].name, "fade_in": t, "fade_out": t},
            "length": n,
            "effects": saturation,
            "transition": fade,
        },
        {
            "asset": {"type": "video", "src": media.clips[2].name, "trim": 1, "fade_in": t},
            "length": n,
            "effects": saturation,
            "transition": fade,
        },
    ]
    logo = {
        "asset": {"type": "image", "src": media.logo.name},
        "start": 0,
        "length": "end",
        "fit": "contain",
        "width": look.logo_width,
        "anchor": "top-right",
        "offset": {"x": -look.margin_x, "y": look.margin_y},
        "opacity": LOGO_OPACITY,
    }
    title = {
        "asset": {
            "type": "text",
            "text": look.title,
            "style": {"size": look.title_size, "color": "white"},
            "animation_in": {"type": "fade", "duration": TITLE_FADE},
            "animation_out": {"type": "fade", "duration": TITLE_FADE},
        },
        "start": 0,
        "length": TITLE_LENGTH,
    }
    captions = {"asset": {"type": "caption", "src": media.captions.name}, "start": 0, "length": "end"}
    return {
        "name": "bench",
        "timeline": {
            "tracks": [
                {"name": "footage", "clips": footage},
                {"name": "logo", "clips": [logo]},
                {"name": "title", "clips": [title]},
                {"name": "captions", "clips": [captions]},
            ],
            "soundtrack": {"src": media.music.name, "volume": f"{MUSIC_DB}dB", "fade_out": MUSIC_FADE_OUT},
        },
        "outputs": [
            {
                "name": c.name,
                "format": "mp4",
                "width": c.width,
                "height": c.height,
                "fps": s.fps,
                "preset": PRESET,
                "crf": CRF,
                "audio_bitrate": AUDIO_BITRATE,
            }
            for c in canvases
        ],
        # No loudness pass and no ducking: the hand-written command does neither.
        "audio": {"loudness": None, "ducking": None},
    }


# ---------------------------------------------------------------------------------- FFmpeg


def _escape(value: str) -> str:
    """A filter option value, escaped for the option parser and then for the graph parser."""
    value = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def encoder_args(fps: int) -> list[str]:
    """The encoder settings of both sides (Reelforge writes the same for these output fields)."""
    return [
        "-c:v",
        "libx264",
        "-preset",
        PRESET,
        "-crf",
        str(CRF),
        "-pix_fmt",
        "yuv420p",
        "-r",
        str(fps),
        "-c:a",
        "aac",
        "-b:a",
        AUDIO_BITRATE,
        "-movflags",
        "+faststart",
    ]


def _cover(src_w: int, src_h: int, canvas: Canvas) -> str:
    """Crop the source to the canvas's shape, then scale: the cheap order for a cover fit."""
    w, h = canvas.width, canvas.height
    if (w, h) == (src_w, src_h):
        return ""
    if w * src_h < h * src_w:  # the canvas is narrower: cut the sides
        cw, ch = even(src_h * w / h), src_h
    else:
        cw, ch = src_w, even(src_w * h / w)
    filters = [] if (cw, ch) == (src_w, src_h) else [f"crop={cw}:{ch}"]
    if (cw, ch) != (w, h):
        filters.append(f"scale={w}:{h}")
    return ",".join(filters)


def _captions_style(font_family: str) -> str:
    """libass style for the SRT, close to Reelforge's default captions.

    FFmpeg lays SRT out on a 384x288 script canvas: size 5.5 % of the height, bold, a thin
    outline, 8 % bottom and 6 % side margins."""
    return (
        f"Fontname={font_family},Bold=1,Fontsize=16,PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,"
        "BorderStyle=1,Outline=1,Shadow=0,MarginV=23,MarginL=23,MarginR=23"
    )


def _overlays(media: Media, look: Look, canvas: Canvas, base: str, logo: str, out: str) -> list[str]:
    """Logo, title and captions on one canvas's composited footage."""
    w, h = canvas.width, canvas.height
    # The logo's box is logo_width of the canvas wide, with the logo's shape; it is fitted
    # whole into the box (contain), with even sides.
    iw, ih = media.logo_size
    box_w = look.logo_width * w
    factor = min(even(box_w) / iw, even(box_w * ih / iw) / ih)
    lw, lh = even(iw * factor), even(ih * factor)
    chains = []
    if (lw, lh) != media.logo_size:
        chains.append(f"[{logo}]scale={lw}:{lh}[{logo}s]")
        logo += "s"
    mx, my = round(look.margin_x * w), round(look.margin_y * h)
    size = round(look.title_size * h)
    end, fade = TITLE_LENGTH, TITLE_FADE
    alpha = f"clip(min(t/{_num(fade)},({end}-t)/{_num(fade)}),0,1)"
    drawtext = (
        f"drawtext=fontfile={_escape(look.font_file)}:text={_escape(look.title)}:expansion=none:"
        f"fontsize={size}:fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2:"
        f"enable={_escape(f'lt(t,{end})')}:alpha={_escape(alpha)}"
    )
    subtitles = (
        f"subtitles=filename={_escape(str(media.captions))}:"
        f"force_style={_escape(_captions_style('DejaVu Sans'))}"
    )
    chains.append(f"[{base}][{logo}]overlay=x=W-w-{mx}:y={my},{drawtext},{subtitles}[{out}]")
    return chains


def hand_command(
    ffmpeg: str, media: Media, look: Look, canvases: tuple[Canvas, ...], out_dir: Path
) -> list[str]:
    """One FFmpeg process writing every canvas in ``canvases`` to ``out_dir/<name>.mp4``.

    The sources are decoded once; with several canvases each decoded picture is split and
    cropped/scaled per canvas, and one audio mix is split between the files."""
    s = media.scale
    n, t, total = s.clip_length, s.transition, s.total
    k = len(canvases)
    inputs = [
        "-ss",
        "1",
        "-t",
        str(n),
        "-i",
        str(media.clips[0]),
        "-t",
        str(n),
        "-i",
        str(media.clips[1]),
        "-ss",
        "1",
        "-t",
        str(n),
        "-i",
        str(media.clips[2]),
        "-i",
        str(media.logo),
        "-t",
        str(total),
        "-i",
        str(media.music),
    ]
    graph: list[str] = []

    def fan_out(head: str, labels: list[str], audio: bool = False) -> str:
        if k == 1:
            return f"{head}[{labels[0]}]"
        return f"{head},{'a' if audio else ''}split={k}" + "".join(f"[{x}]" for x in labels)

    # Colour once per source, before the split: it does not depend on the canvas.
    for i in range(3):
        graph.append(fan_out(f"[{i}:v]eq=saturation={SATURATION}", [f"s{i}_{j}" for j in range(k)]))
    # The logo is one picture: made translucent once; overlay repeats its only frame.
    graph.append(
        fan_out(f"[3:v]format=rgba,colorchannelmixer=aa={LOGO_OPACITY}", [f"logo{j}" for j in range(k)])
    )
    for j, canvas in enumerate(canvases):
        fit = _cover(s.width, s.height, canvas)
        clips = []
        for i in range(3):
            label = f"s{i}_{j}"
            if fit:
                graph.append(f"[{label}]{fit}[f{i}_{j}]")
                label = f"f{i}_{j}"
            clips.append(label)
        graph.append(f"[{clips[0]}][{clips[1]}]xfade=transition=fade:duration={t}:offset={n - t}[x1_{j}]")
        graph.append(f"[x1_{j}][{clips[2]}]xfade=transition=fade:duration={t}:offset={2 * (n - t)}[x2_{j}]")
        graph += _overlays(media, look, canvas, f"x2_{j}", f"logo{j}", f"vout{j}")
    # The clips' sound crossfades like their pictures; the clips are mono, the music stereo.
    graph.append(f"[0:a][1:a]acrossfade=d={t}[a01]")
    graph.append(f"[a01][2:a]acrossfade=d={t},pan=stereo|c0=c0|c1=c0[aclips]")
    graph.append(
        f"[4:a]volume={MUSIC_DB}dB,afade=t=out:st={total - MUSIC_FADE_OUT}:d={MUSIC_FADE_OUT}[music]"
    )
    graph.append(
        fan_out(
            "[aclips][music]amix=inputs=2:normalize=0:duration=first",
            [f"aout{j}" for j in range(k)],
            audio=True,
        )
    )
    cmd = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        *inputs,
        "-filter_complex",
        ";\n".join(graph),
    ]
    for j, canvas in enumerate(canvases):
        cmd += [
            "-map",
            f"[vout{j}]",
            "-map",
            f"[aout{j}]",
            *encoder_args(s.fps),
            str(out_dir / f"{canvas.name}.mp4"),
        ]
    return cmd
