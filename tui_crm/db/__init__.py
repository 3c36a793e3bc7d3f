"""The database layer: connection set-up, models, search index, migrations."""

from __future__ import annotations

import os

from peewee import Database, DatabaseError, OperationalError

from tui_crm.db.database import bind, make_database, translate_error
from tui_crm.db.migrations import migrate


def open_database(target: str | os.PathLike, *, create: bool = True) -> Database:
    """Open (creating if needed) and migrate the database, and bind it for the services."""
    db = make_database(target, create=create)
    bind(db)
    try:
        db.connect(reuse_if_open=True)
        migrate(db)
    except (OperationalError, DatabaseError) as exc:
        if not db.is_closed():
            db.close()
        raise translate_error(exc, str(target)) from None
    return db
