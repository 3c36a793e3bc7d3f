"""The quick-search index: one normalized text per record.

SQLite: an FTS5 table with the `trigram` tokenizer (substring match, Cyrillic case folded;
ё→е is folded by us before indexing). PostgreSQL: a plain table with a `pg_trgm` GIN index,
queried with LIKE on the same normalized text. The row key packs kind and id so that
replacing one record's document is a primary-key operation, not a scan.
"""

from __future__ import annotations

from peewee import Database

from tui_crm.db.database import current, is_postgres

# Kinds indexed for quick search; the number is packed into the row key.
KIND_CODES = {
    "organizations": 1,
    "contacts": 2,
    "tasks": 3,
    "events": 4,
    "notes": 5,
    "links": 6,
    "deals": 7,
}
CODE_KINDS = {v: k for k, v in KIND_CODES.items()}
_SHIFT = 16


def doc_key(kind: str, record_id: int) -> int:
    return record_id * _SHIFT + KIND_CODES[kind]


def split_key(key: int) -> tuple[str, int]:
    return CODE_KINDS[key % _SHIFT], key // _SHIFT


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
        db.execute_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_doc USING fts5("
            "kind UNINDEXED, title, body, tokenize = 'trigram case_sensitive 0')"
        )


def index_title(db: Database) -> None:
    """Index the title column too (schema step 6), so that ranking can weigh a match in a
    record's name above one in its notes. Copies the documents; nothing is re-normalized."""
    if is_postgres(db):
        return
    row = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'search_doc'").fetchone()
    if row is None or "title UNINDEXED" not in row[0]:
        return
    db.execute_sql("DROP TABLE IF EXISTS search_doc_new")
    db.execute_sql(
        "CREATE VIRTUAL TABLE search_doc_new USING fts5("
        "kind UNINDEXED, title, body, tokenize = 'trigram case_sensitive 0')"
    )
    db.execute_sql("INSERT INTO search_doc_new (rowid, kind, title, body)"
                   " SELECT rowid, kind, title, body FROM search_doc")
    db.execute_sql("DROP TABLE search_doc")
    db.execute_sql("ALTER TABLE search_doc_new RENAME TO search_doc")


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
    key_col = "id" if is_postgres(db) else "rowid"
    db.execute_sql(f"DELETE FROM search_doc WHERE {key_col} = {param}", (doc_key(kind, record_id),))


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
