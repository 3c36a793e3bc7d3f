"""Step 2: reminder claims and call-block runs (daily planning)."""

from __future__ import annotations

from peewee import Database

from tui_crm.db.planning_models import PLANNING_MODELS


def apply(db: Database) -> None:
    db.create_tables(PLANNING_MODELS, safe=True)
    # The day view and the follow-up queue read events by assignee and day.
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS event_assignee_starts ON event (assignee_id, starts_at)")
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS event_org_status_starts"
        " ON event (organization_id, status, starts_at)")
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS event_contact_status_starts"
        " ON event (contact_id, status, starts_at)")
