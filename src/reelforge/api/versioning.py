"""HTTP for versioned resources (:mod:`reelforge.services.versioning`): the ETag on answers,
``If-None-Match`` and its 304s, and the pages of lists.

The services own the resources' descriptions (``PROJECTS``, ``TEMPLATES``, ``KITS``) and every
change; the routers pass them ``If-Match`` and represent the result with these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from reelforge.services import versioning as service
from reelforge.services.versioning import Content, etag

from .pagination import list_body, page, page_by_number

__all__ = ["etag", "list_current", "list_versions", "none_match", "not_modified", "respond"]


def none_match(request: Request, current: int) -> bool:
    """Whether ``If-None-Match`` matches number ``current`` (the GET answers 304)."""
    return service.none_match(request.headers.get("if-none-match"), current)


def respond(
    versioned: service.Versioned[Any, Any], response: Response, row: Any, content: Content
) -> dict[str, Any]:
    """The resource as shown, with its ETag on ``response``."""
    response.headers["ETag"] = etag(versioned.number(row))
    return versioned.show(row, content)


def not_modified(versioned: service.Versioned[Any, Any], request: Request, row: Any) -> Response | None:
    """304 when ``If-None-Match`` names the current ETag."""
    if none_match(request, versioned.number(row)):
        return Response(status_code=304, headers={"ETag": etag(versioned.number(row))})
    return None


def list_current(
    versioned: service.Versioned[Any, Any],
    request: Request,
    response: Response,
    db: Session,
    workspace_id: str,
    *,
    key: bytes,
    limit: int,
    cursor: str | None,
    filters: Mapping[str, Any],
    name: str | None = None,
) -> dict[str, Any]:
    """A page of the workspace's resources, newest first, each with its current content."""
    table: Any = versioned.row
    rows, nxt = page(
        request,
        response,
        versioned.list_query(workspace_id, name),
        table,
        key=key,
        limit=limit,
        cursor=cursor,
        filters=filters,
        db=db,
    )
    return list_body(request, versioned.shown(db, rows), nxt)


def list_versions(
    versioned: service.Versioned[Any, Any],
    request: Request,
    response: Response,
    db: Session,
    row: Any,
    *,
    key: bytes,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the row's versions, newest first (keyset on the number: numbers are the
    history's true order)."""
    versions: Any = versioned.versions
    query, filters = versioned.versions_query(row)
    rows, next_cursor = page_by_number(
        request,
        response,
        query,
        versions.number,
        stamp=versions.created_at,
        key=key,
        limit=limit,
        cursor=cursor,
        filters=filters,
        db=db,
    )
    return list_body(request, [versioned.show_version(v) for v in rows], next_cursor)
