"""The database layer: connection set-up, models, search index, migrations.

Importing the package loads nothing else: `open_database` and the other entry points are
looked up on first use (PEP 562), so a peewee-free module under `db/` can be imported
without peewee (`tui-crm find`'s fast path must not load it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui_crm.db.database import bind, make_database, open_database, translate_error
    from tui_crm.db.migrations import migrate
    from tui_crm.db.models import database_proxy

__all__ = ["bind", "database_proxy", "make_database", "migrate", "open_database",
           "translate_error"]


def __getattr__(name: str) -> Any:
    if name in ("open_database", "make_database", "bind", "translate_error"):
        from tui_crm.db import database

        return getattr(database, name)
    if name == "migrate":
        from tui_crm.db.migrations import migrate

        return migrate
    if name == "database_proxy":
        from tui_crm.db.models import database_proxy

        return database_proxy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
