"""Everything that differs between SQLite and PostgreSQL, in one place.

`backend(db)` gives the object for a database, chosen once per database. Services ask it
instead of branching on `is_postgres()`. The search index's own SQL (FTS5 against
pg_trgm, the document key column) stays in `search_index`.

The methods are abstract in `Backend` (each raises NotImplementedError) and written once per
database below; `db.bulk` builds the one bulk insert (`reserve_ids`, `insert_rows`,
`insert_dicts`, `executemany`) on top of them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from peewee import SQL, ColumnBase, Database, Expression, PostgresqlDatabase, Select, fn

from tui_crm.db.database import current

Q = TypeVar("Q", bound=Select)

# Parts of a statement `sql()` must not touch: quoted literals and identifiers.
_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")


class Backend:
    """The SQL of one database engine. Use `backend(db)`, not the classes."""

    name = ""
    param = "?"
    max_params = 999  # bound parameters one statement may carry

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- statement text ----------------------------------------------------------------------

    def placeholders(self, count: int) -> str:
        """`?, ?, ?` (or `%s, …`) for `count` parameters."""
        return ", ".join([self.param] * count)

    def sql(self, text: str) -> str:
        """A statement written with `?` placeholders, for this engine (quoted literals and
        identifiers are left as they are)."""
        return text

    def is_true(self, column: str) -> str:
        """A condition that a boolean column holds true."""
        raise NotImplementedError

    def month_expr(self, column: str) -> str:
        """`YYYY-MM` of a date column, as SQL text."""
        raise NotImplementedError

    def month_day(self, field: Any) -> ColumnBase:
        """`MM-DD` of a date field, as a peewee expression."""
        raise NotImplementedError

    def date_param(self, day: dt.date) -> Any:
        """A date as a parameter compared with a stored date column."""
        raise NotImplementedError

    def datetime_value(self, value: dt.datetime) -> Any:
        """A time as the driver stores it, converted once for many rows (bulk inserts)."""
        return value

    # -- id lists ------------------------------------------------------------------------------

    def ids_in(self, column: Any, ids: Iterable[int]) -> Expression:
        """`column IN ids` with the list as one parameter (any length, no parameter limit,
        no peewee node per id)."""
        raise NotImplementedError

    def ids_matching(self, column: Any, sql: str, params: Sequence[Any]) -> Expression:
        """`column IN (sql)`, for a sub-select of ids written for this engine."""
        raise NotImplementedError

    # -- reading and locking -----------------------------------------------------------------

    def lock_rows(self, query: Q) -> Q:
        """The query, locking the rows it reads until the transaction ends."""
        raise NotImplementedError

    @contextmanager
    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """A cursor that fetches the rows as they are read, not all at once."""
        cursor = self.db.execute_sql(sql, params)
        try:
            yield cursor
        finally:
            cursor.close()

    def change_marker(self) -> tuple:
        """A value that differs from the last one when another session committed a change
        (read on the connection that stays open)."""
        raise NotImplementedError

    def interrupt(self, connection: Any) -> None:
        """Stop the statement running on `connection` (safe to call from another thread)."""
        raise NotImplementedError

    def shrink_memory(self) -> None:
        """Free the page cache this thread's open connection holds in this process (the
        UI, when it rests); the next reads come from the operating system's file cache."""
        raise NotImplementedError

    # -- the database as a whole -------------------------------------------------------------

    def file_path(self) -> Path | None:
        """The database file, or None when the data is not in one file of ours."""
        return None

    def has_monthly_summary(self) -> bool:
        """Whether the trigger-kept `payment_month`/`service_month` tables exist."""
        return False

    # -- ids and bulk inserts (used by `db.bulk`) --------------------------------------------

    def reserve_ids(self, table: str, count: int) -> list[int]:
        raise NotImplementedError

    def insert_rows(self, sql: str, rows: Iterable[Sequence[Any]], width: int) -> None:
        """Run `INSERT INTO t (cols)` (`sql`, without VALUES) for every row."""
        raise NotImplementedError

    def reset_sequence(self, table: str) -> None:
        """Move the table's id sequence past the ids written with explicit values."""


