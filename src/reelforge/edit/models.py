"""The edit language: a timeline of tracks of clips, and the outputs to render it to.

An edit is plain JSON a person can read and write. Every model refuses unknown fields, so a
typo is an error with its location rather than a setting silently ignored. Positions and sizes
are fractions of the canvas, so one edit looks right in 16:9, 1:1 and 9:16.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from .values import Color, FpsValue, TimeValue, Volume

__all__ = [
    "Anchor",
    "Asset",
    "AudioAsset",
    "AudioSettings",
    "CaptionAsset",
    "CaptionStyle",
    "Clip",
    "ClipOverride",
    "ColorAsset",
    "Crop",
    "Cue",
    "CueBreaking",
    "Ducking",
    "Easing",
    "Edit",
    "Effects",
    "Focus",
    "ImageAsset",
    "Keyframe",
    "Keyframes",
    "Loudness",
    "Motion",
    "Offset",
    "Output",
    "Poster",
    "Shadow",
    "ShapeAsset",
    "Soundtrack",
    "Stroke",
    "TextAnimation",
    "TextAsset",
    "TextBackground",
    "TextStyle",
    "Timeline",
    "Track",
    "Transition",
    "VideoAsset",
    "Watermark",
    "Word",
]


class Model(BaseModel):
    # Field docstrings document the schema; spec.schema adds them to the JSON Schema (reading
    # them here with use_attribute_docstrings would parse this file once per model at import).
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Fraction01 = Annotated[float, Field(ge=0, le=1)]
Anchor = Literal[
    "top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right"
]
Fit = Literal["cover", "contain", "fill", "blur", "none"]
Easing = Literal["linear", "ease-in", "ease-out", "ease-in-out"]

# --------------------------------------------------------------------------- transitions

TransitionType = Literal[
    "fade",
    "fade-black",
    "fade-white",
    "dissolve",
    "wipe-left",
    "wipe-right",
    "wipe-up",
    "wipe-down",
    "slide-left",
    "slide-right",
    "slide-up",
    "slide-down",
    "circle-open",
    "circle-close",
    "zoom",
    "pixelize",
    "radial",
]


class Transition(Model):
    """A transition: between two clips of a track, or as a clip's entrance or exit."""

    type: TransitionType = "fade"
    """How the picture changes. `fade` cross-fades; `dissolve` dissolves pixel by pixel."""
    duration: TimeValue = 0.5
    """How long the transition lasts."""


# --------------------------------------------------------------------------- keyframes


class Keyframe(Model):
    time: TimeValue
    """When, relative to the clip's start."""
    value: float
    easing: Easing | tuple[float, float, float, float] = "linear"
    """How the value moves from this keyframe to the next: a named easing or a cubic-bezier
    `[x1, y1, x2, y2]` as in CSS."""

    @model_validator(mode="after")
    def _bezier_in_range(self) -> Keyframe:
        if isinstance(self.easing, tuple) and not (0 <= self.easing[0] <= 1 and 0 <= self.easing[2] <= 1):
            raise ValueError("cubic-bezier x1 and x2 must be between 0 and 1")
        return self


KeyframeList = Annotated[list[Keyframe], Field(min_length=1)]


class Keyframes(Model):
    """Animated properties. Each list is sorted by time; before the first keyframe the first value
    holds and after the last the last value holds."""

    opacity: KeyframeList | None = None
    offset_x: KeyframeList | None = None
    offset_y: KeyframeList | None = None
    scale: KeyframeList | None = None
    rotate: KeyframeList | None = None
    volume: KeyframeList | None = None
    """Linear gain over time."""


# --------------------------------------------------------------------------- look


class Crop(Model):
    """Fractions of the source to cut away from each side before fitting."""

    top: Fraction01 = 0
    bottom: Fraction01 = 0
    left: Fraction01 = 0
    right: Fraction01 = 0

    @model_validator(mode="after")
    def _leaves_something(self) -> Crop:
        if self.left + self.right >= 1 or self.top + self.bottom >= 1:
            raise ValueError("crop removes the whole picture: left+right and top+bottom must stay below 1")
        return self


class Offset(Model):
    """A shift from the anchored position, as fractions of the canvas (y grows downwards)."""

    x: float = Field(0, ge=-2, le=2)
    y: float = Field(0, ge=-2, le=2)


