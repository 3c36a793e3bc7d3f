"""The database layer: connection set-up, models, search index, migrations."""

from __future__ import annotations

import os

from peewee import Database, DatabaseError, OperationalError

from tui_crm.db.database import bind, make_database, translate_error
from tui_crm.db.migrations import migrate
from tui_crm.db.models import database_proxy


def open_database(target: str | os.PathLike, *, create: bool = True) -> Database:
    """Open (creating if needed) and migrate the database, and bind it for the services."""
    db = make_database(target, create=create)
    previous = database_proxy.obj
    bind(db)
    try:
        db.connect(reuse_if_open=True)
        migrate(db)
    except BaseException as exc:
        # Leave nothing half-open: close this database and give the services back the one
        # they had (a newer schema, a damaged file or a dead server must not stay bound).
        if not db.is_closed():
            db.close()
        database_proxy.initialize(previous)
        if isinstance(exc, OperationalError | DatabaseError):
            raise translate_error(exc, str(target)) from None
        raise
    return db
