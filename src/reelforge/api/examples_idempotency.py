"""The ``Idempotency-Key`` header in the OpenAPI document: one reusable parameter, the
``Idempotent-Replayed`` response header, and the problems the key can cause (400, 409, 422), on
every operation that takes the key.

The values in ``recorded/idempotency.json`` were recorded from a running service:
``scripts/record_examples.py`` records them again.
"""

from __future__ import annotations

import copy
from typing import Any

from . import recorded
from .examples import PROBLEM_SCHEMA
from .problems import CATALOGUE, PROBLEM_JSON

__all__ = ["document"]

# Recorded from a running service (`scripts/record_examples.py`): see recorded/idempotency.json.
_RECORDED = recorded.load("idempotency")
IDEMPOTENCY_KEY: str = _RECORDED["IDEMPOTENCY_KEY"]
ERROR_IDEMPOTENCY_KEY_INVALID: dict[str, Any] = _RECORDED["ERROR_IDEMPOTENCY_KEY_INVALID"]
ERROR_IDEMPOTENCY_KEY_REUSED: dict[str, Any] = _RECORDED["ERROR_IDEMPOTENCY_KEY_REUSED"]
ERROR_IDEMPOTENCY_IN_PROGRESS: dict[str, Any] = _RECORDED["ERROR_IDEMPOTENCY_IN_PROGRESS"]

PARAMETER = "IdempotencyKey"
REPLAYED_HEADER = "IdempotentReplayed"
PROBLEMS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("a malformed Idempotency-Key", ERROR_IDEMPOTENCY_KEY_INVALID),
    ("the key's first request is still running (retry after `Retry-After`)", ERROR_IDEMPOTENCY_IN_PROGRESS),
    ("the key was used for a different request", ERROR_IDEMPOTENCY_KEY_REUSED),
)


def _components(spec: dict[str, Any], parameter: dict[str, Any]) -> None:
    components = spec.setdefault("components", {})
    param = copy.deepcopy(parameter)
    param["schema"] = {
        "type": "string",
        "minLength": 1,
        "maxLength": 257,
        "description": "1-255 printable ASCII characters, optionally in double quotes",
    }
    param["example"] = IDEMPOTENCY_KEY
    param.pop("examples", None)
    components.setdefault("parameters", {})[PARAMETER] = param
    components.setdefault("headers", {})[REPLAYED_HEADER] = {
        "description": "`true` when this is the stored response of an earlier request with the same "
        "Idempotency-Key (the status, body, `Location` and `ETag` are the first response's).",
        "schema": {"type": "string", "enum": ["true"]},
        "example": "true",
    }


def _add_problem(responses: dict[str, Any], summary: str, problem: dict[str, Any]) -> None:
    status = str(problem["status"])
    entry = responses.setdefault(
        status, {"description": "", "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    )
    media = entry.setdefault("content", {}).setdefault(PROBLEM_JSON, {"schema": PROBLEM_SCHEMA})
    media.setdefault("examples", {})[summary] = {"summary": summary, "value": problem}
    if problem["code"] == "idempotency-request-in-progress":
        entry.setdefault("headers", {})["Retry-After"] = {
            "description": "Seconds to wait before retrying (with an idempotency key in progress: 1)",
            "schema": {"type": "integer"},
            "example": 1,
        }
    listed = f"`{problem['code']}`: {CATALOGUE[problem['code']][1]}"
    if listed not in entry.get("description", ""):
        entry["description"] = f"{entry.get('description', '')} {listed}".strip()


def _created_status(responses: dict[str, Any]) -> str:
    """The status a stored first response has: 201 or 202 when documented (a 200 beside them is a
    dry run or a duplicate), else 200."""
    return next((s for s in ("201", "202") if s in responses), "200")


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Point every operation's ``Idempotency-Key`` at the shared parameter and document what the
    key adds to its answers. Changes ``spec`` in place and returns it."""
    for item in spec.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            params = op.get("parameters", [])
            index = next(
                (
                    i
                    for i, p in enumerate(params)
                    if p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
                ),
                None,
            )
            if index is None:
                continue
            _components(spec, params[index])
            params[index] = {"$ref": f"#/components/parameters/{PARAMETER}"}
            responses = op.setdefault("responses", {})
            for status, response in list(responses.items()):
                if not (status.isdigit() and 200 <= int(status) < 300):
                    continue
                response.setdefault("headers", {})["Idempotent-Replayed"] = {
                    "$ref": f"#/components/headers/{REPLAYED_HEADER}"
                }
                examples = response.get("content", {}).get("application/json", {}).get("examples")
                if examples and status == _created_status(responses):
                    first = next(iter(examples.values()))["value"]
                    name = "a replay of the first response (with `Idempotent-Replayed: true`)"
                    examples[name] = {"summary": name, "value": first}
            for summary, problem in PROBLEMS:
                _add_problem(responses, summary, problem)
    return spec
