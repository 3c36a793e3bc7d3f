"""Step 12: indexes for Today (and the reminders, the week strip), each for one of its
queries that walked a user's whole history on a large base:

- `event_series`: the open recurring series of a user. Without it, finding them walked
  every event of the user up to the day shown (~100k rows on the benchmark base, ~0.3 s,
  twice per Today and once per reminder check), because no index says which rows repeat.
- `event_overdue`: a user's planned one-off events by time, for the overdue list's first
  200. The (assignee, starts_at) index had to step over every done event since the first.
- `contact_owner_birthday`: birthdays on a day are found in the index (month and day of
  the owner's birthdays) instead of reading every contact row of the owner.
- `task_assignee_due`: a user's tasks due by a day, in order, without the whole base's
  tasks by due date.

The partial ones hold only the rows their queries ask about (the queries repeat the
index's condition word for word, which is what lets the planner use it).
"""

from __future__ import annotations

from peewee import Database, SqliteDatabase


def apply(db: Database) -> None:
    db.execute_sql("CREATE INDEX IF NOT EXISTS event_series ON event (assignee_id, starts_at)"
                   " WHERE rrule != ''")
    db.execute_sql("CREATE INDEX IF NOT EXISTS event_overdue ON event (assignee_id, starts_at)"
                   " WHERE status = 'planned' AND rrule = ''")
    db.execute_sql("CREATE INDEX IF NOT EXISTS contact_owner_birthday ON contact"
                   " (owner_id, birthday) WHERE birthday IS NOT NULL")
    db.execute_sql("CREATE INDEX IF NOT EXISTS task_assignee_due ON task (assignee_id, due_at)")
    if isinstance(db, SqliteDatabase) and "sqlite_stat1" in db.get_tables():
        for table in ("event", "contact", "task"):
            db.execute_sql(f"ANALYZE {table}")
