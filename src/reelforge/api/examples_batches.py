"""OpenAPI examples of the batch operations, recorded from a running service.

``scripts/record_examples.py`` records them again into ``recorded/batches.json`` (a real service
with a worker rendering a real template on generated media); the declarations below arrange the values per operation, as :mod:`reelforge.api.examples` does.
"""

from __future__ import annotations

from typing import Any

from . import recorded, schemas
from .examples import AUTH, LIST, body, responses, success

# Recorded from a running service (`scripts/record_examples.py`): see recorded/batches.json.
_RECORDED = recorded.load("batches")
BATCH_CREATE_JSON: dict[str, Any] = _RECORDED["BATCH_CREATE_JSON"]
BATCH_CREATED: dict[str, Any] = _RECORDED["BATCH_CREATED"]
BATCH_CREATED_HEADERS: dict[str, Any] = _RECORDED["BATCH_CREATED_HEADERS"]
BATCH_RUNNING: dict[str, Any] = _RECORDED["BATCH_RUNNING"]
BATCH_SUCCEEDED: dict[str, Any] = _RECORDED["BATCH_SUCCEEDED"]
BATCH_RENDERS: dict[str, Any] = _RECORDED["BATCH_RENDERS"]
ERROR_BATCH_CANCEL_FINISHED: dict[str, Any] = _RECORDED["ERROR_BATCH_CANCEL_FINISHED"]
BATCH_CREATE_CSV_TEXT: dict[str, Any] = _RECORDED["BATCH_CREATE_CSV_TEXT"]
BATCH_CREATED_CSV: dict[str, Any] = _RECORDED["BATCH_CREATED_CSV"]
BATCH_CANCELLING: dict[str, Any] = _RECORDED["BATCH_CANCELLING"]
BATCH_CANCELLED: dict[str, Any] = _RECORDED["BATCH_CANCELLED"]
BATCH_CREATE_MULTIPART: dict[str, Any] = _RECORDED["BATCH_CREATE_MULTIPART"]
BATCH_CREATED_UPLOAD: dict[str, Any] = _RECORDED["BATCH_CREATED_UPLOAD"]
BATCH_LIST: dict[str, Any] = _RECORDED["BATCH_LIST"]
ERROR_BATCH_ALL_OR_NOTHING: dict[str, Any] = _RECORDED["ERROR_BATCH_ALL_OR_NOTHING"]
ERROR_BATCH_OUTPUTS: dict[str, Any] = _RECORDED["ERROR_BATCH_OUTPUTS"]
ERROR_BATCH_TEMPLATE_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_BATCH_TEMPLATE_NOT_FOUND"]
ERROR_BATCH_CSV_TYPE: dict[str, Any] = _RECORDED["ERROR_BATCH_CSV_TYPE"]
ERROR_BATCH_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_BATCH_NOT_FOUND"]
ERROR_SCOPE_BATCHES_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_BATCHES_READ"]
ERROR_SCOPE_BATCHES_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_BATCHES_WRITE"]
ERROR_SCOPE_TEMPLATES_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_TEMPLATES_READ"]
ERROR_SCOPE_RENDERS_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_RENDERS_WRITE"]
ERROR_SCOPE_RENDERS_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_RENDERS_READ"]

_CREATE_JSON = "JSON rows, two locales, two aspect ratios"
_CREATE_CSV = "CSV text with a bad line"
_CREATE_MULTIPART = "an uploaded CSV file"
_SCOPES: dict[str, dict[str, Any]] = {
    "batches:read": ERROR_SCOPE_BATCHES_READ,
    "batches:write": ERROR_SCOPE_BATCHES_WRITE,
    "templates:read": ERROR_SCOPE_TEMPLATES_READ,
    "renders:write": ERROR_SCOPE_RENDERS_WRITE,
    "renders:read": ERROR_SCOPE_RENDERS_READ,
}


