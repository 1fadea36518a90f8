"""OpenTimelineIO import and export (``pip install 'reelforge[otio]'``): a Reelforge edit to an
``.otio`` timeline and back, for Premiere, Resolve, Final Cut and the other tools OTIO adapters
reach.

Times stay exact: every time is a whole number of frames at the edit's (first output's) frame
rate, written to OTIO as ``RationalTime(frames, rate)`` and read back as ``"Nf"`` frame times;
the exact rate (``30000/1001``) travels in the timeline's metadata. What maps: tracks (video or
audio), clips (media by path or asset id, with their trim), gaps, dissolves between clips
(``SMPTE_Dissolve``; Reelforge's other transitions as OTIO custom transitions), and the
generated assets (text, colour, shape, captions) as generator references. What OTIO has no
place for (a clip's layout, effects, keyframes; the outputs and audio settings) rides in
``metadata["reelforge"]`` so a round trip loses nothing, and is noted as invisible to other
tools. Whatever cannot be represented either way is reported in the :class:`Note` list,
located, never dropped silently.

OTIO's transition: a cut point between two abutting clips, ``in_offset`` before it and
``out_offset`` after it, the clips' media continuing under it. Reelforge's: the next clip
starting ``duration`` before the previous one ends. So a transition of ``d`` frames after a
clip of ``L`` frames is that clip cut at ``L - d`` and a transition with ``out_offset = d``.
"""

from __future__ import annotations

import copy
import re
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from reelforge.edit.errors import EditError, Problem
from reelforge.edit.models import Edit
from reelforge.edit.timing import parse_fps, parse_time
from reelforge.edit.validate import parse_edit
from reelforge.render.sources import SourceResolver

__all__ = ["Note", "edit_to_otio", "otio_to_edit"]

MEDIA_TYPES = ("video", "image", "audio")
DISSOLVES = ("fade", "dissolve")
GENERATOR_PREFIX = "reelforge."


@dataclass(frozen=True)
class Note:
    """Something that did not map exactly: ``where`` (a JSON pointer into the edit, or an OTIO
    path such as ``tracks[0][3]``) and what happened to it."""

    where: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


def _plain(value: Any) -> Any:
    """OTIO metadata (its own dictionary and vector types) as plain JSON values."""
    if isinstance(value, str | bytes):
        return value
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "AnyVector":
        return [_plain(v) for v in value]
    return value


def _metadata(obj: Any) -> dict[str, Any]:
    found = _plain(obj.metadata.get("reelforge") or {})
    return found if isinstance(found, dict) else {}


def _fps_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


# ------------------------------------------------------------------ export


