"""Step 4: the day journal (lateness, journal sent), meeting reports, and — on SQLite — monthly
money summaries kept by triggers, so client categories over a million payments read a few
hundred thousand (organization, month) rows instead of grouping every payment each time.

`payment_month` holds per organization and month the sum in kopecks and the number of live
payments; `service_month` the services sum in kopecks and the units in thousandths. Integers,
so sums stay exact however often rows change. Every write path (records, imports, raw bulk
inserts) goes through the triggers. PostgreSQL aggregates fast enough without them.
"""

from __future__ import annotations

from peewee import Database, SqliteDatabase

from tui_crm.db.report_models import REPORT_MODELS

# table, summary, columns: (summary column, expression over NEW./OLD. row)
SUMMARIES = (
    ("payment", "payment_month",
     (("cents", "CAST(ROUND({r}.amount * 100) AS INTEGER)"), ("n", "1"))),
    ("service_rendered", "service_month",
     (("cents", "CAST(ROUND({r}.amount * 100) AS INTEGER)"),
      ("milli", "CAST(ROUND({r}.units * 1000) AS INTEGER)"))),
)


def _summary_sql(table: str, summary: str, columns: tuple[tuple[str, str], ...]) -> list[str]:
    names = [c for c, _e in columns]
    add_values = ", ".join(e.format(r="NEW") for _c, e in columns)
    add_set = ", ".join(f"{c} = {c} + excluded.{c}" for c in names)
    sub_set = ", ".join(f"{c} = {c} - {e.format(r='OLD')}" for c, e in columns)
    live_new = "NEW.deleted_at IS NULL AND NEW.organization_id IS NOT NULL AND NEW.date IS NOT NULL"
    live_old = "OLD.deleted_at IS NULL AND OLD.organization_id IS NOT NULL AND OLD.date IS NOT NULL"
    insert = (f"INSERT INTO {summary} (organization_id, month, {', '.join(names)})"
              f" SELECT NEW.organization_id, substr(NEW.date, 1, 7), {add_values}"
              f" WHERE {live_new}"
              f" ON CONFLICT (organization_id, month) DO UPDATE SET {add_set};")
    remove = (f"UPDATE {summary} SET {sub_set} WHERE {live_old}"
              f" AND organization_id = OLD.organization_id AND month = substr(OLD.date, 1, 7);")
    return [
        f"CREATE TABLE IF NOT EXISTS {summary} (organization_id INTEGER NOT NULL,"
        f" month TEXT NOT NULL, {', '.join(f'{c} INTEGER NOT NULL DEFAULT 0' for c in names)},"
        f" PRIMARY KEY (organization_id, month)) WITHOUT ROWID",
        *(f"CREATE INDEX IF NOT EXISTS {summary}_month_{c} ON {summary} (month, {c})"
          for c in names),
        f"DELETE FROM {summary}",
        f"INSERT INTO {summary} (organization_id, month, {', '.join(names)})"
        f" SELECT organization_id, substr(date, 1, 7),"
        f" {', '.join(_sum_expr(e, table) for _c, e in columns)}"
        f" FROM {table} WHERE deleted_at IS NULL AND organization_id IS NOT NULL"
        f" AND date IS NOT NULL GROUP BY organization_id, substr(date, 1, 7)",
        f"CREATE TRIGGER IF NOT EXISTS {summary}_insert AFTER INSERT ON {table}"
        f" BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {summary}_delete AFTER DELETE ON {table}"
        f" BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS {summary}_update AFTER UPDATE OF date, amount,"
        f" organization_id, deleted_at{', units' if table == 'service_rendered' else ''}"
        f" ON {table} BEGIN {remove} {insert} END",
    ]


def _sum_expr(expression: str, table: str) -> str:
    """The summary value of a group of rows: the per-row integer summed."""
    return f"SUM({expression.format(r=table)})"


def apply(db: Database) -> None:
    db.create_tables(REPORT_MODELS, safe=True)
    # Activity reports read the audit log by kind and time (deal stage moves).
    db.execute_sql("CREATE INDEX IF NOT EXISTS audit_log_kind_at ON audit_log (kind, at)")
    if isinstance(db, SqliteDatabase):
        for table, summary, columns in SUMMARIES:
            for sql in _summary_sql(table, summary, columns):
                db.execute_sql(sql)
    else:
        db.execute_sql(
            "CREATE INDEX IF NOT EXISTS payment_date_org ON payment (date, organization_id)")
        db.execute_sql("CREATE INDEX IF NOT EXISTS service_rendered_date_org"
                       " ON service_rendered (date, organization_id)")
