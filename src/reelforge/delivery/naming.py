"""File names of delivered outputs from a template such as ``{template}-{row}-{locale}-{aspect}.{ext}``,
so the files of a batch (rows x locales x aspect ratios) can be told apart at the destination.

A template is checked when a destination is saved (:func:`check_template`); a value is made
safe for every kind of target (letters, digits, ``._-`` only; no path separators, no leading
dot), and a field a render does not have (``{row}`` outside a batch) becomes ``x``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from math import gcd

__all__ = ["DEFAULT_TEMPLATE", "FIELDS", "aspect_of", "check_template", "file_name", "safe_part"]

DEFAULT_TEMPLATE = "{render}-{name}"
FIELDS = {
    "render": "the render id (rnd_…)",
    "template": "the template id the render was made from",
    "row": "the batch row (its index, or the CSV line)",
    "locale": "the locale rendered",
    "aspect": "the output's aspect ratio, e.g. 16x9",
    "width": "the output's width",
    "height": "the output's height",
    "output": "the output's index in the edit (0, 1, ...)",
    "role": "output, poster, thumbnail or subtitles",
    "name": "the file's own name without extension",
    "ext": "the file's extension, without the dot",
}
MISSING = "x"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def check_template(template: str) -> str | None:
    """Why ``template`` cannot name files (None: it can)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a name template: {exc}"
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS:
            return f"unknown field {{{field}}}; use {', '.join('{' + f + '}' for f in FIELDS)}"
        if spec or conversion:
            return f"{{{field}}} takes no format or conversion"
    if "/" in template or "\\" in template:
        return "a name template makes a file name, not a path: no / or \\"
    return None


def safe_part(value: object) -> str:
    text = _UNSAFE.sub("_", str(value)).strip("._") or MISSING
    return text[:100]


def aspect_of(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    d = gcd(width, height)
    return f"{width // d}x{height // d}"


def file_name(template: str, fields: Mapping[str, object | None]) -> str:
    """The file name ``template`` gives for ``fields`` (missing ones become ``x``)."""
    values = {k: MISSING if fields.get(k) in (None, "") else safe_part(fields[k]) for k in FIELDS}
    name = template.format(**values)
    name = _UNSAFE.sub("_", name).lstrip(".")
    return name[:255] or MISSING
