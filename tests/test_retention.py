"""Retention and storage quotas on a real service (SQLite and PostgreSQL): a retention run
removes exactly the bytes of expired, unpinned render outputs and the logs past their age;
quotas refuse uploads with a clear 403."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reelforge.db.audit import AuditEntry, record_audit
from reelforge.db.delivery import Destination
from reelforge.db.events import Event, record_event
from reelforge.db.models import Asset, utcnow
from reelforge.db.retention import AssetRetention
from reelforge.services.retention import run_retention
from service import Service, postgres_available, running_service

EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "green"}, "length": 0.5}]}]},
    "outputs": [{"width": 160, "height": 90, "quality": "draft", "audio": False}],
}


def rendered(svc: Service, color: str) -> dict[str, Any]:
    edit = {
        **EDIT,
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": color}, "length": 0.5}]}]},
    }
    render_id = svc.post("/v1/renders", json={"edit": edit}).json()["id"]
    deadline = time.monotonic() + 120
    while (body := svc.get(f"/v1/renders/{render_id}").json())["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["state"] == "succeeded", body
    return dict(body)


def upload(svc: Service, path: Path) -> Any:
    with path.open("rb") as fh:
        return svc.post("/v1/assets", files={"file": (path.name, fh, "image/png")})


def stored_paths(svc: Service, asset_id: str) -> list[Path]:
    with svc.services.sessions() as db:
        asset = db.get(Asset, asset_id)
        assert asset is not None
        keys = [k for k in (asset.storage_key, asset.thumbnail_key, asset.waveform_key) if k]
    return [svc.services.storage.local_path(k) for k in keys]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_retention_run_removes_expired_outputs_and_nothing_else(
    kind: str, tmp_path: Path, media: Any
) -> None:
    if kind == "postgresql" and not postgres_available():
        pytest.skip("no PostgreSQL at REELFORGE_TEST_POSTGRES")
    with running_service(
        tmp_path, kind, workers=1, limit_output_retention_days=1, retention_interval=0
    ) as svc:
        old, pinned = rendered(svc, "red"), rendered(svc, "blue")
        uploaded = upload(svc, media.image()).json()
        expiring = [o["id"] for o in old["outputs"]]
        kept_output = [o["id"] for o in pinned["outputs"]]
        for asset_id in kept_output:
            r = svc.client.put(f"/v1/assets/{asset_id}/pin", headers=svc.headers())
            assert r.status_code == 200 and r.json()["pinned"] is True
        expiring_files = [p for a in expiring for p in stored_paths(svc, a)]
        kept_files = [p for a in [*kept_output, uploaded["id"]] for p in stored_paths(svc, a)]
        assert all(p.is_file() for p in expiring_files + kept_files)
        workspace = svc.get("/v1/workspace").json()["id"]
        with svc.services.sessions() as db:
            long_ago = utcnow() - timedelta(days=400)
            record_event(
                db, workspace_id=workspace, type="test.old", resource_type="x", resource_id="x_1", data={}
            )
            record_audit(db, workspace_id=workspace, action="test.old", resource_type="x", resource_id="x_1")
            db.flush()
            for row in db.scalars(select(Event).where(Event.type == "test.old")):
                row.created_at = long_ago
            for entry in db.scalars(select(AuditEntry).where(AuditEntry.action == "test.old")):
                entry.created_at = long_ago
            db.commit()
            # Every other event must survive (background work may add more meanwhile).
            kept_events = set(db.scalars(select(Event.id).where(Event.type != "test.old")))

        # Not yet past the retention: nothing expires.
        assert run_retention(svc.services).expired_assets == 0
        report = run_retention(svc.services, now=utcnow() + timedelta(days=2))
        assert sorted(report.expired_ids) == sorted(expiring)
        assert report.events == 0 and report.audit_entries == 0  # already pruned by the first run
        assert not any(p.exists() for p in expiring_files)
        assert all(p.is_file() for p in kept_files)
        # The assets and the render stay; the download says why the bytes are gone.
        assert [o["id"] for o in svc.get(f"/v1/renders/{old['id']}").json()["outputs"]] == expiring
        r = svc.get(f"/v1/assets/{expiring[0]}/content")
        assert r.status_code == 404 and "expired" in r.json()["detail"]
        assert svc.get(f"/v1/assets/{kept_output[0]}/content").status_code == 200
        with svc.services.sessions() as db:
            marked = dict(db.execute(select(AssetRetention.asset_id, AssetRetention.expired_at)).all())
            assert {a for a, at in marked.items() if at is not None} == set(expiring)
            assert db.scalar(select(Event.id).where(Event.type == "test.old")) is None
            assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "test.old")) is None
            assert kept_events <= set(db.scalars(select(Event.id)))
        # Run again: nothing more.
        assert run_retention(svc.services, now=utcnow() + timedelta(days=2)).expired_assets == 0


def test_storage_quotas_refuse_uploads_with_a_clear_problem(tmp_path: Path, media: Any) -> None:
    with running_service(tmp_path, limit_storage_assets=1) as svc:
        first = upload(svc, media.image(color="red"))
        assert first.status_code == 201, first.text
        assert upload(svc, media.image(color="red")).status_code in (200, 201)  # the same bytes: no new asset
        refused = upload(svc, media.image(color="yellow"))
        assert refused.status_code == 403, refused.text
        body = refused.json()
        assert body["code"] == "quota-exceeded" and body["limit"] == "storage_assets"
        assert body["quota"] == 1 and body["used"] == 1
        usage = svc.get(f"/v1/workspaces/{svc.get('/v1/workspace').json()['id']}/limits").json()["usage"]
        assert usage["storage_assets_used"] == 1


def test_credential_keys_rotate(tmp_path: Path) -> None:
    """Credentials sealed under an old key open once a new key is put first, and
    `reelforge destinations rotate-keys` re-encrypts them so the old key can be dropped."""
    import os
    import subprocess
    import sys

    from reelforge.delivery.crypto import CredentialBox, CredentialError, generate_key
    from reelforge.services.context import open_services
    from reelforge.settings import Settings

    old, new = generate_key(), generate_key()
    with running_service(tmp_path, delivery_credential_keys=[old]) as svc:
        r = svc.post(
            "/v1/destinations",
            json={
                "name": "b",
                "kind": "s3",
                "config": {"bucket": "bucket-a"},
                "credentials": {"access_key_id": "k", "secret_access_key": "s"},
            },
        )
        assert r.status_code == 201, r.text
        root = svc.services.secrets.pepper
    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'reelforge.db'}",
        "REELFORGE_DELIVERY_CREDENTIAL_KEYS": f'["{new}", "{old}"]',
    }
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "destinations", "rotate-keys"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "1 destinations" in done.stdout, done.stdout + done.stderr
    services = open_services(
        Settings(data_dir=tmp_path / "data", database_url=env["REELFORGE_DATABASE_URL"], _env_file=None)
    )  # type: ignore[call-arg]
    with services.sessions() as db:
        sealed = db.scalar(select(Destination.credentials))
    services.engine.dispose()
    assert sealed is not None
    assert CredentialBox([new], root).open(sealed) == {"access_key_id": "k", "secret_access_key": "s"}
    # Re-encrypted with the new key: the old one alone no longer reads it, so it can be dropped.
    with pytest.raises(CredentialError):
        CredentialBox([old], root).open(sealed)


def test_retention_cli_runs(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'reelforge.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "retention", "run", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["expired_assets"] == 0 and "events" in report


def test_the_bytes_quota(tmp_path: Path, media: Any) -> None:
    small = media.image(size=(32, 32))
    with running_service(tmp_path, limit_storage_bytes=small.stat().st_size + 10) as svc:
        assert upload(svc, small).status_code == 201
        refused = upload(svc, media.image(size=(64, 64), color="red"))
        assert refused.status_code == 403 and refused.json()["limit"] == "storage_bytes"
        assert refused.json()["used"] == small.stat().st_size


def test_a_retention_run_prunes_idempotency_records_and_delivery_logs_past_their_age(tmp_path: Path) -> None:
    from reelforge.db.delivery import OutputDelivery
    from reelforge.db.idempotency import IdempotencyKey

    root = tmp_path / "delivered"
    with running_service(
        tmp_path,
        workers=1,
        delivery_folder_root=root,
        delivery_retry_schedule=[0.1],
        delivery_retry_jitter=0.0,
        delivery_log_retention_days=30,
        retention_interval=0,
    ) as svc:
        made = svc.client.post(
            "/v1/destinations",
            headers={**svc.headers(), "Idempotency-Key": "destination-once"},
            json={"name": "drive", "kind": "folder", "config": {"path": "out"}},
        )
        assert made.status_code == 201, made.text
        r = svc.post("/v1/renders", json={"edit": EDIT, "destinations": [made.json()["id"]]})
        assert r.status_code == 202, r.text
        render_id = r.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            deliveries = svc.get(f"/v1/renders/{render_id}/deliveries").json()["data"]
            if deliveries and all(d["state"] == "succeeded" for d in deliveries):
                break
            assert time.monotonic() < deadline, deliveries
            time.sleep(0.05)
        with svc.services.sessions() as db:
            assert db.scalar(select(IdempotencyKey.key).where(IdempotencyKey.key == "destination-once"))

        # A day later: the idempotency record (kept 24 hours) goes, the delivery log stays.
        report = run_retention(svc.services, now=utcnow() + timedelta(days=2))
        assert report.idempotency_records >= 1 and report.deliveries == 0
        with svc.services.sessions() as db:
            assert (
                db.scalar(select(IdempotencyKey.key).where(IdempotencyKey.key == "destination-once")) is None
            )
        assert len(svc.get(f"/v1/renders/{render_id}/deliveries").json()["data"]) == len(deliveries)

        # Past the delivery log's 30 days: the finished deliveries go, nothing else.
        report = run_retention(svc.services, now=utcnow() + timedelta(days=31))
        assert report.deliveries == len(deliveries) and report.expired_assets == 0
        assert svc.get(f"/v1/renders/{render_id}/deliveries").json()["data"] == []
        with svc.services.sessions() as db:
            assert db.scalar(select(OutputDelivery.id)) is None
        render = svc.get(f"/v1/renders/{render_id}").json()
        assert render["state"] == "succeeded"
        assert all(svc.get(f"/v1/assets/{o['id']}/content").status_code == 200 for o in render["outputs"])
        assert svc.get(f"/v1/destinations/{made.json()['id']}").status_code == 200
        assert [p.name for p in (root / svc.get("/v1/workspace").json()["id"] / "out").iterdir()]
