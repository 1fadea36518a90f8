"""Binding and running the HTTP server for ``reelforge serve``.

The socket is bound before anything else happens, so a busy port is reported in one line
before a database is made or a first admin key is printed, and the URL printed at start is the
one actually listened on (also with ``--port 0``).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

__all__ = ["CannotListen", "listen", "run", "transport_config", "url_of"]


class CannotListen(Exception):
    """The address cannot be listened on; the message is one line for the user."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        # As uvicorn does: a restart is not refused because of connections in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _free_port_after(host: str, port: int) -> int | None:
    for candidate in range(port + 1, min(port + 50, 65536)):
        try:
            _bind(host, candidate).close()
        except OSError:
            continue
        return candidate
    return None


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening; :class:`CannotListen` when it cannot be."""
    try:
        sock = _bind(host, port)
    except OSError as exc:
        where = _address(host, port)
        if exc.errno == errno.EADDRINUSE:
            free = _free_port_after(host, port)
            hint = f"; try --port {free} (or PORT={free} make run)" if free else ""
            raise CannotListen(f"error: {where} is in use{hint}") from None
        raise CannotListen(f"error: cannot listen on {where}: {exc.strerror or exc}") from None
    # Listening now, not when the server loop starts: a client connecting early waits in the
    # backlog instead of being refused.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, tls: bool = False) -> str:
    """``http://host:port`` (``https://`` with ``tls``) of a bound socket (the port the system
    chose for port 0)."""
    host, port = sock.getsockname()[:2]
    return f"{'https' if tls else 'http'}://{_address(host, port)}"


def transport_config(
    trusted_proxies: list[str], tls_cert: Path | None = None, tls_key: Path | None = None
) -> dict[str, Any]:
    """uvicorn's settings for TLS and proxies: ``X-Forwarded-For``/``-Proto`` are believed only
    from ``trusted_proxies`` (uvicorn would otherwise trust 127.0.0.1 by default)."""
    config: dict[str, Any] = {
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": ",".join(trusted_proxies) if trusted_proxies else "",
    }
    if tls_cert is not None and tls_key is not None:
        config.update(ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key))
    return config


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


def run(app: Any, sock: socket.socket, on_started: Callable[[], None], **config: Any) -> None:
    """Serve ``app`` on the listening ``sock``; ``on_started`` runs once requests are accepted."""
    host, port = sock.getsockname()[:2]
    _Server(uvicorn.Config(app, host=host, port=port, **config), on_started).run(sockets=[sock])
