"""The one bulk insert (`db/bulk.py`) on SQLite and PostgreSQL: ids reserved by concurrent
processes never collide, and `insert_rows` stores exactly what peewee's `insert_many`
stores for the same rows."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import traceback
from decimal import Decimal

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.db import bulk, search_index
from tui_crm.db import models as m
from tui_crm.db.backend import backend

PROCESSES = 3
ROUNDS = 25
PER_ROUND = 7


def _reserve_and_insert(target: str, worker: int, rounds: int) -> dict:
    """One session: in each write transaction, reserve ids, wait a moment (so that the
    other processes run in between), then insert rows with them."""
    import time

    from tui_crm.db import bulk as bulk_
    from tui_crm.db import models as models_
    from tui_crm.db import open_database
    from tui_crm.db.database import write

    @write
    def one_round(n: int) -> list[int]:
        ids = bulk_.reserve_ids(models_.Tag, PER_ROUND)
        time.sleep(0.002)
        bulk_.insert_rows(models_.Tag, ["id", "name"],
                          [(i, f"w{worker}-{n}-{i}") for i in ids])
        return ids

    ids: list[int] = []
    errors: list[str] = []
    try:
        db = open_database(target)
        for n in range(rounds):
            ids.extend(one_round(n))
        db.close()
    except Exception:  # a collision is an IntegrityError here
        errors.append(traceback.format_exc())
    return {"ids": ids, "errors": errors}


def test_ids_reserved_by_concurrent_processes_never_collide(db, db_target: str) -> None:
    db.close()  # the children open their own connections
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_reserve_and_insert,
                               [(db_target, n, ROUNDS) for n in range(PROCESSES)])
    db.connect(reuse_if_open=True)

    assert [r["errors"] for r in results] == [[]] * PROCESSES
    ids = [i for r in results for i in r["ids"]]
    assert len(ids) == len(set(ids)) == PROCESSES * ROUNDS * PER_ROUND
    stored = {t.id: t.name for t in m.Tag.select()}
    assert sorted(stored) == sorted(ids)
    assert all(name.endswith(f"-{tag_id}") for tag_id, name in stored.items())
    # peewee's own inserts go on after the reserved ids (the sequence moved with them).
    assert m.Tag.create(name="после").id > max(ids)


def test_reservations_in_one_transaction_do_not_overlap(db) -> None:
    with db.atomic():
        first = bulk.reserve_ids(m.Tag, 3)
        second = bulk.reserve_ids(m.Tag, 4)
        assert bulk.reserve_ids(m.Tag, 0) == []
        bulk.insert_rows(m.Tag, ["id", "name"], [(i, f"t{i}") for i in first + second])
    assert len(set(first + second)) == 7
    assert first == sorted(first) and second == sorted(second) and max(first) < min(second)
    assert m.Tag.select().count() == 7


def test_reserving_ids_outside_a_write_transaction(db) -> None:
    if backend().name == "sqlite":
        # Without the transaction's lock another process could take the same ids.
        with pytest.raises(RuntimeError, match="write transaction"):
            bulk.reserve_ids(m.Tag, 2)
    else:  # a sequence value is never handed out twice, transaction or not
        first, second = bulk.reserve_ids(m.Tag, 2), bulk.reserve_ids(m.Tag, 2)
        assert max(first) < min(second)


class _Sample(m.BaseModel):
    """Every kind of value the services store."""

    id = peewee.AutoField()
    text = peewee.TextField(null=True)
    number = peewee.BigIntegerField(null=True)
    flag = peewee.BooleanField(null=True)
    amount = peewee.DecimalField(max_digits=14, decimal_places=2, null=True)
    day = peewee.DateField(null=True)
    moment = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "bulk_sample_a"


class _SampleB(_Sample):
    class Meta:
        table_name = "bulk_sample_b"


COLUMNS = ["id", "text", "number", "flag", "amount", "day", "moment"]


@pytest.fixture
def samples(db):  # noqa: ANN201 - the two models
    db.create_tables([_Sample, _SampleB])
    yield _Sample, _SampleB
    db.drop_tables([_Sample, _SampleB])


def _stored(model: type[m.BaseModel]) -> list[str]:
    """The rows as the driver reads them back, types included (1, 1.0, '1' and True are
    told apart)."""
    db = m.database_proxy.obj
    table = model._meta.table_name
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    if backend().name == "sqlite":  # the storage class of each value too
        columns += ", " + ", ".join(f'typeof("{c}")' for c in COLUMNS)
    return [repr(tuple(row)) for row in
            db.execute_sql(f'SELECT {columns} FROM "{table}" ORDER BY id').fetchall()]


def _same_as_insert_many(samples, rows: list[tuple]) -> None:  # noqa: ANN001
    peewee_model, ours = samples
    peewee_model.insert_many(rows, fields=[getattr(peewee_model, c) for c in COLUMNS]).execute()
    bulk.insert_rows(ours, COLUMNS, rows)
    assert _stored(ours) == _stored(peewee_model)


def test_insert_rows_stores_what_insert_many_stores(samples) -> None:
    rows = [
        (1, "Иванов «Ёлка»", 42, True, Decimal("1234.50"), dt.date(2024, 2, 29),
         dt.datetime(2024, 3, 1, 9, 30, 15)),
        (2, "", 0, False, Decimal("0.00"), dt.date(1900, 1, 1),
         dt.datetime(2024, 3, 1, 9, 30, 15, 250)),
        (3, None, None, None, None, None, None),
        (4, "'; DROP TABLE tag; --", -2**63, True, Decimal("-0.01"), dt.date(9999, 12, 31),
         dt.datetime(1970, 1, 1)),
    ]
    _same_as_insert_many(samples, rows)


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40)
_row = st.tuples(
    st.one_of(st.none(), _text),
    st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.decimals(min_value=-10**11, max_value=10**11, places=2,
                                     allow_nan=False, allow_infinity=False)),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.datetimes()),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, max_size=8))
def test_insert_rows_matches_insert_many_on_any_values(samples, rows: list[tuple]) -> None:
    for model in samples:
        model.delete().execute()
    _same_as_insert_many(samples, [(n, *row) for n, row in enumerate(rows, 1)])


def test_insert_rows_into_a_table_by_name_from_an_iterator(db) -> None:
    bulk.insert_rows("tag", ["id", "name"], ((i, f"t{i}") for i in (5, 7)))
    assert [(t.id, t.name) for t in m.Tag.select().order_by(m.Tag.id)] == [(5, "t5"), (7, "t7")]


def test_a_failing_insert_writes_nothing_and_raises_peewees_error(db) -> None:
    m.Tag.create(id=3, name="есть")
    with pytest.raises(peewee.IntegrityError):
        bulk.insert_rows(m.Tag, ["id", "name"], [(1, "a"), (2, "b"), (3, "повтор")])
    assert [t.name for t in m.Tag.select()] == ["есть"]
    with db.atomic():  # inside a caller's transaction the caller's rows stay
        m.Tag.create(name="до")
        with pytest.raises(peewee.IntegrityError):
            bulk.insert_rows(m.Tag, ["name"], [("x",), ("x",)])
    assert sorted(t.name for t in m.Tag.select()) == ["до", "есть"]


def test_insert_dicts_fills_defaults_as_peewee_does(db) -> None:
    rows = [{"name": "Альфа", "opt_out": True, "cadence_days": 30},
            {"name": "Бета", "website": "beta.ru"}]
    ids = bulk.insert_dicts(m.Organization, rows)
    expected = [m.Organization.create(**row) for row in rows]
    skip = {"id", "created_at", "updated_at"}

    def values(org: m.Organization) -> dict:
        return {k: v for k, v in org.__data__.items() if k not in skip}

    got = [m.Organization.get_by_id(i) for i in ids]
    assert [values(o) for o in got] == [values(m.Organization.get_by_id(e.id))
                                        for e in expected]
    assert all(o.created_at is not None for o in got)
    assert bulk.insert_dicts(m.Tag, [{"name": "x"}], with_ids=False) == []
    assert bulk.insert_dicts(m.Tag, []) == []


def test_executemany_runs_a_question_mark_statement_for_every_row(db) -> None:
    ids = [m.Tag.create(name=f"t{n}").id for n in range(3)]
    bulk.executemany("UPDATE tag SET name = ? || '%' WHERE id = ?",
                     [(f"new{n}", i) for n, i in enumerate(ids)])
    assert [t.name for t in m.Tag.select().order_by(m.Tag.id)] == ["new0%", "new1%", "new2%"]
    with pytest.raises(peewee.IntegrityError):
        bulk.executemany("UPDATE tag SET name = ? WHERE id = ?", [("new0%", ids[1])])


def test_chunks_fit_one_statement(db) -> None:
    items = list(range(100_000))
    parts = list(bulk.chunks(items, per_item=4))
    assert [i for part in parts for i in part] == items
    assert all(len(part) * 4 <= backend().max_params for part in parts)
    assert list(bulk.chunks([], per_item=3)) == []


def test_a_sequence_moved_past_explicit_ids_and_never_back(db) -> None:
    bulk.insert_rows(m.Tag, ["id", "name"], [(1000, "a"), (1002, "b")])
    backend().reset_sequence("tag")
    assert m.Tag.create(name="c").id == 1003
    with db.atomic():
        reserved = bulk.reserve_ids(m.Tag, 5)  # handed out, never inserted
    backend().reset_sequence("tag")
    new_id = m.Tag.create(name="d").id
    assert new_id not in (1000, 1002, 1003)
    if backend().name == "postgres":  # a sequence never hands a value out twice
        assert new_id > max(reserved)


def _fts_settings(db) -> dict[str, int]:  # noqa: ANN001
    """The FTS5 options in effect (the table lists only those set)."""
    return {**bulk.FTS_DEFAULTS, **{k: int(v) for k, v in db.execute_sql(
        "SELECT k, v FROM search_doc_config WHERE k IN ('automerge', 'hashsize')")}}


def test_bulk_load_tunes_sqlite_for_the_load_and_puts_everything_back(db) -> None:
    sqlite = backend().name == "sqlite"
    pragma = (lambda name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]) if sqlite else None
    before = (pragma("foreign_keys"), pragma("cache_size"), _fts_settings(db)) if sqlite else None
    with bulk.bulk_load(trust_foreign_keys=True), db.atomic():
        if sqlite:
            assert pragma("foreign_keys") == 0
            assert pragma("cache_size") == -bulk.BULK_CACHE_KIB
            assert _fts_settings(db) == bulk.BULK_FTS
            # Rows consistent by construction go in without a lookup per reference.
            m.Contact.insert(last_name="Без проверки", organization=999).execute()
        search_index.put_many([("organizations", 1, "Альфа", "альфа тверь")])
    if sqlite:
        assert (pragma("foreign_keys"), pragma("cache_size"), _fts_settings(db)) == before
    hits = db.execute_sql("SELECT title FROM search_doc").fetchall()
    assert [h[0] for h in hits] == ["Альфа"]
    with pytest.raises(ZeroDivisionError), bulk.bulk_load(trust_foreign_keys=True):
        1 / 0  # noqa: B018 - a failing load
    if sqlite:
        assert (pragma("foreign_keys"), pragma("cache_size"), _fts_settings(db)) == before


def test_a_load_without_savepoints_fails_as_a_whole(db) -> None:
    """`savepoint=False` (the demo, imports, the record writer): outside a transaction the
    insert is still all or nothing; inside one, the caller's rollback takes the failure."""
    with pytest.raises(peewee.IntegrityError):
        bulk.insert_rows(m.Tag, ["name"], [("z",), ("z",)], savepoint=False)
    with pytest.raises(peewee.IntegrityError), db.atomic():
        m.Tag.create(name="до")
        bulk.insert_rows(m.Tag, ["name"], [("y",), ("y",)], savepoint=False)
    assert [t.name for t in m.Tag.select()] == []
    with db.atomic():
        bulk.insert_rows(m.Tag, ["name"], [("a",), ("b",)], savepoint=False)
    assert sorted(t.name for t in m.Tag.select()) == ["a", "b"]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, max_size=20))