class Focus(Model):
    """The point of the source to keep in view when `fit: "cover"` crops it, as fractions of the
    source (0,0 is its top-left corner)."""

    x: Fraction01 = 0.5
    y: Fraction01 = 0.5


class ChromaKey(Model):
    color: Color = "#00ff00"
    similarity: float = Field(0.15, gt=0, le=1)
    blend: float = Field(0.05, ge=0, le=1)


class Vignette(Model):
    strength: float = Field(0.5, ge=0, le=1)


ColorPreset = Literal["greyscale", "sepia", "vintage", "boost", "muted", "negative"]


class Effects(Model):
    """Colour and image adjustments, applied in a fixed order: LUT, preset, colour, blur/sharpen,
    vignette. Neutral values change nothing."""

    brightness: float = Field(0, ge=-1, le=1)
    contrast: float = Field(1, ge=0, le=4)
    saturation: float = Field(1, ge=0, le=3)
    gamma: float = Field(1, ge=0.1, le=10)
    hue: float = Field(0, ge=-180, le=180)
    """Hue rotation in degrees."""
    temperature: float | None = Field(None, ge=1000, le=40000)
    """White balance in kelvin (6500 is neutral; lower is warmer)."""
    preset: ColorPreset | None = None
    lut: str | None = None
    """A 3D LUT (.cube) file, relative to the edit like any source."""
    blur: float = Field(0, ge=0, le=100)
    """Gaussian blur radius in thousandths of the canvas height."""
    sharpen: float = Field(0, ge=0, le=5)
    vignette: Vignette | None = None
    chroma_key: ChromaKey | None = None


MotionType = Literal["zoom-in", "zoom-out", "pan-left", "pan-right", "pan-up", "pan-down"]


class Motion(Model):
    """Ken Burns: a slow zoom or pan across the clip's whole length."""

    type: MotionType = "zoom-in"
    amount: float = Field(0.15, gt=0, le=1)
    """How far: for zooms the added scale (0.15 = 115 %), for pans the fraction of the frame travelled."""
    easing: Easing = "linear"


# --------------------------------------------------------------------------- text


class Stroke(Model):
    color: Color = "#000000"
    width: float = Field(0.08, ge=0, le=1)
    """Outline width as a fraction of the font size."""


class Shadow(Model):
    color: Color = "#00000099"
    x: float = Field(0.05, ge=-1, le=1)
    """Horizontal shadow offset as a fraction of the font size."""
    y: float = Field(0.05, ge=-1, le=1)
    blur: float = Field(0.05, ge=0, le=1)


class TextBackground(Model):
    color: Color = "#000000aa"
    padding: float = Field(0.3, ge=0, le=5)
    """Space around the text as a fraction of the font size."""
    radius: float = Field(0, ge=0, le=5)
    """Corner radius as a fraction of the font size."""


class TextStyle(Model):
    font: str = "DejaVu Sans"
    """A font family name (looked up with fontconfig) or a font file (.ttf/.otf) relative to the edit."""
    weight: Literal["normal", "bold"] = "normal"
    italic: bool = False
    size: float = Field(0.06, gt=0, le=1)
    """Font size as a fraction of the canvas height."""
    color: Color = "#ffffff"
    stroke: Stroke | None = None
    shadow: Shadow | None = None
    background: TextBackground | None = None
    align: Literal["left", "center", "right"] = "center"
    max_width: float = Field(0.9, gt=0, le=1)
    """Lines wrap at word boundaries to stay within this fraction of the canvas width."""
    line_height: float = Field(1.2, ge=0.5, le=4)
    """Distance between baselines as a multiple of the font size."""
    direction: Literal["auto", "ltr", "rtl"] = "auto"
    """Text direction; `auto` follows the first strong character (Arabic and Hebrew are right to left)."""
    language: str | None = None
    """A BCP 47 language tag, used for shaping where it matters (and for hyphenation)."""
    # Fonts, line breaking and fitting (docs/edit-format.md, "Text").
    fallback: list[str] = []
    """Font families (or files) tried in order for characters `font` lacks, before the installed defaults."""
    hyphenate: bool = False
    """Break long words at hyphenation points of `language`."""
    fit: Literal["none", "shrink"] = "none"
    """`shrink`: the largest size from `size` down to `min_size` that fits `max_width`, `max_height` and `max_lines`."""
    min_size: float = Field(0.02, gt=0, le=1)
    """The smallest size `fit: "shrink"` goes down to, as a fraction of the canvas height."""
    max_height: float | None = Field(None, gt=0, le=1)
    """With `fit: "shrink"`: the text block's height limit as a fraction of the canvas height."""
    max_lines: int | None = Field(None, ge=1, le=50)
    """With `fit: "shrink"`: at most this many lines."""

    @model_validator(mode="after")
    def _text_fit(self) -> TextStyle:
        if self.hyphenate and not self.language:
            raise ValueError('`hyphenate` needs a `language` (e.g. "en" or "fr") to know where words break')
        if self.fit == "shrink" and self.min_size > self.size:
            raise ValueError("`min_size` is larger than `size` (the largest size)")
        return self


