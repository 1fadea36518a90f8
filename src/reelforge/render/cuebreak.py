"""Words with times into caption cues: where one cue ends and the next begins.

Pure: a transcript's words go in, :class:`~reelforge.edit.models.Cue` objects with word timings
come out, so the existing word-highlight styles show the spoken word. A cue ends

* before a pause between words of at least ``pause`` seconds,
* after a sentence ends (``.``, ``?``, ``!``) once the cue has some words, and
* before a word that would make it longer than ``max_duration`` seconds, or wider than
  ``max_lines`` lines of ``max_chars`` characters (counted greedily, the way a reader sees them).

The defaults suit 9:16: short lines (``max_chars`` 18), at most two of them, short cues.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelforge.edit.models import Cue, CueBreaking, Word
from reelforge.edit.timing import parse_time

__all__ = ["break_cues", "lines_needed"]

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")


def _seconds(value: float | str) -> float:
    seconds = parse_time(value).seconds
    return float(seconds) if seconds is not None else 0.0


def lines_needed(words: Sequence[str], max_chars: int) -> int:
    """Lines a greedy wrap at spaces needs; a word longer than a line takes a line of its own."""
    lines, width = 0, 0
    for word in words:
        if lines and width + 1 + len(word) <= max_chars:
            width += 1 + len(word)
        else:
            lines, width = lines + 1, len(word)
    return lines


def break_cues(words: Sequence[Word], rules: CueBreaking) -> list[Cue]:
    """Group ``words`` (in time order) into cues following ``rules``."""
    cues: list[Cue] = []
    current: list[Word] = []

    def close() -> None:
        if current:
            cues.append(
                Cue(
                    start=current[0].start,
                    end=current[-1].end,
                    text=" ".join(w.text for w in current),
                    words=list(current),
                )
            )
            current.clear()

    for word in words:
        if not word.text.strip():
            continue
        if current:
            previous = current[-1]
            gap = _seconds(word.start) - _seconds(previous.end)
            too_long = _seconds(word.end) - _seconds(current[0].start) > rules.max_duration
            too_wide = lines_needed([w.text for w in [*current, word]], rules.max_chars) > rules.max_lines
            sentence_over = previous.text.rstrip().endswith(_SENTENCE_END) and len(current) >= rules.min_words
            if gap >= rules.pause or too_long or too_wide or sentence_over:
                close()
        current.append(word)
    close()
    return cues