def test_rows_split_over_many_statements_are_stored_as_in_one(samples, monkeypatch,
                                                              rows: list[tuple]) -> None:
    """SQLite's insert puts thousands of rows in one statement; split over statements of
    three rows (and a shorter last one) the table holds what peewee's insert makes."""
    monkeypatch.setattr("tui_crm.db.backend.VALUES_ROWS", 3)
    for model in samples:
        model.delete().execute()
    _same_as_insert_many(samples, [(n, *row) for n, row in enumerate(rows, 1)])


def test_a_row_of_another_width_is_refused_and_nothing_is_written(db) -> None:
    with pytest.raises(peewee.DatabaseError):
        bulk.insert_rows(m.Tag, ["id", "name"], [(1, "a"), (2,), (3, "c")])
    assert m.Tag.select().count() == 0


def _tag_job(name: str, threads: list[str]):  # noqa: ANN202 - a job for write_behind
    import threading

    def job() -> None:
        threads.append(threading.current_thread().name)
        bulk.insert_rows(m.Tag, ["name"], [(name,)], savepoint=False)
    return job


def test_written_behind_in_order_in_the_callers_transaction(db) -> None:
    """Jobs run in the order given, on a thread of their own on SQLite, inside the caller's
    transaction: its rollback takes their rows too."""
    import threading

    threads: list[str] = []
    with pytest.raises(ZeroDivisionError), db.atomic():
        with bulk.write_behind(3) as later:
            for name in ("a", "b", "c"):
                later(_tag_job(name, threads))
        assert [t.name for t in m.Tag.select().order_by(m.Tag.id)] == ["a", "b", "c"]
        1 / 0  # noqa: B018 - the caller fails after the write
    assert m.Tag.select().count() == 0
    own = threading.current_thread().name
    if backend().name == "sqlite":
        assert set(threads) == {"tui-crm-write-behind"}
    else:  # PostgreSQL: the jobs run at once, on the caller's thread
        assert set(threads) == {own}
    with db.atomic(), bulk.write_behind(1) as later:  # one part: nothing to overlap
        later(_tag_job("d", threads))
    assert threads[-1] == own and [t.name for t in m.Tag.select()] == ["d"]


