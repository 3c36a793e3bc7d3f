"""Whom a call is with (issue 15): Today, Plan tomorrow, the call block's list, the export
and `tui-crm today` show the event's person with that person's own phone and e-mail, and
the decision maker apart when it is someone else — never one's name with another's number."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook

from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.services.core import records, users
from tui_crm.services.planning import planning

NOW = dt.datetime(2026, 11, 27, 8, 0)  # a Friday morning
TODAY = NOW.date()
WRIGHT_PHONE = "+7 913 111-11-11"
WILSON_PHONE = "+7 913 694-86-98"


def oak_farms(actor) -> dict[str, int]:
    """An organization with a decision maker and another contact, each with a phone."""
    org = records.create(actor, "organizations", {"name": "Oak Farms", "owner": actor.user_id, "source": "Website",
                                                  "phones": ["+7 383 200-00-00"]})
    wright = records.create(actor, "contacts", {
        "last_name": "Wright", "first_name": "Elizabeth", "organization": org.id,
        "is_decision_maker": True, "phones": [WRIGHT_PHONE],
        "emails": ["wright@oak.example"], "owner": actor.user_id})
    wilson = records.create(actor, "contacts", {
        "last_name": "Wilson", "first_name": "John", "organization": org.id,
        "phones": [WILSON_PHONE], "emails": ["wilson@oak.example"],
        "owner": actor.user_id})
    plain = records.create(actor, "organizations", {"name": "Birch Ltd", "owner": actor.user_id, "source": "Website",
                                                    "phones": ["+7 383 300-00-00"]})
    records.create(actor, "contacts", {"last_name": "Clerk", "first_name": "Anne",
                                       "organization": plain.id, "phones": ["+7 900 000-00-01"],
                                       "owner": actor.user_id})
    return {"org": org.id, "wright": wright.id, "wilson": wilson.id, "plain": plain.id}


def call(actor, org_id, when, contact_id=None):
    return records.create(actor, "events", {
        "event_type": "call", "starts_at": when, "organization": org_id,
        "contact": contact_id, "assignee": actor.user_id})


def test_today_pairs_the_events_person_with_their_own_phone(db):
    admin = users.resolve_actor()
    ids = oak_farms(admin)
    call(admin, ids["org"], dt.datetime(2026, 11, 27, 9, 0), ids["wilson"])
    call(admin, ids["org"], dt.datetime(2026, 11, 27, 9, 10))
    call(admin, ids["plain"], dt.datetime(2026, 11, 27, 9, 20))
    items = planning.day_view(admin, TODAY, now=NOW).blocks[0].items
    with_wilson, no_contact, plain = items
    assert (with_wilson.contact, with_wilson.phone, with_wilson.email) == (
        "Wilson John", WILSON_PHONE, "wilson@oak.example")
    assert with_wilson.decision_maker == "Wright Elizabeth"
    # No contact on the event: the decision maker is the person, with her own number.
    assert (no_contact.contact, no_contact.phone, no_contact.decision_maker) == (
        "Wright Elizabeth", WRIGHT_PHONE, "")
    assert no_contact.contact_id == ids["wright"]
    # An organization without a decision maker: nobody is named as one; its own phone.
    assert (plain.contact, plain.decision_maker, plain.phone) == ("", "", "+7 383 300-00-00")


def test_plan_candidates_and_planned_calls_carry_the_person_shown(db, tmp_path):
    admin = users.resolve_actor()
    ids = oak_farms(admin)
    records.update(admin, "organizations", ids["org"], {"status": "lead"})
    tomorrow = TODAY + dt.timedelta(days=1)
    found = {c.title: c for c in planning.candidates(admin, tomorrow, now=NOW)}
    oak = found["Oak Farms"]
    assert (oak.contact, oak.phone, oak.email, oak.decision_maker) == (
        "Wright Elizabeth", WRIGHT_PHONE, "wright@oak.example", "")
    assert found["Birch Ltd"].decision_maker == ""
    [event_id] = planning.plan(admin, tomorrow, [(oak, "09:00")])
    assert records.get(admin, "events", event_id).values["contact"] == ids["wright"]
    path = tmp_path / "plan.xlsx"
    planning.export_plan(admin, tomorrow, str(path))
    row = [c.value for c in load_workbook(path).active[2]]
    assert row[3:7] == ["Oak Farms", "Wright Elizabeth", None, WRIGHT_PHONE]


def test_cli_today_names_the_person_next_to_their_phone(tmp_path, capsys):
    path = str(tmp_path / "cli.sqlite3")
    open_database(path)
    admin = users.resolve_actor()
    ids = oak_farms(admin)
    day = dt.date.today()
    call(admin, ids["org"], dt.datetime.combine(day, dt.time(9, 0)), ids["wilson"])
    capsys.readouterr()
    assert main(["--db", path, "today"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "Oak Farms" in x)
    assert "Wilson John" in line and WILSON_PHONE in line
    assert "decision maker: Wright Elizabeth" in line
    assert WRIGHT_PHONE not in line
