"""FastAPI dependencies every router uses, with ``Annotated`` aliases (as in FastAPI's
full-stack template): ``ServicesDep`` (the process's shared resources) and ``SessionDep`` (a
database session closed after the response). Credentials are dependencies too:
``reelforge.api.auth.require(scope)`` gives the caller's principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from reelforge.services.context import Services

__all__ = ["ServicesDep", "SessionDep", "get_db", "get_services", "services_of"]


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


ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_db)]
