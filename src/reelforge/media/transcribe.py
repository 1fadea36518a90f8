"""Speech to words with times: faster-whisper on CPU (int8) by default, cached by content and model.

The engine is the optional extra ``reelforge[asr]`` (faster-whisper, on CTranslate2); it is
imported only when something is transcribed. ``REELFORGE_ASR_MODEL`` names a Whisper model
(``tiny``, ``base.en``, ``small``..., which the library fetches on first use and caches the way
its users expect) or a local directory holding one in CTranslate2 format.

Choices worth knowing:

* Whisper's word times come from attention alignment and are often 100-300 ms early or late.
  Each word's start and end are moved to the nearest rise and fall of the audio's loudness
  within :data:`SNAP_WINDOW` (10 ms frames, a threshold between the quiet floor and the speech
  level), which is where a listener hears the word begin; a word with no edge near keeps
  Whisper's time. ``bench/asr_bench.py`` measures the error against known times.
* The transcript of a file is made once per (content hash, model, language, VAD):
  :class:`TranscriptCache` keeps it as JSON, so an edit that is rendered again, or a second
  caption of the same speech, does not run the model again.
* Resolving an edit (:func:`transcribe_edit`) happens before compiling, like probing: the
  compiler receives captions with cues and word times and never runs a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reelforge.edit.errors import EditError, Problem, pointer
from reelforge.edit.models import CaptionAsset, Clip, Cue, CueBreaking, Edit, Word
from reelforge.edit.references import TRANSCRIBE_CLIP_PREFIX
from reelforge.edit.timeline import resolve_timeline
from reelforge.edit.timing import parse_time
from reelforge.ffmpeg.probe import MediaProbeError, probe_cache
from reelforge.render.cuebreak import break_cues
from reelforge.render.sources import SourceError, SourceResolver

if TYPE_CHECKING:
    import numpy as np
    from faster_whisper import WhisperModel

    from reelforge.settings import Settings

__all__ = [
    "EXPORT_FORMATS",
    "AsrUnavailable",
    "Transcriber",
    "Transcript",
    "TranscriptCache",
    "TranscriptWord",
    "content_hash",
    "export_transcript",
    "realign_words",
    "snap_to_onsets",
    "transcribe_edit",
    "transcript_cues",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: How far (seconds) a word's edge may move to meet the audio's loudness edge.
SNAP_WINDOW = 0.45
_FRAME = 160  # 10 ms at 16 kHz
EXPORT_FORMATS = ("srt", "vtt", "ass", "json")
ExportFormat = Literal["srt", "vtt", "ass", "json"]
Progress = Callable[[float], None]


class AsrUnavailable(RuntimeError):
    """The speech-recognition extra is not installed, or the model cannot be loaded."""


@dataclass(frozen=True, slots=True)
class TranscriptWord:
    text: str
    start: float
    end: float
    confidence: float
    """The model's probability of the word, 0..1 (1 for a word a person corrected)."""


@dataclass(frozen=True)
class Transcript:
    words: tuple[TranscriptWord, ...]
    language: str
    model: str
    duration: float
    language_probability: float = 1.0

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "model": self.model,
            "duration": self.duration,
            "words": [asdict(w) for w in self.words],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transcript:
        return cls(
            words=tuple(TranscriptWord(**w) for w in data["words"]),
            language=data["language"],
            model=data["model"],
            duration=float(data["duration"]),
            language_probability=float(data.get("language_probability", 1.0)),
        )


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- timing


def _loudness(audio: np.ndarray) -> np.ndarray:
    import numpy as np

    frames = len(audio) // _FRAME
    if frames == 0:
        return np.zeros(0)
    power = np.mean(audio[: frames * _FRAME].reshape(frames, _FRAME).astype(np.float64) ** 2, axis=1)
    return 10 * np.log10(power + 1e-10)


def _edges(audio: np.ndarray) -> tuple[list[float], list[float]]:
    """Times (s) where the audio rises above and falls below the speech threshold."""
    import numpy as np

    db = _loudness(audio)
    if db.size < 3:
        return [], []
    floor, level = np.percentile(db, 10), np.percentile(db, 95)
    if level - floor < 12:  # no clear difference between speech and the rest
        return [], []
    loud = db >= floor + 0.4 * (level - floor)
    rises = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    falls = np.flatnonzero(~loud[1:] & loud[:-1]) + 1
    step = _FRAME / SAMPLE_RATE
    return [float(i * step) for i in rises], [float(i * step) for i in falls]


