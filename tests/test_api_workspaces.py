"""Workspaces for operators: the operator (a key the CLI made with ``--operator``) creates,
lists and renames workspaces over HTTP; a workspace's admin sees and renames only its own; a
key of a new workspace sees only that workspace; the CLI does the same on the database."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx

from reelforge.services import keys
from service import Service, live_server, running_service


def operator_key(svc: Service) -> str:
    """A key of the first workspace with the operator scope, made as the CLI makes it."""
    from reelforge.services.workspaces import workspace_or_first

    with svc.services.sessions() as db:
        first = workspace_or_first(db, None)
        _, token = keys.create_key(db, svc.services, first.id, "operator", ["operator"])
    return token


def audit(svc: Service, token: str) -> list[dict[str, Any]]:
    r = svc.get("/v1/audit", token, params={"limit": 100})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_the_operator_creates_a_workspace_whose_key_sees_only_it(service: Service, media: Any) -> None:
    svc = service
    operator = operator_key(svc)
    with media.video(duration=0.4).open("rb") as f:
        mine = svc.post("/v1/assets", files={"file": ("clip.mp4", f, "video/mp4")}).json()
    first = svc.get("/v1/workspace").json()["id"]

    r = svc.post("/v1/workspaces", operator, json={"name": "  Acme  "})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["object"] == "workspace" and made["id"].startswith("ws_") and made["name"] == "Acme"
    assert r.headers["location"].endswith(f"/v1/workspaces/{made['id']}")
    key = made["admin_key"]
    assert key["scopes"] == ["admin"] and key["token"].startswith("rf_")
    theirs = key["token"]

    # the new key lives in the new workspace, and sees nothing of the first
    me = svc.get("/v1/workspace", theirs).json()
    assert (me["id"], me["name"]) == (made["id"], "Acme") and "operator" not in me["scopes"]
    assert svc.get("/v1/assets", theirs).json()["data"] == []
    assert svc.get(f"/v1/assets/{mine['id']}", theirs).status_code == 404
    assert [k["id"] for k in svc.get("/v1/keys", theirs).json()["data"]] == [key["id"]]
    assert svc.get(f"/v1/workspaces/{first}", theirs).status_code == 404
    assert svc.get(f"/v1/workspaces/{made['id']}", theirs).json() == {
        k: v for k, v in made.items() if k != "admin_key"
    }
    # ...and the first workspace sees nothing of the new one's
    assert svc.get(f"/v1/workspaces/{made['id']}").status_code == 404
    # the creation is in the new workspace's log, by the operator's key
    logged = {e["action"]: e for e in audit(svc, theirs)}
    assert set(logged) == {"workspace.created", "key.created"}
    assert logged["workspace.created"]["resource"] == {"type": "workspace", "id": made["id"]}
    assert logged["workspace.created"]["actor"]["type"] == "api_key"

    # the operator lists every workspace, newest first, a page at a time
    page = svc.get("/v1/workspaces", operator, params={"limit": 1}).json()
    assert [w["id"] for w in page["data"]] == [made["id"]] and page["has_more"]
    rest = svc.get("/v1/workspaces", operator, params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [w["id"] for w in rest["data"]] == [first] and not rest["has_more"]
    # a workspace without a key, on request
    bare = svc.post("/v1/workspaces", operator, json={"name": "empty", "admin_key": False}).json()
    assert "admin_key" not in bare
    assert len(svc.get("/v1/workspaces", operator).json()["data"]) == 3


def test_a_workspace_admin_cannot_list_or_create_or_see_others(service: Service) -> None:
    svc = service
    operator = operator_key(svc)
    other = svc.post("/v1/workspaces", operator, json={"name": "other"}).json()
    mine = svc.get("/v1/workspace").json()["id"]
    for method, url, body in (
        ("GET", "/v1/workspaces", None),
        ("POST", "/v1/workspaces", {"name": "mine now"}),
    ):
        r = svc.client.request(method, url, headers=svc.headers(), json=body)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "insufficient-scope" and r.json()["required_scope"] == "operator"
    r = svc.client.patch(f"/v1/workspaces/{other['id']}", headers=svc.headers(), json={"name": "taken"})
    assert r.status_code == 404
    assert svc.get(f"/v1/workspaces/{other['id']}").status_code == 404
    assert svc.get(f"/v1/workspaces/{other['id']}", operator).json()["name"] == "other"
    # its own workspace: read and rename, audited with both names
    assert svc.get(f"/v1/workspaces/{mine}").json()["name"] == "default"
    r = svc.client.patch(f"/v1/workspaces/{mine}", headers=svc.headers(), json={"name": "Studio"})
    assert r.status_code == 200 and r.json()["name"] == "Studio"
    assert svc.get("/v1/workspace").json()["name"] == "Studio"
    renamed = [e for e in audit(svc, svc.token) if e["action"] == "workspace.renamed"]
    assert len(renamed) == 1 and renamed[0]["details"] == {"old_name": "default", "name": "Studio"}
    # scopes below admin see no workspace; the operator renames any
    narrow = svc.new_key("keys:read", "keys:write")
    r = svc.get(f"/v1/workspaces/{mine}", narrow)
    assert r.status_code == 403 and r.json()["required_scope"] == "admin"
    r = svc.client.patch(f"/v1/workspaces/{other['id']}", headers=svc.headers(operator), json={"name": "O2"})
    assert r.status_code == 200 and r.json()["name"] == "O2"
    # names are checked
    for bad in ("", "   ", "x" * 201, "tab\there"):
        r = svc.client.patch(f"/v1/workspaces/{mine}", headers=svc.headers(), json={"name": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/name", bad
    assert svc.post("/v1/workspaces", operator, json={"name": "x", "owner": "y"}).status_code == 422


def test_only_the_cli_grants_the_operator_scope(service: Service) -> None:
    svc = service
    for url in ("/v1/keys", "/v1/oauth/clients"):
        r = svc.post(url, json={"scopes": ["admin", "operator"]})
        assert r.status_code == 422 and "unknown scopes" in r.text, r.text
    operator = operator_key(svc)
    # an admin cannot roll the operator's key into one of its own
    op_id = next(k["id"] for k in svc.get("/v1/keys").json()["data"] if k["scopes"] == ["operator"])
    r = svc.post(f"/v1/keys/{op_id}/roll")
    assert r.status_code == 403 and "operator" in r.json()["detail"]
    # the operator's key holds no workspace scope it was not given
    assert svc.get("/v1/assets", operator).status_code == 403
    assert svc.get("/v1/workspace", operator).json()["scopes"] == ["operator"]


def test_creating_a_workspace_is_idempotent(service: Service) -> None:
    svc = service
    operator = operator_key(svc)
    headers = {"Idempotency-Key": "ws-create-1"}
    first = svc.post("/v1/workspaces", operator, json={"name": "Acme"}, headers=headers)
    again = svc.post("/v1/workspaces", operator, json={"name": "Acme"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert again.headers["location"] == first.headers["location"]
    assert len(svc.get("/v1/workspaces", operator).json()["data"]) == 2
    reused = svc.post("/v1/workspaces", operator, json={"name": "Other"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency-key-reused"


def test_workspaces_over_a_real_socket(sqlite_service: Service) -> None:
    svc = sqlite_service
    operator = operator_key(svc)
    with live_server(svc) as base:
        auth = {"Authorization": f"Bearer {operator}"}
        made = httpx.post(f"{base}/v1/workspaces", headers=auth, json={"name": "Socket"})
        assert made.status_code == 201
        token = made.json()["admin_key"]["token"]
        r = httpx.get(f"{base}/v1/workspace", headers={"Authorization": f"Bearer {token}"})
        assert r.json()["id"] == made.json()["id"]


def test_cli_workspaces_commands(tmp_path: Any) -> None:
    with running_service(tmp_path, "sqlite") as svc:
        env = {
            "REELFORGE_DATA_DIR": str(svc.data_dir),
            "REELFORGE_DATABASE_URL": svc.services.settings.resolved_database_url(),
            "COLUMNS": "250",
            "PATH": "/usr/bin:/bin",
        }

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "reelforge", *args],
                env={**env, "PYTHONPATH": ":".join(sys.path)},
                capture_output=True,
                text=True,
                timeout=120,
            )

        made = run("workspaces", "create", "Acme")
        assert made.returncode == 0, made.stderr
        ws_id, token = made.stdout.split()
        assert ws_id.startswith("ws_") and token.startswith("rf_")
        assert svc.get("/v1/workspace", token).json()["name"] == "Acme"
        bare = run("workspaces", "create", "Bare", "--no-key")
        assert (
            bare.returncode == 0
            and bare.stdout.split()[0].startswith("ws_")
            and len(bare.stdout.split()) == 1
        )

        listed = run("workspaces", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [w["name"] for w in json.loads(listed.stdout)] == ["default", "Acme", "Bare"]
        assert "Acme" in run("workspaces", "list").stdout

        renamed = run("workspaces", "rename", ws_id, "Acme Inc.")
        assert renamed.returncode == 0, renamed.stderr
        assert svc.get("/v1/workspace", token).json()["name"] == "Acme Inc."
        logged = [(e["action"], e["actor"]["type"]) for e in audit(svc, token)]
        # made in one transaction: the two entries' order within it is not the point
        assert logged[0] == ("workspace.renamed", "system")
        assert sorted(logged[1:]) == [("key.created", "system"), ("workspace.created", "system")]
        missing = run("workspaces", "rename", "ws_nope", "x")
        assert missing.returncode == 2 and "no workspace ws_nope" in missing.stderr
        empty = run("workspaces", "create", "   ")
        assert empty.returncode == 2 and "1 to 200 characters" in empty.stderr

        # an operator key, made by the CLI only, works over the API
        created = run("keys", "create", "--operator", "--name", "ops")
        assert created.returncode == 0, created.stderr
        _, operator = created.stdout.split()
        names = [w["name"] for w in svc.get("/v1/workspaces", operator).json()["data"]]
        assert names == ["Bare", "Acme Inc.", "default"]
        scoped = run("keys", "create", "--scope", "assets:read", "--workspace", ws_id)
        assert scoped.returncode == 0, scoped.stderr
        assert svc.get("/v1/workspace", scoped.stdout.split()[1]).json()["id"] == ws_id
        assert run("keys", "create").returncode == 2
        assert "operator" in run("keys", "create", "--help").stdout
        assert "rename" in run("workspaces", "--help").stdout
