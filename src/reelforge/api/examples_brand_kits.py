"""OpenAPI examples for brand kits, the workspace's compliance level and the compliance check.

Every value in ``recorded/brand_kits.json`` was recorded from a running service (real uploaded
logo, font and video assets, real kits and checks): ``scripts/record_examples.py`` records them
again. The arrangement per operation follows
:mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/brand_kits.json.
_RECORDED = recorded.load("brand_kits")
KIT_CREATE: Any = _RECORDED["KIT_CREATE"]
KIT: Any = _RECORDED["KIT"]
KIT_REPLACE: Any = _RECORDED["KIT_REPLACE"]
KIT_V2: Any = _RECORDED["KIT_V2"]
KIT_LIST: Any = _RECORDED["KIT_LIST"]
VERSION_LIST: Any = _RECORDED["VERSION_LIST"]
VERSION: Any = _RECORDED["VERSION"]
COMPLIANCE_SETTINGS: Any = _RECORDED["COMPLIANCE_SETTINGS"]
CHECK_BODY: Any = _RECORDED["CHECK_BODY"]
CHECK_REPORT: Any = _RECORDED["CHECK_REPORT"]
ERROR_KIT_INVALID: Any = _RECORDED["ERROR_KIT_INVALID"]
ERROR_KIT_NOT_FOUND: Any = _RECORDED["ERROR_KIT_NOT_FOUND"]
ERROR_KIT_STALE: Any = _RECORDED["ERROR_KIT_STALE"]
ERROR_KIT_IF_MATCH_REQUIRED: Any = _RECORDED["ERROR_KIT_IF_MATCH_REQUIRED"]
ERROR_SCOPE_BRAND_KITS_READ: Any = _RECORDED["ERROR_SCOPE_BRAND_KITS_READ"]
ERROR_SCOPE_BRAND_KITS_WRITE: Any = _RECORDED["ERROR_SCOPE_BRAND_KITS_WRITE"]
ERROR_SCOPE_ADMIN: Any = _RECORDED["ERROR_SCOPE_ADMIN"]
ERROR_CHECK_NO_KIT: Any = _RECORDED["ERROR_CHECK_NO_KIT"]
CHECK_TEMPLATE_BODY: Any = _RECORDED["CHECK_TEMPLATE_BODY"]
CHECK_TEMPLATE_REPORT: Any = _RECORDED["CHECK_TEMPLATE_REPORT"]
ERROR_SCOPE_TEMPLATES_READ: Any = _RECORDED["ERROR_SCOPE_TEMPLATES_READ"]
ERROR_TEMPLATE_NOT_FOUND: Any = _RECORDED["ERROR_TEMPLATE_NOT_FOUND"]
ERROR_COMPLIANCE_FAILED: Any = _RECORDED["ERROR_COMPLIANCE_FAILED"]


def _scope(name: str, problem: dict[str, Any]) -> ex.Named:
    return f"a credential without `{name}`", problem


_READ = _scope("brand_kits:read", ERROR_SCOPE_BRAND_KITS_READ)
_WRITE = _scope("brand_kits:write", ERROR_SCOPE_BRAND_KITS_WRITE)
_MISSING: ex.Named = ("no such brand kit in this workspace", ERROR_KIT_NOT_FOUND)
_INVALID: ex.Named = ("an asset of the wrong kind, an unknown asset, a bad colour", ERROR_KIT_INVALID)
_ETAG = ("The kit's version as a strong ETag: send it in If-Match to replace the kit", '"1"')

CREATE_KIT_BODY = ex.body({"a kit with logo, palette, fonts and rules": KIT_CREATE})
CREATE_KIT_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The kit at version 1, with each font's family read from its file.",
            {"a kit with logo, palette, fonts and rules": KIT},
            headers={
                "Location": ("The kit's URL", "https://reelforge.example.com/v1/brand_kits/bk_…"),
                "ETag": _ETAG,
            },
            model=schemas.BrandKitOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _INVALID,
)
LIST_KITS_RESPONSES = ex.responses(
    {200: ex.success("A page of kits.", {"the workspace's kits": KIT_LIST}, model=schemas.BrandKitList)},
    *ex.AUTH,
    _READ,
    *ex.LIST,
)
GET_KIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The kit's current version.", {"a kit": KIT}, headers={"ETag": _ETAG}, model=schemas.BrandKitOut
        ),
        304: {"description": "`If-None-Match` matched the current ETag: nothing changed (no body)."},
    },
    *ex.AUTH,
    _READ,
    _MISSING,
)
REPLACE_KIT_BODY = ex.body({"a new primary colour": KIT_REPLACE})
REPLACE_KIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The kit at its new version.",
            {"a new primary colour": KIT_V2},
            headers={"ETag": _ETAG},
            model=schemas.BrandKitOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _MISSING,
    ("If-Match is not the current ETag (someone changed the kit)", ERROR_KIT_STALE),
    _INVALID,
    ("no If-Match header", ERROR_KIT_IF_MATCH_REQUIRED),
)
DELETE_KIT_RESPONSES = ex.responses(
    {204: {"description": "Deleted with its versions."}},
    *ex.AUTH,
    _WRITE,
    _MISSING,
    ("If-Match is not the current ETag", ERROR_KIT_STALE),
)
LIST_VERSIONS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the kit's versions, newest first.",
            {"a kit's history": VERSION_LIST},
            model=schemas.BrandKitVersionList,
        )
    },
    *ex.AUTH,
    _READ,
    _MISSING,
    *ex.LIST,
)
GET_VERSION_RESPONSES = ex.responses(
    {200: ex.success("One version of the kit.", {"version 1": VERSION}, model=schemas.BrandKitVersionOut)},
    *ex.AUTH,
    _READ,
    _MISSING,
)
GET_COMPLIANCE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The level applied before every render of an edit with a brand kit.",
            {"warn": COMPLIANCE_SETTINGS},
            model=schemas.ComplianceSettingsOut,
        )
    },
    *ex.AUTH,
    _READ,
)
PUT_COMPLIANCE_BODY = ex.body({"warn": {"level": "warn"}})
PUT_COMPLIANCE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The new level (the change is in the audit log).",
            {"warn": COMPLIANCE_SETTINGS},
            model=schemas.ComplianceSettingsOut,
        )
    },
    *ex.AUTH,
    _scope("admin", ERROR_SCOPE_ADMIN),
)
CHECK_PROJECT_BODY = ex.body({"the 9:16 output against the project's kit": CHECK_BODY})
CHECK_PROJECT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The findings (an empty list when the edit keeps every rule).",
            {"the 9:16 output against the project's kit": CHECK_REPORT},
            model=schemas.ComplianceReport,
        )
    },
    *ex.AUTH,
    ex.scope("projects:read"),
    _READ,
    ("no such project in this workspace", ex.ERROR_PROJECT_NOT_FOUND),
    ("the edit names no brand kit and none is given", ERROR_CHECK_NO_KIT),
)
CHECK_TEMPLATE_BODY = ex.body({"this week's values, vertical output": CHECK_TEMPLATE_BODY})
CHECK_TEMPLATE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The findings, with the merged edit they point into.",
            {"this week's values, vertical output": CHECK_TEMPLATE_REPORT},
            model=schemas.ComplianceReport,
        )
    },
    *ex.AUTH,
    _scope("templates:read", ERROR_SCOPE_TEMPLATES_READ),
    _READ,
    ("no such template in this workspace", ERROR_TEMPLATE_NOT_FOUND),
)
RENDER_BLOCKED: ex.Named = (
    "the workspace blocks renders that break their kit's rules",
    ERROR_COMPLIANCE_FAILED,
)
"""For ``POST /v1/renders``' documented problems."""
