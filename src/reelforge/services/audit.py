"""Who an audit entry names when a service records one (see :mod:`reelforge.db.audit`).

Services take the actor as a mapping of ``actor_type``, ``actor_id`` and ``request_id`` (the
API builds it from the caller with ``reelforge.api.audit.audit_actor``); the CLI and the server
itself act as :data:`SYSTEM_ACTOR`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SYSTEM_ACTOR", "Actor"]

Actor = Mapping[str, Any]

SYSTEM_ACTOR: dict[str, Any] = {"actor_type": "system", "actor_id": None, "request_id": None}
"""The actor of changes made by the CLI or the server itself."""
