"""Benchmark inputs, generated once with FFmpeg's own test sources into the cache directory.

Three H.264/AAC clips, a PNG logo with transparency, an SRT with four captions and a music
track. Everything is synthetic (lavfi test patterns and tones), so the benchmark needs no
downloaded media. Files are made atomically (written under a temporary name, then renamed),
so an interrupted run never leaves a half-written input behind.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cue", "Media", "Scale", "make_media"]


@dataclass(frozen=True)
class Scale:
    """The size of the benchmark: the reference canvas and how long each clip plays."""

    width: int
    height: int
    clip_length: int
    """Seconds each of the three clips plays on the timeline."""
    transition: int = 1
    """Seconds of each of the two crossfades."""
    fps: int = 30

    @property
    def source_length(self) -> int:
        """Seconds of each generated clip: the played part plus a second of trim on each side."""
        return self.clip_length + 2

    @property
    def total(self) -> int:
        """The timeline: three clips minus the two overlaps (28 s for 10-second clips)."""
        return 3 * self.clip_length - 2 * self.transition

    @property
    def music_length(self) -> int:
        return self.total + 2

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}-{self.clip_length}s"


FULL = Scale(1920, 1080, 10)
QUICK = Scale(640, 360, 4)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Media:
    """The generated inputs. Paths are absolute; ``dir`` holds them all."""

    scale: Scale
    dir: Path
    clips: tuple[Path, Path, Path]
    logo: Path
    logo_size: tuple[int, int]
    captions: Path
    cues: tuple[Cue, ...]
    music: Path


def _logo_size(scale: Scale) -> tuple[int, int]:
    """400x200 on a 1920-wide canvas, scaled with the canvas and kept 2:1 with even sides."""
    w = 4 * round(100 * scale.width / 1920)
    return w, w // 2


def _cues(scale: Scale) -> tuple[Cue, ...]:
    """Four captions spread over the timeline (at 2, 9, 16 and 23 s of 28 s, 3.5 s each)."""
    texts = ("The city wakes up", "Colour bars, crossfaded", "Into the fractal", "Thanks for watching")
    unit = scale.total / 28
    return tuple(
        Cue(round(s * unit, 3), round((s + 3.5) * unit, 3), t)
        for s, t in zip((2, 9, 16, 23), texts, strict=True)
    )


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _write_srt(path: Path, cues: tuple[Cue, ...]) -> None:
    blocks = [f"{i}\n{_srt_time(c.start)} --> {_srt_time(c.end)}\n{c.text}\n" for i, c in enumerate(cues, 1)]
    tmp = path.with_name(".tmp-" + path.name)
    tmp.write_text("\n".join(blocks), encoding="utf-8")
    tmp.replace(path)


def _clip_args(source: str, tone_hz: int, scale: Scale) -> list[str]:
    d = scale.source_length
    size = f"{scale.width}x{scale.height}"
    video = {
        "testsrc2": f"testsrc2=s={size}:r={scale.fps}:d={d}",
        "smptehdbars": f"smptehdbars=s={size}:r={scale.fps}:d={d},hue=H=t/2",
        "mandelbrot": f"mandelbrot=s={size}:r={scale.fps},trim=duration={d}",
    }[source]
    return [
        "-f",
        "lavfi",
        "-i",
        video,
        "-f",
        "lavfi",
        "-i",
        f"sine=f={tone_hz}:d={d}:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(2 * scale.fps),
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-shortest",
        "-movflags",
        "+faststart",
    ]


def _make(ffmpeg: str, target: Path, args: list[str]) -> None:
    if target.exists():
        return
    tmp = target.with_name(".tmp-" + target.name)
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(tmp)]
    subprocess.run(cmd, check=True)
    tmp.replace(target)
    print(f"  made {target}", flush=True)


def make_media(ffmpeg: str, cache_dir: Path, scale: Scale) -> Media:
    """Generate (or reuse) every input for ``scale`` under ``cache_dir``."""
    out = cache_dir / f"media-{scale.label}"
    out.mkdir(parents=True, exist_ok=True)
    clips = (out / "clip1.mp4", out / "clip2.mp4", out / "clip3.mp4")
    for path, source, tone in zip(
        clips, ("testsrc2", "smptehdbars", "mandelbrot"), (330, 220, 440), strict=True
    ):
        _make(ffmpeg, path, _clip_args(source, tone, scale))
    lw, lh = _logo_size(scale)
    r = lh * 0.45
    logo = out / "logo.png"
    # An orange disc beside a white bar on nothing: real alpha edges, like a brand mark.
    _make(
        ffmpeg,
        logo,
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c=white:s={lw}x{lh},format=rgba,"
            f"geq=r=255:g='if(lt(X,{lh}),140,255)':b='if(lt(X,{lh}),0,255)':"
            f"a='255*(lt(hypot(X-{lh / 2},Y-{lh / 2}),{r})+between(X,{lh * 1.1},{lw * 0.95})*between(Y,{lh * 0.35},{lh * 0.65}))'",
            "-frames:v",
            "1",
            "-update",
            "1",
        ],
    )
    music = out / "music.m4a"
    _make(
        ffmpeg,
        music,
        [
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.2*sin(2*PI*262*t)+0.2*sin(2*PI*330*t)+0.1*sin(2*PI*392*t)|"
            f"0.2*sin(2*PI*262*t)+0.1*sin(2*PI*330*t)+0.2*sin(2*PI*392*t):s=48000:d={scale.music_length}",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
        ],
    )
    cues = _cues(scale)
    captions = out / "captions.srt"
    if not captions.exists():
        _write_srt(captions, cues)
    return Media(scale, out, clips, logo, (lw, lh), captions, cues, music)