def _nearest(edges: Sequence[float], t: float, low: float, high: float) -> float | None:
    inside = [e for e in edges if low <= e <= high and abs(e - t) <= SNAP_WINDOW]
    return min(inside, key=lambda e: abs(e - t)) if inside else None


def _snapped_starts(starts: Sequence[float], rises: Sequence[float]) -> list[float]:
    """Each start moved to a rise within :data:`SNAP_WINDOW`, or kept, choosing together for
    all words the least total movement that keeps starts in order and uses a rise once
    (a word kept costs the whole window, so a near rise is preferred to none)."""
    import bisect

    gap = 0.02
    options: list[list[tuple[float, float]]] = []  # per word: (time, cost)
    for s in starts:
        lo, hi = bisect.bisect_left(rises, s - SNAP_WINDOW), bisect.bisect_right(rises, s + SNAP_WINDOW)
        options.append([(r, abs(r - s)) for r in rises[lo:hi]] + [(s, SNAP_WINDOW)])
    inf = float("inf")
    cost: list[list[float]] = []
    back: list[list[int]] = []
    for i, opts in enumerate(options):
        row, links = [], []
        for t, c in opts:
            if i == 0:
                row.append(c)
                links.append(-1)
                continue
            best, link = inf, -1
            for j, (pt, _) in enumerate(options[i - 1]):
                if cost[-1][j] < best and t >= pt + gap:
                    best, link = cost[-1][j], j
            row.append(best + c)
            links.append(link)
        if i and all(v == inf for v in row):  # nothing keeps the order: keep this word as it is
            j = min(range(len(cost[-1])), key=cost[-1].__getitem__)
            row = [inf] * (len(opts) - 1) + [cost[-1][j] + SNAP_WINDOW]
            links = [-1] * (len(opts) - 1) + [j]
        cost.append(row)
        back.append(links)
    if not options:
        return []
    k = min(range(len(cost[-1])), key=cost[-1].__getitem__)
    chosen: list[float] = []
    for i in range(len(options) - 1, -1, -1):
        chosen.append(options[i][k][0])
        k = back[i][k]
    return chosen[::-1]


def snap_to_onsets(words: Sequence[TranscriptWord], audio: np.ndarray) -> list[TranscriptWord]:
    """``words`` with starts and ends moved to the audio's loudness edges (see module doc),
    in order, each word at least 10 ms long."""
    rises, falls = _edges(audio)
    starts = _snapped_starts([w.start for w in words], rises)
    out: list[TranscriptWord] = []
    for i, word in enumerate(words):
        start = max(starts[i], out[-1].start + 0.01) if out else starts[i]
        limit = starts[i + 1] if i + 1 < len(words) else float("inf")
        end = _nearest(falls, word.end, start + 0.01, limit)
        if end is None:
            end = min(word.end, limit) if limit > start + 0.01 else word.end
        end = max(end, start + 0.01)
        out.append(TranscriptWord(word.text, round(start, 3), round(end, 3), word.confidence))
    return out


# --------------------------------------------------------------------------- engine


_MODELS: dict[tuple[str, str, str, int], WhisperModel] = {}
_MODELS_LOCK = threading.Lock()


def _model_label(model: str) -> str:
    """What identifies a model in a transcript and the cache: a name, or a directory with its
    weights' size and time (a changed model is a new key)."""
    path = Path(model).expanduser()
    if path.is_dir():
        weights = path / "model.bin"
        stat = weights.stat() if weights.exists() else path.stat()
        return f"{path.resolve()}@{stat.st_size}-{int(stat.st_mtime)}"
    return model


