"""The demo data generator: realistic, consistent, searchable and the same for a seed."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import fn

from tui_crm.db import models as m
from tui_crm.db import open_database
from tui_crm.i18n import get_language, set_language
from tui_crm.services.core import identity, records, search_docs, users
from tui_crm.services.core.records import ListQuery
from tui_crm.services.ops import demo
from tui_crm.services.search import search
from tui_crm.text.identity import validate_email, validate_inn
from tui_crm.text.names import normalize_text
from tui_crm.text.phones import format_phone, normalize_phone

TODAY = dt.date(2026, 3, 16)
SIZE = {"orgs": 300, "contacts": 600, "events": 3000}


@pytest.fixture
def english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TUI_CRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUI_CRM_CONFIG_DIR", str(tmp_path / "config"))
    saved = get_language()
    set_language("en")
    yield
    set_language(saved)


def _generate(path: Path, seed: int = 7, **size: int) -> tuple[dict[str, int], object]:
    db = open_database(path)
    counts = demo.generate(seed=seed, today=TODAY, **(size or SIZE))
    return counts, db


@pytest.fixture
def demo_db(english: None, tmp_path: Path) -> Iterator[tuple[dict[str, int], object]]:
    counts, db = _generate(tmp_path / "demo.sqlite3")
    yield counts, db
    db.close()


def _snapshot(path: Path) -> dict[str, list[tuple]]:
    """The generated records of a database file, without the users' own timestamps."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("organization", "contact", "contact_point", "event", "task", "deal",
                          "payment", "service_rendered", "note", "link", "tag_link")
        } | {"search": conn.execute(
            "SELECT rowid, kind, title, body FROM search_doc ORDER BY rowid").fetchall()}
    finally:
        conn.close()


def test_counts_match_the_tables(demo_db) -> None:
    counts, _db = demo_db
    assert counts["organizations"] == m.Organization.select().count() == 300
    assert counts["contacts"] == m.Contact.select().count() == 600
    assert counts["events"] == m.Event.select().count() == 3000
    assert counts["payments"] == m.Payment.select().count() == 300  # one per organization
    assert counts["services"] == m.ServiceRendered.select().count() == 150
    assert counts["deals"] == m.Deal.select().count() > 0
    assert counts["tasks"] == m.Task.select().count() > 0
    assert counts["notes"] == m.Note.select().count() > 0
    assert counts["links"] == m.Link.select().count() > 0
    assert counts["contact_points"] == m.ContactPoint.select().count()


def test_same_seed_same_data_other_seed_other_data(english: None, tmp_path: Path) -> None:
    _c, db = _generate(tmp_path / "a.sqlite3", seed=3, orgs=120, contacts=240, events=600)
    db.close()
    _c, db = _generate(tmp_path / "b.sqlite3", seed=3, orgs=120, contacts=240, events=600)
    db.close()
    _c, db = _generate(tmp_path / "c.sqlite3", seed=4, orgs=120, contacts=240, events=600)
    db.close()
    first, second = _snapshot(tmp_path / "a.sqlite3"), _snapshot(tmp_path / "b.sqlite3")
    assert first == second
    other = _snapshot(tmp_path / "c.sqlite3")
    assert other["organization"] != first["organization"]
    names = [sqlite3.connect(tmp_path / f"{n}.sqlite3").execute(
        "SELECT name FROM organization ORDER BY id").fetchall() for n in "ac"]
    assert names[0] != names[1]


def test_organizations_look_real(demo_db) -> None:
    orgs = list(m.Organization.select())
    names = [o.name for o in orgs]
    assert len(set(names)) > 200  # word lists combine into varied names
    assert any(n.startswith("ИП ") for n in names)
    assert any(o.legal_name.startswith("ООО «") for o in orgs)
    assert any(n.isascii() for n in names) and any(not n.isascii() for n in names)
    inns = [o.inn for o in orgs if o.inn]
    assert len(inns) > 200
    assert all(validate_inn(inn) == inn for inn in inns)
    assert len(set(inns)) == len(inns)
    assert all(o.owner_id is not None for o in orgs)
    assert all(o.source_id is not None for o in orgs)
    assert {o.status for o in orgs} == {"lead", "warm", "client", "lost"}
    assert {o.category for o in orgs if o.status == "client"} <= {"vip", "good", "regular",
                                                                  "difficult"}
    assert all(o.city and o.address and o.industry for o in orgs)
    assert all(o.website.startswith("https://") for o in orgs if o.website)


