"""The one record writer (`record_writer.write_many`): what it stores for many records is
what `records.create` stores for one — the row, contact points, tags, custom values, search
document, audit rows and the clients' contact dates — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.db import models as m
from tui_crm.db.database import current, write
from tui_crm.errors import PermissionDenied
from tui_crm.search_keys import doc_key
from tui_crm.services.core import (
    audit,
    record_writer,
    records,
    search_docs,
    users,
    values,
)
from tui_crm.services.core import settings as crm_settings
from tui_crm.services.core.rights import Actor

# Columns that differ between two records written one after the other.
_OWN = {"id", "created_at", "updated_at", "organization_id", "contact_id", "record_id"}


def _stored(table: str, where: str, record_id: int) -> list[dict[str, Any]]:
    """Rows as the database holds them (raw driver values), minus their own ids and times."""
    db = current()
    mark = "%s" if "postgres" in type(db).__name__.lower() else "?"
    cursor = db.execute_sql(f'SELECT * FROM "{table}" WHERE "{where}" = {mark} ORDER BY "id"',
                            (record_id,))
    names = [c[0] for c in cursor.description]
    return [{k: v for k, v in zip(names, row, strict=True) if k not in _OWN}
            for row in cursor.fetchall()]


def _document(kind: str, record_id: int) -> tuple[str, str]:
    db = current()
    is_pg = "postgres" in type(db).__name__.lower()
    key_col, mark = ("id", "%s") if is_pg else ("rowid", "?")
    row = db.execute_sql(f"SELECT title, body FROM search_doc WHERE {key_col} = {mark}",
                         (doc_key(kind, record_id),)).fetchone()
    return (row[0], row[1]) if row else ("", "")


def _everything(kind: str, record_id: int) -> dict[str, Any]:
    """All a new record brought with it."""
    spec = records.kind_spec(kind)
    owner = "contact_id" if kind == "contacts" else "organization_id"
    tags = [name for (name,) in m.Tag.select(m.Tag.name).join(m.TagLink).where(
        (m.TagLink.kind == kind) & (m.TagLink.record_id == record_id))
        .order_by(m.TagLink.id).tuples()]
    return {
        "record": _stored(spec.model._meta.table_name, "id", record_id),
        "points": _stored("contact_point", owner, record_id) if spec.has_points else [],
        "tags": tags,
        "custom": _stored("custom_value", "record_id", record_id),
        "document": _document(kind, record_id),
        "audit": [(e.action, e.kind, e.login, e.field, e.details)
                  for e in audit.history(kind, record_id)],
    }


def _write(actor: Actor, kind: str, rows: list[dict[str, Any]], **options: Any) -> list[int]:
    return write(record_writer.write_many)(actor, kind, rows, **options)


def _cleaned(actor: Actor, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return values.clean(records.kind_spec(kind), data, partial=False,
                        context={"actor": actor})


ORG = {"name": "ООО Ромашка", "source": "Website", "inn": "7707083893", "city": "Москва",
       "phones": ["work:+7 (495) 123-45-67", "8 916 123 45 67", "12"],
       "emails": ["Info@Romashka.RU"], "messengers": ["telegram:@Romashka_Bot"],
       "tags": ["vip", "опт", "vip"], "category": "VIP", "cadence_days": "14",
       "opt_out": "да", "website": "romashka.ru", "kod": "B-17", "limit": "1 500,5",
       "dogovor": "01.02.2026", "diler": "да"}


@pytest.fixture
def customs(db, actor: Actor) -> None:
    for label, kind in (("Kod", "text"), ("Limit", "number"), ("Dogovor", "date"),
                        ("Diler", "bool")):
        crm_settings.add_custom_field(actor, "organizations", label, kind)


def test_an_organization_is_stored_as_create_stores_it(customs, actor: Actor) -> None:
    created = records.create(actor, "organizations", ORG)
    cleaned = _cleaned(actor, "organizations", ORG)
    (typed,) = _write(actor, "organizations", [cleaned])
    # The importer hands over points parsed already: (type, shown, normalized, valid).
    region = values.phone_region()
    parsed = dict(cleaned)
    for name, point_kind in (("phones", "phone"), ("emails", "email"),
                             ("messengers", "messenger")):
        parsed[name] = [(ptype, *record_writer.parse_point(point_kind, text, region))
                        for ptype, text in cleaned[name]]
    (imported,) = _write(actor, "organizations", [parsed])

    expected = _everything("organizations", created.id)
    assert expected["record"][0]["primary_phone"] == "+7 495 123-45-67"
    assert expected["record"][0]["primary_email"] == "Info@romashka.ru"
    assert [p["valid"] for p in expected["points"]] == [True, True, False, True, True]
    assert [p["position"] for p in expected["points"]] == [0, 1, 2, 0, 0]
    assert expected["tags"] == ["vip", "опт"]
    assert sorted(c["value"] for c in expected["custom"]) == ["1", "1500.5", "2026-02-01",
                                                              "B-17"]
    assert "79161234567" in expected["document"][1] and "info@romashka.ru" in \
        expected["document"][1]
    assert expected["audit"] == [("create", "organizations", actor.login, "", "")]
    assert _everything("organizations", typed) == expected
    assert _everything("organizations", imported) == expected


def test_the_document_is_the_one_reindex_makes(customs, actor: Actor) -> None:
    (org,) = _write(actor, "organizations", [_cleaned(actor, "organizations", ORG)])
    people = _write(actor, "contacts", [
        _cleaned(actor, "contacts", {"last_name": "Иванов", "first_name": "Пётр",
                                     "organization": org, "phones": ["+7 916 000-11-22"],
                                     "tags": ["лпр"]}),
        _cleaned(actor, "contacts", {"last_name": "Smith", "emails": ["J.Smith@Example.com"]}),
    ])
    events = _write(actor, "events", [
        _cleaned(actor, "events", {"event_type": "call", "starts_at": "01.02.2026 10:00",
                                   "organization": org, "contact": people[0],
                                   "title": "Звонок", "status": "done"}),
        _cleaned(actor, "events", {"event_type": "meeting", "starts_at": "01.03.2027 10:00",
                                   "contact": people[1]}),
    ])
    tasks = _write(actor, "tasks", [_cleaned(actor, "tasks", {
        "title": "Счёт", "organization": org, "contact": people[0], "tags": ["срочно"]})])
    written = [("organizations", org), *(("contacts", p) for p in people),
               *(("events", e) for e in events), *(("tasks", t) for t in tasks)]
    before = {(kind, i): _document(kind, i) for kind, i in written}
    assert before[("events", events[0])][0] == "Звонок: ООО Ромашка"
    assert "ромашка" in before[("contacts", people[0])][1]
    write(lambda: [search_docs.reindex(kind, i) for kind, i in written])()
    assert {(kind, i): _document(kind, i) for kind, i in written} == before


def test_names_the_caller_knows_replace_the_look_ups(db, actor: Actor) -> None:
    (org,) = _write(actor, "organizations", [{"name": "Альфа"}])
    (event,) = _write(actor, "events", [_cleaned(actor, "events", {
        "event_type": "email", "starts_at": "01.02.2026 10:00", "organization": org})],
        names=[{"organization": "Альфа (как в рассылке)"}])
    assert _document("events", event)[0] == "E-mail: Альфа (как в рассылке)"


def test_new_events_move_their_clients_contact_dates(db, actor: Actor) -> None:
    orgs = _write(actor, "organizations", [{"name": f"Клиент {n}"} for n in range(3)])
    (person,) = _write(actor, "contacts", [{"last_name": "Петров"}])
    today = m.now().replace(hour=9, minute=0)
    past, later, far = (today - dt.timedelta(days=3), today + dt.timedelta(days=5),
                        today + dt.timedelta(days=30))

    def event(org: int | None, when: dt.datetime, status: str, **more: Any) -> dict[str, Any]:
        return _cleaned(actor, "events", {"event_type": "call", "starts_at": when,
                                          "organization": org, "status": status, **more})

    _write(actor, "events", [
        event(orgs[0], past, "done"), event(orgs[0], past - dt.timedelta(days=9), "done"),
        event(orgs[0], far, "planned"), event(orgs[0], later, "planned"),
        event(orgs[1], later + dt.timedelta(days=400), "done"),  # a later day: no contact yet
        event(orgs[1], past - dt.timedelta(days=7), "planned", rrule="FREQ=WEEKLY"),
        event(None, past, "done", contact=person),
    ])
    dates = {o.id: (o.last_contact_at, o.next_contact_at) for o in m.Organization.select()}
    assert dates[orgs[0]] == (past, later)
    # The weekly series' next repeat after now.
    nxt = dates[orgs[1]][1]
    assert dates[orgs[1]][0] is None and nxt is not None and nxt > m.now() \
        and (nxt - (past - dt.timedelta(days=7))).days % 7 == 0
    assert dates[orgs[2]] == (None, None)
    assert m.Contact.get_by_id(person).last_contact_at == past


def test_an_import_logs_no_row_per_record_and_ids_follow_the_rows(db, actor: Actor) -> None:
    before = m.AuditLog.select().count()
    ids = _write(actor, "organizations", [{"name": f"Орг {n}"} for n in range(5)],
                 audit_action=None)
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [o.name for o in m.Organization.select().where(m.Organization.id.in_(ids))
            .order_by(m.Organization.id)] == [f"Орг {n}" for n in range(5)]
    assert m.AuditLog.select().count() == before
    assert _write(actor, "organizations", []) == []


def test_values_are_stored_as_peewee_stores_them(db, actor: Actor) -> None:
    """Dates, times, money, flags: the same raw values as peewee's own insert."""
    (org,) = _write(actor, "organizations", [{"name": "Бета"}])
    data = {"organization": org, "date": dt.date(2027, 1, 15), "amount": Decimal("1234.50"),
            "description": "аванс"}
    (mine,) = _write(actor, "payments", [data])
    theirs = write(lambda: m.Payment.insert(
        **data, created_by=actor.user_id, updated_by=actor.user_id,
        created_at=m.now(), updated_at=m.now(), version=1).execute())()
    assert _stored("payment", "id", mine) == _stored("payment", "id", theirs)
    event = {"event_type": m.EventType.get(m.EventType.code == "call").id, "status": "done",
             "starts_at": dt.datetime(2026, 3, 1, 10, 30), "organization": org,
             "reminder_minutes": 15}
    (mine,) = _write(actor, "events", [event])
    theirs = write(lambda: m.Event.insert(
        **event, assignee=actor.user_id, created_by=actor.user_id, updated_by=actor.user_id,
        created_at=m.now(), updated_at=m.now(), version=1).execute())()
    assert _stored("event", "id", mine) == _stored("event", "id", theirs)