def edit_to_otio(
    document: dict[str, Any], resolver: SourceResolver | Path, *, edit: Edit | None = None
) -> tuple[otio.schema.Timeline, list[Note]]:
    """The OTIO timeline of an edit document, and the notes on what other tools will not see.
    ``resolver`` finds the media (probed for ``length: "auto"``): a folder the edit's paths are
    relative to, or a service's asset resolver; ``edit`` is the document already checked.
    Raises :class:`EditError` for an invalid edit."""
    from reelforge.render.engine import plan_edit
    from reelforge.render.sources import LocalResolver

    edit = edit or parse_edit(document)
    fps = parse_fps(edit.outputs[0].fps)
    found = LocalResolver(resolver) if isinstance(resolver, Path) else resolver
    with tempfile.TemporaryDirectory(prefix="reelforge-otio-") as tmp:
        plan = plan_edit(edit, resolver=found, out_dir=Path(tmp), work_dir=Path(tmp))
    resolved = plan.timelines[fps]
    rate = float(fps)
    notes: list[Note] = []
    if len(plan.timelines) > 1:
        notes.append(
            Note("/outputs", f"outputs at other frame rates are laid out at {_fps_text(fps)} in OTIO")
        )

    timeline = otio.schema.Timeline(name=edit.name or "reelforge")
    timeline.metadata["reelforge"] = {
        "fps": _fps_text(fps),
        "edit": {k: v for k, v in document.items() if k != "timeline"},
        "timeline": {k: v for k, v in document["timeline"].items() if k != "tracks"},
    }
    if document["timeline"].get("soundtrack"):
        notes.append(Note("/timeline/soundtrack", "the soundtrack is kept in Reelforge metadata only"))

    def frames(n: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(n, rate)

    for t, timings in enumerate(resolved.tracks):
        track_doc = document["timeline"]["tracks"][t]
        clip_docs = track_doc["clips"]
        audio = all(c["asset"]["type"] == "audio" for c in clip_docs)
        lanes: list[otio.schema.Track] = []
        ends: list[int] = []
        ordered = sorted(timings, key=lambda c: (c.start, c.index))
        for timing in ordered:
            here = timing.pointer
            clip_doc = clip_docs[timing.index]
            overlap = timing.transition
            lane = next(
                (
                    i
                    for i, end in enumerate(ends)
                    if end <= timing.start or (overlap and i == 0 and end - overlap == timing.start)
                ),
                None,
            )
            if lane is None:
                lanes.append(
                    otio.schema.Track(
                        name=track_doc.get("name") or f"track {t + 1}",
                        kind=otio.schema.TrackKind.Audio if audio else otio.schema.TrackKind.Video,
                    )
                )
                ends.append(0)
                lane = len(lanes) - 1
                if lane > 0:
                    notes.append(
                        Note(here, f"overlaps another clip of its track: on an extra OTIO track ({lane})")
                    )
            track = lanes[lane]
            if overlap and lane == 0 and ends[0] - overlap == timing.start and len(track) > 0:
                previous = track[len(track) - 1]
                kind = (clip_doc.get("transition") or {}).get("type", "fade")
                # The previous clip is cut where the transition starts; its media runs on under it.
                previous.source_range = otio.opentime.TimeRange(
                    previous.source_range.start_time,
                    previous.source_range.duration - frames(overlap),
                )
                transition = otio.schema.Transition(
                    name=kind,
                    transition_type=(
                        otio.schema.TransitionTypes.SMPTE_Dissolve
                        if kind in DISSOLVES
                        else otio.schema.TransitionTypes.Custom
                    ),
                    in_offset=frames(0),
                    out_offset=frames(overlap),
                )
                transition.metadata["reelforge"] = {"type": kind}
                track.append(transition)
                if kind not in DISSOLVES:
                    notes.append(Note(here + "/transition", f"`{kind}` is an OTIO custom transition"))
            elif timing.start > ends[lane]:
                track.append(
                    otio.schema.Gap(
                        source_range=otio.opentime.TimeRange(duration=frames(timing.start - ends[lane]))
                    )
                )
            track.append(_export_clip(clip_doc, timing.length, fps, rate, here, notes))
            ends[lane] = timing.end
        for lane_track in lanes:
            lane_track.metadata["reelforge"] = {k: v for k, v in track_doc.items() if k != "clips"}
            timeline.tracks.append(lane_track)
    return timeline, notes


def _export_clip(
    clip_doc: dict[str, Any], length: int, fps: Fraction, rate: float, here: str, notes: list[Note]
) -> otio.schema.Clip:
    asset = clip_doc["asset"]
    kind = asset["type"]
    trim = parse_time(asset.get("trim", 0)).to_frames(fps) if kind in ("video", "audio") else 0
    reference: otio.core.MediaReference
    if kind in MEDIA_TYPES:
        reference = otio.schema.ExternalReference(target_url=asset["src"])
    else:
        reference = otio.schema.GeneratorReference(
            name=kind, generator_kind=GENERATOR_PREFIX + kind, parameters=copy.deepcopy(asset)
        )
        notes.append(
            Note(here + "/asset", f"a {kind} asset is an OTIO generator: other tools show a placeholder")
        )
    if kind in ("video", "audio") and float(asset.get("speed", 1)) != 1:
        notes.append(
            Note(here + "/asset/speed", "the speed is kept in Reelforge metadata, not as an OTIO time warp")
        )
    clip = otio.schema.Clip(
        name=clip_doc.get("name") or (Path(asset["src"]).name if kind in MEDIA_TYPES else kind),
        media_reference=reference,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(trim, rate), otio.opentime.RationalTime(length, rate)
        ),
    )
    kept = {k: v for k, v in clip_doc.items() if k not in ("start", "length", "transition")}
    clip.metadata["reelforge"] = {"clip": kept}
    invisible = sorted(set(kept) - {"asset", "name"})
    if invisible:
        notes.append(Note(here, f"kept in Reelforge metadata only: {', '.join(invisible)}"))
    for extra in ("transition_in", "transition_out"):
        if extra in clip_doc:
            notes.append(Note(f"{here}/{extra}", "an entrance or exit is not an OTIO transition"))
    return clip


