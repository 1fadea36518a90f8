"""transcripts: words spoken in an asset, with times, corrections and approval; renders awaiting it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "workspace_id", sa.String(40), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("requested_language", sa.String(8), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_transcripts_workspace_id", "transcripts", ["workspace_id"])
    op.create_index("ix_transcripts_asset", "transcripts", ["asset_id", "created_at"])
    with op.batch_alter_table("renders") as batch:
        batch.add_column(
            sa.Column("awaiting_approval", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("renders") as batch:
        batch.drop_column("awaiting_approval")
    op.drop_index("ix_transcripts_asset", table_name="transcripts")
    op.drop_index("ix_transcripts_workspace_id", table_name="transcripts")
    op.drop_table("transcripts")
