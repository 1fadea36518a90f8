"""Captions: subtitle files in, burned-in captions (an .ass script for libass) and sidecars out.

Cue and word times are relative to the caption clip; everything written here is on the
timeline, shifted by the clip's start (``offset``) and clipped to the clip.

Choices worth knowing:

* Frame-exact timing. libass shows an event while ``start <= t < end`` with times in
  centiseconds, and FFmpeg truncates each frame's time to whole milliseconds through a double
  (frame 803 at 25 fps comes out as 32119 ms). So an event boundary is never put on a frame's
  timestamp but halfway between two frames: a cue is first shown on the first frame whose
  timestamp is >= its start and last shown on the last frame before its end. (Centiseconds
  can only tell frames apart up to about 80 fps; above that a boundary may be a frame off.)
* Word highlight shows only the current word: one event per interval between word times,
  the spoken word wrapped in an inline colour override (``{\\1c..}word{\\r}``). Karaoke tags
  would leave already-sung words highlighted.
* User text can never add override tags: ``{`` and ``}`` become libass's ``\\{``/``\\}``
  escapes and every backslash is followed by an invisible WORD JOINER, so ``\\N``, ``\\h`` or a
  backslash before our own tags mean nothing.
* Fonts: every run of text the style's font lacks is set with ``\\fn`` in the first font of
  its chain (:func:`~reelforge.render.fonts.font_chain`) that has it, scaled so its em size
  matches (libass sizes fonts by ascender plus descender), and the chain's files are put in
  the filter's ``fontsdir``; separators and currency signs are joined to their words by
  no-break spaces, so libass does not wrap there either.
* Right-to-left text: the style's Encoding is -1, which makes libass pick each paragraph's
  direction from its first strong character and run bidi across override tags (with the usual
  Encoding 1 an Arabic line with a highlighted word comes out in left-to-right word order).
  A forced ``direction`` (or ``auto`` resolved per cue, so every part of a split cue agrees)
  is applied with a leading RLM/LRM mark on each line.
* ``max_lines``: a cue is wrapped into balanced lines (as few as filling each line needs, as
  even as possible) with a conservative width estimate (Pillow on the fonts of the chain that
  draw each run, else a per-character guess) and split into consecutive events of at
  most ``max_lines`` lines; libass still does the final wrapping, on real widths, so it never
  needs more lines than estimated. libass wraps only at spaces, so a break the estimate puts
  between CJK characters is written out as ``\\N``.
"""

from __future__ import annotations

import functools
import html
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from reelforge.edit.models import CaptionStyle, Cue
from reelforge.edit.timing import parse_time
from reelforge.edit.values import parse_color
from reelforge.render.graph import Filter, filt

from .clusters import graphemes
from .fonts import FontFace, font_runs
from .linebreak import balance, is_hangul, keeps_together

# pysubs2 and Pillow load when a caption file is read or measured, not with the module.
if TYPE_CHECKING:
    from PIL import ImageFont

__all__ = [
    "CaptionFileError",
    "CuePlacement",
    "build_ass",
    "caption_filter",
    "cue_span",
    "load_cues",
    "load_placed_cues",
    "parse_vtt_settings",
    "write_srt",
    "write_vtt",
]

#: Subtitle files are small; refusing big ones keeps a wrong upload from eating memory.
MAX_FILE_BYTES = 20 * 2**20
#: Subtitle formats :func:`load_cues` accepts (pysubs2 identifiers).
FORMATS = ("srt", "vtt", "ass", "ssa")
_SRT_TAG = re.compile(r"\{\\[^}]*\}")
_BACKSLASH_OUTSIDE_TAGS = re.compile(r"(\{\\[^}]*\})|\\")
_VTT_TIMING = re.compile(r"^(\s*\S+\s+-->\s+\S+)(.*)$")
#: Line height as a multiple of the font size, for WebVTT's ``line:N`` (libass's is about this).
_LINE_HEIGHT = 1.2
_SUFFIX_FORMATS = {".srt": "srt", ".vtt": "vtt", ".webvtt": "vtt", ".ass": "ass", ".ssa": "ssa"}

_WORD_JOINER = "\u2060"
#: What str.splitlines() breaks at (all of them are str.isspace()).
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_MARKS = {"rtl": "\u200f", "ltr": "\u200e"}
_ALIGNMENT = {"bottom": 2, "center": 5, "top": 8}
#: Box padding, as a fraction of the font size, when the style has a background.
_BOX_PADDING = 0.25
#: Share of the line width the estimate may use: measurement differs slightly from libass.
_WIDTH_SAFETY = Fraction(95, 100)


