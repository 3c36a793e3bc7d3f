"""Step 7: what puts an organization into the follow-up queue, counted on its own row.

`followup_meetings` counts its live, held meetings and `followup_deals` its live deals in a
warm stage (proposal, negotiation, invoice). Triggers keep both on every write path —
services, imports, merges, raw bulk inserts — so the queue is a scan of one table instead
of two membership sub-selects over a million events (100k base: ~450 ms → ~50 ms).
The columns are not model fields: no ORM save can write a stale count back.
"""

from __future__ import annotations

from peewee import Database, SqliteDatabase

WARM_STAGES = ("proposal", "negotiation", "invoice")
_STAGES = ", ".join(f"'{s}'" for s in WARM_STAGES)


def _meeting(r: str) -> str:
    return (f"{r}.deleted_at IS NULL AND {r}.organization_id IS NOT NULL AND {r}.status = 'done'"
            f" AND {r}.event_type_id IN (SELECT id FROM event_type WHERE code = 'meeting')")


def _warm_deal(r: str) -> str:
    return (f"{r}.deleted_at IS NULL AND {r}.organization_id IS NOT NULL"
            f" AND {r}.stage IN ({_STAGES})")


# table, counter column, row condition, columns whose change can move a row in or out
COUNTERS = (
    ("event", "followup_meetings", _meeting, "event_type_id, status, organization_id, deleted_at"),
    ("deal", "followup_deals", _warm_deal, "stage, organization_id, deleted_at"),
)


def _sqlite_triggers(table: str, column: str, cond, watched: str) -> list[str]:  # noqa: ANN001
    add = f"UPDATE organization SET {column} = {column} + 1 WHERE id = NEW.organization_id;"
    sub = f"UPDATE organization SET {column} = {column} - 1 WHERE id = OLD.organization_id;"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {column}_insert AFTER INSERT ON {table}"
        f" WHEN {cond('NEW')} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {column}_delete AFTER DELETE ON {table}"
        f" WHEN {cond('OLD')} BEGIN {sub} END",
        f"CREATE TRIGGER IF NOT EXISTS {column}_update AFTER UPDATE OF {watched} ON {table}"
        f" BEGIN {sub[:-1]} AND {cond('OLD')}; {add[:-1]} AND {cond('NEW')}; END",
    ]


def _postgres_trigger(table: str, column: str, cond) -> list[str]:  # noqa: ANN001
    function = f"{column}_count"
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN"
        f" IF TG_OP IN ('UPDATE', 'DELETE') AND {cond('OLD')} THEN"
        f" UPDATE organization SET {column} = {column} - 1 WHERE id = OLD.organization_id;"
        f" END IF;"
        f" IF TG_OP IN ('UPDATE', 'INSERT') AND {cond('NEW')} THEN"
        f" UPDATE organization SET {column} = {column} + 1 WHERE id = NEW.organization_id;"
        f" END IF;"
        f" RETURN NULL; END $$",
        f"DROP TRIGGER IF EXISTS {function} ON {table}",
        f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


def apply(db: Database) -> None:
    sqlite = isinstance(db, SqliteDatabase)
    for table, column, cond, watched in COUNTERS:
        db.execute_sql(f"ALTER TABLE organization ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
        db.execute_sql(
            f"UPDATE organization SET {column} = (SELECT COUNT(*) FROM {table} r"
            f" WHERE r.organization_id = organization.id AND {cond('r')})"
            f" WHERE id IN (SELECT r.organization_id FROM {table} r WHERE {cond('r')})")
        for sql in (_sqlite_triggers(table, column, cond, watched) if sqlite
                    else _postgres_trigger(table, column, cond)):
            db.execute_sql(sql)