TextAnimationType = Literal[
    "fade", "slide-up", "slide-down", "slide-left", "slide-right", "pop", "typewriter"
]


class TextAnimation(Model):
    type: TextAnimationType = "fade"
    duration: TimeValue = 0.5


# --------------------------------------------------------------------------- captions


class Word(Model):
    text: str
    start: TimeValue
    end: TimeValue


class Cue(Model):
    start: TimeValue
    """When the cue appears, relative to the clip's start."""
    end: TimeValue
    text: str
    words: list[Word] | None = None
    """Word timings for word-by-word highlight (karaoke style)."""


class CaptionStyle(Model):
    font: str = "DejaVu Sans"
    weight: Literal["normal", "bold"] = "bold"
    size: float = Field(0.055, gt=0, le=1)
    """Font size as a fraction of the canvas height."""
    color: Color = "#ffffff"
    highlight_color: Color = "#ffd700"
    """Colour of the word being spoken, when cues have word timings."""
    outline_color: Color = "#000000"
    outline: float = Field(0.06, ge=0, le=1)
    """Outline width as a fraction of the font size."""
    background: Color | None = None
    """A box behind the text, e.g. "#000000aa"; none by default."""
    position: Literal["bottom", "center", "top"] = "bottom"
    margin_x: float = Field(0.06, ge=0, le=0.45)
    """Left and right margins as a fraction of the canvas width."""
    margin_y: float = Field(0.08, ge=0, le=0.45)
    """Distance from the top or bottom edge as a fraction of the canvas height."""
    max_lines: int = Field(2, ge=1, le=10)
    direction: Literal["auto", "ltr", "rtl"] = "auto"
    fallback: list[str] = []
    """Font families (or files) tried in order for characters `font` lacks, before the installed defaults."""


# --------------------------------------------------------------------------- assets


class MediaAsset(Model):
    src: str = Field(min_length=1)
    """A file path relative to the edit file, or an asset id when rendering through the service."""


class VideoAsset(MediaAsset):
    type: Literal["video"]
    trim: TimeValue = 0
    """Where in the source the clip begins."""
    volume: Volume = 1
    muted: bool = False
    speed: float = Field(1, ge=0.25, le=4)
    """Playback speed; audio keeps its pitch."""
    loop: bool = False
    """Repeat the source when the clip is longer than it."""
    freeze: bool = False
    """Hold the last frame when the clip is longer than the source."""
    fade_in: TimeValue = 0
    """Audio fade-in."""
    fade_out: TimeValue = 0
    """Audio fade-out."""


class ImageAsset(MediaAsset):
    type: Literal["image"]


AudioRole = Literal["music", "voice", "effect"]


class AudioAsset(MediaAsset):
    type: Literal["audio"]
    trim: TimeValue = 0
    volume: Volume = 1
    speed: float = Field(1, ge=0.25, le=4)
    loop: bool = False
    fade_in: TimeValue = 0
    fade_out: TimeValue = 0
    role: AudioRole = "effect"
    """`voice` ducks `music` while it plays, when ducking is on."""


class TextAsset(Model):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=5000)
    style: TextStyle = TextStyle()
    animation_in: TextAnimation | None = None
    animation_out: TextAnimation | None = None