def _scope(name: str) -> tuple[str, dict[str, Any]]:
    return f"a credential without `{name}`", _SCOPES[name]


_NOT_FOUND = ("no such batch in this workspace", ERROR_BATCH_NOT_FOUND)

CREATE_BATCH_JSON_EXAMPLES = body({_CREATE_JSON: BATCH_CREATE_JSON, _CREATE_CSV: BATCH_CREATE_CSV_TEXT})
CREATE_BATCH_MULTIPART_EXAMPLES = body({_CREATE_MULTIPART: BATCH_CREATE_MULTIPART})
CREATE_BATCH_RESPONSES = responses(
    {
        202: success(
            "The batch, its renders queued; rows x locales that are not valid are in `rejected` (the others "
            "run). Follow it at `Location`.",
            {
                _CREATE_JSON: BATCH_CREATED,
                _CREATE_CSV: BATCH_CREATED_CSV,
                _CREATE_MULTIPART: BATCH_CREATED_UPLOAD,
            },
            headers={"Location": ("The batch's URL", BATCH_CREATED_HEADERS["Location"])},
            model=schemas.BatchOut,
        )
    },
    *AUTH,
    _scope("batches:write"),
    _scope("templates:read"),
    _scope("renders:write"),
    ("no such template in this workspace", ERROR_BATCH_TEMPLATE_NOT_FOUND),
    (
        "`all_or_nothing` and a row is not valid: every problem with its row and locale",
        ERROR_BATCH_ALL_OR_NOTHING,
    ),
    ("`outputs` that are not valid outputs", ERROR_BATCH_OUTPUTS),
    ("an attached file that is not CSV", ERROR_BATCH_CSV_TYPE),
)
LIST_BATCHES_RESPONSES = responses(
    {200: success("A page of batches, newest first.", {"one batch": BATCH_LIST}, model=schemas.BatchList)},
    *AUTH,
    _scope("batches:read"),
    *LIST,
)
GET_BATCH_RESPONSES = responses(
    {
        200: success(
            "The batch. Poll it until `finished_at` is set (or listen for `batch.completed`).",
            {"running": BATCH_RUNNING, "succeeded": BATCH_SUCCEEDED, "cancelled": BATCH_CANCELLED},
            model=schemas.BatchOut,
        )
    },
    *AUTH,
    _scope("batches:read"),
    _NOT_FOUND,
)
LIST_BATCH_RENDERS_RESPONSES = responses(
    {
        200: success(
            "A page of the batch's renders, newest first, matching the filters.",
            {"row 2 in French": BATCH_RENDERS},
            model=schemas.RenderList,
        )
    },
    *AUTH,
    _scope("batches:read"),
    _scope("renders:read"),
    _NOT_FOUND,
    *LIST,
)
CANCEL_BATCH_RESPONSES = responses(
    {
        202: success(
            "Queued renders are cancelled, running ones stop within seconds; the batch is `cancelled` once "
            "its last render ended.",
            {"cancelling": BATCH_CANCELLING},
            model=schemas.BatchOut,
        )
    },
    *AUTH,
    _scope("batches:write"),
    _NOT_FOUND,
    ("every render already ended", ERROR_BATCH_CANCEL_FINISHED),
)
MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch", "rows_csv"],
    "properties": {
        "batch": {"type": "string", "description": "The request object as JSON, without `rows`."},
        "rows_csv": {"type": "string", "format": "binary", "description": "The rows as a UTF-8 CSV file."},
    },
}
__all__ = [
    "CANCEL_BATCH_RESPONSES",
    "CREATE_BATCH_JSON_EXAMPLES",
    "CREATE_BATCH_MULTIPART_EXAMPLES",
    "CREATE_BATCH_RESPONSES",
    "GET_BATCH_RESPONSES",
    "LIST_BATCHES_RESPONSES",
    "LIST_BATCH_RENDERS_RESPONSES",
    "MULTIPART_SCHEMA",
]
