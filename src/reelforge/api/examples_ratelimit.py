"""OpenAPI documentation of the rate limits: the 429 answer and the RateLimit headers, added to
every ``/v1`` operation (:func:`reelforge.api.ratelimit.install_rate_limit_docs`).

The values were recorded from a running service (default policies, the 61st
``POST /v1/renders`` within a minute of one key)."""

from __future__ import annotations

from typing import Any

from .examples import PROBLEM_SCHEMA
from .problems import CATALOGUE, PROBLEM_JSON

RATE_LIMITED: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/rate-limited",
    "title": "Too many requests.",
    "status": 429,
    "detail": "the renders rate limit is used up; retry in 1 s",
    "instance": "/v1/renders",
    "code": "rate-limited",
    "request_id": "req_01m8h5vftzedg6mq1aeajbmq8m",
    "violated-policies": ["renders"],
}
RATE_LIMITED_HEADERS = {
    "Retry-After": "1",
    "RateLimit-Policy": '"writes";q=300;w=60, "workspace-writes";q=600;w=60, "renders";q=60;w=60, '
    '"workspace-renders";q=120;w=60',
    "RateLimit": '"writes";r=243;t=1, "workspace-writes";r=547;t=1, "renders";r=0;t=1, "workspace-renders";r=61;t=1',
}
READ_HEADERS = {
    "RateLimit-Policy": '"reads";q=1200;w=60, "workspace-reads";q=3000;w=60',
    "RateLimit": '"reads";r=1199;t=1, "workspace-reads";r=2999;t=1',
}

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