# ------------------------------------------------------------------ import


def _rate_of(timeline: otio.schema.Timeline) -> Fraction | None:
    meta = _metadata(timeline)
    if "fps" in meta:
        return parse_fps(str(meta["fps"]))
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            return parse_fps(round(clip.source_range.duration.rate, 3))
    return None


def otio_to_edit(
    timeline: otio.schema.Timeline, fps: Fraction | None = None
) -> tuple[dict[str, Any], list[Note]]:
    """The Reelforge edit document of an OTIO timeline, and the notes on what it could not
    carry over (markers, nested stacks, media it cannot name, effects...)."""
    notes: list[Note] = []
    fps = fps or _rate_of(timeline) or Fraction(30)
    rate = float(fps)
    meta = _metadata(timeline)

    def frames(time: otio.opentime.RationalTime, where: str) -> int:
        value = Fraction(time.value).limit_denominator(10**6)
        # A time at another rate (a source's timecode) is rescaled exactly, via its exact rate.
        exact = value if abs(time.rate - rate) < 1e-9 else value * fps / parse_fps(round(time.rate, 3))
        whole = round(exact)
        if abs(exact - whole) > Fraction(1, 1000):
            notes.append(Note(where, f"{float(exact):.3f} frames rounded to {whole} at {_fps_text(fps)} fps"))
        return int(whole)

    for marker in timeline.tracks.markers:
        notes.append(_marker_note("timeline", marker))
    tracks: list[dict[str, Any]] = []
    for ti, track in enumerate(timeline.tracks):
        if not isinstance(track, otio.schema.Track):
            notes.append(Note(f"tracks[{ti}]", "a nested stack is not imported"))
            continue
        for marker in track.markers:
            notes.append(_marker_note(f"tracks[{ti}]", marker))
        clips: list[dict[str, Any]] = []
        cursor = 0
        pending: tuple[int, int, str] | None = None
        previous_is_clip = False
        for ii, item in enumerate(track):
            where = f"tracks[{ti}][{ii}]"
            for marker in getattr(item, "markers", []):
                notes.append(_marker_note(where, marker))
            if isinstance(item, otio.schema.Transition):
                in_f = frames(item.in_offset, where + ".in_offset")
                out_f = frames(item.out_offset, where + ".out_offset")
                kind = _metadata(item).get("type") or (
                    "fade" if item.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve else None
                )
                if kind is None:
                    notes.append(Note(where, f"transition `{item.transition_type}` imported as a fade"))
                    kind = "fade"
                if not previous_is_clip:
                    notes.append(Note(where, "a transition that does not follow a clip is not imported"))
                    continue
                clips[-1]["length"] += out_f
                pending = (in_f, out_f, kind)
                continue
            duration = frames(item.duration(), where + ".duration")
            if isinstance(item, otio.schema.Gap):
                cursor += duration
                previous_is_clip = False
                pending = None
                continue
            if not isinstance(item, otio.schema.Clip):
                notes.append(Note(where, f"a nested {type(item).__name__} is not imported: a gap instead"))
                cursor += duration
                previous_is_clip = False
                continue
            entry = _import_clip(item, where, notes)
            if entry is None:
                cursor += duration
                previous_is_clip = False
                pending = None
                continue
            trim = frames(item.trimmed_range().start_time - _available_start(item), where + ".source_range")
            entry.update(start=cursor, length=duration)
            if pending is not None:
                in_f, out_f, kind = pending
                if trim < in_f:
                    notes.append(
                        Note(where, f"{in_f - trim} frames of the transition before the clip's media starts")
                    )
                    in_f = trim
                trim -= in_f
                entry["start"] = None  # right after the previous clip, overlapping it by the transition
                entry["length"] = duration + in_f
                entry["transition"] = {"type": kind, "duration": f"{in_f + out_f}f"}
                pending = None
            asset = entry["asset"]
            if asset["type"] in ("video", "audio"):
                asset["trim"] = f"{trim}f"
            for effect in item.effects:
                notes.append(Note(where, f"the effect `{effect.effect_name or effect.name}` is not imported"))
            clips.append(entry)
            cursor += duration
            previous_is_clip = True
        if not clips:
            continue
        for entry in clips:
            entry["start"] = "auto" if entry["start"] is None else f"{entry['start']}f"
            entry["length"] = f"{entry['length']}f"
        track_meta = _metadata(track)
        if "name" not in track_meta and track.name:
            track_meta["name"] = track.name
        tracks.append({**track_meta, "clips": clips})

    document: dict[str, Any] = dict(meta.get("edit") or {})
    if "outputs" not in document:
        document["outputs"] = [{"fps": _fps_text(fps)}]
        notes.append(
            Note(
                "/outputs",
                f"no Reelforge outputs in the timeline: one default output at {_fps_text(fps)} fps",
            )
        )
    if timeline.name and "name" not in document and _is_edit_name(timeline.name):
        document["name"] = timeline.name
    document["timeline"] = {**(meta.get("timeline") or {}), "tracks": tracks}
    if not tracks:
        raise EditError(
            [Problem("/timeline/tracks", "the OTIO timeline has no clip Reelforge can import", "otio")]
        )
    return document, notes


