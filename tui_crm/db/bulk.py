"""One bulk insert with ids chosen up front, for SQLite and PostgreSQL.

- `reserve_ids(model, n)`: ids no other writer gets. PostgreSQL: `nextval` of the table's
  sequence, n values in one round trip. SQLite: the ids after the largest, inside the write
  transaction (`BEGIN IMMEDIATE` holds the lock until commit, so nobody else inserts).
- `insert_rows(model_or_table, columns, rows)`: rows of driver values (str, int, float,
  bool, Decimal, date, datetime, None) at `executemany` speed — SQLite: `executemany` on
  the connection; PostgreSQL: `execute_values`, a page of rows per statement. The stored
  values are the ones peewee's `insert_many` stores for the same rows.
- `insert_dicts(model, rows)`: rows as dicts, the model's defaults filled in and values
  converted as peewee does; returns the new ids.
- `write_behind()`: a big write's statements run on a thread of their own, in the caller's
  connection and transaction, while the caller builds the next rows (SQLite).

Errors are peewee's (`IntegrityError`…), as from any other query.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import peewee

from tui_crm.db import search_index
from tui_crm.db.backend import backend, mark_write_behind_thread, on_write_behind_thread
from tui_crm.db.database import current
from tui_crm.db.models import BaseModel

T = TypeVar("T")

# FTS5 tuned for one big load: documents collected in a 64 MB in-memory hash, merging
# deferred to one `optimize` at the end (about twice as fast as merging row by row).
BULK_FTS = {"automerge": 0, "hashsize": 64 * 1024 * 1024}
FTS_DEFAULTS = search_index.FTS_DEFAULTS
BULK_CACHE_KIB = 262144
# Turns a driver's error into peewee's (IntegrityError, OperationalError, …) as peewee's own
# statements do; its stub does not declare it.
_PEEWEE_ERRORS = vars(peewee)["__exception_wrapper__"]


def reserve_ids(model: type[BaseModel], count: int) -> list[int]:
    """`count` new ids for `model`'s table, in ascending order (not always consecutive on
    PostgreSQL). On SQLite call it inside the write transaction that inserts the rows."""
    if count <= 0:
        return []
    return backend().reserve_ids(model._meta.table_name, count)


def _quoted(name: str) -> str:
    return name if name == "rowid" else f'"{name}"'


def insert_rows(target: type[BaseModel] | str, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], *, savepoint: bool = True) -> None:
    """Insert rows (one value per column, as the driver takes them) into a model's table
    (`columns` are field names) or a table (`columns` are column names). All or nothing:
    the rows go in inside a savepoint of the caller's transaction, or one of their own.

    `savepoint=False` inside a transaction that is all or nothing as a whole (a bulk load:
    an import, the demo, the record writer): no savepoint, whose rollback journal costs
    SQLite a copy of every page the insert touches — the demo's load took four times as
    long. A failure then leaves the rows before it, for the caller's rollback."""
    if isinstance(target, str):
        table, names = target, list(columns)
    else:
        fields = target._meta.fields
        table, names = target._meta.table_name, [fields[n].column_name for n in columns]
    sql = f'INSERT INTO "{table}" ({", ".join(_quoted(n) for n in names)})'
    db = current()
    with _PEEWEE_ERRORS, (contextlib.nullcontext() if not savepoint and db.in_transaction()
                          else db.atomic()):
        backend(db).insert_rows(sql, rows, len(names))


_MISSING = object()


def db_value(field: peewee.Field, value: Any) -> Any:
    """A value as peewee hands it to the driver for `field`."""
    return None if value is None else field.db_value(value)


def insert_dicts(model: type[BaseModel], rows: Sequence[Mapping[str, Any]], *,
                 with_ids: bool = True) -> list[int]:
    """Insert rows given as {field name: value}; missing fields get the model's default
    (callable ones too), values are converted as peewee converts them. Returns the new
    ids in row order (reserved up front), or [] with `with_ids=False` (the table's own
    ids then)."""
    if not rows:
        return []
    key = model._meta.primary_key
    if not key:  # every tui-crm model has one; peewee types a keyless model's as False
        raise TypeError(f"{model.__name__} has no primary key")
    fields = [f for f in model._meta.sorted_fields if f is not key]
    names = [f.name for f in fields]

    def values(row: Mapping[str, Any]) -> list[Any]:
        out = []
        for f in fields:
            value = row.get(f.name, _MISSING)
            if value is _MISSING:
                value = f.default() if callable(f.default) else f.default
            out.append(db_value(f, value))
        return out

    with current().atomic():
        if not with_ids:
            insert_rows(model, names, [values(r) for r in rows])
            return []
        ids = reserve_ids(model, len(rows))
        insert_rows(model, [key.name, *names],
                    [[new_id, *values(r)] for new_id, r in zip(ids, rows, strict=True)])
    return ids


