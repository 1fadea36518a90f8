"""Record the documented examples of ``/v1/workspaces`` from a running service into
``src/reelforge/api/examples_workspaces.json``.

Run it after changing what those routes answer: ``PYTHONPATH=src .venv/bin/python
scripts/record_workspace_examples.py``. It starts a service on a temporary SQLite database,
makes an operator key the way the CLI does, calls every route and keeps the answers.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.services import keys, workspaces
from reelforge.services.context import open_services
from reelforge.settings import Settings

OUT = Path(__file__).resolve().parent.parent / "src" / "reelforge" / "api" / "examples_workspaces.json"


def record() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reelforge-examples-") as tmp:
        settings = Settings(data_dir=Path(tmp), workers=0, _env_file=None)  # type: ignore[call-arg]
        services = open_services(settings)
        admin = workspaces.bootstrap(services)
        with services.sessions() as db:
            first = workspaces.workspace_or_first(db, None)
            _, operator = keys.create_key(db, services, first.id, "operator", ["operator"])
        with TestClient(create_app(services=services, start_worker=False)) as client:

            def call(method: str, url: str, token: str | None, **kw: Any) -> Any:
                r = client.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
                return r

            create = {"name": "Acme"}
            made = call("POST", "/v1/workspaces", operator, json=create)
            assert made.status_code == 201, made.text
            created = made.json()
            ws_id = created["id"]
            own = created["admin_key"]["token"]
            rename = {"name": "Acme Inc."}
            renamed = call("PATCH", f"/v1/workspaces/{ws_id}", own, json=rename).json()
            listed = call("GET", "/v1/workspaces", operator, params={"limit": 2}).json()
            got = call("GET", f"/v1/workspaces/{ws_id}", own).json()
            narrow = call("POST", "/v1/keys", own, json={"scopes": ["keys:read"]}).json()["token"]
            doc = {
                "workspace_create": create,
                "workspace_created": created,
                "location": made.headers["location"],
                "workspace_rename": rename,
                "workspace_renamed": renamed,
                "workspace_list": listed,
                "workspace": got,
                "error_scope_operator": call("GET", "/v1/workspaces", admin).json(),
                "error_scope_admin": call("GET", f"/v1/workspaces/{ws_id}", narrow).json(),
                "error_not_found": call("GET", f"/v1/workspaces/{first.id}", own).json(),
                "error_validation": call("POST", "/v1/workspaces", operator, json={"name": ""}).json(),
            }
        services.engine.dispose()
    return doc


if __name__ == "__main__":
    OUT.write_text(json.dumps(record(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
