"""OpenAPI examples for resumable uploads (``/v1/uploads``, tus 1.0) and imports from URLs.

Every value in ``recorded/uploads.json`` was recorded from a running service (a real tus upload,
real bad requests, an import from a media server): ``scripts/record_examples.py uploads``
records them again. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/uploads.json.
_RECORDED = recorded.load("uploads")
UPLOAD_METADATA: str = _RECORDED["UPLOAD_METADATA"]
UPLOAD_CREATED: dict[str, Any] = _RECORDED["UPLOAD_CREATED"]
UPLOAD_LOCATION: str = _RECORDED["UPLOAD_LOCATION"]
UPLOAD_EXPIRES: str = _RECORDED["UPLOAD_EXPIRES"]
ERROR_UPLOAD_OFFSET: dict[str, Any] = _RECORDED["ERROR_UPLOAD_OFFSET"]
ERROR_CHECKSUM: dict[str, Any] = _RECORDED["ERROR_CHECKSUM"]
ERROR_UPLOAD_CONTENT_TYPE: dict[str, Any] = _RECORDED["ERROR_UPLOAD_CONTENT_TYPE"]
UPLOAD_ASSET_ID: str = _RECORDED["UPLOAD_ASSET_ID"]
UPLOAD: dict[str, Any] = _RECORDED["UPLOAD"]
ERROR_TUS_VERSION: dict[str, Any] = _RECORDED["ERROR_TUS_VERSION"]
ERROR_UPLOAD_TOO_LARGE: dict[str, Any] = _RECORDED["ERROR_UPLOAD_TOO_LARGE"]
ERROR_UPLOAD_LENGTH: dict[str, Any] = _RECORDED["ERROR_UPLOAD_LENGTH"]
ERROR_UPLOAD_GONE: dict[str, Any] = _RECORDED["ERROR_UPLOAD_GONE"]
ERROR_UPLOAD_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_UPLOAD_NOT_FOUND"]
IMPORT_CREATE: dict[str, Any] = _RECORDED["IMPORT_CREATE"]
IMPORT_QUEUED: dict[str, Any] = _RECORDED["IMPORT_QUEUED"]
IMPORT_LOCATION: str = _RECORDED["IMPORT_LOCATION"]
IMPORT: dict[str, Any] = _RECORDED["IMPORT"]
IMPORTED_ASSET: dict[str, Any] = _RECORDED["IMPORTED_ASSET"]
ERROR_IMPORT_URL: dict[str, Any] = _RECORDED["ERROR_IMPORT_URL"]
ERROR_IMPORT_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_IMPORT_NOT_FOUND"]

_NOT_FOUND = ("no such upload in this workspace (another workspace's included)", ERROR_UPLOAD_NOT_FOUND)
_GONE = ("the upload expired or was terminated", ERROR_UPLOAD_GONE)
_TUS_VERSION = ("no `Tus-Resumable: 1.0.0`", ERROR_TUS_VERSION)
_OFFSET = (
    "`Upload-Offset` is not the upload's offset (the right one is in `Upload-Offset`)",
    ERROR_UPLOAD_OFFSET,
)
_TUS_HEADER = {"Tus-Resumable": ("Always `1.0.0`", "1.0.0")}
_STATE_HEADERS = {
    **_TUS_HEADER,
    "Upload-Offset": ("Bytes stored so far", str(UPLOAD["offset"])),
    "Upload-Expires": ("While unfinished: when the upload is dropped (IMF-fixdate)", UPLOAD_EXPIRES),
    "Reelforge-Asset-Id": ("Once finished: the asset the upload became", UPLOAD_ASSET_ID),
}

CREATE_UPLOAD_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The upload (tus clients read its `Location`); with creation-with-upload, its offset "
            "after the first bytes.",
            {"an upload of 32 KiB": UPLOAD_CREATED},
            headers={
                "Location": ("The upload's URL: HEAD, PATCH and DELETE it", UPLOAD_LOCATION),
                "Upload-Offset": ("Bytes stored so far", "0"),
                "Upload-Expires": ("When the unfinished upload is dropped", UPLOAD_EXPIRES),
                **_TUS_HEADER,
            },
            model=schemas.UploadOut,
        )
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    ("neither `Upload-Length` nor `Upload-Defer-Length: 1`", ERROR_UPLOAD_LENGTH),
    _TUS_VERSION,
    ("`Upload-Length` above `Tus-Max-Size`", ERROR_UPLOAD_TOO_LARGE),
)
HEAD_UPLOAD_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The upload's state, in headers only; also `Upload-Length` (or `Upload-Defer-Length: 1`) "
            "and `Upload-Metadata` as sent.",
            headers={**_STATE_HEADERS, "Upload-Length": ("Bytes expected", str(UPLOAD["length"]))},
        )
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    _NOT_FOUND,
    _GONE,
    _TUS_VERSION,
)
PATCH_UPLOAD_RESPONSES = ex.responses(
    {204: ex.success("The bytes are stored: the new `Upload-Offset`.", headers=_STATE_HEADERS)},
    *ex.AUTH,
    ex.scope("assets:write"),
    _NOT_FOUND,
    _OFFSET,
    _GONE,
    _TUS_VERSION,
    ("not `application/offset+octet-stream`", ERROR_UPLOAD_CONTENT_TYPE),
    ("the body does not match `Upload-Checksum` (nothing kept)", ERROR_CHECKSUM),
)
DELETE_UPLOAD_RESPONSES = ex.responses(
    {204: ex.success("Terminated: the bytes are removed.", headers=_TUS_HEADER)},
    *ex.AUTH,
    ex.scope("assets:write"),
    _NOT_FOUND,
    _GONE,
    _TUS_VERSION,
)
OVERRIDE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "`X-HTTP-Method-Override: HEAD`: the upload's state in headers.", headers=_STATE_HEADERS
        ),
        204: ex.success("`PATCH` or `DELETE` done.", headers=_STATE_HEADERS),
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    _NOT_FOUND,
    _OFFSET,
    _GONE,
    _TUS_VERSION,
)
GET_UPLOAD_RESPONSES = ex.responses(
    {200: ex.success("The upload.", {"a finished upload": UPLOAD}, model=schemas.UploadOut)},
    *ex.AUTH,
    ex.scope("assets:read"),
    _NOT_FOUND,
    _GONE,
)

CREATE_IMPORT_BODY = ex.body({"a video from a CDN": IMPORT_CREATE})
CREATE_IMPORT_RESPONSES = ex.responses(
    {
        202: ex.success(
            "The import, queued: follow it with its URL or the `import.*` events.",
            {"queued": IMPORT_QUEUED},
            headers={"Location": ("The import's URL", IMPORT_LOCATION)},
            model=schemas.ImportOut,
        )
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    ("a URL of a private, loopback or metadata address (or a bad scheme or port)", ERROR_IMPORT_URL),
)
GET_IMPORT_RESPONSES = ex.responses(
    {200: ex.success("The import.", {"succeeded": IMPORT}, model=schemas.ImportOut)},
    *ex.AUTH,
    ex.scope("assets:read"),
    ("no such import in this workspace", ERROR_IMPORT_NOT_FOUND),
)
