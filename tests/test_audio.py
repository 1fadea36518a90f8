"""The audio mix fragment, rendered by the real FFmpeg from tiny generated sources and checked
on its samples."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelforge.edit.models import Ducking, Keyframe, Loudness
from reelforge.ffmpeg.binary import ffmpeg_exe
from reelforge.ffmpeg.runner import run_ffmpeg
from reelforge.render.audio import (
    AudioPlacement,
    LoudnessMeasurement,
    analysis_args,
    build_audio_mix,
    build_loudness_analysis,
    ducking_spans,
    parse_loudnorm_json,
)
from reelforge.render.graph import FilterGraph

SR = 48000
#: The lavfi sine's amplitude, and what FFmpeg's own mono-to-stereo upmix makes of it (-3 dB).
SINE = 0.125
SINE_UPMIXED = SINE / np.sqrt(2)

#: Adds its sources to a graph and returns their placements.
Placer = Callable[[FilterGraph], list[AudioPlacement]]


def lavfi(graph: FilterGraph, source: str) -> str:
    """A generated mono source as an input of ``graph``; returns its audio label."""
    return f"{graph.add_input(source, ['-f', 'lavfi'])}:a"


def place(
    stream: str,
    start: float = 0,
    length: float = 1,
    *,
    trim: Fraction = Fraction(0),
    source_duration: Fraction | None = None,
    **kw: Any,
) -> AudioPlacement:
    return AudioPlacement(stream, Fraction(str(start)), Fraction(str(length)), trim, source_duration, **kw)


def render(graph: FilterGraph, label: str) -> np.ndarray:
    """Run the graph and return the mix as float samples, shape (n, 2)."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    for inp in graph.inputs:
        args += [*inp.options, "-i", inp.path]
    args += ["-filter_complex", graph.render(), "-map", f"[{label}]", "-c:a", "pcm_f32le", "-f", "f32le", "-"]
    proc = subprocess.run(args, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return np.frombuffer(proc.stdout, np.float32).reshape(-1, 2)


def mix(
    placements_of: Placer,
    duration: float | Fraction,
    *,
    ducking: Ducking | None = None,
    loudness: Loudness | None = None,
    loudness_measurement: LoudnessMeasurement | None = None,
) -> np.ndarray:
    """Build a graph, let ``placements_of(graph)`` add the sources, render the mix."""
    graph = FilterGraph()
    label = build_audio_mix(
        graph,
        placements_of(graph),
        duration=Fraction(str(duration)),
        ducking=ducking,
        loudness=loudness,
        loudness_measurement=loudness_measurement,
    )
    return render(graph, label)


def amplitude(x: np.ndarray, freq: float, t0: float, t1: float) -> float:
    """Amplitude of the ``freq`` component of the left channel between t0 and t1 (seconds)."""
    seg = x[round(t0 * SR) : round(t1 * SR), 0].astype(np.float64)
    t = np.arange(len(seg)) / SR
    return float(2 * abs(np.mean(seg * np.exp(-2j * np.pi * freq * t))))


def dominant(x: np.ndarray, t0: float, t1: float) -> float:
    seg = x[round(t0 * SR) : round(t1 * SR), 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=1 << 16))
    return float(np.fft.rfftfreq(1 << 16, 1 / SR)[np.argmax(spectrum)])


def rms(x: np.ndarray, t0: float, t1: float) -> float:
    return float(np.sqrt(np.mean(x[round(t0 * SR) : round(t1 * SR)].astype(np.float64) ** 2)))


def integrated_lufs(x: np.ndarray, tmp_path: Path) -> float:
    raw = tmp_path / "mix.f32"
    raw.write_bytes(x.astype(np.float32).tobytes())
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-f",
            "f32le",
            "-ar",
            str(SR),
            "-ac",
            "2",
            "-i",
            str(raw),
            "-af",
            "ebur128",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr)[-1])


# --------------------------------------------------------------------------- length and placement


