"""`db.bulk.insert_rows` against the driver alone: the same rows into the same table (the
audit log, with its indexes) of a fresh empty tui-crm database, in one transaction.

SQLite always; PostgreSQL too when TUI_CRM_BENCH_PG holds a server URL (a database is
created for each round and dropped after it). The driver baseline is `executemany` on
SQLite and psycopg2's `execute_values` on PostgreSQL (its `executemany` is one round trip
per row, a baseline nobody would write a bulk insert with).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks import data as bench_data

COLUMNS = ["at", "user", "action", "kind", "record_id", "field", "old", "new", "details"]
PG_ENV = "TUI_CRM_BENCH_PG"


def _rows(count: int) -> list[tuple]:
    start = dt.datetime(2026, 1, 1, 9, 0)
    return [(start + dt.timedelta(seconds=n), None, "create", "organizations", n, "name",
             "", f"Организация {n}", f"#{n} импорт из файла clients.xlsx")
            for n in range(count)]


def _sqlite_round(rows: list[tuple], n: int) -> tuple[float, float]:
    """(insert_rows seconds, executemany seconds) for one round, each on a fresh copy."""
    from tui_crm.db import bulk, open_database
    from tui_crm.db import models as m
    from tui_crm.db.database import SQLITE_PRAGMAS

    ours_path = bench_data.empty_copy(f"bulk-ours-{n}.sqlite3")
    db = open_database(ours_path)
    start = time.perf_counter()
    with db.atomic():
        bulk.insert_rows(m.AuditLog, COLUMNS, rows)
    ours = time.perf_counter() - start
    db.close()

    raw_path = bench_data.empty_copy(f"bulk-raw-{n}.sqlite3")
    conn = sqlite3.connect(raw_path, isolation_level=None)
    for key, value in SQLITE_PRAGMAS.items():
        conn.execute(f"PRAGMA {key} = {value}")
    names = ", ".join(f'"{c}"' for c in COLUMNS).replace('"user"', '"user_id"')
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO audit_log ({names}) VALUES"
                     f" ({', '.join('?' for _c in COLUMNS)})", rows)
    conn.execute("COMMIT")
    raw = time.perf_counter() - start
    conn.close()
    for path in (ours_path, raw_path):
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    return ours, raw


@contextmanager
def _pg_database(server: str) -> Iterator[str]:
    import psycopg2

    name = f"tuicrm_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _pg_round(server: str, rows: list[tuple]) -> tuple[float, float]:
    import psycopg2
    from psycopg2.extras import execute_values

    from tui_crm.db import bulk, open_database
    from tui_crm.db import models as m
    from tui_crm.db.backend import PostgresBackend

    with _pg_database(server) as url:
        db = open_database(url)
        start = time.perf_counter()
        with db.atomic():
            bulk.insert_rows(m.AuditLog, COLUMNS, rows)
        ours = time.perf_counter() - start
        db.close()
    with _pg_database(server) as url:
        db = open_database(url)  # migrated the same way
        db.close()
        conn = psycopg2.connect(url)
        names = ", ".join(f'"{c}"' for c in COLUMNS).replace('"user"', '"user_id"')
        start = time.perf_counter()
        execute_values(conn.cursor(), f"INSERT INTO audit_log ({names}) VALUES %s", rows,
                       page_size=PostgresBackend.page_size)
        conn.commit()
        raw = time.perf_counter() - start
        conn.close()
    return ours, raw


def figures(figure: Callable[..., Any], count: int, repeat: int) -> list[Any]:
    """The figures (made with run.py's `Figure`) for SQLite and, if configured, PostgreSQL."""
    rows = _rows(count)
    out = []
    engines: list[tuple[str, Callable[[int], tuple[float, float]]]] = [
        ("SQLite, executemany", lambda n: _sqlite_round(rows, n))]
    server = os.environ.get(PG_ENV)
    if server:
        engines.append(("PostgreSQL, execute_values", lambda n: _pg_round(server, rows)))
    for label, one_round in engines:
        ours, raw = [], []
        for n in range(repeat):  # each round measures both, so a busy moment hits both
            a, b = one_round(n)
            ours.append(a)
            raw.append(b)
        out.append(figure(f"bulk.insert_rows {count:,} audit rows ({label.split(',')[0]})",
                          f"≤ 1.1 × {label} of the same rows", ours, raw, unit="s",
                          max_ratio=1.1))
    return out
