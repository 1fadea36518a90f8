"""renders: campaign tags, batch, timings, output totals, FFmpeg's log and the request it came from;
render_labels (what a render is grouped by that it can have several of)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:50:00

The analytics API (``GET /v1/analytics/renders``) aggregates these columns in SQL; they are
written as a render is queued (tags, batch, labels) and as it ends (failure code, seconds
queued and running, output seconds and bytes). Existing renders get what can be derived from
their rows: the failure code from ``error``, the seconds from their timestamps, their batch
from ``batch_items``, the batch's campaign tags and their outputs' formats as labels.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BATCH = 500
_ANALYTICS_COLUMNS = (
    "workspace_id",
    "created_at",
    "state",
    "failure_code",
    "run_seconds",
    "queue_seconds",
    "output_seconds",
    "output_bytes",
    "template_id",
    "batch_id",
    "locale",
    "id",
)


def upgrade() -> None:
    with op.batch_alter_table("renders") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("batch_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("failure_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("queue_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("run_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("output_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("output_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("ffmpeg_log", sa.Text(), nullable=True))
        batch.add_column(sa.Column("origin", sa.JSON(), nullable=True))
    op.create_table(
        "render_labels",
        sa.Column("render_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["render_id"], ["renders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("render_id", "kind", "value"),
    )
    op.create_index("ix_render_labels_kind_value", "render_labels", ["kind", "value", "render_id"])
    _backfill()
    # Analytics reads a workspace's renders of a time range from this index alone: the range's
    # columns first, then every column it aggregates or groups by (a covering index; PostgreSQL's
    # INCLUDE would do, SQLite has none).
    op.create_index("ix_renders_analytics", "renders", list(_ANALYTICS_COLUMNS))


def _backfill() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        seconds = "EXTRACT(EPOCH FROM ({} - {}))"
        code = "error->>'code'"
    else:
        seconds = "(julianday({}) - julianday({})) * 86400.0"
        code = "json_extract(error, '$.code')"
    conn.execute(
        sa.text(f"UPDATE renders SET failure_code = {code} WHERE state = 'failed' AND error IS NOT NULL")
    )
    conn.execute(
        sa.text(
            f"UPDATE renders SET queue_seconds = {seconds.format('started_at', 'created_at')}, "
            f"run_seconds = {seconds.format('finished_at', 'started_at')} "
            "WHERE finished_at IS NOT NULL AND started_at IS NOT NULL"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE renders SET batch_id = (SELECT MIN(batch_id) FROM batch_items "
            "WHERE batch_items.render_id = renders.id)"
        )
    )
    # Tags (a batch's, kept in the render's metadata) and formats come out of JSON documents:
    # read in pages and written back as labels.
    renders = sa.table(
        "renders", sa.column("id", sa.String), sa.column("edit", sa.JSON), sa.column("meta", sa.JSON)
    )
    labels = sa.table(
        "render_labels",
        sa.column("render_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("value", sa.String),
    )
    tagged = sa.table("renders", sa.column("id", sa.String), sa.column("tags", sa.JSON))
    last = ""
    while True:
        page = conn.execute(
            sa.select(renders.c.id, renders.c.edit, renders.c.meta)
            .where(renders.c.id > last)
            .order_by(renders.c.id)
            .limit(_BATCH)
        ).all()
        if not page:
            break
        rows: list[dict[str, Any]] = []
        for render_id, edit, meta in page:
            tags = _batch_tags(meta)
            if tags:
                conn.execute(sa.update(tagged).where(tagged.c.id == render_id).values(tags=tags))
            rows += [{"render_id": render_id, "kind": "tag", "value": t} for t in tags]
            rows += [{"render_id": render_id, "kind": "format", "value": f} for f in _formats(edit)]
        if rows:
            conn.execute(sa.insert(labels), rows)
        last = page[-1][0]


def _batch_tags(meta: Any) -> list[str]:
    batch = meta.get("batch") if isinstance(meta, dict) else None
    tags = batch.get("tags") if isinstance(batch, dict) else None
    if not isinstance(tags, list):
        return []
    return sorted({t[:100] for t in tags if isinstance(t, str) and t})


def _formats(edit: Any) -> list[str]:
    outputs = edit.get("outputs") if isinstance(edit, dict) else None
    if not isinstance(outputs, list) or not outputs:
        return ["mp4"]  # the edit language's default output
    found = {str(o.get("format") or "mp4")[:100] for o in outputs if isinstance(o, dict)}
    return sorted(found or {"mp4"})


def downgrade() -> None:
    op.drop_index("ix_renders_analytics", table_name="renders")
    op.drop_index("ix_render_labels_kind_value", table_name="render_labels")
    op.drop_table("render_labels")
    with op.batch_alter_table("renders") as batch:
        for column in (
            "origin",
            "ffmpeg_log",
            "output_bytes",
            "output_seconds",
            "run_seconds",
            "queue_seconds",
            "failure_code",
            "batch_id",
            "tags",
        ):
            batch.drop_column(column)
