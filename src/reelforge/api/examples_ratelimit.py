"""OpenAPI documentation of the rate limits: the 429 answer and the RateLimit headers, added to
every ``/v1`` operation (:func:`reelforge.api.ratelimit.install_rate_limit_docs`).

The values were recorded from a running service (default policies, the 61st
``POST /v1/renders`` within a minute of one key)."""

from __future__ import annotations

from typing import Any

from . import recorded
from .examples import PROBLEM_SCHEMA
from .problems import CATALOGUE, PROBLEM_JSON

# Recorded from a running service (see above): recorded/ratelimit.json.
_RECORDED = recorded.load("ratelimit")
RATE_LIMITED: dict[str, Any] = _RECORDED["RATE_LIMITED"]
RATE_LIMITED_HEADERS: dict[str, Any] = _RECORDED["RATE_LIMITED_HEADERS"]
READ_HEADERS: dict[str, Any] = _RECORDED["READ_HEADERS"]

_DESCRIPTIONS = {
    "Retry-After": "Seconds to wait before retrying; never earlier than the refused policy's `t`.",
    "RateLimit-Policy": "The rate-limit policies of this request (IETF RateLimit fields): `q` requests per "
    "`w` seconds, per credential (`reads`, `writes`, `renders`) and per workspace "
    "(`workspace-…`).",
    "RateLimit": "Per policy: `r` requests left now, `t` seconds until one more is available.",
}


def _header(name: str, example: str) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[name], "schema": {"type": "string"}, "example": example}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the 429 problem and the headers to every ``/v1`` operation of ``schema`` (in place)."""
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            if method not in ("get", "head", "post", "put", "patch", "delete"):
                continue
            example = READ_HEADERS if method in ("get", "head") else RATE_LIMITED_HEADERS
            for status, response in op.get("responses", {}).items():
                if status.isdigit():
                    headers = response.setdefault("headers", {})
                    for name in ("RateLimit-Policy", "RateLimit"):
                        headers.setdefault(name, _header(name, example[name]))
            op["responses"].setdefault(
                "429",
                {
                    "description": f"`rate-limited`: {CATALOGUE['rate-limited'][1]} `violated-policies` names the "
                    "policies used up; retry after `Retry-After` seconds.",
                    "headers": {name: _header(name, value) for name, value in RATE_LIMITED_HEADERS.items()},
                    "content": {
                        PROBLEM_JSON: {
                            "schema": PROBLEM_SCHEMA,
                            "examples": {
                                "a rate limit used up": {
                                    "summary": "a rate limit used up",
                                    "value": RATE_LIMITED,
                                }
                            },
                        }
                    },
                },
            )
    return schema
