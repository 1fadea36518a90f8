"""render priority: queued renders of a workspace start by priority, then in creation order

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.db.facts import create_fact_triggers, drop_fact_triggers

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("renders", sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_fact_triggers(dialect):  # a table copy on SQLite would lose them
        op.execute(statement)
    with op.batch_alter_table("renders") as batch:
        batch.drop_column("priority")
    for statement in create_fact_triggers(dialect):
        op.execute(statement)