@pytest.mark.parametrize("duration", [1.5, 2.0])
def test_length_is_sample_exact(duration: float) -> None:
    # One sound runs past the end, one ends early: the mix is cut and padded to the timeline.
    x = mix(
        lambda g: [place(lavfi(g, "sine=f=440:d=3"), 0, 3), place(lavfi(g, "sine=f=660:d=1"), 0.2, 0.5)],
        duration,
    )
    assert x.shape == (round(duration * SR), 2)
    assert amplitude(x, 440, duration - 0.2, duration) == pytest.approx(SINE_UPMIXED, rel=0.02)


def test_no_placements_is_exact_silence() -> None:
    x = mix(lambda g: [], Fraction(1, 3), loudness=Loudness())
    assert x.shape == (16000, 2)
    assert not x.any()


def test_start_is_sample_exact() -> None:
    x = mix(lambda g: [place(lavfi(g, "sine=f=440:d=2"), 0.5, 1)], 2.0)
    sounding = np.nonzero(np.abs(x[:, 0]) > 1e-4)[0]
    # The sine starts at sin(0) = 0, so its first audible sample is the one after the start.
    assert 24000 <= sounding[0] <= 24002
    assert sounding[-1] <= 72000
    assert amplitude(x, 440, 0.6, 1.4) == pytest.approx(SINE_UPMIXED, rel=0.02)
    assert not x[72000:].any()


def test_volume_minus_6db_halves_the_amplitude() -> None:
    x = mix(lambda g: [place(lavfi(g, "sine=f=440:d=1"), volume=10 ** (-6 / 20))], 1)
    assert amplitude(x, 440, 0.1, 0.9) / SINE_UPMIXED == pytest.approx(0.501, rel=0.01)


def test_inputs_are_summed_at_their_own_level() -> None:
    x = mix(
        lambda g: [
            place(lavfi(g, "sine=f=440:d=1")),
            place(lavfi(g, "sine=f=440:d=1")),
            place(lavfi(g, "sine=f=660:d=1")),
        ],
        1,
    )
    assert amplitude(x, 440, 0.1, 0.9) == pytest.approx(2 * SINE_UPMIXED, rel=0.01)
    assert amplitude(x, 660, 0.1, 0.9) == pytest.approx(SINE_UPMIXED, rel=0.01)


def test_mono_source_plays_at_full_level_on_both_sides() -> None:
    x = mix(lambda g: [place(lavfi(g, "sine=f=440:d=1"), channels=1)], 1)
    assert np.abs(x).max(axis=0) == pytest.approx([SINE, SINE], rel=0.01)


def test_surround_source_is_downmixed() -> None:
    x = mix(lambda g: [place(lavfi(g, "sine=f=440:d=1,aformat=channel_layouts=5.1"))], 1)
    assert x.shape == (SR, 2)
    assert amplitude(x, 440, 0.1, 0.9) > 0.05


def test_encoded_sources_are_resampled_and_trimmed(media: Any) -> None:
    mp4 = media.video(duration=2)
    mp3 = media.audio(suffix=".mp3", duration=2, tone_hz=880, sample_rate=44100)

    def placements(g: FilterGraph) -> list[AudioPlacement]:
        return [
            place(f"{g.add_input(str(mp4))}:a", 0, 1, trim=Fraction(1, 2), source_duration=Fraction(2)),
            place(f"{g.add_input(str(mp3))}:a", 1, 1, trim=Fraction(1, 2), source_duration=Fraction(2)),
        ]

    x = mix(placements, 2)
    assert x.shape == (2 * SR, 2)
    assert dominant(x, 0.1, 0.9) == pytest.approx(440, abs=3)
    assert dominant(x, 1.1, 1.9) == pytest.approx(880, abs=3)


# --------------------------------------------------------------------------- per-placement effects


