"""Scalar value types of the edit language: times, colours, volumes, relative lengths.

Each type validates with one clear message (no union noise) and keeps the value as the user
wrote it, so an edit round-trips; the engine parses it with the helpers here.
"""

from __future__ import annotations

import colorsys
import math
import re
from typing import Annotated, Any

import webcolors
from pydantic import BeforeValidator, WithJsonSchema

from .timing import MAX_SECONDS, TIME_HELP, TimeValueError, parse_fps, parse_time

__all__ = [
    "COLOR_HELP",
    "CSS_COLORS",
    "Color",
    "FpsValue",
    "TimeValue",
    "Volume",
    "parse_color",
    "parse_volume",
]

# Every CSS named colour (CSS Color 4: CSS3's 147 names, `rebeccapurple` and `transparent`).
CSS_COLORS: dict[str, str] = {
    **{name: hex_[1:] for name, hex_ in ((n, webcolors.name_to_hex(n)) for n in webcolors.names("css3"))},
    "rebeccapurple": "663399",
    "transparent": "00000000",
}

COLOR_HELP = (
    'a colour such as "#ff8800", "#f80", "#ff880080", "rgb(255 136 0)", "rgba(255, 136, 0, 0.5)", '
    '"hsl(32 100% 50%)" or a CSS name such as "white"'
)

