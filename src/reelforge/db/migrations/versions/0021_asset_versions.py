"""asset versions, their review states and history, external references, and the versions a
render resolved

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 02:30:00

Every existing asset gets its version 1 from its own columns (draft: nothing was ever
reviewed). The external reference's uniqueness is an index, not a table constraint, so SQLite
needs no table copy (which would drop the revision triggers of migration 0011).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.db.facts import create_fact_triggers, drop_fact_triggers
from reelforge.db.triggers import create_revision_triggers, drop_revision_triggers

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assets", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("assets", sa.Column("external_system", sa.String(64), nullable=True))
    op.add_column("assets", sa.Column("external_id", sa.String(255), nullable=True))
    op.create_index(
        "uq_assets_external_ref", "assets", ["workspace_id", "external_system", "external_id"], unique=True
    )
    op.create_table(
        "asset_versions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("thumbnail_key", sa.String(255), nullable=True),
        sa.Column("waveform_key", sa.String(255), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("derived_from", sa.JSON(), nullable=False),
        sa.Column("external_version", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(40), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.String(2000), nullable=False),
        sa.Column("approved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expiry_notified", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.UniqueConstraint("asset_id", "number", name="uq_asset_versions_number"),
    )
    op.create_index("ix_asset_versions_asset_id", "asset_versions", ["asset_id"])
    op.create_index("ix_asset_versions_workspace_sha256", "asset_versions", ["workspace_id", "sha256"])
    op.create_table(
        "asset_reviews",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "version_id",
            sa.String(40),
            sa.ForeignKey("asset_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("asset_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(40), nullable=True),
        sa.Column("comment", sa.String(2000), nullable=False),
        sa.Column("approved_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_asset_reviews_version_at", "asset_reviews", ["version_id", "at"])
    op.create_index("ix_asset_reviews_asset_id", "asset_reviews", ["asset_id"])
    op.add_column("imports", sa.Column("version_of", sa.String(40), nullable=True))
    op.add_column("renders", sa.Column("asset_versions", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("renders", sa.Column("purpose", sa.String(16), nullable=False, server_default="draft"))
    # Version 1 of every asset stored so far, from the asset's own columns.
    op.execute(
        "INSERT INTO asset_versions (id, asset_id, workspace_id, number, kind, content_type, size_bytes,"
        " sha256, storage_key, media, thumbnail_key, waveform_key, source, derived_from, created_at,"
        " state, review_comment, expiry_notified, revision)"
        " SELECT 'avr_' || substr(id, 5), id, workspace_id, 1, kind, content_type, size_bytes, sha256,"
        " storage_key, media, thumbnail_key, waveform_key, source, derived_from, created_at,"
        " 'draft', '', false, 1 FROM assets"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("version_of")
    for statement in drop_fact_triggers(dialect):  # a table copy on SQLite would lose them
        op.execute(statement)
    with op.batch_alter_table("renders") as batch:
        batch.drop_column("purpose")
        batch.drop_column("asset_versions")
    for statement in create_fact_triggers(dialect):
        op.execute(statement)
    op.drop_index("ix_asset_reviews_asset_id", table_name="asset_reviews")
    op.drop_index("ix_asset_reviews_version_at", table_name="asset_reviews")
    op.drop_table("asset_reviews")
    op.drop_index("ix_asset_versions_workspace_sha256", table_name="asset_versions")
    op.drop_index("ix_asset_versions_asset_id", table_name="asset_versions")
    op.drop_table("asset_versions")
    op.drop_index("uq_assets_external_ref", table_name="assets")
    for statement in drop_revision_triggers(dialect):  # a table copy on SQLite would lose them
        op.execute(statement)
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("external_id")
        batch.drop_column("external_system")
        batch.drop_column("version")
    for statement in create_revision_triggers(dialect):
        op.execute(statement)
