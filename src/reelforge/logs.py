"""Logging: one line per event on stdout, readable (``console``) or JSON lines (``json``).

Standard-library loggers (ours, uvicorn's, SQLAlchemy's) go through structlog's formatter, so
every line has the same keys: ``timestamp`` (UTC), ``level``, ``logger``, ``event`` and the
fields a call adds (``request_id``, ``status``, ``duration_ms``...).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson
import structlog

__all__ = ["ACCESS_LOGGER", "configure_logging"]

ACCESS_LOGGER = "reelforge.access"
"""The logger of the one line per request; its fields come as ``extra={"access": {...}}``."""


def configure_logging(fmt: str = "auto", level: int = logging.INFO) -> None:
    """``fmt``: ``console``, ``json``, or ``auto``: console on a terminal, JSON lines otherwise.

    Lines logged while handling a request or running a render carry the ids bound with
    structlog's context variables (``request_id``, ``workspace_id``, ``render_id``,
    ``batch_id``): the request middleware, authentication and the render job bind them."""
    if fmt == "auto":
        fmt = "console" if sys.stdout.isatty() else "json"
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_AccessLineFormatter(formatter, json_lines=fmt == "json"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


_QUOTED = frozenset(" \t=\r\n\"'")


def _console_value(value: object) -> str:
    # As structlog's console renderer shows a value, and any other control character quoted too:
    # a request's path must not start a line of its own or steer a terminal.
    if isinstance(value, str) and value.isprintable() and not (_QUOTED & set(value)):
        return value
    return repr(value)


class _AccessLineFormatter(logging.Formatter):
    """structlog's formatting, except for the request line, which is written for every request
    and costs as much through structlog's processor chain as answering a cached read. That line
    is formatted here directly, with the same keys and layout as every other line."""

    def __init__(self, fallback: logging.Formatter, *, json_lines: bool):
        super().__init__()
        self._fallback = fallback
        self._json = json_lines

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "access", None)
        if record.name != ACCESS_LOGGER or not isinstance(fields, dict) or record.exc_info:
            return self._fallback.format(record)
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z")
        level = record.levelname.lower()
        event = record.getMessage()
        if self._json:
            line = {"event": event, "level": level, "logger": record.name, **fields, "timestamp": stamp}
            try:
                return orjson.dumps(line).decode()
            except TypeError:  # a value orjson does not take (none of ours): as structlog would
                return self._fallback.format(record)
        pairs = " ".join(f"{key}={_console_value(fields[key])}" for key in sorted(fields))
        return f"{stamp} [{level:<9}] {event:<30} [{record.name}] {pairs}"