class CueBreaking(Model):
    """How transcribed words are grouped into cues (defaults suit 9:16: short lines, at most 2)."""

    max_chars: int = Field(18, ge=4, le=200)
    """Characters per line."""
    max_lines: int = Field(2, ge=1, le=10)
    """Lines per cue."""
    max_duration: float = Field(3.0, gt=0, le=60)
    """Longest cue, seconds."""
    pause: float = Field(0.6, gt=0, le=60)
    """A silence between two words at least this long (seconds) starts a new cue."""
    min_words: int = Field(2, ge=1, le=100)
    """A sentence's end closes a cue only once it has this many words."""


class CaptionAsset(Model):
    type: Literal["caption"]
    src: str | None = None
    """An SRT, WebVTT or ASS file relative to the edit (or an asset id); or give `cues` or `transcribe`."""
    cues: list[Cue] | None = None
    transcribe: str | None = Field(None, min_length=1, max_length=1000)
    """Speech to caption automatically: `clip:<name>` (the clip with that `name`, timed as it
    plays on the timeline) or a media file / asset id (timed from its start)."""
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")
    """The spoken language for `transcribe` (e.g. "en"); detected when not given."""
    breaking: CueBreaking = CueBreaking()
    """How `transcribe`'s words are grouped into cues."""
    style: CaptionStyle = CaptionStyle()
    sidecar: list[Literal["srt", "vtt"]] = []
    """Also write these subtitle files next to each video output."""

    @model_validator(mode="after")
    def _one_source(self) -> CaptionAsset:
        given = [name for name in ("src", "cues", "transcribe") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of `src` (a subtitle file), `cues` or `transcribe` (speech to caption)"
            )
        return self


class ColorAsset(Model):
    type: Literal["color"]
    color: Color


class ShapeAsset(Model):
    type: Literal["shape"]
    shape: Literal["rectangle", "circle", "line"]
    fill: Color | None = "#ffffff"
    stroke: Color | None = None
    stroke_width: float = Field(0.005, ge=0, le=0.5)
    """Outline (and line) width as a fraction of the canvas height."""
    radius: float = Field(0, ge=0, le=0.5)
    """Rectangle corner radius as a fraction of the canvas height."""


Asset = Annotated[
    VideoAsset | ImageAsset | AudioAsset | TextAsset | CaptionAsset | ColorAsset | ShapeAsset,
    Field(discriminator="type"),
]
ASSET_TYPES = ("video", "image", "audio", "text", "caption", "color", "shape")
VISUAL_TYPES = ("video", "image", "text", "color", "shape")


# --------------------------------------------------------------------------- clips and tracks


class Clip(Model):
    """One asset placed on a track for a span of time, with its layout and look."""

    asset: Asset
    start: TimeValue | Literal["auto"] = "auto"
    """When the clip begins on the timeline; `auto` = right after the previous clip on its track
    (overlapping it by the transition's duration when the clip has a `transition`)."""
    length: TimeValue | Literal["auto", "end"] = "auto"
    """How long it lasts: `auto` = the source's duration (5 s for stills, text, shapes and
    colours; the last cue for captions), `end` = until the end of the timeline."""
    transition: Transition | None = None
    """A transition from the previous clip on the same track into this one."""
    transition_in: Transition | None = None
    """The clip's entrance from what lies below it."""
    transition_out: Transition | None = None
    fit: Fit | None = None
    """How the asset fills its box: `cover` crops to fill, `contain` letterboxes, `fill`
    stretches, `blur` contains over a blurred filled copy, `none` keeps the source's pixel size.
    Default: `cover` for video and images, `none` for text."""
    width: float | None = Field(None, gt=0, le=4)
    """The box's width as a fraction of the canvas width (default: the whole canvas)."""
    height: float | None = Field(None, gt=0, le=4)
    """The box's height as a fraction of the canvas height (default: the whole canvas)."""
    scale: float = Field(1, gt=0, le=10)
    anchor: Anchor = "center"
    offset: Offset = Offset()
    crop: Crop | None = None
    rotate: float = Field(0, ge=-360, le=360)
    """Clockwise rotation in degrees."""
    flip: Literal["horizontal", "vertical", "both"] | None = None
    opacity: float = Field(1, ge=0, le=1)
    effects: Effects | None = None
    motion: Motion | None = None
    keyframes: Keyframes | None = None
    name: str | None = Field(None, max_length=200)
    """A label for errors and logs."""
    # Layout per output: a focus for cover crops, the platform-safe zone, per-output changes.
    focus: Focus | Literal["auto"] | None = None
    """Which part of the source a `cover` crop keeps: a point `{"x": .., "y": ..}` (fractions of
    the source), or `auto` to find faces (else the salient, moving region) in the source.
    Default: the centre."""
    safe_area: bool = False
    """Keep the clip inside the output's safe zone (the brand kit's, or the platform-UI default
    for 9:16: the top 14 % and bottom 20 %)."""
    overrides: dict[OverrideKey, ClipOverride] | None = None
    """Clip fields that differ on some outputs, by aspect ratio (`"9:16"`) or output `name`:
    `{"9:16": {"offset": {"y": 0.2}, "width": 0.9}}`. Objects merge into the clip's own; an
    output's name wins over its aspect ratio."""


