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

Errors are peewee's (`IntegrityError`…), as from any other query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import peewee

from tui_crm.db import search_index
from tui_crm.db.backend import backend
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
