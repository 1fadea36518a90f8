"""HTTP for versioned resources (:mod:`reelforge.services.versioning`): the ``If-Match`` and
``If-None-Match`` headers, the ETag on answers and 304s, and the pages of lists.

:class:`Versioned` is the service's resource description with the request-taking methods the
routers of templates and brand kits call; the logic stays in the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic

from fastapi import Request, Response
from sqlalchemy.orm import Session

from reelforge.services import versioning as service
from reelforge.services.versioning import (
    STAR_RETRIES,
    Change,
    Content,
    Row,
    VersionRow,
    entity_tags,
    etag,
    name_contains,
    stale,
)

from .idempotency import Idempotency
from .pagination import list_body, page, page_by_number

__all__ = [
    "STAR_RETRIES",
    "Change",
    "Precondition",
    "Versioned",
    "entity_tags",
    "etag",
    "name_contains",
    "none_match",
    "stale",
]


class Precondition(service.Precondition):
    """The service's precondition, read from the request's ``If-Match``."""

    def __init__(self, request: Request, current: int, *, required: bool, what: str, unit: str):
        super().__init__(request.headers.get("if-match"), current, required=required, what=what, unit=unit)


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


class Versioned(service.Versioned[Row, VersionRow], Generic[Row, VersionRow]):
    """The service's resource with the request-taking methods routers call."""

    def respond(self, response: Response, row: Row, content: Content) -> dict[str, Any]:
        return respond(self, response, row, content)

    def not_modified(self, request: Request, row: Row) -> Response | None:
        return not_modified(self, request, row)

    def list_current(
        self,
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
        return list_current(
            self,
            request,
            response,
            db,
            workspace_id,
            key=key,
            limit=limit,
            cursor=cursor,
            filters=filters,
            name=name,
        )

    def list_versions(
        self,
        request: Request,
        response: Response,
        db: Session,
        row: Row,
        *,
        key: bytes,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        return list_versions(self, request, response, db, row, key=key, limit=limit, cursor=cursor)

    def change(
        self,
        request: Request,
        db: Session,
        workspace_id: str,
        row_id: str,
        make: Callable[[Row, VersionRow], Change],
    ) -> tuple[Row, Content]:
        return self.update(db, workspace_id, row_id, make, if_match=request.headers.get("if-match"))

    def restore(
        self,
        request: Request,
        db: Session,
        idem: Idempotency,
        workspace_id: str,
        row_id: str,
        number: int,
        message: str | None,
        check: Callable[[Content], None],
    ) -> tuple[Row, Content]:
        return self.restore_version(
            db,
            workspace_id,
            row_id,
            number,
            message,
            check,
            if_match=request.headers.get("if-match"),
            stager=idem,
        )

    def delete(self, request: Request, db: Session, row: Row) -> None:
        self.remove(db, row, if_match=request.headers.get("if-match"))
