"""Generate the sample media the examples use, with FFmpeg's own test sources.

No binary media lives in git: run this once (``make demo`` does) and it writes
``examples/media/``. Every file is synthetic: test patterns, tones and solid colours.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg

MEDIA = Path(__file__).resolve().parent / "media"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

# name -> FFmpeg arguments after the inputs' -f lavfi
RECIPES: dict[str, list[str]] = {
    "city.mp4": [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=1280x720:r=30:d=6",
        "-f",
        "lavfi",
        "-i",
        "sine=f=330:d=6:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
    ],
    "ocean.mp4": [
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=s=1280x720:r=30:d=6,hue=H=t/2",
        "-f",
        "lavfi",
        "-i",
        "sine=f=220:d=6:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
    ],
    "forest.mp4": [
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=s=1280x720:r=30,trim=duration=6",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=6:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
    ],
    # A portrait "talking head": a moving pattern with a voice-like warbling tone.
    "speaker.mp4": [
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=720x1280:r=30:d=8",
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=0.4*sin(2*PI*(180+40*sin(2*PI*3*t))*t)*(0.6+0.4*sin(2*PI*2*t)):s=48000:d=8",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
    ],
    # 16:9 footage whose subject (a bright disc) moves on the right third: a centred 9:16 crop
    # would cut it away; `focus: "auto"` finds it.
    "runner.mp4": [
        "-f",
        "lavfi",
        "-i",
        "color=c=0x1d3557:s=1280x720:r=30:d=6",
        "-f",
        "lavfi",
        "-i",
        "color=c=white:s=160x160:r=30:d=6,format=rgba,geq=r=255:g=220:b=90:a='255*lt(hypot(X-80,Y-80),78)'",
        "-filter_complex",
        "[0:v][1:v]overlay=x='940+60*sin(t*2)':y='280+40*cos(t*3)':shortest=1,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-an",
    ],
    "music.mp3": [
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=0.2*sin(2*PI*262*t)+0.2*sin(2*PI*330*t)+0.2*sin(2*PI*392*t)|"
        "0.2*sin(2*PI*262*t)+0.2*sin(2*PI*330*t)+0.2*sin(2*PI*392*t):s=48000:d=20",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
    ],
    "voice.wav": [
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=0.5*sin(2*PI*(200+50*sin(2*PI*4*t))*t)*gt(sin(2*PI*0.5*t)\\,-0.3):s=48000:d=6",
        "-c:a",
        "pcm_s16le",
    ],
    "product-1.png": [
        "-f",
        "lavfi",
        "-i",
        "gradients=s=1200x1200:c0=orange:c1=purple:seed=1",
        "-frames:v",
        "1",
    ],
    "product-2.png": [
        "-f",
        "lavfi",
        "-i",
        "gradients=s=1200x1200:c0=teal:c1=yellow:seed=2",
        "-frames:v",
        "1",
    ],
    "product-3.png": [
        "-f",
        "lavfi",
        "-i",
        "gradients=s=1200x1200:c0=crimson:c1=navy:seed=3",
        "-frames:v",
        "1",
    ],
    # A logo with transparency: a white disc on nothing.
    "logo.png": [
        "-f",
        "lavfi",
        "-i",
        "color=c=white:s=400x200,format=rgba,geq=r=255:g=255:b=255:a='255*lt(hypot(X-200,Y-100),90)'",
        "-frames:v",
        "1",
    ],
}


def main() -> int:
    MEDIA.mkdir(parents=True, exist_ok=True)
    for name, args in RECIPES.items():
        target = MEDIA / name
        if target.exists():
            continue
        # A name of this process's own: two runs at once (parallel tests on a fresh clone) each
        # write their own file, and the atomic replace leaves a whole one either way.
        tmp = target.with_name(f".tmp-{os.getpid()}-{name}")
        cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args, str(tmp)]
        subprocess.run(cmd, check=True)
        os.replace(tmp, target)
        print(f"made {target.relative_to(MEDIA.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