class SqliteBackend(Backend):
    name = "sqlite"
    param = "?"
    # SQLite before 3.32 allowed 999 parameters per statement, later ones 32 766.
    max_params = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._reserved: dict[str, int] = {}  # table → the highest id handed out here

    def is_true(self, column: str) -> str:
        return column

    def month_expr(self, column: str) -> str:
        return f"substr({column}, 1, 7)"  # dates are stored as ISO text

    def month_day(self, field: Any) -> ColumnBase:
        return fn.strftime("%m-%d", field)

    def date_param(self, day: dt.date) -> Any:
        return day.isoformat()

    def datetime_value(self, value: dt.datetime) -> Any:
        # What sqlite3's adapter makes of a datetime, without its Python call per value.
        return value.isoformat(" ")

    def ids_in(self, column: Any, ids: Iterable[int]) -> Expression:
        return column.in_(SQL("(SELECT value FROM json_each(?))", [json.dumps(list(ids))]))

    def ids_matching(self, column: Any, sql: str, params: Sequence[Any]) -> Expression:
        # The sub-select runs once here: inlined, SQLite would run an FTS query again for
        # the count and for the page.
        return self.ids_in(column, [row[0] for row in self.db.execute_sql(sql, params)])

    def lock_rows(self, query: Q) -> Q:
        return query  # every write transaction starts BEGIN IMMEDIATE: the lock is held

    def change_marker(self) -> tuple:
        row = self.db.execute_sql("PRAGMA data_version").fetchone()
        return ("sqlite", row[0] if row else 0)

    def interrupt(self, connection: Any) -> None:
        connection.interrupt()

    def shrink_memory(self) -> None:
        # Up to `cache_size` (32 MB) per connection, kept while it is open.
        if not self.db.is_closed():
            self.db.execute_sql("PRAGMA shrink_memory")

    def file_path(self) -> Path | None:
        name = str(self.db.database)
        return None if name in ("", ":memory:") or name.startswith("file:") else Path(name)

    def has_monthly_summary(self) -> bool:
        return "payment_month" in self.db.get_tables()

    def reserve_ids(self, table: str, count: int) -> list[int]:
        if not self.db.in_transaction():
            # Outside a write transaction another process could take the same ids.
            raise RuntimeError("reserve_ids needs the write transaction that inserts the rows")
        row = self.db.execute_sql(f'SELECT MAX("id") FROM "{table}"').fetchone()
        # Ids handed out earlier (maybe not inserted yet) are never handed out again.
        start = max(int(row[0] or 0), self._reserved.get(table, 0)) + 1
        self._reserved[table] = start + count - 1
        return list(range(start, start + count))

    def insert_rows(self, sql: str, rows: Iterable[Sequence[Any]], width: int) -> None:
        """As many rows per statement as the parameter limit allows (up to VALUES_ROWS).
        Against `executemany` (one statement run per row) the driver's per-row work goes:
        ~30 % less time for tables with indexes, the same for FTS5; and one statement's run
        holds no Python lock for thousands of rows, so another thread's Python work goes
        on meanwhile. On a write-behind thread the statements are as large as the
        connection allows (250 000 parameters in many builds): that thread waits for
        Python's lock once per statement, and fewer waits took a 100k-row import 5 % less
        time; alone on its thread a wide table's rows go faster in the portable limit's
        smaller statements (a 10k-row import: 8 % less time than in the largest)."""
        conn = self.db.connection()
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) \
            if on_write_behind_thread() else self.max_params
        per = max(1, min(VALUES_ROWS, limit // max(1, width)))
        one = f"({self.placeholders(width)})"
        full = f"{sql} VALUES {', '.join([one] * per)}"
        it = iter(rows)
        while chunk := list(itertools.islice(it, per)):
            flat = [value for row in chunk for value in row]
            if len(flat) != len(chunk) * width:
                raise sqlite3.ProgrammingError(
                    f"Incorrect number of bindings supplied: {width} columns per row expected")
            conn.execute(full if len(chunk) == per else
                         f"{sql} VALUES {', '.join([one] * len(chunk))}", flat)


class PostgresBackend(Backend):
    name = "postgres"
    param = "%s"
    max_params = 65535
    page_size = 1000  # rows per INSERT statement (execute_values), see benchmarks/bulk_insert

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._sequences: dict[str, str] = {}
        self._cursor_names = itertools.count(1)

    def sql(self, text: str) -> str:
        # psycopg2 reads every % of a statement with parameters as a placeholder.
        parts = _QUOTED.split(text)
        return "".join(part.replace("%", "%%") if n % 2 else
                       part.replace("%", "%%").replace("?", "%s")
                       for n, part in enumerate(parts))

    def is_true(self, column: str) -> str:
        return f"{column} = TRUE"

    def month_expr(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM')"

    def month_day(self, field: Any) -> ColumnBase:
        return fn.to_char(field, "MM-DD")

    def date_param(self, day: dt.date) -> Any:
        return day

    def ids_in(self, column: Any, ids: Iterable[int]) -> Expression:
        return Expression(column, "=", SQL("ANY(%s::bigint[])", [list(ids)]))

    def ids_matching(self, column: Any, sql: str, params: Sequence[Any]) -> Expression:
        return column.in_(SQL(f"({sql})", list(params)))

    def lock_rows(self, query: Q) -> Q:
        return query.for_update()

    @contextmanager
    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        # psycopg2 would first copy the whole result into this process; a server-side
        # (named) cursor fetches it in pages. It lives in a transaction; psycopg2 refuses
        # one on a connection in autocommit mode (peewee's way) unless it is `withhold`.
        with self.db.atomic():
            cursor = self.db.connection().cursor(
                name=f"tui_crm_stream_{next(self._cursor_names)}", withhold=True)
            try:
                cursor.execute(sql, params)
                yield cursor
            finally:
                cursor.close()

    def change_marker(self) -> tuple:
        # No data_version here: every record write logs in the same transaction.
        row = self.db.execute_sql("SELECT MAX(id) FROM audit_log").fetchone()
        return ("audit", row[0] if row else 0)

    def interrupt(self, connection: Any) -> None:
        connection.cancel()

    def shrink_memory(self) -> None:
        pass  # the server holds the cache, not this process

    def _sequence(self, table: str) -> str:
        if table not in self._sequences:
            row = self.db.execute_sql("SELECT pg_get_serial_sequence(%s, 'id')",
                                      (f'"{table}"',)).fetchone()
            self._sequences[table] = row[0]
        return self._sequences[table]

    def reserve_ids(self, table: str, count: int) -> list[int]:
        # One round trip; a sequence never hands out a value twice, whoever else asks.
        rows = self.db.execute_sql("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                                   (self._sequence(table), count)).fetchall()
        return [int(r[0]) for r in rows]

    def insert_rows(self, sql: str, rows: Iterable[Sequence[Any]], width: int) -> None:
        from psycopg2.extras import execute_values

        # Many rows per statement: psycopg2's executemany is one round trip per row.
        try:
            execute_values(self.db.cursor(), f"{sql} VALUES %s", rows,
                           page_size=self.page_size)
        except (IndexError, TypeError) as exc:  # a row of another width (as SQLite says it)
            import psycopg2

            raise psycopg2.ProgrammingError(
                f"Incorrect number of bindings supplied: {width} columns per row expected"
            ) from exc

    def reset_sequence(self, table: str) -> None:
        # Writers are held off while the sequence moves, and it never moves back (another
        # session may hold values it has not inserted yet).
        with self.db.atomic():
            self.db.execute_sql(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
            self.db.execute_sql(
                f"SELECT setval(%s::regclass, GREATEST((SELECT COALESCE(MAX(id), 0)"
                f' FROM "{table}"), (SELECT last_value FROM {self._sequence(table)}), 1))',
                (self._sequence(table),))


_BACKENDS: weakref.WeakKeyDictionary[Database, Backend] = weakref.WeakKeyDictionary()


def backend(db: Database | None = None) -> Backend:
    """The backend of `db` (the bound database by default), made once per database."""
    db = current() if db is None else db
    found = _BACKENDS.get(db)
    if found is None:
        found = PostgresBackend(db) if isinstance(db, PostgresqlDatabase) else SqliteBackend(db)
        _BACKENDS[db] = found
    return found


# Rows per multi-row INSERT at most (SQLite): past a few thousand the statement text only
# grows.
VALUES_ROWS = 8192

# `behind`: this thread is a write-behind thread (db.bulk.write_behind), whose statements run
# beside the caller's Python work.
_thread = threading.local()


def mark_write_behind_thread() -> None:
    """Called by a write-behind thread as it starts."""
    _thread.behind = True


def on_write_behind_thread() -> bool:
    return getattr(_thread, "behind", False)
