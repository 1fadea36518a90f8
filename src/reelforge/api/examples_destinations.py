"""OpenAPI examples for destinations, a render's deliveries and pinned assets.

The values have the shapes the service answers with (``tests/test_delivery.py`` sends every
request example to a running service and compares the answers' members with these)."""

from __future__ import annotations

from typing import Any

from . import examples as ex
from .problems import CATALOGUE, PROBLEM_BASE
from .schemas.destinations import (
    AssetRetentionOut,
    DeliveryList,
    DeliveryOut,
    DestinationCreated,
    DestinationList,
    DestinationOut,
)

DESTINATION_ID = "dst_01kbz7m2f8c4q9x3v6n1t5r0wd"
RENDER_ID = "rnd_01kbz7p0a1b2c3d4e5f6g7h8j9"
ASSET_ID = "ast_01kbz7q9w8v7t6s5r4q3p2n1m0"
DELIVERY_ID = "odl_01kbz7r5k4j3h2g1f0e9d8c7b6"
_AT = "2026-12-07T09:00:00Z"

S3_CREATE: dict[str, Any] = {
    "name": "campaign bucket",
    "kind": "s3",
    "config": {
        "bucket": "acme-videos",
        "prefix": "spring/",
        "region": "eu-central-1",
        "name_template": "{template}-{row}-{locale}-{aspect}.{ext}",
    },
    "credentials": {"access_key_id": "AKIAEXAMPLE7Q2", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"},
}
HTTP_CREATE: dict[str, Any] = {
    "name": "CMS media inbox",
    "kind": "http",
    "config": {"url": "https://cms.example.com/media/{name}", "method": "PUT"},
    "auto": True,
}
SFTP_CREATE: dict[str, Any] = {
    "name": "broadcaster SFTP",
    "kind": "sftp",
    "config": {
        "host": "sftp.example.com",
        "port": 22,
        "username": "acme",
        "path": "/incoming/reelforge",
        "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    },
    "credentials": {"password": "correct horse battery staple"},
}
S3_CREATED: dict[str, Any] = {
    "id": DESTINATION_ID,
    "object": "destination",
    "name": "campaign bucket",
    "kind": "s3",
    "config": S3_CREATE["config"],
    "has_credentials": True,
    "auto": False,
    "enabled": True,
    "created_at": _AT,
    "updated_at": _AT,
}
HTTP_CREATED: dict[str, Any] = {
    **S3_CREATED,
    "id": "dst_01kbz7m9hh2k4n6q8s0u2w4y6a",
    "name": "CMS media inbox",
    "kind": "http",
    "config": HTTP_CREATE["config"],
    "auto": True,
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
SFTP_CREATED: dict[str, Any] = {
    **S3_CREATED,
    "id": "dst_01kbz7mc3e5g7j9l1n3p5r7t9v",
    "name": "broadcaster SFTP",
    "kind": "sftp",
    "config": SFTP_CREATE["config"],
}
DESTINATION_UPDATE: dict[str, Any] = {"enabled": False}
DESTINATION_UPDATED: dict[str, Any] = {**S3_CREATED, "enabled": False, "updated_at": "2026-12-07T09:05:00Z"}
DESTINATION_LIST: dict[str, Any] = {
    "object": "list",
    "data": [S3_CREATED],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/destinations",
}
DELIVERY: dict[str, Any] = {
    "id": DELIVERY_ID,
    "object": "delivery",
    "render_id": RENDER_ID,
    "destination_id": DESTINATION_ID,
    "asset_id": ASSET_ID,
    "output": 0,
    "role": "output",
    "file_name": "promo-1920x1080.mp4",
    "state": "succeeded",
    "attempts": 1,
    "location": "s3://acme-videos/spring/tpl_01kbz6x-3-fr-16x9.mp4",
    "created_at": _AT,
    "updated_at": "2026-12-07T09:00:02Z",
    "delivered_at": "2026-12-07T09:00:02Z",
}
DELIVERY_PENDING: dict[str, Any] = {
    **{k: v for k, v in DELIVERY.items() if k not in ("location", "delivered_at")},
    "state": "pending",
    "attempts": 0,
    "next_attempt_at": "2026-12-07T10:00:00Z",
    "updated_at": "2026-12-07T10:00:00Z",
}
DELIVERY_LIST: dict[str, Any] = {
    "object": "list",
    "data": [DELIVERY],
    "has_more": False,
    "next_cursor": None,
    "url": f"/v1/renders/{RENDER_ID}/deliveries",
}
PINNED: dict[str, Any] = {"object": "asset_retention", "asset_id": ASSET_ID, "pinned": True}
UNPINNED: dict[str, Any] = {**PINNED, "pinned": False}


def _problem(code: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    status, title = CATALOGUE[code]
    return {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": "req_01kbz7t3d2c1b0a9z8y7x6w5v4",
        **extra,
    }


def _scope(scope: str, instance: str) -> ex.Named:
    return (
        f"a credential without `{scope}`",
        _problem("insufficient-scope", f"this needs the `{scope}` scope", instance, required_scope=scope),
    )


def _missing(what: str, detail: str, instance: str) -> ex.Named:
    return (f"no such {what} in this workspace", _problem("not-found", detail, instance))


_ONE = f"/v1/destinations/{DESTINATION_ID}"
_DELIVERIES = f"/v1/renders/{RENDER_ID}/deliveries"
_NO_DESTINATION = _missing("destination", f"no destination {DESTINATION_ID}", _ONE)
_NO_RENDER = _missing("render", f"no render {RENDER_ID}", _DELIVERIES)
_NO_DELIVERY = _missing(
    "delivery", f"no delivery {DELIVERY_ID} of render {RENDER_ID}", f"{_DELIVERIES}/{DELIVERY_ID}"
)
_NO_ASSET = _missing("asset", f"no asset {ASSET_ID}", f"/v1/assets/{ASSET_ID}/pin")
ERROR_PATH_OUTSIDE: dict[str, Any] = _problem(
    "validation-error",
    "the path must be relative to the delivery root, without `..`",
    "/v1/destinations",
    errors=[
        {
            "pointer": "#/config/path",
            "code": "invalid",
            "detail": "the path must be relative to the delivery root, without `..`",
        }
    ],
)
ERROR_REDELIVER_BUSY: dict[str, Any] = _problem(
    "conflict",
    f"delivery {DELIVERY_ID} is pending; it is already being delivered",
    f"{_DELIVERIES}/{DELIVERY_ID}/redeliver",
)


def _ok(
    description: str, examples: dict[str, Any], model: Any, *problems: ex.Named, status: int = 200
) -> dict[int | str, dict[str, Any]]:
    return ex.responses({status: ex.success(description, examples, model=model)}, *ex.AUTH, *problems)


CREATE_BODY = ex.body(
    {"an S3 bucket": S3_CREATE, "a CMS over HTTP": HTTP_CREATE, "an SFTP server": SFTP_CREATE}
)
CREATE_RESPONSES = _ok(
    "The destination; an HTTP destination created without a `secret` shows the one made for it, in this response only.",
    {"an S3 bucket": S3_CREATED, "a CMS over HTTP": HTTP_CREATED, "an SFTP server": SFTP_CREATED},
    DestinationCreated,
    _scope("webhooks:write", "/v1/destinations"),
    ("a folder path leading out of the delivery root", ERROR_PATH_OUTSIDE),
    status=201,
)
LIST_RESPONSES = _ok(
    "A page of destinations.",
    {"destinations": DESTINATION_LIST},
    DestinationList,
    _scope("webhooks:read", "/v1/destinations"),
)
GET_RESPONSES = _ok(
    "The destination (never its credentials).",
    {"an S3 bucket": S3_CREATED},
    DestinationOut,
    _scope("webhooks:read", _ONE),
    _NO_DESTINATION,
)
UPDATE_BODY = ex.body({"disable it": DESTINATION_UPDATE})
UPDATE_RESPONSES = _ok(
    "The destination.",
    {"disable it": DESTINATION_UPDATED},
    DestinationOut,
    _scope("webhooks:write", _ONE),
    _NO_DESTINATION,
)
DELETE_RESPONSES = ex.responses(
    {204: {"description": "Deleted, with its delivery log."}},
    *ex.AUTH,
    _scope("webhooks:write", _ONE),
    _NO_DESTINATION,
)
LIST_DELIVERIES_RESPONSES = _ok(
    "A page of the render's deliveries.",
    {"deliveries": DELIVERY_LIST},
    DeliveryList,
    _scope("renders:read", _DELIVERIES),
    _NO_RENDER,
)
GET_DELIVERY_RESPONSES = _ok(
    "The delivery.",
    {"delivered": DELIVERY},
    DeliveryOut,
    _scope("renders:read", f"{_DELIVERIES}/{DELIVERY_ID}"),
    _NO_DELIVERY,
)
REDELIVER_RESPONSES = _ok(
    "The delivery, due again now.",
    {"due again": DELIVERY_PENDING},
    DeliveryOut,
    _scope("renders:write", f"{_DELIVERIES}/{DELIVERY_ID}/redeliver"),
    _NO_DELIVERY,
    ("the delivery is still being tried", ERROR_REDELIVER_BUSY),
    status=202,
)
PIN_RESPONSES = _ok(
    "The asset's retention state.",
    {"pinned": PINNED},
    AssetRetentionOut,
    _scope("assets:write", f"/v1/assets/{ASSET_ID}/pin"),
    _NO_ASSET,
)
UNPIN_RESPONSES = _ok(
    "The asset's retention state.",
    {"unpinned": UNPINNED},
    AssetRetentionOut,
    _scope("assets:write", f"/v1/assets/{ASSET_ID}/pin"),
    _NO_ASSET,
)
_FILES = f"/v1/renders/{RENDER_ID}/files"
_BATCH_ZIP = "/v1/batches/bat_01kbz7v8t7s6r5q4p3n2m1k0j9/files.zip"
_BINARY = {"type": "string", "format": "binary"}
FILE_RESPONSES = ex.responses(
    {
        200: ex.success("The file.", media_type="application/octet-stream", schema=_BINARY),
        307: ex.STORE_REDIRECT,
    },
    *ex.AUTH,
    _scope("renders:read", f"{_FILES}/0"),
    _missing("file of this render", f"render {RENDER_ID} has no file 9", f"{_FILES}/9"),
)
RENDER_ZIP_RESPONSES = ex.responses(
    {200: ex.success("A ZIP archive (stored entries).", media_type="application/zip", schema=_BINARY)},
    *ex.AUTH,
    _scope("renders:read", f"{_FILES}.zip"),
    _missing("render", f"no render {RENDER_ID}", f"{_FILES}.zip"),
)
BATCH_ZIP_RESPONSES = ex.responses(
    {200: ex.success("A ZIP archive (stored entries).", media_type="application/zip", schema=_BINARY)},
    *ex.AUTH,
    _scope("batches:read", _BATCH_ZIP),
    _missing("batch", "no batch bat_01kbz7v8t7s6r5q4p3n2m1k0j9", _BATCH_ZIP),
)
