"""OpenAPI examples for the operator's workspaces (``/v1/workspaces``).

Every value in ``recorded/workspaces.json`` was recorded from a running service (an operator key
made the way the CLI makes it, then each route called): ``scripts/record_examples.py workspaces``
records them again. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/workspaces.json.
_RECORDED = recorded.load("workspaces")
WORKSPACE_CREATE: dict[str, Any] = _RECORDED["WORKSPACE_CREATE"]
WORKSPACE_CREATED: dict[str, Any] = _RECORDED["WORKSPACE_CREATED"]
WORKSPACE_LOCATION: str = _RECORDED["WORKSPACE_LOCATION"]
WORKSPACE_RENAME: dict[str, Any] = _RECORDED["WORKSPACE_RENAME"]
WORKSPACE_RENAMED: dict[str, Any] = _RECORDED["WORKSPACE_RENAMED"]
WORKSPACE_LIST: dict[str, Any] = _RECORDED["WORKSPACE_LIST"]
WORKSPACE: dict[str, Any] = _RECORDED["WORKSPACE"]
ERROR_SCOPE_OPERATOR: dict[str, Any] = _RECORDED["ERROR_SCOPE_OPERATOR"]
ERROR_SCOPE_ADMIN: dict[str, Any] = _RECORDED["ERROR_SCOPE_ADMIN"]
ERROR_WORKSPACE_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_WORKSPACE_NOT_FOUND"]
ERROR_WORKSPACE_NAME_INVALID: dict[str, Any] = _RECORDED["ERROR_WORKSPACE_NAME_INVALID"]
WORKSPACE_LIMITS: dict[str, Any] = _RECORDED["WORKSPACE_LIMITS"]
WORKSPACE_LIMITS_SET: dict[str, Any] = _RECORDED["WORKSPACE_LIMITS_SET"]
WORKSPACE_LIMITS_CHANGED: dict[str, Any] = _RECORDED["WORKSPACE_LIMITS_CHANGED"]
ERROR_LIMITS_INVALID: dict[str, Any] = _RECORDED["ERROR_LIMITS_INVALID"]

_NEEDS_OPERATOR = ("a credential without `operator` (a workspace admin)", ERROR_SCOPE_OPERATOR)
_NEEDS_ADMIN = ("a credential without `admin`", ERROR_SCOPE_ADMIN)
_NOT_FOUND = ("another workspace (for an admin), or none with this id", ERROR_WORKSPACE_NOT_FOUND)
_INVALID_NAME = ("an empty name", ERROR_WORKSPACE_NAME_INVALID)

CREATE_BODY = ex.body({"a customer": WORKSPACE_CREATE})
RENAME_BODY = ex.body({"a new name": WORKSPACE_RENAME})

CREATE_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The workspace and, unless `admin_key` is false, its first admin key: `admin_key.token` "
            "is in this response only.",
            {"a workspace for a customer": WORKSPACE_CREATED},
            headers={"Location": ("The new workspace's URL", WORKSPACE_LOCATION)},
            model=schemas.ManagedWorkspaceCreated,
        )
    },
    *ex.AUTH,
    _NEEDS_OPERATOR,
    _INVALID_NAME,
)
LIST_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of every workspace, newest first.",
            {"two workspaces": WORKSPACE_LIST},
            model=schemas.ManagedWorkspaceList,
        )
    },
    *ex.AUTH,
    _NEEDS_OPERATOR,
    *ex.LIST,
)
GET_RESPONSES = ex.responses(
    {200: ex.success("The workspace.", {"a workspace": WORKSPACE}, model=schemas.ManagedWorkspace)},
    *ex.AUTH,
    _NEEDS_ADMIN,
    _NOT_FOUND,
)
RENAME_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The renamed workspace.", {"renamed": WORKSPACE_RENAMED}, model=schemas.ManagedWorkspace
        )
    },
    *ex.AUTH,
    _NEEDS_ADMIN,
    _NOT_FOUND,
    _INVALID_NAME,
)

LIMITS_BODY = ex.body({"a longer timeline, a daily budget": WORKSPACE_LIMITS_SET})
LIMITS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The limits in force, the operator's overrides and the day's usage.",
            {"the defaults": WORKSPACE_LIMITS},
            model=schemas.WorkspaceLimitsOut,
        )
    },
    *ex.AUTH,
    _NEEDS_ADMIN,
    _NOT_FOUND,
)
SET_LIMITS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The limits now in force.",
            {"changed": WORKSPACE_LIMITS_CHANGED},
            model=schemas.WorkspaceLimitsOut,
        )
    },
    *ex.AUTH,
    _NEEDS_OPERATOR,
    _NOT_FOUND,
    ("a limit that is not a positive number, or no limit of that name", ERROR_LIMITS_INVALID),
)
