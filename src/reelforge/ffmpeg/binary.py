"""Locating the FFmpeg binary and the arguments every invocation shares."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

#: Environment variable naming an FFmpeg binary (a path, or a name looked up on PATH)
#: to use instead of the one bundled in the ``imageio-ffmpeg`` wheel.
FFMPEG_ENV = "REELFORGE_FFMPEG"

#: Protocols an input may use. Edits come from users, so an input must never be able to
#: make FFmpeg reach the network (http, tcp, rtmp...) or splice files (concat:, subfile:).
#: Note that stdin (``-i -``) is the ``fd`` protocol in FFmpeg 9, not ``pipe``.
INPUT_PROTOCOLS = "file"

#: The largest picture side accepted from any source, and the pixels of such a square. Every
#: input is opened with ``-max_pixels MAX_PIXELS``, so no decoder allocates a bigger frame,
#: whatever a file declares (a backstop: sources are checked before they get here).
MAX_SIDE = 8192
MAX_PIXELS = MAX_SIDE * MAX_SIDE
#: The largest side of the PNG an uploaded SVG is drawn into (its aspect ratio kept).
RASTER_SIDE = 2048


@functools.cache
def _bundled_exe() -> str:
    # Imported lazily: it probes the filesystem, and the env override may make it unnecessary.
    import imageio_ffmpeg

    # imageio-ffmpeg runs `ffmpeg -version` to check the binary its wheel ships before naming
    # it: a whole FFmpeg start on every command, before the real one. The shipped binary, an
    # executable file, is taken as it is; its full search (IMAGEIO_FFMPEG_EXE, conda, PATH)
    # runs only when it is missing.
    if not os.environ.get("IMAGEIO_FFMPEG_EXE"):
        try:
            from imageio_ffmpeg._definitions import FNAME_PER_PLATFORM, get_platform

            shipped = Path(imageio_ffmpeg.__file__).parent / "binaries" / FNAME_PER_PLATFORM[get_platform()]
        except (ImportError, AttributeError, KeyError, TypeError):
            shipped = None
        if shipped is not None and shipped.is_file() and os.access(shipped, os.X_OK):
            return str(shipped)
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_exe() -> str:
    """Return the FFmpeg executable: ``$REELFORGE_FFMPEG`` if set, else the bundled binary.

    The environment is read on every call (so tests and services can switch binaries);
    only the bundled-binary lookup is cached.
    """
    override = os.environ.get(FFMPEG_ENV, "").strip()
    if override:
        found = shutil.which(override)
        if found is None:
            raise FileNotFoundError(f"{FFMPEG_ENV}={override!r} is not an executable file")
        return found
    return _bundled_exe()


def base_args() -> list[str]:
    """Global options for every run; callers put these first, before any input.

    ``-loglevel error`` keeps stderr to the lines that explain a failure (the runner keeps
    their tail); the runner itself adds ``-nostats -progress pipe:1``. ``-abort_on
    empty_output`` turns "Output file is empty, nothing was encoded", which FFmpeg otherwise
    treats as success, into a failure.
    """
    return ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-abort_on", "empty_output"]


RENDER_LOGLEVEL = "level+info"
"""The log level of a render's FFmpeg run: its inputs, streams, outputs and statistics for the
render's log, each line tagged with its level (``[info]``, ``[error]``) so the runner keeps the
lines that explain a failure apart (see :func:`reelforge.ffmpeg.runner.run_ffmpeg`)."""


def render_args() -> list[str]:
    """:func:`base_args` for a render's own run: the same, logging at :data:`RENDER_LOGLEVEL`."""
    args = base_args()
    args[args.index("-loglevel") + 1] = RENDER_LOGLEVEL
    return args


def input_args(path: str | os.PathLike[str], *, options: Sequence[str] = ()) -> list[str]:
    """Arguments for one input, restricted to local files.

    ``-protocol_whitelist`` is a per-input option, so it is repeated for each input;
    ``options`` (e.g. ``["-ss", "2", "-t", "5"]``) go between it and ``-i``. A
    :class:`~os.PathLike` is a local file by construction: a relative one whose name
    contains ``:`` gets a ``./`` prefix so FFmpeg does not parse ``clip:1.mp4`` as a
    protocol. A ``str`` is passed verbatim, so a URL such as ``http://...`` or
    ``concat:a|b`` reaches FFmpeg and is refused by the whitelist. ``-max_pixels`` bounds
    the frames its decoder may allocate (:data:`MAX_PIXELS`).
    """
    if isinstance(path, str):
        arg = path
    else:
        arg = os.fspath(path)
        if ":" in arg and not os.path.isabs(arg):
            arg = "./" + arg
    return ["-protocol_whitelist", INPUT_PROTOCOLS, "-max_pixels", str(MAX_PIXELS), *options, "-i", arg]