def test_only_who_may_edit_the_kind_writes(db, actor: Actor) -> None:
    users.add_user(actor, "viewer", role="viewer")
    viewer = users.actor_for("viewer")
    before = m.Organization.select().count()
    with pytest.raises(PermissionDenied):
        _write(viewer, "organizations", [{"name": "Чужая"}])
    assert m.Organization.select().count() == before


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_text.filter(str.strip), city=_text, phone=_text.filter(str.strip),
       email=_text.filter(str.strip), tags=st.lists(_text.filter(str.strip), max_size=3))
def test_any_text_gives_the_document_reindex_gives(db, actor: Actor, name: str, city: str,
                                                   phone: str, email: str,
                                                   tags: list[str]) -> None:
    (org,) = _write(actor, "organizations", [{
        "name": name, "city": city, "phones": [("work", phone)], "emails": [("work", email)],
        "tags": tags}])
    written = _document("organizations", org)
    write(search_docs.reindex)("organizations", org)
    assert _document("organizations", org) == written


def test_a_write_in_parts_stores_what_one_part_stores(customs, actor: Actor,
                                                      monkeypatch) -> None:
    """A big write goes in parts (on SQLite each written on its own thread while the next
    is built): records, points, tags, custom values, documents and audit rows are those of
    the same rows written as one part, and events still move their clients' dates."""
    cleaned = [_cleaned(actor, "organizations", {**ORG, "name": f"Ромашка {n}",
                                                 "tags": ["vip", f"t{n % 2}"]})
               for n in range(7)]
    whole = _write(actor, "organizations", cleaned)
    monkeypatch.setattr(record_writer, "PART_ROWS", 3)
    parts = _write(actor, "organizations", cleaned)
    for one, other in zip(whole, parts, strict=True):
        assert _everything("organizations", other) == _everything("organizations", one)
    when = m.now().replace(hour=9, minute=0) - dt.timedelta(days=2)
    events = _write(actor, "events", [_cleaned(actor, "events", {
        "event_type": "call", "starts_at": when, "organization": org, "status": "done"})
        for org in parts])
    assert len(events) == 7
    assert {o.last_contact_at for o in m.Organization.select().where(
        m.Organization.id.in_(parts))} == {when}


