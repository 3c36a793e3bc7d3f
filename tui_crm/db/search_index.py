"""The quick-search index: one normalized text per record.

SQLite: an FTS5 table with the `trigram` tokenizer (substring match, Cyrillic case folded;
ё→е is folded by us before indexing). PostgreSQL: a plain table with a `pg_trgm` GIN index,
queried with LIKE on the same normalized text. The row key packs kind and id so that
replacing one record's document is a primary-key operation, not a scan, and each kind's
documents are one range of keys (search_keys).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping

import peewee
from peewee import Database

from tui_crm.db.backend import backend
from tui_crm.db.database import current, is_postgres
from tui_crm.search_keys import (  # noqa: F401 - re-exported for the services
    CODE_KINDS,
    ID_BITS,
    KIND_CODES,
    code_sql,
    doc_key,
    id_sql,
    key_ranges,
    split_key,
)


def key_column(db: Database | None = None) -> str:
    """The index row's key column: FTS5's rowid on SQLite, the table's id on PostgreSQL."""
    return "id" if is_postgres(db or current()) else "rowid"


def kind_code_sql(db: Database | None = None) -> str:
    """The kind code of an index row (its key's high bits), as SQL."""
    return code_sql(f"search_doc.{key_column(db)}")


def record_id_sql(db: Database | None = None) -> str:
    """The record id of an index row (its key's low bits), as SQL."""
    return id_sql(f"search_doc.{key_column(db)}")


def rekey(db: Database) -> None:
    """Move every document from the old keys (`id × 16 + kind code`) to `code << 40 | id`
    (schema step 13). SQLite: into a new FTS5 table in key order; PostgreSQL: one UPDATE
    (no new key can equal an old one below 2^40 / 16 ids)."""
    if is_postgres(db):
        db.execute_sql(f"UPDATE search_doc SET id = (MOD(id, 16) << {ID_BITS}) | (id / 16)")
        return
    _copy_into_new_table(db, f"((rowid % 16) << {ID_BITS}) | (rowid / 16) AS key", "key")


