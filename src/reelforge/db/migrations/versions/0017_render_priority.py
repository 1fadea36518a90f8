"""render priority: queued renders of a workspace start by priority, then in creation order

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("renders") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("renders") as batch:
        batch.drop_column("priority")
