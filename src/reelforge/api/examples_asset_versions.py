"""OpenAPI examples for asset versions, their review, the DAM sync's upsert and a render's
recorded edit.

The values have the shapes the service answers with (``tests/test_asset_versions.py`` calls
every operation on a running service and compares the answers' members with these)."""

from __future__ import annotations

from typing import Any

from . import examples as ex
from .problems import CATALOGUE, PROBLEM_BASE
from .schemas.asset_versions import AssetSyncOut, AssetVersionList, AssetVersionOut, MediaReport, RecordedEdit

ASSET_ID = "ast_01kbz8a1b2c3d4e5f6g7h8j9k0"
RENDER_ID = "rnd_01kbz8m1n2p3q4r5s6t7v8w9x0"
_AT = "2026-12-07T09:00:00Z"
_BASE = f"/v1/assets/{ASSET_ID}/versions"

VERSION: dict[str, Any] = {
    "object": "asset_version",
    "asset_id": ASSET_ID,
    "version": 2,
    "current": True,
    "kind": "image",
    "content_type": "image/png",
    "size_bytes": 48213,
    "sha256": "9f2c4e1a7b3d5f6e8a0c2b4d6f8e0a1c3b5d7f9e1a3c5b7d9f0e2a4c6b8d0f1e",
    "media": {"width": 1920, "height": 1080, "has_video": True, "has_audio": False},
    "source": "upload",
    "derived_from": {},
    "external_version": None,
    "created_by": "key_01kbz6w0a1b2c3d4e5f6g7h8j9",
    "created_at": _AT,
    "review": {"state": "draft", "by": None, "at": None, "comment": "", "approved_until": None},
    "approved": False,
    "revision": 1,
    "content_url": f"{_BASE}/2/content",
}
APPROVED: dict[str, Any] = {
    **VERSION,
    "review": {
        "state": "approved",
        "by": "key_01kbz6w9z8y7x6w5v4t3s2r1q0",
        "at": "2026-12-07T10:00:00Z",
        "comment": "cleared by legal; licence until June",
        "approved_until": "2027-06-30T00:00:00Z",
    },
    "approved": True,
    "revision": 2,
}
VERSION_LIST: dict[str, Any] = {
    "object": "list",
    "data": [VERSION, {**VERSION, "version": 1, "current": False, "content_url": f"{_BASE}/1/content"}],
}
REVIEW_BODY: dict[str, Any] = {
    "state": "approved",
    "comment": "cleared by legal; licence until June",
    "approved_until": "2027-06-30T00:00:00Z",
}
REJECT_BODY: dict[str, Any] = {"state": "rejected", "comment": "wrong product colour"}
SYNCED: dict[str, Any] = {
    "object": "asset_sync",
    "created": True,
    "asset": {
        **ex.ASSET,
        "id": ASSET_ID,
        "version": 1,
        "external_ref": {"system": "bynder", "id": "PX-1042"},
    },
    "version": {**VERSION, "version": 1, "source": "import", "external_version": "7"},
}