OVERRIDE_TIMING_FIELDS = ("start", "length", "transition")
"""Clip fields every output shares: one timeline (and one audio mix) for every output."""
OVERRIDE_SHARED_ASSET_FIELDS = (
    "type",
    "src",
    "trim",
    "speed",
    "loop",
    "freeze",
    "volume",
    "muted",
    "fade_in",
    "fade_out",
    "role",
)
"""Asset fields every output shares: the source is decoded once and its sound mixed once."""


def _override_model() -> type[Model]:
    """A clip's fields, all optional: what an entry of `overrides` may change."""
    fields: dict[str, Any] = {}
    for name, info in Clip.model_fields.items():
        if name in (*OVERRIDE_TIMING_FIELDS, "overrides", "asset"):
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        annotation: Any = info.annotation
        fields[name] = (annotation | None, optional)
    fields["asset"] = (
        dict[str, Any] | None,
        Field(None, description="Asset fields to change (merged into the clip's asset)."),
    )
    return create_model("ClipOverride", __base__=Model, __doc__=_OVERRIDE_DOC, **fields)


_OVERRIDE_DOC = """Clip fields that differ on some outputs. Timing (`start`, `length`, `transition`)
and the source (`src`, `trim`, speed, sound) are the same on every output."""
if TYPE_CHECKING:

    class ClipOverride(Model):
        """Every field of :class:`Clip` but its timing, all optional (made by _override_model)."""

        asset: dict[str, Any] | None
        focus: Focus | Literal["auto"] | None

else:
    ClipOverride = _override_model()
OverrideKey = Annotated[str, Field(pattern=r"^([1-9][0-9]?:[1-9][0-9]?|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")]
Clip.model_rebuild()


class Track(Model):
    name: str | None = Field(None, max_length=200)
    clips: list[Clip] = Field(min_length=1)
    muted: bool = False


class Soundtrack(Model):
    src: str = Field(min_length=1)
    volume: Volume = 1
    trim: TimeValue = 0
    loop: bool = True
    """Repeat the music if the timeline is longer than it."""
    fade_in: TimeValue = 0
    fade_out: TimeValue = 0
    role: AudioRole = "music"


class Timeline(Model):
    background: Color = "#000000"
    tracks: list[Track] = Field(min_length=1)
    """Bottom to top: a later track paints over an earlier one, like layers in an editor."""
    soundtrack: Soundtrack | None = None
    fonts: list[str] = []
    """Extra font files (relative to the edit) usable by family name in text and captions."""


class Ducking(Model):
    amount: Volume = "-12dB"
    """How much music is lowered while a voice plays."""
    attack: TimeValue = 0.25
    release: TimeValue = 0.5


class Loudness(Model):
    target: float = Field(-14, ge=-70, le=-5)
    """Integrated loudness in LUFS."""
    true_peak: float = Field(-1, ge=-9, le=0)


class AudioSettings(Model):
    ducking: Ducking | None = Ducking()
    """Lower `music` while a `voice` plays; `null` turns it off."""
    loudness: Loudness | None = Loudness()
    """Normalise the final mix; `null` keeps the mix's own level."""


# --------------------------------------------------------------------------- outputs

Format = Literal["mp4", "mov", "webm", "gif", "mp3", "m4a", "wav", "png", "jpg"]
VideoCodec = Literal["h264", "h265", "vp9", "prores"]
Resolution = Literal["360p", "480p", "540p", "720p", "1080p", "1440p", "2160p"]
Quality = Literal["draft", "low", "medium", "high", "max"]