def test_fade_in_ramps_up_and_fade_out_ends_with_the_sound() -> None:
    # The source (1.5 s after the trim) runs out before the 2 s clip: the fade-out ends with it.
    x = mix(
        lambda g: [
            place(
                lavfi(g, "sine=f=440:d=2"),
                0,
                2,
                trim=Fraction(1, 2),
                source_duration=Fraction(2),
                fade_in=Fraction(4, 5),
                fade_out=Fraction(1, 2),
            )
        ],
        2,
    )
    levels = [amplitude(x, 440, t, t + 0.1) / SINE_UPMIXED for t in (0.0, 0.15, 0.35, 0.5, 0.65)]
    assert levels == sorted(levels)
    assert levels[0] < 0.1
    assert levels[2] == pytest.approx(0.5, abs=0.05)
    assert amplitude(x, 440, 0.85, 0.95) / SINE_UPMIXED == pytest.approx(1, abs=0.02)
    assert amplitude(x, 440, 1.2, 1.3) / SINE_UPMIXED == pytest.approx(0.5, abs=0.05)
    assert np.abs(x[round(1.5 * SR) :]).max() < 1e-4


@pytest.mark.parametrize("speed", [2.0, 0.5, 0.3])
def test_speed_changes_duration_and_keeps_pitch(speed: float) -> None:
    # A 0.6 s tone: it lasts 0.6 / speed on the timeline, at the same pitch.
    source = "sine=f=440:d=0.6"
    played = 0.6 / speed
    x = mix(lambda g: [place(lavfi(g, source), 0, 3, speed=speed, source_duration=Fraction(3, 5))], 2.5)
    assert dominant(x, 0.05, min(played, 2.5) - 0.05) == pytest.approx(440, rel=0.02)
    assert amplitude(x, 440, 0.05, min(played, 2.5) - 0.05) == pytest.approx(SINE_UPMIXED, rel=0.1)
    if played < 2.4:
        assert rms(x, played + 0.05, 2.5) < 0.01 * SINE


def test_loop_repeats_the_source_from_its_trim() -> None:
    # 0.5 s source: 440 Hz for 0.25 s, then 880 Hz.
    source = "aevalsrc=exprs=0.2*sin(2*PI*if(lt(t\\,0.25)\\,440\\,880)*t):s=48000:d=0.5"

    x = mix(lambda g: [place(lavfi(g, source), 0, 2, loop=True, source_duration=Fraction(1, 2))], 2)
    for rep in range(4):
        assert dominant(x, rep * 0.5 + 0.03, rep * 0.5 + 0.22) == pytest.approx(440, abs=5)
        assert dominant(x, rep * 0.5 + 0.28, rep * 0.5 + 0.47) == pytest.approx(880, abs=5)

    # Trimmed to its second half, only the 880 Hz part repeats (the duration is unknown here).
    x = mix(lambda g: [place(lavfi(g, source), 0, 2, loop=True, trim=Fraction(1, 4))], 2)
    for t in (0.05, 0.55, 1.05, 1.55):
        assert dominant(x, t, t + 0.15) == pytest.approx(880, abs=5)
    assert rms(x, 0, 2) == pytest.approx(0.2 / np.sqrt(2) / np.sqrt(2), rel=0.05)

    # Without loop the sound simply ends.
    x = mix(lambda g: [place(lavfi(g, source), 0, 2, source_duration=Fraction(1, 2))], 2)
    assert rms(x, 0.55, 2) < 1e-4


def test_volume_keyframes_with_easing() -> None:
    keyframes = (
        Keyframe(time=0, value=0),
        Keyframe(time=1, value=1, easing="ease-in"),
        Keyframe(time="60f", value=0),  # 2 s at 30 fps
    )
    x = mix(
        lambda g: [place(lavfi(g, "sine=f=440:d=3"), 0.5, 2.5, volume_keyframes=keyframes, volume=0.5)], 3
    )

    def gain(t: float) -> float:
        return amplitude(x, 440, t - 0.02, t + 0.02) / (0.5 * SINE_UPMIXED)

    assert gain(0.3) < 0.01  # before the clip
    assert gain(0.5 + 0.5) == pytest.approx(0.5, abs=0.05)  # linear 0 -> 1
    assert gain(0.5 + 1.0) == pytest.approx(1.0, abs=0.05)
    # ease-in from 1 to 0: at the halfway point CSS ease-in has covered about 32 %.
    assert gain(0.5 + 1.5) == pytest.approx(1 - 0.315, abs=0.05)
    assert gain(0.5 + 2.2) < 0.02  # the last value holds


