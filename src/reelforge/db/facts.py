"""The triggers that keep ``render_facts`` (what analytics reads) equal to ``renders`` and
``render_labels`` (migration 0019).

A render has one fact row per grouping it always falls in (``all``, ``template``, ``batch``,
``locale``, ``day``: :data:`reelforge.db.models.FACT_DIMENSIONS`) and one per label (dimension
``tag`` or ``format``, key the label's value). Each row repeats what analytics aggregates: the
workspace, creation time, state, failure code, seconds queued and running, output seconds and
bytes. The database writes them itself, in the transaction of the write that changes a render
or its labels, so every write path (the render job, cancels, recovery after a restart, retries,
a batch's cancel, rows written by hand) keeps them exact:

- a render inserted gets its five rows; a label inserted gets its row, copied from its render;
- a render updated in any column analytics reads has its rows rewritten in place (the day key
  and the template, batch and locale keys follow it); an update of anything else (progress,
  heartbeats) fires nothing;
- a label deleted or changed takes its row along; a render deleted takes its rows by the
  foreign key's cascade.

On SQLite, Alembic's batch mode rebuilds a table by copying it, which drops its triggers: a
migration that batch-alters ``renders`` or ``render_labels`` runs :func:`drop_fact_triggers`
before and :func:`create_fact_triggers` after (as with :mod:`reelforge.db.triggers`).
"""

from __future__ import annotations

__all__ = ["FACT_TRIGGERS", "create_fact_triggers", "drop_fact_triggers", "fact_backfill"]

FACT_TRIGGERS = (
    "render_facts_insert",
    "render_facts_update",
    "render_label_facts_insert",
    "render_label_facts_delete",
    "render_label_facts_update",
)
"""The triggers' names (on PostgreSQL, those of the renders' and labels' triggers)."""

_FACT_COLUMNS = (
    "workspace_id",
    "created_at",
    "state",
    "failure_code",
    "run_seconds",
    "queue_seconds",
    "output_seconds",
    "output_bytes",
)
"""The render's columns a fact row repeats."""

_INSERTED = "render_id, dim, key, " + ", ".join(_FACT_COLUMNS)


def _day(column: str, dialect: str) -> str:
    """``YYYY-MM-DD`` of a timestamp, in UTC (SQLite keeps UTC timestamps as ISO text)."""
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"


def _keys(row: str, dialect: str) -> dict[str, str]:
    """Each fixed dimension's key, as an expression of ``row`` (NEW, a table alias)."""
    return {
        "all": "NULL",
        "template": f"{row}.template_id",
        "batch": f"{row}.batch_id",
        "locale": f"{row}.locale",
        "day": _day(f"{row}.created_at", dialect),
    }


def _insert_render(row: str, dialect: str) -> str:
    values = ", ".join(f"{row}.{c}" for c in _FACT_COLUMNS)
    rows = ",\n         ".join(
        f"({row}.id, '{dim}', {key}, {values})" for dim, key in _keys(row, dialect).items()
    )
    return f"INSERT INTO render_facts ({_INSERTED}) VALUES\n         {rows}"


def _update_render(dialect: str) -> str:
    keys = " ".join(f"WHEN '{dim}' THEN {key}" for dim, key in _keys("NEW", dialect).items())
    values = ", ".join(f"{c} = NEW.{c}" for c in _FACT_COLUMNS)
    # A label's key is its value: kept. The fixed dimensions' keys follow the render.
    return f"UPDATE render_facts SET {values}, key = CASE dim {keys} ELSE key END WHERE render_id = NEW.id"


def _insert_label(label: str) -> str:
    values = ", ".join(f"r.{c}" for c in _FACT_COLUMNS)
    return (
        f"INSERT INTO render_facts ({_INSERTED}) SELECT {label}.render_id, {label}.kind, {label}.value, "
        f"{values} FROM renders r WHERE r.id = {label}.render_id"
    )


def _delete_label(label: str) -> str:
    return (
        f"DELETE FROM render_facts WHERE render_id = {label}.render_id AND dim = {label}.kind "
        f"AND key = {label}.value"
    )


_WATCHED = (*_FACT_COLUMNS, "template_id", "batch_id", "locale")
"""The render's columns whose change rewrites its facts."""


