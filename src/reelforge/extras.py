"""What extras are installed. ``pip install reelforge`` is the light install (the SDK and the
commands against a server); ``reelforge[server]`` adds the engine and the service, and a command
that needs them says so in one line (:func:`server_missing`). Optional drivers are extras too:
``reelforge[postgres]`` (psycopg) and ``reelforge[redis]`` (redis). The embedded default (SQLite,
limits in this process) needs neither, so they are imported only when configured, and a missing
one is reported in one line."""

from __future__ import annotations

import importlib

__all__ = [
    "SERVER_MODULES",
    "MissingExtra",
    "check_settings",
    "require",
    "require_database_driver",
    "server_missing",
]


class MissingExtra(RuntimeError):
    """A configured feature needs an extra that is not installed; the message says which."""


# The top-level modules of the `server` extra's packages (tests/test_client_install.py checks the
# list against the built wheel's metadata): one of them missing means a light install.
SERVER_MODULES = frozenset(
    {
        "PIL",
        "alembic",
        "argon2",
        "authlib",
        "av",
        "babel",
        "boto3",
        "botocore",
        "cryptography",
        "cv2",
        "fastapi",
        "fastapi_offline",
        "fontTools",
        "imageio_ffmpeg",
        "jinja2",
        "jsonpatch",
        "jwt",
        "multipart",
        "numpy",
        "orjson",
        "paramiko",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pyphen",
        "pysubs2",
        "python_multipart",
        "re2",
        "sqlalchemy",
        "sse_starlette",
        "starlette",
        "structlog",
        "ulid",
        "uniseg",
        "uvicorn",
        "webcolors",
    }
)


def server_missing(exc: ModuleNotFoundError) -> str | None:
    """The one-line advice for a command that needs the server's packages on a light install, or
    None when ``exc`` is about something else (a bug, which keeps its traceback)."""
    top = (exc.name or "").partition(".")[0]
    if top not in SERVER_MODULES:
        return None
    return (
        f"error: this command runs here and needs the engine and the service ({top} is not installed): "
        "pip install 'reelforge[server]'. The commands against a server work without them: "
        "reelforge --server URL --token KEY renders|assets|templates|batches|events ..."
    )


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
