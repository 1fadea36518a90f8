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
from collections.abc import Sequence
from pathlib import Path

from PIL import ImageFont

from reelforge.edit.references import FONT_SUFFIXES

__all__ = ["FONT_SUFFIXES", "GENERIC_FAMILIES", "FontNotFoundError", "resolve_font"]

GENERIC_FAMILIES = frozenset({"sans-serif", "serif", "monospace", "sans", "mono"})
"""Names fontconfig maps to a configured default; they are accepted whatever family comes back."""

_FC_TIMEOUT = 30  # the first call may build fontconfig's cache


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
    """The font file to draw ``font`` with.

    ``font`` is a file (``.ttf``/``.otf``/``.ttc``, relative to ``base_dir``), used as is, or a
    family name looked up first among ``extra_fonts`` and then with fontconfig, choosing the
    face closest to ``weight`` ("normal"/"bold") and ``italic``.
    """
    if font.lower().endswith(FONT_SUFFIXES):
        return _font_file(font, base_dir)
    family = font.strip()
    if not family:
        raise FontNotFoundError(font, "the font name is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in family):
        raise FontNotFoundError(font, "the font name contains control characters")
    bold = weight == "bold"
    found = _from_extra_fonts(family, bold, italic, tuple(Path(p) for p in extra_fonts))
    if found is not None:
        return found
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
def _from_fontconfig(family: str, bold: bool, italic: bool) -> Path:
    exe = shutil.which("fc-match")
    if exe is None:
        raise FontNotFoundError(family, "fontconfig (fc-match) is not installed; give a font file instead")
    pattern = (
        f"{_fc_escape(family)}:weight={'bold' if bold else 'regular'}:slant={'italic' if italic else 'roman'}"
    )
    # the file, then every family name of the face (a face can have several), one per line
    fmt = "%{file}\\n%{[]family{%{family}\\n}}"
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
    path, families = Path(lines[0]), [f for f in lines[1:] if f]
    if family.lower() not in GENERIC_FAMILIES and not any(_same_family(f, family) for f in families):
        raise FontNotFoundError(
            family,
            f"no installed font has this family (the closest is {families[0] if families else path.name!r}); "
            "install it, list its file in the timeline's `fonts`, or give a .ttf/.otf file",
        )
    return path
