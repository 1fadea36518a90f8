"""Service configuration from environment variables (``REELFORGE_*``) and ``.env``.

The defaults run everything on one machine with nothing to install: SQLite and files under
``./data``, renders in a worker inside the server process.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELFORGE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    """Where the SQLite database, stored media and secrets live."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/reelforge.db``. PostgreSQL:
    ``postgresql+psycopg://user@host/db``."""
    storage_dir: Path | None = None
    """Where asset bytes go; default ``<data_dir>/storage``."""
    workers: int = Field(1, ge=0, le=64)
    """Renders run at once by the in-process worker (0: none; another process runs them)."""
    max_upload_bytes: int = Field(2 * 1024**3, ge=1024)
    max_media_duration: float = Field(4 * 3600, gt=0)
    """Longest media accepted on upload, seconds."""
    max_render_attempts: int = Field(3, ge=1, le=10)
    """A render interrupted by a restart is retried from the start this many times in all."""
    render_timeout: float = Field(6 * 3600, gt=0)
    worker_name: str | None = Field(None, max_length=100)
    """A stable name for this process's worker, so after a crash a restart takes its renders back
    at once instead of waiting for their heartbeat to go stale. Unique per process."""
    cors_origins: list[str] = []
    log_format: str = Field("console", pattern="^(console|json)$")
    public_url: str = "http://127.0.0.1:8000"
    """The URL clients reach the API at (used in Link headers and printed examples)."""
    token_ttl: int = Field(900, ge=60, le=86400)
    """Lifetime of OAuth access tokens, seconds."""
    key_environment: str = Field("live", pattern="^(live|test)$")

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'reelforge.db').resolve()}"

    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "storage").resolve()
