"""render chunks: parts of a long render's picture that any worker may render

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "render_chunks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "render_id", sa.String(40), sa.ForeignKey("renders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_render_chunks_render_id", "render_chunks", ["render_id"])
    op.create_index("ix_render_chunks_state", "render_chunks", ["state", "render_id"])


def downgrade() -> None:
    op.drop_index("ix_render_chunks_state", table_name="render_chunks")
    op.drop_index("ix_render_chunks_render_id", table_name="render_chunks")
    op.drop_table("render_chunks")
