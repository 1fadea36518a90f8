"""render_facts: what analytics reads of each render, once per grouping, kept by triggers

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 02:45:00

``GET /v1/analytics/renders`` read a range of ``renders`` (joined to ``render_labels`` for tags
and formats) and numbered each group's timings with a window function, which sorts them on
every request. ``render_facts`` holds one compact row per render and grouping (see
:mod:`reelforge.db.facts`), with an index per timing in each group's order, so a group's
percentile is read at its rank from the index. Existing renders and labels are copied in; the
triggers keep the table equal to them from then on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.db.facts import create_fact_triggers, drop_fact_triggers, fact_backfill

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_RANGE_COLUMNS = (
    "workspace_id",
    "dim",
    "created_at",
    "key",
    "state",
    "failure_code",
    "run_seconds",
    "queue_seconds",
    "output_seconds",
    "output_bytes",
)


def upgrade() -> None:
    op.create_table(
        "render_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("render_id", sa.String(length=40), nullable=False),
        sa.Column("dim", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("failure_code", sa.String(length=32), nullable=True),
        sa.Column("run_seconds", sa.Float(), nullable=True),
        sa.Column("queue_seconds", sa.Float(), nullable=True),
        sa.Column("output_seconds", sa.Float(), nullable=True),
        sa.Column("output_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["render_id"], ["renders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    dialect = op.get_bind().dialect.name
    # Copied before the indexes and triggers exist: each index is built once rather than
    # updated per row copied.
    for statement in fact_backfill(dialect):
        op.execute(statement)
    op.create_index("ix_render_facts_render_id", "render_facts", ["render_id"])
    op.create_index("ix_render_facts_range", "render_facts", list(_RANGE_COLUMNS))
    op.create_index(
        "ix_render_facts_run", "render_facts", ["workspace_id", "dim", "key", "run_seconds", "created_at"]
    )
    op.create_index(
        "ix_render_facts_queue",
        "render_facts",
        ["workspace_id", "dim", "key", "queue_seconds", "created_at"],
    )
    for statement in create_fact_triggers(dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_fact_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("render_facts")
