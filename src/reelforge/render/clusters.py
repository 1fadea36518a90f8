"""User-perceived characters (grapheme clusters) of a text: how the typewriter counts its steps
and captions measure their pieces. Pure Python, so the compiler can count without loading the
text renderer.
"""

from __future__ import annotations

import unicodedata


def _extends(prev: str, char: str) -> bool:
    """Whether ``char`` belongs to the grapheme cluster ending in ``prev`` (a close
    approximation of UAX #29: marks, joiners, variation selectors, skin tones, flag pairs)."""
    code = ord(char)
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char == "\u200d":
        return True
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True
    if prev.endswith("\u200d"):
        return True
    regional = 0x1F1E6 <= code <= 0x1F1FF
    return regional and len(prev) == 1 and 0x1F1E6 <= ord(prev) <= 0x1F1FF


def graphemes(text: str) -> list[str]:
    """``text`` split into user-perceived characters (a letter with its accents is one)."""
    out: list[str] = []
    for char in text:
        if out and _extends(out[-1], char):
            out[-1] += char
        else:
            out.append(char)
    return out
