"""Find the font file for a text style: a font file, an extra font of the edit, or fontconfig.

A family name is untrusted text. It reaches fontconfig only as one escaped pattern element of
an argument list (never a shell), and fontconfig's answer is checked: fontconfig always
returns *some* font, so a family that does not match the request is an error rather than a
silent fallback.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reelforge.edit.references import FONT_SUFFIXES

__all__ = [
    "DEFAULT_FALLBACK",
    "FONT_SUFFIXES",
    "GENERIC_FAMILIES",
    "FontFace",
    "FontNotFoundError",
    "covers",
    "font_chain",
    "font_runs",
    "resolve_face",
    "resolve_font",
    "uncovered",
]

GENERIC_FAMILIES = frozenset({"sans-serif", "serif", "monospace", "sans", "mono"})
"""Names fontconfig maps to a configured default; they are accepted whatever family comes back."""

_FC_TIMEOUT = 30  # the first call may build fontconfig's cache

DEFAULT_FALLBACK = (
    "Noto Sans",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans CJK SC",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
    "Symbola",
)
"""Families tried, in order, for the characters a style's own fonts lack (`make` installs them:
the Noto families and Symbola, whose emoji are outlines that FreeType and libass can draw)."""


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face of a font file (a .ttc collection holds several)."""

    path: Path
    index: int = 0
    family: str = ""


class FontNotFoundError(ValueError):
    """A font file is missing or unreadable, or no installed font has the requested family."""

    def __init__(self, font: str, reason: str):
        self.font = font
        self.reason = reason
        super().__init__(f"font {font!r}: {reason}")


