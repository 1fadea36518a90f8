"""Reading a JSON Patch body (RFC 6902): its own media type, bounded while streaming, checked
to be a list of operations; applying it is the service's (``reelforge.services.projects``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from reelforge.services.projects import MAX_PATCH_OPS

from .problems import ApiError

__all__ = ["JSON_PATCH", "MAX_PATCH_BYTES", "json_patch_body"]

JSON_PATCH = "application/json-patch+json"
MAX_PATCH_BYTES = 1024 * 1024
"""A JSON body's limit (conventions §9.2); a patch is small by nature."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_patch_body(request: Request) -> list[dict[str, Any]]:
    """The body as a list of operations. Read here (not by a model) because it is a JSON array
    under its own media type, and bounded while streaming."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_PATCH:
        hint = "; to replace the whole edit use PUT" if media_type == "application/json" else ""
        raise ApiError(
            "unsupported-media-type",
            f"send a JSON Patch (RFC 6902) as Content-Type: {JSON_PATCH}{hint}",
            errors=[
                {
                    "header": "Content-Type",
                    "detail": f"expected {JSON_PATCH}",
                    "code": "unsupported_media_type",
                }
            ],
            headers={"Accept-Patch": JSON_PATCH},
        )
    too_large = ApiError("content-too-large", f"a patch may be at most {MAX_PATCH_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_PATCH_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PATCH_BYTES:
            raise too_large
        chunks.append(chunk)
    try:
        ops = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            "invalid-json",
            "the body is not valid JSON",
            errors=[{"pointer": "#", "detail": str(exc)[:300], "code": "json_invalid"}],
        ) from None
    if not isinstance(ops, list) or not ops:
        raise ApiError(
            "validation-error",
            "a JSON Patch is a non-empty array of operations",
            errors=[
                {
                    "pointer": "#",
                    "detail": "expected an array of operations such as "
                    '[{"op": "replace", "path": "/timeline/background", "value": "#101010"}]',
                    "code": "invalid_patch",
                }
            ],
        )
    if len(ops) > MAX_PATCH_OPS:
        raise ApiError(
            "validation-error",
            f"a patch may have at most {MAX_PATCH_OPS} operations",
            errors=[{"pointer": "#", "detail": "too many operations", "code": "too_long"}],
        )
    bad = [i for i, op in enumerate(ops) if not isinstance(op, dict)]
    if bad:
        raise ApiError(
            "validation-error",
            "every operation is an object with `op` and `path`",
            errors=[
                {"pointer": f"#/{i}", "detail": "an operation is a JSON object", "code": "invalid_patch"}
                for i in bad
            ],
        )
    return ops
