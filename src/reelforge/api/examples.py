"""Examples for the OpenAPI document (``/openapi.json``, shown at ``/docs``), per operation.

Every value in the captured block below was recorded from a running service: real uploads of
generated media, real projects, renders made by the worker with FFmpeg, and the problems the
service answered to real bad requests. ``python tests/test_openapi.py`` records them again;
``tests/test_openapi.py`` sends the request examples to a running service and checks that the
answers have the documented status and every field the response examples show, so the
examples cannot drift from the code.

Below the block the examples are arranged per operation: ``<OPERATION>_RESPONSES`` for a route's
``responses=`` (success examples, then each documented problem) and ``<OPERATION>_BODY`` for
its request body's ``openapi_examples``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from . import schemas
from .problems import CATALOGUE, PROBLEM_JSON

# --- captured: begin
# Recorded by `python tests/test_openapi.py` from a running service; do not edit by hand.

HEALTHZ: dict[str, Any] = {"status": "ok"}
READYZ: dict[str, Any] = {"status": "ok", "checks": {"database": "ok", "storage": "ok", "worker": "ok"}}
WORKSPACE: dict[str, Any] = {
    "id": "ws_01m8h9ygk9a3w5q9fr696z28r2",
    "object": "workspace",
    "name": "default",
    "created_at": "2026-11-28T14:46:32.299324Z",
    "scopes": [
        "admin",
        "assets:read",
        "assets:write",
        "batches:read",
        "batches:write",
        "brand_kits:read",
        "brand_kits:write",
        "events:read",
        "events:write",
        "keys:read",
        "keys:write",
        "projects:read",
        "projects:write",
        "renders:read",
        "renders:write",
        "templates:read",
        "templates:write",
        "webhooks:read",
        "webhooks:write",
    ],
}
ERROR_UNAUTHENTICATED: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/unauthenticated",
    "title": "Authentication is required.",
    "status": 401,
    "detail": "send an API key or access token as `Authorization: Bearer <token>`",
    "instance": "/v1/assets",
    "code": "unauthenticated",
    "request_id": "req_01m8h9ygramkv0pxjt0pzj2ppe",
}
KEY_CREATE: dict[str, Any] = {
    "name": "cms-publisher",
    "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
    "expires_at": "2027-12-31T23:59:59Z",
}
KEY_CREATED: dict[str, Any] = {
    "id": "key_01m8h9ygs7bmv7k37c6arf2ren",
    "object": "api_key",
    "name": "cms-publisher",
    "prefix": "rf_live_O5HbycDvkS5k",
    "last4": "StyV",
    "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
    "created_at": "2026-11-28T14:46:32.489119Z",
    "last_used_at": None,
    "expires_at": "2027-12-31T23:59:59Z",
    "revoked_at": None,
    "token": "rf_live_O5HbycDvkS5k_oLrOu2SToeSQcuFlWvGyPwNLYeBTChFwCPZpXImt07220StyV",
}
KEY_ID: str = "key_01m8h9ygs7bmv7k37c6arf2ren"
KEY_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "key_01m8h9ygsmwgqbgrm86rh8v68k",
            "object": "api_key",
            "name": "ci-renders",
            "prefix": "rf_live_pXEpDT8cEPGC",
            "last4": "uzyr",
            "scopes": ["renders:read"],
            "created_at": "2026-11-28T14:46:32.501717Z",
            "last_used_at": None,
            "expires_at": None,
            "revoked_at": None,
        },
        {
            "id": "key_01m8h9ygs7bmv7k37c6arf2ren",
            "object": "api_key",
            "name": "cms-publisher",
            "prefix": "rf_live_O5HbycDvkS5k",
            "last4": "StyV",
            "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
            "created_at": "2026-11-28T14:46:32.489119Z",
            "last_used_at": "2026-11-28T14:46:32.492096Z",
            "expires_at": "2027-12-31T23:59:59Z",
            "revoked_at": None,
        },
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTQ6NDY6MzIuNDg5MTE5KzAwOjAwIiwia2V5XzAxbThoOXlnczdibXY3azM3YzZhcmYycmVuIl0sImYiOiI0NDEzNmZhMzU1YjM2NzhhIn22Rl5aQBBybU1S3Y5mJI3R",
    "url": "/v1/keys",
}
KEY: dict[str, Any] = {
    "id": "key_01m8h9ygs7bmv7k37c6arf2ren",
    "object": "api_key",
    "name": "cms-publisher",
    "prefix": "rf_live_O5HbycDvkS5k",
    "last4": "StyV",
    "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
    "created_at": "2026-11-28T14:46:32.489119Z",
    "last_used_at": "2026-11-28T14:46:32.492096Z",
    "expires_at": "2027-12-31T23:59:59Z",
    "revoked_at": None,
}
KEY_ROLL: dict[str, Any] = {"grace_seconds": 3600}
KEY_ROLLED: dict[str, Any] = {
    "id": "key_01m8h9ygtc6nnr3qhtzva73ghv",
    "object": "api_key",
    "name": "cms-publisher",
    "prefix": "rf_live_gfXuzuzZkIHr",
    "last4": "zPQl",
    "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
    "created_at": "2026-11-28T14:46:32.526703Z",
    "last_used_at": None,
    "expires_at": None,
    "revoked_at": None,
    "token": "rf_live_gfXuzuzZkIHr_tyk3o27U0xAxCZm2fYI1XdFVec6RsL6gviwhpYYqYlO0EzPQl",
    "replaces": {
        "id": "key_01m8h9ygs7bmv7k37c6arf2ren",
        "object": "api_key",
        "name": "cms-publisher",
        "prefix": "rf_live_O5HbycDvkS5k",
        "last4": "StyV",
        "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
        "created_at": "2026-11-28T14:46:32.489119Z",
        "last_used_at": "2026-11-28T14:46:32.492096Z",
        "expires_at": "2026-11-28T15:46:32.524844Z",
        "revoked_at": None,
    },
}
KEY_REVOKED: dict[str, Any] = {
    "id": "key_01m8h9ygsmwgqbgrm86rh8v68k",
    "object": "api_key",
    "name": "ci-renders",
    "prefix": "rf_live_pXEpDT8cEPGC",
    "last4": "uzyr",
    "scopes": ["renders:read"],
    "created_at": "2026-11-28T14:46:32.501717Z",
    "last_used_at": None,
    "expires_at": None,
    "revoked_at": "2026-11-28T14:46:32.533691Z",
}
ERROR_KEY_ROLL_REVOKED: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/conflict",
    "title": "The request conflicts with the resource's state.",
    "status": 409,
    "detail": "a revoked key cannot be rolled",
    "instance": "/v1/keys/key_01m8h9ygsmwgqbgrm86rh8v68k/roll",
    "code": "conflict",
    "request_id": "req_01m8h9ygtt2dgrj6c492yhagk4",
}
ERROR_ROLL_GRACE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the request",
    "instance": "/v1/keys/key_01m8h9ygs7bmv7k37c6arf2ren/roll",
    "code": "validation-error",
    "request_id": "req_01m8h9ygv05xag1y4zk55jz2fj",
    "errors": [
        {
            "detail": "Input should be less than or equal to 604800",
            "code": "less_than_equal",
            "pointer": "#/grace_seconds",
        }
    ],
}
ERROR_INVALID_TOKEN: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/unauthenticated",
    "title": "Authentication is required.",
    "status": 401,
    "detail": "the API key was revoked",
    "instance": "/v1/renders",
    "code": "unauthenticated",
    "request_id": "req_01m8h9ygv3m4bxf25q6s20rkwf",
}
ERROR_KEY_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no API key key_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/keys/key_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h9ygwakhxgd90hq00gfm6t",
}
ERROR_KEY_VALIDATION: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "2 problems in the request",
    "instance": "/v1/keys",
    "code": "validation-error",
    "request_id": "req_01m8h9ygwgd7saed9xzd99bzwq",
    "errors": [
        {"detail": "this field is required", "code": "missing", "pointer": "#/scopes"},
        {"detail": "unknown field (check its spelling)", "code": "extra_forbidden", "pointer": "#/scope"},
    ],
}
ERROR_LIST_LIMIT: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the request",
    "instance": "/v1/assets",
    "code": "validation-error",
    "request_id": "req_01m8h9ygwmv0t23dwrs0w79nam",
    "errors": [
        {
            "detail": "Input should be less than or equal to 100",
            "code": "less_than_equal",
            "parameter": "limit",
        }
    ],
}
ERROR_INVALID_CURSOR: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/invalid-cursor",
    "title": "The pagination cursor is not valid for this list.",
    "status": 400,
    "detail": "the cursor is not valid for this list (was it used with other filters?)",
    "instance": "/v1/assets",
    "code": "invalid-cursor",
    "request_id": "req_01m8h9ygwr0tez0vv90vvy56vr",
    "errors": [{"parameter": "cursor", "detail": "invalid cursor", "code": "invalid_cursor"}],
}
ERROR_FORBIDDEN_GRANT: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/forbidden",
    "title": "You are not allowed to do this.",
    "status": 403,
    "detail": "you cannot grant scopes you do not hold: admin, "
    "assets:read, assets:write, batches:read, batches:write, "
    "brand_kits:read, brand_kits:write, events:read, "
    "events:write, keys:read, projects:read, projects:write, "
    "renders:write, templates:read, templates:write, "
    "webhooks:read, webhooks:write",
    "instance": "/v1/keys",
    "code": "forbidden",
    "request_id": "req_01m8h9ygx3frp9qwa3rdkqc2gz",
}
ERROR_SCOPE_KEYS_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `keys:read` scope",
    "instance": "/v1/keys",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygxqdg72zmpw0xeejbq8",
    "required_scope": "keys:read",
}
ERROR_SCOPE_KEYS_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `keys:write` scope",
    "instance": "/v1/keys",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygxxv7f4tsw6hqpx707w",
    "required_scope": "keys:write",
}
ERROR_SCOPE_ASSETS_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `assets:read` scope",
    "instance": "/v1/assets",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygy0gjzwbwc9hzyjxams",
    "required_scope": "assets:read",
}
ERROR_SCOPE_ASSETS_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `assets:write` scope",
    "instance": "/v1/assets",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygy3r72t8197tya8hq4m",
    "required_scope": "assets:write",
}
ERROR_SCOPE_PROJECTS_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `projects:read` scope",
    "instance": "/v1/projects",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygyansda9kdf32kbem3n",
    "required_scope": "projects:read",
}
ERROR_SCOPE_PROJECTS_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `projects:write` scope",
    "instance": "/v1/projects",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygyfhp4yt4psd1nyv2m8",
    "required_scope": "projects:write",
}
ERROR_SCOPE_RENDERS_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `renders:read` scope",
    "instance": "/v1/renders",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygyktnyfd7x293rxm9ns",
    "required_scope": "renders:read",
}
ERROR_SCOPE_RENDERS_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `renders:write` scope",
    "instance": "/v1/renders",
    "code": "insufficient-scope",
    "request_id": "req_01m8h9ygys71xt92tj66qcv3ga",
    "required_scope": "renders:write",
}
CLIENT_CREATE: dict[str, Any] = {
    "name": "automation-platform",
    "scopes": ["assets:read", "renders:read", "renders:write"],
}
CLIENT_CREATED: dict[str, Any] = {
    "id": "cli_01m8h9ygz12bwebmyfwtkzx33h",
    "object": "oauth_client",
    "name": "automation-platform",
    "scopes": ["assets:read", "renders:read", "renders:write"],
    "created_at": "2026-11-28T14:46:32.676178Z",
    "revoked_at": None,
    "client_secret": "wOYwVH3U_4-3s0ProDxjc7XOysPsyKk14tFn9ciWK10",
}
CLIENT_ID: str = "cli_01m8h9ygz12bwebmyfwtkzx33h"
TOKEN_FORM: dict[str, Any] = {"grant_type": "client_credentials", "scope": "renders:read renders:write"}
TOKEN: dict[str, Any] = {
    "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6IjdhMTcxZTM1YzVkOWU3NWIiLCJ0eXAiOiJhdCtqd3QifQ.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjgwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjgwMDAvdjEiLCJzdWIiOiJjbGlfMDFtOGg5eWd6MTJid2VibXlmd3RrengzM2giLCJjbGllbnRfaWQiOiJjbGlfMDFtOGg5eWd6MTJid2VibXlmd3RrengzM2giLCJpYXQiOjE3OTU4NzcxOTIsImV4cCI6MTc5NTg3ODA5MiwianRpIjoiYmEwNDQyNjY5MTM3ODhmYzM4Nzc5YWIyZjE3ZTJjZTUiLCJzY29wZSI6InJlbmRlcnM6cmVhZCByZW5kZXJzOndyaXRlIiwid3MiOiJ3c18wMW04aDl5Z2s5YTN3NXE5ZnI2OTZ6MjhyMiJ9.-yPDLPPQcyHtqrDTeYENi38ynOgwxjDMQeWUQHZAbXeOm7RhJ5wgawO7fLCQk8X7RWZAArY0Icijjq3SVUCvhw",
    "token_type": "Bearer",
    "expires_in": 900,
    "scope": "renders:read renders:write",
}
TOKEN_ERROR_CLIENT: dict[str, Any] = {
    "error": "invalid_client",
    "error_description": "client authentication failed",
}
TOKEN_ERROR_GRANT: dict[str, Any] = {
    "error": "unsupported_grant_type",
    "error_description": "only client_credentials is supported",
}
CLIENT_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "cli_01m8h9yh006jkjmgjr7rvatmxz",
            "object": "oauth_client",
            "name": "old-zapier",
            "scopes": ["renders:read"],
            "created_at": "2026-11-28T14:46:32.705958Z",
            "revoked_at": None,
        },
        {
            "id": "cli_01m8h9ygz12bwebmyfwtkzx33h",
            "object": "oauth_client",
            "name": "automation-platform",
            "scopes": ["assets:read", "renders:read", "renders:write"],
            "created_at": "2026-11-28T14:46:32.676178Z",
            "revoked_at": None,
        },
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/oauth/clients",
}
CLIENT_REVOKED: dict[str, Any] = {
    "id": "cli_01m8h9yh006jkjmgjr7rvatmxz",
    "object": "oauth_client",
    "name": "old-zapier",
    "scopes": ["renders:read"],
    "created_at": "2026-11-28T14:46:32.705958Z",
    "revoked_at": "2026-11-28T14:46:32.721986Z",
}
ERROR_CLIENT_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no OAuth client cli_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/oauth/clients/cli_01jdzzzzzzzzzzzzzzzzzzzzzz/revoke",
    "code": "not-found",
    "request_id": "req_01m8h9yh0rv7mpzvhjmr0nq9fa",
}
UPLOAD_FIELDS: dict[str, Any] = {
    "name": "Spring intro.mp4",
    "tags": "brand,spring",
    "metadata": '{"campaign": "spring-2027", "shot_by": "Anna"}',
}
ASSET_CREATED: dict[str, Any] = {
    "id": "ast_01m8h9yh27ft5heeejr16dffax",
    "object": "asset",
    "name": "Spring intro.mp4",
    "kind": "video",
    "content_type": "video/mp4",
    "size_bytes": 4932311,
    "sha256": "bc76e439fed63cbc648e0c9f27da209dd34fd3ef47187ffb34d9fade3f0c7e0a",
    "media": {
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": 6.0,
        "duration_exact": "6/1",
        "width": 1280,
        "height": 720,
        "coded_width": 1280,
        "coded_height": 720,
        "rotation": 0,
        "fps": 25.0,
        "fps_exact": "25/1",
        "video_codec": "h264",
        "pix_fmt": "yuv420p",
        "has_alpha": False,
        "has_video": True,
        "has_audio": True,
        "audio_codec": "aac",
        "audio_channels": 2,
        "sample_rate": 48000,
        "bit_rate": 6576414,
    },
    "tags": ["brand", "spring"],
    "metadata": {"campaign": "spring-2027", "shot_by": "Anna"},
    "source": "upload",
    "derived_from": {},
    "created_at": "2026-11-28T14:46:32.777470Z",
    "thumbnail_url": None,
    "waveform_url": None,
    "previews": "pending",
    "content_url": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/content",
    "deduplicated": False,
}
ASSET_CREATED_HEADERS: dict[str, Any] = {
    "Location": "http://127.0.0.1:8000/v1/assets/ast_01m8h9yh27ft5heeejr16dffax",
    "ETag": '"a537f95cbc1fedb42bd3bd608d0fc0c2"',
}
ASSET_DEDUPLICATED: dict[str, Any] = {
    "id": "ast_01m8h9yh27ft5heeejr16dffax",
    "object": "asset",
    "name": "Spring intro.mp4",
    "kind": "video",
    "content_type": "video/mp4",
    "size_bytes": 4932311,
    "sha256": "bc76e439fed63cbc648e0c9f27da209dd34fd3ef47187ffb34d9fade3f0c7e0a",
    "media": {
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": 6.0,
        "duration_exact": "6/1",
        "width": 1280,
        "height": 720,
        "coded_width": 1280,
        "coded_height": 720,
        "rotation": 0,
        "fps": 25.0,
        "fps_exact": "25/1",
        "video_codec": "h264",
        "pix_fmt": "yuv420p",
        "has_alpha": False,
        "has_video": True,
        "has_audio": True,
        "audio_codec": "aac",
        "audio_channels": 2,
        "sample_rate": 48000,
        "bit_rate": 6576414,
    },
    "tags": ["brand", "spring"],
    "metadata": {"campaign": "spring-2027", "shot_by": "Anna"},
    "source": "upload",
    "derived_from": {},
    "created_at": "2026-11-28T14:46:32.777470Z",
    "thumbnail_url": None,
    "waveform_url": None,
    "previews": "pending",
    "content_url": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/content",
    "deduplicated": True,
}
ASSET_AUDIO: dict[str, Any] = {
    "id": "ast_01m8h9yh7nng7x9q27nhgec1k5",
    "object": "asset",
    "name": "spring-theme.mp3",
    "kind": "audio",
    "content_type": "audio/mpeg",
    "size_bytes": 192788,
    "sha256": "f39eb6e7bc16bcce956878e6ac131ed84ac45fe86a100163daa6a1924888a0cd",
    "media": {
        "format": "mp3",
        "duration": 12.0,
        "duration_exact": "12/1",
        "width": None,
        "height": None,
        "coded_width": None,
        "coded_height": None,
        "rotation": 0,
        "fps": None,
        "fps_exact": None,
        "video_codec": None,
        "pix_fmt": None,
        "has_alpha": False,
        "has_video": False,
        "has_audio": True,
        "audio_codec": "mp3",
        "audio_channels": 2,
        "sample_rate": 48000,
        "bit_rate": 128525,
    },
    "tags": ["music", "spring"],
    "metadata": {"license": "CC-BY 4.0"},
    "source": "upload",
    "derived_from": {},
    "created_at": "2026-11-28T14:46:32.949884Z",
    "thumbnail_url": None,
    "waveform_url": None,
    "previews": "pending",
    "content_url": "/v1/assets/ast_01m8h9yh7nng7x9q27nhgec1k5/content",
    "deduplicated": False,
}
INTRO_ID: str = "ast_01m8h9yh27ft5heeejr16dffax"
BROLL_ID: str = "ast_01m8h9yh68ffchnbxfz629rcap"
MUSIC_ID: str = "ast_01m8h9yh7nng7x9q27nhgec1k5"
LOGO_ID: str = "ast_01m8h9yh9555726gjyp915pwgp"
ERROR_MEDIA_UNSUPPORTED: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/media-unsupported",
    "title": "The file is not media Reelforge can use.",
    "status": 422,
    "detail": "a text file that is neither subtitles (SRT, WebVTT, "
    "ASS/SSA) nor a 3D LUT (.cube); media must be video, "
    "audio or an image",
    "instance": "/v1/assets",
    "code": "media-unsupported",
    "request_id": "req_01m8h9yhd0zwyh5v80092dav1j",
    "errors": [
        {
            "pointer": "#/file",
            "detail": "a text file that is neither subtitles "
            "(SRT, WebVTT, ASS/SSA) nor a 3D LUT "
            "(.cube); media must be video, audio or an "
            "image",
            "code": "media_unsupported",
        }
    ],
}
ERROR_UPLOAD_NOT_MULTIPART: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/unsupported-media-type",
    "title": "The content type is not supported here.",
    "status": 415,
    "detail": "send the file as multipart/form-data with a `file` part",
    "instance": "/v1/assets",
    "code": "unsupported-media-type",
    "request_id": "req_01m8h9yhd86qvj5kzse3msfw23",
    "errors": [{"header": "Content-Type", "detail": "expected multipart/form-data", "code": "unsupported"}],
}
ERROR_UPLOAD_FIELDS: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the form",
    "instance": "/v1/assets",
    "code": "validation-error",
    "request_id": "req_01m8h9yhddwn7x8fsp3stpkggh",
    "errors": [
        {"pointer": "#/tgas", "detail": "unknown field (check its spelling)", "code": "extra_forbidden"}
    ],
}
ASSET_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "ast_01m8h9yh68ffchnbxfz629rcap",
            "object": "asset",
            "name": "city-broll.mp4",
            "kind": "video",
            "content_type": "video/mp4",
            "size_bytes": 11738901,
            "sha256": "bad12ff93ec6cf87fc4e67dafc37a4128dd9f48c30da28136953ad851a1f5bb6",
            "media": {
                "format": "mov,mp4,m4a,3gp,3g2,mj2",
                "duration": 8.0,
                "duration_exact": "8/1",
                "width": 1280,
                "height": 720,
                "coded_width": 1280,
                "coded_height": 720,
                "rotation": 0,
                "fps": 25.0,
                "fps_exact": "25/1",
                "video_codec": "h264",
                "pix_fmt": "yuv420p",
                "has_alpha": False,
                "has_video": True,
                "has_audio": True,
                "audio_codec": "aac",
                "audio_channels": 2,
                "sample_rate": 48000,
                "bit_rate": 11738901,
            },
            "tags": ["b-roll", "spring"],
            "metadata": {},
            "source": "upload",
            "derived_from": {},
            "created_at": "2026-11-28T14:46:32.905152Z",
            "thumbnail_url": "/v1/assets/ast_01m8h9yh68ffchnbxfz629rcap/thumbnail",
            "waveform_url": None,
            "previews": "ready",
            "content_url": "/v1/assets/ast_01m8h9yh68ffchnbxfz629rcap/content",
        }
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTQ6NDY6MzIuOTA1MTUyKzAwOjAwIiwiYXN0XzAxbThoOXloNjhmZmNobmJ4Zno2MjlyY2FwIl0sImYiOiJlOGZmZDg3ZjIzMTkwMTFkIn2E2QhmVqpLlFh4-QRz0PtT",
    "url": "/v1/assets",
}
ASSET: dict[str, Any] = {
    "id": "ast_01m8h9yh27ft5heeejr16dffax",
    "object": "asset",
    "name": "Spring intro.mp4",
    "kind": "video",
    "content_type": "video/mp4",
    "size_bytes": 4932311,
    "sha256": "bc76e439fed63cbc648e0c9f27da209dd34fd3ef47187ffb34d9fade3f0c7e0a",
    "media": {
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": 6.0,
        "duration_exact": "6/1",
        "width": 1280,
        "height": 720,
        "coded_width": 1280,
        "coded_height": 720,
        "rotation": 0,
        "fps": 25.0,
        "fps_exact": "25/1",
        "video_codec": "h264",
        "pix_fmt": "yuv420p",
        "has_alpha": False,
        "has_video": True,
        "has_audio": True,
        "audio_codec": "aac",
        "audio_channels": 2,
        "sample_rate": 48000,
        "bit_rate": 6576414,
    },
    "tags": ["brand", "spring"],
    "metadata": {"campaign": "spring-2027", "shot_by": "Anna"},
    "source": "upload",
    "derived_from": {},
    "created_at": "2026-11-28T14:46:32.777470Z",
    "thumbnail_url": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/thumbnail",
    "waveform_url": None,
    "previews": "ready",
    "content_url": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/content",
}
ASSET_ETAG: str = '"59011413b2b3be59fcd5f7f6ebd62de0"'
ASSET_PATCH: dict[str, Any] = {
    "name": "Spring intro (final).mp4",
    "tags": ["brand", "spring", "approved"],
    "metadata": {"campaign": "spring-2027", "approved_by": "Marta"},
}
ASSET_PATCHED: dict[str, Any] = {
    "id": "ast_01m8h9yh27ft5heeejr16dffax",
    "object": "asset",
    "name": "Spring intro (final).mp4",
    "kind": "video",
    "content_type": "video/mp4",
    "size_bytes": 4932311,
    "sha256": "bc76e439fed63cbc648e0c9f27da209dd34fd3ef47187ffb34d9fade3f0c7e0a",
    "media": {
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": 6.0,
        "duration_exact": "6/1",
        "width": 1280,
        "height": 720,
        "coded_width": 1280,
        "coded_height": 720,
        "rotation": 0,
        "fps": 25.0,
        "fps_exact": "25/1",
        "video_codec": "h264",
        "pix_fmt": "yuv420p",
        "has_alpha": False,
        "has_video": True,
        "has_audio": True,
        "audio_codec": "aac",
        "audio_channels": 2,
        "sample_rate": 48000,
        "bit_rate": 6576414,
    },
    "tags": ["approved", "brand", "spring"],
    "metadata": {"campaign": "spring-2027", "approved_by": "Marta"},
    "source": "upload",
    "derived_from": {},
    "created_at": "2026-11-28T14:46:32.777470Z",
    "thumbnail_url": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/thumbnail",
    "waveform_url": None,
    "previews": "ready",
    "content_url": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/content",
}
ERROR_ASSET_STALE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-failed",
    "title": "The resource changed since you read it.",
    "status": 412,
    "detail": "the asset changed since you read it (If-Match does not match)",
    "instance": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax",
    "code": "precondition-failed",
    "request_id": "req_01m8h9yhensat19jxwh66yf68k",
    "errors": [{"header": "If-Match", "detail": "stale ETag", "code": "stale"}],
}
ERROR_ASSET_PATCH_VALIDATION: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the request",
    "instance": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax",
    "code": "validation-error",
    "request_id": "req_01m8h9yhevckzb8eg54t5w7gp1",
    "errors": [
        {"detail": "unknown field (check its spelling)", "code": "extra_forbidden", "pointer": "#/tag"}
    ],
}
ERROR_ASSET_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no asset ast_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/assets/ast_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h9yhey5hqvynr31fz4p8t2",
}
DOWNLOAD_PARTIAL_HEADERS: dict[str, Any] = {
    "Content-Type": "video/mp4",
    "Content-Length": "1024",
    "Content-Range": "bytes 0-1023/4932311",
    "Accept-Ranges": "bytes",
    "ETag": '"bc76e439fed63cbc648e0c9f27da209dd34fd3ef47187ffb34d9fade3f0c7e0a"',
    "Content-Disposition": 'attachment; filename="Spring intro '
    '(final).mp4"; '
    "filename*=UTF-8''Spring%20intro%20%28final%29.mp4",
}
DOWNLOAD_HEADERS: dict[str, Any] = {
    "Content-Type": "video/mp4",
    "Content-Length": "4932311",
    "Accept-Ranges": "bytes",
    "ETag": '"bc76e439fed63cbc648e0c9f27da209dd34fd3ef47187ffb34d9fade3f0c7e0a"',
    "Content-Disposition": 'attachment; filename="Spring intro (final).mp4"; '
    "filename*=UTF-8''Spring%20intro%20%28final%29.mp4",
}
ERROR_RANGE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/range-not-satisfiable",
    "title": "The requested range is outside the file.",
    "status": 416,
    "detail": "the range is outside the file of 4932311 bytes",
    "instance": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/content",
    "code": "range-not-satisfiable",
    "request_id": "req_01m8h9yhfxbprrva8j129e088a",
    "errors": [{"header": "Range", "detail": "the file has 4932311 bytes", "code": "unsatisfiable"}],
}
ERROR_NO_WAVEFORM: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "asset ast_01m8h9yh27ft5heeejr16dffax has no waveform",
    "instance": "/v1/assets/ast_01m8h9yh27ft5heeejr16dffax/waveform",
    "code": "not-found",
    "request_id": "req_01m8h9yhg3mhm67ss4e1vfg8ba",
}
EDIT: dict[str, Any] = {
    "timeline": {
        "background": "#101010",
        "tracks": [
            {
                "name": "footage",
                "clips": [
                    {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                    {
                        "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                        "length": 3,
                        "transition_in": {"type": "fade", "duration": 0.5},
                    },
                ],
            },
            {
                "name": "titles",
                "clips": [
                    {
                        "asset": {
                            "type": "text",
                            "text": "Spring sale",
                            "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                        },
                        "start": 0.5,
                        "length": 2.5,
                        "anchor": "bottom",
                        "offset": {"y": -0.1},
                    }
                ],
            },
        ],
        "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
    },
    "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
}
PROJECT_CREATE: dict[str, Any] = {
    "name": "Spring promo",
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
    },
    "message": "first cut",
}
PROJECT_CREATED: dict[str, Any] = {
    "id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "object": "project",
    "name": "Spring promo",
    "revision": 1,
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
    },
    "created_at": "2026-11-28T14:46:33.275498Z",
    "updated_at": "2026-11-28T14:46:33.275498Z",
    "revisions_url": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions",
}
PROJECT_CREATED_HEADERS: dict[str, Any] = {
    "Location": "http://127.0.0.1:8000/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "ETag": '"1"',
}
PROJECT_ID: str = "prj_01m8h9yhhv8f3v9bdt7h13ccbe"
ERROR_EDIT_INVALID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/edit-invalid",
    "title": "The edit is not valid.",
    "status": 422,
    "detail": "2 problems in the edit",
    "instance": "/v1/projects",
    "code": "edit-invalid",
    "request_id": "req_01m8h9yhjrw8v3qbyps4ggq5k0",
    "errors": [
        {
            "pointer": "#/edit/timeline/tracks/0/clips/0/asset/src",
            "detail": "no asset ast_01jdzzzzzzzzzzzzzzzzzzzzzz in this workspace",
            "code": "asset_not_found",
        },
        {
            "pointer": "#/edit/timeline/tracks/0/clips/0/length",
            "detail": "a time cannot be negative (got -2); or expected 'auto' or 'end'",
            "code": "invalid",
        },
    ],
}
ERROR_PROJECT_VALIDATION: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "2 problems in the request",
    "instance": "/v1/projects",
    "code": "validation-error",
    "request_id": "req_01m8h9yhjx23hrfbmxqwzn8sja",
    "errors": [
        {"detail": "this field is required", "code": "missing", "pointer": "#/name"},
        {"detail": "unknown field (check its spelling)", "code": "extra_forbidden", "pointer": "#/title"},
    ],
}
PROJECT_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "prj_01m8h9yhjcgnay3gcts78pqjpb",
            "object": "project",
            "name": "Autumn teaser",
            "revision": 1,
            "edit": {
                "timeline": {
                    "background": "#101010",
                    "tracks": [
                        {
                            "name": "footage",
                            "clips": [
                                {
                                    "asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"},
                                    "length": 3,
                                },
                                {
                                    "asset": {
                                        "type": "video",
                                        "src": "ast_01m8h9yh68ffchnbxfz629rcap",
                                        "trim": 1,
                                    },
                                    "length": 3,
                                    "transition_in": {"type": "fade", "duration": 0.5},
                                },
                            ],
                        },
                        {
                            "name": "titles",
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "Spring sale",
                                        "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                                    },
                                    "start": 0.5,
                                    "length": 2.5,
                                    "anchor": "bottom",
                                    "offset": {"y": -0.1},
                                }
                            ],
                        },
                    ],
                    "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
                },
                "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
            },
            "created_at": "2026-11-28T14:46:33.292714Z",
            "updated_at": "2026-11-28T14:46:33.292714Z",
            "revisions_url": "/v1/projects/prj_01m8h9yhjcgnay3gcts78pqjpb/revisions",
        }
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTQ6NDY6MzMuMjkyNzE0KzAwOjAwIiwicHJqXzAxbThoOXloamNnbmF5M2djdHM3OHBxanBiIl0sImYiOiI0NDEzNmZhMzU1YjM2NzhhIn08UgDbeEgLJTLKSx7eCR_r",
    "url": "/v1/projects",
}
PROJECT: dict[str, Any] = {
    "id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "object": "project",
    "name": "Spring promo",
    "revision": 1,
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
    },
    "created_at": "2026-11-28T14:46:33.275498Z",
    "updated_at": "2026-11-28T14:46:33.275498Z",
    "revisions_url": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions",
}
PROJECT_HEADERS: dict[str, Any] = {"ETag": '"1"', "Accept-Patch": "application/json-patch+json"}
ERROR_PROJECT_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no project prj_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/projects/prj_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h9yhkkbh0w935asxc84a4v",
}
PATCHES: dict[str, Any] = {
    "move a clip": {
        "summary": "Put the second clip of the footage track first",
        "value": [{"op": "move", "from": "/timeline/tracks/0/clips/1", "path": "/timeline/tracks/0/clips/0"}],
    },
    "trim a clip": {
        "summary": "Start the second clip 2 s into its source and make it "
        "2.5 s long (`add` sets a member whether or not the "
        "stored edit has it; `replace` fails where it is "
        "absent)",
        "value": [
            {"op": "add", "path": "/timeline/tracks/0/clips/1/asset/trim", "value": 2},
            {"op": "add", "path": "/timeline/tracks/0/clips/1/length", "value": 2.5},
        ],
    },
    "restyle a title": {
        "summary": "Make the title gold with an outline, only if it still says what you saw",
        "value": [
            {"op": "test", "path": "/timeline/tracks/1/clips/0/asset/text", "value": "Spring sale"},
            {"op": "add", "path": "/timeline/tracks/1/clips/0/asset/style/color", "value": "#ffd700"},
            {
                "op": "add",
                "path": "/timeline/tracks/1/clips/0/asset/style/stroke",
                "value": {"color": "#000000", "width": 0.06},
            },
        ],
    },
}
PROJECT_PATCHED: dict[str, Any] = {
    "id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "object": "project",
    "name": "Spring promo",
    "revision": 2,
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 2},
                            "length": 2.5,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
    },
    "created_at": "2026-11-28T14:46:33.275498Z",
    "updated_at": "2026-11-28T14:46:33.437378Z",
    "revisions_url": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions",
}
ERROR_PROJECT_STALE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-failed",
    "title": "The resource changed since you read it.",
    "status": 412,
    "detail": "the project changed since you read it (it is now at "
    "revision 2); GET it again, re-apply your change and send "
    "the new ETag in If-Match",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "code": "precondition-failed",
    "request_id": "req_01m8h9yhq80nmmhhb1n43mneg7",
    "errors": [{"header": "If-Match", "detail": '"1" does not match the current ETag', "code": "stale_etag"}],
}
ERROR_PROJECT_NO_IF_MATCH: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-required",
    "title": "This request must be conditional (If-Match).",
    "status": 428,
    "detail": "changing a project needs If-Match with its ETag "
    "(from GET), so concurrent editors cannot overwrite "
    "each other; If-Match: * to overwrite whatever is "
    "there",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "code": "precondition-required",
    "request_id": "req_01m8h9yhqer7r65afhgaaqehnx",
    "errors": [{"header": "If-Match", "detail": "this header is required", "code": "missing"}],
}
ERROR_PATCH_MEDIA_TYPE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/unsupported-media-type",
    "title": "The content type is not supported here.",
    "status": 415,
    "detail": "send a JSON Patch (RFC 6902) as Content-Type: "
    "application/json-patch+json; to replace the whole edit "
    "use PUT",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "code": "unsupported-media-type",
    "request_id": "req_01m8h9yhqj43yrkzmzz5w4ccs4",
    "errors": [
        {
            "header": "Content-Type",
            "detail": "expected application/json-patch+json",
            "code": "unsupported_media_type",
        }
    ],
}
ERROR_PATCH_CONFLICT: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "operation 0 of the patch cannot be applied; nothing was changed",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "code": "validation-error",
    "request_id": "req_01m8h9yhqn0f593ycth88rx952",
    "errors": [
        {
            "pointer": "#/0",
            "detail": "cannot replace "
            "'/timeline/tracks/0/clips/0/asset/volume': "
            "can't replace a non-existent object 'volume'",
            "code": "patch_conflict",
        }
    ],
}
ERROR_PATCH_EDIT_INVALID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/edit-invalid",
    "title": "The edit is not valid.",
    "status": 422,
    "detail": "1 problem in the edit",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "code": "edit-invalid",
    "request_id": "req_01m8h9yhqsy70pdt9jrm2yw0wy",
    "errors": [
        {
            "pointer": "#/timeline/tracks/0/clips/0/length",
            "detail": "a time cannot be negative (got -1); or expected 'auto' or 'end'",
            "code": "invalid",
        }
    ],
}
PROJECT_REPLACE: dict[str, Any] = {
    "name": "Spring promo (with story)",
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [
            {"resolution": "720p", "quality": "medium", "poster": {"time": 1}},
            {"name": "story", "aspect_ratio": "9:16", "resolution": "720p", "quality": "medium"},
        ],
    },
    "message": "add a 9:16 story output",
}
PROJECT_REPLACED: dict[str, Any] = {
    "id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "object": "project",
    "name": "Spring promo (with story)",
    "revision": 3,
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [
            {"resolution": "720p", "quality": "medium", "poster": {"time": 1}},
            {"name": "story", "aspect_ratio": "9:16", "resolution": "720p", "quality": "medium"},
        ],
    },
    "created_at": "2026-11-28T14:46:33.275498Z",
    "updated_at": "2026-11-28T14:46:33.476229Z",
    "revisions_url": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions",
}
ERROR_PROJECT_PUT_NO_IF_MATCH: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-required",
    "title": "This request must be conditional (If-Match).",
    "status": 428,
    "detail": "changing a project needs If-Match with its ETag "
    "(from GET), so concurrent editors cannot "
    "overwrite each other; If-Match: * to overwrite "
    "whatever is there",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "code": "precondition-required",
    "request_id": "req_01m8h9yhrg84ada4rrjpjy2953",
    "errors": [{"header": "If-Match", "detail": "this header is required", "code": "missing"}],
}
REVISION_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "object": "project_revision",
            "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
            "number": 3,
            "edit": {
                "timeline": {
                    "background": "#101010",
                    "tracks": [
                        {
                            "name": "footage",
                            "clips": [
                                {
                                    "asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"},
                                    "length": 3,
                                },
                                {
                                    "asset": {
                                        "type": "video",
                                        "src": "ast_01m8h9yh68ffchnbxfz629rcap",
                                        "trim": 1,
                                    },
                                    "length": 3,
                                    "transition_in": {"type": "fade", "duration": 0.5},
                                },
                            ],
                        },
                        {
                            "name": "titles",
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "Spring sale",
                                        "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                                    },
                                    "start": 0.5,
                                    "length": 2.5,
                                    "anchor": "bottom",
                                    "offset": {"y": -0.1},
                                }
                            ],
                        },
                    ],
                    "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
                },
                "outputs": [
                    {"resolution": "720p", "quality": "medium", "poster": {"time": 1}},
                    {"name": "story", "aspect_ratio": "9:16", "resolution": "720p", "quality": "medium"},
                ],
            },
            "message": "add a 9:16 story output",
            "created_at": "2026-11-28T14:46:33.476229Z",
        },
        {
            "object": "project_revision",
            "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
            "number": 2,
            "edit": {
                "timeline": {
                    "background": "#101010",
                    "tracks": [
                        {
                            "name": "footage",
                            "clips": [
                                {
                                    "asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"},
                                    "length": 3,
                                },
                                {
                                    "asset": {
                                        "type": "video",
                                        "src": "ast_01m8h9yh68ffchnbxfz629rcap",
                                        "trim": 2,
                                    },
                                    "length": 2.5,
                                    "transition_in": {"type": "fade", "duration": 0.5},
                                },
                            ],
                        },
                        {
                            "name": "titles",
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "Spring sale",
                                        "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                                    },
                                    "start": 0.5,
                                    "length": 2.5,
                                    "anchor": "bottom",
                                    "offset": {"y": -0.1},
                                }
                            ],
                        },
                    ],
                    "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
                },
                "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
            },
            "message": "JSON Patch: add "
            "/timeline/tracks/0/clips/1/asset/trim, add "
            "/timeline/tracks/0/clips/1/length",
            "created_at": "2026-11-28T14:46:33.437378Z",
        },
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTQ6NDY6MzMuNDM3Mzc4KzAwOjAwIiwiMiJdLCJmIjoiZjJiZTU2M2JmZDgwNjU3NiJ95ei9_XkLREkwLqAoRkjkVg",
    "url": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions",
}
REVISION: dict[str, Any] = {
    "object": "project_revision",
    "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "number": 1,
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
    },
    "message": "first cut",
    "created_at": "2026-11-28T14:46:33.275498Z",
}
ERROR_REVISION_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "project prj_01m8h9yhhv8f3v9bdt7h13ccbe has no revision 42 (the latest is 3)",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions/42",
    "code": "not-found",
    "request_id": "req_01m8h9yhs20ttt281048yeskc8",
}
ERROR_REVISION_NUMBER: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the request",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions/latest",
    "code": "validation-error",
    "request_id": "req_01m8h9yhs7rn6ybrz20wz2bfdg",
    "errors": [
        {
            "detail": "Input should be a valid integer, unable to parse string as an integer",
            "code": "int_parsing",
            "parameter": "number",
        }
    ],
}
RESTORE: dict[str, Any] = {"message": "back to the first cut"}
RESTORED: dict[str, Any] = {
    "id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "object": "project",
    "name": "Spring promo (with story)",
    "revision": 4,
    "edit": {
        "timeline": {
            "background": "#101010",
            "tracks": [
                {
                    "name": "footage",
                    "clips": [
                        {"asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax"}, "length": 3},
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh68ffchnbxfz629rcap", "trim": 1},
                            "length": 3,
                            "transition_in": {"type": "fade", "duration": 0.5},
                        },
                    ],
                },
                {
                    "name": "titles",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Spring sale",
                                "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                            },
                            "start": 0.5,
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.1},
                        }
                    ],
                },
            ],
            "soundtrack": {"src": "ast_01m8h9yh7nng7x9q27nhgec1k5", "volume": 0.6, "fade_out": 1},
        },
        "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
    },
    "created_at": "2026-11-28T14:46:33.275498Z",
    "updated_at": "2026-11-28T14:46:33.520263Z",
    "revisions_url": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions",
}
ERROR_RESTORE_STALE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-failed",
    "title": "The resource changed since you read it.",
    "status": 412,
    "detail": "the project changed since you read it (it is now at "
    "revision 4); GET it again, re-apply your change and send "
    "the new ETag in If-Match",
    "instance": "/v1/projects/prj_01m8h9yhhv8f3v9bdt7h13ccbe/revisions/1/restore",
    "code": "precondition-failed",
    "request_id": "req_01m8h9yhsv2f24yx0jh8n967ff",
    "errors": [{"header": "If-Match", "detail": '"3" does not match the current ETag', "code": "stale_etag"}],
}
RENDER_FROM_PROJECT: dict[str, Any] = {
    "project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "revision": 2,
    "metadata": {"cms_entry": "post-4711"},
}
RENDER_DRY_RUN: dict[str, Any] = {"project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe", "dry_run": True}
RENDER_PLAN: dict[str, Any] = {
    "object": "render_plan",
    "valid": True,
    "duration": 6.0,
    "outputs": [
        {
            "name": "render.mp4",
            "format": "mp4",
            "width": 1280,
            "height": 720,
            "fps": 30.0,
            "fps_exact": "30/1",
            "frames": 180,
            "duration": 6.0,
            "quality": "medium",
            "audio": True,
            "poster": "render.poster.jpg",
            "thumbnail": None,
            "sidecars": [],
        }
    ],
    "estimated_render_seconds": 9.1,
    "estimate": "output pixels x frames at x264's rate for the quality, scaled by "
    "CPU cores; detailed footage takes about this long, flat graphics "
    "less",
    "project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "revision": 4,
    "brand": None,
}
RENDER_QUEUED: dict[str, Any] = {
    "id": "rnd_01m8h9yhvpp42k7tg16xab70mp",
    "object": "render",
    "state": "queued",
    "queue_position": 1,
    "progress": 0.0,
    "eta_seconds": None,
    "duration": None,
    "project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "revision": 2,
    "created_at": "2026-11-28T14:46:33.594405Z",
    "started_at": None,
    "finished_at": None,
    "render_seconds": None,
    "attempts": 0,
    "cancel_requested": False,
    "error": None,
    "outputs": [],
    "metadata": {"cms_entry": "post-4711"},
    "brand": None,
    "template": None,
}
RENDER_QUEUED_HEADERS: dict[str, Any] = {
    "Location": "http://127.0.0.1:8000/v1/renders/rnd_01m8h9yhvpp42k7tg16xab70mp"
}
RENDER_ID: str = "rnd_01m8h9yhvpp42k7tg16xab70mp"
ERROR_ASSET_IN_USE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/conflict",
    "title": "The request conflicts with the resource's state.",
    "status": 409,
    "detail": "asset ast_01m8h9yh7nng7x9q27nhgec1k5 is used by renders "
    "that have not finished (rnd_01m8h9yhvpp42k7tg16xab70mp); "
    "cancel them or wait until they end",
    "instance": "/v1/assets/ast_01m8h9yh7nng7x9q27nhgec1k5",
    "code": "conflict",
    "request_id": "req_01m8h9yhwgctgmrb4vytfty6zz",
    "renders": ["rnd_01m8h9yhvpp42k7tg16xab70mp"],
}
RENDER_RUNNING: dict[str, Any] = {
    "id": "rnd_01m8h9yhvpp42k7tg16xab70mp",
    "object": "render",
    "state": "rendering",
    "queue_position": None,
    "progress": 48.5,
    "eta_seconds": 1.0,
    "duration": 5.5,
    "project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "revision": 2,
    "created_at": "2026-11-28T14:46:33.594405Z",
    "started_at": "2026-11-28T14:46:33.604135Z",
    "finished_at": None,
    "render_seconds": None,
    "attempts": 1,
    "cancel_requested": False,
    "error": None,
    "outputs": [],
    "metadata": {"cms_entry": "post-4711"},
    "brand": None,
    "template": None,
}
RENDER_SUCCEEDED: dict[str, Any] = {
    "id": "rnd_01m8h9yhvpp42k7tg16xab70mp",
    "object": "render",
    "state": "succeeded",
    "queue_position": None,
    "progress": 100.0,
    "eta_seconds": 0.0,
    "duration": 5.5,
    "project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
    "revision": 2,
    "created_at": "2026-11-28T14:46:33.594405Z",
    "started_at": "2026-11-28T14:46:33.604135Z",
    "finished_at": "2026-11-28T14:46:36.370073Z",
    "render_seconds": 2.766,
    "attempts": 1,
    "cancel_requested": False,
    "error": None,
    "outputs": [
        {
            "id": "ast_01m8h9ymd2y4mcypnxzt995qjb",
            "object": "asset",
            "name": "render.mp4",
            "kind": "video",
            "content_type": "video/mp4",
            "size_bytes": 2144738,
            "sha256": "79fc3cbd81b61644d49e03df8676a4d995684ba0a1b8482d678918c4379c7362",
            "media": {
                "format": "mov,mp4,m4a,3gp,3g2,mj2",
                "duration": 5.5,
                "duration_exact": "11/2",
                "width": 1280,
                "height": 720,
                "coded_width": 1280,
                "coded_height": 720,
                "rotation": 0,
                "fps": 30.0,
                "fps_exact": "30/1",
                "video_codec": "h264",
                "pix_fmt": "yuv420p",
                "has_alpha": False,
                "has_video": True,
                "has_audio": True,
                "audio_codec": "aac",
                "audio_channels": 2,
                "sample_rate": 48000,
                "bit_rate": 3119618,
            },
            "tags": [],
            "metadata": {},
            "source": "render",
            "derived_from": {
                "render": "rnd_01m8h9yhvpp42k7tg16xab70mp",
                "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
                "revision": 2,
                "role": "output",
                "output": 0,
            },
            "created_at": "2026-11-28T14:46:36.310690Z",
            "thumbnail_url": "/v1/assets/ast_01m8h9ymd2y4mcypnxzt995qjb/thumbnail",
            "waveform_url": None,
            "previews": "ready",
            "content_url": "/v1/assets/ast_01m8h9ymd2y4mcypnxzt995qjb/content",
            "role": "output",
            "output": 0,
        },
        {
            "id": "ast_01m8h9ymh1xn6nxc2bn69vheh4",
            "object": "asset",
            "name": "render.poster.jpg",
            "kind": "image",
            "content_type": "image/jpeg",
            "size_bytes": 44957,
            "sha256": "87c54f171b951dce4c04ac7742c7b6ad8d9da657098b77490d4176dacac1631a",
            "media": {
                "format": "image2",
                "duration": None,
                "duration_exact": None,
                "width": 1280,
                "height": 720,
                "coded_width": 1280,
                "coded_height": 720,
                "rotation": 0,
                "fps": None,
                "fps_exact": None,
                "video_codec": "mjpeg",
                "pix_fmt": "yuvj420p",
                "has_alpha": False,
                "has_video": True,
                "has_audio": False,
                "audio_codec": None,
                "audio_channels": None,
                "sample_rate": None,
                "bit_rate": None,
            },
            "tags": [],
            "metadata": {},
            "source": "render",
            "derived_from": {
                "render": "rnd_01m8h9yhvpp42k7tg16xab70mp",
                "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
                "revision": 2,
                "role": "poster",
                "output": 0,
            },
            "created_at": "2026-11-28T14:46:36.363896Z",
            "thumbnail_url": "/v1/assets/ast_01m8h9ymh1xn6nxc2bn69vheh4/thumbnail",
            "waveform_url": None,
            "previews": "ready",
            "content_url": "/v1/assets/ast_01m8h9ymh1xn6nxc2bn69vheh4/content",
            "role": "poster",
            "output": 0,
        },
    ],
    "metadata": {"cms_entry": "post-4711"},
    "brand": None,
    "template": None,
}
RENDER_ETAG: str = '"1df28995273a1a718ae2f37c4ab0e57c"'
ERROR_CANCEL_FINISHED: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/conflict",
    "title": "The request conflicts with the resource's state.",
    "status": 409,
    "detail": "the render already succeeded; there is nothing to cancel",
    "instance": "/v1/renders/rnd_01m8h9yhvpp42k7tg16xab70mp/cancel",
    "code": "conflict",
    "request_id": "req_01m8h9ymkgv8bw86ft0eac3h79",
    "state": "succeeded",
}
RENDER_INLINE: dict[str, Any] = {
    "edit": {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {"type": "video", "src": "ast_01m8h9yh27ft5heeejr16dffax", "trim": 1},
                            "length": 4,
                            "fit": "cover",
                        }
                    ]
                }
            ]
        },
        "outputs": [
            {
                "name": "story",
                "aspect_ratio": "9:16",
                "resolution": "720p",
                "quality": "medium",
                "watermark": {"src": "ast_01m8h9yh9555726gjyp915pwgp", "anchor": "top-right", "width": 0.2},
                "thumbnail": {"time": 1},
            }
        ],
    },
    "metadata": {"cms_entry": "post-4712"},
}
RENDER_INLINE_QUEUED: dict[str, Any] = {
    "id": "rnd_01m8h9ymnya18e0yqtcnwpzat1",
    "object": "render",
    "state": "queued",
    "queue_position": 1,
    "progress": 0.0,
    "eta_seconds": None,
    "duration": None,
    "project_id": None,
    "revision": None,
    "created_at": "2026-11-28T14:46:36.479787Z",
    "started_at": None,
    "finished_at": None,
    "render_seconds": None,
    "attempts": 0,
    "cancel_requested": False,
    "error": None,
    "outputs": [],
    "metadata": {"cms_entry": "post-4712"},
    "brand": None,
    "template": None,
}
RENDER_CANCELLED: dict[str, Any] = {
    "id": "rnd_01m8h9ymnya18e0yqtcnwpzat1",
    "object": "render",
    "state": "cancelled",
    "queue_position": None,
    "progress": 0.0,
    "eta_seconds": None,
    "duration": None,
    "project_id": None,
    "revision": None,
    "created_at": "2026-11-28T14:46:36.479787Z",
    "started_at": None,
    "finished_at": "2026-11-28T14:46:36.500289Z",
    "render_seconds": None,
    "attempts": 0,
    "cancel_requested": True,
    "error": None,
    "outputs": [],
    "metadata": {"cms_entry": "post-4712"},
    "brand": None,
    "template": None,
}
RENDER_CANCELLING: dict[str, Any] = {
    "id": "rnd_01m8h9ymkt3wb18wdp49g34s43",
    "object": "render",
    "state": "rendering",
    "queue_position": None,
    "progress": 0.0,
    "eta_seconds": None,
    "duration": 8.0,
    "project_id": None,
    "revision": None,
    "created_at": "2026-11-28T14:46:36.411755Z",
    "started_at": "2026-11-28T14:46:36.418637Z",
    "finished_at": None,
    "render_seconds": None,
    "attempts": 1,
    "cancel_requested": True,
    "error": None,
    "outputs": [],
    "metadata": {},
    "brand": None,
    "template": None,
}
RENDER_FAILED: dict[str, Any] = {
    "id": "rnd_01m8h9yrs6e8vb5g9psm110t44",
    "object": "render",
    "state": "failed",
    "queue_position": None,
    "progress": 0.0,
    "eta_seconds": None,
    "duration": None,
    "project_id": None,
    "revision": None,
    "created_at": "2026-11-28T14:46:40.679476Z",
    "started_at": "2026-11-28T14:46:44.687633Z",
    "finished_at": "2026-11-28T14:46:44.702625Z",
    "render_seconds": 0.015,
    "attempts": 1,
    "cancel_requested": False,
    "error": {
        "code": "asset_missing",
        "message": "cannot use 'ast_01m8h9yrpaa4c092myqe5hqv62': the "
        "asset's stored file is missing (at "
        "/timeline/tracks/0/clips/0/asset/src); upload the "
        "file again (POST /v1/assets) and use the new asset id "
        "in the edit",
        "pointer": "/timeline/tracks/0/clips/0/asset/src",
        "log_tail": [],
        "problems": [
            {
                "pointer": "/timeline/tracks/0/clips/0/asset/src",
                "message": "cannot use 'ast_01m8h9yrpaa4c092myqe5hqv62': the asset's stored file is missing",
                "code": "source",
            }
        ],
    },
    "outputs": [],
    "metadata": {},
    "brand": None,
    "template": None,
}
RENDER_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "rnd_01m8h9yhvpp42k7tg16xab70mp",
            "object": "render",
            "state": "succeeded",
            "queue_position": None,
            "progress": 100.0,
            "eta_seconds": 0.0,
            "duration": 5.5,
            "project_id": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
            "revision": 2,
            "created_at": "2026-11-28T14:46:33.594405Z",
            "started_at": "2026-11-28T14:46:33.604135Z",
            "finished_at": "2026-11-28T14:46:36.370073Z",
            "render_seconds": 2.766,
            "attempts": 1,
            "cancel_requested": False,
            "error": None,
            "outputs": [
                {
                    "id": "ast_01m8h9ymd2y4mcypnxzt995qjb",
                    "object": "asset",
                    "name": "render.mp4",
                    "kind": "video",
                    "content_type": "video/mp4",
                    "size_bytes": 2144738,
                    "sha256": "79fc3cbd81b61644d49e03df8676a4d995684ba0a1b8482d678918c4379c7362",
                    "media": {
                        "format": "mov,mp4,m4a,3gp,3g2,mj2",
                        "duration": 5.5,
                        "duration_exact": "11/2",
                        "width": 1280,
                        "height": 720,
                        "coded_width": 1280,
                        "coded_height": 720,
                        "rotation": 0,
                        "fps": 30.0,
                        "fps_exact": "30/1",
                        "video_codec": "h264",
                        "pix_fmt": "yuv420p",
                        "has_alpha": False,
                        "has_video": True,
                        "has_audio": True,
                        "audio_codec": "aac",
                        "audio_channels": 2,
                        "sample_rate": 48000,
                        "bit_rate": 3119618,
                    },
                    "tags": [],
                    "metadata": {},
                    "source": "render",
                    "derived_from": {
                        "render": "rnd_01m8h9yhvpp42k7tg16xab70mp",
                        "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
                        "revision": 2,
                        "role": "output",
                        "output": 0,
                    },
                    "created_at": "2026-11-28T14:46:36.310690Z",
                    "thumbnail_url": "/v1/assets/ast_01m8h9ymd2y4mcypnxzt995qjb/thumbnail",
                    "waveform_url": None,
                    "previews": "ready",
                    "content_url": "/v1/assets/ast_01m8h9ymd2y4mcypnxzt995qjb/content",
                    "role": "output",
                    "output": 0,
                },
                {
                    "id": "ast_01m8h9ymh1xn6nxc2bn69vheh4",
                    "object": "asset",
                    "name": "render.poster.jpg",
                    "kind": "image",
                    "content_type": "image/jpeg",
                    "size_bytes": 44957,
                    "sha256": "87c54f171b951dce4c04ac7742c7b6ad8d9da657098b77490d4176dacac1631a",
                    "media": {
                        "format": "image2",
                        "duration": None,
                        "duration_exact": None,
                        "width": 1280,
                        "height": 720,
                        "coded_width": 1280,
                        "coded_height": 720,
                        "rotation": 0,
                        "fps": None,
                        "fps_exact": None,
                        "video_codec": "mjpeg",
                        "pix_fmt": "yuvj420p",
                        "has_alpha": False,
                        "has_video": True,
                        "has_audio": False,
                        "audio_codec": None,
                        "audio_channels": None,
                        "sample_rate": None,
                        "bit_rate": None,
                    },
                    "tags": [],
                    "metadata": {},
                    "source": "render",
                    "derived_from": {
                        "render": "rnd_01m8h9yhvpp42k7tg16xab70mp",
                        "project": "prj_01m8h9yhhv8f3v9bdt7h13ccbe",
                        "revision": 2,
                        "role": "poster",
                        "output": 0,
                    },
                    "created_at": "2026-11-28T14:46:36.363896Z",
                    "thumbnail_url": "/v1/assets/ast_01m8h9ymh1xn6nxc2bn69vheh4/thumbnail",
                    "waveform_url": None,
                    "previews": "ready",
                    "content_url": "/v1/assets/ast_01m8h9ymh1xn6nxc2bn69vheh4/content",
                    "role": "poster",
                    "output": 0,
                },
            ],
            "metadata": {"cms_entry": "post-4711"},
            "brand": None,
            "template": None,
        }
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/renders",
}
ERROR_RENDER_EDIT_INVALID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/edit-invalid",
    "title": "The edit is not valid.",
    "status": 422,
    "detail": "2 problems in the edit",
    "instance": "/v1/renders",
    "code": "edit-invalid",
    "request_id": "req_01m8h9ywrexaw4dv4nbm4vhqv4",
    "errors": [
        {
            "pointer": "#/edit/outputs/0/quality",
            "detail": "expected 'draft', 'low', 'medium', 'high' or 'max'",
            "code": "invalid",
        },
        {
            "pointer": "#/edit/timeline/tracks/0/clips/0/asset/src",
            "detail": "cannot use "
            "ast_01m8h9yh7nng7x9q27nhgec1k5: it is an "
            "audio asset; a video clip needs a video "
            "asset; use an audio clip for sound",
            "code": "asset_kind",
        },
    ],
}
ERROR_RENDER_ONE_OF: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the request",
    "instance": "/v1/renders",
    "code": "validation-error",
    "request_id": "req_01m8h9ywrmzr03b5j6cse6v2xd",
    "errors": [
        {"pointer": "#/edit", "code": "one_of", "detail": "give either `project_id` or `edit`, not both"}
    ],
}
ERROR_RENDER_REVISION: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "project prj_01m8h9yhhv8f3v9bdt7h13ccbe has no revision 42 (the latest is 4)",
    "instance": "/v1/renders",
    "code": "not-found",
    "request_id": "req_01m8h9ywrrhw1zh267hvrw8rj1",
    "errors": [{"pointer": "#/revision", "code": "not_found", "detail": "no revision 42"}],
}
ERROR_RENDER_PROJECT: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no project prj_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/renders",
    "code": "not-found",
    "request_id": "req_01m8h9ywry8gnkkdcj5txy8dxw",
    "errors": [{"pointer": "#/project_id", "code": "not_found", "detail": "no such project"}],
}
ERROR_RENDER_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no render rnd_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/renders/rnd_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h9yws39bves3hv3m3rjmy0",
}
ERROR_UPLOAD_TOO_LARGE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/content-too-large",
    "title": "The body is larger than allowed.",
    "status": 413,
    "detail": "uploads are limited to 2097152 bytes",
    "instance": "/v1/assets",
    "code": "content-too-large",
    "request_id": "req_01m8h9yx0v17zzrsg3m3r5v2sm",
    "max_bytes": 2097152,
}
# --- captured: end

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

# ------------------------------------------------------------------ system

HEALTHZ_RESPONSES = responses(
    {200: success("The process is up.", {"up": HEALTHZ}, model=schemas.Health)}, default=False
)
READYZ_RESPONSES = responses(
    {
        200: success(
            "The database and storage answer and the render worker runs.",
            {"ready": READYZ},
            model=schemas.Readiness,
        ),
        503: {
            "description": "Not ready: `checks` says which check failed (`Retry-After: 5`).",
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
GET_ASSET_RESPONSES = responses(
    {
        200: success(
            "The asset.",
            {"a video": ASSET},
            headers={"ETag": ("For If-None-Match, and If-Match on PATCH and DELETE", ASSET_ETAG)},
            model=schemas.AssetOut,
        ),
        304: _NOT_MODIFIED,
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
