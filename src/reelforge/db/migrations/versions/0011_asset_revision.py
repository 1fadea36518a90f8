"""assets.revision: bumped by the database on every change of an asset or its tags

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 16:30:00

The asset list keeps each asset's JSON representation in memory under (id, revision) and reads
only ids and revisions for a page. Triggers, not application code, bump the number, so no write
path (an ORM change, a Core update, another process, a future route) can leave a stale entry
behind: a representation is served only for the revision it was made from.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SQLITE = [
    # recursive_triggers is off, so the trigger's own UPDATE does not fire it again; an UPDATE
    # that sets the revision itself (the tag triggers below) is not bumped twice.
    """CREATE TRIGGER assets_revision_bump AFTER UPDATE ON assets FOR EACH ROW
       WHEN NEW.revision = OLD.revision
       BEGIN UPDATE assets SET revision = OLD.revision + 1 WHERE id = NEW.id; END""",
    """CREATE TRIGGER asset_tags_insert_bump AFTER INSERT ON asset_tags FOR EACH ROW
       BEGIN UPDATE assets SET revision = revision + 1 WHERE id = NEW.asset_id; END""",
    """CREATE TRIGGER asset_tags_delete_bump AFTER DELETE ON asset_tags FOR EACH ROW
       BEGIN UPDATE assets SET revision = revision + 1 WHERE id = OLD.asset_id; END""",
    """CREATE TRIGGER asset_tags_update_bump AFTER UPDATE ON asset_tags FOR EACH ROW
       BEGIN UPDATE assets SET revision = revision + 1 WHERE id IN (OLD.asset_id, NEW.asset_id); END""",
]

_POSTGRESQL = [
    """CREATE FUNCTION assets_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.revision = OLD.revision THEN NEW.revision := OLD.revision + 1; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER assets_revision_bump BEFORE UPDATE ON assets
       FOR EACH ROW EXECUTE FUNCTION assets_revision_bump()""",
    """CREATE FUNCTION asset_tags_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('UPDATE', 'DELETE') THEN
           UPDATE assets SET revision = revision + 1 WHERE id = OLD.asset_id;
         END IF;
         IF TG_OP IN ('UPDATE', 'INSERT') THEN
           UPDATE assets SET revision = revision + 1 WHERE id = NEW.asset_id;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER asset_tags_revision_bump AFTER INSERT OR UPDATE OR DELETE ON asset_tags
       FOR EACH ROW EXECUTE FUNCTION asset_tags_revision_bump()""",
]


def upgrade() -> None:
    op.add_column("assets", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE if dialect == "sqlite" else _POSTGRESQL if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("assets_revision_bump", "asset_tags_insert_bump", "asset_tags_delete_bump",
                     "asset_tags_update_bump"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS asset_tags_revision_bump ON asset_tags")
        op.execute("DROP TRIGGER IF EXISTS assets_revision_bump ON assets")
        op.execute("DROP FUNCTION IF EXISTS asset_tags_revision_bump()")
        op.execute("DROP FUNCTION IF EXISTS assets_revision_bump()")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("revision")