@dataclass
class Transcriber:
    """faster-whisper with the service's settings; models are loaded once per process."""

    model: str = "base"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"
    threads: int = 0
    vad: bool = True
    download_dir: Path | None = None
    cache: TranscriptCache | None = None
    _label: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._label = _model_label(self.model)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        return cls(
            model=settings.asr_model,
            device=settings.asr_device,
            compute_type=settings.asr_compute_type,
            threads=settings.asr_threads,
            vad=settings.asr_vad,
            download_dir=settings.asr_download_dir,
            cache=TranscriptCache(settings.resolved_transcript_cache_dir()),
        )

    @property
    def label(self) -> str:
        return self._label

    @property
    def display_model(self) -> str:
        """The model as a transcript names it: its name, or a local model's directory name."""
        path = Path(self.model).expanduser()
        return path.name if path.is_dir() else self.model

    def _device(self) -> tuple[str, str]:
        try:
            import ctranslate2
        except ImportError:
            raise AsrUnavailable(
                "transcription needs the speech-recognition extra: pip install 'reelforge[asr]'"
            ) from None
        device = self.device
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute = self.compute_type
        if compute == "auto":
            compute = "int8_float16" if device == "cuda" else "int8"
        return device, compute

    def _load(self) -> WhisperModel:
        device, compute = self._device()
        key = (self._label, device, compute, self.threads)
        with _MODELS_LOCK:
            if key not in _MODELS:
                from faster_whisper import WhisperModel

                try:
                    _MODELS[key] = WhisperModel(
                        str(Path(self.model).expanduser())
                        if Path(self.model).expanduser().is_dir()
                        else self.model,
                        device=device,
                        compute_type=compute,
                        cpu_threads=self.threads,
                        download_root=str(self.download_dir) if self.download_dir else None,
                    )
                except Exception as exc:  # the library raises many kinds (missing files, network, CUDA)
                    raise AsrUnavailable(f"cannot load the speech model {self.model!r}: {exc}") from exc
            return _MODELS[key]

    def file(self, src: str, path: Path, language: str | None) -> Transcript:
        """:meth:`transcribe` as a :data:`TranscribeFile`, for :func:`transcribe_edit`."""
        return self.transcribe(path, language=language)

    def edit(self, edit: Edit, resolver: SourceResolver) -> Edit:
        """``edit`` with its speech captions transcribed (see :func:`transcribe_edit`)."""
        return transcribe_edit(edit, resolver, self.file)

    def transcribe(
        self, path: Path, *, language: str | None = None, progress: Progress | None = None
    ) -> Transcript:
        """The words spoken in ``path`` (any media FFmpeg reads), from the cache when known."""
        key = None
        if self.cache is not None:
            key = self.cache.key(content_hash(path), self._label, language, self.vad)
            cached = self.cache.get(key)
            if cached is not None:
                if progress:
                    progress(1.0)
                return cached
        transcript = self._run(path, language, progress)
        if self.cache is not None and key is not None:
            self.cache.put(key, transcript)
        return transcript

    def _run(self, path: Path, language: str | None, progress: Progress | None) -> Transcript:
        model = self._load()
        from faster_whisper import decode_audio

        try:
            audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
        except Exception as exc:  # PyAV raises its own error kinds for unreadable media
            raise AsrUnavailable(f"cannot read the audio of {path.name}: {exc}") from exc
        duration = len(audio) / SAMPLE_RATE
        segments, info = model.transcribe(
            audio,
            language=language,
            word_timestamps=True,
            vad_filter=self.vad,
            condition_on_previous_text=False,
        )
        words: list[TranscriptWord] = []
        for segment in segments:
            for w in segment.words or ():
                text = w.word.strip()
                if text:
                    words.append(
                        TranscriptWord(text, float(w.start), float(w.end), round(float(w.probability), 4))
                    )
            if progress and duration > 0:
                progress(min(float(segment.end) / duration, 1.0))
        if progress:
            progress(1.0)
        return Transcript(
            words=tuple(snap_to_onsets(words, audio)),
            language=info.language,
            model=self.display_model,
            duration=round(duration, 3),
            language_probability=round(float(info.language_probability), 4),
        )