def _sqlite() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    return [
        f"""CREATE TRIGGER render_facts_insert AFTER INSERT ON renders FOR EACH ROW
       BEGIN {_insert_render("NEW", "sqlite")}; END""",
        f"""CREATE TRIGGER render_facts_update AFTER UPDATE OF {", ".join(_WATCHED)} ON renders
       FOR EACH ROW WHEN {changed}
       BEGIN {_update_render("sqlite")}; END""",
        f"""CREATE TRIGGER render_label_facts_insert AFTER INSERT ON render_labels FOR EACH ROW
       BEGIN {_insert_label("NEW")}; END""",
        f"""CREATE TRIGGER render_label_facts_delete AFTER DELETE ON render_labels FOR EACH ROW
       BEGIN {_delete_label("OLD")}; END""",
        f"""CREATE TRIGGER render_label_facts_update AFTER UPDATE ON render_labels FOR EACH ROW
       BEGIN {_delete_label("OLD")}; {_insert_label("NEW")}; END""",
    ]


def _postgresql() -> list[str]:
    old = ", ".join(f"OLD.{c}" for c in _WATCHED)
    new = ", ".join(f"NEW.{c}" for c in _WATCHED)
    # SET search_path FROM CURRENT: the functions find the tables of the schema they were made
    # in, whatever search_path the writing session has.
    return [
        f"""CREATE FUNCTION render_facts_of_render() RETURNS trigger LANGUAGE plpgsql
       SET search_path FROM CURRENT AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           {_insert_render("NEW", "postgresql")};
         ELSE
           {_update_render("postgresql")};
         END IF;
         RETURN NULL;
       END $$""",
        """CREATE TRIGGER render_facts_insert AFTER INSERT ON renders
       FOR EACH ROW EXECUTE FUNCTION render_facts_of_render()""",
        f"""CREATE TRIGGER render_facts_update AFTER UPDATE OF {", ".join(_WATCHED)} ON renders
       FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new}))
       EXECUTE FUNCTION render_facts_of_render()""",
        f"""CREATE FUNCTION render_facts_of_label() RETURNS trigger LANGUAGE plpgsql
       SET search_path FROM CURRENT AS $$
       BEGIN
         IF TG_OP IN ('UPDATE', 'DELETE') THEN
           {_delete_label("OLD")};
         END IF;
         IF TG_OP IN ('UPDATE', 'INSERT') THEN
           {_insert_label("NEW")};
         END IF;
         RETURN NULL;
       END $$""",
        """CREATE TRIGGER render_label_facts_insert AFTER INSERT ON render_labels
       FOR EACH ROW EXECUTE FUNCTION render_facts_of_label()""",
        """CREATE TRIGGER render_label_facts_delete AFTER DELETE ON render_labels
       FOR EACH ROW EXECUTE FUNCTION render_facts_of_label()""",
        """CREATE TRIGGER render_label_facts_update AFTER UPDATE ON render_labels
       FOR EACH ROW EXECUTE FUNCTION render_facts_of_label()""",
    ]


def create_fact_triggers(dialect: str) -> list[str]:
    """The statements that create the triggers on ``dialect`` (``sqlite`` or ``postgresql``)."""
    return _sqlite() if dialect == "sqlite" else _postgresql() if dialect == "postgresql" else []


def drop_fact_triggers(dialect: str) -> list[str]:
    """The statements that drop them again."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in FACT_TRIGGERS]
    if dialect == "postgresql":
        return [
            *(
                f"DROP TRIGGER IF EXISTS {name} ON {'renders' if name.startswith('render_facts') else 'render_labels'}"
                for name in FACT_TRIGGERS
            ),
            "DROP FUNCTION IF EXISTS render_facts_of_label()",
            "DROP FUNCTION IF EXISTS render_facts_of_render()",
        ]
    return []


def fact_backfill(dialect: str) -> list[str]:
    """The statements that write the facts of every render and label already stored."""
    values = ", ".join(f"r.{c}" for c in _FACT_COLUMNS)
    fixed = [
        f"INSERT INTO render_facts ({_INSERTED}) SELECT r.id, '{dim}', {key}, {values} FROM renders r"
        for dim, key in _keys("r", dialect).items()
    ]
    labels = (
        f"INSERT INTO render_facts ({_INSERTED}) SELECT l.render_id, l.kind, l.value, {values} "
        "FROM render_labels l JOIN renders r ON r.id = l.render_id"
    )
    return [*fixed, labels]
