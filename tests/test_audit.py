"""The audit log: security-relevant actions are recorded with who did them (and the request),
in the same transaction as the action, and only admins can read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from reelforge.cli import app
from reelforge.db.audit import AuditEntry
from service import Service, running_service

COLOUR = {"timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]}}


def entries(svc: Service, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = svc.get("/v1/audit", token, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        found += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return found


def _admin_key_id(svc: Service) -> str:
    return str(svc.get("/v1/keys", params={"limit": 100}).json()["data"][-1]["id"])


def test_key_changes_are_audited_with_actor_and_request(service: Service) -> None:
    svc = service
    admin_id = _admin_key_id(svc)
    bootstrap = entries(svc)
    # the first key was made by the server itself
    assert [(e["action"], e["actor"], e["resource"]["id"]) for e in bootstrap] == [
        ("key.created", {"type": "system", "id": None}, admin_id)
    ]

    r = svc.post("/v1/keys", json={"name": "cms", "scopes": ["renders:write", "renders:read"]})
    key = r.json()
    created = entries(svc, action="key.created", resource_id=key["id"])
    assert len(created) == 1
    entry = created[0]
    assert entry["object"] == "audit_entry" and entry["actor"] == {"type": "api_key", "id": admin_id}
    assert entry["request_id"] == r.headers["x-request-id"]
    assert entry["resource"] == {"type": "api_key", "id": key["id"]}
    assert entry["details"]["scopes"] == key["scopes"] and entry["details"]["name"] == "cms"
    assert key["token"] not in str(entry) and "hash" not in entry["details"]  # never a secret

    rolled = svc.post(f"/v1/keys/{key['id']}/roll", json={"grace_seconds": 60}).json()
    roll = entries(svc, action="key.rolled")
    assert [e["resource"]["id"] for e in roll] == [key["id"]]
    assert roll[0]["details"]["replaced_by"] == rolled["id"]
    assert [e["resource"]["id"] for e in entries(svc, action="key.created", resource_id=rolled["id"])] == [
        rolled["id"]
    ]

    r = svc.post(f"/v1/keys/{rolled['id']}/revoke")
    revoked = entries(svc, action="key.revoked")
    assert [(e["resource"]["id"], e["request_id"]) for e in revoked] == [
        (rolled["id"], r.headers["x-request-id"])
    ]
    svc.post(f"/v1/keys/{rolled['id']}/revoke")  # again: nothing changes, nothing recorded
    assert len(entries(svc, action="key.revoked")) == 1

    # newest first; prefix filter; actor filter
    everything = entries(svc)
    assert [(e["action"], e["resource"]["id"]) for e in everything] == [
        ("key.revoked", rolled["id"]),
        ("key.rolled", key["id"]),
        ("key.created", rolled["id"]),
        ("key.created", key["id"]),
        ("key.created", admin_id),
    ]
    assert {e["action"] for e in entries(svc, action="key.*")} == {"key.created", "key.rolled", "key.revoked"}
    assert len(entries(svc, actor_id=admin_id)) == len(everything) - 1
    paged = entries(svc, limit=2)
    assert paged == everything


def test_oauth_clients_deletes_and_admin_only(service: Service, media: Any) -> None:
    svc = service
    client = svc.post("/v1/oauth/clients", json={"name": "zapier", "scopes": ["renders:read"]}).json()
    svc.post(f"/v1/oauth/clients/{client['id']}/revoke")
    assert [e["action"] for e in entries(svc, resource_id=client["id"])] == [
        "oauth_client.revoked",
        "oauth_client.created",
    ]
    assert client["client_secret"] not in str(entries(svc))

    with Path(media.image(color="red")).open("rb") as f:
        asset = svc.post("/v1/assets", files={"file": ("logo.png", f)}).json()
    r = svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers())
    assert r.status_code == 204
    [deleted] = entries(svc, action="asset.deleted")
    assert (
        deleted["resource"] == {"type": "asset", "id": asset["id"]}
        and deleted["details"]["name"] == "logo.png"
    )
    assert deleted["request_id"] == r.headers["x-request-id"]

    project = svc.post("/v1/projects", json={"name": "gone", "edit": COLOUR}).json()
    assert svc.client.delete(f"/v1/projects/{project['id']}", headers=svc.headers()).status_code == 204
    [gone] = entries(svc, action="project.deleted")
    assert gone["resource"]["id"] == project["id"] and gone["details"] == {"name": "gone", "revision": 1}

    # a refused delete leaves no entry (the audit row shares the delete's transaction)
    with svc.services.sessions() as db:
        before = db.scalar(select(func.count()).select_from(AuditEntry))
    r = svc.client.delete(f"/v1/projects/{project['id']}", headers=svc.headers())
    assert r.status_code == 404
    with svc.services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == before

    # admins only: every other scope, even all of keys, is refused
    narrow = svc.new_key("keys:read", "keys:write", "events:read", "assets:write")
    r = svc.get("/v1/audit", narrow)
    assert r.status_code == 403 and r.json()["required_scope"] == "admin"
    # another workspace's admin sees only its own log
    other = svc.other_workspace_key()
    theirs = entries(svc, other)
    assert [e["action"] for e in theirs] == ["key.created"] and theirs[0]["actor"]["type"] == "system"
    bad = svc.get("/v1/audit", params={"action": "key*"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "action"


def test_cli_key_commands_are_audited_as_system(tmp_path: Path) -> None:
    with running_service(tmp_path, "sqlite") as svc:
        env = {
            "REELFORGE_DATA_DIR": str(svc.data_dir),
            "REELFORGE_DATABASE_URL": svc.services.settings.resolved_database_url(),
            "COLUMNS": "250",
        }

        def run(*args: str) -> str:
            done = CliRunner().invoke(app, ["keys", *args], env=env)
            assert done.exit_code == 0, done.output
            return done.stdout

        key_id = run("create", "--scope", "renders:read", "--name", "ci").split()[0]
        new_id = run("roll", key_id, "--grace", "60").split()[0]
        run("revoke", new_id)
        found = [
            (e["action"], e["resource"]["id"], e["actor"]["type"], e["request_id"])
            for e in entries(svc)
            if e["resource"]["id"] in (key_id, new_id)
        ]
        assert found == [
            ("key.revoked", new_id, "system", None),
            ("key.rolled", key_id, "system", None),
            ("key.created", new_id, "system", None),
            ("key.created", key_id, "system", None),
        ]


def test_template_and_brand_kit_deletes_and_batch_cancels_are_audited(service: Service) -> None:
    svc = service
    template = {
        "name": "card",
        "variables": [{"name": "title", "type": "text", "required": True}],
        "edit": {
            "timeline": {
                "tracks": [{"clips": [{"asset": {"type": "text", "text": "{{title}}"}, "length": 1}]}]
            },
            "outputs": [{"width": 160, "height": 90, "quality": "draft"}],
        },
    }
    gone = svc.post("/v1/templates", json=template).json()
    r = svc.client.delete(f"/v1/templates/{gone['id']}", headers=svc.headers())
    assert r.status_code == 204, r.text
    [deleted] = entries(svc, action="template.deleted")
    assert deleted["resource"] == {"type": "template", "id": gone["id"]}
    assert (
        deleted["details"] == {"name": "card", "version": 1}
        and deleted["request_id"] == r.headers["x-request-id"]
    )
    assert deleted["actor"]["id"] == _admin_key_id(svc)

    kit = svc.post("/v1/brand_kits", json={"name": "Acme", "colors": {"primary": "#ff3300"}})
    assert kit.status_code == 201, kit.text
    assert svc.client.delete(f"/v1/brand_kits/{kit.json()['id']}", headers=svc.headers()).status_code == 204
    assert [e["resource"]["id"] for e in entries(svc, action="brand_kit.deleted")] == [kit.json()["id"]]

    kept = svc.post("/v1/templates", json=template).json()
    batch = svc.post(
        "/v1/batches", json={"template_id": kept["id"], "rows": [{"title": "a"}, {"title": "b"}]}
    )
    assert batch.status_code == 202, batch.text
    r = svc.post(f"/v1/batches/{batch.json()['id']}/cancel")  # no worker here: both renders still queued
    assert r.status_code == 202, r.text
    [cancelled] = entries(svc, action="batch.cancelled")
    assert cancelled["resource"] == {"type": "batch", "id": batch.json()["id"]}
    assert (
        cancelled["details"] == {"renders_cancelled": 2}
        and cancelled["request_id"] == r.headers["x-request-id"]
    )