class TranscriptCache:
    """Transcripts as JSON files named by the hash of (content, model, language, VAD)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(digest: str, model: str, language: str | None, vad: bool) -> str:
        return hashlib.sha256(json.dumps([digest, model, language, vad]).encode()).hexdigest()

    def get(self, key: str) -> Transcript | None:
        path = self.directory / f"{key}.json"
        try:
            return Transcript.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable cached transcript %s", path)
            return None

    def put(self, key: str, transcript: Transcript) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{key}.json"
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_text(json.dumps(transcript.to_json()), encoding="utf-8")
        tmp.replace(path)


# --------------------------------------------------------------------------- corrections


_SPACES = re.compile(r"\s+")


def realign_words(
    old: Sequence[TranscriptWord], new_texts: Sequence[str], audio: np.ndarray | None = None
) -> list[TranscriptWord]:
    """Words for a corrected text: unchanged words keep their times; each run of edited words
    takes the time span of the words it replaces (or the gap where it was inserted), shared out
    by length, then snapped to the audio's edges when ``audio`` is given. Edited words get
    confidence 1."""
    import difflib

    matcher = difflib.SequenceMatcher(a=[w.text for w in old], b=list(new_texts), autojunk=False)
    out: list[TranscriptWord] = []
    edited: list[int] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out.extend(old[a0:a1])
            continue
        if b0 == b1:
            continue  # deleted words
        if a1 > a0:
            span_start, span_end = old[a0].start, old[a1 - 1].end
        else:  # inserted between two words: the gap between them, or a short span at an edge
            span_start = old[a0 - 1].end if a0 > 0 else max((old[0].start if old else 0.0) - 0.3, 0.0)
            span_end = old[a0].start if a0 < len(old) else span_start + 0.3 * (b1 - b0)
            if span_end - span_start < 0.05 * (b1 - b0):
                span_end = span_start + 0.05 * (b1 - b0)
        texts = new_texts[b0:b1]
        weights = [max(len(t), 1) + 1 for t in texts]
        total = sum(weights)
        t = span_start
        for text, weight in zip(texts, weights, strict=True):
            length = (span_end - span_start) * weight / total
            edited.append(len(out))
            out.append(TranscriptWord(text, round(t, 3), round(t + length, 3), 1.0))
            t += length
    if audio is not None and edited:
        snapped = snap_to_onsets(out, audio)
        out = [snapped[i] if i in set(edited) else w for i, w in enumerate(out)]
    return out


def split_text(text: str) -> list[str]:
    return [t for t in _SPACES.split(text.strip()) if t]


# --------------------------------------------------------------------------- exports


def transcript_cues(words: Sequence[TranscriptWord], breaking: CueBreaking | None = None) -> list[Cue]:
    return break_cues([Word(text=w.text, start=w.start, end=w.end) for w in words], breaking or CueBreaking())


def export_transcript(transcript: Transcript, fmt: ExportFormat, breaking: CueBreaking | None = None) -> str:
    """The transcript as SRT, WebVTT or ASS cues (broken by ``breaking``), or as JSON."""
    if fmt == "json":
        return json.dumps(transcript.to_json(), ensure_ascii=False, indent=2) + "\n"
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in transcript_cues(transcript.words, breaking):
        start = parse_time(cue.start).seconds or Fraction(0)
        end = parse_time(cue.end).seconds or Fraction(0)
        # ASS text: a literal backslash or brace must not become an override tag.
        text = (
            cue.text if fmt != "ass" else cue.text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")
        )
        subs.append(pysubs2.SSAEvent(start=round(start * 1000), end=round(end * 1000), text=text))
    return str(subs.to_string("vtt" if fmt == "vtt" else fmt))


# --------------------------------------------------------------------------- edits


TranscribeFile = Callable[[str, Path, str | None], Transcript]
"""``(src, path, language)`` -> the transcript of the file an edit names as ``src``."""


@dataclass(frozen=True)
class _Target:
    track: int
    index: int
    asset: CaptionAsset
    src: str
    clip: Clip | None  # the named clip, for `clip:<name>`
    pointer: str


def _named_clips(edit: Edit) -> dict[str, tuple[int, int, Clip]]:
    found: dict[str, tuple[int, int, Clip]] = {}
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            if clip.name is not None:
                found.setdefault(clip.name, (t, c, clip))
    return found


def _targets(edit: Edit, problems: list[Problem]) -> list[_Target]:
    named = _named_clips(edit)
    targets: list[_Target] = []
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            asset = clip.asset
            if asset.type != "caption" or asset.transcribe is None:
                continue
            here = pointer("timeline", "tracks", t, "clips", c, "asset", "transcribe")
            if asset.transcribe.startswith(TRANSCRIBE_CLIP_PREFIX):
                name = asset.transcribe[len(TRANSCRIBE_CLIP_PREFIX) :]
                hit = named.get(name)
                if hit is None or hit[2].asset.type not in ("video", "audio"):
                    what = "no clip" if hit is None else "no video or audio clip"
                    problems.append(Problem(here, f"{what} is named {name!r} (a clip's `name`)", "reference"))
                    continue
                src = hit[2].asset.src
                targets.append(_Target(t, c, asset, src, hit[2], here))
            else:
                targets.append(_Target(t, c, asset, asset.transcribe, None, here))
    return targets


def _with_cues(edit: Edit, cues: Mapping[tuple[int, int], list[Cue]]) -> Edit:
    tracks = []
    for t, track in enumerate(edit.timeline.tracks):
        clips = []
        for c, clip in enumerate(track.clips):
            if (t, c) in cues:
                asset = clip.asset.model_copy(update={"transcribe": None, "cues": cues[t, c]})
                update: dict[str, Any] = {"asset": asset}
                if not cues[t, c] and clip.length == "auto":
                    update["length"] = "end"  # no speech heard: a caption that shows nothing
                clip = clip.model_copy(update=update)
            clips.append(clip)
        tracks.append(track.model_copy(update={"clips": clips}))
    return edit.model_copy(update={"timeline": edit.timeline.model_copy(update={"tracks": tracks})})


def _seconds(value: float | str) -> float:
    seconds = parse_time(value).seconds
    return float(seconds) if seconds is not None else 0.0


def transcribe_edit(edit: Edit, resolver: SourceResolver, transcribe: TranscribeFile) -> Edit:
    """``edit`` with every ``transcribe`` caption turned into cues with word times.

    ``transcribe(src, path, language)`` gives a file's transcript (a :class:`Transcriber`'s cached
    method). Words of ``clip:<name>`` are placed as that clip plays them (its trim, speed and
    place on the timeline, relative to the caption clip's start) and only while it plays.
    Problems are raised together as an :class:`EditError`."""
    problems: list[Problem] = []
    targets = _targets(edit, problems)
    if not targets:
        if problems:
            raise EditError(problems)
        return edit
    transcripts: dict[tuple[int, int], Transcript] = {}
    for target in targets:
        try:
            path = resolver.resolve(target.src)
        except SourceError as exc:
            problems.append(Problem(target.pointer, f"cannot use {target.src!r}: {exc.reason}", "source"))
            continue
        try:
            transcripts[target.track, target.index] = transcribe(target.src, path, target.asset.language)
        except AsrUnavailable as exc:
            problems.append(Problem(target.pointer, str(exc), "transcription"))
    if problems:
        raise EditError(problems)
    # First the words as the source has them, so the timeline can be placed (a caption's
    # `length: "auto"` is its last cue); then shifted to where the named clip plays them.
    source_cues = {
        (x.track, x.index): transcript_cues(transcripts[x.track, x.index].words, x.asset.breaking)
        for x in targets
    }
    placed = _with_cues(edit, source_cues)
    shifted: dict[tuple[int, int], list[Cue]] = {}
    followers = [x for x in targets if x.clip is not None]
    timeline = None
    if followers:
        durations: dict[str, Fraction | None] = {}
        for track in edit.timeline.tracks:
            for clip in track.clips:
                if clip.asset.type in ("video", "audio") and clip.asset.src not in durations:
                    try:
                        info = probe_cache(resolver.resolve(clip.asset.src))
                        durations[clip.asset.src] = info.duration
                    except (SourceError, MediaProbeError):
                        durations[clip.asset.src] = None  # reported by the render's own checks
        timeline = resolve_timeline(placed, Fraction(1000), durations)
    for target in targets:
        key = (target.track, target.index)
        words = transcripts[key].words
        if target.clip is not None and timeline is not None:
            named_at = next(c for c in timeline.clips() if c.clip is target.clip)
            caption_at = timeline.tracks[target.track][target.index]
            trim = _seconds(getattr(target.clip.asset, "trim", 0))
            speed = float(getattr(target.clip.asset, "speed", 1))
            offset = float(timeline.seconds(named_at.start - caption_at.start))
            plays = float(timeline.seconds(named_at.length))
            moved = []
            for w in words:
                at = (w.start - trim) / speed
                if 0 <= at < plays:
                    end = min((w.end - trim) / speed, plays)
                    moved.append(
                        TranscriptWord(w.text, round(at + offset, 3), round(end + offset, 3), w.confidence)
                    )
            words = tuple(w for w in moved if w.start >= 0)
        shifted[key] = transcript_cues(words, target.asset.breaking)
    return _with_cues(edit, shifted)
