"""render_facts by group: analytics adds up each group's rows without sorting the range

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 05:45:00

``ix_render_facts_range`` held a grouping's rows in creation order: adding them up per group
meant sorting every row of the range by group, which on SQLite cost more than reading them.
``ix_render_facts_groups`` holds them by key, state, then creation time: analytics finds each
key with one seek and reads, per key and state, exactly the range's rows. It replaces the old
index, which nothing else reads. No table is copied, so the fact triggers stay as they are.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_TOTALS = ("failure_code", "run_seconds", "queue_seconds", "output_seconds", "output_bytes")


def upgrade() -> None:
    op.create_index(
        "ix_render_facts_groups",
        "render_facts",
        ["workspace_id", "dim", "key", "state", "created_at", *_TOTALS],
    )
    op.drop_index("ix_render_facts_range", table_name="render_facts")


def downgrade() -> None:
    op.create_index(
        "ix_render_facts_range",
        "render_facts",
        ["workspace_id", "dim", "created_at", "key", "state", *_TOTALS],
    )
    op.drop_index("ix_render_facts_groups", table_name="render_facts")