def _is_edit_name(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name) is not None


def _available_start(clip: otio.schema.Clip) -> otio.opentime.RationalTime:
    ref = clip.media_reference
    available = getattr(ref, "available_range", None)
    if available is not None:
        return available.start_time
    return otio.opentime.RationalTime(0, clip.trimmed_range().start_time.rate)


def _import_clip(item: otio.schema.Clip, where: str, notes: list[Note]) -> dict[str, Any] | None:
    kept = copy.deepcopy(_metadata(item).get("clip") or {})
    ref = item.media_reference
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        src = ref.target_url.removeprefix("file://")
        asset = dict(kept.get("asset") or {})
        if asset.get("type") not in MEDIA_TYPES:
            suffix = Path(src).suffix.lower()
            kind = (
                "audio"
                if suffix in (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg")
                else ("image" if suffix in (".png", ".jpg", ".jpeg", ".webp", ".gif") else "video")
            )
            asset = {"type": kind}
        asset["src"] = src
    elif isinstance(ref, otio.schema.GeneratorReference) and ref.generator_kind.startswith(GENERATOR_PREFIX):
        asset = _plain(ref.parameters)
    else:
        notes.append(Note(where, f"the clip `{item.name}` has no media Reelforge can name: a gap instead"))
        return None
    if asset.get("type") == "image":
        asset.pop("trim", None)
    entry = {k: v for k, v in kept.items() if k != "asset"}
    if item.name and "name" not in entry and item.name != Path(str(asset.get("src", ""))).name:
        entry["name"] = item.name[:200]
    entry["asset"] = asset
    return entry


def _marker_note(where: str, marker: otio.schema.Marker) -> Note:
    at = marker.marked_range.start_time
    return Note(
        where, f"marker `{marker.name}` at {at.to_seconds():.3f} s has no place in an edit: not imported"
    )
