"""assets.revision: bumped by the database on every change of an asset or its tags

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 16:30:00

The asset list keeps each asset's JSON representation in memory under (id, revision) and reads
only ids and revisions for a page. Triggers, not application code, bump the number, so no write
path (an ORM change, a Core update, another process, a future route) can leave a stale entry
behind: a representation is served only for the revision it was made from. The statements
live in ``reelforge.db.triggers``: on SQLite a later migration that batch-alters ``assets`` or
``asset_tags`` (a table copy) must drop them first and create them again after.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.db.triggers import create_revision_triggers, drop_revision_triggers

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assets", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    for statement in create_revision_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_revision_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("revision")
