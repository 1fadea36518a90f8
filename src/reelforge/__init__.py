"""Reelforge: JSON edits rendered by FFmpeg, as a library, a CLI and a service."""

__version__ = "0.1.0"
