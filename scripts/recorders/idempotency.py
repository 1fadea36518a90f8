"""The examples of the Idempotency-Key problems (``reelforge.api.examples_idempotency``), recorded from a running service.

The helpers come from ``tests/test_idempotency.py``, which checks the examples against a service.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from reelforge.db import idempotency as store
from reelforge.db.models import utcnow
from test_idempotency import EDIT, with_key, workspace_of


def record(root: Path) -> dict[str, Any]:
    from service import running_service

    out: dict[str, Any] = {}
    with running_service(root, "sqlite") as svc:
        k = out["IDEMPOTENCY_KEY"] = str(uuid.uuid4())
        r = svc.post("/v1/renders", json={"edit": EDIT}, headers=with_key("order 1001"))
        assert r.status_code == 400
        out["ERROR_IDEMPOTENCY_KEY_INVALID"] = r.json()
        assert svc.post("/v1/renders", json={"edit": EDIT}, headers=with_key(k)).status_code == 202
        r = svc.post("/v1/renders", json={"edit": EDIT, "metadata": {"order": "1002"}}, headers=with_key(k))
        assert r.status_code == 422
        out["ERROR_IDEMPOTENCY_KEY_REUSED"] = r.json()
        # A request with this key runs elsewhere (another process holds the claim).
        held = str(uuid.uuid4())
        with svc.services.sessions() as db:
            db.add(
                store.IdempotencyKey(
                    workspace_id=workspace_of(svc),
                    key=held,
                    state="in_progress",
                    lock_token="0" * 32,
                    locked_until=utcnow() + timedelta(seconds=30),
                    created_at=utcnow(),
                )
            )
            db.commit()
        r = svc.post("/v1/renders", json={"edit": EDIT}, headers=with_key(held))
        assert r.status_code == 409 and r.headers["retry-after"] == "1"
        out["ERROR_IDEMPOTENCY_IN_PROGRESS"] = r.json()
    return out