def test_phones_and_emails_are_valid_and_primary_is_first(demo_db) -> None:
    points = list(m.ContactPoint.select())
    phones = [p for p in points if p.kind == "phone"]
    assert phones and all(p.valid for p in phones)
    for p in phones:
        assert normalize_phone(p.value) == p.normalized
        assert format_phone(p.normalized) == p.value
    emails = [p for p in points if p.kind == "email"]
    assert emails and all(validate_email(p.value) for p in emails)
    for org in m.Organization.select():
        first = (m.ContactPoint.select().where((m.ContactPoint.organization == org.id)
                                               & (m.ContactPoint.kind == "phone"))
                 .order_by(m.ContactPoint.position, m.ContactPoint.id).first())
        assert first is not None and org.primary_phone == first.value


def test_contacts_have_russian_and_english_names_and_owners(demo_db) -> None:
    contacts = list(m.Contact.select())
    assert sum(c.first_name == "Иван" for c in contacts) > 10
    assert sum(c.last_name.startswith("Иванов") for c in contacts) > 10
    assert any(c.last_name.isascii() for c in contacts)
    assert any(c.middle_name.endswith(("вич", "вна", "ична")) for c in contacts)
    assert any(c.is_decision_maker for c in contacts)
    assert any(c.birthday for c in contacts)
    owners = {o.id: o.owner_id for o in m.Organization.select()}
    for c in contacts:
        assert c.owner_id is not None
        if c.organization_id:
            assert c.owner_id == owners[c.organization_id]
    # Every organization has at least one person.
    assert len({c.organization_id for c in contacts if c.organization_id}) == 300


def test_users_are_managers_a_head_and_the_os_account_as_admin(demo_db) -> None:
    roles = {u.login: u.role for u in m.User.select()}
    assert roles[identity.os_login()] == "admin"
    assert list(roles.values()).count("head") == 1
    assert list(roles.values()).count("manager") >= 3
    owners = {o.owner_id for o in m.Organization.select()}
    assert len(owners) >= 4


def test_events_past_done_with_results_and_future_planned(demo_db) -> None:
    now = dt.datetime.combine(TODAY, dt.time(0, 0))
    events = list(m.Event.select())
    assert all(e.assignee_id is not None for e in events)
    assert all(e.organization_id or e.contact_id for e in events)
    results = {r.id: r.event_type_id for r in m.EventResult.select()}
    for e in events:
        if e.starts_at >= now + dt.timedelta(days=1):
            assert e.status == "planned"
        if e.status == "done":
            assert e.starts_at < now
        if e.result_id:
            assert results[e.result_id] == e.event_type_id
        assert e.ends_at > e.starts_at
    done = [e for e in events if e.status == "done"]
    assert done and sum(e.result_id is not None for e in done) == len(done)
    assert any(e.next_step for e in done)
    assert sum(e.status == "planned" for e in events) > 500
    assert any(e.starts_at.date() == TODAY for e in events)  # something on Today
    assert len({e.event_type_id for e in events}) >= 5
    oldest = min(e.starts_at for e in events)
    assert oldest.date() >= TODAY - dt.timedelta(days=12 * 31)


def test_last_and_next_contact_come_from_the_events(demo_db) -> None:
    for org in m.Organization.select().limit(60):
        done = (m.Event.select(fn.MAX(m.Event.starts_at))
                .where((m.Event.organization == org.id) & (m.Event.status == "done")).scalar())
        planned = (m.Event.select(fn.MIN(m.Event.starts_at))
                   .where((m.Event.organization == org.id) & (m.Event.status == "planned"))
                   .scalar())
        assert org.last_contact_at == done
        assert org.next_contact_at == planned
    assert m.Organization.select().where(m.Organization.next_contact_at.is_null(False)).count()


def test_money_over_the_past_months(demo_db) -> None:
    payments = list(m.Payment.select())
    assert all(p.amount > 0 for p in payments)
    assert all(TODAY - dt.timedelta(days=12 * 31) <= p.date <= TODAY for p in payments)
    assert any(p.deal_id for p in payments)
    won = {d.id for d in m.Deal.select().where(m.Deal.stage == "won")}
    assert {p.deal_id for p in payments if p.deal_id} <= won
    assert {d.stage for d in m.Deal.select()} >= {"new", "proposal", "won", "lost"}
    assert all(d.lost_reason for d in m.Deal.select().where(m.Deal.stage == "lost"))
    services = list(m.ServiceRendered.select())
    assert services and all(s.units > 0 and s.amount > 0 for s in services)


