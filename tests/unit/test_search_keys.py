"""Search documents are keyed kind first (`code << 40 | id`): the key names its record both
ways, each kind is one range of keys, and a base indexed with the old keys (`id × 16 +
code`) is moved to the new ones by the upgrade and found as before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_crm.db import open_database
from tui_crm.db.database import is_postgres
from tui_crm.db.models import database_proxy
from tui_crm.search_keys import KIND_CODES, doc_key, key_ranges, split_key
from tui_crm.services.core import records
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search

KINDS = st.sampled_from(sorted(KIND_CODES))


@given(kind=KINDS, record_id=st.integers(1, (1 << 40) - 1))
def test_a_key_names_its_record(kind: str, record_id: int) -> None:
    assert split_key(doc_key(kind, record_id)) == (kind, record_id)
    (first, last), = key_ranges([kind])
    assert first <= doc_key(kind, record_id) <= last


@given(kinds=st.lists(KINDS, min_size=1, unique=True), other=KINDS,
       record_id=st.integers(1, (1 << 40) - 1))
def test_the_ranges_of_some_kinds_hold_their_keys_only(kinds: list[str], other: str,
                                                       record_id: int) -> None:
    ranges = key_ranges(kinds)
    inside = any(first <= doc_key(other, record_id) <= last for first, last in ranges)
    assert inside == (other in kinds)
    assert ranges == sorted(ranges) and len(ranges) <= len(kinds)


def test_clients_and_people_are_one_range() -> None:
    assert len(key_ranges(["contacts", "organizations"])) == 1
    assert len(key_ranges(["organizations", "events"])) == 2


def test_the_upgrade_moves_old_keys_to_new_ones(db, db_target, actor: Actor) -> None:
    ids = [records.create(actor, "organizations", {"name": name, "source": "Cold call"}).id
           for name in ("Иванов и партнёры", "Ромашка")]
    person = records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Пётр",
                                                "organization": ids[1]}).id
    # The index as tui-crm before step 13 kept it: id × 16 + kind code.
    if is_postgres(db):
        db.execute_sql("UPDATE search_doc SET id = (id & 1099511627775) * 16 + (id >> 40)")
    else:
        rows = db.execute_sql("SELECT rowid, kind, title, body FROM search_doc").fetchall()
        db.execute_sql("DELETE FROM search_doc")
        for key, kind, title, body in rows:
            db.execute_sql("INSERT INTO search_doc (rowid, kind, title, body) VALUES"
                           " (?, ?, ?, ?)", ((key & ((1 << 40) - 1)) * 16 + (key >> 40), kind,
                                             title, body))
    db.execute_sql("DELETE FROM schema_version WHERE version >= 13")
    db.close()
    database_proxy.initialize(None)
    db = open_database(db_target)

    key = "id" if is_postgres(db) else "rowid"
    keys = {k for (k,) in db.execute_sql(f"SELECT {key} FROM search_doc").fetchall()}
    assert {doc_key("organizations", i) for i in ids} | {doc_key("contacts", person)} <= keys
    found = [(h.section, h.id) for h in search.quick_search(actor, "иванов")]
    assert sorted(found) == sorted([("organizations", ids[0]), ("contacts", person)])
    page = records.list_records(actor, "organizations", ListQuery(text="иванов"))
    assert [r.id for r in page.rows] == [ids[0]]
    assert [r.id for r in records.list_records(actor, "contacts",
                                               ListQuery(text="пётр")).rows] == [person]


def test_a_big_index_is_moved_whole_and_its_buffer_put_back(db, db_target) -> None:
    """From 5,000 documents the upgrade writes the index with a big buffer, then merges it;
    the buffer setting is FTS5's default again afterwards."""
    if is_postgres(db):
        db.execute_sql("DELETE FROM search_doc")
        db.execute_sql("INSERT INTO search_doc (id, kind, title, body) SELECT"
                       " n * 16 + 1, 'organizations', 't' || n, 'b' || n"
                       " FROM generate_series(1, 6000) AS n")
    else:
        db.execute_sql("DELETE FROM search_doc")
        db.connection().executemany(
            "INSERT INTO search_doc (rowid, kind, title, body) VALUES (?, ?, ?, ?)",
            [(n * 16 + 1, "organizations", f"t{n}", f"b{n}") for n in range(1, 6001)])
    db.execute_sql("DELETE FROM schema_version WHERE version >= 13")
    db.close()
    database_proxy.initialize(None)
    db = open_database(db_target)
    key = "id" if is_postgres(db) else "rowid"
    keys = [k for (k,) in db.execute_sql(f"SELECT {key} FROM search_doc ORDER BY 1")]
    assert keys == [doc_key("organizations", n) for n in range(1, 6001)]
    if not is_postgres(db):
        config = dict(db.execute_sql("SELECT k, v FROM search_doc_config").fetchall())
        assert int(config.get("hashsize", 1024 * 1024)) == 1024 * 1024
        assert db.execute_sql("SELECT title FROM search_doc WHERE search_doc MATCH ?",
                              ('"t5999"',)).fetchall() == [("t5999",)]
