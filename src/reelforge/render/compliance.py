"""Brand compliance: does an edit keep to a brand kit's rules on every output it renders?

:func:`check_compliance` is pure: it takes the parsed edit, a :class:`BrandKitView` (what the
service knows of the kit, with no database behind it) and the sizes of the media it places, and
returns :class:`Finding` s. Geometry comes from the compiler's own layout code (output sizes,
media fit, anchors and offsets, watermark placement) and from the text renderer itself (a text
clip's block is measured by drawing it with the font it will be drawn with), so a finding is
about the pixels the render will produce.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from reelforge.edit.errors import pointer
from reelforge.edit.models import CaptionAsset, Clip, Edit, ImageAsset, TextAsset, VideoAsset
from reelforge.edit.overrides import resolve_clip
from reelforge.edit.values import parse_color

from .fonts import FontNotFoundError
from .layout import DEFAULT_SAFE_ZONES, SafeZone, media_sprite_size, static_position, watermark_box
from .outputs import OutputGeometry, geometry
from .text import render_text, scaled, text_lines

__all__ = [
    "DEFAULT_MIN_TEXT_SIZE",
    "DEFAULT_SAFE_ZONES",
    "RULES",
    "BrandKitView",
    "Finding",
    "SafeZone",
    "aspect_label",
    "check_compliance",
    "same_family",
]

Severity = Literal["error", "warning"]
RULES = (
    "safe_zone",
    "font_not_in_kit",
    "color_not_in_kit",
    "logo_required",
    "captions_required",
    "text_too_small",
)

DEFAULT_MIN_TEXT_SIZE = 0.025
"""Readable minimum: text at least this fraction of the output's shorter side (27 px at 1080p)."""
MIN_TEXT_PIXELS = 12
"""Below this no output size makes text readable."""


@dataclass(frozen=True)
class BrandKitView:
    """What the check needs of a brand kit (the service builds it from the kit's version)."""

    colors: Mapping[str, str] = field(default_factory=dict)
    font_families: frozenset[str] = frozenset()
    """Every family the kit's fonts have (including per-locale ones)."""
    logos: frozenset[str] = frozenset()
    """The asset ids of the kit's logos (a clip or watermark showing one is "the logo")."""
    safe_zones: Mapping[str, SafeZone] = field(default_factory=lambda: dict(DEFAULT_SAFE_ZONES))
    require_logo: bool = False
    require_captions: bool = False
    min_text_size: float | None = DEFAULT_MIN_TEXT_SIZE
    """Fraction of the output's shorter side; ``None`` turns the check off."""
    allowed_fonts_only: bool = False
    allowed_colors_only: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    pointer: str
    """Where in the edit: the clip (``/timeline/tracks/0/clips/1``) or the part concerned."""
    output: int | None = None
    """The output's index, or None when the finding is about the whole edit."""
    output_label: str | None = None
    """E.g. ``9:16 1080x1920``."""

    def as_json(self, pointer_prefix: str = "") -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "pointer": "#" + pointer_prefix + self.pointer,
            "output": self.output,
            "output_label": self.output_label,
        }


# ---------------------------------------------------------------------- helpers


def aspect_label(width: int, height: int) -> str:
    ratio = Fraction(width, height)
    # Sizes are even-rounded, so 1080x1920 is exactly 9:16 but 608x1080 is not: snap to the
    # nearest simple ratio within 1 %.
    for w in range(1, 33):
        for h in range(1, 33):
            if abs(float(ratio) - w / h) <= 0.01 * (w / h) and Fraction(w, h).denominator == h:
                return f"{w}:{h}"
    return f"{ratio.numerator}:{ratio.denominator}"


def _ratio(label: str) -> Fraction | None:
    try:
        w, h = (int(x) for x in label.split(":"))
        return Fraction(w, h) if w > 0 and h > 0 else None
    except ValueError:
        return None


