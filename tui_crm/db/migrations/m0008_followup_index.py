"""Step 8: a covering index for the follow-up queue. Its count and its order read this
narrow index instead of every wide organization row (100k base: count ~40 → ~20 ms).

`deleted_at` is not its first column: a leading `deleted_at` would look to the planner like
the index for every list's `deleted_at IS NULL`, and lists sorted by name would sort the
whole table instead of walking the name index.
"""

from __future__ import annotations

from peewee import Database, SqliteDatabase


def apply(db: Database) -> None:
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS organization_followup ON organization (status, category,"
        " owner_id, followup_deals, followup_meetings, last_contact_at, next_contact_at,"
        " deleted_at)")
    if isinstance(db, SqliteDatabase) and "sqlite_stat1" in db.get_tables():
        # A base that was analyzed (a big one) gets the new index's statistics at once.
        db.execute_sql("ANALYZE organization")