_HEX = re.compile(r"^#(?P<hex>[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FUNCTION = re.compile(r"^(?P<name>rgba?|hsla?)\((?P<args>[^()]*)\)$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
_COMPONENT = re.compile(rf"^(?P<num>{_NUMBER})(?P<unit>%|deg|grad|rad|turn)?$")
_HUE_UNITS = {None: 1.0, "deg": 1.0, "grad": 360 / 400, "rad": 180 / math.pi, "turn": 360.0}


def _components(name: str, args: str, value: str) -> tuple[list[str], str | None]:
    """A colour function's arguments, as CSS writes them: ``1, 2, 3[, a]`` (legacy) or
    ``1 2 3[ / a]`` (modern). Returns the three channels and the alpha, if any."""
    text = args.strip()
    if "," in text:
        parts = [p.strip() for p in text.split(",")]
        if "/" in text or len(parts) not in (3, 4) or any(not p or " " in p for p in parts):
            raise ValueError(
                f"{name}() takes 3 values and an optional alpha, separated by commas, got {value!r}"
            )
        return parts[:3], parts[3] if len(parts) == 4 else None
    channels, slash, alpha = text.partition("/")
    parts = channels.split()
    if len(parts) != 3 or (slash and len(alpha.split()) != 1):
        raise ValueError(
            f'{name}() takes 3 values and an optional "/ alpha" ("rgb(255 136 0 / 50%)"), got {value!r}'
        )
    return parts, alpha.strip() if slash else None


def _component(text: str, name: str, what: str, value: str) -> tuple[float, str | None]:
    m = _COMPONENT.match(text.lower())
    if m is None:
        raise ValueError(f"{name}(): the {what} {text!r} is not a number in {value!r}")
    number = float(m["num"])
    if not math.isfinite(number):
        raise ValueError(f"{name}(): the {what} {text!r} is not a finite number in {value!r}")
    return number, m["unit"]


def _alpha(text: str | None, name: str, value: str) -> int:
    if text is None:
        return 255
    number, unit = _component(text, name, "alpha", value)
    if unit not in (None, "%"):
        raise ValueError(f"{name}(): the alpha {text!r} takes a number from 0 to 1 or a percentage")
    fraction = number / 100 if unit == "%" else number
    return round(min(max(fraction, 0.0), 1.0) * 255)


def _rgb_function(name: str, args: str, value: str) -> tuple[int, int, int, int]:
    parts, alpha = _components(name, args, value)
    channels: list[int] = []
    for part, what in zip(parts, ("red", "green", "blue"), strict=True):
        number, unit = _component(part, name, what, value)
        if unit not in (None, "%"):
            raise ValueError(f"{name}(): the {what} value {part!r} takes a number (0-255) or a percentage")
        # CSS clamps out-of-range channels rather than refusing them.
        level = number * 255 / 100 if unit == "%" else number
        channels.append(round(min(max(level, 0.0), 255.0)))
    return channels[0], channels[1], channels[2], _alpha(alpha, name, value)


def _hsl_function(name: str, args: str, value: str) -> tuple[int, int, int, int]:
    parts, alpha = _components(name, args, value)
    hue, hue_unit = _component(parts[0], name, "hue", value)
    if hue_unit == "%":
        raise ValueError(f"{name}(): the hue {parts[0]!r} is an angle (degrees, or deg/rad/grad/turn)")
    levels: list[float] = []
    for part, what in zip(parts[1:], ("saturation", "lightness"), strict=True):
        number, unit = _component(part, name, what, value)
        if unit not in (None, "%"):
            raise ValueError(f"{name}(): the {what} {part!r} is a percentage such as 50%")
        levels.append(min(max(number / 100, 0.0), 1.0))
    r, g, b = colorsys.hls_to_rgb((hue * _HUE_UNITS[hue_unit] % 360) / 360, levels[1], levels[0])
    return round(r * 255), round(g * 255), round(b * 255), _alpha(alpha, name, value)


def parse_color(value: str) -> tuple[int, int, int, int]:
    """Any CSS colour -> (r, g, b, a) 0-255: ``#rgb``, ``#rgba``, ``#rrggbb``, ``#rrggbbaa``,
    ``rgb()``/``rgba()``, ``hsl()``/``hsla()`` (comma or space syntax, ``/ alpha``) or a CSS name."""
    text = value.strip().lower()
    if text in CSS_COLORS:
        hexa = CSS_COLORS[text]
    elif m := _HEX.match(text):
        hexa = m["hex"]
        if len(hexa) in (3, 4):
            hexa = "".join(c * 2 for c in hexa)
    elif m := _FUNCTION.match(text):
        name = m["name"]
        if name.startswith("rgb"):
            return _rgb_function(name, m["args"], value)
        return _hsl_function(name, m["args"], value)
    elif text.startswith("#"):
        raise ValueError(
            f"{value!r} is not a hex colour: write #rgb, #rgba, #rrggbb or #rrggbbaa "
            "with the digits 0-9 and a-f"
        )
    elif re.match(r"^[a-z]+$", text):
        raise ValueError(f"{value!r} is not a CSS colour name; expected {COLOR_HELP}")
    else:
        raise ValueError(f"expected {COLOR_HELP}, got {value!r}")
    if len(hexa) == 6:
        hexa += "ff"
    r, g, b, a = (int(hexa[i : i + 2], 16) for i in range(0, 8, 2))
    return r, g, b, a


def _check_color(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected {COLOR_HELP}, got {type(value).__name__}")
    parse_color(value)
    return value


def _check_time(value: Any) -> Any:
    try:
        parse_time(value)
    except TimeValueError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_fps(value: Any) -> Any:
    try:
        parse_fps(value)
    except TimeValueError as exc:
        raise ValueError(str(exc)) from None
    return value


_DB = re.compile(r"^(?P<db>[-+]?\d+(?:\.\d+)?)\s*dB$", re.IGNORECASE)


def parse_volume(value: float | str) -> float:
    """A linear gain (1 = unchanged, 0 = silent) or decibels such as ``"-12dB"`` -> linear gain."""
    if isinstance(value, str):
        m = _DB.match(value.strip())
        if not m:
            raise ValueError(f'expected a gain (0.5) or decibels ("-12dB"), got {value!r}')
        return float(10 ** (float(m["db"]) / 20))
    return float(value)


def _check_volume(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError('expected a gain (0.5) or decibels ("-12dB")')
    gain = parse_volume(value)
    if not math.isfinite(gain) or gain < 0 or gain > 16:
        raise ValueError(f"volume must be between 0 and 16 (+24 dB), got {value!r}")
    return value


TimeValue = Annotated[
    float | str,
    BeforeValidator(_check_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
                {"type": "string", "pattern": r"^(\d+f|\d+(\.\d+)?s?|(\d+:)?\d{1,2}:\d{1,2}(\.\d+)?)$"},
            ],
            "description": f"A time: {TIME_HELP}.",
        }
    ),
]

Color = Annotated[
    str,
    BeforeValidator(_check_color),
    WithJsonSchema(
        {
            "type": "string",
            "description": 'A CSS colour: "#rgb", "#rgba", "#rrggbb", "#rrggbbaa", "rgb()", "rgba()", '
            '"hsl()", "hsla()" or a CSS name.',
        }
    ),
]

Volume = Annotated[
    float | str,
    BeforeValidator(_check_volume),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number", "minimum": 0, "maximum": 16}, {"type": "string", "pattern": r"dB$"}],
            "description": 'Linear gain (1 = unchanged) or decibels such as "-12dB".',
        }
    ),
]

FpsValue = Annotated[
    float | str,
    BeforeValidator(_check_fps),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number", "minimum": 1, "maximum": 240}, {"type": "string"}],
            "description": 'Frames per second: 25, 29.97 (read as 30000/1001) or "30000/1001".',
        }
    ),
]
