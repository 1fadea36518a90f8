"""What a failed render may show of the server: FFmpeg's last lines and the error's messages
name files by absolute path (``Error opening input file /srv/reelforge/storage/ws_…/ast_…/
original.mp4``) and objects by heap address (``[in#0 @ 0x5631…]``). Both describe the server,
not the edit: a path is shown as the asset id it came from or as a name relative to the
render's scratch directory (``work/graph.txt``, ``out/video.mp4``), any other absolute path
(a system font, the data directory) as its last part, and addresses not at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["PathRedactor"]

_ADDRESS = re.compile(r" @ 0x[0-9a-fA-F]+")
# What may follow a blank inside a path: words and slashes, up to the next delimiter.
_PATH_WORDS = re.compile(r"[^\s'\"`()\[\]{}<>|,;]+")
#: Blanks looked past, within one name of a path, for the rest of the name.
_MAX_BLANKS_IN_A_NAME = 8
# What FFmpeg's filter argument syntax escapes with a backslash.
_FILTER_ESCAPE = re.compile(r"[ :,;'\[\]\\]")
# An absolute POSIX path not preceded by a word character, a dot, a slash or a colon (so "1/30",
# "a/b" and URLs are left alone); it runs to the next quote, blank or bracket (or, see
# _continued, past a blank when the longer path exists).
_ABSOLUTE = re.compile(r"(?<![\w./:\\-])/(?:[^\s'\"`/()\[\]{}<>|,;]+/)*[^\s'\"`/()\[\]{}<>|,;]*")


class PathRedactor:
    """Rewrites strings so no absolute path or heap address of the server is left in them.

    ``known``: absolute paths (files or directories) and what to show instead; longer ones win,
    and a directory's files keep their names below it (``<dir>/graph.txt`` -> ``work/graph.txt``
    for ``{<dir>: "work"}``; an empty replacement drops the directory)."""

    def __init__(self, known: Mapping[str | os.PathLike[str], str]):
        pairs: dict[str, str] = {}
        for path, shown in known.items():
            text = os.fspath(path)
            real = os.path.realpath(text)
            for form in (text, real):  # FFmpeg may print the path it was given, or resolved
                pairs.setdefault(form, shown)
                # ... or as written in a filter argument, its blanks and colons escaped.
                pairs.setdefault(_FILTER_ESCAPE.sub(r"\\\g<0>", form), shown)
        self._known = sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)

    def known(self, value: str) -> str:
        """``value`` with the known paths replaced and heap addresses dropped."""
        for path, shown in self._known:
            if not path or path == "/":
                continue
            value = value.replace(path + "/", f"{shown}/" if shown else "")
            value = value.replace(path, shown)
        return _ADDRESS.sub("", value)

    def message(self, value: str) -> str:
        """A message of ours: the known paths replaced, then any other absolute path that starts
        in a top-level directory of this machine (``/usr/…``, ``/srv/…``) shown as its last part.
        A JSON pointer (``/timeline/tracks/0``) names no such directory and is left alone."""
        return _absolute_paths(self.known(value), _server_path_last_part)

    def log_line(self, value: str) -> str:
        """A line FFmpeg wrote: the known paths replaced, then any other absolute path shown as
        its last part (FFmpeg's lines hold no JSON pointers)."""
        return _absolute_paths(self.known(value), _last_part)

    def error(self, error: dict[str, Any]) -> dict[str, Any]:
        """A render's ``error`` as it may be shown: ``log_tail`` lines redacted, the messages
        (its own and its problems') as :meth:`message` shows them; ``pointer`` as it is."""
        shown = dict(error)
        if isinstance(shown.get("message"), str):
            shown["message"] = self.message(shown["message"])
        if shown.get("log_tail"):
            shown["log_tail"] = [self.log_line(str(line)) for line in shown["log_tail"]]
        if shown.get("problems"):
            shown["problems"] = [
                {**p, "message": self.message(p["message"])} if isinstance(p.get("message"), str) else p
                for p in shown["problems"]
            ]
        return shown


def _absolute_paths(value: str, shown_as: Callable[[str], str]) -> str:
    """``value`` with each absolute path replaced by ``shown_as(path)``. A path runs to the next
    blank, unless the words after the blank continue a directory that exists here (``/srv/my
    data/x.mp4`` is one path when ``/srv/my data`` exists), so no part of it is left behind."""
    parts: list[str] = []
    at = 0
    for match in _ABSOLUTE.finditer(value):
        if match.start() < at:
            continue  # inside a path already taken whole
        end = _continued(value, match.group(0), match.end())
        parts += [value[at : match.start()], shown_as(value[match.start() : end])]
        at = end
    parts.append(value[at:])
    return "".join(parts)


def _continued(value: str, path: str, end: int) -> int:
    """Where the path ``path`` ending at ``end`` in ``value`` really ends: the words after a
    blank belong to it when, up to their first slash, they name an entry that exists here."""
    while True:
        taken: tuple[str, int] | None = None
        candidate, probe = path, end
        for _ in range(_MAX_BLANKS_IN_A_NAME):
            if probe >= len(value) or value[probe] != " ":
                break
            more = _PATH_WORDS.match(value, probe + 1)
            if more is None:
                break
            word = more.group(0)
            if "/" in word:
                if os.path.lexists(f"{candidate} {word[: word.index('/')]}"):
                    taken = (f"{candidate} {word}", more.end())
                break
            candidate, probe = f"{candidate} {word}", more.end()
            if os.path.lexists(candidate):
                taken = (candidate, probe)
        if taken is None:
            return end
        path, end = taken


def _last_part(path: str) -> str:
    if path == "/":
        return path
    return Path(path).name or "…"


def _server_path_last_part(path: str) -> str:
    top = path[1:].split("/", 1)[0]
    if "/" not in path[1:] or not top or not os.path.isdir("/" + top):
        return path
    return _last_part(path)