def _zone_for(kit: BrandKitView, geo: OutputGeometry) -> tuple[str, SafeZone] | None:
    ratio = Fraction(geo.width, geo.height)
    for label, zone in kit.safe_zones.items():
        want = _ratio(label)
        if want is not None and abs(float(ratio) - float(want)) <= 0.01 * float(want):
            return label, zone
    return None


def same_family(a: str, b: str) -> bool:
    # fontconfig's rule for family names: ignore case and blanks
    return a.casefold().replace(" ", "") == b.casefold().replace(" ", "")


def _rgb(color: str) -> tuple[int, int, int] | None:
    try:
        r, g, b, a = parse_color(color)
    except ValueError:
        return None
    return None if a == 0 else (r, g, b)


Box = tuple[float, float, float, float]
"""left, top, right, bottom in output pixels."""


def _intrusion(box: Box, geo: OutputGeometry, zone: SafeZone) -> list[str]:
    """The sides of the safe zone the box reaches into (a pixel of tolerance for rounding)."""
    left, top, right, bottom = box
    W, H = geo.width, geo.height
    sides = []
    if zone.top and top < zone.top * H - 1:
        sides.append(f"top {zone.top:.0%}")
    if zone.bottom and bottom > (1 - zone.bottom) * H + 1:
        sides.append(f"bottom {zone.bottom:.0%}")
    if zone.left and left < zone.left * W - 1:
        sides.append(f"left {zone.left:.0%}")
    if zone.right and right > (1 - zone.right) * W + 1:
        sides.append(f"right {zone.right:.0%}")
    return sides


def _offsets(clip: Clip) -> list[tuple[float, float]]:
    """The offsets a clip takes: its static one, or every keyframed value (the extremes of a
    piecewise curve between keyframes lie on them for the easings offered)."""
    frames = clip.keyframes
    xs = [k.value for k in frames.offset_x] if frames and frames.offset_x else [clip.offset.x]
    ys = [k.value for k in frames.offset_y] if frames and frames.offset_y else [clip.offset.y]
    return [(x, y) for x in xs for y in ys]


def _placed(
    clip: Clip, canvas: tuple[int, int], sprite: tuple[int, int], safe: SafeZone | None = None
) -> Box:
    """The union of the sprite's boxes over the clip's offsets (kept in ``safe`` when given)."""
    boxes = []
    for offset in _offsets(clip):
        x, y = static_position(clip, canvas, sprite, offset, safe)
        boxes.append((x, y, x + sprite[0], y + sprite[1]))
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _text_sprite(
    asset: TextAsset, clip: Clip, canvas: tuple[int, int], fonts: Sequence[Path]
) -> tuple[int, int]:
    """The text block as the engine draws it (its size scaled like the engine scales it)."""
    return render_text(scaled(asset, clip.scale), canvas, extra_fonts=fonts).size


def _text_pixels(asset: TextAsset, clip: Clip, canvas: tuple[int, int], fonts: Sequence[Path]) -> float:
    """The font size the text is drawn at: its `size`, or what `fit: "shrink"` chooses."""
    if asset.style.fit != "shrink":
        return asset.style.size * canvas[1] * clip.scale
    try:
        return text_lines(scaled(asset, clip.scale), canvas, extra_fonts=fonts)[0]
    except (FontNotFoundError, ValueError):
        return asset.style.size * canvas[1] * clip.scale  # reported where the text is drawn


def _caption_box(asset: CaptionAsset, geo: OutputGeometry) -> Box:
    """The line of a caption nearest its edge (libass places it by position and margins)."""
    style = asset.style
    W, H = geo.width, geo.height
    line = style.size * H * 1.2
    left, right = style.margin_x * W, (1 - style.margin_x) * W
    if style.position == "bottom":
        bottom = (1 - style.margin_y) * H
        return left, bottom - line, right, bottom
    if style.position == "top":
        top = style.margin_y * H
        return left, top, right, top + line
    return left, (H - line) / 2, right, (H + line) / 2


