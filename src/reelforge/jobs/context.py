"""What a job needs from the process that runs it (the API server or a worker process)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from reelforge.media.storage import Storage
from reelforge.settings import Settings

__all__ = ["JobContext", "PreviewQueue"]


class PreviewQueue(Protocol):
    def submit(self, asset_id: str) -> None:
        """Have the asset's deferred previews made soon."""
        ...


class JobContext(Protocol):
    settings: Settings
    sessions: sessionmaker[Session]
    storage: Storage
    extras: dict[str, Any]
    """The process's background helpers by name (``delivery_worker``: woken when a render
    made deliveries)."""

    def previews(self) -> PreviewQueue:
        """Who makes deferred previews: this process's runner, or Celery workers."""
        ...