class Watermark(Model):
    src: str = Field(min_length=1)
    anchor: Anchor = "bottom-right"
    width: float = Field(0.15, gt=0, le=1)
    """Width as a fraction of the output's width."""
    margin: float = Field(0.03, ge=0, le=0.5)
    """Distance from the edges as a fraction of the output's shorter side."""
    opacity: float = Field(0.8, ge=0, le=1)


class Poster(Model):
    time: TimeValue = 0
    """Which moment of the output (relative to its range) to capture."""
    format: Literal["jpg", "png"] = "jpg"
    width: int | None = Field(None, ge=16, le=7680)
    """Scaled to this width (keeping the aspect ratio); default the output's size."""


class Range(Model):
    start: TimeValue = 0
    length: TimeValue | None = None


class Output(Model):
    """One file to render. Several outputs of an edit come out of one FFmpeg run."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    """The file's base name (default: the edit's name, plus the pixel size when there are several outputs)."""
    format: Format = "mp4"
    codec: VideoCodec | None = None
    """Video codec: h264 (default for mp4/mov), h265 (mp4/mov), vp9 (webm), prores (mov)."""
    resolution: Resolution | None = None
    """The shorter side: 1080p in 16:9 is 1920x1080 and in 9:16 is 1080x1920."""
    aspect_ratio: str | None = Field(None, pattern=r"^[0-9]{1,2}:[0-9]{1,2}$")
    """"16:9", "9:16", "1:1", "4:5", "4:3" or any "w:h"."""
    width: int | None = Field(None, ge=16, le=7680)
    height: int | None = Field(None, ge=16, le=7680)
    fps: FpsValue = 30
    quality: Quality = "medium"
    crf: int | None = Field(None, ge=0, le=63)
    """Constant quality; overrides `quality` (h264 and h265 take 0 to 51)."""
    bitrate: str | None = Field(None, max_length=20, pattern=r"^[0-9]+(\.[0-9]+)?[kKmM]?$")
    """Target video bitrate such as "4M" (1k to 1000M); overrides `crf`."""
    preset: (
        Literal[
            "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
        ]
        | None
    ) = None
    """x264/x265 speed preset (default from `quality`)."""
    audio_bitrate: str = Field("128k", max_length=10, pattern=r"^[0-9]+[kK]$")
    audio: bool = True
    """`false` writes no audio stream."""
    range: Range | None = None
    """Render only part of the timeline."""
    poster: Poster | None = None
    thumbnail: Poster | None = None
    watermark: Watermark | None = None
    time: TimeValue = 0
    """For still formats (png, jpg): which moment to capture."""

    @model_validator(mode="after")
    def _consistent(self) -> Output:
        problems: list[str] = []
        if self.width is not None or self.height is not None:
            if self.resolution is not None:
                problems.append("give either `resolution` or `width`/`height`, not both")
            if (self.width is None) != (self.height is None) and self.aspect_ratio is None:
                problems.append("give both `width` and `height`, or one of them with `aspect_ratio`")
        codecs_for = {
            "mp4": ("h264", "h265"),
            "mov": ("h264", "h265", "prores"),
            "webm": ("vp9",),
        }
        if self.codec is not None and self.codec not in codecs_for.get(self.format, ()):
            allowed = codecs_for.get(self.format)
            problems.append(
                f"codec {self.codec!r} does not go in {self.format}"
                + (f"; use one of {', '.join(allowed)}" if allowed else " (it has no video codec choice)")
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_video(self) -> bool:
        return self.format in ("mp4", "mov", "webm", "gif")

    @property
    def is_audio_only(self) -> bool:
        return self.format in ("mp3", "m4a", "wav")

    @property
    def is_still(self) -> bool:
        return self.format in ("png", "jpg")


class Edit(Model):
    """A whole edit: what to show when (the timeline) and which files to make (the outputs)."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    brand: str | None = Field(None, pattern=r"^bk_[0-9a-z]{26}$")
    """A brand kit's id (the service's ``bk_…``): its parts fill the edit's ``{{brand.…}}``
    placeholders when a render is created. The edit language only carries the id."""
    timeline: Timeline
    outputs: list[Output] = Field(default_factory=lambda: [Output()], min_length=1, max_length=20)
    audio: AudioSettings = AudioSettings()
