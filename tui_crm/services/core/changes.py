"""A cheap marker of "someone else changed the database", for the UI to poll.

On SQLite `PRAGMA data_version` (a few microseconds) changes when another connection
commits; it is per connection, so it must be read on the connection that stays open (the
UI's main thread). PostgreSQL has no such pragma: there the newest audit-log id is used
(every record write logs in the same transaction).
"""

from __future__ import annotations

from tui_crm.db.database import current, is_sqlite


def change_marker() -> tuple:
    """A value that differs from the last one when another session committed a change."""
    db = current()
    if is_sqlite(db):
        row = db.execute_sql("PRAGMA data_version").fetchone()
        return ("sqlite", row[0] if row else 0)
    row = db.execute_sql("SELECT MAX(id) FROM audit_log").fetchone()  # the primary key index
    return ("audit", row[0] if row else 0)
