"""Schema migrations in numbered steps, with the version stored in `schema_version`.

Each step is a module `mNNNN_*.py` with `apply(db)`; steps run in order, each in its own
transaction. A database whose version is newer than the last step is refused, so an older
program never writes into a schema it does not know.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from peewee import Database

from tui_crm.errors import DatabaseProblem
from tui_crm.i18n import _


def steps() -> list[tuple[int, Callable[[Database], None]]]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append((int(info.name[1:5]), module.apply))
    return sorted(found)


def latest_version() -> int:
    return steps()[-1][0]


def stored_version(db: Database) -> int:
    """The schema version in the file; 0 for an empty database."""
    if "schema_version" not in db.get_tables():
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def check_version(db: Database) -> int:
    version = stored_version(db)
    latest = latest_version()
    if version > latest:
        raise DatabaseProblem(
            _(
                "The database has schema version {found}, newer than this program knows ({known});"
                " upgrade tui-crm."
            ).format(found=version, known=latest)
        )
    return version


def migrate(db: Database) -> int:
    """Bring the schema up to date; return the version now stored."""
    version = check_version(db)
    for number, apply in steps():
        if number <= version:
            continue
        with db.atomic():
            # Another process may have migrated while we waited for the write lock.
            if stored_version(db) >= number:
                continue
            apply(db)
            if "schema_version" not in db.get_tables():
                db.execute_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            param = "%s" if db.param == "%s" else "?"
            db.execute_sql(f"INSERT INTO schema_version (version) VALUES ({param})", (number,))
    return stored_version(db)