def executemany(sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """One statement written with `?` placeholders, run for every row (an UPDATE or DELETE
    by key); its errors as peewee's."""
    db = current()
    with _PEEWEE_ERRORS:
        db.cursor().executemany(backend(db).sql(sql), rows)


def chunks(items: Sequence[T], per_item: int = 1) -> Iterator[Sequence[T]]:
    """`items` in slices small enough for one statement, each item taking `per_item`
    bound parameters."""
    size = max(1, backend().max_params // max(1, per_item))
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextlib.contextmanager
def bulk_load(*, trust_foreign_keys: bool = False) -> Iterator[None]:
    """SQLite tuned for one big load, around the load's transaction: a larger page cache,
    FTS5 merging deferred (one `optimize` after a load that succeeded), and with
    `trust_foreign_keys` no foreign-key lookup per inserted row (for rows consistent by
    construction; the pragma only works outside a transaction, so it is left alone inside
    one). Everything goes back to the usual settings afterwards. PostgreSQL: nothing."""
    db = current()
    if backend(db).name != "sqlite":
        yield
        return
    keys_off = trust_foreign_keys and not db.in_transaction()
    if keys_off:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    cache = db.execute_sql("PRAGMA cache_size").fetchone()[0]
    db.execute_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        with search_index.fts_options(db, BULK_FTS):
            yield
            search_index.optimize()
    finally:
        db.execute_sql(f"PRAGMA cache_size = {int(cache)}")
        if keys_off:
            db.execute_sql("PRAGMA foreign_keys = ON")


class _WriteBehind:
    """A thread that runs the jobs it is given, in order, in the caller's SQLite connection
    and open transaction (peewee keeps both per thread; this thread is handed the
    caller's). SQLite runs a multi-row INSERT without holding Python's lock, so the
    caller's next rows are built meanwhile, on the other core."""

    def __init__(self, db: peewee.Database) -> None:
        # peewee's per-thread connection state (a threading.local): read here, the caller's;
        # in the thread, the thread's own, which is given the caller's connection.
        self.state = vars(db)["_state"]
        self.conn = db.connection()
        self.transactions = self.state.transactions
        # Room for about two parts' jobs (a part gives 3–5): the caller may build up to two
        # parts ahead, never more (their rows wait in memory). With room for two jobs only,
        # a part's fourth job held the caller until the part before was written.
        self.jobs: queue.Queue[Callable[[], object] | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="tui-crm-write-behind",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        state = self.state
        state.set_connection(self.conn)
        state.transactions = self.transactions  # the caller's: statements join its transaction
        # A job that writes in bulk itself runs its statements here (write_behind), in
        # statements sized for a thread beside the caller's (SqliteBackend.insert_rows).
        mark_write_behind_thread()
        try:
            while (job := self.jobs.get()) is not None:
                if self.error is None and not self.stopped:  # else only drained
                    try:
                        job()
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        self.error = exc
                self.jobs.task_done()
        finally:
            state.reset()  # not closed: the connection is the caller's

    def later(self, job: Callable[[], object]) -> None:
        if self.error is not None:
            self.finish()
        self.jobs.put(job)

    def drain(self) -> None:
        """Wait until the jobs given so far have run (the thread stays); raise the first
        one's error."""
        self.jobs.join()
        if self.error is not None:
            self.finish()

    def finish(self) -> None:
        """Wait for the jobs given so far; raise the first one's error."""
        if self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


# `open`: the write-behind this thread's block opened (a nested block joins it).
_behind = threading.local()


@contextlib.contextmanager
def write_behind(parts: int) -> Iterator[Callable[[Callable[[], object]], None]]:
    """`later(job)` for the jobs of a big write made in `parts` parts: on SQLite, with two
    parts or more, they run in order on a thread of their own while the caller builds the
    next part's rows; the block ends once they all have, raising the first job's error.
    Inside the block the caller may read (the driver serializes the two threads' calls on
    the one connection: `sqlite3.threadsafety` 3); a statement that writes or sets a
    savepoint waits for `drain()`. A block inside another one on the same thread gives its
    jobs to the outer one's thread (they run in order with the others; the outer block
    waits for them). Otherwise (PostgreSQL, one part, no transaction, a driver that does
    not serialize) `later` runs each job at once."""
    outer = getattr(_behind, "open", None)
    if outer is not None:
        yield outer.later
        return
    db = current()
    if parts < 2 or backend(db).name != "sqlite" or on_write_behind_thread() \
            or not db.in_transaction() or sqlite3.threadsafety != 3:
        yield _now
        return
    behind = _behind.open = _WriteBehind(db)
    try:
        yield behind.later
    except BaseException:
        behind.stopped = True  # the jobs not started yet are dropped
        with contextlib.suppress(BaseException):
            behind.finish()  # its statement ends before the caller rolls back
        raise
    finally:
        _behind.open = None
    behind.finish()


def pipeline_parts(total: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of the parts of `total` items built by the caller and written behind
    it: parts of `size`, but the first and the last a quarter of it — the writing waits
    for the first part to be built and the caller for the last one to be written, so a
    small part at each end keeps both busy longer. Consecutive, covering 0..total."""
    edge = max(1, size // 4)
    cuts = [0]
    if total > edge:
        cuts.append(edge)
        while total - cuts[-1] > size + edge:
            cuts.append(cuts[-1] + size)
        if total - cuts[-1] > edge:
            cuts.append(total - edge)
    if total > 0:
        cuts.append(total)
    return list(itertools.pairwise(cuts))


def drain() -> None:
    """Inside a `write_behind` block: wait until its jobs so far have run, so that the
    caller may run a statement of its own (one that sets a savepoint, say). Elsewhere
    nothing to wait for."""
    behind = getattr(_behind, "open", None)
    if behind is not None:
        behind.drain()


def _now(job: Callable[[], object]) -> None:
    job()
