"""OpenAPI examples for templates: CRUD with versions, the values' JSON Schema, preview, renders.

Every value in ``recorded/templates.json`` was recorded from a running service (real assets, a
real render): ``scripts/record_examples.py`` records them again. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/templates.json.
_RECORDED = recorded.load("templates")
TEMPLATE_CREATE: dict[str, Any] = _RECORDED["TEMPLATE_CREATE"]
TEMPLATE_CREATED: dict[str, Any] = _RECORDED["TEMPLATE_CREATED"]
TEMPLATE_CREATED_HEADERS: dict[str, Any] = _RECORDED["TEMPLATE_CREATED_HEADERS"]
TEMPLATE: dict[str, Any] = _RECORDED["TEMPLATE"]
TEMPLATE_LIST: dict[str, Any] = _RECORDED["TEMPLATE_LIST"]
TEMPLATE_REPLACE: dict[str, Any] = _RECORDED["TEMPLATE_REPLACE"]
TEMPLATE_REPLACED: dict[str, Any] = _RECORDED["TEMPLATE_REPLACED"]
TEMPLATE_VERSION_LIST: dict[str, Any] = _RECORDED["TEMPLATE_VERSION_LIST"]
TEMPLATE_VERSION: dict[str, Any] = _RECORDED["TEMPLATE_VERSION"]
TEMPLATE_RESTORE: dict[str, Any] = _RECORDED["TEMPLATE_RESTORE"]
TEMPLATE_RESTORED: dict[str, Any] = _RECORDED["TEMPLATE_RESTORED"]
TEMPLATE_VARIABLES: dict[str, Any] = _RECORDED["TEMPLATE_VARIABLES"]
TEMPLATE_PREVIEW_REQUEST: dict[str, Any] = _RECORDED["TEMPLATE_PREVIEW_REQUEST"]
TEMPLATE_PREVIEW: dict[str, Any] = _RECORDED["TEMPLATE_PREVIEW"]
TEMPLATE_RENDER_REQUEST: dict[str, Any] = _RECORDED["TEMPLATE_RENDER_REQUEST"]
TEMPLATE_RENDER_QUEUED: dict[str, Any] = _RECORDED["TEMPLATE_RENDER_QUEUED"]
TEMPLATE_RENDER_DRY_RUN: dict[str, Any] = _RECORDED["TEMPLATE_RENDER_DRY_RUN"]
TEMPLATE_RENDER_PLAN: dict[str, Any] = _RECORDED["TEMPLATE_RENDER_PLAN"]
ERROR_SCOPE_TEMPLATES_READ: dict[str, Any] = _RECORDED["ERROR_SCOPE_TEMPLATES_READ"]
ERROR_SCOPE_TEMPLATES_WRITE: dict[str, Any] = _RECORDED["ERROR_SCOPE_TEMPLATES_WRITE"]
ERROR_TEMPLATE_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_NOT_FOUND"]
ERROR_TEMPLATE_INVALID: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_INVALID"]
ERROR_TEMPLATE_VALIDATION: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_VALIDATION"]
ERROR_TEMPLATE_STALE: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_STALE"]
ERROR_TEMPLATE_NO_IF_MATCH: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_NO_IF_MATCH"]
ERROR_TEMPLATE_VERSION_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_VERSION_NOT_FOUND"]
ERROR_VALUES_INVALID: dict[str, Any] = _RECORDED["ERROR_VALUES_INVALID"]
ERROR_TEMPLATE_EDIT_INVALID: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_EDIT_INVALID"]
ERROR_TEMPLATE_RENDERS_SCOPE: dict[str, Any] = _RECORDED["ERROR_TEMPLATE_RENDERS_SCOPE"]


def _scope(name: str, problem: dict[str, Any]) -> ex.Named:
    return f"a credential without `{name}`", problem


_READ = _scope("templates:read", ERROR_SCOPE_TEMPLATES_READ)
_WRITE = _scope("templates:write", ERROR_SCOPE_TEMPLATES_WRITE)
_NOT_FOUND = ("no such template in this workspace", ERROR_TEMPLATE_NOT_FOUND)
_VERSION_NOT_FOUND = ("the template has no such version", ERROR_TEMPLATE_VERSION_NOT_FOUND)
_ETAG = (
    "The template's version as a strong ETag: send it in If-Match to change the template",
    TEMPLATE_CREATED_HEADERS["ETag"],
)
_STALE = ("If-Match is not the current ETag (someone changed the template)", ERROR_TEMPLATE_STALE)
_INVALID = (
    "a placeholder without a variable, a bad variable definition…: each with its pointer",
    ERROR_TEMPLATE_INVALID,
)
_VALUES = (
    "values that do not fit the variables: every problem at once, each naming the variable",
    ERROR_VALUES_INVALID,
)
_EDIT = ("the filled edit cannot be rendered (pointers into the template)", ERROR_TEMPLATE_EDIT_INVALID)
_NOT_MODIFIED = {"description": "`If-None-Match` matched the current ETag: nothing changed (no body)."}

CREATE_TEMPLATE_BODY = ex.body({"a product slideshow": TEMPLATE_CREATE})
CREATE_TEMPLATE_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The template at version 1.",
            {"a product slideshow": TEMPLATE_CREATED},
            headers={"ETag": _ETAG, "Location": ("The template's URL", TEMPLATE_CREATED_HEADERS["Location"])},
            model=schemas.TemplateOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _INVALID,
    ("an unknown field", ERROR_TEMPLATE_VALIDATION),
)
LIST_TEMPLATES_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of templates, newest first, each at its current version.",
            {"one template": TEMPLATE_LIST},
            model=schemas.TemplateList,
        )
    },
    *ex.AUTH,
    _READ,
    *ex.LIST,
)
GET_TEMPLATE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The template at its current version.",
            {"a template": TEMPLATE},
            headers={"ETag": _ETAG},
            model=schemas.TemplateOut,
        ),
        304: _NOT_MODIFIED,
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
)
REPLACE_TEMPLATE_BODY = ex.body({"add a price badge": TEMPLATE_REPLACE})
REPLACE_TEMPLATE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The template at its new version.",
            {"add a price badge": TEMPLATE_REPLACED},
            headers={"ETag": _ETAG},
            model=schemas.TemplateOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NOT_FOUND,
    _STALE,
    ("no If-Match", ERROR_TEMPLATE_NO_IF_MATCH),
    _INVALID,
)
DELETE_TEMPLATE_RESPONSES = ex.responses(
    {204: {"description": "Deleted with its versions; renders made from it keep their edit and outputs."}},
    *ex.AUTH,
    _WRITE,
    _NOT_FOUND,
    _STALE,
)
LIST_VERSIONS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of versions, newest first.",
            {"two versions": TEMPLATE_VERSION_LIST},
            model=schemas.TemplateVersionList,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    *ex.LIST,
)
GET_VERSION_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The version with its template document.",
            {"the first version": TEMPLATE_VERSION},
            model=schemas.TemplateVersionOut,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    _VERSION_NOT_FOUND,
)
RESTORE_VERSION_BODY = ex.body({"back to the first version": TEMPLATE_RESTORE})
RESTORE_VERSION_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The template at a new version holding the old version's document.",
            {"back to the first version": TEMPLATE_RESTORED},
            headers={"ETag": _ETAG},
            model=schemas.TemplateOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NOT_FOUND,
    _VERSION_NOT_FOUND,
    _STALE,
    ("no If-Match", ERROR_TEMPLATE_NO_IF_MATCH),
)
VARIABLES_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The JSON Schema (draft 2020-12) of the `values` object.",
            {"a product slideshow's values": TEMPLATE_VARIABLES},
            model=schemas.ValuesSchema,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    _VERSION_NOT_FOUND,
)
PREVIEW_BODY = ex.body({"two products in French": TEMPLATE_PREVIEW_REQUEST})
PREVIEW_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The merged edit, valid for rendering.",
            {"two products in French": TEMPLATE_PREVIEW},
            model=schemas.TemplatePreview,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    _VALUES,
    _EDIT,
)
RENDER_TEMPLATE_BODY = ex.body(
    {"two products in French": TEMPLATE_RENDER_REQUEST, "dry run": TEMPLATE_RENDER_DRY_RUN}
)
RENDER_TEMPLATE_RESPONSES = ex.responses(
    {
        202: ex.success(
            "The render, queued, tagged with the template; follow it at `Location`.",
            {"two products in French": TEMPLATE_RENDER_QUEUED},
            headers={"Location": ("The render's URL", "https://reelforge.example/v1/renders/rnd_…")},
            model=schemas.RenderOut,
        ),
        200: ex.success(
            "A dry run: the validated plan with an estimate; nothing is created.",
            {"dry run": TEMPLATE_RENDER_PLAN},
            model=schemas.RenderPlan,
        ),
    },
    *ex.AUTH,
    _READ,
    ("a credential without `renders:write`", ERROR_TEMPLATE_RENDERS_SCOPE),
    _NOT_FOUND,
    _VALUES,
    _EDIT,
)
