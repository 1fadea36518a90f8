"""Where lines of text may break, and where they should: UAX #14 with a few typographic rules,
optional hyphenation, and balanced lines.

Break opportunities come from the Unicode line breaking algorithm (UAX #14, by ``uniseg``),
so a URL such as ``shop.example.com`` or a number such as ``1,250.00`` stays whole, closing
punctuation never starts a line and CJK text breaks between ideographs. On top of it:

* a separator standing between spaces (``·``, ``|``, ``•``, ``–``, ``/``) goes with the words
  after it, so no line ends with one (``Couchant · 49 €`` breaks as ``Couchant`` / ``· 49 €``);
* a currency or percent sign after a number stays with it (``49 €``, ``12 %``);
* Korean words stay whole (Korean puts spaces between words; UAX #14 alone would break
  between any two Hangul syllables);
* a word is never broken between letters: a word longer than the line overflows it (a fitted
  text shrinks instead), unless hyphenation is asked for, with a language ``pyphen`` knows.

:func:`balance` then chooses the breaks: as few lines as greedy filling needs, with line
widths as even as possible (the sum of squared slack is minimal), so a title does not end with
a lonely word.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

# pyphen and uniseg's tables load on the first paragraph broken: an edit without text never
# pays for them.
if TYPE_CHECKING:
    import pyphen

__all__ = [
    "Unit",
    "balance",
    "break_units",
    "hyphenation_language",
    "is_hangul",
    "keeps_together",
    "line_text",
]

_SPACES = " \t\u3000"
T = TypeVar("T")
# Kept with what follows when standing alone between spaces.
_SEPARATORS = frozenset("·•‧∙|¦/\\–—-―~:;,+&×")


@dataclass(frozen=True, slots=True)
class Unit:
    """Text that stays on one line, with the spaces after it."""

    text: str
    hyphen: bool = False
    """A hyphen is shown when a line ends here (a break inside a hyphenated word)."""


def line_text(units: Sequence[Unit]) -> str:
    """The text of a line made of ``units``: without its trailing spaces, with a hyphen when it
    ends inside a word."""
    if not units:
        return ""
    text = "".join(u.text for u in units).rstrip(_SPACES)
    return text + "-" if units[-1].hyphen else text


def _only(text: str, allowed: Callable[[str], bool]) -> bool:
    body = text.strip(_SPACES)
    return bool(body) and all(allowed(c) for c in body)


def _is_separator(text: str) -> bool:
    return _only(text, lambda c: c in _SEPARATORS)


def _is_unit_sign(text: str) -> bool:
    return _only(text, lambda c: unicodedata.category(c) == "Sc" or c in "%‰")


def is_hangul(char: str) -> bool:
    code = ord(char)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def keeps_together(before: str, after: str) -> bool:
    """Whether two words separated by a space must stay on one line: a lone separator goes
    with the word after it, a currency or percent sign with the number before it."""
    return _is_separator(before) or (_is_unit_sign(after) and before[-1:].isdigit())


@functools.lru_cache(maxsize=32)
def _hyphenator(language: str) -> pyphen.Pyphen | None:
    import pyphen

    found = pyphen.language_fallback(language.replace("-", "_"))
    return pyphen.Pyphen(lang=found) if found else None


def hyphenation_language(language: str) -> str | None:
    """The hyphenation dictionary used for a BCP 47 ``language``, or None when there is none."""
    import pyphen

    return pyphen.language_fallback(language.replace("-", "_"))


def _hyphenated(unit: str, language: str) -> list[Unit]:
    hyphenator = _hyphenator(language)
    word = unit.rstrip(_SPACES)
    if hyphenator is None or not word.isalpha():
        return [Unit(unit)]
    cuts = hyphenator.positions(word)
    if not cuts:
        return [Unit(unit)]
    bounds = [0, *cuts, len(word)]
    parts = [Unit(word[a:b], hyphen=True) for a, b in itertools.pairwise(bounds)]
    parts[-1] = Unit(word[bounds[-2] :] + unit[len(word) :])
    return parts


def break_units(paragraph: str, *, hyphenate_language: str | None = None) -> list[Unit]:
    """``paragraph`` (no line feeds) cut where a line may break."""
    return list(_break_units(paragraph, hyphenate_language))


@functools.lru_cache(maxsize=1024)
def _break_units(paragraph: str, hyphenate_language: str | None) -> tuple[Unit, ...]:
    from uniseg.linebreak import line_break_units

    pieces = [p for p in line_break_units(paragraph) if p]
    merged: list[str] = []
    glue_next = False
    for piece in pieces:
        if merged and (
            glue_next
            or (_is_unit_sign(piece) and merged[-1][-1:] in _SPACES)
            or (is_hangul(merged[-1][-1]) and is_hangul(piece[0]))
        ):
            merged[-1] += piece
        else:
            merged.append(piece)
        glue_next = _is_separator(piece) or not piece.strip(_SPACES)
    # a separator at the very end has nothing to go with: keep it with the word before
    if len(merged) > 1 and _is_separator(merged[-1]):
        tail = merged.pop()
        merged[-1] += tail
    units: list[Unit] = []
    for piece in merged:
        units += _hyphenated(piece, hyphenate_language) if hyphenate_language else [Unit(piece)]
    return tuple(units)


def _greedy_count(width: Callable[[int, int], float], n: int, limit: float) -> int:
    lines, start = 1, 0
    for end in range(1, n + 1):
        if end - start > 1 and width(start, end) > limit:
            lines += 1
            start = end - 1
    return lines


def balance(units: Sequence[T], width: Callable[[int, int], float], limit: float) -> list[list[T]]:
    """Lines of ``units``: the fewest lines greedy filling within ``limit`` needs, with the
    most even widths. ``width(i, j)`` is the drawn width of the line made of units ``i..j-1``.
    A unit wider than ``limit`` gets a line of its own (and overflows it)."""
    n = len(units)
    if n == 0:
        return [[]]
    count = _greedy_count(width, n, limit)
    if count == 1:
        return [list(units)]
    inf = float("inf")
    # best[k][j]: least cost of units 0..j-1 in k lines; cost: squared slack of every line
    best = [[inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for k in range(1, count + 1):
        for j in range(k, n + 1):
            for i in range(j - 1, k - 2, -1):
                if best[k - 1][i] == inf:
                    continue
                w = width(i, j)
                if w > limit and j - i > 1:
                    break  # longer lines from further back only get wider
                slack = max(limit - w, 0.0)
                cost = best[k - 1][i] + slack * slack
                if cost < best[k][j]:
                    best[k][j], back[k][j] = cost, i
    if best[count][n] == inf:  # cannot happen: greedy found such a layout; be safe anyway
        return [list(units)]
    lines: list[list[T]] = []
    j = n
    for k in range(count, 0, -1):
        i = back[k][j]
        lines.append(list(units[i:j]))
        j = i
    return lines[::-1]
