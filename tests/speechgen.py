"""Speech with known words and times, synthesised with espeak-ng, for the transcription tests.

Each word is spoken on its own and placed at a known time, so the truth is exact: a word's
start is where its first audible sample lies (espeak-ng's own leading and trailing silence is
cut), its end where its last one does. The speech is then mixed over a bed made by FFmpeg's
lavfi sources (a soft chord for "music", nothing for "silence") and written as a small
320x180 video with AAC audio, or as audio by suffix. The sentences are data:
tests/corpus/speech.json.

    clip = speech_clips()[0]
    words = make_speech(tmp / "welcome.mp4", clip)   # [(text, start, end), ...]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediagen import run_ffmpeg

__all__ = ["CORPUS", "SpeechClip", "espeak", "make_speech", "speech_clips"]

CORPUS = Path(__file__).parent / "corpus" / "speech.json"
#: Samples quieter than this (of 32767) count as espeak-ng's silence around a word.
_SILENCE = 200
_RATE = 22050  # espeak-ng's output rate
#: The music bed: a soft A minor chord that swells, at about -26 dBFS under speech at -6.
_MUSIC = (
    "aevalsrc='(0.02*sin(2*PI*220*t)+0.016*sin(2*PI*261.63*t)+0.014*sin(2*PI*329.63*t))"
    "*(0.75+0.25*sin(2*PI*0.5*t))':s=22050:d={duration}"
)


@dataclass(frozen=True)
class SpeechClip:
    name: str
    bed: str
    lead_in: float
    sentences: tuple[str, ...]
    voice: str
    words_per_minute: int
    gap: float
    pause: float

    @property
    def script(self) -> str:
        return " ".join(self.sentences)


def speech_clips() -> list[SpeechClip]:
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    common = {k: corpus[k] for k in ("voice", "words_per_minute", "gap", "pause")}
    return [
        SpeechClip(c["name"], c["bed"], c["lead_in"], tuple(c["sentences"]), **common)
        for c in corpus["clips"]
    ]


def espeak() -> str | None:
    """The espeak-ng binary, if installed (Debian package ``espeak-ng``)."""
    return shutil.which("espeak-ng")


def _spoken(word: str, voice: str, wpm: int, work: Path) -> np.ndarray:
    out = work / "word.wav"
    exe = espeak()
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-v", voice, "-s", str(wpm), "-w", str(out), word], check=True, capture_output=True)
    with wave.open(str(out)) as w:
        if w.getframerate() != _RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise RuntimeError("espeak-ng wrote an unexpected format")
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def make_speech(path: Path, clip: SpeechClip) -> list[tuple[str, float, float]]:
    """Write ``clip`` spoken over its bed to ``path``; return its words with their true times."""
    words: list[tuple[str, float, float]] = []
    pieces: list[tuple[int, np.ndarray]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cursor = round(clip.lead_in * _RATE)
        for s, sentence in enumerate(clip.sentences):
            if s:
                cursor += round(clip.pause * _RATE)
            for w, word in enumerate(sentence.split()):
                if w:
                    cursor += round(clip.gap * _RATE)
                samples = _spoken(word, clip.voice, clip.words_per_minute, work)
                pieces.append((cursor, samples))
                words.append((word, cursor / _RATE, (cursor + len(samples)) / _RATE))
                cursor += len(samples)
        total = cursor + round(0.8 * _RATE)
        speech = np.zeros(total, dtype=np.int16)
        for at, samples in pieces:
            speech[at : at + len(samples)] = samples
        speech_wav = work / "speech.wav"
        with wave.open(str(speech_wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(_RATE)
            w.writeframes(speech.tobytes())
        duration = total / _RATE
        bed = (
            _MUSIC.format(duration=f"{duration:.3f}")
            if clip.bed == "music"
            else f"anullsrc=r=22050:cl=mono:d={duration:.3f}"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = path.with_name(path.stem + ".part" + path.suffix)
        audio = ["-filter_complex", "[0:a][1:a]amix=inputs=2:duration=first:normalize=0[a]", "-map", "[a]"]
        if path.suffix.lower() in (".mp4", ".mov", ".mkv"):
            video = ["-f", "lavfi", "-i", f"color=c=0x334455:s=320x180:r=25:d={duration:.3f}"]
            run_ffmpeg(
                [
                    "-i",
                    str(speech_wav),
                    "-f",
                    "lavfi",
                    "-i",
                    bed,
                    *video,
                    *audio,
                    "-map",
                    "2:v",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                    "-c:a",
                    "aac",
                    "-ar",
                    "48000",
                    "-shortest",
                    "-fflags",
                    "+bitexact",
                    str(tmp_out),
                ]
            )
        else:
            run_ffmpeg(
                ["-i", str(speech_wav), "-f", "lavfi", "-i", bed, *audio, "-ar", "16000", str(tmp_out)]
            )
        tmp_out.replace(path)
    return words
