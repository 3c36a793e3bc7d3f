"""The database layer: SQLite settings, write transactions with retry, error messages."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from peewee import OperationalError, SqliteDatabase

from tui_crm.db import database as dbmod
from tui_crm.db import models as m
from tui_crm.db import open_database
from tui_crm.errors import DatabaseProblem
from tui_crm.services import records
from tui_crm.services.rights import Actor


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    db = open_database(tmp_path / "crm.sqlite3")
    try:
        assert isinstance(db, SqliteDatabase)
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert db._lock_type == "IMMEDIATE"  # every write transaction takes the lock first
        assert dbmod.is_sqlite(db) and not dbmod.is_postgres(db)
    finally:
        db.close()
        m.database_proxy.initialize(None)


def test_sqlite_url_and_plain_path_are_the_same(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite3"
    db = open_database(f"sqlite:///{path}")
    db.close()
    assert path.exists()
    again = open_database(path)
    assert again.database == str(path)
    again.close()
    m.database_proxy.initialize(None)


def test_write_retries_a_locked_database(db, actor: Actor) -> None:
    attempts = []

    @dbmod.write
    def flaky() -> int:
        attempts.append(1)
        m.Tag.create(name=f"t{len(attempts)}")
        if len(attempts) < dbmod.LOCK_RETRIES:
            raise OperationalError("database is locked")
        return len(attempts)

    assert flaky() == dbmod.LOCK_RETRIES
    # Every failed attempt was rolled back; only the last one's row is there.
    assert [t.name for t in m.Tag.select()] == [f"t{dbmod.LOCK_RETRIES}"]


def test_write_gives_up_with_a_clear_message(db, actor: Actor, row_counts) -> None:
    before = row_counts()

    @dbmod.write
    def always_locked() -> None:
        m.Tag.create(name="never")
        raise OperationalError("database is locked")

    with pytest.raises(DatabaseProblem) as err:
        always_locked()
    assert str(err.value) == "The database is locked by another session; try again."
    assert row_counts() == before


def test_nested_writes_join_the_outer_transaction(db, actor: Actor, row_counts) -> None:
    before = row_counts()

    @dbmod.write
    def outer() -> None:
        records.create(actor, "notes", {"title": "inner"})
        raise OperationalError("disk I/O error")

    with pytest.raises(DatabaseProblem) as err:
        outer()
    assert str(err.value) == "Database error: disk I/O error"
    assert row_counts() == before


def test_a_writer_waits_for_another_connections_lock(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite3"
    db = open_database(path)
    from tui_crm.services import users

    actor = users.resolve_actor()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO tag (name) VALUES ('held')")
    released = threading.Event()

    def release_soon() -> None:
        released.wait(0.3)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=release_soon)
    thread.start()
    try:
        view = records.create(actor, "notes", {"title": "after the lock"})
    finally:
        thread.join()
    assert view.title == "after the lock"
    assert [t.name for t in m.Tag.select()] == ["held"]
    db.close()
    m.database_proxy.initialize(None)


@pytest.mark.parametrize("message, expected", [
    ("database is locked", "The database is locked by another session; try again."),
    ("attempt to write a readonly database", "The database /x/crm.sqlite3 is read-only."),
    ("unable to open database file", "Cannot open the database /x/crm.sqlite3."),
    ("file is not a database", "/x/crm.sqlite3 is not a tui-crm database or is damaged."),
    ("database disk image is malformed",
     "/x/crm.sqlite3 is not a tui-crm database or is damaged."),
    ("something else\nwith details", "Database error: something else"),
])
def test_error_messages(message: str, expected: str) -> None:
    assert str(dbmod.translate_error(OperationalError(message), "/x/crm.sqlite3")) == expected


def test_passwords_never_appear_in_messages() -> None:
    assert dbmod.describe("postgresql://crm:s3cret@db.example:5432/crm") == \
        "postgresql://crm@db.example:5432/crm"
    assert dbmod.describe("/home/me/crm.sqlite3") == "/home/me/crm.sqlite3"
    problem = dbmod.translate_error(OperationalError("unable to open"),
                                    "postgresql://crm:s3cret@db.example/crm")
    assert "s3cret" not in str(problem)


def test_no_database_open_is_a_clear_problem() -> None:
    m.database_proxy.initialize(None)
    with pytest.raises(DatabaseProblem) as err:
        dbmod.current()
    assert str(err.value) == "No database is open."


def test_the_package_loads_peewee_only_when_a_database_is_opened() -> None:
    """A peewee-free module under db/ must import without peewee (`tui-crm find`'s fast
    path); the package's names are still there for everyone else."""
    code = ("import sys, tui_crm.db; before = 'peewee' in sys.modules;"
            " from tui_crm.db import open_database, models;"
            " print(before, 'peewee' in sys.modules, open_database.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "tui_crm.db.database"]
    import tui_crm.db as package

    assert package.migrate is not None and package.bind is dbmod.bind
    with pytest.raises(ImportError):
        from tui_crm.db import no_such_name  # noqa: F401
