"""Destinations of a workspace (where render outputs are delivered) and the deliveries of a
render's files: list, read, deliver again.

Credentials are sent once (on create or update), stored encrypted, and never shown again.
Destinations are outbound integrations like webhook endpoints and use the same scopes
(``webhooks:read`` / ``webhooks:write``); a render's deliveries are read with ``renders:read``
and sent again with ``renders:write``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field

from reelforge.db.delivery import Destination, OutputDelivery
from reelforge.delivery.records import delivery_json, destination_json
from reelforge.services import deliveries, destinations
from reelforge.services.inputs import InputModel

from .. import examples_destinations as exd
from ..audit import audit_actor
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..idempotency import Idempotency, idempotency
from ..pagination import list_body, page

__all__ = ["router"]

router = APIRouter(tags=["destinations"])

BASE = destinations.BASE
ONE = BASE + "/{destination_id}"
DELIVERIES = "/v1/renders/{render_id}/deliveries"


class DestinationCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["folder", "s3", "http", "sftp"]
    config: dict[str, Any] = Field(default_factory=dict)
    """By kind: folder `path`; s3 `bucket`, `prefix`, `region`, `endpoint_url`, `path_style`;
    http `url`, `method` (PUT or POST); sftp `host`, `port`, `username`, `path`, `host_key`.
    Every kind: `name_template`."""
    credentials: dict[str, Any] | None = None
    """By kind: s3 `access_key_id`, `secret_access_key`, `session_token`; http `secret`
    (default: one is made and shown once); sftp `password` or `private_key`. Never shown again."""
    auto: bool = False
    enabled: bool = True


class DestinationUpdate(InputModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = None
    auto: bool | None = None
    enabled: bool | None = None


@router.post(
    BASE,
    status_code=201,
    summary="Create a destination",
    responses=exd.CREATE_RESPONSES,
)
def create_destination(
    body: Annotated[DestinationCreate, Body(openapi_examples=exd.CREATE_BODY)],
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("webhooks:write")),
    idem: Idempotency = Depends(idempotency),
) -> dict[str, Any]:
    """Where a render's files go once it succeeds: named on the render request
    (`destinations`), or every render's with `auto`. An HTTP destination without a `secret`
    gets one, shown in this response only."""
    row, secret = destinations.create_destination(
        db,
        services,
        principal.workspace_id,
        name=body.name,
        kind=body.kind,
        config=body.config,
        credentials=body.credentials,
        auto=body.auto,
        enabled=body.enabled,
        actor=audit_actor(principal, request),
    )
    response.headers["Location"] = f"{services.settings.public_url.rstrip('/')}{BASE}/{row.id}"
    created = {**destination_json(row), **({"secret": secret} if secret else {})}
    idem.stage(db, created, status=201, headers=response.headers, secret=secret is not None)
    db.commit()
    return created


@router.get(BASE, summary="List destinations, newest first", responses=exd.LIST_RESPONSES)
def list_destinations(
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    kind: Literal["folder", "s3", "http", "sftp"] | None = None,
    principal: Principal = Depends(require("webhooks:read")),
) -> dict[str, Any]:
    rows, nxt = page(
        request,
        response,
        destinations.destinations_query(principal.workspace_id, kind),
        Destination,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"list": "destinations", "kind": kind},
        db=db,
    )
    return list_body(request, [destination_json(r) for r in rows], nxt)


@router.get(ONE, summary="Get a destination", responses=exd.GET_RESPONSES)
def get_destination(
    destination_id: str, db: SessionDep, principal: Principal = Depends(require("webhooks:read"))
) -> dict[str, Any]:
    return destination_json(destinations.destination(db, principal.workspace_id, destination_id))


@router.patch(ONE, summary="Change a destination", responses=exd.UPDATE_RESPONSES)
def update_destination(
    destination_id: str,
    body: Annotated[DestinationUpdate, Body(openapi_examples=exd.UPDATE_BODY)],
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    principal: Principal = Depends(require("webhooks:write")),
) -> dict[str, Any]:
    """Members left out keep their value; `config` and `credentials` are replaced whole."""
    row = destinations.update_destination(
        db,
        services,
        principal.workspace_id,
        destination_id,
        name=body.name,
        config=body.config,
        credentials=body.credentials,
        auto=body.auto,
        enabled=body.enabled,
        actor=audit_actor(principal, request),
    )
    db.commit()
    db.refresh(row)
    return destination_json(row)


@router.delete(
    ONE,
    status_code=204,
    summary="Delete a destination and its delivery log",
    responses=exd.DELETE_RESPONSES,
)
def delete_destination(
    destination_id: str,
    db: SessionDep,
    request: Request,
    principal: Principal = Depends(require("webhooks:write")),
) -> Response:
    destinations.delete_destination(
        db, principal.workspace_id, destination_id, audit_actor(principal, request)
    )
    db.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- a render's deliveries


@router.get(
    DELIVERIES,
    summary="List a render's deliveries, newest first",
    responses=exd.LIST_DELIVERIES_RESPONSES,
)
def list_deliveries(
    render_id: str,
    db: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    state: Literal["pending", "sending", "succeeded", "failed"] | None = None,
    principal: Principal = Depends(require("renders:read")),
) -> dict[str, Any]:
    rows, nxt = page(
        request,
        response,
        deliveries.deliveries_query(db, principal.workspace_id, render_id, state),
        OutputDelivery,
        key=services.secrets.cursor_key,
        limit=limit,
        cursor=cursor,
        filters={"list": "deliveries", "render": render_id, "state": state},
        db=db,
    )
    return list_body(request, [delivery_json(r) for r in rows], nxt)


@router.get(DELIVERIES + "/{delivery_id}", summary="Get a delivery", responses=exd.GET_DELIVERY_RESPONSES)
def get_delivery(
    render_id: str, delivery_id: str, db: SessionDep, principal: Principal = Depends(require("renders:read"))
) -> dict[str, Any]:
    return delivery_json(deliveries.delivery(db, principal.workspace_id, render_id, delivery_id))


@router.post(
    DELIVERIES + "/{delivery_id}/redeliver",
    status_code=202,
    summary="Deliver a file again",
    responses=exd.REDELIVER_RESPONSES,
)
def redeliver(
    render_id: str,
    delivery_id: str,
    db: SessionDep,
    services: ServicesDep,
    principal: Principal = Depends(require("renders:write")),
) -> dict[str, Any]:
    """A failed delivery (or one whose file was removed at the destination) is sent again now;
    409 while it is still being tried."""
    row = deliveries.redeliver(db, principal.workspace_id, render_id, delivery_id)
    body = delivery_json(row)
    db.commit()
    deliveries.wake(services)
    return body
