"""Opening the database: a plain path or a `playhouse.db_url` URL, SQLite or PostgreSQL.

On SQLite every write transaction starts `BEGIN IMMEDIATE` (set once here through
`lock_type`, so call sites stay portable to PostgreSQL), the journal is WAL, `busy_timeout`
is 5 s and foreign keys are on. `write()` wraps a unit of work in a transaction and retries
with jitter when another process holds the lock for longer than the busy timeout.

Reads never take the write lock: a single query runs on its own (autocommit), and `read()`
gives several queries one snapshot (a page and its count, a report). With WAL on SQLite and
MVCC on PostgreSQL a reader neither waits for a writer nor makes one wait.
"""

from __future__ import annotations

import functools
import os
import random
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, overload
from urllib.parse import quote

from peewee import (
    Database,
    DatabaseError,
    InterfaceError,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
)

from tui_crm.db.migrations import migrate
from tui_crm.db.models import database_proxy
from tui_crm.db.target import describe, is_url  # noqa: F401 - part of this module's API
from tui_crm.errors import DatabaseProblem
from tui_crm.i18n import _

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 5000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -32000,
    "temp_store": "memory",
}
LOCK_RETRIES = 4
OPEN_RETRIES = 8  # opening a new file beside another first session (see open_database)
NO_WAIT_PG = "200ms"  # how long a `write(wait=False)` waits for a row lock on PostgreSQL

P = ParamSpec("P")
T = TypeVar("T")


