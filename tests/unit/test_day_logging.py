"""A result is dated when it was logged (issue 15): a call planned for another day and
logged now moves to now, "last contact" is never in the future, and the day it was planned
for neither counts it nor plans the client again."""

from __future__ import annotations

import datetime as dt

from tui_crm.db import models as m
from tui_crm.services.core import events, records, users
from tui_crm.services.planning import planning

NOW = dt.datetime(2026, 11, 27, 10, 30)  # a Friday
TODAY = NOW.date()
TOMORROW = TODAY + dt.timedelta(days=1)


def lead(actor, name):
    return records.create(actor, "organizations", {"name": name, "source": "Website",
                                                   "owner": actor.user_id})


def test_logging_tomorrows_planned_calls_dates_them_today(db):
    admin = users.resolve_actor()
    users.add_user(admin, "anna", role="manager", full_name="Анна")
    anna = users.actor_for("anna")
    orgs = [lead(anna, f"Лид {i}") for i in range(3)]
    planned = planning.auto_plan(anna, TOMORROW, now=NOW)
    assert len(planned) == 3
    run = planning.block_run(anna, TOMORROW, "09:00", now=NOW)
    assert [i.event_id for i in run.items] == planned
    first, second = run.items[0], run.items[1]
    planning.log_in_block(anna, TOMORROW, "09:00", first, "no_answer", now=NOW)
    # The logged call left tomorrow's list; the next client took its place.
    run = planning.block_run(anna, TOMORROW, "09:00", now=NOW)
    assert run.current is not None and run.current.event_id == second.event_id
    planning.log_in_block(anna, TOMORROW, "09:00", second, "meeting_set",
                          next_when=NOW + dt.timedelta(days=3), now=NOW)
    for event_id in planned[:2]:
        assert m.Event.get_by_id(event_id).starts_at == NOW
    # The clients of the two logged calls (the plan orders leads created in one moment as
    # the database returns them: not always as created).
    called = {m.Event.get_by_id(e).organization_id for e in planned[:2]}
    assert len(called) == 2 and called <= {o.id for o in orgs}
    for org_id in called:
        last = m.Organization.get_by_id(org_id).last_contact_at
        assert last is not None and last <= NOW
    today_done = [i.event_id for b in planning.day_view(anna, TODAY, now=NOW).blocks
                  for i in b.items if i.status == "done"]
    assert set(planned[:2]) <= set(today_done)
    # Planning tomorrow again plans nobody who was just called.
    again = planning.auto_plan(anna, TOMORROW, now=NOW)
    again_orgs = {m.Event.get_by_id(e).organization_id for e in again}
    assert not again_orgs & called


def test_a_same_day_result_keeps_its_planned_time(db):
    admin = users.resolve_actor()
    o = lead(admin, "Альфа")
    e = records.create(admin, "events", {"event_type": "call", "organization": o.id,
                                         "starts_at": dt.datetime(2026, 11, 27, 9, 40),
                                         "assignee": admin.user_id})
    events.log_result(admin, e.id, "no_answer", now=NOW)
    assert m.Event.get_by_id(e.id).starts_at == dt.datetime(2026, 11, 27, 9, 40)


def test_a_done_event_typed_for_a_later_day_is_no_last_contact(db):
    admin = users.resolve_actor()
    o = lead(admin, "Бета")
    records.create(admin, "events", {"event_type": "call", "organization": o.id,
                                     "starts_at": dt.datetime(2026, 11, 20, 9, 0),
                                     "status": "done", "assignee": admin.user_id})
    records.create(admin, "events", {"event_type": "call", "organization": o.id,
                                     "starts_at": dt.datetime(2026, 12, 20, 9, 0),
                                     "status": "done", "assignee": admin.user_id})
    events.refresh_contact_dates(o.id, None, now=NOW)
    assert m.Organization.get_by_id(o.id).last_contact_at == dt.datetime(2026, 11, 20, 9, 0)