def test_foreign_keys_hold_and_checks_are_back_on(demo_db) -> None:
    _counts, db = demo_db
    assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    config = dict(db.execute_sql("SELECT k, v FROM search_doc_config").fetchall())
    assert config.get("automerge", 4) == 4


def test_search_finds_ivan_and_the_index_equals_a_rebuild(demo_db) -> None:
    _counts, db = demo_db
    actor = users.actor_for(identity.os_login())
    hits = search.quick_search(actor, "иван", limit=50)
    assert hits and hits[0].section == "contacts"
    assert any("Иван" in h.title for h in hits)
    phone = m.ContactPoint.select().where(m.ContactPoint.kind == "phone").first()
    digits = phone.normalized[2:]  # national number, no +7
    found = search.quick_search(actor, digits)
    assert any(h.id in (phone.organization_id, phone.contact_id) for h in found)
    written = db.execute_sql("SELECT rowid, kind, title, body FROM search_doc").fetchall()
    with db.atomic():
        search_docs.rebuild()
    rebuilt = db.execute_sql("SELECT rowid, kind, title, body FROM search_doc").fetchall()

    def as_sets(rows: list[tuple]) -> dict[int, tuple]:
        # Word order of tags may differ; the words themselves may not.
        return {r[0]: (r[1], r[2], sorted(r[3].split())) for r in rows}

    assert as_sets(written) == as_sets(rebuilt)
    assert all(normalize_text(r[3]) == r[3] for r in written[:100])


def test_records_service_reads_the_generated_rows(demo_db) -> None:
    actor = users.actor_for(identity.os_login())
    page = records.list_records(actor, "contacts", ListQuery(text="иван", limit=5))
    assert page.total > 10
    view = records.get(actor, "organizations", page.rows[0].values["organization"] or 1)
    assert view.points_of("phone")
    manager = m.User.get(m.User.login == "ivanov")
    own = records.list_records(users.actor_for("ivanov"), "organizations", ListQuery())
    assert 0 < own.total < 300
    assert own.total == m.Organization.select().where(m.Organization.owner == manager.id).count()


def test_generating_twice_appends_without_clashes(english: None, tmp_path: Path) -> None:
    path = tmp_path / "twice.sqlite3"
    db = open_database(path)
    demo.generate(orgs=50, contacts=80, events=200, seed=1, today=TODAY)
    counts = demo.generate(orgs=50, contacts=80, events=200, seed=2, today=TODAY)
    assert counts["users"] == 0  # the demo users exist already
    assert m.Organization.select().count() == 100
    assert m.Contact.select().count() == 160
    assert m.Group.select().where(m.Group.name == "Регионы").count() == 1
    docs = db.execute_sql("SELECT COUNT(*) FROM search_doc WHERE kind = 'organizations'")
    assert docs.fetchone()[0] == 100
    db.close()


def test_an_empty_demo_still_makes_users(english: None, tmp_path: Path) -> None:
    db = open_database(tmp_path / "empty.sqlite3")
    counts = demo.generate(orgs=0, contacts=0, events=0, today=TODAY)
    assert counts["organizations"] == 0 and counts["events"] == 0
    assert m.User.select().count() >= 6
    db.close()


def _day_of_the_demo_manager() -> tuple[int, dict[str, int], int]:
    from tui_crm.services.core import users
    from tui_crm.services.planning import followups, planning

    me = users.resolve_actor()
    now = dt.datetime.combine(TODAY, dt.time(8, 30))
    view = planning.day_view(me, TODAY, now=now)
    items = (sum(len(b.items) for b in view.blocks) + len(view.outside) + len(view.overdue)
             + len(view.tasks) + len(view.birthdays))
    return items, followups.counts(me, user_id=me.user_id, now=now), len(view.overdue)


def test_the_demo_managers_day_looks_real(demo_db) -> None:
    """Issue 15: a Today of 10–25 items with something overdue, and a follow-up queue with
    overdue next steps and warm clients both with and without one."""
    items, queue, overdue = _day_of_the_demo_manager()
    assert 10 <= items <= 25, items
    assert overdue >= 1
    assert queue["overdue"] >= 1 and queue["no_next_step"] >= 1
    assert queue["total"] - queue["no_next_step"] >= 1


def test_a_big_demo_keeps_a_human_day(english: None, tmp_path: Path) -> None:
    _counts, db = _generate(tmp_path / "big.sqlite3", orgs=300, contacts=300, events=15000)
    try:
        items, _queue, _overdue = _day_of_the_demo_manager()
        assert 10 <= items <= 25, items
    finally:
        db.close()
