"""assets.previews: the state of an asset's previews, made after the upload answers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows made before keep NULL: the representation derives their state from the preview keys.
    op.add_column("assets", sa.Column("previews", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("previews")
