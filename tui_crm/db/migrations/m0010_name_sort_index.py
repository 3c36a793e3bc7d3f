"""Step 10: lists sort names with Ё as Е (text.names.sort_key): the default sorts
(organizations by name, contacts by last name) get expression indexes on that sort key, so
a page of a big list still walks an index instead of sorting the whole table."""

from __future__ import annotations

from peewee import Database, SqliteDatabase

# The exact expression services.core.records.sort_column writes (the planner matches it).
KEY = "REPLACE(REPLACE({column}, 'Ё', 'Е'), 'ё', 'е')"


def apply(db: Database) -> None:
    for table, column in (("organization", "name"), ("contact", "last_name")):
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {table}_{column}_sort ON {table} "
                       f"({KEY.format(column=column)})")
    if isinstance(db, SqliteDatabase) and "sqlite_stat1" in db.get_tables():
        db.execute_sql("ANALYZE organization")
        db.execute_sql("ANALYZE contact")