def _problem(code: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    status, title = CATALOGUE[code]
    return {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": "req_01kbz8t3d2c1b0a9z8y7x6w5v4",
        **extra,
    }


def _scope(scope: str, instance: str) -> ex.Named:
    return (
        f"a credential without `{scope}`",
        _problem("insufficient-scope", f"this needs the `{scope}` scope", instance, required_scope=scope),
    )


_NO_ASSET = ("no such asset in this workspace", _problem("not-found", f"no asset {ASSET_ID}", _BASE))
_NO_VERSION = (
    "no such version",
    _problem("not-found", f"asset {ASSET_ID} has no version 9", f"{_BASE}/9"),
)
_STALE = (
    "the version was reviewed since it was read (`If-Match`)",
    _problem(
        "precondition-failed",
        f"version 2 of asset {ASSET_ID} was reviewed since you read it (If-Match does not match)",
        f"{_BASE}/2/review",
        errors=[{"header": "If-Match", "detail": "stale revision", "code": "stale"}],
    ),
)
_NOT_MEDIA = (
    "a file that is not media",
    _problem(
        "media-unsupported",
        "the file is not media Reelforge can use",
        _BASE,
        errors=[
            {
                "pointer": "#/file",
                "detail": "the file is not media Reelforge can use",
                "code": "media_unsupported",
            }
        ],
    ),
)
_OTHER_KIND = (
    "a file of another kind than the asset",
    _problem(
        "validation-error",
        f"asset {ASSET_ID} is a image asset; a new version must be one too (this file is video)",
        _BASE,
        errors=[{"pointer": "#/file", "detail": "a video file, not image", "code": "kind_mismatch"}],
    ),
)
_TAKEN = (
    "the bytes are another asset",
    _problem(
        "conflict",
        "these bytes are already asset ast_01kbz8z9y8x7w6v5t4s3r2q1p0; a version must be new content",
        _BASE,
        asset="ast_01kbz8z9y8x7w6v5t4s3r2q1p0",
    ),
)
_PAST = (
    "an approval that would end in the past",
    _problem(
        "validation-error",
        "1 problem in the review",
        f"{_BASE}/2/review",
        errors=[{"pointer": "#/approved_until", "detail": "must be in the future", "code": "in_the_past"}],
    ),
)

_VERSION_BODY: dict[str, Any] = {
    "required": True,
    "description": "`multipart/form-data` with the new version's file in the `file` part; e.g. "
    "`curl -F file=@hero-v2.png`.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "Of the asset's kind."},
                    "name": {"type": "string", "description": "A file name, for type sniffing only."},
                },
            },
            "examples": {"a new version": {"summary": "a new version", "value": {"file": "hero-v2.png"}}},
        }
    },
}
VERSION_BODY: dict[str, Any] = {"requestBody": _VERSION_BODY}
SYNC_BODY: dict[str, Any] = {
    "requestBody": {
        **_VERSION_BODY,
        "description": "`multipart/form-data` with the file in the `file` part and, for a new asset, "
        "optional `name`, `tags` (comma separated) and `metadata` (a JSON object).",
        "content": {
            "multipart/form-data": {
                **_VERSION_BODY["content"]["multipart/form-data"],
                "examples": {
                    "a nightly sync": {
                        "summary": "a nightly sync",
                        "value": {"file": "PX-1042.png", "tags": "hero,product-x", "name": "Hero PX-1042"},
                    }
                },
            }
        },
    }
}