# --------------------------------------------------------------------------- ducking


def test_ducking_spans_merge_overlapping_and_close_voices() -> None:
    def voice(start: float, length: float) -> AudioPlacement:
        return place("0:a", start, length, role="voice")

    placements = [
        voice(1, 1),
        voice(1.5, 1),
        voice(2.6, 0.5),
        voice(5, 1),
        place("1:a", 0, 9, role="music"),
        voice(8, 3),
    ]
    spans = ducking_spans(placements, duration=Fraction(9), gap=Fraction(1, 5))
    assert spans == [(1, Fraction(31, 10)), (5, 6), (8, 9)]


def test_ducking_lowers_music_while_a_voice_plays() -> None:
    def placements(g: FilterGraph) -> list[AudioPlacement]:
        return [
            place(lavfi(g, "sine=f=440:d=5"), 0, 4, role="music"),
            place(lavfi(g, "sine=f=1000:d=5"), 1.5, 1, role="voice"),
        ]

    ducking = Ducking(amount="-12dB", attack=0.25, release=0.5)
    x = mix(placements, 4, ducking=ducking)
    before, during, after = (amplitude(x, 440, *span) for span in ((0.2, 1.2), (1.55, 2.45), (3.1, 3.9)))
    assert during / before == pytest.approx(10 ** (-12 / 20), rel=0.05)
    assert after / before == pytest.approx(1, rel=0.02)
    # Ramps: halfway down during the attack, halfway up during the release.
    assert amplitude(x, 440, 1.37, 1.38) / before == pytest.approx((1 + 0.251) / 2, abs=0.06)
    assert amplitude(x, 440, 2.74, 2.76) / before == pytest.approx((1 + 0.251) / 2, abs=0.06)
    # The voice itself is untouched.
    assert amplitude(x, 1000, 1.55, 2.45) == pytest.approx(SINE_UPMIXED, rel=0.02)

    undisturbed = mix(placements, 4, ducking=None)
    assert amplitude(undisturbed, 440, 1.55, 2.45) == pytest.approx(before, rel=0.02)


# --------------------------------------------------------------------------- loudness

# A 3 s mix whose level jumps (2 s loud, 1 s 26 dB lower): loudnorm's single dynamic pass
# lands 1.4 LU off on it, the two-pass route lands on the target.
DYNAMIC = "anoisesrc=c=pink:d=3:a=0.5:seed=2,volume=volume=if(lt(t\\,2)\\,1\\,0.05):eval=frame"


def _dynamic(gain: float) -> Placer:
    return lambda g: [place(lavfi(g, DYNAMIC), 0, 3, volume=gain)]


def measure(
    placements_of: Placer, duration: Fraction, loudness: Loudness, tmp_path: Path
) -> LoudnessMeasurement:
    graph = FilterGraph()
    stats = tmp_path / "loudness.json"
    label = build_loudness_analysis(
        graph, placements_of(graph), duration=duration, ducking=None, loudness=loudness, stats_file=str(stats)
    )
    # The lead's runner is the path the compiler will take.
    run_ffmpeg(analysis_args(graph, label), duration=float(duration))
    return parse_loudnorm_json(stats.read_text())


@pytest.mark.parametrize("gain", [0.03, 1.0], ids=["quiet", "loud"])
@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_two_pass_loudness_lands_on_target(gain: float, target: float, tmp_path: Path) -> None:
    loudness = Loudness(target=target)
    measurement = measure(_dynamic(gain), Fraction(3), loudness, tmp_path)
    x = mix(_dynamic(gain), 3, loudness=loudness, loudness_measurement=measurement)
    assert x.shape == (3 * SR, 2)
    assert integrated_lufs(x, tmp_path) == pytest.approx(target, abs=0.3)