# ---------------------------------------------------------------------- the check


def _clips(edit: Edit) -> Iterator[tuple[str, Clip]]:
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            yield pointer("timeline", "tracks", t, "clips", c), clip


def _colors(edit: Edit) -> Iterator[tuple[str, str]]:
    """(pointer, colour) of everything the brand's palette governs: text, captions, shapes,
    colour clips and the background. Shadows are left out: they are shading, not colour."""
    yield pointer("timeline", "background"), edit.timeline.background
    for here, clip in _clips(edit):
        asset = clip.asset
        if asset.type == "text":
            s = asset.style
            yield f"{here}/asset/style/color", s.color
            if s.stroke is not None:
                yield f"{here}/asset/style/stroke/color", s.stroke.color
            if s.background is not None:
                yield f"{here}/asset/style/background/color", s.background.color
        elif asset.type == "caption":
            cs = asset.style
            yield f"{here}/asset/style/color", cs.color
            yield f"{here}/asset/style/highlight_color", cs.highlight_color
            yield f"{here}/asset/style/outline_color", cs.outline_color
            if cs.background is not None:
                yield f"{here}/asset/style/background", cs.background
        elif asset.type == "color":
            yield f"{here}/asset/color", asset.color
        elif asset.type == "shape":
            if asset.fill is not None:
                yield f"{here}/asset/fill", asset.fill
            if asset.stroke is not None:
                yield f"{here}/asset/stroke", asset.stroke


def _kit_rules(edit: Edit, kit: BrandKitView) -> Iterable[Finding]:
    if kit.allowed_fonts_only:
        for here, clip in _clips(edit):
            asset = clip.asset
            if isinstance(asset, TextAsset | CaptionAsset):
                font = asset.style.font
                if not any(same_family(font, f) for f in kit.font_families):
                    allowed = ", ".join(sorted(kit.font_families)) or "none"
                    yield Finding(
                        "font_not_in_kit",
                        "error",
                        f"font {font!r} is not one of the brand kit's fonts ({allowed})",
                        f"{here}/asset/style/font",
                    )
    if kit.allowed_colors_only:
        palette = {rgb for rgb in (_rgb(c) for c in kit.colors.values()) if rgb is not None}
        names = ", ".join(f"{k} {v}" for k, v in kit.colors.items()) or "none"
        for where, color in _colors(edit):
            rgb = _rgb(color)
            if rgb is not None and rgb not in palette:
                yield Finding(
                    "color_not_in_kit",
                    "error",
                    f"colour {color!r} is not in the brand kit's palette ({names})",
                    where,
                )
    if kit.require_captions and not any(c.asset.type == "caption" for _, c in _clips(edit)):
        yield Finding(
            "captions_required",
            "error",
            "the brand kit requires captions; the edit has no caption clip",
            pointer("timeline", "tracks"),
        )


