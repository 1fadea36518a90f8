"""Who an audit entry names: the convention every router follows when it calls
:func:`reelforge.db.audit.record_audit`.

* A request made with an API key: ``actor_type="api_key"``, ``actor_id=<key id>``.
* A request made with an OAuth access token: ``actor_type="oauth"``, ``actor_id=<client id>``.
* A person signed in to the console (password or single sign-on): ``actor_type="user"``,
  ``actor_id=<user id>``.
* The CLI (``reelforge keys …``) and the server itself: ``actor_type="system"``, no actor id.
* ``request_id`` is the request's own ``X-Request-Id`` (``req_…``), so an entry leads to the
  access log line; the system has none.

Use it as ``record_audit(db, workspace_id=…, action=…, resource_type=…, resource_id=…,
details={…}, **audit_actor(principal, request))``, before the change's commit. ``details`` says
what changed and never holds a secret (no tokens, no ``whsec_`` values, no hashes).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from reelforge.services.audit import SYSTEM_ACTOR

from .auth import Principal

__all__ = ["SYSTEM_ACTOR", "audit_actor"]


def audit_actor(principal: Principal, request: Request | None = None) -> dict[str, Any]:
    """``actor_type``, ``actor_id`` and ``request_id`` for ``record_audit`` from the caller."""
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    return {"actor_type": principal.kind, "actor_id": principal.credential_id, "request_id": request_id}
