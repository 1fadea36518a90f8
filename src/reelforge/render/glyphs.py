"""Check before rendering that every character of an edit's text has a font that can draw it.

Without this check a character no installed font has is drawn as an empty box (tofu) and the
render succeeds. Each text and caption style is resolved to its font chain (its `font`, its
`fallback`, the installed defaults: :func:`~reelforge.render.fonts.font_chain`) and every
character of its text, cues and subtitle file is looked up in the chain's character maps. An
unknown family, an unreadable font file, a character no font covers and a hyphenation language
without a dictionary are problems with the pointer of the field concerned.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from reelforge.edit.errors import Problem, pointer
from reelforge.edit.models import CaptionAsset, CaptionStyle, Edit, TextAsset, TextStyle
from reelforge.edit.overrides import clip_variants

from .captions import CaptionFileError, load_cues
from .fonts import FONT_SUFFIXES, FontFace, FontNotFoundError, font_chain, resolve_face, uncovered
from .linebreak import hyphenation_language
from .plan import Source

__all__ = ["char_name", "text_problems"]

_SHOWN = 5  # characters named in one problem


def char_name(char: str) -> str:
    """``U+4E2D CJK UNIFIED IDEOGRAPH-4E2D``: how a problem names a character."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def _missing(chars: Sequence[str], chain: Sequence[FontFace]) -> str:
    names = ", ".join(f"{c!r} ({char_name(c)})" for c in chars[:_SHOWN])
    more = f" and {len(chars) - _SHOWN} more" if len(chars) > _SHOWN else ""
    families = ", ".join(dict.fromkeys(face.family or face.path.name for face in chain))
    return (
        f"no available font has {names}{more}; tried {families}. Add a font that covers it to "
        "`timeline.fonts` and name it in `fallback`, or remove the character"
    )


def _chain(
    style: TextStyle | CaptionStyle,
    here: tuple[str | int, ...],
    font_files: Mapping[str, Path],
    base_dir: Path | None,
    extra_fonts: Sequence[Path],
) -> tuple[tuple[FontFace, ...] | None, list[Problem]]:
    """The style's font chain, or the problems with its fonts (each at its own field)."""
    italic = isinstance(style, TextStyle) and style.italic
    args = {"weight": style.weight, "italic": italic, "base_dir": base_dir, "extra_fonts": extra_fonts}
    problems: list[Problem] = []
    named = [(style.font, pointer(*here, "font"))]
    named += [(name, pointer(*here, "fallback", i)) for i, name in enumerate(style.fallback)]
    resolved: list[str] = []
    for name, where in named:
        font = str(font_files.get(name, name))
        try:
            resolve_face(font, **args)  # type: ignore[arg-type]
        except FontNotFoundError as exc:
            problems.append(Problem(where, str(exc), "font"))
        resolved.append(font)
    if problems:
        return None, problems
    return font_chain(resolved[0], resolved[1:], **args), []  # type: ignore[arg-type]


def _caption_texts(
    asset: CaptionAsset, here: tuple[str | int, ...], sources: Mapping[str, Source]
) -> Iterator[tuple[str, str]]:
    """(pointer, text) of every cue: given in the edit, or read from its subtitle file."""
    if asset.cues is not None:
        for i, cue in enumerate(asset.cues):
            yield pointer(*here, "cues", i, "text"), cue.text
            for w, word in enumerate(cue.words or []):
                yield pointer(*here, "cues", i, "words", w, "text"), word.text
    elif asset.src is not None and asset.src in sources:
        try:
            cues = load_cues(sources[asset.src].path)
        except CaptionFileError:
            return  # reported where the file is read
        yield pointer(*here, "src"), "".join(cue.text for cue in cues)


def text_problems(
    edit: Edit,
    sources: Mapping[str, Source] | None = None,
    *,
    base_dir: Path | None = None,
) -> list[Problem]:
    """Every font problem of the edit's text and captions, with pointers.

    ``sources`` are the edit's resolved files (font files named in ``timeline.fonts`` or in a
    style, subtitle files); without them only installed fonts are known.
    """
    sources = sources or {}
    font_files = {src: s.path for src, s in sources.items() if src.lower().endswith(FONT_SUFFIXES)}
    extra = [sources[f].path for f in edit.timeline.fonts if f in sources]
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()  # an override's problem the clip as written has too
    for t, track in enumerate(edit.timeline.tracks):
        for c, variant, key in (
            (c, variant, key) for c, clip in enumerate(track.clips) for key, variant in clip_variants(clip)
        ):
            asset = variant.asset
            if not isinstance(asset, TextAsset | CaptionAsset):
                continue
            clip_at: tuple[str | int, ...] = ("timeline", "tracks", t, "clips", c)
            here = (*clip_at, "asset") if key is None else (*clip_at, "overrides", key, "asset")
            for problem in _asset_problems(asset, here, sources, font_files, base_dir, extra):
                as_written = _as_written(problem.pointer, clip_at, key)
                if (problem.message, as_written) in seen:
                    continue
                seen.add((problem.message, as_written))
                if key is not None:  # point at what the override writes, not at a field it lacks
                    override = (track.clips[c].overrides or {})[key]
                    at = _written_part(
                        problem.pointer, (*clip_at, "overrides", key), override.model_dump(exclude_unset=True)
                    )
                    problem = Problem(at, problem.message, problem.code)
                problems.append(problem)
    return problems


def _written_part(at: str, prefix: tuple[str | int, ...], document: Mapping[str, object]) -> str:
    """The longest part of pointer ``at`` (below ``prefix``) that ``document`` has."""
    head = pointer(*prefix)
    steps = [p.replace("~1", "/").replace("~0", "~") for p in at[len(head) :].split("/")[1:]]
    kept: list[str | int] = []
    node: object = document
    for step in steps:
        if isinstance(node, Mapping) and step in node:
            node = node[step]
            kept.append(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
            kept.append(int(step))
        else:
            break
    return pointer(*prefix, *kept)


def _as_written(at: str, clip_at: tuple[str | int, ...], key: str | None) -> str:
    """An override variant's pointer as the clip's own (to tell its problems from the clip's)."""
    if key is None:
        return at
    return at.replace(pointer(*clip_at, "overrides", key), pointer(*clip_at), 1)


def _asset_problems(
    asset: TextAsset | CaptionAsset,
    here: tuple[str | int, ...],
    sources: Mapping[str, Source],
    font_files: Mapping[str, Path],
    base_dir: Path | None,
    extra: list[Path],
) -> list[Problem]:
    """The font problems of one text or caption asset at ``here``."""
    problems: list[Problem] = []
    chain, found = _chain(asset.style, (*here, "style"), font_files, base_dir, extra)
    problems += found
    if isinstance(asset, TextAsset):
        style = asset.style
        if style.hyphenate and style.language and hyphenation_language(style.language) is None:
            problems.append(
                Problem(
                    pointer(*here, "style", "language"),
                    f"no hyphenation dictionary for {style.language!r}; "
                    'set `hyphenate: false` or give a language such as "en", "fr" or "de"',
                )
            )
        texts: list[tuple[str, str]] = [(pointer(*here, "text"), asset.text)]
    else:
        texts = list(_caption_texts(asset, here, sources))
    if chain is None:
        return problems
    for where, text in texts:
        missing = uncovered(text, chain)
        if missing:
            problems.append(Problem(where, _missing(missing, chain), "glyph_missing"))
    return problems
