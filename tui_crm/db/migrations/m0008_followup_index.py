"""Step 8: a covering index for the follow-up queue. Its count and its order read this
narrow index instead of every wide organization row (100k base: count ~40 → ~20 ms)."""

from __future__ import annotations

from peewee import Database


def apply(db: Database) -> None:
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS organization_followup ON organization (deleted_at, status,"
        " category, owner_id, followup_deals, followup_meetings, last_contact_at,"
        " next_contact_at)")