class CaptionFileError(ValueError):
    """A subtitle file that cannot be used; the message names the file and says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"caption file {self.path}: {self.reason}"


# --------------------------------------------------------------------------- reading


def load_cues(path: Path) -> list[Cue]:
    """Read an SRT, WebVTT or ASS/SSA file as plain-text cues, sorted by start.

    The format comes from the content (the suffix only breaks a tie). Formatting tags are
    dropped, line breaks kept; comments, drawings and empty or zero-length events are skipped.
    """
    return [cue for cue, _ in load_placed_cues(path)]


def load_placed_cues(path: Path) -> list[tuple[Cue, CuePlacement | None]]:
    """:func:`load_cues`, each cue with where its WebVTT settings place it (``line``,
    ``position``, ``align``), or ``None`` where the file says nothing (the style decides)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CaptionFileError(
                path, f"larger than {MAX_FILE_BYTES // 2**20} MiB; that is no subtitle file"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise CaptionFileError(path, "no such file") from None
    except IsADirectoryError:
        raise CaptionFileError(path, "is a directory, not a subtitle file") from None
    except OSError as exc:
        raise CaptionFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    text = _decode(data)
    if not text.strip():
        raise CaptionFileError(path, "the file is empty")
    fmt, detected = _detect_format(path, text)
    try:
        found = _read_cues(text, fmt)
    except CaptionFileError:
        raise
    except Exception as exc:  # pysubs2 raises many kinds on malformed input
        raise CaptionFileError(path, f"cannot be parsed as {fmt.upper()}: {exc}") from None
    if not found:
        if not detected:
            raise CaptionFileError(path, "not an SRT, WebVTT or ASS/SSA subtitle file (no cues found)")
        raise CaptionFileError(path, f"no cues with text found in this {fmt.upper()} file")
    found.sort(key=lambda f: (f[0], f[1]))
    return [(Cue(start=start / 1000, end=end / 1000, text=body), at) for start, end, body, at in found]


def _read_cues(text: str, fmt: str) -> list[tuple[int, int, str, CuePlacement | None]]:
    """The cues of a decoded file as (start ms, end ms, plain text, placement), unsorted."""
    placements: list[CuePlacement] = []
    placement_mark: re.Pattern[str] | None = None
    if fmt == "vtt":
        text, placements, placement_mark = _clean_vtt(text)
    literal = ""
    if fmt in ("srt", "vtt"):
        text, literal = _protect_backslashes(text)
    import pysubs2

    subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    found: list[tuple[int, int, str, CuePlacement | None]] = []
    for event in subs:
        start = max(event.start, 0)
        if not event.is_text or event.end <= start:
            continue
        placement = None
        if fmt in ("ass", "ssa"):
            plain = event.plaintext
        else:
            if placement_mark and (mark := placement_mark.match(event.text)):
                index = int(mark.group(1))
                placement = placements[index] if index < len(placements) else None
            # Only backslash blocks are tags here ({\an8}, or pysubs2's for <i>): "{aside}" is text.
            plain = _SRT_TAG.sub("", event.text).replace("\\N", "\n")
            if literal:
                plain = plain.replace(literal, "\\")
        if fmt == "vtt":
            plain = html.unescape(plain)
        lines = [line.strip() for line in plain.splitlines()]
        body = "\n".join(line for line in lines if line)
        if body:
            found.append((start, event.end, body, placement))
    return found


def _protect_backslashes(text: str) -> tuple[str, str]:
    """SRT and WebVTT text with its literal backslashes (outside ``{\\...}`` tag blocks) replaced
    by a character the text does not contain, which is returned (empty if there was none).

    pysubs2 writes the file's line breaks as ``\\N``, so a ``\\N`` typed in the text (a path, a
    regex) would turn into a line break; it is text in these formats and must stay so."""
    if "\\" not in text:
        return text, ""
    marker = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    protected = _BACKSLASH_OUTSIDE_TAGS.sub(lambda m: m.group(1) or marker, text)
    return protected, marker


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old SRT files are often Windows-1252; better accents slightly wrong than no captions.
        return data.decode("cp1252", errors="replace")


def _detect_format(path: Path, text: str) -> tuple[str, bool]:
    """The pysubs2 format, and whether the content said so (rather than the suffix)."""
    import pysubs2
    from pysubs2.formats import autodetect_format

    try:
        fmt = autodetect_format(text[:10000])
    except pysubs2.exceptions.FormatAutodetectionError:
        fmt = _SUFFIX_FORMATS.get(path.suffix.lower(), "")
        if not fmt:
            raise CaptionFileError(path, "not an SRT, WebVTT or ASS/SSA subtitle file") from None
        return fmt, False
    if fmt not in FORMATS:
        raise CaptionFileError(path, f"looks like {fmt.upper()}; captions must be SRT, WebVTT or ASS/SSA")
    return fmt, True


def _clean_vtt(text: str) -> tuple[str, list[CuePlacement], re.Pattern[str] | None]:
    """Keep only WebVTT cue blocks, from their timing line on, and their cue settings.

    pysubs2 reads WebVTT like SRT, so a cue identifier or a NOTE/STYLE block would end up
    in the previous cue's text; it also drops the settings after the times. So the settings
    are read here, and a cue that has some starts with a ``{\\vtt<M>N}`` tag block naming its
    entry in the returned list (tag blocks are dropped from the text afterwards anyway). ``<M>``
    is a private-use character the file does not contain, so cue text that happens to hold
    ``{\\vtt7}`` cannot pass for a mark; the returned pattern matches the marks (``None``
    when no cue has settings).
    """
    tag = "{\\vtt" + next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = ["WEBVTT"]
    placements: list[CuePlacement] = []
    for block in blocks:
        lines = block.split("\n")
        for i, line in enumerate(lines):
            if "-->" in line:
                timing = _VTT_TIMING.match(line)
                body = lines[i + 1 :]
                placement = parse_vtt_settings(timing.group(2)) if timing else None
                if timing and placement is not None and body:
                    line = timing.group(1)
                    body[0] = f"{tag}{len(placements)}}}{body[0]}"
                    placements.append(placement)
                kept.append("\n".join([line, *body]))
                break
    mark = re.compile(re.escape(tag) + r"(\d+)\}") if placements else None
    return "\n\n".join(kept) + "\n", placements, mark


@dataclass(frozen=True, slots=True)
class CuePlacement:
    """Where a WebVTT cue's settings put it, in fractions of the picture (``None``: the
    caption style decides that direction)."""

    line: float | None = None
    """Vertical position as a fraction of the height (``line:P%``)."""
    line_number: int | None = None
    """``line:N``: the Nth line from the top (0 the first), or from the bottom when negative."""
    line_align: str = "start"
    """Which edge of the cue box ``line`` places: ``start`` (top), ``center`` or ``end``."""
    position: float | None = None
    """Horizontal position of the cue box as a fraction of the width (``position:P%``)."""
    position_align: str | None = None
    """Which side of the box ``position`` places: ``line-left``, ``center``, ``line-right``."""
    align: str | None = None
    """Text alignment: ``start``/``left``, ``center``, ``end``/``right``."""


def _percent(value: str) -> float | None:
    match = re.fullmatch(r"(\d{1,3}(?:\.\d+)?)%", value)
    return min(float(match.group(1)), 100.0) / 100 if match else None


def parse_vtt_settings(settings: str) -> CuePlacement | None:
    """The ``line``, ``position`` and ``align`` settings of a WebVTT cue timing line (the text
    after its times), or ``None`` if it has none of them. Malformed values are ignored, as
    WebVTT parsers do."""
    found: dict[str, object] = {}
    for item in settings.split():
        name, _, value = item.partition(":")
        value, _, option = value.partition(",")
        if name == "line":
            if (fraction := _percent(value)) is not None:
                found["line"] = fraction
            elif re.fullmatch(r"-?\d{1,3}", value):
                found["line_number"] = int(value)
            else:
                continue
            if option in ("start", "center", "end"):
                found["line_align"] = option
        elif name == "position" and (fraction := _percent(value)) is not None:
            found["position"] = fraction
            if option in ("line-left", "center", "line-right"):
                found["position_align"] = option
        elif name == "align" and value in ("start", "center", "end", "left", "right"):
            found["align"] = value
    return CuePlacement(**found) if found else None  # type: ignore[arg-type]


# --------------------------------------------------------------------------- times


def cue_span(
    start: Fraction, end: Fraction, *, offset: Fraction, length: Fraction | None
) -> tuple[Fraction, Fraction] | None:
    """A cue's clip-relative span on the timeline, clipped to the clip and to t >= 0."""
    lo = max(offset, Fraction(0))
    hi = end + offset if length is None else min(end + offset, offset + length)
    s, e = max(start + offset, lo), hi
    return (s, e) if e > s else None


def _first_frame(t: Fraction, fps: Fraction) -> int:
    """The first frame whose timestamp is at or after ``t``."""
    return math.ceil(t * fps)


def _boundary_cs(frame: int, fps: Fraction) -> int:
    """An ASS time (centiseconds) between the timestamps of ``frame - 1`` and ``frame``."""
    if frame <= 0:
        return 0
    return round((frame - Fraction(1, 2)) / fps * 100)


def _ass_time(cs: int) -> str:
    h, rest = divmod(cs, 360000)
    m, rest = divmod(rest, 6000)
    s, c = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{c:02d}"


# --------------------------------------------------------------------------- text layout


@dataclass(frozen=True, slots=True)
class _Piece:
    """A run of text that stays together: a word, or one CJK character (which have no spaces)."""

    text: str
    space: bool = False
    """A space precedes it."""
    newline: bool = False
    """A line break of the cue text precedes it."""
    word: int | None = None
    """Index of the timed word it belongs to."""
    glued: bool = False
    """The space before it must not break (see :func:`~reelforge.render.linebreak.keeps_together`)."""

    def breakable_after(self, prev: _Piece) -> bool:
        if self.newline:
            return True
        if self.space:
            return not self.glued
        return _glued_break(prev.text[-1], self.text[0])


def _glue(pieces: list[_Piece]) -> list[_Piece]:
    """Mark the spaces a line must not break at: between the words around them (a word is the
    pieces from one space to the next)."""
    starts = [i for i, p in enumerate(pieces) if i == 0 or p.space or p.newline]
    words = ["".join(p.text for p in pieces[a:b]) for a, b in itertools.pairwise([*starts, len(pieces)])]
    out = list(pieces)
    for n in range(1, len(starts)):
        i = starts[n]
        if pieces[i].space and not pieces[i].newline and keeps_together(words[n - 1], words[n]):
            out[i] = replace(pieces[i], glued=True)
    return out


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _glued_break(before: str, after: str) -> bool:
    """Whether a line may break between two characters with no space between them: next to a
    CJK character, except before closing or after opening punctuation."""
    if unicodedata.category(after) in ("Pe", "Pf", "Po") or unicodedata.category(before) in ("Ps", "Pi"):
        return False
    if is_hangul(before) and is_hangul(after):
        return False  # Korean puts spaces between words: a word stays whole
    return _wide(before) or _wide(after)


def _pieces(text: str, spans: Sequence[tuple[int, int]] = ()) -> list[_Piece]:
    """Split text at spaces, line breaks, CJK characters and word ``spans`` (character offsets)."""
    word_at: list[int | None] = [None] * len(text)
    for k, (i, j) in enumerate(spans):
        word_at[i:j] = [k] * (j - i)
    out: list[_Piece] = []
    buf, word, space, newline = "", None, False, False
    for c, w in zip(text, word_at, strict=True):
        if c.isspace():
            if buf:
                out.append(_Piece(buf, space, newline, word))
                buf, space, newline = "", False, False
            if out:
                newline = newline or c in _LINE_BREAKS
                space = True
            continue
        if unicodedata.category(c) == "Cc":
            continue
        if buf and (w != word or _glued_break(buf[-1], c)):
            out.append(_Piece(buf, space, newline, word))
            buf, space, newline = "", False, False
        if not buf:
            word = w
        buf += c
    if buf:
        out.append(_Piece(buf, space, newline, word))
    return _glue(out)


def _trim(word: str) -> str:
    """A word without the punctuation around it."""
    i, j = 0, len(word)
    while i < j and not word[i].isalnum():
        i += 1
    while j > i and not word[j - 1].isalnum():
        j -= 1
    return word[i:j]


def _word_spans(text: str, words: Sequence[str]) -> list[tuple[int, int]] | None:
    """Where each word is in the text, in order (ignoring case and surrounding punctuation);
    None when one cannot be found."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for word in words:
        found = None
        for candidate in dict.fromkeys((word, _trim(word))):
            if not candidate:
                continue
            for m in re.compile(re.escape(candidate), re.IGNORECASE).finditer(text, pos):
                i, j = m.span()
                # Whole words only ("he" is not the "he" in "the"), except in CJK text.
                if (i == 0 or not text[i - 1].isalnum() or _wide(text[i - 1]) or _wide(text[i])) and (
                    j == len(text) or not text[j].isalnum() or _wide(text[j]) or _wide(text[j - 1])
                ):
                    found = (i, j)
                    break
            if found:
                break
        if found is None:
            return None
        spans.append(found)
        pos = found[1]
    return spans


def _timed_pieces(text: str, words: Sequence[str]) -> list[_Piece]:
    """The cue text split with its timed words marked; the words themselves when they cannot
    all be found in it (the highlight needs text to land on)."""
    spans = _word_spans(text, words)
    if spans is None:
        text, spans = "", []
        for word in words:
            if text and not (_wide(text[-1]) and _wide(word[0])):
                text += " "
            spans.append((len(text), len(text) + len(word)))
            text += word
    return _pieces(text, spans)


class _Measure:
    """Advance widths in canvas pixels, as libass lays them out (or wider): each run of text
    measured with the font of the chain that draws it."""

    def __init__(self, font_size: float, font_file: Path | None, chain: Sequence[FontFace] = ()) -> None:
        self.size = font_size
        self.chain = tuple(chain)
        faces = self.chain or ((FontFace(font_file),) if font_file is not None else ())
        self.fonts = [_pillow_font(str(face.path), face.index) for face in faces]
        # libass scales a font so ascender + descender equals the ASS font size.
        self.scales = [font_size / sum(f.getmetrics()) if f is not None else 0.0 for f in self.fonts]
        self.font = self.fonts[0] if self.fonts else None

    def __call__(self, text: str) -> float:
        if self.font is None:
            return sum(_guess_width(c) for c in text) * self.size
        if not self.chain:
            # CJK usually comes from a fallback font, whose widths the given file cannot tell.
            wide = sum(1 for c in text if _wide(c))
            narrow = "".join(c for c in text if not _wide(c)) if wide else text
            return float(self.font.getlength(narrow)) * self.scales[0] + wide * self.size
        total = 0.0
        for run, face in font_runs(graphemes(text), self.chain):
            k = self.chain.index(face)
            font = self.fonts[k]
            # every run is drawn at the primary font's em size (see _fonted)
            total += font.getlength(run) * self.scales[0] if font is not None else len(run) * self.size
        return total


@functools.lru_cache(maxsize=16)
def _pillow_font(path: str, index: int = 0) -> ImageFont.FreeTypeFont | None:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(path, 100, index=index)
    except OSError:
        return None


def _guess_width(char: str) -> float:
    """A generous advance width as a fraction of the ASS font size (DejaVu Sans Bold's
    lowercase is about 0.53, uppercase 0.63, W 0.86)."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0.0
    if _wide(char):
        return 1.0
    return 0.8 if char.isupper() else 0.62


def _line_text(pieces: Sequence[_Piece], line: Sequence[int]) -> str:
    return "".join((" " if n and pieces[i].space else "") + pieces[i].text for n, i in enumerate(line))


def _wrap(pieces: Sequence[_Piece], measure: _Measure, max_width: float) -> list[list[int]]:
    """Lines of piece indexes, breaking only where a line may break: as few lines as filling
    each line in turn needs, as even as possible (:func:`~reelforge.render.linebreak.balance`)."""
    lines: list[list[int]] = []
    paragraph: list[list[int]] = []  # groups of pieces that stay together
    for i, piece in enumerate(pieces):
        if paragraph and piece.newline:
            lines += _balanced(pieces, paragraph, measure, max_width)
            paragraph = []
        if not paragraph or piece.breakable_after(pieces[i - 1]):
            paragraph.append([i])
        else:
            paragraph[-1].append(i)
    if paragraph:
        lines += _balanced(pieces, paragraph, measure, max_width)
    return lines


def _balanced(
    pieces: Sequence[_Piece], groups: list[list[int]], measure: _Measure, max_width: float
) -> list[list[int]]:
    # Widths add up (kerning across a break opportunity is negligible next to _WIDTH_SAFETY):
    # each group is measured once, with and without the space before it.
    bare = [measure(_line_text(pieces, group)) for group in groups]
    spaced = [
        w + (measure(" ") if pieces[group[0]].space else 0.0) for w, group in zip(bare, groups, strict=True)
    ]
    sums = [0.0, *itertools.accumulate(spaced)]

    def width(i: int, j: int) -> float:
        return bare[i] + sums[j] - sums[i + 1]

    return [[k for group in line for k in group] for line in balance(groups, width, max_width)]


def _escape(text: str) -> str:
    """Text as libass shows it literally: no override blocks, no \\N, no control characters."""
    out: list[str] = []
    for c in text:
        if c == "\\":
            out.append("\\" + _WORD_JOINER)
        elif c in "{}":
            out.append("\\" + c)
        elif c == "\t":
            out.append(" ")
        elif unicodedata.category(c) != "Cc":
            out.append(c)
    return "".join(out)


def _direction(text: str, wanted: str) -> str | None:
    if wanted != "auto":
        return wanted
    for c in text:
        kind = unicodedata.bidirectional(c)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def _ass_color(color: str) -> str:
    r, g, b, a = parse_color(color)
    return f"&H{255 - a:02X}{b:02X}{g:02X}{r:02X}"


def _override_color(color: str) -> str:
    r, g, b, a = parse_color(color)
    return f"{{\\1c&H{b:02X}{g:02X}{r:02X}&\\1a&H{255 - a:02X}&}}"


def _font_name(family: str) -> str:
    """A family name as an override tag argument: no tag syntax, commas or controls."""
    return "".join(c for c in family if c not in "{}\\," and unicodedata.category(c) != "Cc").strip()


def _em_ratio(face: FontFace, primary: FontFace) -> float:
    """How much larger than the primary font libass must draw ``face`` for both to have the same
    em size: libass sizes every font by its ascender plus descender, which differ between fonts
    (Noto Sans CJK's are a quarter larger than DejaVu's, so CJK came out a quarter smaller)."""
    font, base = _pillow_font(str(face.path), face.index), _pillow_font(str(primary.path), primary.index)
    if font is None or base is None:
        return 1.0
    return sum(font.getmetrics()) / sum(base.getmetrics())


class _Fonts:
    """Sets each run of text the first font lacks in the chain's font that has it (libass's own
    fallback picks whatever fontconfig offers, or nothing), at the same em size; a font tag is
    written only where the font changes."""

    def __init__(self, chain: Sequence[FontFace]) -> None:
        self.chain = tuple(chain)
        self.current = 0

    def reset(self) -> None:
        """After ``{\\r}``, which goes back to the style's font."""
        self.current = 0

    def __call__(self, text: str) -> str:
        if len(self.chain) < 2:
            return _escape(text)
        out = []
        for run, face in font_runs(graphemes(text), self.chain):
            k = self.chain.index(face) if face.family else 0
            if k != self.current:
                scale = round(100 * _em_ratio(face, self.chain[0])) if k else 100
                out.append(f"{{\\fn{_font_name(self.chain[k].family)}\\fscx{scale}\\fscy{scale}}}")
                self.current = k
            out.append(_escape(run))
        return "".join(out)


def _event_text(
    pieces: Sequence[_Piece],
    lines: Sequence[list[int]],
    mark: str,
    highlight: int | None,
    hl_tag: str,
    chain: Sequence[FontFace] = (),
) -> str:
    parts: list[str] = []
    fonted = _Fonts(chain)
    for n, line in enumerate(lines):
        first = pieces[line[0]]
        if n and first.space and not first.newline:
            parts.append(" ")  # a wrapped line: libass wraps it again, on real widths
        else:
            # A line break, or a break libass would not make (CJK); bidi restarts after it.
            parts.append(("\\N" if n else "") + mark)
        lit = False
        for k, i in enumerate(line):
            if k and pieces[i].space:
                # a space libass must not wrap at either: a no-break space
                parts.append("\u00a0" if pieces[i].glued else " ")
            on = highlight is not None and pieces[i].word == highlight
            if on != lit:
                parts.append(hl_tag if on else "{\\r}")
                if not on:
                    fonted.reset()
                lit = on
            parts.append(fonted(pieces[i].text))
        if lit:
            parts.append("{\\r}")
            fonted.reset()
    return "".join(parts)


# --------------------------------------------------------------------------- .ass script


def _fnum(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _style_line(style: CaptionStyle, canvas: tuple[int, int], font_family: str) -> str:
    width, height = canvas
    size = style.size * height
    primary = _ass_color(style.color)
    secondary = _ass_color(style.highlight_color)
    if style.background is not None:
        # BorderStyle 3 fills a box with OutlineColour (its shadow uses BackColour).
        border_style, border = 3, _BOX_PADDING * size
        outline = back = _ass_color(style.background)
    else:
        border_style, border = 1, style.outline * size
        outline = back = _ass_color(style.outline_color)
    # Commas separate the style's fields.
    family = "".join(c for c in font_family if c != "," and unicodedata.category(c) != "Cc").strip()
    fields = [
        "Default",
        family or "DejaVu Sans",
        _fnum(size),
        primary,
        secondary,
        outline,
        back,
        "-1" if style.weight == "bold" else "0",
        "0",
        "0",
        "0",
        "100",
        "100",
        "0",
        "0",
        str(border_style),
        _fnum(border),
        "0",
        str(_ALIGNMENT[style.position]),
        str(round(style.margin_x * width)),
        str(round(style.margin_x * width)),
        str(round(style.margin_y * height)),
        "-1",  # Encoding -1: libass finds the base direction itself (see the module doc)
    ]
    return "Style: " + ",".join(fields)


def _header(style: CaptionStyle, canvas: tuple[int, int], font_family: str) -> str:
    width, height = canvas
    return (
        "[Script Info]\n"
        "; Written by reelforge\n"
        "ScriptType: v4.00+\n"
        f"PlayResX: {width}\n"
        f"PlayResY: {height}\n"
        "ScaledBorderAndShadow: yes\n"
        "WrapStyle: 0\n"
        "YCbCr Matrix: None\n"
        "\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"{_style_line(style, canvas, font_family)}\n"
        "\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )


def build_ass(
    cues: Sequence[Cue],
    style: CaptionStyle,
    *,
    canvas: tuple[int, int],
    offset: Fraction,
    length: Fraction,
    fps: Fraction,
    font_family: str,
    font_file: Path | None = None,
    placements: Sequence[CuePlacement | None] | None = None,
    chain: Sequence[FontFace] = (),
) -> str:
    """The text of an .ass script showing ``cues`` on a ``canvas``-sized picture.

    ``offset`` is the caption clip's start on the timeline and ``length`` its length
    (seconds); ``fps`` is the frame rate of the picture the script is burned into, to place
    event boundaries between frames. ``font_family`` is the family libass looks up (in the
    filter's ``fontsdir`` and the system fonts); ``font_file``, that family's file, makes the
    line-length estimate for ``max_lines`` exact instead of generous. ``placements`` (one per
    cue, from :func:`load_placed_cues`) put cues where their WebVTT settings say. ``chain``, the
    style's font chain (:func:`~reelforge.render.fonts.font_chain`, starting with that file),
    sets each run of text the first font lacks in the font of the chain that has it, and
    measures it so.
    """
    width, _height = canvas
    measure = _Measure(style.size * canvas[1], font_file, chain)
    max_width = float((width - 2 * round(style.margin_x * width)) * _WIDTH_SAFETY)
    hl_tag = _override_color(style.highlight_color)
    events: list[str] = []
    for cue, placement in zip(cues, placements or [None] * len(cues), strict=True):
        at = _placement_tag(placement, style, canvas) if placement is not None else ""
        events += _cue_events(cue, style, measure, max_width, hl_tag, offset, length, fps, at)
    return _header(style, canvas, font_family) + "".join(events)


def _placement_tag(placement: CuePlacement, style: CaptionStyle, canvas: tuple[int, int]) -> str:
    """The override block (``{\\anN\\pos(x,y)}``) that puts a cue where its WebVTT settings say.

    Horizontally, ``position`` places the side of the box ``position_align`` names (by default
    the side ``align`` names); without ``position`` the box sits against the style's margin on
    that side, or in the middle. Vertically, ``line:P%`` places the box's top, middle or bottom
    (``line_align``); ``line:N`` counts lines of the style's size from the top (N >= 0) or from
    the bottom (N < 0); without ``line`` the style's ``position`` and margin apply."""
    width, height = canvas
    side = {"start": 0, "left": 0, "center": 1, "end": 2, "right": 2}[placement.align or "center"]
    if placement.position_align is not None:
        side = {"line-left": 0, "center": 1, "line-right": 2}[placement.position_align]
    margin_x = round(style.margin_x * width)
    if placement.position is not None:
        x = placement.position * width
    else:
        x = (margin_x, width / 2, width - margin_x)[side]
    line_height = style.size * height * _LINE_HEIGHT
    if placement.line is not None:
        row = {"start": 2, "center": 1, "end": 0}[placement.line_align]
        y = placement.line * height
    elif placement.line_number is not None:
        n = placement.line_number
        row, y = (2, n * line_height) if n >= 0 else (0, height - (-n - 1) * line_height)
    else:
        margin_y = round(style.margin_y * height)
        row = {"top": 2, "center": 1, "bottom": 0}[style.position]
        y = (height - margin_y, height / 2, margin_y)[row]
    alignment = 1 + side + 3 * row  # numpad layout: 1-3 bottom, 4-6 middle, 7-9 top
    return f"{{\\an{alignment}\\pos({_fnum(x)},{_fnum(y)})}}"


def _seconds(value: float | str, fps: Fraction) -> Fraction:
    return parse_time(value).to_seconds(fps)


def _cue_events(
    cue: Cue,
    style: CaptionStyle,
    measure: _Measure,
    max_width: float,
    hl_tag: str,
    offset: Fraction,
    length: Fraction,
    fps: Fraction,
    at: str = "",
) -> list[str]:
    span = cue_span(_seconds(cue.start, fps), _seconds(cue.end, fps), offset=offset, length=length)
    if span is None:
        return []
    start, end = span
    word_times: list[tuple[Fraction, Fraction]] = []
    if cue.words:
        words = [w for w in cue.words if w.text.strip()]
        word_times = [(_seconds(w.start, fps) + offset, _seconds(w.end, fps) + offset) for w in words]
        pieces = _timed_pieces(cue.text, [w.text.strip() for w in words])
    else:
        pieces = _pieces(cue.text)
    if not pieces:
        return []
    direction = _direction("".join(p.text for p in pieces), style.direction)
    mark = _MARKS[direction] if direction else ""
    lines = _wrap(pieces, measure, max_width)
    chunks = [lines[i : i + style.max_lines] for i in range(0, len(lines), style.max_lines)]
    events: list[str] = []
    for (a, b), chunk in zip(_chunk_spans(pieces, chunks, start, end, word_times), chunks, strict=True):
        shown = sorted({k for line in chunk for i in line if (k := pieces[i].word) is not None})
        for lo, hi, word in _intervals(a, b, [(k, *word_times[k]) for k in shown]):
            f0, f1 = _first_frame(lo, fps), _first_frame(hi, fps)
            if f1 <= f0:
                continue  # shorter than a frame: never on screen
            text = _event_text(pieces, chunk, mark, word, hl_tag, measure.chain)
            events.append(
                f"Dialogue: 0,{_ass_time(_boundary_cs(f0, fps))},{_ass_time(_boundary_cs(f1, fps))},"
                f"Default,,0,0,0,,{at}{text}\n"
            )
    return events


def _chunk_spans(
    pieces: Sequence[_Piece],
    chunks: Sequence[Sequence[list[int]]],
    start: Fraction,
    end: Fraction,
    word_times: Sequence[tuple[Fraction, Fraction]],
) -> list[tuple[Fraction, Fraction]]:
    """Split [start, end) over the chunks: at a chunk's first timed word, else by text length."""
    sizes = [sum(len(pieces[i].text) + pieces[i].space for line in chunk for i in line) for chunk in chunks]
    total = sum(sizes)
    cuts = [start]
    done = 0
    for chunk, size in zip(chunks[1:], sizes, strict=False):
        done += size
        timed = [k for line in chunk for i in line if (k := pieces[i].word) is not None]
        at = word_times[timed[0]][0] if timed else start + (end - start) * done / total
        cuts.append(min(max(at, cuts[-1]), end))
    cuts.append(end)
    return list(itertools.pairwise(cuts))


def _intervals(
    a: Fraction, b: Fraction, words: Iterable[tuple[int, Fraction, Fraction]]
) -> list[tuple[Fraction, Fraction, int | None]]:
    """Cut [a, b) where the spoken word changes; each piece names its word (or None)."""
    words = list(words)
    points = sorted({a, b, *(t for _, s, e in words for t in (s, e) if a < t < b)})
    out: list[tuple[Fraction, Fraction, int | None]] = []
    for lo, hi in itertools.pairwise(points):
        # Of overlapping words, the one that started last is the one being spoken.
        active = [(s, k) for k, s, e in words if s <= lo < e]
        word = max(active)[1] if active else None
        if out and out[-1][2] == word:
            out[-1] = (out[-1][0], hi, word)
        else:
            out.append((lo, hi, word))
    return out


# --------------------------------------------------------------------------- filter


def caption_filter(ass_path: Path, fonts_dir: Path | None) -> Filter:
    """The libass filter burning the script at ``ass_path`` into the picture it is given."""
    return filt("ass", filename=str(ass_path), fontsdir=str(fonts_dir) if fonts_dir is not None else None)


# --------------------------------------------------------------------------- sidecars


def write_srt(
    cues: Sequence[Cue], path: Path, offset: Fraction, fps: Fraction, *, length: Fraction | None = None
) -> None:
    """Write ``cues`` as SubRip with timeline times (``offset`` added; clipped to ``length``
    and to t >= 0, so a negative offset serves an output that starts later)."""
    _write_sidecar(cues, Path(path), offset, fps, length, "srt")


def write_vtt(
    cues: Sequence[Cue], path: Path, offset: Fraction, fps: Fraction, *, length: Fraction | None = None
) -> None:
    """Write ``cues`` as WebVTT; like :func:`write_srt`."""
    _write_sidecar(cues, Path(path), offset, fps, length, "vtt")


def _write_sidecar(
    cues: Sequence[Cue], path: Path, offset: Fraction, fps: Fraction, length: Fraction | None, fmt: str
) -> None:
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        span = cue_span(_seconds(cue.start, fps), _seconds(cue.end, fps), offset=offset, length=length)
        text = _sidecar_text(cue.text, fmt)
        if span is None or not text:
            continue
        start, end = (round(t * 1000) for t in span)
        if end > start:
            subs.append(pysubs2.SSAEvent(start=start, end=end, text=text))
    subs.sort()
    # keep_ssa_tags: write the text as is, or pysubs2 would take "{...}" in it for tags.
    path.write_text(subs.to_string(fmt, keep_ssa_tags=True), encoding="utf-8")


def _sidecar_text(text: str, fmt: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    body = "\n".join(line for line in lines if line)
    # pysubs2 turns \N, \n and \h into whitespace even with keep_ssa_tags.
    body = re.sub(r"\\(?=[Nnh])", "\\\\" + _WORD_JOINER, body)
    if fmt == "vtt":
        body = html.escape(body, quote=False)
    return body
