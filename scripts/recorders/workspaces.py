"""The examples of the operator's workspaces (``reelforge.api.examples_workspaces``), recorded
from a running service.

The operator's key is made as the CLI makes it, with the helper of ``tests/test_api_workspaces.py``,
which checks what these routes answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service import running_service
from test_api_workspaces import operator_key


def record(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with running_service(root, "sqlite") as svc:
        operator = operator_key(svc)
        first = svc.get("/v1/workspace").json()["id"]

        def ok(r: Any, status: int = 200) -> Any:
            assert r.status_code == status, (r.status_code, r.text)
            return r.json()

        def problem(r: Any, status: int, code: str) -> Any:
            assert r.status_code == status and r.json()["code"] == code, (r.status_code, r.text)
            return r.json()

        create = out["WORKSPACE_CREATE"] = {"name": "Acme"}
        made = svc.post("/v1/workspaces", operator, json=create)
        created = out["WORKSPACE_CREATED"] = ok(made, 201)
        out["WORKSPACE_LOCATION"] = made.headers["location"]
        ws_id, own = created["id"], created["admin_key"]["token"]
        rename = out["WORKSPACE_RENAME"] = {"name": "Acme Inc."}
        renamed = svc.client.patch(f"/v1/workspaces/{ws_id}", headers=svc.headers(own), json=rename)
        out["WORKSPACE_RENAMED"] = ok(renamed)
        out["WORKSPACE_LIST"] = ok(svc.get("/v1/workspaces", operator, params={"limit": 2}))
        out["WORKSPACE"] = ok(svc.get(f"/v1/workspaces/{ws_id}", own))
        narrow = ok(svc.post("/v1/keys", own, json={"scopes": ["keys:read"]}), 201)["token"]
        out["ERROR_SCOPE_OPERATOR"] = problem(svc.get("/v1/workspaces"), 403, "insufficient-scope")
        out["ERROR_SCOPE_ADMIN"] = problem(
            svc.get(f"/v1/workspaces/{ws_id}", narrow), 403, "insufficient-scope"
        )
        out["ERROR_WORKSPACE_NOT_FOUND"] = problem(svc.get(f"/v1/workspaces/{first}", own), 404, "not-found")
        out["ERROR_WORKSPACE_NAME_INVALID"] = problem(
            svc.post("/v1/workspaces", operator, json={"name": ""}), 422, "validation-error"
        )
        out["WORKSPACE_LIMITS"] = ok(svc.get(f"/v1/workspaces/{ws_id}/limits", own))
        change = out["WORKSPACE_LIMITS_SET"] = {"timeline_seconds": 36000, "render_seconds_per_day": 7200}
        out["WORKSPACE_LIMITS_CHANGED"] = ok(
            svc.client.patch(f"/v1/workspaces/{ws_id}/limits", headers=svc.headers(operator), json=change)
        )
        out["ERROR_LIMITS_INVALID"] = problem(
            svc.client.patch(
                f"/v1/workspaces/{ws_id}/limits", headers=svc.headers(operator), json={"clips": 0}
            ),
            422,
            "validation-error",
        )
    return out