def test_two_pass_limits_peaks_that_the_gain_would_clip(tmp_path: Path) -> None:
    # A tone with short clicks every 0.5 s: reaching -14 LUFS puts the clicks over -1 dBTP, while
    # they carry too little energy for limiting them to move the loudness much.
    source = "aevalsrc=exprs=0.8*lt(mod(t\\,0.5)\\,0.0002)+0.1*sin(2*PI*440*t):s=48000:d=3"
    loudness = Loudness(target=-14, true_peak=-1)
    measurement = measure(
        lambda g: [place(lavfi(g, source), 0, 3, volume=0.5)], Fraction(3), loudness, tmp_path
    )
    assert measurement.input_tp + (-14 - measurement.input_i) > -1
    x = mix(
        lambda g: [place(lavfi(g, source), 0, 3, volume=0.5)],
        3,
        loudness=loudness,
        loudness_measurement=measurement,
    )
    assert integrated_lufs(x, tmp_path) == pytest.approx(-14, abs=0.5)
    assert np.abs(x).max() <= 10 ** (-1 / 20) + 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("gain", [0.03, 1.0], ids=["quiet", "loud"])
@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_single_pass_loudness_on_ten_seconds(gain: float, target: float, tmp_path: Path) -> None:
    source = "anoisesrc=c=pink:d=10:a=0.5:seed=1,volume=volume=0.4+0.6*gt(sin(2*PI*0.7*t)\\,0):eval=frame"
    x = mix(lambda g: [place(lavfi(g, source), 0, 10, volume=gain)], 10, loudness=Loudness(target=target))
    assert x.shape == (10 * SR, 2)
    assert integrated_lufs(x, tmp_path) == pytest.approx(target, abs=1)


def test_silent_measurement_leaves_the_mix_alone(tmp_path: Path) -> None:
    loudness = Loudness()
    measurement = measure(lambda g: [place(lavfi(g, "anullsrc=d=1"), 0, 1)], Fraction(1), loudness, tmp_path)
    assert measurement.input_i < -70
    x = mix(
        lambda g: [place(lavfi(g, "anullsrc=d=1"), 0, 1)],
        1,
        loudness=loudness,
        loudness_measurement=measurement,
    )
    assert x.shape == (SR, 2)
    assert not x.any()


def test_single_pass_keeps_a_short_silent_mix_silent() -> None:
    # Under 3 s loudnorm's gain for silence is infinite: its NaN samples must not come out.
    x = mix(lambda g: [place(lavfi(g, "anullsrc=d=2"), 0, 2)], 2, loudness=Loudness())
    assert x.shape == (2 * SR, 2)
    assert not np.isnan(x).any()
    assert not x.any()


def test_parse_loudnorm_json_from_a_log() -> None:
    log = """[Parsed_loudnorm_3 @ 0x55d] some line
{
\t"input_i" : "-27.61",
\t"input_tp" : "-4.47",
\t"input_lra" : "18.06",
\t"input_thresh" : "-39.20",
\t"output_i" : "-16.58",
\t"output_tp" : "-1.50",
\t"output_lra" : "14.78",
\t"output_thresh" : "-27.71",
\t"normalization_type" : "dynamic",
\t"target_offset" : "0.58"
}
[out#0/null @ 0x55e] video:0KiB audio:1KiB
"""
    m = parse_loudnorm_json(log)
    assert m == LoudnessMeasurement(-27.61, -4.47, 18.06, -39.2, 0.58)
    silent = parse_loudnorm_json(log.replace('"-27.61"', '"-inf"'))
    assert silent.input_i == float("-inf")
    with pytest.raises(ValueError):
        parse_loudnorm_json("no statistics here")
