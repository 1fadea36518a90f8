"""templates and their versions; renders record the template, version and locale they came from

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_templates_workspace_created", "templates", ["workspace_id", "created_at", "id"])
    op.create_table(
        "template_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "number", name="uq_template_versions_template_number"),
    )
    op.create_index("ix_template_versions_template_id", "template_versions", ["template_id"])
    # Plain ADD COLUMN (nullable, no constraint): SQLite does it in place, no table copy.
    op.add_column("renders", sa.Column("template_id", sa.String(length=40), nullable=True))
    op.add_column("renders", sa.Column("template_version", sa.Integer(), nullable=True))
    op.add_column("renders", sa.Column("locale", sa.String(length=35), nullable=True))
    op.create_index("ix_renders_template_id", "renders", ["template_id"])


def downgrade() -> None:
    op.drop_index("ix_renders_template_id", table_name="renders")
    with op.batch_alter_table("renders") as batch:
        batch.drop_column("locale")
        batch.drop_column("template_version")
        batch.drop_column("template_id")
    op.drop_table("template_versions")
    op.drop_table("templates")
