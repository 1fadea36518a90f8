"""Optional drivers, installed as extras: ``reelforge[postgres]`` (psycopg) and
``reelforge[redis]`` (redis). The embedded default (SQLite, limits in this process) needs neither,
so they are imported only when configured, and a missing one is reported in one line."""

from __future__ import annotations

import importlib

__all__ = ["MissingExtra", "check_settings", "require", "require_database_driver"]


class MissingExtra(RuntimeError):
    """A configured feature needs an extra that is not installed; the message says which."""


def require(module: str, extra: str, setting: str) -> None:
    """Import ``module`` or raise :class:`MissingExtra` naming the ``extra`` that provides it."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"error: {setting} needs the {module} driver, which is not installed: "
            f"pip install 'reelforge[{extra}]'"
        ) from None


def require_database_driver(url: str) -> None:
    """The driver of a PostgreSQL URL (``postgresql+psycopg://``) is importable."""
    from sqlalchemy.engine import make_url  # only where a database is configured: a quick CLI

    if make_url(url).get_driver_name() == "psycopg":
        require("psycopg", "postgres", "REELFORGE_DATABASE_URL (PostgreSQL)")


def check_settings(database_url: str | None, redis_url: str | None, queue: str = "inprocess") -> None:
    """Every driver the settings name is installed (called at start, before anything is made)."""
    if database_url:
        require_database_driver(database_url)
    if redis_url:
        require("redis", "redis", "REELFORGE_REDIS_URL")
    if queue == "celery":
        require("celery", "celery", "REELFORGE_QUEUE=celery")
