"""asset collections: named groupings of assets, apart from tags

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 04:00:00

A new table (its rows move the asset's revision as tags do) and the collections a URL import
gives its new asset; no table copy of ``assets`` on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.db.triggers import create_collection_triggers, drop_collection_triggers

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_collections",
        sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("collection", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "collection"),
    )
    op.create_index("ix_asset_collections_collection", "asset_collections", ["collection"])
    for statement in create_collection_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.add_column("imports", sa.Column("collections", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch:  # no triggers on imports to lose
        batch.drop_column("collections")
    for statement in drop_collection_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_asset_collections_collection", table_name="asset_collections")
    op.drop_table("asset_collections")