def check_compliance(
    edit: Edit,
    kit: BrandKitView,
    *,
    outputs: Sequence[int] | None = None,
    media_sizes: Mapping[str, tuple[int, int]] | None = None,
    fonts: Sequence[Path] = (),
) -> list[Finding]:
    """Every way ``edit`` breaks ``kit``'s rules, on each of ``outputs`` (indexes into
    ``edit.outputs``; default all of them that have a picture).

    ``media_sizes`` gives the pixel size of image/video sources by ``src`` (a logo's box needs
    it); ``fonts`` are extra font files, as the render gets them, so text is measured with the
    font it will be drawn with.
    """
    sizes = dict(media_sizes or {})
    findings = list(_kit_rules(edit, kit))
    indexes = [
        i
        for i in (range(len(edit.outputs)) if outputs is None else outputs)
        if not edit.outputs[i].is_audio_only
    ]
    clips = list(_clips(edit))
    for index in indexes:
        output = edit.outputs[index]
        geo = geometry(output)
        canvas = (geo.width, geo.height)
        label = f"{aspect_label(*canvas)} {geo.label}"
        entry = _zone_for(kit, geo)
        zone_name, zone = entry if entry is not None else ("", None)
        shorter = min(canvas)

        def found(
            rule: str,
            message: str,
            where: str,
            severity: Severity = "error",
            index: int = index,
            label: str = label,
        ) -> None:
            findings.append(Finding(rule, severity, message, where, index, label))

        logo_shown = False
        for here, edit_clip in clips:
            # The clip as this output shows it, and the zone it keeps to (as the render places it).
            clip = resolve_clip(edit_clip, output, canvas)
            safe = zone if clip.safe_area else None
            asset = clip.asset
            box: Box | None = None
            what = ""
            if isinstance(asset, TextAsset):
                what = "text"
                px = _text_pixels(asset, clip, canvas, fonts)
                if kit.min_text_size is not None and px < max(MIN_TEXT_PIXELS, kit.min_text_size * shorter):
                    fitted = asset.style.fit == "shrink"
                    found(
                        "text_too_small",
                        f"text is {px:.0f} px on the {label} output{' once shrunk to fit' if fitted else ''}; "
                        f"the readable minimum there is "
                        f"{max(MIN_TEXT_PIXELS, kit.min_text_size * shorter):.0f} px "
                        f"({kit.min_text_size:.1%} of the shorter side)",
                        f"{here}/asset/style/{'min_size' if fitted else 'size'}",
                    )
                if zone is not None:
                    try:
                        box = _placed(clip, canvas, _text_sprite(asset, clip, canvas, fonts), safe)
                    except (FontNotFoundError, ValueError) as exc:
                        found(
                            "safe_zone",
                            f"cannot measure the text to check the safe zone: {exc}",
                            here,
                            "warning",
                        )
            elif isinstance(asset, CaptionAsset):
                what = "captions"
                px = asset.style.size * geo.height
                if kit.min_text_size is not None and px < max(MIN_TEXT_PIXELS, kit.min_text_size * shorter):
                    found(
                        "text_too_small",
                        f"captions are {px:.0f} px on the {label} output; the readable minimum there is "
                        f"{max(MIN_TEXT_PIXELS, kit.min_text_size * shorter):.0f} px",
                        f"{here}/asset/style/size",
                    )
                box = _caption_box(asset, geo) if zone is not None else None
            elif isinstance(asset, ImageAsset | VideoAsset) and asset.src in kit.logos:
                what = "the logo"
                logo_shown = True
                if zone is not None and asset.src in sizes:
                    box = _placed(clip, canvas, media_sprite_size(clip, geo, *sizes[asset.src], safe), safe)
            if box is not None and zone is not None:
                sides = _intrusion(box, geo, zone)
                if sides:
                    found(
                        "safe_zone",
                        f"{what} reaches into the {zone_name} safe zone ({' and '.join(sides)} reserved for "
                        f"platform UI) on the {label} output: it spans y {box[1]:.0f}-{box[3]:.0f} px "
                        f"and x {box[0]:.0f}-{box[2]:.0f} px of {geo.label}",
                        here,
                    )
        mark = output.watermark
        if mark is not None and mark.src in kit.logos:
            logo_shown = True
            if zone is not None and mark.src in sizes:
                x, y, w, h = watermark_box(output, geo, *sizes[mark.src])
                sides = _intrusion((x, y, x + w, y + h), geo, zone)
                if sides:
                    found(
                        "safe_zone",
                        f"the logo watermark reaches into the {zone_name} safe zone "
                        f"({' and '.join(sides)}) on the {label} output",
                        pointer("outputs", index, "watermark"),
                    )
        if kit.require_logo and not logo_shown:
            found(
                "logo_required",
                f"the brand kit requires its logo; the {label} output shows none "
                "(place a logo image clip or use it as the output's watermark)",
                pointer("outputs", index),
            )
    return findings