LIST_VERSIONS_RESPONSES = ex.responses(
    {200: ex.success("The versions, newest first.", {"two versions": VERSION_LIST}, model=AssetVersionList)},
    *ex.AUTH,
    ex.scope("assets:read"),
    _NO_ASSET,
)
UPLOAD_VERSION_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The new version (a draft), now the asset's newest.",
            {"a new version": VERSION},
            headers={"ETag": ("The version's revision", '"1"'), "Location": ("The version", f"{_BASE}/2")},
            model=AssetVersionOut,
        ),
        200: ex.success(
            "The same bytes as one of the asset's versions: that version, nothing changed.",
            {"the same bytes again": VERSION},
            model=AssetVersionOut,
        ),
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    _NO_ASSET,
    _TAKEN,
    _NOT_MEDIA,
    _OTHER_KIND,
)
GET_VERSION_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The version and its review; the ETag is its revision.",
            {"a draft": VERSION, "approved": APPROVED},
            headers={"ETag": ("The version's revision (for `If-Match` on a review)", '"1"')},
            model=AssetVersionOut,
        )
    },
    *ex.AUTH,
    ex.scope("assets:read"),
    _NO_VERSION,
)
VERSION_CONTENT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The version's bytes, with the content type they were stored with.",
            media_type="*/*",
            schema={"type": "string", "format": "binary"},
            headers={"ETag": ("The sha256 of the bytes", f'"{VERSION["sha256"]}"')},
        ),
        206: ex.success(
            "The range asked for.",
            media_type="*/*",
            schema={"type": "string", "format": "binary"},
        ),
    },
    *ex.AUTH,
    ex.scope("assets:read"),
    _NO_VERSION,
)
RESTORE_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The new newest version, a copy of the one restored (a draft).",
            {
                "restored": {
                    **VERSION,
                    "version": 3,
                    "source": "restore",
                    "derived_from": {"restored_from": 1},
                }
            },
            model=AssetVersionOut,
        )
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    _NO_VERSION,
)
REVIEW_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The version with its new review state.",
            {
                "approved": APPROVED,
                "rejected": {
                    **APPROVED,
                    "approved": False,
                    "review": {
                        **APPROVED["review"],
                        "state": "rejected",
                        "approved_until": None,
                        "comment": "wrong product colour",
                    },
                },
            },
            headers={"ETag": ("The version's new revision", '"2"')},
            model=AssetVersionOut,
        )
    },
    *ex.AUTH,
    _scope("assets:approve", f"{_BASE}/2/review"),
    _NO_VERSION,
    _STALE,
    _PAST,
)
REVIEW_EXAMPLES: dict[str, Any] = ex.body({"approved": REVIEW_BODY, "rejected": REJECT_BODY})
SYNC_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The asset was created, or got this version.", {"created": SYNCED}, model=AssetSyncOut
        ),
        200: ex.success(
            "This version was synced before: nothing changed.",
            {"already synced": {**SYNCED, "created": False}},
            model=AssetSyncOut,
        ),
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    (
        "the asset with this reference was deleted while the sync ran (run it again)",
        _problem("not-found", f"no asset {ASSET_ID}", "/v1/assets/by-ref/bynder/PX-1042/7"),
    ),
    _TAKEN,
    _NOT_MEDIA,
)
RENDER_EDIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The edit, every asset pinned to the version it resolved to.",
            {
                "pinned": {
                    "timeline": {
                        "tracks": [
                            {"clips": [{"asset": {"type": "image", "src": f"{ASSET_ID}@2"}, "length": 3}]}
                        ]
                    },
                    "outputs": [{"resolution": "1080p", "aspect_ratio": "16:9"}],
                }
            },
            model=RecordedEdit,
        )
    },
    *ex.AUTH,
    ex.scope("renders:read"),
    (
        "no such render in this workspace",
        _problem("not-found", f"no render {RENDER_ID}", f"/v1/renders/{RENDER_ID}/edit"),
    ),
)

_CHECKED_EDIT: dict[str, Any] = {
    "timeline": {
        "tracks": [
            {
                "clips": [
                    {"asset": {"type": "image", "src": f"{ASSET_ID}@approved"}, "length": 3},
                    {
                        "asset": {
                            "type": "image",
                            "src": {
                                "query": {"tags": ["hero", "product-x"], "state": "any", "pick": "newest"}
                            },
                        },
                        "start": 3,
                        "length": 3,
                    },
                ]
            }
        ]
    },
    "outputs": [{"resolution": "1080p", "aspect_ratio": "16:9"}],
}
MEDIA_CHECK_EXAMPLES: dict[str, Any] = ex.body({"an approved reference and a query": {"edit": _CHECKED_EDIT}})
_FILE = {
    "pointer": "#/edit/timeline/tracks/0/clips/0/asset/src",
    "reference": f"{ASSET_ID}@approved",
    "asset": ASSET_ID,
    "version": 2,
    "sha256": VERSION["sha256"],
    "state": "approved",
    "approved": True,
    "approved_until": "2027-06-30T00:00:00Z",
}
MEDIA_REPORT: dict[str, Any] = {
    "object": "media_report",
    "passed": False,
    "files": [
        _FILE,
        {
            **_FILE,
            "pointer": "#/edit/timeline/tracks/0/clips/1/asset/src",
            "reference": "asset?tag=hero&tag=product-x&state=any&pick=newest",
            "asset": "ast_01kbz8q1w2e3r4t5y6u7i8o9p0",
            "version": 1,
            "state": "in_review",
            "approved": False,
            "approved_until": None,
        },
    ],
    "problems": [
        {
            "pointer": "#/edit/timeline/tracks/0/clips/1/asset/src",
            "code": "unapproved_media",
            "detail": "version 1 of asset ast_01kbz8q1w2e3r4t5y6u7i8o9p0 is in review, not approved",
        }
    ],
}
MEDIA_CHECK_RESPONSES = ex.responses(
    {
        200: ex.success(
            "Each file as it resolves now, and the problems.",
            {"one file not approved": MEDIA_REPORT},
            model=MediaReport,
        )
    },
    *ex.AUTH,
    ex.scope("assets:read"),
)
