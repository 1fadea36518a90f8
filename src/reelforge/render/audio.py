"""The audio mix as a filter-graph fragment: every placement trimmed, looped, sped up, faded and
delayed to its start, music ducked under voices, the sum loudness-normalised, and the result cut
to exactly the timeline's length in samples.

All timing is in samples at the mix rate (48 kHz by default), so starts and lengths are
sample-exact: a time ``t`` is sample ``round(t * rate)``.

Loudness: single-pass ``loudnorm`` is dynamic and can miss its target on short or very dynamic
mixes (measured: 1.4 LU high on a 3 s mix whose level drops, 2-3 LU on a short sound in 6 s of
silence; within 0.5 LU on ordinary 10 s content). For an exact result run a cheap audio-only
first pass (:func:`build_loudness_analysis`, :func:`analysis_args`), read its statistics with
:func:`parse_loudnorm_json` and pass the :class:`LoudnessMeasurement` to
:func:`build_audio_mix`, which then applies one exact gain (and a true-peak limiter only where
that gain would clip).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from reelforge.edit.models import Ducking, Keyframe, Loudness
from reelforge.edit.timing import parse_time
from reelforge.edit.values import parse_volume
from reelforge.ffmpeg.binary import base_args, input_args
from reelforge.render.graph import Filter, FilterGraph, filt, fmt_num
from reelforge.render.keyframes import keyframe_expr, piecewise_expr
from reelforge.render.plan import MixTail

__all__ = [
    "SAMPLE_RATE",
    "AudioPlacement",
    "LoudnessMeasurement",
    "add_audio_mix",
    "add_mix_window",
    "analysis_args",
    "build_audio_mix",
    "build_loudness_analysis",
    "ducking_spans",
    "mix_tail",
    "parse_loudnorm_json",
    "sample_at",
]

SAMPLE_RATE = 48000
#: Loudness range handed to loudnorm (EBU R128's broadcast recommendation for most programmes).
TARGET_LRA = 11.0
#: dB kept between the limiter's ceiling and the promised true peak (see :func:`limiter_ceiling`).
TRUE_PEAK_HEADROOM = 0.5
#: Frames of this many samples before a time-varying volume, so its gain moves in 5 ms steps
#: (``volume`` evaluates its expression once per frame; 1024-sample frames would zipper).
_ENVELOPE_FRAME = 256
#: Extra source fed to atempo beyond what the clip needs: its overlap-add window eats the
#: last few milliseconds, and the placement is cut to its exact length afterwards anyway.
_TEMPO_MARGIN = Fraction(1, 10)


@dataclass(frozen=True)
class AudioPlacement:
    """One sound on the timeline. Times are seconds; ``length`` is on the timeline (after speed)."""

    stream: str
    """A graph label of the source's audio, e.g. ``"3:a"`` (split already if shared)."""
    start: Fraction
    length: Fraction
    trim: Fraction
    """In-point in the source."""
    source_duration: Fraction | None
    """The source's duration if known: the fade-out then ends where the sound does when the
    source runs out before the clip, and a loop is only built when it is needed."""
    speed: float = 1.0
    volume: float = 1.0
    """Linear gain (``parse_volume`` already applied)."""
    fade_in: Fraction = Fraction(0)
    fade_out: Fraction = Fraction(0)
    loop: bool = False
    """Repeat the source from ``trim`` to its end for as long as the clip lasts."""
    role: str = "effect"
    """``"music"``, ``"voice"`` or ``"effect"``; voices duck music."""
    volume_keyframes: tuple[Keyframe, ...] = ()
    """Clip-relative gain over time, multiplied with ``volume``."""
    channels: int | None = None
    """The source's channel count if known. A mono source (1) is played at full level on both
    sides; left to FFmpeg's own upmix it would come out 3 dB lower."""


@dataclass(frozen=True)
class LoudnessMeasurement:
    """What loudnorm's first pass measured (its ``print_format=json`` statistics)."""

    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float
    target_offset: float = 0.0
    """loudnorm's own correction hint; :func:`build_audio_mix` does not need it."""


def _samples(seconds: Fraction, rate: int) -> int:
    """Seconds to a sample index, rounding halves up exactly."""
    return math.floor(Fraction(seconds) * rate + Fraction(1, 2))


def sample_at(seconds: Fraction, rate: int = SAMPLE_RATE) -> int:
    """The mix's sample index of a time (the one every placement and cut uses)."""
    return _samples(seconds, rate)


def _seconds(value: float | str, fps: Fraction) -> Fraction:
    return parse_time(value).to_seconds(fps)


