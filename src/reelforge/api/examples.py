"""Examples for the OpenAPI document (``/openapi.json``, shown at ``/docs``), per operation.

Every value below was recorded from a running service: real uploads of generated media, real
projects, renders made by the worker with FFmpeg, and the problems the service answered to real
bad requests. They are data (``recorded/core.json``, shipped with the package), recorded again
by ``scripts/record_examples.py``. ``tests/test_openapi.py`` sends the request examples to a
running service and checks that the answers have the documented status and every field the
response examples show, so the examples cannot drift from the code.

Below, the examples are arranged per operation: ``<OPERATION>_RESPONSES`` for a route's
``responses=`` (success examples, then each documented problem) and ``<OPERATION>_BODY`` for
its request body's ``openapi_examples``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from . import recorded, schemas
from .problems import CATALOGUE, PROBLEM_JSON

# Recorded from a running service (`scripts/record_examples.py`): see recorded/core.json.
_RECORDED = recorded.load("core")
HEALTHZ: dict[str, Any] = _RECORDED["HEALTHZ"]
READYZ: dict[str, Any] = _RECORDED["READYZ"]
WORKSPACE: dict[str, Any] = _RECORDED["WORKSPACE"]
ERROR_UNAUTHENTICATED: dict[str, Any] = _RECORDED["ERROR_UNAUTHENTICATED"]
KEY_CREATE: dict[str, Any] = _RECORDED["KEY_CREATE"]
KEY_CREATED: dict[str, Any] = _RECORDED["KEY_CREATED"]
KEY_ID: str = _RECORDED["KEY_ID"]
KEY_LIST: dict[str, Any] = _RECORDED["KEY_LIST"]
KEY: dict[str, Any] = _RECORDED["KEY"]
KEY_ROLL: dict[str, Any] = _RECORDED["KEY_ROLL"]
KEY_ROLLED: dict[str, Any] = _RECORDED["KEY_ROLLED"]
KEY_REVOKED: dict[str, Any] = _RECORDED["KEY_REVOKED"]
ERROR_KEY_ROLL_REVOKED: dict[str, Any] = _RECORDED["ERROR_KEY_ROLL_REVOKED"]
ERROR_ROLL_GRACE: dict[str, Any] = _RECORDED["ERROR_ROLL_GRACE"]
ERROR_INVALID_TOKEN: dict[str, Any] = _RECORDED["ERROR_INVALID_TOKEN"]
ERROR_KEY_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_KEY_NOT_FOUND"]
ERROR_KEY_VALIDATION: dict[str, Any] = _RECORDED["ERROR_KEY_VALIDATION"]
ERROR_LIST_LIMIT: dict[str, Any] = _RECORDED["ERROR_LIST_LIMIT"]
ERROR_INVALID_CURSOR: dict[str, Any] = _RECORDED["ERROR_INVALID_CURSOR"]
ERROR_FORBIDDEN_GRANT: dict[str, Any] = _RECORDED["ERROR_FORBIDDEN_GRANT"]
ERROR_SCOPE_KEYS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_KEYS_READ"]
ERROR_SCOPE_KEYS_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_KEYS_WRITE"]
ERROR_SCOPE_ASSETS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_ASSETS_READ"]
ERROR_SCOPE_ASSETS_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_ASSETS_WRITE"]
ERROR_SCOPE_PROJECTS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_PROJECTS_READ"]
ERROR_SCOPE_PROJECTS_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_PROJECTS_WRITE"]
ERROR_SCOPE_RENDERS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_RENDERS_READ"]
ERROR_SCOPE_RENDERS_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_RENDERS_WRITE"]
CLIENT_CREATE: dict[str, Any] = _RECORDED["CLIENT_CREATE"]
CLIENT_CREATED: dict[str, Any] = _RECORDED["CLIENT_CREATED"]
CLIENT_ID: str = _RECORDED["CLIENT_ID"]
TOKEN_FORM: dict[str, Any] = _RECORDED["TOKEN_FORM"]
TOKEN: dict[str, Any] = _RECORDED["TOKEN"]
TOKEN_ERROR_CLIENT: dict[str, Any] = _RECORDED["TOKEN_ERROR_CLIENT"]
TOKEN_ERROR_GRANT: dict[str, Any] = _RECORDED["TOKEN_ERROR_GRANT"]
CLIENT_LIST: dict[str, Any] = _RECORDED["CLIENT_LIST"]
CLIENT_REVOKED: dict[str, Any] = _RECORDED["CLIENT_REVOKED"]
ERROR_CLIENT_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_CLIENT_NOT_FOUND"]
UPLOAD_FIELDS: dict[str, Any] = _RECORDED["UPLOAD_FIELDS"]
ASSET_CREATED: dict[str, Any] = _RECORDED["ASSET_CREATED"]
ASSET_CREATED_HEADERS: dict[str, Any] = _RECORDED["ASSET_CREATED_HEADERS"]
ASSET_DEDUPLICATED: dict[str, Any] = _RECORDED["ASSET_DEDUPLICATED"]
ASSET_AUDIO: dict[str, Any] = _RECORDED["ASSET_AUDIO"]
INTRO_ID: str = _RECORDED["INTRO_ID"]
BROLL_ID: str = _RECORDED["BROLL_ID"]
MUSIC_ID: str = _RECORDED["MUSIC_ID"]
LOGO_ID: str = _RECORDED["LOGO_ID"]
ERROR_MEDIA_UNSUPPORTED: dict[str, Any] = _RECORDED["ERROR_MEDIA_UNSUPPORTED"]
ERROR_UPLOAD_NOT_MULTIPART: dict[str, Any] = _RECORDED["ERROR_UPLOAD_NOT_MULTIPART"]
ERROR_UPLOAD_FIELDS: dict[str, Any] = _RECORDED["ERROR_UPLOAD_FIELDS"]
ASSET_LIST: dict[str, Any] = _RECORDED["ASSET_LIST"]
ASSET: dict[str, Any] = _RECORDED["ASSET"]
COLLECTION_LIST: dict[str, Any] = _RECORDED["COLLECTION_LIST"]
ASSET_ETAG: str = _RECORDED["ASSET_ETAG"]
ASSET_PATCH: dict[str, Any] = _RECORDED["ASSET_PATCH"]
ASSET_PATCHED: dict[str, Any] = _RECORDED["ASSET_PATCHED"]
ERROR_ASSET_STALE: dict[str, Any] = _RECORDED["ERROR_ASSET_STALE"]
ERROR_ASSET_PATCH_VALIDATION: dict[str, Any] = _RECORDED["ERROR_ASSET_PATCH_VALIDATION"]
ERROR_ASSET_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_ASSET_NOT_FOUND"]
DOWNLOAD_PARTIAL_HEADERS: dict[str, Any] = _RECORDED["DOWNLOAD_PARTIAL_HEADERS"]
DOWNLOAD_HEADERS: dict[str, Any] = _RECORDED["DOWNLOAD_HEADERS"]
ERROR_RANGE: dict[str, Any] = _RECORDED["ERROR_RANGE"]
ERROR_NO_WAVEFORM: dict[str, Any] = _RECORDED["ERROR_NO_WAVEFORM"]
EDIT: dict[str, Any] = _RECORDED["EDIT"]
PROJECT_CREATE: dict[str, Any] = _RECORDED["PROJECT_CREATE"]
PROJECT_CREATED: dict[str, Any] = _RECORDED["PROJECT_CREATED"]
PROJECT_CREATED_HEADERS: dict[str, Any] = _RECORDED["PROJECT_CREATED_HEADERS"]
PROJECT_ID: str = _RECORDED["PROJECT_ID"]
ERROR_EDIT_INVALID: dict[str, Any] = _RECORDED["ERROR_EDIT_INVALID"]
ERROR_PROJECT_VALIDATION: dict[str, Any] = _RECORDED["ERROR_PROJECT_VALIDATION"]
PROJECT_LIST: dict[str, Any] = _RECORDED["PROJECT_LIST"]
PROJECT: dict[str, Any] = _RECORDED["PROJECT"]
PROJECT_HEADERS: dict[str, Any] = _RECORDED["PROJECT_HEADERS"]
ERROR_PROJECT_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_PROJECT_NOT_FOUND"]
PATCHES: dict[str, Any] = _RECORDED["PATCHES"]
PROJECT_PATCHED: dict[str, Any] = _RECORDED["PROJECT_PATCHED"]
ERROR_PROJECT_STALE: dict[str, Any] = _RECORDED["ERROR_PROJECT_STALE"]
ERROR_PROJECT_NO_IF_MATCH: dict[str, Any] = _RECORDED["ERROR_PROJECT_NO_IF_MATCH"]
ERROR_PATCH_MEDIA_TYPE: dict[str, Any] = _RECORDED["ERROR_PATCH_MEDIA_TYPE"]
ERROR_PATCH_CONFLICT: dict[str, Any] = _RECORDED["ERROR_PATCH_CONFLICT"]
ERROR_PATCH_EDIT_INVALID: dict[str, Any] = _RECORDED["ERROR_PATCH_EDIT_INVALID"]
PROJECT_REPLACE: dict[str, Any] = _RECORDED["PROJECT_REPLACE"]
PROJECT_REPLACED: dict[str, Any] = _RECORDED["PROJECT_REPLACED"]
ERROR_PROJECT_PUT_NO_IF_MATCH: dict[str, Any] = _RECORDED["ERROR_PROJECT_PUT_NO_IF_MATCH"]
REVISION_LIST: dict[str, Any] = _RECORDED["REVISION_LIST"]
REVISION: dict[str, Any] = _RECORDED["REVISION"]
ERROR_REVISION_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_REVISION_NOT_FOUND"]
ERROR_REVISION_NUMBER: dict[str, Any] = _RECORDED["ERROR_REVISION_NUMBER"]
RESTORE: dict[str, Any] = _RECORDED["RESTORE"]
RESTORED: dict[str, Any] = _RECORDED["RESTORED"]
ERROR_RESTORE_STALE: dict[str, Any] = _RECORDED["ERROR_RESTORE_STALE"]
RENDER_FROM_PROJECT: dict[str, Any] = _RECORDED["RENDER_FROM_PROJECT"]
RENDER_DRY_RUN: dict[str, Any] = _RECORDED["RENDER_DRY_RUN"]
RENDER_PLAN: dict[str, Any] = _RECORDED["RENDER_PLAN"]
RENDER_QUEUED: dict[str, Any] = _RECORDED["RENDER_QUEUED"]
RENDER_QUEUED_HEADERS: dict[str, Any] = _RECORDED["RENDER_QUEUED_HEADERS"]
RENDER_ID: str = _RECORDED["RENDER_ID"]
ERROR_ASSET_IN_USE: dict[str, Any] = _RECORDED["ERROR_ASSET_IN_USE"]
RENDER_RUNNING: dict[str, Any] = _RECORDED["RENDER_RUNNING"]
RENDER_SUCCEEDED: dict[str, Any] = _RECORDED["RENDER_SUCCEEDED"]
RENDER_ETAG: str = _RECORDED["RENDER_ETAG"]
ERROR_CANCEL_FINISHED: dict[str, Any] = _RECORDED["ERROR_CANCEL_FINISHED"]
RENDER_INLINE: dict[str, Any] = _RECORDED["RENDER_INLINE"]
RENDER_INLINE_QUEUED: dict[str, Any] = _RECORDED["RENDER_INLINE_QUEUED"]
RENDER_CANCELLED: dict[str, Any] = _RECORDED["RENDER_CANCELLED"]
RENDER_CANCELLING: dict[str, Any] = _RECORDED["RENDER_CANCELLING"]
RENDER_FAILED: dict[str, Any] = _RECORDED["RENDER_FAILED"]
RENDER_LIST: dict[str, Any] = _RECORDED["RENDER_LIST"]
ERROR_RENDER_EDIT_INVALID: dict[str, Any] = _RECORDED["ERROR_RENDER_EDIT_INVALID"]
ERROR_RENDER_ONE_OF: dict[str, Any] = _RECORDED["ERROR_RENDER_ONE_OF"]
ERROR_RENDER_REVISION: dict[str, Any] = _RECORDED["ERROR_RENDER_REVISION"]
ERROR_RENDER_PROJECT: dict[str, Any] = _RECORDED["ERROR_RENDER_PROJECT"]
ERROR_RENDER_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_RENDER_NOT_FOUND"]
ERROR_UPLOAD_TOO_LARGE: dict[str, Any] = _RECORDED["ERROR_UPLOAD_TOO_LARGE"]

JSON = "application/json"
Named = tuple[str, dict[str, Any]]
"""A problem example: (what happened, the problem the service answered)."""

PROBLEM_SCHEMA: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
"""RFC 9457 problem details: :class:`reelforge.api.schemas.problems.Problem`, which the document's
components hold (see :mod:`reelforge.api.contract`)."""

_DEFAULT: dict[str, Any] = {
    "description": "Any other error, as a problem (see the catalogue in docs/api.md).",
    "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
}


def body(examples: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Named request examples, for ``Body(openapi_examples=...)``."""
    return {name: {"summary": name, "value": value} for name, value in examples.items()}


