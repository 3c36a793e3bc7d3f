"""The database layer: SQLite settings, write transactions with retry, error messages."""

from __future__ import annotations

import os
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
from tui_crm.services.core import records
from tui_crm.services.core.rights import Actor


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
    from tui_crm.services.core import users

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


# --- read transactions --------------------------------------------------------------------------


def _commit_a_tag_elsewhere(target: str, name: str) -> None:
    """Another session adds a tag and commits (a connection of its own, not peewee's)."""
    if "://" in target:
        import psycopg2

        conn = psycopg2.connect(target)
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO tag (name) VALUES (%s)", (name,))
    else:
        conn = sqlite3.connect(target)
        with conn:
            conn.execute("INSERT INTO tag (name) VALUES (?)", (name,))
    conn.close()


def test_a_read_sees_one_snapshot(db, db_target: str) -> None:
    """Two queries in one `read()` agree even when another session commits in between (a
    page and its count, a report's figures)."""

    @dbmod.read
    def twice() -> tuple[int, int]:
        first = m.Tag.select().count()
        _commit_a_tag_elsewhere(db_target, "meanwhile")
        return first, m.Tag.select().count()

    first, second = twice()
    assert first == second
    assert m.Tag.select().count() == first + 1  # after the read, the commit is seen


def test_a_write_inside_a_read_is_a_bug_and_changes_nothing(db, actor: Actor, row_counts) -> None:
    before = row_counts()

    @dbmod.read
    def sneaky() -> None:
        records.create(actor, "notes", {"title": "never"})

    with pytest.raises(RuntimeError, match="inside a read"):
        sneaky()
    assert row_counts() == before
    # A plain write straight into the read snapshot is refused by the database too.

    @dbmod.read
    def raw() -> None:
        m.Tag.create(name="never")

    with pytest.raises(Exception, match="(?i)read-?only|readonly"):
        raw()
    assert row_counts() == before
    # And the connection writes normally again afterwards.
    records.create(actor, "notes", {"title": "after the reads"})
    assert row_counts()["note"] == before["note"] + 1


def test_a_read_inside_a_write_joins_it(db, actor: Actor) -> None:
    @dbmod.read
    def names() -> list[str]:
        return [t.name for t in m.Tag.select()]

    @dbmod.write
    def add_and_look() -> list[str]:
        m.Tag.create(name="inside")
        return names()

    assert add_and_look() == ["inside"]


def test_a_read_does_not_wait_for_a_writer(db, db_target: str, actor: Actor) -> None:
    from tests.write_lock import write_lock_held

    @dbmod.read
    def page_and_count() -> tuple[int, int]:
        return len(list(m.User.select())), m.User.select().count()

    with write_lock_held(db_target) as holder:
        assert page_and_count() == (1, 1)
        assert holder.still_held()


def test_a_write_that_must_not_wait_gives_up_at_once(db, db_target: str, actor: Actor,
                                                     row_counts) -> None:
    from tests.write_lock import write_lock_held

    @dbmod.write(wait=False)
    def add() -> None:
        m.Tag.create(name="later")

    before = row_counts()
    # Held for less than a waiting write's retries: one that waited would get through.
    with write_lock_held(db_target, seconds=10) as holder:
        with pytest.raises(DatabaseProblem, match="locked by another session"):
            add()
        assert holder.still_held()
    assert row_counts() == before
    add()  # the database free again: it goes through, and the busy timeout is back
    assert [t.name for t in m.Tag.select()] == ["later"]
    if dbmod.is_sqlite(db):
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000
# --- another program's database ---------------------------------------------------------------


def _schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "ORDER BY name").fetchall()
    finally:
        conn.close()


def _other_application(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT);"
                       "INSERT INTO foo (name) VALUES ('bar');"
                       "CREATE VIEW foo_names AS SELECT name FROM foo;")
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("command", [["list", "organizations"], ["init"],
                                     ["add", "organizations", "name=X", "source=Website"],
                                     ["find", "bar"], ["today"]])
def test_another_programs_sqlite_file_is_refused_and_not_touched(
        tmp_path: Path, capsys, command: list[str]) -> None:  # noqa: ANN001
    from tui_crm.cli.main import main

    (tmp_path / "theirs").mkdir()
    path = tmp_path / "theirs" / "their.db"
    content = _other_application(path)
    schema = _schema(path)
    assert main(["--db", str(path), *command]) == DatabaseProblem.exit_code
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "is not a tui-crm database" in err and "another program's tables" in err
    assert _schema(path) == schema
    assert path.read_bytes() == content  # not even switched to WAL
    assert [p.name for p in path.parent.iterdir()] == ["their.db"]  # no -wal, -shm


def test_an_empty_file_or_a_new_path_becomes_a_tui_crm_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (empty, tmp_path / "new.db"):
        database = open_database(path)
        assert "schema_version" in database.get_tables()
        database.close()
        m.database_proxy.initialize(None)
        # and it opens again as ours
        open_database(path).close()
        m.database_proxy.initialize(None)


BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("TUI_CRM_TEST_PG") else [])


def _tables(target: str) -> list[str]:
    if "://" not in target:
        return [row[1] for row in _schema(Path(target)) if row[0] == "table"]
    import psycopg2

    conn = psycopg2.connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public' ORDER BY 1")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_database_refuses_another_programs_database(request, tmp_path: Path,  # noqa: ANN001
                                                         backend: str) -> None:
    if backend == "postgres":
        import psycopg2

        target = request.getfixturevalue("pg_database")
        conn = psycopg2.connect(target)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE foo (id serial PRIMARY KEY, name text)")
        conn.close()
    else:
        target = str(tmp_path / "their.db")
        _other_application(Path(target))
    with pytest.raises(DatabaseProblem, match="is not a tui-crm database"):
        open_database(target)
    assert m.database_proxy.obj is None
    assert _tables(target) == ["foo"]


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


def _all_models() -> list[type]:
    from tui_crm.db import import_models, mail_models, planning_models, report_models
    found: list[type] = []
    for module in (m, import_models, mail_models, planning_models, report_models):
        found += [v for v in vars(module).values() if isinstance(v, type)
                  and issubclass(v, m.BaseModel) and v.__module__ == module.__name__]
    return found


def test_every_id_annotation_is_a_foreign_key_accessor_and_every_key_has_one() -> None:
    """The bare `x_id` annotations (for the type checker) match peewee's foreign keys: none
    is a column of its own, none names a missing key, and no key lacks one."""
    for model in _all_models():
        notes: dict[str, str] = {}
        for klass in reversed(model.__mro__):
            notes.update(klass.__dict__.get("__annotations__", {}))
        annotated = {n for n in notes if n.endswith("_id")}
        keys = {f.object_id_name: f for f in model._meta.fields.values()
                if f.__class__.__name__ == "ForeignKeyField"}
        assert annotated == set(keys), model.__name__
        assert not annotated & set(model._meta.fields), model.__name__
        for name, field in keys.items():
            assert ("None" in notes[name]) == bool(field.null), f"{model.__name__}.{name}"
