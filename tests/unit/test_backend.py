"""The SQL that differs between SQLite and PostgreSQL (`db/backend.py`): every method run
on both engines (the `db` fixture), each answering the same question the same way."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import peewee
import pytest

from tui_crm.db import models as m
from tui_crm.db.backend import PostgresBackend, SqliteBackend, backend
from tui_crm.db.database import current


def _orgs(*names: str) -> list[int]:
    return [m.Organization.create(name=name).id for name in names]


def _other_connection(db_target: str):  # noqa: ANN202 - a DB-API connection
    """A second session on the same database, outside peewee."""
    if db_target.startswith("postgres"):
        import psycopg2

        return psycopg2.connect(db_target)
    return sqlite3.connect(db_target, timeout=0)


def test_one_backend_per_database_of_the_right_kind(db) -> None:
    chosen = backend(db)
    assert backend() is chosen and backend(current()) is chosen
    expected = PostgresBackend if isinstance(db, peewee.PostgresqlDatabase) else SqliteBackend
    assert type(chosen) is expected
    assert chosen.param == db.param


def test_statements_written_with_question_marks_run_on_both(db) -> None:
    b = backend()
    # A `?` and a `%` inside a quoted literal are text, not placeholders.
    row = db.execute_sql(b.sql("SELECT ?, 'где?', '100%', ? || '%', 7 % 3"),
                         ["a", "b"]).fetchone()
    assert tuple(row) == ("a", "где?", "100%", "b%", 1)
    ids = _orgs("Альфа", "Бета", "Гамма")
    found = db.execute_sql(f"SELECT name FROM organization WHERE id IN ({b.placeholders(2)})"
                           " ORDER BY id", ids[1:]).fetchall()
    assert [r[0] for r in found] == ["Бета", "Гамма"]


def test_month_of_a_date_and_date_parameters(db) -> None:
    b = backend()
    for day in (dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2024, 3, 31),
                dt.date(2024, 4, 1)):
        m.Payment.create(date=day, amount=Decimal("10.50"))
    rows = db.execute_sql(
        f"SELECT {b.month_expr('date')} AS month, COUNT(*) FROM payment"
        f" WHERE date >= {b.param} AND date < {b.param} GROUP BY month ORDER BY month",
        [b.date_param(dt.date(2024, 3, 1)), b.date_param(dt.date(2024, 4, 1))]).fetchall()
    assert [tuple(r) for r in rows] == [("2024-03", 2)]


def test_month_and_day_of_a_birthday(db) -> None:
    b = backend()
    for name, day in (("Иванов", dt.date(1985, 5, 12)), ("Петров", dt.date(1990, 12, 5)),
                      ("Сидоров", None)):
        m.Contact.create(last_name=name, birthday=day)
    found = m.Contact.select().where(b.month_day(m.Contact.birthday).in_(["05-12", "02-29"]))
    assert [c.last_name for c in found] == ["Иванов"]


def test_a_boolean_column_as_a_condition(db) -> None:
    b = backend()
    org = _orgs("Альфа")[0]
    for value, valid in (("+74951112233", True), ("12", False)):
        m.ContactPoint.create(organization=org, kind="phone", value=value, normalized=value,
                              valid=valid)
    rows = db.execute_sql(f"SELECT p.value FROM contact_point p WHERE {b.is_true('p.valid')}"
                          ).fetchall()
    assert [r[0] for r in rows] == ["+74951112233"]


def test_a_list_of_ids_is_one_parameter_of_any_length(db) -> None:
    b = backend()
    ids = _orgs("Альфа", "Бета", "Гамма")
    org = m.Organization

    def names(expr: peewee.Expression) -> list[str]:
        return [o.name for o in org.select().where(expr).order_by(org.id)]

    assert names(b.ids_in(org.id, [])) == []
    assert names(b.ids_in(org.id, [ids[0], ids[2]])) == ["Альфа", "Гамма"]
    # More ids than SQLite takes parameters in one statement (32 766).
    many = [*range(10_000_000, 10_040_000), ids[1]]
    assert names(b.ids_in(org.id, many)) == ["Бета"]
    assert org.select().where(b.ids_in(org.id, iter(ids))).count() == 3


def test_ids_from_a_sub_select(db) -> None:
    b = backend()
    _orgs("Альфа", "Бета", "Альтаир")
    org = m.Organization
    expr = b.ids_matching(org.id, f"SELECT id FROM organization WHERE name LIKE {b.param}",
                          ["Аль%"])
    query = org.select().where(expr).order_by(org.name)
    assert [o.name for o in query] == ["Альтаир", "Альфа"]
    assert query.count() == 2


def test_locked_rows_keep_other_writers_out_until_commit(db, db_target: str) -> None:
    b = backend()
    org_id = _orgs("Общая")[0]
    other = _other_connection(db_target)
    try:
        with db.atomic():
            row = b.lock_rows(m.Organization.select().where(m.Organization.id == org_id)).get()
            assert row.name == "Общая"
            with pytest.raises(Exception) as caught:
                if b.name == "postgres":
                    other.cursor().execute("SELECT id FROM organization WHERE id = %s"
                                           " FOR UPDATE NOWAIT", (org_id,))
                else:
                    other.execute("BEGIN IMMEDIATE")
            text = str(caught.value).lower()
            assert "lock" in text
            other.rollback()
        # Committed: the other session gets the row now.
        if b.name == "postgres":
            cursor = other.cursor()
            cursor.execute("SELECT name FROM organization WHERE id = %s FOR UPDATE NOWAIT",
                           (org_id,))
            assert cursor.fetchone()[0] == "Общая"
        else:
            other.execute("BEGIN IMMEDIATE")
        other.rollback()
    finally:
        other.close()


def test_a_stream_reads_every_row_in_order(db) -> None:
    b = backend()
    m.Tag.insert_many([{"name": f"t{n:05d}"} for n in range(2500)]).execute()
    with b.stream("SELECT name FROM tag WHERE name > " + b.param + " ORDER BY name",
                  ["t00099"]) as cursor:
        if b.name == "postgres":
            assert cursor.name  # a server-side cursor: the result is fetched page by page
        names = [r[0] for r in cursor]
    assert names == [f"t{n:05d}" for n in range(100, 2500)]
    assert not db.in_transaction()


def test_the_change_marker_moves_when_another_session_commits(db, db_target: str) -> None:
    b = backend()
    first = b.change_marker()
    assert b.change_marker() == first
    other = _other_connection(db_target)
    try:
        mark = "%s" if b.name == "postgres" else "?"
        other.cursor().execute(f"INSERT INTO audit_log (at, action, kind, field, old, new,"
                               f" details) VALUES ({mark}, 'create', '', '', '', '', '')",
                               (dt.datetime(2024, 1, 1).isoformat(" "),))
        other.commit()
    finally:
        other.close()
    assert b.change_marker() != first


def test_the_database_file(db, db_target: str) -> None:
    expected = None if db_target.startswith("postgres") else Path(db_target)
    assert backend().file_path() == expected


def test_monthly_summaries_exist_on_sqlite_only(db) -> None:
    assert backend().has_monthly_summary() is (backend().name == "sqlite")


def test_a_running_query_stops_when_interrupted_from_another_thread(db) -> None:
    b = backend()
    long_query = ("SELECT pg_sleep(120)" if b.name == "postgres" else
                  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                  " WHERE x < 1000000000) SELECT COUNT(*) FROM c")
    started = threading.Event()
    held: list = []
    outcome: list = []

    def run() -> None:
        with db.connection_context():  # a connection of this thread's own, as the UI's
            held.append(db.connection())
            started.set()
            try:
                outcome.append(db.execute_sql(long_query).fetchone())
            except Exception as exc:  # noqa: BLE001 - the interruption is the point
                outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    assert started.wait(30)
    # Interrupting a connection that has not started the statement yet does nothing, so
    # keep asking until the statement has stopped.
    for _attempt in range(600):
        b.interrupt(held[0])
        worker.join(0.05)
        if not worker.is_alive():
            break
    assert not worker.is_alive()
    assert isinstance(outcome[0], Exception)
    assert db.execute_sql("SELECT 1").fetchone()[0] == 1  # the main connection is fine
