"""Rasterise an SVG drawing once, into a PNG of a size Reelforge chooses.

A drawing has no pixel size of its own (a 16000x16000 declaration costs nothing to write), so
it is never handed to the engine: ingest turns it into a PNG fitting within
:data:`~reelforge.ffmpeg.binary.RASTER_SIDE` on each side. The root element is read with the
standard library's parser after refusing any DTD (no entity can expand, no external entity is
loaded), and a drawing that references anything outside itself (``href``, ``url(...)``,
``@import``) is refused, so the rasteriser never reads another file nor the network.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .binary import RASTER_SIDE, base_args, input_args
from .runner import FFmpegError, RenderTimeout, run_ffmpeg
from .sniff import is_svg

__all__ = ["RASTER_TIMEOUT", "SvgError", "is_svg", "rasterise_svg", "svg_size"]

#: Seconds FFmpeg gets to draw one SVG.
RASTER_TIMEOUT = 60.0
#: The most of an SVG read (its whole text is parsed to look for external references).
_MAX_SVG_BYTES = 16 * 1024 * 1024

_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(px)?\s*$")
_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


class SvgError(ValueError):
    """An SVG that is not rasterised; the message says why, for the user."""


def _length(value: str | None) -> float | None:
    """A length in pixels (unitless or ``px``); None for anything else (%, mm, em...)."""
    if value is None:
        return None
    match = _LENGTH.match(value)
    if match is None:
        return None
    number = float(match.group(1))
    return number if math.isfinite(number) and number > 0 else None


def _check_references(root: ET.Element) -> None:
    for element in root.iter():
        for attr, value in element.attrib.items():
            local = attr.rsplit("}", 1)[-1].lower()
            if local in ("href", "src") and not value.strip().startswith("#"):
                raise SvgError(
                    f"the SVG references {value.strip()[:80]!r}; only references inside the drawing (#id) are allowed"
                )
            for target in _URL.findall(value):
                if not target.startswith("#"):
                    raise SvgError(
                        "the SVG references an outside resource with url(); only url(#id) is allowed"
                    )
        text = element.text or ""
        if "@import" in text.lower() or any(not t.startswith("#") for t in _URL.findall(text)):
            raise SvgError("the SVG's style references an outside resource; only url(#id) is allowed")


_NO_DTD = "SVG with a DOCTYPE or entity declarations is not accepted"


class _NoDoctype(ET.TreeBuilder):
    """Stops the parse at the start of a DOCTYPE, before any entity in it is declared (the
    byte check in :func:`_parse` misses one spelt in UTF-16)."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise SvgError(_NO_DTD)


def _parse(data: bytes) -> ET.Element:
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise SvgError(_NO_DTD)
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        raise SvgError(f"the SVG is not well-formed XML ({exc})") from None
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise SvgError("the SVG document's root element is not <svg>")
    return root


def svg_size(root: ET.Element, bound: int = RASTER_SIDE) -> tuple[int, int]:
    """The pixel size to draw at: the declared width/height (or else the viewBox's), scaled down
    to fit within ``bound`` on each side with its aspect ratio kept; ``bound`` square if the
    drawing declares no usable size."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    box_w = box_h = None
    if len(box) == 4:
        box_w, box_h = _length(box[2]), _length(box[3])
    if width is None or height is None:
        if box_w is not None and box_h is not None:
            if width is not None:
                width, height = width, width * box_h / box_w
            elif height is not None:
                width, height = height * box_w / box_h, height
            else:
                width, height = box_w, box_h
        else:
            width, height = width or height or float(bound), height or width or float(bound)
    scale = min(1.0, bound / width, bound / height)
    return (
        max(1, min(bound, round(width * scale))),
        max(1, min(bound, round(height * scale))),
    )


def rasterise_svg(src: Path, out: Path, *, bound: int = RASTER_SIDE) -> tuple[int, int]:
    """Draw the SVG at ``src`` into the PNG ``out``; return its size. Raises :class:`SvgError`
    (``out`` is not left behind) if the drawing is refused or FFmpeg cannot draw it."""
    with src.open("rb") as fh:
        data = fh.read(_MAX_SVG_BYTES + 1)
    if len(data) > _MAX_SVG_BYTES:
        raise SvgError(f"the SVG is over {_MAX_SVG_BYTES // (1024 * 1024)} MiB")
    root = _parse(data)
    _check_references(root)
    width, height = svg_size(root, bound)
    options = [
        "-f",
        "svg_pipe",
        "-c:v",
        "librsvg",
        "-width",
        str(width),
        "-height",
        str(height),
        "-keep_ar",
        "1",
    ]
    args = [
        *base_args(),
        *input_args(src, options=options),
        "-frames:v",
        "1",
        "-vf",
        f"scale=w='min(iw,{bound})':h='min(ih,{bound})':force_original_aspect_ratio=decrease",
        "-c:v",
        "png",
        "-f",
        "image2",
        "-update",
        "1",
        str(out),
    ]
    try:
        run_ffmpeg(args, duration=0, outputs=[out], timeout=RASTER_TIMEOUT)
    except RenderTimeout:
        raise SvgError(f"the SVG took over {RASTER_TIMEOUT:g} seconds to draw") from None
    except FFmpegError:
        # Its message names server paths: not for the user.
        raise SvgError(
            "the SVG could not be drawn (it is malformed or uses features not supported)"
        ) from None
    if not out.is_file() or out.stat().st_size == 0:
        out.unlink(missing_ok=True)
        raise SvgError("the SVG could not be drawn")
    return width, height
