"""delivery and retention: destinations, the destinations a render names, output deliveries,
and which assets are pinned or expired

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "destinations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_destinations_workspace_created", "destinations", ["workspace_id", "created_at", "id"])
    op.create_table(
        "render_destinations",
        sa.Column("render_id", sa.String(length=40), nullable=False),
        sa.Column("destination_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["render_id"], ["renders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("render_id", "destination_id"),
    )
    op.create_index("ix_render_destinations_destination_id", "render_destinations", ["destination_id"])
    op.create_table(
        "output_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("render_id", sa.String(length=40), nullable=False),
        sa.Column("destination_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("output", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", _TS, nullable=True),
        sa.Column("location", sa.String(length=2048), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["render_id"], ["renders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "render_id", "asset_id", "output", "role", "destination_id", name="uq_output_delivery"
        ),
    )
    op.create_index("ix_output_deliveries_due", "output_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_output_deliveries_render", "output_deliveries", ["render_id", "id"])
    op.create_index("ix_output_deliveries_workspace_id", "output_deliveries", ["workspace_id"])
    op.create_index("ix_output_deliveries_destination_id", "output_deliveries", ["destination_id"])
    op.create_table(
        "asset_retention",
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("expired_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id"),
    )
    op.create_index("ix_asset_retention_workspace_id", "asset_retention", ["workspace_id"])
    op.create_index("ix_events_created", "events", ["created_at"])
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("render_id", sa.String(length=40), nullable=True))
    op.create_index("ix_webhook_endpoints_render_id", "webhook_endpoints", ["render_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_endpoints_render_id", table_name="webhook_endpoints")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("render_id")
    op.drop_index("ix_events_created", table_name="events")
    op.drop_table("asset_retention")
    op.drop_table("output_deliveries")
    op.drop_table("render_destinations")
    op.drop_table("destinations")
