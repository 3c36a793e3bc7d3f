"""Schema migrations in numbered steps, with the version stored in `schema_version`.

Each step is a module `mNNNN_*.py` with `apply(db)`; steps run in order, each in its own
transaction. A database whose version is newer than the last step is refused, so an older
program never writes into a schema it does not know.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable

from peewee import Database

from tui_crm.db.target import describe
from tui_crm.errors import DatabaseProblem
from tui_crm.i18n import _
from tui_crm.schema_steps import step_names


def _step_names() -> list[tuple[int, str]]:
    """(number, module name) of every step, from the file names alone."""
    return step_names(info.name for info in pkgutil.iter_modules(__path__))


def steps() -> list[tuple[int, Callable[[Database], None]]]:
    return [(number, importlib.import_module(f"{__name__}.{name}").apply)
            for number, name in _step_names()]


def latest_version() -> int:
    return _step_names()[-1][0]


def stored_version(db: Database) -> int:
    """The schema version in the file; 0 for an empty database."""
    if "schema_version" not in db.get_tables():
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def is_foreign(objects: Iterable[str]) -> bool:
    """Tables (or views) but no `schema_version`: another program's database. Only an empty
    database is made a tui-crm one; our schema is never added to another program's."""
    names = set(objects)
    return bool(names) and "schema_version" not in names


def not_ours(target: str) -> DatabaseProblem:
    return DatabaseProblem(_(
        "{path} is not a tui-crm database: it holds another program's tables; nothing was "
        "changed. Choose another file or an empty database.").format(path=target))


def check_version(db: Database) -> int:
    if is_foreign([*db.get_tables(), *(v.name for v in db.get_views())]):
        raise not_ours(describe(str(db.database)))
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
    # Only pending steps are imported: a step's models must not slow every start-up.
    for number, name in _step_names():
        if number <= version:
            continue
        apply = importlib.import_module(f"{__name__}.{name}").apply
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
