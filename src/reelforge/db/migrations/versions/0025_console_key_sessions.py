"""console sessions: one kind of session for people and API keys, and the chosen workspace

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 05:40:00

The console signs people in (password, single sign-on) and, as a second option, an API key,
through the same database-backed sessions: a session names either a user or a key
(``user_id`` becomes nullable, ``api_key_id`` is new; the key itself is never stored), and
remembers the workspace a member chose (``workspace_id``). No table with triggers is copied.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.alter_column("user_id", existing_type=sa.String(40), nullable=True)
        batch.add_column(
            sa.Column(
                "api_key_id",
                sa.String(40),
                sa.ForeignKey("api_keys.id", name="fk_console_sessions_api_key_id", ondelete="CASCADE"),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "workspace_id",
                sa.String(40),
                sa.ForeignKey("workspaces.id", name="fk_console_sessions_workspace_id", ondelete="SET NULL"),
                nullable=True,
            )
        )
        batch.create_index("ix_console_sessions_api_key_id", ["api_key_id"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM console_sessions WHERE user_id IS NULL"))
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_index("ix_console_sessions_api_key_id")
        batch.drop_constraint("fk_console_sessions_workspace_id", type_="foreignkey")
        batch.drop_constraint("fk_console_sessions_api_key_id", type_="foreignkey")
        batch.drop_column("workspace_id")
        batch.drop_column("api_key_id")
        batch.alter_column("user_id", existing_type=sa.String(40), nullable=False)
