"""Whether a file's first bytes are an SVG drawing: apart from the rasteriser, so that probing
media (which refuses drawings) loads neither the rasteriser nor the FFmpeg runner."""

from __future__ import annotations

import re

__all__ = ["is_svg"]

_SVG_START = re.compile(rb"^(<\?xml|<!--|<!doctype\s+svg|<svg)", re.IGNORECASE)


def _text_start(head: bytes) -> bytes:
    """``head`` without a BOM and leading whitespace; UTF-16 without its zero bytes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = text[2:].replace(b"\x00", b"")
    return text.lstrip()


def is_svg(head: bytes) -> bool:
    """Whether the first bytes of a file are an SVG document (whatever its name)."""
    text = _text_start(head)
    return bool(_SVG_START.match(text)) and re.search(rb"<svg[\s>]", text, re.IGNORECASE) is not None
