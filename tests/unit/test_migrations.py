"""Opening and migrating databases: from empty, reopening, newer schemas, bad paths."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import count_rows
from tui_crm.db import open_database
from tui_crm.db.database import make_database
from tui_crm.db.migrations import latest_version, migrate, steps, stored_version
from tui_crm.db.models import ALL_MODELS, database_proxy
from tui_crm.errors import DatabaseProblem
from tui_crm.services.core import settings, users


@pytest.fixture(autouse=True)
def _unbind():
    yield
    if database_proxy.obj is not None and not database_proxy.obj.is_closed():
        database_proxy.obj.close()
    database_proxy.initialize(None)


def _versions(db) -> list[int]:  # noqa: ANN001
    return [r[0] for r in db.execute_sql(
        "SELECT version FROM schema_version ORDER BY version").fetchall()]


def _empty_target(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    if backend == "postgres":
        return request.getfixturevalue("pg_database")
    return str(tmp_path / "new.sqlite3")


BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("TUI_CRM_TEST_PG") else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrates_an_empty_database(request, tmp_path: Path, backend: str) -> None:
    target = _empty_target(request, tmp_path, backend)
    db = open_database(target)
    assert database_proxy.obj is db
    assert stored_version(db) == latest_version()
    assert _versions(db) == [number for number, _apply in steps()]
    tables = set(db.get_tables())
    for model in ALL_MODELS:
        assert model._meta.table_name in tables
    assert "search_doc" in tables
    # The default lists are seeded.
    assert [t.code for t in settings.event_types()][:3] == ["call", "meeting", "email"]
    assert settings.sources()[0] == "Cold call"
    # The first user becomes admin.
    assert users.resolve_actor().is_admin


@pytest.mark.parametrize("backend", BACKENDS)
def test_reopening_is_a_no_op(request, tmp_path: Path, backend: str) -> None:
    target = _empty_target(request, tmp_path, backend)
    db = open_database(target)
    users.resolve_actor()
    before = count_rows(db)
    db.close()
    again = open_database(target)
    assert count_rows(again) == before
    assert _versions(again) == [number for number, _apply in steps()]
    assert migrate(again) == latest_version()
    assert count_rows(again) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_newer_schema_is_refused_and_left_unchanged(request, tmp_path: Path,
                                                    backend: str) -> None:
    target = _empty_target(request, tmp_path, backend)
    db = open_database(target)
    newer = latest_version() + 1
    param = "%s" if db.param == "%s" else "?"
    db.execute_sql(f"INSERT INTO schema_version (version) VALUES ({param})", (newer,))
    before = count_rows(db)
    db.close()
    database_proxy.initialize(None)

    with pytest.raises(DatabaseProblem) as err:
        open_database(target)
    message = str(err.value)
    assert f"schema version {newer}" in message
    assert f"({latest_version()})" in message
    assert "upgrade tui-crm" in message
    assert "\n" not in message
    assert database_proxy.obj is None  # nothing half-open stays bound

    check = make_database(target)
    check.connect()
    try:
        assert count_rows(check) == before
        assert stored_version(check) == newer
    finally:
        check.close()


def test_a_refused_database_does_not_replace_the_open_one(tmp_path: Path) -> None:
    good = open_database(tmp_path / "good.sqlite3")
    bad_path = tmp_path / "bad.sqlite3"
    bad = open_database(bad_path)
    bad.execute_sql("INSERT INTO schema_version (version) VALUES (?)", (latest_version() + 5,))
    bad.close()
    database_proxy.initialize(good)
    with pytest.raises(DatabaseProblem):
        open_database(bad_path)
    assert database_proxy.obj is good
    assert stored_version(good) == latest_version()


def test_new_file_is_group_writable(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite3"
    old = os.umask(0o022)
    try:
        open_database(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o660


def test_missing_folder_is_a_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "crm.sqlite3"
    with pytest.raises(DatabaseProblem) as err:
        open_database(path)
    assert str(err.value) == (
        f"The folder {path.parent} does not exist; create it or choose another database path.")
    assert not path.parent.exists()
    assert database_proxy.obj is None


def test_other_bad_targets(tmp_path: Path) -> None:
    with pytest.raises(DatabaseProblem) as err:
        open_database(tmp_path)
    assert str(err.value) == f"{tmp_path} is a folder, not a database file."

    missing = tmp_path / "missing.sqlite3"
    with pytest.raises(DatabaseProblem) as err:
        open_database(missing, create=False)
    assert str(err.value) == f"The database {missing} does not exist."
    assert not missing.exists()

    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"This is not a database, just some text. " * 200)
    with pytest.raises(DatabaseProblem) as err:
        open_database(junk)
    assert str(err.value) == f"{junk} is not a tui-crm database or is damaged."
    assert junk.read_bytes() == b"This is not a database, just some text. " * 200
    assert database_proxy.obj is None


def test_unreachable_server_is_a_clear_problem() -> None:
    with pytest.raises(DatabaseProblem) as err:
        open_database("postgresql://nobody:secret@127.0.0.1:1/crm")
    message = str(err.value)
    assert "\n" not in message
    assert "secret" not in message
    assert database_proxy.obj is None


def test_unknown_scheme_is_a_clear_problem() -> None:
    with pytest.raises(DatabaseProblem) as err:
        open_database("oracle://user:pw@host/db")
    assert str(err.value).startswith("Cannot use the database oracle://user@host/db: ")


def _open_in_child(path: str) -> int:
    from tui_crm.db import open_database as opener

    db = opener(path)
    version = stored_version(db)
    db.close()
    return version


def test_several_processes_creating_one_database_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        versions = pool.map(_open_in_child, [path] * 3)
    assert versions == [latest_version()] * 3
    db = open_database(path)
    assert _versions(db) == [number for number, _apply in steps()]
    assert [t.code for t in settings.event_types()].count("call") == 1
