"""The triggers that move ``assets.revision`` (migration 0011).

Any change of an asset's row or of its tags bumps its revision, made by the database itself so
that no write path can forget it: the asset list serves a cached representation only for the
revision it was made from. Revisions only grow, and asset ids are never reused (ULIDs), so an
(id, revision) pair names one representation for good.

On SQLite, Alembic's batch mode rebuilds a table by copying it, which drops that table's
triggers and breaks those naming it: a migration that batch-alters ``assets`` or
``asset_tags`` runs :func:`drop_revision_triggers` before and :func:`create_revision_triggers`
after; a test checks they exist at the head revision.
"""

from __future__ import annotations

__all__ = [
    "SQLITE_COLLECTION_TRIGGERS",
    "SQLITE_TRIGGERS",
    "create_collection_triggers",
    "create_revision_triggers",
    "drop_collection_triggers",
    "drop_revision_triggers",
]

SQLITE_TRIGGERS = (
    "assets_revision_bump",
    "asset_tags_insert_bump",
    "asset_tags_delete_bump",
    "asset_tags_update_bump",
)

_SQLITE = [
    # recursive_triggers is off, so the trigger's own UPDATE does not fire it again; an UPDATE
    # that sets the revision itself (the tag triggers below) is not bumped twice. A DELETE of
    # every row is not turned into a truncation while a table has triggers.
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
    # SET search_path FROM CURRENT: the functions find the tables of the schema they were made
    # in, whatever search_path the writing session has.
    """CREATE FUNCTION assets_revision_bump() RETURNS trigger LANGUAGE plpgsql
       SET search_path FROM CURRENT AS $$
       BEGIN
         IF NEW.revision = OLD.revision THEN NEW.revision := OLD.revision + 1; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER assets_revision_bump BEFORE UPDATE ON assets
       FOR EACH ROW EXECUTE FUNCTION assets_revision_bump()""",
    """CREATE FUNCTION asset_tags_revision_bump() RETURNS trigger LANGUAGE plpgsql
       SET search_path FROM CURRENT AS $$
       BEGIN
         IF TG_OP = 'TRUNCATE' THEN
           UPDATE assets SET revision = revision + 1;  -- fires no row trigger: every asset moves
           RETURN NULL;
         END IF;
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
    """CREATE TRIGGER asset_tags_truncate_bump AFTER TRUNCATE ON asset_tags
       FOR EACH STATEMENT EXECUTE FUNCTION asset_tags_revision_bump()""",
]


def create_revision_triggers(dialect: str) -> list[str]:
    """The statements that create the triggers on ``dialect`` (``sqlite`` or ``postgresql``)."""
    return list(_SQLITE if dialect == "sqlite" else _POSTGRESQL if dialect == "postgresql" else [])


def drop_revision_triggers(dialect: str) -> list[str]:
    """The statements that drop them again."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS asset_tags_truncate_bump ON asset_tags",
            "DROP TRIGGER IF EXISTS asset_tags_revision_bump ON asset_tags",
            "DROP TRIGGER IF EXISTS assets_revision_bump ON assets",
            "DROP FUNCTION IF EXISTS asset_tags_revision_bump()",
            "DROP FUNCTION IF EXISTS assets_revision_bump()",
        ]
    return []


# Migration 0023: an asset's collections move its revision as its tags do. Kept apart from the
# triggers above because the migrations before 0023 create those without this table.
SQLITE_COLLECTION_TRIGGERS = (
    "asset_collections_insert_bump",
    "asset_collections_delete_bump",
    "asset_collections_update_bump",
)

_SQLITE_COLLECTIONS = [
    """CREATE TRIGGER asset_collections_insert_bump AFTER INSERT ON asset_collections FOR EACH ROW
       BEGIN UPDATE assets SET revision = revision + 1 WHERE id = NEW.asset_id; END""",
    """CREATE TRIGGER asset_collections_delete_bump AFTER DELETE ON asset_collections FOR EACH ROW
       BEGIN UPDATE assets SET revision = revision + 1 WHERE id = OLD.asset_id; END""",
    """CREATE TRIGGER asset_collections_update_bump AFTER UPDATE ON asset_collections FOR EACH ROW
       BEGIN UPDATE assets SET revision = revision + 1 WHERE id IN (OLD.asset_id, NEW.asset_id); END""",
]

_POSTGRESQL_COLLECTIONS = [
    # The function of the tags' triggers reads only asset_id, which this table has too.
    """CREATE TRIGGER asset_collections_revision_bump AFTER INSERT OR UPDATE OR DELETE ON asset_collections
       FOR EACH ROW EXECUTE FUNCTION asset_tags_revision_bump()""",
    """CREATE TRIGGER asset_collections_truncate_bump AFTER TRUNCATE ON asset_collections
       FOR EACH STATEMENT EXECUTE FUNCTION asset_tags_revision_bump()""",
]


def create_collection_triggers(dialect: str) -> list[str]:
    """The statements that create the collections' triggers (after :func:`create_revision_triggers`)."""
    if dialect == "sqlite":
        return list(_SQLITE_COLLECTIONS)
    return list(_POSTGRESQL_COLLECTIONS) if dialect == "postgresql" else []


def drop_collection_triggers(dialect: str) -> list[str]:
    """The statements that drop them again (before :func:`drop_revision_triggers`)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_COLLECTION_TRIGGERS]
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS asset_collections_truncate_bump ON asset_collections",
            "DROP TRIGGER IF EXISTS asset_collections_revision_bump ON asset_collections",
        ]
    return []