# --------------------------------------------------------------------------- envelopes


def _audible_end(p: AudioPlacement) -> Fraction:
    """Where the placement's sound ends on its own clock: the clip's end, or earlier when the
    source (not looped) runs out first."""
    if p.loop or p.source_duration is None:
        return p.length
    left = (p.source_duration - p.trim) / Fraction(p.speed)
    return max(Fraction(0), min(p.length, left))


def ducking_spans(
    placements: Sequence[AudioPlacement], *, duration: Fraction, gap: Fraction = Fraction(0)
) -> list[tuple[Fraction, Fraction]]:
    """The timeline spans during which voices play, merged where they overlap, touch or are less
    than ``gap`` apart. Ducking follows these spans (the voice clips' placement on the timeline,
    not the sound inside them: a pause within a voice clip stays ducked)."""
    spans = sorted(
        (p.start, min(p.start + _audible_end(p), duration))
        for p in placements
        if p.role == "voice" and p.start < duration
    )
    merged: list[tuple[Fraction, Fraction]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _ducking_expr(
    spans: Sequence[tuple[Fraction, Fraction]], gain: float, attack: Fraction, release: Fraction
) -> str:
    # Known statically, so the attack ramp ends as the voice begins instead of starting then:
    # the voice's first syllable is never masked.
    points: list[tuple[float, float]] = []
    for start, end in spans:
        points += [
            (float(start - attack), 1.0),
            (float(start), gain),
            (float(end), gain),
            (float(end + release), 1.0),
        ]
    return piecewise_expr(points)


# --------------------------------------------------------------------------- per placement


def _placement_filters(p: AudioPlacement, frames: int, rate: int, fps: Fraction) -> list[Filter]:
    """The chain that turns the source into ``frames`` samples of clip audio (no delay yet)."""
    # A video input seeked to the keyframe before its in-point (see render/seeking.py) starts
    # before time 0: cut there to the sample, as accurate seeking would.
    fs: list[Filter] = [filt("atrim", start=0)]
    if p.channels == 1:
        fs.append(filt("pan", "stereo|c0=c0|c1=c0"))
    # async=1:first_pts=0 pads a late-starting stream (and gaps) with silence and drops samples
    # before 0, so that sample counts equal timestamps and atrim cuts where the video does.
    fs += [
        filt("aresample", rate, **{"async": 1}, first_pts=0),
        filt("aformat", sample_fmts="fltp", sample_rates=rate, channel_layouts="stereo"),
    ]
    speed = Fraction(p.speed).limit_denominator(10**6)
    first = _samples(p.trim, rate)
    needed = _samples(Fraction(frames, rate) * speed, rate)
    if speed != 1:
        needed += _samples(_TEMPO_MARGIN * speed, rate)
    loops = p.loop and (
        p.source_duration is None or p.trim + Fraction(frames, rate) * speed > p.source_duration
    )
    if loops:
        # aloop keeps what it has read, at most `size` samples, and repeats it once the source
        # ends; working inside the graph it also serves a split (shared) input.
        fs += [
            filt("atrim", start_sample=first),
            filt("asetpts", "PTS-STARTPTS"),
            filt("aloop", loop=-1, size=min(needed, 2**31 - 1)),
            filt("atrim", end_sample=needed),
        ]
    else:
        fs.append(filt("atrim", start_sample=first, end_sample=first + needed))
    fs.append(filt("asetpts", "PTS-STARTPTS"))
    if speed != 1:
        # atempo keeps the pitch; it measured cleaner than rubberband on tones (-44 dB against
        # -8 dB of other frequencies at 2x) with exact lengths. It takes 0.5-100 per instance.
        tempos = [math.sqrt(p.speed)] * 2 if p.speed < 0.5 else [p.speed]
        fs += [filt("atempo", t) for t in tempos]
        fs += [filt("atrim", end_sample=frames), filt("asetpts", "PTS-STARTPTS")]
    if p.volume != 1:
        fs.append(filt("volume", p.volume))
    if p.volume_keyframes:
        # A negative gain would invert the phase; 16 is the Volume type's ceiling.
        expr = f"min(max({keyframe_expr(p.volume_keyframes, fps=fps)},0),16)"
        fs += [filt("asetnsamples", n=_ENVELOPE_FRAME, p=0), filt("volume", volume=expr, eval="frame")]
    end = min(frames, _samples(_audible_end(p), rate))
    fade_in = min(_samples(p.fade_in, rate), end)
    fade_out = min(_samples(p.fade_out, rate), end)
    if fade_in > 0:
        fs.append(filt("afade", t="in", ss=0, ns=fade_in))
    if fade_out > 0:
        fs.append(filt("afade", t="out", ss=end - fade_out, ns=fade_out))
    return fs


def _mix(graph: FilterGraph, labels: Sequence[str], hint: str) -> str:
    if len(labels) == 1:
        return labels[0]
    # normalize=0: every input at its own level, however many are mixed.
    (out,) = graph.chain(
        labels, [filt("amix", inputs=len(labels), normalize=0, duration="longest")], hint=hint
    )
    return out


def _build_sum(
    graph: FilterGraph,
    placements: Sequence[AudioPlacement],
    *,
    total: int,
    duration: Fraction,
    ducking: Ducking | None,
    rate: int,
    fps: Fraction,
    window: tuple[int, int] | None = None,
) -> str | None:
    """All placements mixed on the timeline (not yet cut to length); None when nothing plays.

    With a ``window`` (samples ``[first, end)`` of the timeline) only the placements sounding in
    it are mixed, and the sum starts at ``first``: each placement's chain is the whole mix's
    (from the placement's own start, so fades, envelopes and resampling see the same samples),
    cut to the window after it and delayed from the window's start, and they are added in the
    whole mix's order. A placement that does not sound in the window adds exact zeros to the
    whole mix there, so the window's sum is the whole sum's samples bit for bit."""
    if window is not None and ducking is not None:
        raise ValueError("a ducked mix cannot be mixed by windows (ducking follows the whole timeline)")
    first, end = window if window is not None else (0, total)
    music: list[str] = []
    others: list[str] = []
    for p in placements:
        start = _samples(p.start, rate)
        frames = min(_samples(p.start + p.length, rate), total) - start
        if frames <= 0 or _samples(_audible_end(p), rate) <= 0:
            continue
        if start + frames <= first or start >= end:
            continue  # silent in the window
        fs = _placement_filters(p, frames, rate, fps)
        if window is not None:
            # Cut what lies outside the window only after the clip's own chain.
            cut = {"end_sample": end - start} if start + frames > end else {}
            if start < first:
                cut["start_sample"] = first - start
            if cut:
                fs += [filt("atrim", **cut), filt("asetpts", "PTS-STARTPTS")]
        start -= first
        if start > 0:
            fs.append(filt("adelay", delays=f"{start}S", all=1))
        (label,) = graph.chain([p.stream], fs, hint="aclip")
        (music if p.role == "music" else others).append(label)

    if ducking is not None and music:
        attack, release = _seconds(ducking.attack, fps), _seconds(ducking.release, fps)
        spans = ducking_spans(placements, duration=duration, gap=attack + release)
        if spans:
            expr = _ducking_expr(spans, parse_volume(ducking.amount), attack, release)
            (ducked,) = graph.chain(
                [_mix(graph, music, "amusic")],
                [filt("asetnsamples", n=_ENVELOPE_FRAME, p=0), filt("volume", volume=expr, eval="frame")],
                hint="aducked",
            )
            music = [ducked]
    labels = music + others
    return _mix(graph, labels, "amix") if labels else None


def _silence(graph: FilterGraph, rate: int) -> str:
    (out,) = graph.chain([], [filt("anullsrc", channel_layout="stereo", sample_rate=rate)], hint="asilence")
    return out


def _loudnorm(loudness: Loudness, **extra: object) -> Filter:
    return filt("loudnorm", I=loudness.target, TP=limiter_ceiling(loudness), LRA=TARGET_LRA, **extra)


def _gain_to_target(loudness: Loudness, measurement: LoudnessMeasurement, rate: int) -> list[Filter]:
    """The second pass: one exact gain to the target, and a limiter only if that gain would push
    the (true) peaks over the ceiling. Unlike loudnorm's second pass, which falls back to riding
    the gain whenever the peaks are in the way, the mix's dynamics are kept as they are."""
    gain = loudness.target - measurement.input_i
    fs = [filt("volume", f"{fmt_num(gain)}dB")]
    ceiling = limiter_ceiling(loudness)
    if measurement.input_tp + gain > ceiling:
        # Limited at 4x the rate so inter-sample peaks are caught too (loudnorm does the same);
        # latency=1 keeps the limiter's look-ahead from delaying the mix.
        fs += [
            filt("aresample", 4 * rate),
            filt("alimiter", limit=10 ** (ceiling / 20), level=0, latency=1),
            filt("aresample", rate),
        ]
    return fs


def limiter_ceiling(loudness: Loudness) -> float:
    """Where the limiter holds the peaks (dBTP): below the promised ``true_peak`` by
    :data:`TRUE_PEAK_HEADROOM`. Limited at 4x the rate, the peaks still grow on the way back to
    the mix rate and through a lossy encoder: on click tracks (every click a full-scale
    transient) the output's true peak came out over the ceiling without headroom."""
    return loudness.true_peak - TRUE_PEAK_HEADROOM


def _silent(measurement: LoudnessMeasurement | None) -> bool:
    """A first pass that heard (next to) nothing: there is no level to normalise to."""
    return measurement is not None and not (math.isfinite(measurement.input_i) and measurement.input_i > -70)


def add_audio_mix(
    graph: FilterGraph,
    placements: Sequence[AudioPlacement],
    *,
    duration: Fraction,
    ducking: Ducking | None,
    loudness: Loudness | None,
    loudness_measurement: LoudnessMeasurement | None = None,
    sample_rate: int = SAMPLE_RATE,
    fps: Fraction | int = 30,
) -> MixTail:
    """Add the timeline's audio mix to ``graph``; returns its last chain (the final mix's label).

    The mix is stereo fltp at ``sample_rate``, exactly ``round(duration * sample_rate)`` samples
    long, silent where nothing plays. ``ducking`` lowers ``music`` placements while ``voice``
    placements play (see :func:`ducking_spans`). ``loudness`` normalises the mix: with loudnorm's
    single dynamic pass, or - given the ``loudness_measurement`` of a first pass over the same mix
    (:func:`build_loudness_analysis`) - with one exact gain, plus a true-peak limiter only where
    that gain would clip. ``fps`` resolves times written in frames ("12f") in keyframes and
    ducking.
    """
    if duration <= 0:
        raise ValueError(f"the mix needs a positive duration, got {duration}")
    fps = Fraction(fps)
    total = _samples(duration, sample_rate)
    mixed = _build_sum(
        graph, placements, total=total, duration=duration, ducking=ducking, rate=sample_rate, fps=fps
    )
    if mixed is None:
        mixed, loudness = _silence(graph, sample_rate), None
    filters = mix_tail(loudness, loudness_measurement, samples=total, sample_rate=sample_rate)
    (out,) = graph.chain([mixed], filters, hint="amixed")
    return MixTail(len(graph.chains) - 1, mixed, out, total, sample_rate)


def add_mix_window(
    graph: FilterGraph,
    placements: Sequence[AudioPlacement],
    *,
    duration: Fraction,
    window: tuple[int, int],
    sample_rate: int = SAMPLE_RATE,
    fps: Fraction | int = 30,
) -> str:
    """Add samples ``[first, end)`` of the timeline's mix *before* its tail (no normalisation)
    to ``graph``: exactly ``end - first`` samples of stereo fltp, bit for bit the whole sum's
    samples there (see :func:`_build_sum`). Windows that tile the timeline, concatenated, are
    the whole sum; the mix's tail (:func:`mix_tail`) is then applied to it once. Returns the
    label. Not for a ducked mix (its envelope follows the whole timeline)."""
    first, end = window
    total = _samples(duration, sample_rate)
    if not 0 <= first < end <= total:
        raise ValueError(f"the window {window} is not within the mix's {total} samples")
    mixed = _build_sum(
        graph,
        placements,
        total=total,
        duration=duration,
        ducking=None,
        rate=sample_rate,
        fps=Fraction(fps),
        window=window,
    )
    if mixed is None:
        mixed = _silence(graph, sample_rate)
    length = end - first
    fs = [
        filt("apad", whole_len=length),
        filt("atrim", end_sample=length),
        filt("aformat", sample_fmts="fltp", sample_rates=sample_rate, channel_layouts="stereo"),
    ]
    (out,) = graph.chain([mixed], fs, hint="awindow")
    return out


def build_audio_mix(
    graph: FilterGraph,
    placements: Sequence[AudioPlacement],
    *,
    duration: Fraction,
    ducking: Ducking | None,
    loudness: Loudness | None,
    loudness_measurement: LoudnessMeasurement | None = None,
    sample_rate: int = SAMPLE_RATE,
    fps: Fraction | int = 30,
) -> str:
    """:func:`add_audio_mix`, returning the label of the final mix."""
    return add_audio_mix(
        graph,
        placements,
        duration=duration,
        ducking=ducking,
        loudness=loudness,
        loudness_measurement=loudness_measurement,
        sample_rate=sample_rate,
        fps=fps,
    ).out


def mix_tail(
    loudness: Loudness | None, measurement: LoudnessMeasurement | None, *, samples: int, sample_rate: int
) -> list[Filter]:
    """The mix's last filters: normalised (when ``loudness`` asks for it) and cut to exactly
    ``samples``. A first pass's ``measurement`` changes these filters and nothing else in the
    graph, so a measured plan is the unmeasured one with this chain replaced."""
    exact = [filt("apad", whole_len=samples), filt("atrim", end_sample=samples)]
    fs: list[Filter] = []
    if loudness is not None and not _silent(measurement):
        # Normalised at its final length, as the first pass measured it.
        fs += exact
        if measurement is not None:
            fs += _gain_to_target(loudness, measurement, sample_rate)
        else:
            # loudnorm works at 192 kHz; bring it back to the mix rate.
            fs += [_loudnorm(loudness), filt("aresample", sample_rate)]
            if samples < 3 * sample_rate:
                # Under 3 s loudnorm applies one gain computed from the whole mix, which is
                # infinite for digital silence and turns it into NaN samples.
                fs.append(filt("aeval", exprs="if(isnan(val(ch)),0,val(ch))", c="same"))
    fs += [*exact, filt("aformat", sample_fmts="fltp", sample_rates=sample_rate, channel_layouts="stereo")]
    return fs


# --------------------------------------------------------------------------- two-pass loudness


def build_loudness_analysis(
    graph: FilterGraph,
    placements: Sequence[AudioPlacement],
    *,
    duration: Fraction,
    ducking: Ducking | None,
    loudness: Loudness,
    stats_file: str,
    sample_rate: int = SAMPLE_RATE,
    fps: Fraction | int = 30,
) -> str:
    """The first loudness pass: the same mix as :func:`build_audio_mix` (before normalisation)
    into a measuring loudnorm that writes its statistics (JSON) to ``stats_file`` when FFmpeg
    exits. ``graph`` must provide the placements' stream labels like the render graph does
    (same inputs, shared ones split again). Returns the label to send to ``-f null -``; see
    :func:`analysis_args`."""
    if duration <= 0:
        raise ValueError(f"the mix needs a positive duration, got {duration}")
    fps = Fraction(fps)
    total = _samples(duration, sample_rate)
    mixed = _build_sum(
        graph, placements, total=total, duration=duration, ducking=ducking, rate=sample_rate, fps=fps
    )
    if mixed is None:
        mixed = _silence(graph, sample_rate)
    # Cut to the final length first so the measurement covers exactly what the render plays.
    # The measuring loudnorm is told the mix is already on target so it runs in linear mode
    # with unity gain: in dynamic mode it adds its 3 s look-ahead buffer to the input statistics
    # twice at the end, which put a 3 s mix 0.2 LU off. (Linear mode needs a measured LRA and
    # threshold other than 0 and -70, and peaks that fit.)
    measuring = _loudnorm(
        loudness,
        measured_I=loudness.target,
        measured_TP=-99,
        measured_LRA=1,
        measured_thresh=-80,
        linear="true",
        print_format="json",
        stats_file=stats_file,
    )
    fs = [filt("apad", whole_len=total), filt("atrim", end_sample=total), measuring]
    (out,) = graph.chain([mixed], fs, hint="ameasure")
    return out


def analysis_args(graph: FilterGraph, label: str) -> list[str]:
    """FFmpeg arguments (after the executable) for the first pass: decode and filter only the
    audio, discard the result. Cheap: no video is decoded unless the graph asks for it."""
    args = base_args()
    for inp in graph.inputs:
        args += input_args(inp.path, options=inp.options)
    return [*args, "-filter_complex", graph.render(), "-map", f"[{label}]", "-vn", "-sn", "-f", "null", "-"]


_JSON_BLOCK = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}")


def parse_loudnorm_json(text: str) -> LoudnessMeasurement:
    """Read loudnorm's ``print_format=json`` statistics from a stats file or an FFmpeg log (the
    last block wins). Values may be ``"-inf"`` for silence."""
    blocks = _JSON_BLOCK.findall(text)
    if not blocks:
        raise ValueError("no loudnorm statistics found")
    data = json.loads(blocks[-1])
    try:
        return LoudnessMeasurement(
            input_i=float(data["input_i"]),
            input_tp=float(data["input_tp"]),
            input_lra=float(data["input_lra"]),
            input_thresh=float(data["input_thresh"]),
            target_offset=float(data.get("target_offset", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable loudnorm statistics: {exc}") from None
