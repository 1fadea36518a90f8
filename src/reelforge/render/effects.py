"""A clip's colour and image effects as FFmpeg filters, in the order the edit language documents:
LUT, preset, colour, blur/sharpen, vignette, and chroma key last (it yields the alpha).

Neutral values give no filter at all, and related settings share one filter instance (a preset
such as ``boost`` folds into the colour ``eq``), because every filter is paid for on every frame.

Pixel formats. The input may be in any format FFmpeg converts (yuv420p video, rgb24/rgba stills,
yuva420p text...). ``eq``, ``hue``, ``negate``, ``gblur``, ``unsharp`` and ``vignette`` work on YUV
directly; ``lut3d``, ``colorchannelmixer`` (sepia), ``curves`` (vintage) and ``lutrgb``
(temperature) work on packed RGB, and FFmpeg inserts the conversions. Those RGB filters come
first and next to each other (LUT, preset, temperature), so a chain needs at most one
YUV -> RGB -> YUV round trip; when filters follow them, a ``format`` returns to 4:2:0 (yuv420p,
or yuva420p with alpha), else FFmpeg would run ``gblur``/``vignette`` on RGB at twice the cost.

Every filter keeps an alpha plane (``gblur`` blurs it with the picture) except two: ``vignette``
has no alpha formats and drops it, and ``chromakey`` replaces it with the key. For a stream with
alpha use :func:`add_effects` with ``alpha=True``, which carries the alpha around those two. With a
chroma key the output is YUVA (yuva420p from yuv420p, yuva444p from RGB); otherwise it is whatever
the next filter negotiates. The filters are 8-bit (``eq``, ``hue``, ``vignette``...), so 10-bit
input is processed at 8 bits.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..edit.models import Effects
from ..edit.values import parse_color
from .graph import Filter, FilterGraph, filt

__all__ = ["LutFileError", "add_effects", "effect_filters", "parse_cube_file"]

# --------------------------------------------------------------------------- .cube files

#: The largest LUT_3D_SIZE FFmpeg's lut3d accepts (MAX_LEVEL in vf_lut3d.c).
MAX_LUT_SIZE = 256


class LutFileError(ValueError):
    """A .cube file FFmpeg's ``lut3d`` would refuse or misread; ``reason`` says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        # Both in args, so the error pickles (it may cross a process boundary).
        super().__init__(str(path), reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: not a usable 3D LUT: {self.reason}"


def _numbers(path: str | os.PathLike[str], number: int, words: list[str]) -> tuple[float, float, float]:
    if len(words) != 3:
        raise LutFileError(path, f"line {number}: expected three numbers, got {' '.join(words)!r}")
    try:
        values = tuple(float(w) for w in words)
    except ValueError:
        raise LutFileError(path, f"line {number}: expected three numbers, got {' '.join(words)!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise LutFileError(path, f"line {number}: numbers must be finite")
    return values[0], values[1], values[2]


def parse_cube_file(path: str | os.PathLike[str]) -> None:
    """Check that ``path`` is a 3D LUT in the .cube format that FFmpeg's ``lut3d`` reads as meant.

    Raises :class:`LutFileError` naming the line at fault. The rules follow FFmpeg's parser,
    which silently skips what it does not expect: keywords must start their line, data rows come
    after ``LUT_3D_SIZE`` and number exactly size³, and a ``DOMAIN_MIN`` other than 0 or a
    ``DOMAIN_MAX`` before ``LUT_3D_SIZE`` would be ignored, so they are refused.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LutFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise LutFileError(path, "not a text file")
    size: int | None = None
    rows = 0
    # latin-1 never fails: a TITLE in any 8-bit encoding is fine, FFmpeg only reads ASCII.
    for number, raw in enumerate(data.decode("latin-1").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        keyword = words[0]
        if not keyword[0].isalpha():
            if size is None:
                raise LutFileError(path, f"line {number}: data before LUT_3D_SIZE")
            rows += 1
            if rows > size**3:
                raise LutFileError(path, f"more than {size}³ = {size**3} data rows")
            _numbers(path, number, words)
            continue
        if raw[:1].isspace():
            raise LutFileError(path, f"line {number}: keyword {keyword} must start the line")
        if keyword == "TITLE":
            continue
        if keyword == "LUT_3D_SIZE":
            if size is not None:
                raise LutFileError(path, f"line {number}: a second LUT_3D_SIZE")
            if (
                len(words) != 2
                or not (words[1].isascii() and words[1].isdigit())
                or not 2 <= int(words[1]) <= MAX_LUT_SIZE
            ):
                raise LutFileError(
                    path, f"line {number}: LUT_3D_SIZE must be a whole number from 2 to {MAX_LUT_SIZE}"
                )
            size = int(words[1])
        elif keyword == "LUT_1D_SIZE":
            raise LutFileError(path, f"line {number}: a 1D LUT; only 3D LUTs are supported")
        elif keyword == "DOMAIN_MIN":
            if _numbers(path, number, words[1:]) != (0, 0, 0):
                raise LutFileError(path, f"line {number}: only DOMAIN_MIN 0 0 0 is supported")
        elif keyword == "DOMAIN_MAX":
            top = _numbers(path, number, words[1:])
            if min(top) <= 0:
                raise LutFileError(path, f"line {number}: DOMAIN_MAX must be above DOMAIN_MIN")
            if size is None and top != (1, 1, 1):
                raise LutFileError(path, f"line {number}: DOMAIN_MAX must come after LUT_3D_SIZE")
        else:
            raise LutFileError(path, f"line {number}: unsupported keyword {keyword}")
    if size is None:
        raise LutFileError(path, "no LUT_3D_SIZE line")
    if rows != size**3:
        raise LutFileError(path, f"{rows} data rows, expected {size}³ = {size**3}")


# --------------------------------------------------------------------------- colour


@dataclass(frozen=True, slots=True)
class _Eq:
    """The parameters of one ``eq`` filter. Its luma curve is
    ``contrast * (v - 0.5) + 0.5 + brightness`` then gamma, and saturation scales chroma."""

    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    gamma: float = 1.0

    def then(self, other: _Eq) -> _Eq:
        """This adjustment followed by ``other``, as one (exact for a first step without gamma,
        up to eq's clipping between the two)."""
        return _Eq(
            brightness=other.contrast * self.brightness + other.brightness,
            contrast=self.contrast * other.contrast,
            saturation=self.saturation * other.saturation,
            gamma=other.gamma,
        )


#: Presets that are plain eq adjustments, so they fold into the colour eq.
_EQ_PRESETS: dict[str, _Eq] = {
    "greyscale": _Eq(saturation=0),
    "boost": _Eq(contrast=1.12, saturation=1.35),
    "muted": _Eq(brightness=0.03, contrast=0.88, saturation=0.6),
}

#: The classic sepia matrix (rows give R, G, B from r, g, b).
_SEPIA = {
    "rr": 0.393, "rg": 0.769, "rb": 0.189,
    "gr": 0.349, "gg": 0.686, "gb": 0.168,
    "br": 0.272, "bg": 0.534, "bb": 0.131,
}  # fmt: skip

_EQ_MAX_SATURATION = 3.0  # eq refuses more; hue's s goes to 10


def _eq_and_hue(eq: _Eq, hue: float) -> list[Filter]:
    """At most one eq and one hue. Saturation goes to hue when hue runs anyway (hue's rotation
    and eq's saturation both act on chroma only, so they commute)."""
    if eq.saturation == 0:
        hue = 0  # no chroma left to rotate
    sat_in_hue = hue != 0 or eq.saturation > _EQ_MAX_SATURATION
    options: dict[str, float] = {}
    if eq.brightness != 0:
        options["brightness"] = max(-1.0, min(1.0, eq.brightness))
    if eq.contrast != 1:
        options["contrast"] = eq.contrast
    if eq.saturation != 1 and not sat_in_hue:
        options["saturation"] = eq.saturation
    if eq.gamma != 1:
        options["gamma"] = eq.gamma
    out = [filt("eq", **options)] if options else []
    if sat_in_hue:
        out.append(filt("hue", h=hue or None, s=eq.saturation if eq.saturation != 1 else None))
    return out


def _kelvin_rgb(kelvin: float) -> tuple[float, float, float]:
    """Tanner Helland's black-body colour fit, as FFmpeg's colortemperature uses it."""
    t = kelvin / 100
    if t <= 66:
        r, g = 1.0, 0.39008157876901960784 * math.log(t) - 0.63184144378862745098
    else:
        r = 1.29293618606274509804 * (t - 60) ** -0.1332047592
        g = 1.12989086089529411765 * (t - 60) ** -0.0755148492
    if t >= 66:
        b = 1.0
    elif t <= 19:
        b = 0.0
    else:
        b = 0.54320678911019607843 * math.log(t - 10) - 1.19625408914
    return r, g, b


def _temperature_filter(kelvin: float) -> Filter | None:
    """White balance as per-channel gains in one ``lutrgb`` (three table look-ups a pixel: about
    4x cheaper than ``colortemperature``, which computes in float). The gains are relative to
    6500 K, so 6500 is exactly neutral, and scaled so none exceeds 1, like colortemperature."""
    target, neutral = _kelvin_rgb(kelvin), _kelvin_rgb(6500)
    gains = [min(max(c, 0.0), 1.0) / n for c, n in zip(target, neutral, strict=True)]
    top = max(gains)
    gains = [g / top for g in gains]
    if all(abs(g - 1) < 1e-4 for g in gains):
        return None
    # lutrgb truncates its expression: +0.5 rounds.
    r, g, b = (f"val*{g:.6f}+0.5" for g in gains)
    return filt("lutrgb", r=r, g=g, b=b)


def _colour_filters(effects: Effects, lut_path: Path | None) -> list[Filter]:
    out: list[Filter] = []
    if effects.lut is not None:
        if lut_path is None:
            raise ValueError("effects.lut is set: pass the resolved file as lut_path")
        out.append(filt("lut3d", file=str(lut_path), interp="tetrahedral"))
    preset_eq = _Eq()
    if effects.preset == "sepia":
        out.append(filt("colorchannelmixer", **_SEPIA))
    elif effects.preset == "vintage":
        out.append(filt("curves", preset="vintage"))
    elif effects.preset == "negative":
        out.append(filt("negate"))
    elif effects.preset is not None:
        preset_eq = _EQ_PRESETS[effects.preset]
    temperature = _temperature_filter(effects.temperature) if effects.temperature is not None else None
    if temperature is not None:
        # Temperature sits with the other RGB filters; an eq preset then cannot fold past it.
        out += _eq_and_hue(preset_eq, 0)
        preset_eq = _Eq()
        out.append(temperature)
    colour = _Eq(effects.brightness, effects.contrast, effects.saturation, effects.gamma)
    out += _eq_and_hue(preset_eq.then(colour), effects.hue)
    return out


# --------------------------------------------------------------------------- detail and alpha


def _detail_filters(effects: Effects, canvas_height: int) -> list[Filter]:
    out: list[Filter] = []
    sigma = effects.blur / 1000 * canvas_height
    if sigma >= 0.05:
        out.append(filt("gblur", sigma=sigma))
    if effects.sharpen > 0:
        # A 5x5 mask at 1080p, scaled with the canvas so the look is the same at every size.
        size = min(23, 2 * max(1, round(canvas_height / 540)) + 1)
        out.append(filt("unsharp", lx=size, ly=size, la=effects.sharpen))
    return out


def _vignette_filter(effects: Effects) -> Filter | None:
    if effects.vignette is None or effects.vignette.strength == 0:
        return None
    # vignette darkens by cos(angle * d)^4 at normalised distance d (1 at the corners): choose
    # the angle so that `strength` is the share of light taken from the corners.
    angle = math.acos((1 - effects.vignette.strength) ** 0.25)
    return filt("vignette", angle=angle)


def _key_filter(effects: Effects) -> Filter | None:
    key = effects.chroma_key
    if key is None:
        return None
    r, g, b, _ = parse_color(key.color)
    # chromakey (distance in the UV plane) rather than colorkey (RGB): a shadow on the screen
    # changes luma, not chroma, so it still keys. It costs about 5x colorkey at 1080p.
    return filt("chromakey", color=f"0x{r:02x}{g:02x}{b:02x}", similarity=key.similarity, blend=key.blend)


_RGB_FILTERS = ("lut3d", "colorchannelmixer", "curves", "lutrgb")


def _stages(
    effects: Effects, lut_path: Path | None, canvas_height: int
) -> tuple[list[Filter], Filter | None, Filter | None]:
    """(filters that keep alpha, vignette, chroma key)."""
    if canvas_height <= 0:
        raise ValueError(f"canvas_height must be positive, got {canvas_height}")
    colour, detail = _colour_filters(effects, lut_path), _detail_filters(effects, canvas_height)
    vignette, key = _vignette_filter(effects), _key_filter(effects)
    if colour and colour[-1].name in _RGB_FILTERS and (detail or vignette or key):
        # Left alone, FFmpeg keeps gblur and vignette in RGB after an RGB filter: three full-size
        # planes, about twice the work of 4:2:0, which the clip becomes right after anyway.
        colour.append(filt("format", pix_fmts="yuv420p|yuva420p"))
    return colour + detail, vignette, key


def effect_filters(effects: Effects, *, lut_path: Path | None = None, canvas_height: int) -> list[Filter]:
    """The filters for ``effects`` in order, ``[]`` when every value is neutral.

    ``lut_path`` is the resolved ``effects.lut`` (required when it is set); ``canvas_height``
    in pixels turns ``blur`` (thousandths of it) into a radius. A vignette drops an alpha plane:
    for a stream with alpha use :func:`add_effects`.
    """
    keep, vignette, key = _stages(effects, lut_path, canvas_height)
    return keep + [f for f in (vignette, key) if f is not None]


#: 8-bit formats with alpha, so a stream that has one passes without conversion.
_ALPHA_FORMATS = "yuva420p|yuva422p|yuva444p|gbrap|rgba|argb|bgra|abgr"


def add_effects(
    graph: FilterGraph,
    label: str,
    effects: Effects,
    *,
    lut_path: Path | None = None,
    canvas_height: int,
    alpha: bool = False,
) -> str:
    """Add ``effects`` to the stream ``label`` of ``graph``; returns the output label (``label``
    itself when there is nothing to do).

    With ``alpha=True`` (the stream has an alpha plane to keep, e.g. a PNG with transparency or
    a text clip) the original alpha is carried past the vignette, which would drop it, and a
    chroma key's alpha is multiplied with it instead of replacing it.
    """
    keep, vignette, key = _stages(effects, lut_path, canvas_height)
    tail = [f for f in (vignette, key) if f is not None]
    if not alpha or not tail:
        filters = keep + tail
        return graph.chain([label], filters, hint="fx")[0] if filters else label
    # split gives both branches one format: pin one with alpha, or the vignette's would win and
    # alphaextract would find no alpha. FFmpeg then converts on the vignette's branch only.
    pin = filt("format", pix_fmts=_ALPHA_FORMATS)
    body, spare = graph.chain([label], [*keep, pin, filt("split")], 2, hint="fx")
    [original] = graph.chain([spare], [filt("alphaextract")], hint="fxa")
    if key is None:
        [picture] = graph.chain([body], tail, hint="fx")
        return graph.chain([picture, original], [filt("alphamerge")], hint="fx")[0]
    keyed, keyed_spare = graph.chain([body], [*tail, filt("split")], 2, hint="fx")
    [key_alpha] = graph.chain([keyed_spare], [filt("alphaextract")], hint="fxa")
    [mask] = graph.chain([original, key_alpha], [filt("blend", all_mode="multiply")], hint="fxa")
    return graph.chain([keyed, mask], [filt("alphamerge")], hint="fx")[0]
