"""A cheap marker of "someone else changed the database", for the UI to poll.

On SQLite `PRAGMA data_version` (a few microseconds) changes when another connection
commits; it is per connection, so it must be read on the connection that stays open (the
UI's main thread). PostgreSQL has no such pragma: there the newest audit-log id is used
(every record write logs in the same transaction). Both are the backend's
(`db.backend.Backend.change_marker`).
"""

from __future__ import annotations

from tui_crm.db.backend import backend


def change_marker() -> tuple:
    """A value that differs from the last one when another session committed a change."""
    return backend().change_marker()
