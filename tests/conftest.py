"""Shared fixtures: isolated folders, English messages, and a fresh database per test.

The `db` fixture runs every test that uses it on a real temporary SQLite file and, when
TUI_CRM_TEST_PG holds a server URL (postgresql://user@host:port/dbname), also on a fresh
PostgreSQL database created for that one test and dropped after it (safe under xdist).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, settings
from peewee import Database

from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.i18n import get_language, set_language
from tui_crm.services.core import users
from tui_crm.services.core.rights import Actor

# Property tests judge behaviour, never speed: no per-example deadline and no "too slow"
# health check (CI's two cores run two workers and services beside them).
settings.register_profile("crm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("crm")

PG_ENV = "TUI_CRM_TEST_PG"
BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get(PG_ENV) else [])


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test away from the real user's folders, database and language."""
    data = tmp_path / "data"
    config = tmp_path / "config"
    data.mkdir()
    config.mkdir()
    monkeypatch.setenv("TUI_CRM_DATA_DIR", str(data))
    monkeypatch.setenv("TUI_CRM_CONFIG_DIR", str(config))
    monkeypatch.delenv("TUI_CRM_DB", raising=False)
    monkeypatch.setenv("TUI_CRM_LANG", "en")
    # Identity is the process's real uid; a suite started through sudo must not turn into
    # a session on someone's behalf (see services.identity).
    monkeypatch.delenv("SUDO_UID", raising=False)
    saved = get_language()
    set_language("en")
    yield
    set_language(saved)


def _admin_connection(server_url: str):  # noqa: ANN202 - a psycopg2 connection
    import psycopg2

    conn = psycopg2.connect(server_url)
    conn.autocommit = True  # CREATE / DROP DATABASE cannot run in a transaction
    return conn


def pg_database_url(server_url: str, name: str) -> str:
    """The server URL pointing at database `name`."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _create_pg(template: str | None = None) -> tuple[str, str]:
    """Create a uniquely named database (optionally a copy of `template`): (name, URL)."""
    server = os.environ[PG_ENV]
    name = f"tuicrm_test_{uuid.uuid4().hex[:16]}"
    conn = _admin_connection(server)
    try:
        with conn.cursor() as cur:
            copy = f' TEMPLATE "{template}"' if template else ""
            cur.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        conn.close()
    return name, pg_database_url(server, name)


def _drop_pg(name: str) -> None:
    conn = _admin_connection(os.environ[PG_ENV])
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped after the test."""
    name, url = _create_pg()
    yield url
    _drop_pg(name)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database is copied from: copying
    is several times faster than creating and migrating every time."""
    name, url = _create_pg()
    saved = get_language()
    set_language("en")  # the seeded lists (sources, schedule) are in the test language
    try:
        database = open_database(url)
        database.close()
        database_proxy.initialize(None)
    finally:
        set_language(saved)
    yield name
    _drop_pg(name)


@pytest.fixture(params=BACKENDS)
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a fresh database lives: a temporary SQLite file path or a PostgreSQL URL (a
    database created for this test from the migrated template, dropped after it)."""
    if request.param == "postgres":
        name, url = _create_pg(template=request.getfixturevalue("pg_template"))
        yield url
        _drop_pg(name)
    else:
        yield str(tmp_path / "data" / "crm.sqlite3")


@pytest.fixture
def db(db_target: str) -> Iterator[Database]:
    """A freshly migrated database, bound for the services."""
    database = open_database(db_target)
    yield database
    if not database.is_closed():
        database.close()
    database_proxy.initialize(None)


@pytest.fixture
def actor(db: Database) -> Actor:
    """The acting user: the OS account, made admin as the database's first user."""
    return users.resolve_actor()


def count_rows(database: Database) -> dict[str, int]:
    """Rows in every table (including the search index), to prove nothing changed."""
    counts = {}
    for table in sorted(database.get_tables()):
        if table.startswith("search_doc_"):  # FTS5 shadow tables
            continue
        counts[table] = database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    if "search_doc" not in counts:  # SQLite lists the FTS5 table among its tables
        counts["search_doc"] = database.execute_sql(
            "SELECT COUNT(*) FROM search_doc").fetchone()[0]
    return counts


@pytest.fixture
def row_counts(db: Database):  # noqa: ANN201 - a callable
    """`row_counts()` → rows per table of the test database."""
    return lambda: count_rows(db)