def test_a_failed_job_stops_the_rest_and_its_error_reaches_the_caller(db) -> None:
    threads: list[str] = []
    m.Tag.create(name="taken")
    with pytest.raises(peewee.IntegrityError), db.atomic():
        with bulk.write_behind(4) as later:
            later(_tag_job("a", threads))
            later(_tag_job("taken", threads))  # a unique name written twice
            later(_tag_job("b", threads))
    assert len(threads) == 2
    assert [t.name for t in m.Tag.select()] == ["taken"]
    # The caller's connection is whole afterwards: its next transaction works.
    with db.atomic():
        m.Tag.create(name="после")
    assert sorted(t.name for t in m.Tag.select()) == ["taken", "после"]


def test_a_failing_caller_drops_the_jobs_not_started(db) -> None:
    import threading

    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)

    if backend().name != "sqlite":
        release.set()  # the jobs run at once there
    with pytest.raises(KeyError), db.atomic():
        with bulk.write_behind(3) as later:
            later(slow)
            later(_tag_job("never", threads))
            if backend().name == "sqlite":
                started.wait(5)
            # The job goes on a moment after the caller failed (it is waited for).
            threading.Timer(0.2, release.set).start()
            raise KeyError("the caller's own failure")
    if backend().name == "sqlite":
        assert threads == []  # dropped, not run behind the caller's rollback
    assert m.Tag.select().count() == 0


