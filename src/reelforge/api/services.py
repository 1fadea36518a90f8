"""What the app's routes share: settings, database, storage, secrets and the render queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reelforge.media.storage import LocalStorage
from reelforge.settings import Settings

from .credentials import ServerSecrets

__all__ = ["Services", "get_db", "get_services", "json_ready", "services_of"]


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: LocalStorage
    secrets: ServerSecrets
    worker: Any = None
    """The in-process render worker, when this process runs one."""
    credentials: Any = None
    """Recently verified credentials (:class:`reelforge.api.auth.CredentialCache`)."""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def audience(self) -> str:
        return self.settings.public_url.rstrip("/") + "/v1"


# Dependencies are ``async def`` when they do not block: FastAPI runs a sync dependency in its
# thread pool, and every such hop costs more than the work of a typical read.


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


async def get_db(request: Request) -> AsyncIterator[Session]:
    # Making a session does no I/O; it connects on first use, inside the (threaded) route.
    session = services_of(request).sessions()
    try:
        yield session
    finally:
        session.close()


_ANY = TypeAdapter(Any)


def json_ready(body: Any) -> Any:
    """``body`` with datetimes as RFC 3339 UTC ``…Z`` strings, as every response writes them
    (FastAPI does this for returned values; this is for responses built by hand)."""
    return _ANY.dump_python(body, mode="json")