def _create_sqlite_file(path: Path) -> None:
    """Create an empty database file 0660, so a team's group can share it."""
    if not path.parent.exists():
        raise DatabaseProblem(
            _("The folder {folder} does not exist; create it or choose another database path.")
            .format(folder=path.parent)
        )
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o660)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseProblem(
            _("Cannot create the database {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    try:
        os.fchmod(fd, 0o660)  # umask would otherwise strip the group's write bit
    finally:
        os.close(fd)


def _share_with_group(folder: Path) -> None:
    """In a team's shared folder (setgid or group-writable), create files group-writable.

    SQLite creates -wal/-shm with the process's umask and widens them with fchmod a moment
    later; another user opening them in between gets a read-only connection and a failed
    write ("attempt to write a readonly database"). Clearing the group bits of the umask
    closes that window."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_ISGID | stat.S_IWGRP):
        current_mask = os.umask(0)
        os.umask(current_mask & ~0o070)


def make_database(target: str | os.PathLike, *, create: bool = True) -> Database:
    """Build (but do not bind) a peewee database for a path or URL."""
    text = str(target)
    if is_url(text) and not text.startswith("sqlite"):
        from playhouse.db_url import connect

        try:
            db = connect(text)
        except Exception as exc:  # unknown scheme, missing driver
            raise DatabaseProblem(
                _("Cannot use the database {target}: {reason}").format(
                    target=describe(text), reason=str(exc).splitlines()[0]
                )
            ) from None
        return db
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    if text == ":memory:":
        return SqliteDatabase(text, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    path = Path(text).expanduser()
    _share_with_group(path.parent)
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except PermissionError:
        # A folder this account may not enter (the service account's, 0700): the same
        # one line as a file it may not read, not a traceback.
        raise DatabaseProblem(_("No permission to read the database {path}.").format(
            path=path)) from None
    except OSError as exc:  # another problem on the way (a loop of links, a bad name)
        raise DatabaseProblem(_("Cannot open the database {path}: {reason}").format(
            path=path, reason=exc.strerror or exc)) from None
    if is_dir:
        raise DatabaseProblem(_("{path} is a folder, not a database file.").format(path=path))
    if not exists:
        if not create:
            raise DatabaseProblem(_("The database {path} does not exist.").format(path=path))
        _create_sqlite_file(path)
    elif not os.access(path, os.R_OK):
        raise DatabaseProblem(_("No permission to read the database {path}.").format(path=path))
    else:
        _refuse_foreign(path)
    return SqliteDatabase(
        str(path),
        pragmas=SQLITE_PRAGMAS,
        lock_type="IMMEDIATE",
        check_same_thread=False,
        timeout=5,
    )


def _refuse_foreign(path: Path) -> None:
    """Refuse another program's SQLite file before our connection's settings (WAL) or a
    migration could change it: read its schema with a plain connection that writes
    nothing. A file SQLite cannot read is left to the normal open, which explains it."""
    from tui_crm.db.migrations import is_foreign, not_ours

    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True,
                               timeout=5)
    except sqlite3.Error:
        return
    try:
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    except sqlite3.Error:
        return
    finally:
        conn.close()
    if is_foreign(names):
        raise not_ours(str(path))


def open_database(target: str | os.PathLike, *, create: bool = True) -> Database:
    """Open (creating if needed) and migrate the database, and bind it for the services."""
    db = make_database(target, create=create)
    previous = database_proxy.obj
    bind(db)
    for attempt in range(OPEN_RETRIES):
        try:
            db.connect(reuse_if_open=True)
            migrate(db)
            return db
        except BaseException as exc:
            # Leave nothing half-open: close this database and give the services back the
            # one they had (a newer schema, a damaged file or a dead server must not stay
            # bound).
            if not db.is_closed():
                db.close()
            # Two first sessions on a new file: switching it to WAL needs a moment alone
            # and SQLite answers "locked" at once rather than waiting; so does a migration
            # queued behind another's past the busy timeout. Another try a moment later
            # finds the file switched (or migrated).
            if (isinstance(exc, OperationalError | sqlite3.OperationalError)
                    and _is_lock_error(exc) and attempt < OPEN_RETRIES - 1):
                time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
                continue
            database_proxy.initialize(previous)
            if isinstance(exc, OperationalError | DatabaseError):
                raise translate_error(exc, str(target)) from None
            raise
    raise AssertionError("unreachable")


def bind(db: Database) -> Database:
    """Make `db` the database every model and service uses."""
    database_proxy.initialize(db)
    return db


def current() -> Database:
    """The bound database."""
    db = database_proxy.obj
    if db is None:
        raise DatabaseProblem(_("No database is open."))
    return db


def is_sqlite(db: Database | None = None) -> bool:
    return isinstance(db or current(), SqliteDatabase)


def is_postgres(db: Database | None = None) -> bool:
    return isinstance(db or current(), PostgresqlDatabase)


def for_update(query: Any) -> Any:
    """Rows read to decide a write, locked until the transaction ends: on PostgreSQL with
    FOR UPDATE (READ COMMITTED would let two sessions decide on the same rows); SQLite's
    write transaction (BEGIN IMMEDIATE) already lets one writer in at a time."""
    return query.for_update() if is_postgres() else query


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return ("database is locked" in text or "database is busy" in text
            or "lock timeout" in text)  # PostgreSQL's lock_timeout (a `write(wait=False)`)


def _is_retryable(exc: Exception) -> bool:
    """A failure that a second try of the whole transaction can cure: SQLite's lock held
    past the busy timeout, a PostgreSQL deadlock or serialization failure."""
    text = str(exc).lower()
    return _is_lock_error(exc) or "deadlock detected" in text or "could not serialize" in text


_FILE_PROBLEMS = ("readonly", "read-only", "disk i/o", "database or disk is full",
                  "unable to open", "server closed the connection", "could not connect",
                  "connection already closed", "terminating connection")


def translate_error(exc: Exception, target: str | None = None) -> DatabaseProblem:
    """Turn a driver error about the file or server into a one-line message."""
    text = str(exc).lower()
    where = describe(target) if target else ""
    if _is_lock_error(exc):
        return DatabaseProblem(_("The database is locked by another session; try again."))
    if "readonly" in text or "read-only" in text:
        return DatabaseProblem(_("The database {path} is read-only.").format(path=where))
    if "unable to open" in text:
        return DatabaseProblem(_("Cannot open the database {path}.").format(path=where))
    if "not a database" in text or "malformed" in text:
        return DatabaseProblem(
            _("{path} is not a tui-crm database or is damaged.").format(path=where)
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseProblem(_("Database error: {reason}").format(reason=first))


_reading = threading.local()  # .active: this thread is inside a read() transaction


@overload
def write(fn: Callable[P, T]) -> Callable[P, T]: ...
@overload
def write(*, wait: bool = True) -> Callable[[Callable[P, T]], Callable[P, T]]: ...


def write(fn: Callable[P, T] | None = None, *, wait: bool = True) -> Any:
    """Run `fn` in one write transaction; retry with jitter when the database is locked.

    Nested calls join the outer transaction (a savepoint), so only the outermost retries.
    `@write(wait=False)`: one attempt that gives up at once when another session holds the
    lock (DatabaseProblem), for work that can as well be done on the next try (claiming a
    reminder) and must not freeze the screen meanwhile.
    """
    if fn is None:
        return functools.partial(write, wait=wait)
    attempts = LOCK_RETRIES if wait else 1

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        db = current()
        if getattr(_reading, "active", False):
            # A bug, not a user's doing: the read snapshot cannot become a write safely.
            raise RuntimeError(f"{fn.__qualname__} writes inside a read() transaction")
        if db.in_transaction():
            with db.atomic():
                return fn(*args, **kwargs)
        for attempt in range(attempts):
            try:
                with _write_transaction(db, wait):
                    return fn(*args, **kwargs)
            except (OperationalError, sqlite3.OperationalError) as exc:
                if _is_retryable(exc) and attempt < attempts - 1:
                    time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
                    continue
                text = str(exc).lower()
                if _is_retryable(exc) or any(word in text for word in _FILE_PROBLEMS):
                    raise translate_error(exc, db.database) from None
                raise
            except InterfaceError as exc:
                raise translate_error(exc, db.database) from None
        raise AssertionError("unreachable")

    return wrapper


@contextmanager
def _write_transaction(db: Database, wait: bool) -> Iterator[None]:
    """A write transaction; without `wait`, one that does not queue behind another's lock:
    SQLite's busy timeout is off while it takes the lock, and on PostgreSQL (no database-wide
    lock, but rows another session holds) it waits for a row at most NO_WAIT_PG."""
    if wait:
        with db.atomic():
            yield
    elif is_sqlite(db):
        db.execute_sql("PRAGMA busy_timeout = 0")
        try:
            with db.atomic():
                yield
        finally:
            db.execute_sql(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")
    else:
        with db.atomic():
            db.execute_sql(f"SET LOCAL lock_timeout = '{NO_WAIT_PG}'")
            yield


def read(fn: Callable[P, T]) -> Callable[P, T]:
    """Run `fn`'s queries in one read-only transaction, so they see one snapshot of the
    database (a page agrees with its count, a report's figures with each other).

    It never takes the write lock, so it neither waits for a writer nor blocks one: on
    SQLite a deferred transaction on WAL (with `query_only` on, so a write inside is an
    error rather than a lock), on PostgreSQL a REPEATABLE READ READ ONLY transaction (one
    snapshot; a read-only one never fails to serialize). Inside another transaction (a
    write, or an outer read) `fn` simply joins it.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        db = current()
        if db.in_transaction():
            return fn(*args, **kwargs)
        with _read_transaction(db):
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def _read_transaction(db: Database) -> Iterator[None]:
    sqlite = is_sqlite(db)
    with db.atomic("DEFERRED") if sqlite else db.atomic():
        if sqlite:
            db.execute_sql("PRAGMA query_only = 1")
        else:
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        _reading.active = True
        try:
            yield
        finally:
            _reading.active = False
            if sqlite:
                db.execute_sql("PRAGMA query_only = 0")