def resolve_font(
    font: str,
    *,
    weight: str = "normal",
    italic: bool = False,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> Path:
    """The font file to draw ``font`` with (see :func:`resolve_face`)."""
    return resolve_face(font, weight=weight, italic=italic, base_dir=base_dir, extra_fonts=extra_fonts).path


def resolve_face(
    font: str,
    *,
    weight: str = "normal",
    italic: bool = False,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> FontFace:
    """The face to draw ``font`` with.

    ``font`` is a file (``.ttf``/``.otf``/``.ttc``, relative to ``base_dir``), used as is, or a
    family name looked up first among ``extra_fonts`` and then with fontconfig, choosing the
    face closest to ``weight`` ("normal"/"bold") and ``italic``.
    """
    if font.lower().endswith(FONT_SUFFIXES):
        path = _font_file(font, base_dir)
        return FontFace(path, 0, _read_names(path, font)[0])
    family = font.strip()
    if not family:
        raise FontNotFoundError(font, "the font name is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in family):
        raise FontNotFoundError(font, "the font name contains control characters")
    bold = weight == "bold"
    found = _from_extra_fonts(family, bold, italic, tuple(Path(p) for p in extra_fonts))
    if found is not None:
        return FontFace(found, 0, _read_names(found, family)[0])
    return _from_fontconfig(family, bold, italic)


def _font_file(font: str, base_dir: Path | None) -> Path:
    path = Path(font)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise FontNotFoundError(font, f"no such font file: {path}")
    _read_names(path, font)  # fail here, with the file named, rather than while drawing
    return path


@functools.lru_cache(maxsize=256)
def _names(path: Path) -> tuple[str, str]:
    from PIL import ImageFont  # only for edits with text: PIL and fontTools load when used

    family, style = ImageFont.truetype(str(path), 16).getname()
    return family or "", style or ""


def _read_names(path: Path, font: str) -> tuple[str, str]:
    try:
        return _names(path)
    except OSError as exc:
        raise FontNotFoundError(font, f"cannot read font file {path}: {exc}") from None


def _same_family(a: str, b: str) -> bool:
    # fontconfig's own rule for family names: ignore case and blanks
    return a.casefold().replace(" ", "") == b.casefold().replace(" ", "")


def _style_flags(style: str) -> tuple[bool, bool]:
    lowered = style.lower()
    bold = any(word in lowered for word in ("bold", "black", "heavy"))
    italic = "italic" in lowered or "oblique" in lowered
    return bold, italic


def _from_extra_fonts(family: str, bold: bool, italic: bool, extra: tuple[Path, ...]) -> Path | None:
    best: tuple[int, Path] | None = None
    for path in extra:
        name, style = _read_names(path, str(path))
        if not _same_family(name, family):
            continue
        is_bold, is_italic = _style_flags(style)
        score = 2 * (is_bold == bold) + (is_italic == italic)
        if best is None or score > best[0]:
            best = (score, path)
    return best[1] if best else None


def _fc_escape(text: str) -> str:
    # fontconfig pattern syntax: '-' starts the size, ':' a property, ',' the next family
    out = text.replace("\\", "\\\\")
    for char in "-:,":
        out = out.replace(char, "\\" + char)
    return out


@functools.lru_cache(maxsize=256)
def _from_fontconfig(family: str, bold: bool, italic: bool) -> FontFace:
    exe = shutil.which("fc-match")
    if exe is None:
        raise FontNotFoundError(family, "fontconfig (fc-match) is not installed; give a font file instead")
    pattern = (
        f"{_fc_escape(family)}:weight={'bold' if bold else 'regular'}:slant={'italic' if italic else 'roman'}"
    )
    # the file and face index, then every family name of the face (a face can have several)
    fmt = "%{file}\\n%{index}\\n%{[]family{%{family}\\n}}"
    try:
        done = subprocess.run(
            [exe, "-f", fmt, "--", pattern],
            capture_output=True,
            text=True,
            timeout=_FC_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FontNotFoundError(family, f"fontconfig lookup failed: {exc}") from None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines or not lines[0]:
        raise FontNotFoundError(family, f"fontconfig found no font ({done.stderr.strip() or 'no output'})")
    path, families = Path(lines[0]), [f for f in lines[2:] if f]
    index = int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0
    if family.lower() not in GENERIC_FAMILIES and not any(_same_family(f, family) for f in families):
        raise FontNotFoundError(
            family,
            f"no installed font has this family (the closest is {families[0] if families else path.name!r}); "
            "install it, list its file in the timeline's `fonts`, or give a .ttf/.otf file",
        )
    return FontFace(path, index, families[0] if families else family)


# --------------------------------------------------------------------------- coverage


@functools.lru_cache(maxsize=64)
def _cmap(path: Path, index: int, mtime_ns: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    # lazy: only the cmap table is read (a CJK collection is tens of megabytes)
    with TTFont(str(path), fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def coverage(face: FontFace) -> frozenset[int]:
    """The code points ``face`` has glyphs for (read once per file and face)."""
    from fontTools.ttLib import TTLibError

    try:
        return _cmap(face.path, face.index, face.path.stat().st_mtime_ns)
    except (OSError, TTLibError, AssertionError) as exc:
        raise FontNotFoundError(str(face.path), f"cannot read the font's character map: {exc}") from None


def _needs_glyph(char: str) -> bool:
    """Whether a character is drawn: controls, format characters (joiners, bidi marks),
    variation selectors and line breaks are not."""
    if char in "\n\r\t":
        return False
    if 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF:
        return False
    return unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp")


@functools.lru_cache(maxsize=65536)
def covers(face: FontFace, cluster: str) -> bool:
    """Whether ``face`` has a glyph for every drawn character of ``cluster``."""
    cmap = coverage(face)
    return all(ord(c) in cmap for c in cluster if _needs_glyph(c))


def font_chain(
    font: str,
    fallback: Sequence[str] = (),
    *,
    weight: str = "normal",
    italic: bool = False,
    base_dir: Path | None = None,
    extra_fonts: Sequence[Path] = (),
) -> tuple[FontFace, ...]:
    """The faces tried for each character, in order: ``font``, then each of ``fallback``
    (both must exist: :class:`FontNotFoundError` otherwise), then whichever of
    :data:`DEFAULT_FALLBACK` are installed."""
    args = {"weight": weight, "italic": italic, "base_dir": base_dir, "extra_fonts": extra_fonts}
    chain = [resolve_face(font, **args)]  # type: ignore[arg-type]
    chain += [resolve_face(name, **args) for name in fallback]  # type: ignore[arg-type]
    for family in DEFAULT_FALLBACK:
        try:
            chain.append(resolve_face(family, **args))  # type: ignore[arg-type]
        except FontNotFoundError:
            continue  # not installed: its characters are refused at validation instead
    return tuple(dict.fromkeys(chain))


def font_runs(clusters: Sequence[str], chain: tuple[FontFace, ...]) -> list[tuple[str, FontFace]]:
    """``clusters`` (graphemes) grouped into runs, each with the first face of ``chain`` that
    covers it. Spaces stay with the run before them when its face has them, so a fallback run
    is not cut at every space (punctuation does not: a CJK font's full-width `·` would look out
    of place in Latin text). A cluster no face covers goes with the first face
    (:func:`uncovered` tells which; validation refuses them)."""
    # A face's map is read only when a cluster gets that far down the chain: Latin text never
    # opens the CJK or Arabic fallbacks (their maps are most of a text's set-up time).
    cmaps: dict[int, frozenset[int]] = {}

    def has(k: int, cluster: str) -> bool:
        if k not in cmaps:
            cmaps[k] = coverage(chain[k])
        return all(ord(c) in cmaps[k] for c in cluster if _needs_glyph(c))

    runs: list[tuple[str, int]] = []
    for cluster in clusters:
        if runs and unicodedata.category(cluster[0]) == "Zs" and has(runs[-1][1], cluster):
            k = runs[-1][1]
        else:
            k = next((i for i in range(len(chain)) if has(i, cluster)), 0)
        if runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0] + cluster, k)
        else:
            runs.append((cluster, k))
    return [(text, chain[k]) for text, k in runs]


def uncovered(text: str, chain: Sequence[FontFace]) -> list[str]:
    """The characters of ``text`` that no face of ``chain`` has, in order, each once."""
    left = dict.fromkeys(c for c in text if _needs_glyph(c))
    for face in chain:  # down the chain only as far as characters are left (as font_runs)
        if not left:
            break
        cmap = coverage(face)
        left = dict.fromkeys(c for c in left if ord(c) not in cmap)
    return list(left)