def _header(description: str, example: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}, "example": example}


def success(
    description: str,
    examples: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, tuple[str, str]] | None = None,
    media_type: str = JSON,
    schema: dict[str, Any] | None = None,
    model: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """A response without problems: named JSON examples (or another media type's schema),
    documented headers as ``name: (description, example)`` and the ``model`` of the body (for the
    document only: routes answer with bytes they render themselves)."""
    response: dict[str, Any] = {"description": description}
    if model is not None:
        response["model"] = model
    if examples is not None:
        response["content"] = {media_type: {"examples": body(examples)}}
    elif schema is not None:
        response["content"] = {media_type: {"schema": schema}}
    if headers:
        response["headers"] = {name: _header(*value) for name, value in headers.items()}
    return response


def responses(
    documented: Mapping[int, dict[str, Any]], *problems: Named, default: bool = True
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the documented ones, then each problem under its status (the
    description lists the problem types), and a ``default`` saying every error is a problem
    (which also keeps FastAPI from describing its own 422 shape, which we never send)."""
    out: dict[int | str, dict[str, Any]] = {status: dict(value) for status, value in documented.items()}
    codes: dict[int, list[str]] = {}
    for summary, problem in problems:
        status = int(problem["status"])
        entry = out.setdefault(
            status, {"content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA, "examples": {}}}}
        )
        entry["content"][PROBLEM_JSON]["examples"][summary] = {"summary": summary, "value": problem}
        if problem["code"] not in codes.setdefault(status, []):
            codes[status].append(problem["code"])
    for status, found in codes.items():
        out[status]["description"] = " ".join(f"`{code}`: {CATALOGUE[code][1]}" for code in found)
    if default:
        out["default"] = _DEFAULT
    return out


# ------------------------------------------------------------------ problems shared by operations

AUTH: tuple[Named, ...] = (
    ("no credentials", ERROR_UNAUTHENTICATED),
    ("an unknown, revoked or expired credential", ERROR_INVALID_TOKEN),
)
_SCOPES: dict[str, dict[str, Any]] = {
    "keys:read": ERROR_SCOPE_KEYS_READ,
    "keys:write": ERROR_SCOPE_KEYS_WRITE,
    "assets:read": ERROR_SCOPE_ASSETS_READ,
    "assets:write": ERROR_SCOPE_ASSETS_WRITE,
    "projects:read": ERROR_SCOPE_PROJECTS_READ,
    "projects:write": ERROR_SCOPE_PROJECTS_WRITE,
    "renders:read": ERROR_SCOPE_RENDERS_READ,
    "renders:write": ERROR_SCOPE_RENDERS_WRITE,
}
LIST: tuple[Named, ...] = (
    ("`limit` out of range (1-100)", ERROR_LIST_LIMIT),
    ("a cursor that was altered or is used with other filters", ERROR_INVALID_CURSOR),
)


def scope(name: str) -> Named:
    return f"a credential without `{name}`", _SCOPES[name]


def _list(
    description: str, name: str, example: dict[str, Any], read_scope: str, model: type[BaseModel]
) -> dict[int | str, dict[str, Any]]:
    return responses(
        {200: success(description, {name: example}, model=model)}, *AUTH, scope(read_scope), *LIST
    )


_ETAG_PROJECT = (
    "The project's revision as a strong ETag: send it in If-Match to change the project",
    PROJECT_HEADERS["ETag"],
)
_NOT_MODIFIED = {"description": "`If-None-Match` matched the current ETag: nothing changed (no body)."}
_STALE_PROJECT = ("If-Match is not the current ETag (someone changed the project)", ERROR_PROJECT_STALE)
_BINARY = {"type": "string", "format": "binary"}
STORE_REDIRECT = {
    "description": "With S3 storage and `REELFORGE_S3_DOWNLOAD=redirect`: the bytes are at the presigned "
    "URL in `Location` (valid for `REELFORGE_S3_PRESIGN_SECONDS`), which answers Range itself.",
    "headers": {"Location": {"description": "The presigned URL.", "schema": {"type": "string"}}},
}

# ------------------------------------------------------------------ system

HEALTHZ_RESPONSES = responses(
    {200: success("The process is up.", {"up": HEALTHZ}, model=schemas.Health)}, default=False
)
READYZ_RESPONSES = responses(
    {
        200: success(
            "The database, storage and render queue answer, and the workers heartbeat.",
            {"ready": READYZ},
            model=schemas.Readiness,
        ),
        503: {
            "description": "Not ready: `checks` says which check failed (`Retry-After: 5`); for a "
            "credential with the `metrics` or `operator` scope, `workers` lists each worker as `live`, "
            "`stale` (stopped heartbeating: crashed or hung) or `stopped`.",
            "model": schemas.Readiness,
        },
    },
    default=False,
)
WORKSPACE_RESPONSES = responses(
    {
        200: success(
            "The workspace and the scopes the credential holds.",
            {"an admin key": WORKSPACE},
            model=schemas.WorkspaceOut,
        )
    },
    *AUTH,
)

# ------------------------------------------------------------------ keys and OAuth clients

CREATE_KEY_BODY = body({"a key for a CMS": KEY_CREATE})
CREATE_KEY_RESPONSES = responses(
    {
        201: success(
            "The key; `token` is in this response only, so store it now.",
            {"a key for a CMS": KEY_CREATED},
            model=schemas.ApiKeyCreated,
        )
    },
    *AUTH,
    scope("keys:write"),
    ("granting a scope the caller does not hold", ERROR_FORBIDDEN_GRANT),
    ("an unknown field (`scope` for `scopes`)", ERROR_KEY_VALIDATION),
)
LIST_KEYS_RESPONSES = _list(
    "A page of keys, newest first: prefix, last four characters and last use; never the secret.",
    "two keys",
    KEY_LIST,
    "keys:read",
    schemas.ApiKeyList,
)
GET_KEY_RESPONSES = responses(
    {200: success("The key (without its secret).", {"a key": KEY}, model=schemas.ApiKeyOut)},
    *AUTH,
    scope("keys:read"),
    ("no such key in this workspace", ERROR_KEY_NOT_FOUND),
)
REVOKE_KEY_RESPONSES = responses(
    {
        200: success(
            "The key, revoked (`revoked_at`); revoking again changes nothing.",
            {"a revoked key": KEY_REVOKED},
            model=schemas.ApiKeyOut,
        )
    },
    *AUTH,
    scope("keys:write"),
    ("no such key in this workspace", ERROR_KEY_NOT_FOUND),
)
ROLL_KEY_BODY = body({"one hour of grace": KEY_ROLL})
ROLL_KEY_RESPONSES = responses(
    {
        201: success(
            "The new key (its `token` shown only here); `replaces` is the old key, now expiring at the "
            "end of the grace period.",
            {"one hour of grace": KEY_ROLLED},
            model=schemas.ApiKeyRolled,
        )
    },
    *AUTH,
    scope("keys:write"),
    ("no such key in this workspace", ERROR_KEY_NOT_FOUND),
    ("the key was revoked", ERROR_KEY_ROLL_REVOKED),
    ("a grace period over 7 days", ERROR_ROLL_GRACE),
)
CREATE_CLIENT_BODY = body({"an automation platform": CLIENT_CREATE})
CREATE_CLIENT_RESPONSES = responses(
    {
        201: success(
            "The client; `client_secret` is in this response only.",
            {"an automation platform": CLIENT_CREATED},
            model=schemas.OAuthClientCreated,
        )
    },
    *AUTH,
    scope("keys:write"),
    ("granting a scope the caller does not hold", ERROR_FORBIDDEN_GRANT),
)
LIST_CLIENTS_RESPONSES = _list(
    "A page of OAuth clients, newest first (never their secrets).",
    "two clients",
    CLIENT_LIST,
    "keys:read",
    schemas.OAuthClientList,
)
REVOKE_CLIENT_RESPONSES = responses(
    {
        200: success(
            "The client, revoked: its access tokens stop working at once.",
            {"a revoked client": CLIENT_REVOKED},
            model=schemas.OAuthClientOut,
        )
    },
    *AUTH,
    scope("keys:write"),
    ("no such client in this workspace", ERROR_CLIENT_NOT_FOUND),
)
TOKEN_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {"examples": body({"client credentials": TOKEN_FORM})}
        }
    }
}
TOKEN_RESPONSES = responses(
    {
        200: success(
            "An access token (an ES256 JWT) to send as `Authorization: Bearer`.",
            {"client credentials": TOKEN},
            model=schemas.AccessToken,
        ),
        400: success(
            "An OAuth error (RFC 6749 §5.2, not a problem): `invalid_request`, "
            "`unsupported_grant_type` or `invalid_scope`.",
            {"another grant type": TOKEN_ERROR_GRANT},
            model=schemas.OAuthError,
        ),
        401: success(
            "`invalid_client`: unknown or revoked client, or a wrong secret (with `WWW-Authenticate`).",
            {"a wrong secret": TOKEN_ERROR_CLIENT},
            model=schemas.OAuthError,
        ),
    }
)

# ------------------------------------------------------------------ assets

_UPLOAD_EXAMPLE = "a video with tags"
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": "`multipart/form-data` with the file in the `file` part and optional fields; e.g. "
    '`curl -F file=@intro.mp4 -F tags=brand,spring -F \'metadata={"campaign": "spring-2027"}\'`. '
    "The body is streamed to storage as it arrives.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "Video, audio, an image, subtitles (SRT, WebVTT, ASS/SSA), a font (TTF, "
                        "OTF, TTC) or a 3D LUT (.cube). What it is comes from its bytes, not its "
                        "name or Content-Type.",
                    },
                    "name": {
                        "type": "string",
                        "description": "Display name; default: the file part's filename.",
                    },
                    "tags": {
                        "type": "string",
                        "description": 'Comma-separated (`brand,spring`) or a JSON list (`["brand"]`).',
                    },
                    "collections": {
                        "type": "string",
                        "description": "The named collections the asset belongs to, written as tags "
                        "(`spring-campaign,product-x-hero`).",
                    },
                    "metadata": {
                        "type": "string",
                        "description": "A JSON object of your own, at most 16 KiB.",
                    },
                },
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
            "examples": body({_UPLOAD_EXAMPLE: {"file": "(the bytes of intro.mp4)", **UPLOAD_FIELDS}}),
        }
    },
}
UPLOAD_RESPONSES = responses(
    {
        201: success(
            "A new asset, probed (`media`), with a thumbnail (or, for audio, a waveform).",
            {_UPLOAD_EXAMPLE: ASSET_CREATED, "an audio file, with a waveform": ASSET_AUDIO},
            headers={
                "Location": ("The asset's URL", ASSET_CREATED_HEADERS["Location"]),
                "ETag": ("The representation's ETag", ASSET_CREATED_HEADERS["ETag"]),
            },
            model=schemas.AssetUploaded,
        ),
        200: success(
            "The same bytes were already an asset of the workspace: that asset, `deduplicated: true` "
            "(its name, tags and metadata unchanged).",
            {"the same bytes again": ASSET_DEDUPLICATED},
            model=schemas.AssetUploaded,
        ),
    },
    *AUTH,
    scope("assets:write"),
    (
        "larger than REELFORGE_MAX_UPLOAD_BYTES (here 1 MiB), or longer than REELFORGE_MAX_MEDIA_DURATION",
        ERROR_UPLOAD_TOO_LARGE,
    ),
    ("not multipart/form-data", ERROR_UPLOAD_NOT_MULTIPART),
    ("not media, subtitles, a font or a LUT", ERROR_MEDIA_UNSUPPORTED),
    ("an unknown form field (`tgas`)", ERROR_UPLOAD_FIELDS),
)
LIST_ASSETS_RESPONSES = _list(
    "A page of assets, newest first, matching every filter given.",
    "videos tagged spring, one per page",
    ASSET_LIST,
    "assets:read",
    schemas.AssetList,
)
LIST_COLLECTIONS_RESPONSES = _list(
    "A page of the workspace's collections, by name, with their asset counts.",
    "two collections",
    COLLECTION_LIST,
    "assets:read",
    schemas.CollectionList,
)
GET_ASSET_RESPONSES = responses(
    {
        200: success(
            "The asset.",
            {"a video": ASSET},
            headers={"ETag": ("For If-None-Match, and If-Match on PATCH and DELETE", ASSET_ETAG)},
            model=schemas.AssetOut,
        ),
        304: _NOT_MODIFIED,
        307: STORE_REDIRECT,
    },
    *AUTH,
    scope("assets:read"),
    ("no such asset in this workspace", ERROR_ASSET_NOT_FOUND),
)
PATCH_ASSET_BODY = body({"rename, retag and annotate": ASSET_PATCH})
PATCH_ASSET_RESPONSES = responses(
    {
        200: success(
            "The asset as changed.", {"rename, retag and annotate": ASSET_PATCHED}, model=schemas.AssetOut
        )
    },
    *AUTH,
    scope("assets:write"),
    ("no such asset in this workspace", ERROR_ASSET_NOT_FOUND),
    ("If-Match is not the current ETag", ERROR_ASSET_STALE),
    ("an unknown field (`tag` for `tags`)", ERROR_ASSET_PATCH_VALIDATION),
)
DELETE_ASSET_RESPONSES = responses(
    {204: {"description": "Deleted: the row, its tags, the stored bytes and previews."}},
    *AUTH,
    scope("assets:write"),
    ("no such asset in this workspace", ERROR_ASSET_NOT_FOUND),
    ("a queued or running render uses the asset (`renders` lists them)", ERROR_ASSET_IN_USE),
    ("If-Match is not the current ETag", ERROR_ASSET_STALE),
)
_DOWNLOAD_HEADERS = {
    "Content-Type": "The asset's probed type",
    "Content-Length": "Bytes in this response",
    "Accept-Ranges": "Always `bytes`",
    "ETag": "The content's sha256 (for If-None-Match and If-Range)",
    "Content-Disposition": "`attachment` with the asset's name (RFC 6266 / 8187)",
    "Content-Range": "The part sent, of the whole size",
}
DOWNLOAD_RESPONSES = responses(
    {
        200: {
            **success("The whole file.", media_type="*/*", schema=_BINARY),
            "headers": {
                k: _header(v, DOWNLOAD_HEADERS[k])
                for k, v in _DOWNLOAD_HEADERS.items()
                if k in DOWNLOAD_HEADERS
            },
        },
        206: {
            **success(
                "One range (`Range: bytes=0-1023`, `bytes=1024-`, `bytes=-500`).",
                media_type="*/*",
                schema=_BINARY,
            ),
            "headers": {k: _header(v, DOWNLOAD_PARTIAL_HEADERS[k]) for k, v in _DOWNLOAD_HEADERS.items()},
        },
        304: _NOT_MODIFIED,
        307: STORE_REDIRECT,
    },
    *AUTH,
    scope("assets:read"),
    ("no such asset in this workspace", ERROR_ASSET_NOT_FOUND),
    ("a range that starts past the end", ERROR_RANGE),
)
THUMBNAIL_RESPONSES = responses(
    {200: success("A PNG at most 480 pixels on its longer side.", media_type="image/png", schema=_BINARY)},
    *AUTH,
    scope("assets:read"),
    ("no such asset, or it has no thumbnail", ERROR_ASSET_NOT_FOUND),
)
WAVEFORM_RESPONSES = responses(
    {200: success("An 800x160 PNG of the audio's waveform.", media_type="image/png", schema=_BINARY)},
    *AUTH,
    scope("assets:read"),
    ("no such asset in this workspace", ERROR_ASSET_NOT_FOUND),
    ("the asset is not audio", ERROR_NO_WAVEFORM),
)

# ------------------------------------------------------------------ projects

_CREATE_PROJECT_EXAMPLE = "a promo with a title and music"
CREATE_PROJECT_BODY = body({_CREATE_PROJECT_EXAMPLE: PROJECT_CREATE})
CREATE_PROJECT_RESPONSES = responses(
    {
        201: success(
            "The project at revision 1.",
            {_CREATE_PROJECT_EXAMPLE: PROJECT_CREATED},
            headers={
                "ETag": _ETAG_PROJECT,
                "Location": ("The project's URL", PROJECT_CREATED_HEADERS["Location"]),
            },
            model=schemas.ProjectOut,
        )
    },
    *AUTH,
    scope("projects:write"),
    ("an edit with problems: each has a pointer into the body", ERROR_EDIT_INVALID),
    ("an unknown field (`title` for `name`)", ERROR_PROJECT_VALIDATION),
)
LIST_PROJECTS_RESPONSES = _list(
    "A page of projects, newest first, each with its current edit.",
    "one project",
    PROJECT_LIST,
    "projects:read",
    schemas.ProjectList,
)
GET_PROJECT_RESPONSES = responses(
    {
        200: success(
            "The project with its current edit.",
            {"a project": PROJECT},
            headers={
                "ETag": _ETAG_PROJECT,
                "Accept-Patch": ("PATCH takes JSON Patch", PROJECT_HEADERS["Accept-Patch"]),
            },
            model=schemas.ProjectOut,
        ),
        304: _NOT_MODIFIED,
    },
    *AUTH,
    scope("projects:read"),
    ("no such project in this workspace", ERROR_PROJECT_NOT_FOUND),
)
REPLACE_PROJECT_BODY = body({"add a 9:16 story output": PROJECT_REPLACE})
REPLACE_PROJECT_RESPONSES = responses(
    {
        200: success(
            "The project at its new revision.",
            {"add a 9:16 story output": PROJECT_REPLACED},
            headers={"ETag": _ETAG_PROJECT},
            model=schemas.ProjectOut,
        )
    },
    *AUTH,
    scope("projects:write"),
    ("no such project in this workspace", ERROR_PROJECT_NOT_FOUND),
    _STALE_PROJECT,
    ("no If-Match", ERROR_PROJECT_PUT_NO_IF_MATCH),
    ("an edit with problems: each has a pointer into the body", ERROR_EDIT_INVALID),
)
PATCH_PROJECT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json-patch+json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["op", "path"],
                        "properties": {
                            "op": {
                                "type": "string",
                                "enum": ["add", "remove", "replace", "move", "copy", "test"],
                            },
                            "path": {"type": "string", "description": "JSON Pointer into the edit"},
                            "from": {"type": "string"},
                            "value": {},
                        },
                    },
                },
                "examples": PATCHES,
            }
        },
    }
}
PATCH_PROJECT_RESPONSES = responses(
    {
        200: success(
            "The project at its new revision.",
            {"trim a clip": PROJECT_PATCHED},
            headers={"ETag": _ETAG_PROJECT},
            model=schemas.ProjectOut,
        )
    },
    *AUTH,
    scope("projects:write"),
    ("no such project in this workspace", ERROR_PROJECT_NOT_FOUND),
    _STALE_PROJECT,
    ("no If-Match", ERROR_PROJECT_NO_IF_MATCH),
    ("Content-Type is not application/json-patch+json", ERROR_PATCH_MEDIA_TYPE),
    ("`replace` of a member the stored edit does not have (use `add`)", ERROR_PATCH_CONFLICT),
    ("the patched edit is not valid (pointers into the edit)", ERROR_PATCH_EDIT_INVALID),
)
DELETE_PROJECT_RESPONSES = responses(
    {204: {"description": "Deleted with its revisions; renders made from it keep their edit and outputs."}},
    *AUTH,
    scope("projects:write"),
    ("no such project in this workspace", ERROR_PROJECT_NOT_FOUND),
    _STALE_PROJECT,
)
LIST_REVISIONS_RESPONSES = responses(
    {
        200: success(
            "A page of revisions, newest first.",
            {"the last two revisions": REVISION_LIST},
            model=schemas.RevisionList,
        )
    },
    *AUTH,
    scope("projects:read"),
    ("no such project in this workspace", ERROR_PROJECT_NOT_FOUND),
    *LIST,
)
GET_REVISION_RESPONSES = responses(
    {
        200: success(
            "The revision with its edit.", {"the first revision": REVISION}, model=schemas.RevisionOut
        )
    },
    *AUTH,
    scope("projects:read"),
    ("no such project in this workspace", ERROR_PROJECT_NOT_FOUND),
    ("the project has no such revision", ERROR_REVISION_NOT_FOUND),
    ("not a number", ERROR_REVISION_NUMBER),
)
RESTORE_BODY = body({"back to the first cut": RESTORE})
RESTORE_RESPONSES = responses(
    {
        200: success(
            "The project at a new revision holding the old revision's edit.",
            {"back to the first cut": RESTORED},
            headers={"ETag": _ETAG_PROJECT},
            model=schemas.ProjectOut,
        )
    },
    *AUTH,
    scope("projects:write"),
    ("the project has no such revision", ERROR_REVISION_NOT_FOUND),
    ("If-Match is not the current ETag", ERROR_RESTORE_STALE),
    ("no If-Match", ERROR_PROJECT_PUT_NO_IF_MATCH),
)

# ------------------------------------------------------------------ renders

CREATE_RENDER_BODY = body(
    {"from a project": RENDER_FROM_PROJECT, "inline edit": RENDER_INLINE, "dry run": RENDER_DRY_RUN}
)
CREATE_RENDER_RESPONSES = responses(
    {
        202: success(
            "The render, queued; follow it at `Location`.",
            {"from a project": RENDER_QUEUED, "inline edit": RENDER_INLINE_QUEUED},
            headers={"Location": ("The render's URL", RENDER_QUEUED_HEADERS["Location"])},
            model=schemas.RenderOut,
        ),
        200: success(
            "A dry run: the validated plan with an estimate; nothing is created.",
            {"dry run": RENDER_PLAN},
            model=schemas.RenderPlan,
        ),
    },
    *AUTH,
    scope("renders:write"),
    scope("projects:read"),
    ("no such project in this workspace", ERROR_RENDER_PROJECT),
    ("the project has no such revision", ERROR_RENDER_REVISION),
    ("an edit with problems: each has a pointer", ERROR_RENDER_EDIT_INVALID),
    ("both `project_id` and `edit`", ERROR_RENDER_ONE_OF),
)
LIST_RENDERS_RESPONSES = _list(
    "A page of renders, newest first, matching the filters.",
    "the latest render of a project",
    RENDER_LIST,
    "renders:read",
    schemas.RenderList,
)
GET_RENDER_RESPONSES = responses(
    {
        200: success(
            "The render. Poll it until `state` is `succeeded`, `failed` or `cancelled`.",
            {
                "rendering": RENDER_RUNNING,
                "succeeded": RENDER_SUCCEEDED,
                "failed": RENDER_FAILED,
                "cancelled while queued": RENDER_CANCELLED,
            },
            headers={"ETag": ("Changes whenever the render does: poll with If-None-Match", RENDER_ETAG)},
            model=schemas.RenderOut,
        ),
        304: _NOT_MODIFIED,
    },
    *AUTH,
    scope("renders:read"),
    ("no such render in this workspace", ERROR_RENDER_NOT_FOUND),
)
CANCEL_RENDER_RESPONSES = responses(
    {
        200: success(
            "It was queued: now `cancelled`.", {"it was queued": RENDER_CANCELLED}, model=schemas.RenderOut
        ),
        202: success(
            "It is running: `cancel_requested` is set and it stops within seconds (one already "
            "`finishing` completes).",
            {"it is running": RENDER_CANCELLING},
            model=schemas.RenderOut,
        ),
    },
    *AUTH,
    scope("renders:write"),
    ("no such render in this workspace", ERROR_RENDER_NOT_FOUND),
    ("it already ended", ERROR_CANCEL_FINISHED),
)