def _fts_table(name: str) -> str:
    """The FTS5 table of the index (SQLite), as `create` makes it."""
    return (f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5("
            "kind UNINDEXED, title, body, tokenize = 'trigram case_sensitive 0')")


def _copy_into_new_table(db: Database, key: str, order: str) -> None:
    """Write the index again into a new FTS5 table (its definition as `create` has it),
    each document under `key` (SQL on the old row), in `order`; the new table takes the
    old one's place. A big index is written with a big buffer and merged at the end."""
    db.execute_sql("DROP TABLE IF EXISTS search_doc_new")
    db.execute_sql(_fts_table("search_doc_new"))
    big = db.execute_sql("SELECT COUNT(*) FROM search_doc").fetchone()[0] >= BULK_ROWS
    with fts_options(db, {"hashsize": BULK_HASHSIZE} if big else {}, table="search_doc_new"):
        db.execute_sql(f"INSERT INTO search_doc_new (rowid, kind, title, body)"
                       f" SELECT {key}, kind, title, body FROM search_doc ORDER BY {order}")
    if big:
        db.execute_sql("INSERT INTO search_doc_new (search_doc_new) VALUES ('optimize')")
    db.execute_sql("DROP TABLE search_doc")
    db.execute_sql("ALTER TABLE search_doc_new RENAME TO search_doc")


def create(db: Database) -> None:
    """Create the index table (part of the first migration)."""
    if is_postgres(db):
        db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        db.execute_sql(
            "CREATE TABLE IF NOT EXISTS search_doc ("
            " id BIGINT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)"
        )
        db.execute_sql(
            "CREATE INDEX IF NOT EXISTS search_doc_body_trgm"
            " ON search_doc USING gin (body gin_trgm_ops)"
        )
    else:
        db.execute_sql(_fts_table("search_doc"))


def index_title(db: Database) -> None:
    """Index the title column too (schema step 6), so that ranking can weigh a match in a
    record's name above one in its notes. Copies the documents; nothing is re-normalized."""
    if is_postgres(db):
        return
    row = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'search_doc'").fetchone()
    if row is None or "title UNINDEXED" not in row[0]:
        return
    _copy_into_new_table(db, "rowid", "rowid")


def put(kind: str, record_id: int, title: str, body: str) -> None:
    """Insert or replace one record's document (inside the caller's transaction)."""
    db = current()
    key = doc_key(kind, record_id)
    if is_postgres(db):
        db.execute_sql(
            "INSERT INTO search_doc (id, kind, title, body) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body",
            (key, kind, title, body),
        )
    else:
        db.execute_sql("DELETE FROM search_doc WHERE rowid = ?", (key,))
        db.execute_sql(
            "INSERT INTO search_doc (rowid, kind, title, body) VALUES (?, ?, ?, ?)",
            (key, kind, title, body),
        )


def remove(kind: str, record_id: int) -> None:
    db = current()
    param = "%s" if is_postgres(db) else "?"
    db.execute_sql(f"DELETE FROM search_doc WHERE {key_column(db)} = {param}",
                   (doc_key(kind, record_id),))


def remove_many(kind: str, record_ids: list[int]) -> None:
    """Remove the documents of several records of one kind (undoing an import)."""
    if not record_ids:
        return
    db = current()
    keys = [(doc_key(kind, i),) for i in record_ids]
    if is_postgres(db):
        db.cursor().execute("DELETE FROM search_doc WHERE id = ANY(%s)", ([k[0] for k in keys],))
    else:
        db.connection().executemany("DELETE FROM search_doc WHERE rowid = ?", keys)


def put_many(rows: list[tuple[str, int, str, str]]) -> None:
    """Bulk insert documents (kind, id, title, body) — for the demo and imports."""
    db = current()
    data = [(doc_key(k, i), k, t, b) for k, i, t, b in rows]
    if is_postgres(db):
        cursor = db.cursor()
        cursor.executemany(
            "INSERT INTO search_doc (id, kind, title, body) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body",
            data,
        )
    else:
        conn = db.connection()
        conn.executemany("DELETE FROM search_doc WHERE rowid = ?", [(d[0],) for d in data])
        conn.executemany(
            "INSERT INTO search_doc (rowid, kind, title, body) VALUES (?, ?, ?, ?)", data
        )


# FTS5 keeps new documents in memory and writes a segment each time they pass this many
# bytes (1 MB by default); segments are then merged again and again. A big buffer for the
# length of one bulk insert writes the same index in a few large segments: 40% less time.
BULK_HASHSIZE = 32 * 1024 * 1024
BULK_ROWS = 5000  # documents from which a write takes the big buffer
FTS_DEFAULTS = {"automerge": 4, "hashsize": 1024 * 1024}  # FTS5's own
_PG_ROWS_PER_STATEMENT = 500


@contextlib.contextmanager
def fts_options(db: Database, options: Mapping[str, int], *,
                table: str = "search_doc") -> Iterator[None]:
    """The index's FTS5 options (SQLite) for the length of a bulk write, then as they were.
    They are stored in the index's config table, so inside a transaction a failure rolls
    them back with the rest; around one (the demo's load) they are put back in any case. A
    buffer is only ever made larger here (a load inside a larger one keeps the larger)."""
    if not options or is_postgres(db):
        yield
        return
    marks = ", ".join("?" for _k in options)
    before = {k: FTS_DEFAULTS[k] for k in options}
    before.update((k, int(v)) for k, v in db.execute_sql(
        f"SELECT k, v FROM {table}_config WHERE k IN ({marks})", list(options)))
    wanted = {k: max(v, before[k]) if k == "hashsize" else v for k, v in options.items()}
    _set_fts_options(db, table, wanted)
    try:
        yield
    except BaseException:
        with contextlib.suppress(peewee.DatabaseError, sqlite3.Error):
            _set_fts_options(db, table, before)
        raise
    _set_fts_options(db, table, before)


# Level-0 segments FTS5 lets gather before it merges them, while a write indexes in
# many statements (its own default is 4).
MANY_STATEMENTS_AUTOMERGE = 16


@contextlib.contextmanager
def many_statements(db: Database | None = None) -> Iterator[None]:
    """For a big write that indexes its documents in several statements (an import, part
    after part): the big buffer, and no merging of the segments meanwhile — each statement
    leaves one, and merging them as they came cost a 100k-row import a third more index
    time than one statement; not merging costs less than one. Later writes merge them as
    usual (a search reads a few more segments until then: well under a millisecond)."""
    db = db or current()
    with fts_options(db, {"hashsize": BULK_HASHSIZE, "automerge": MANY_STATEMENTS_AUTOMERGE}):
        yield


def _set_fts_options(db: Database, table: str, options: Mapping[str, int]) -> None:
    for key, value in options.items():
        # An option this SQLite does not know: only slower.
        with contextlib.suppress(peewee.OperationalError):
            db.execute_sql(f"INSERT INTO {table} ({table}, rank) VALUES (?, ?)", (key, value))


def insert_new(rows: list[tuple[str, int, str, str]]) -> None:
    """Index records that have no document yet (kind, id, title, body), such as the new
    records of an import: plain inserts, no replace, inside the caller's transaction.
    Documents that do exist for these ids are replaced (there should be none)."""
    stage_new(rows)
    index_staged()


# New documents wait here (SQLite) until `index_staged` moves them all in one statement.
_STAGE = "temp.search_doc_staged"


def stage_new(rows: list[tuple[str, int, str, str]]) -> None:
    """The first half of `insert_new`, for documents coming in parts (a big write): on
    SQLite they wait in a temporary table, and `index_staged` indexes them all in one
    statement — FTS5 writes its buffer out at the start of every statement that inserts
    many rows, so each part inserted on its own would cost a flush and a merge (+30 % for
    a 100k-record import). PostgreSQL indexes them at once."""
    if not rows:
        return
    db = current()
    data = [(doc_key(k, i), k, t, b) for k, i, t, b in rows]
    if is_postgres(db):
        cursor = db.cursor()
        # One statement per few hundred rows: executemany would be one round trip per row.
        for start in range(0, len(data), _PG_ROWS_PER_STATEMENT):
            chunk = data[start:start + _PG_ROWS_PER_STATEMENT]
            marks = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO search_doc (id, kind, title, body) VALUES {marks}"
                " ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body",
                [value for row in chunk for value in row],
            )
        return
    conn = db.connection()
    keys = {d[0] for d in data}
    stale = [(row[0],) for row in conn.execute(
        "SELECT rowid FROM search_doc WHERE rowid BETWEEN ? AND ?", (min(keys), max(keys)))
        if row[0] in keys]
    if stale:
        conn.executemany("DELETE FROM search_doc WHERE rowid = ?", stale)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {_STAGE} (doc INTEGER, kind TEXT, title TEXT,"
                 " body TEXT)")
    backend(db).insert_rows(f"INSERT INTO {_STAGE} (doc, kind, title, body)", data, 4)


def index_staged() -> None:
    """Index the documents `stage_new` staged, in one statement (SQLite)."""
    db = current()
    if is_postgres(db):
        return
    conn = db.connection()
    if not conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'search_doc_staged'"
                        ).fetchone():
        return
    count = conn.execute(f"SELECT COUNT(*) FROM {_STAGE}").fetchone()[0]
    if not count:
        return
    with fts_options(db, {"hashsize": BULK_HASHSIZE} if count >= BULK_ROWS else {}):
        conn.execute("INSERT INTO search_doc (rowid, kind, title, body)"
                     f" SELECT doc, kind, title, body FROM {_STAGE} ORDER BY doc")
    conn.execute(f"DELETE FROM {_STAGE}")


def clear(kind: str | None = None) -> None:
    db = current()
    if kind is None:
        db.execute_sql("DELETE FROM search_doc")
    else:
        param = "%s" if is_postgres(db) else "?"
        db.execute_sql(f"DELETE FROM search_doc WHERE kind = {param}", (kind,))


def optimize() -> None:
    """Merge FTS5 segments after bulk loads (no-op on PostgreSQL)."""
    db = current()
    if not is_postgres(db):
        db.execute_sql("INSERT INTO search_doc(search_doc) VALUES ('optimize')")