def _titles(db) -> list[tuple[int, str]]:  # noqa: ANN001
    key = "id" if backend().name == "postgres" else "rowid"
    return [tuple(r) for r in db.execute_sql(
        f"SELECT {key}, title FROM search_doc ORDER BY {key}").fetchall()]


def test_new_documents_staged_in_parts_are_indexed_once_and_replace_old_ones(db) -> None:
    """`stage_new` per part, `index_staged` once: every document is found, a document
    that existed for one of the ids is replaced, and nothing waits in the stage after."""
    from tui_crm.search_keys import doc_key

    with db.atomic():
        search_index.put_many([("organizations", 2, "Старое", "старое")])
    with db.atomic():
        search_index.stage_new([("organizations", 1, "Альфа", "альфа")])
        search_index.stage_new([("organizations", 2, "Бета", "бета"),
                                ("organizations", 3, "Гамма", "гамма")])
        search_index.index_staged()
        search_index.index_staged()  # nothing left: a second call changes nothing
    assert _titles(db) == [(doc_key("organizations", n), title)
                           for n, title in ((1, "Альфа"), (2, "Бета"), (3, "Гамма"))]
    with db.atomic():
        search_index.insert_new([("organizations", 3, "Гамма-2", "гамма")])
    assert _titles(db)[-1] == (doc_key("organizations", 3), "Гамма-2")


def test_documents_indexed_in_many_statements_are_all_found_and_options_come_back(db
                                                                                   ) -> None:
    """Inside `many_statements` (an import part after part) each part's documents go in
    with their own statement and no merging between them: every document is found by a
    search afterwards, and the index's options are as before once the block ends."""
    from tui_crm.search_keys import doc_key

    def options() -> dict[str, int]:
        return {**search_index.FTS_DEFAULTS, **dict(db.execute_sql(
            "SELECT k, v FROM search_doc_config WHERE k IN ('automerge', 'hashsize')"))}

    sqlite = backend().name == "sqlite"
    before = options() if sqlite else {}
    with db.atomic(), search_index.many_statements():
        if sqlite:
            assert options()["automerge"] == search_index.MANY_STATEMENTS_AUTOMERGE
        for part in range(6):
            search_index.stage_new([("organizations", part * 10 + n, f"Ромашка {part} {n}",
                                     f"ромашка-{part}-{n}") for n in range(1, 4)])
            search_index.index_staged()
    assert len(_titles(db)) == 18
    if sqlite:
        assert options() == before
        assert {k for k, in db.execute_sql(
            "SELECT rowid FROM search_doc WHERE search_doc MATCH '\"ромашка-4\"'")} == {
            doc_key("organizations", n) for n in (41, 42, 43)}


@given(total=st.integers(0, 5000), size=st.integers(1, 400))
def test_pipeline_parts_cover_every_item_once_with_small_ends(total: int, size: int) -> None:
    parts = bulk.pipeline_parts(total, size)
    assert [i for start, end in parts for i in range(start, end)] == list(range(total))
    assert all(end > start for start, end in parts)
    assert all(end - start <= size for start, end in parts)
    edge = max(1, size // 4)
    if total > 2 * size:  # a file that streams: the writer starts early, the caller ends early
        assert parts[0][1] - parts[0][0] == edge
        assert parts[-1][1] - parts[-1][0] == edge
