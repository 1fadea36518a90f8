from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

# Importing a module registers its tables on Base.metadata.
from reelforge.db import (  # noqa: F401
    accounts,
    audit,
    batches,
    brands,
    delivery,
    events,
    idempotency,
    retention,
    templates,
    uploads,
    webhooks,
    workers,
)
from reelforge.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url)
    with engine.connect() as connection:
        # SQLite can only alter tables by copying them ("batch" mode).
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=url.startswith("sqlite")
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
