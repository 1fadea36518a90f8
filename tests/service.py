"""A running Reelforge service for tests: real database (SQLite or PostgreSQL), real files,
requests through httpx against the ASGI app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from reelforge.api.app import bootstrap, create_app, open_services
from reelforge.api.services import Services
from reelforge.settings import Settings

PG_URL = os.environ.get("REELFORGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    try:
        with sa.create_engine(PG_URL).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'reelforge.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass
class Service:
    client: TestClient
    services: Services
    token: str
    data_dir: Path

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **extra}

    def get(self, url: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers(token), **kw.pop("headers", {})}, **kw)

    def post(self, url: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.post(url, headers={**self.headers(token), **kw.pop("headers", {})}, **kw)

    def new_key(self, *scopes: str) -> str:
        r = self.post("/v1/keys", json={"name": "test", "scopes": list(scopes)})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def other_workspace_key(self) -> str:
        """An admin key of a second workspace."""
        from reelforge.api.routers.keys import create_key
        from reelforge.db.models import Workspace, new_id

        with self.services.sessions() as db:
            ws = Workspace(id=new_id("ws"), name="other")
            db.add(ws)
            db.commit()
            _, token = create_key(db, self.services, ws.id, "other", ["admin"])
        return token


@contextmanager
def running_service(tmp: Path, kind: str = "sqlite", **settings: Any) -> Iterator[Service]:
    with database(kind, tmp) as url:
        config = Settings(data_dir=tmp / "data", database_url=url, workers=settings.pop("workers", 0),
                          _env_file=None, **settings)  # type: ignore[call-arg]
        services = open_services(config)
        token = bootstrap(services)
        assert token is not None
        app = create_app(services=services)
        with TestClient(app) as client:
            yield Service(client, services, token, config.data_dir)
        services.engine.dispose()
