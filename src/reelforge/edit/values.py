"""Scalar value types of the edit language: times, colours, volumes, relative lengths.

Each type validates with one clear message (no union noise) and keeps the value as the user
wrote it, so an edit round-trips; the engine parses it with the helpers here.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from .timing import MAX_SECONDS, TIME_HELP, TimeValueError, parse_fps, parse_time

__all__ = [
    "CSS_COLORS",
    "Color",
    "FpsValue",
    "TimeValue",
    "Volume",
    "parse_color",
    "parse_volume",
]

# The CSS named colours people use most; anything else is written as hex.
CSS_COLORS: dict[str, str] = {
    "black": "000000",
    "white": "ffffff",
    "red": "ff0000",
    "green": "008000",
    "lime": "00ff00",
    "blue": "0000ff",
    "yellow": "ffff00",
    "cyan": "00ffff",
    "aqua": "00ffff",
    "magenta": "ff00ff",
    "fuchsia": "ff00ff",
    "gray": "808080",
    "grey": "808080",
    "silver": "c0c0c0",
    "maroon": "800000",
    "olive": "808000",
    "navy": "000080",
    "purple": "800080",
    "teal": "008080",
    "orange": "ffa500",
    "pink": "ffc0cb",
    "brown": "a52a2a",
    "gold": "ffd700",
    "indigo": "4b0082",
    "violet": "ee82ee",
    "coral": "ff7f50",
    "crimson": "dc143c",
    "darkgray": "a9a9a9",
    "lightgray": "d3d3d3",
    "dimgray": "696969",
    "skyblue": "87ceeb",
    "tomato": "ff6347",
    "transparent": "00000000",
}

_HEX = re.compile(r"^#(?P<hex>[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def parse_color(value: str) -> tuple[int, int, int, int]:
    """``"#rgb"``, ``"#rgba"``, ``"#rrggbb"``, ``"#rrggbbaa"`` or a CSS name -> (r, g, b, a) 0-255."""
    text = value.strip().lower()
    if text in CSS_COLORS:
        hexa = CSS_COLORS[text]
    elif m := _HEX.match(text):
        hexa = m["hex"]
        if len(hexa) in (3, 4):
            hexa = "".join(c * 2 for c in hexa)
    else:
        raise ValueError(
            f'expected a colour as "#rrggbb", "#rrggbbaa" or a CSS name such as "white", got {value!r}'
        )
    if len(hexa) == 6:
        hexa += "ff"
    r, g, b, a = (int(hexa[i : i + 2], 16) for i in range(0, 8, 2))
    return r, g, b, a


def _check_color(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f'expected a colour string such as "#ff8800", got {type(value).__name__}')
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
    WithJsonSchema({"type": "string", "description": 'A colour: "#rrggbb", "#rrggbbaa" or a CSS name.'}),
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
