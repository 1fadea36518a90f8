"""workspaces.limits: an operator's overrides of the per-request limits and daily render budget

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:20:00

A JSON object by limit name (empty: the installation's defaults from the settings). The index
on renders (workspace, finished_at) makes a workspace's render seconds of the day (wall seconds
of the renders that ended since midnight UTC) a range read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("workspaces", sa.Column("limits", sa.JSON(), nullable=False, server_default="{}"))
    op.create_index("ix_renders_workspace_finished", "renders", ["workspace_id", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_renders_workspace_finished", table_name="renders")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("limits")