def test_a_failing_part_leaves_nothing(db, actor: Actor, monkeypatch) -> None:
    monkeypatch.setattr(record_writer, "PART_ROWS", 2)
    rows = [{"name": f"Орг {n}"} for n in range(5)]
    rows[3]["owner"] = 999_999  # no such user: the second part's insert fails
    with pytest.raises(peewee.IntegrityError):
        _write(actor, "organizations", rows)
    assert m.Organization.select().count() == 0
    assert current().execute_sql("SELECT COUNT(*) FROM search_doc").fetchone()[0] == 0


def test_a_writer_of_several_calls_hands_out_its_reserved_ids(db, actor: Actor) -> None:
    """A RecordWriter reserves ids for the records it expects at once and hands them out
    call after call (no statement of its own between parts); past them it reserves more;
    a write made meanwhile by anyone else never gets one of its ids."""

    @write
    def scenario() -> tuple[list[int], list[int], list[int], list[int]]:
        writer = record_writer.RecordWriter(actor, "organizations", expected=4)
        first = writer.write_many([{"name": "Альфа"}, {"name": "Бета"}])
        other = record_writer.write_many(actor, "organizations", [{"name": "Чужая"}])
        second = writer.write_many([{"name": "Гамма"}, {"name": "Дельта"}])
        third = writer.write_many([{"name": "Эпсилон"}])  # more than expected
        return first, second, third, other

    first, second, third, other = scenario()
    assert second == [first[1] + 1, first[1] + 2]  # the rest of the reserved ids
    assert other[0] > second[1] and third[0] > other[0]  # never one of them
    names = dict(m.Organization.select(m.Organization.id, m.Organization.name).tuples())
    assert [names[i] for i in first + second + third + other] == [
        "Альфа", "Бета", "Гамма", "Дельта", "Эпсилон", "Чужая"]
    assert search_docs_count() == 6


def search_docs_count() -> int:
    return current().execute_sql("SELECT COUNT(*) FROM search_doc").fetchone()[0]
