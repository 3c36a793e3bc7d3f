"""Daily planning services with a fixed clock: blocks, overdue, follow-ups, VIP rule,
recurrence, call-block runs, plan tomorrow, reminders."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from openpyxl import load_workbook

from tui_crm.errors import ValidationError
from tui_crm.services.core import events, records, users
from tui_crm.services.planning import followups, planning, reminders

NOW = dt.datetime(2026, 11, 27, 10, 30)  # a Friday
TODAY = NOW.date()


@pytest.fixture
def env(db):
    admin = users.resolve_actor()
    users.add_user(admin, "anna", role="manager", full_name="Анна Петрова")
    users.add_user(admin, "boris", role="manager", full_name="Борис Сидоров")
    return admin, users.actor_for("anna"), users.actor_for("boris")


def org(actor, name, **extra):
    data = {"name": name, "source": "Website", "owner": actor.user_id}
    data.update(extra)
    return records.create(actor, "organizations", data)


def event(actor, when, org_id=None, kind="call", **extra):
    data = {"event_type": kind, "starts_at": when, "organization": org_id,
            "assignee": actor.user_id}
    data.update(extra)
    return records.create(actor, "events", data)


def test_default_schedule_has_the_four_blocks(env):
    _admin, anna, _boris = env
    blocks = planning.schedule_for(anna.user_id, TODAY)
    assert [(b.key, b.end.strftime("%H:%M"), b.kind) for b in blocks] == [
        ("09:00", "11:00", "calls"), ("11:00", "13:00", "meetings"),
        ("14:00", "16:00", "calls"), ("16:00", "17:30", "paperwork")]


def test_personal_and_weekday_templates_win(env):
    admin, anna, boris = env
    planning.set_schedule(anna, [{"start": "08:00", "end": "10:00", "kind": "calls"}],
                          user_id=anna.user_id)
    planning.set_schedule(anna, [{"start": "12:00", "end": "13:00", "kind": "travel"}],
                          user_id=anna.user_id, weekday=TODAY.weekday())
    assert [b.key for b in planning.schedule_for(anna.user_id, TODAY)] == ["12:00"]
    monday = TODAY + dt.timedelta(days=3)
    assert [b.key for b in planning.schedule_for(anna.user_id, monday)] == ["08:00"]
    assert planning.schedule_for(boris.user_id, TODAY)[0].key == "09:00"


def test_schedule_rejects_overlaps_and_bad_times(env):
    _admin, anna, _boris = env
    with pytest.raises(ValidationError):
        planning.set_schedule(anna, [{"start": "09:00", "end": "11:00"},
                                     {"start": "10:00", "end": "12:00"}], user_id=anna.user_id)
    with pytest.raises(ValidationError):
        planning.set_schedule(anna, [{"start": "25:00", "end": "26:00"}], user_id=anna.user_id)
    with pytest.raises(ValidationError):
        planning.set_schedule(anna, [{"start": "09:00", "end": "10:00"}])  # everyone's: admin only
    assert planning.schedule_for(anna.user_id, TODAY)[0].key == "09:00"


def test_day_view_assigns_events_to_blocks_and_lists_overdue_first(env):
    _admin, anna, boris = env
    o = org(anna, "Ромашка", phones=["+7 916 123-45-67"])
    records.create(anna, "contacts", {"last_name": "Иванов", "first_name": "Иван",
                                      "organization": o.id, "is_decision_maker": "yes",
                                      "phones": ["8 903 555 66 77"]})
    in_calls = event(anna, "2026-11-27 09:40", o.id)
    in_meetings = event(anna, "2026-11-27 11:15", o.id, kind="meeting")
    lunch = event(anna, "2026-11-27 13:20", o.id)
    old = event(anna, "2026-11-20 10:00", o.id)
    older = event(anna, "2026-11-18 10:00", o.id)
    event(boris, "2026-11-27 09:10", org(boris, "Чужая").id)  # another manager's
    view = planning.day_view(anna, TODAY, now=NOW)
    by_block = {b.block.key: [i.event_id for i in b.items] for b in view.blocks}
    assert by_block == {"09:00": [in_calls.id], "11:00": [in_meetings.id], "14:00": [],
                        "16:00": []}
    assert [i.event_id for i in view.outside] == [lunch.id]
    assert [i.event_id for i in view.overdue] == [older.id, old.id]
    assert [b.is_now for b in view.blocks] == [True, False, False, False]
    item = view.blocks[0].items[0]
    # No contact on the event: the call is with the decision maker, on his own phone.
    assert (item.organization, item.contact, item.decision_maker, item.phone) == (
        "Ромашка", "Иванов Иван", "", "+7 903 555-66-77")
    assert item.source == "Website"


def test_log_result_requires_next_step_for_warm_and_updates_client(env):
    _admin, anna, _boris = env
    o = org(anna, "Ромашка")
    call = event(anna, "2026-11-27 09:40", o.id)
    with pytest.raises(ValidationError) as err:
        events.log_result(anna, call.id, "interested", now=NOW)
    assert "next" in err.value.errors
    assert records.get(anna, "events", call.id).values["status"] == "planned"
    outcome = events.log_result(anna, call.id, "interested", next_when="+3d",
                                next_type="meeting", now=NOW)
    assert outcome.warm and outcome.reached_decision_maker
    assert outcome.next_event.values["starts_at"] == dt.datetime(2026, 11, 30, 9, 0)
    card = records.get(anna, "organizations", o.id)
    assert card.values["status"] == "warm"
    assert card.values["last_contact_at"] == dt.datetime(2026, 11, 27, 9, 40)
    assert card.values["next_contact_at"] == dt.datetime(2026, 11, 30, 9, 0)
    # A cold result needs no next step.
    other = event(anna, "2026-11-27 09:50", org(anna, "Лютик").id)
    assert events.log_result(anna, other.id, "no_answer", now=NOW).next_event is None
    with pytest.raises(ValidationError):
        events.log_result(anna, other.id, "no_such_result", now=NOW)


def test_a_next_step_of_an_event_without_a_type_needs_its_type(env):
    """An event whose type is gone (the key is SET NULL when a type row is deleted): its
    next step cannot take the type from it (this used to fail with an AttributeError
    instead of a message)."""
    from tui_crm.db import models as m

    _admin, anna, _boris = env
    o = org(anna, "Ромашка")
    untyped = event(anna, "2026-11-27 09:40", o.id)
    m.Event.update(event_type=None).where(m.Event.id == untyped.id).execute()
    with pytest.raises(ValidationError) as err:
        events.log_result(anna, untyped.id, "interested", next_when="+3d", now=NOW)
    assert "next_type" in err.value.errors
    assert records.get(anna, "events", untyped.id).values["status"] == "planned"
    # With the next step's type given, the event itself still needs one: a message too.
    with pytest.raises(ValidationError) as err:
        events.log_result(anna, untyped.id, "interested", next_when="+3d",
                          next_type="meeting", now=NOW)
    assert "event_type" in err.value.errors
    assert records.get(anna, "events", untyped.id).values["status"] == "planned"


def test_reschedule_keeps_reason_in_history(env):
    _admin, anna, _boris = env
    o = org(anna, "Ромашка")
    call = event(anna, "2026-11-27 09:40", o.id)
    with pytest.raises(ValidationError):
        events.reschedule(anna, call.id, "tomorrow 10:00", "  ", now=NOW)
    events.reschedule(anna, call.id, "tomorrow 10:00", "client asked", now=NOW)
    assert records.get(anna, "events", call.id).values["starts_at"] == dt.datetime(
        2026, 11, 28, 10, 0)
    from tui_crm.services.core import audit

    entries = audit.history("organizations", o.id, action="reschedule")
    assert entries and "client asked" in entries[0].details


def test_followup_queue_order_flags_and_vip_rule(env):
    _admin, anna, _boris = env
    org(anna, "Без шага", status="warm")
    overdue = org(anna, "Просрочен", status="warm")
    event(anna, "2026-11-25 10:00", overdue.id)
    today = org(anna, "Сегодня", status="warm")
    event(anna, "2026-11-27 15:00", today.id)
    later = org(anna, "Потом")
    records.create(anna, "deals", {"title": "КП", "organization": later.id,
                                   "stage": "proposal", "amount": "1000"})
    event(anna, "2026-12-03 10:00", later.id)
    org(anna, "VIP молчит", category="vip", status="client")
    busy_vip = org(anna, "VIP в работе", category="vip", status="client")
    done = event(anna, "2026-11-20 10:00", busy_vip.id)
    events.log_result(anna, done.id, "reached_dm", now=dt.datetime(2026, 11, 20, 10, 5))
    org(anna, "Просто лид")
    met = org(anna, "Была встреча", status="lead")
    meeting = event(anna, "2026-11-10 12:00", met.id, kind="meeting")
    events.log_result(anna, meeting.id, "held_no_result", now=dt.datetime(2026, 11, 10, 13, 0))
    queue = followups.queue(anna, now=NOW)
    titles = [f.title for f in queue]
    # No next step first (never contacted first, then the longest silence), then overdue,
    # today and later.
    assert titles[:3] == ["Без шага", "VIP молчит", "Была встреча"]
    assert all(f.no_next_step for f in queue[:3])
    assert titles[3:] == ["Просрочен", "Сегодня", "Потом"]
    assert queue[3].overdue and not queue[4].overdue
    assert "VIP в работе" not in titles and "Просто лид" not in titles
    reasons = {f.title: f.reason for f in queue}
    assert reasons["VIP молчит"] == "vip" and reasons["Потом"] == "deal"
    assert reasons["Была встреча"] == "meeting"
    # A page of the queue is its head, and the heading's counts cover the whole queue.
    for n in range(1, 8):  # pages ending among those without a step, at its end, after
        assert [f.title for f in followups.queue(anna, now=NOW, limit=n)] == titles[:n]
    assert followups.counts(anna, now=NOW) == {"total": 6, "no_next_step": 3, "overdue": 1}


def test_followups_of_a_manager_are_their_own(env):
    admin, anna, boris = env
    org(anna, "Анин", status="warm")
    org(boris, "Борин", status="warm")
    assert [f.title for f in followups.queue(anna, now=NOW)] == ["Анин"]
    assert {f.title for f in followups.queue(admin, now=NOW)} == {"Анин", "Борин"}


def test_snooze_moves_next_step_with_reason(env):
    _admin, anna, _boris = env
    o = org(anna, "Ромашка", status="warm")
    with pytest.raises(ValidationError):
        followups.snooze(anna, "organizations", o.id, "+2d", "", now=NOW)
    followups.snooze(anna, "organizations", o.id, "+2d", "в отпуске", now=NOW)
    item = followups.queue(anna, now=NOW)[0]
    assert item.next_contact_at == dt.datetime(2026, 11, 29, 9, 0) and not item.no_next_step
    followups.snooze(anna, "organizations", o.id, "next week", "перенёс", now=NOW)
    assert followups.queue(anna, now=NOW)[0].next_contact_at == dt.datetime(2026, 11, 30, 9, 0)


def test_recurrence_across_dst_and_month_ends():
    # Naive wall-clock times: a 10:00 call stays at 10:00 across the DST change in Europe.
    weekly = events.expand("FREQ=WEEKLY;BYDAY=MO", dt.datetime(2026, 3, 23, 10, 0),
                           dt.datetime(2026, 3, 23), dt.datetime(2026, 4, 7))
    assert weekly == [dt.datetime(2026, 3, 23, 10), dt.datetime(2026, 3, 30, 10),
                      dt.datetime(2026, 4, 6, 10)]
    month_end = events.expand("FREQ=MONTHLY;BYMONTHDAY=-1", dt.datetime(2026, 1, 31, 9, 0),
                              dt.datetime(2026, 1, 1), dt.datetime(2026, 5, 1))
    assert [d.date() for d in month_end] == [dt.date(2026, 1, 31), dt.date(2026, 2, 28),
                                             dt.date(2026, 3, 31), dt.date(2026, 4, 30)]
    yearly = events.expand("FREQ=YEARLY", dt.datetime(2024, 2, 29, 9, 0),
                           dt.datetime(2024, 1, 1), dt.datetime(2029, 1, 1))
    assert [d.year for d in yearly] == [2024, 2028]
    # A stored rule that cannot be run repeats nothing: the event keeps its own time.
    assert events.expand("NOT A RULE", dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1),
                         dt.datetime(2026, 2, 1)) == [dt.datetime(2026, 1, 1)]
    assert events.expand("NOT A RULE", dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2),
                         dt.datetime(2026, 2, 1)) == []


def test_completing_one_occurrence_leaves_the_series(env):
    _admin, anna, _boris = env
    o = org(anna, "VIP", category="vip")
    series = event(anna, "2026-11-02 10:00", o.id, rrule="FREQ=WEEKLY;BYDAY=MO")
    monday = dt.date(2026, 11, 30)
    view = planning.day_view(anna, monday, now=NOW)
    item = view.blocks[0].items[0]
    assert item.virtual and item.event_id == series.id
    stored = events.materialize(anna, series.id, item.starts_at)
    events.log_result(anna, stored, "reached_dm", now=dt.datetime(2026, 11, 30, 10, 5))
    after = planning.day_view(anna, monday, now=NOW).blocks[0].items
    assert [(i.event_id, i.status, i.virtual) for i in after] == [(stored, "done", False)]
    next_week = planning.day_view(anna, dt.date(2026, 12, 7), now=NOW).blocks[0].items
    assert [i.virtual for i in next_week] == [True]
    assert records.get(anna, "events", series.id).values["status"] == "planned"
    with pytest.raises(ValidationError):
        events.materialize(anna, series.id, dt.datetime(2026, 12, 1, 10, 0))  # a Tuesday


def test_plan_tomorrow_candidates_plan_and_export(env, tmp_path):
    _admin, anna, _boris = env
    warm = org(anna, "Тёплый", status="warm")
    org(anna, "Новый лид")
    vip = org(anna, "Вип", category="vip", status="client")
    records.create(anna, "contacts", {"last_name": "Петров", "first_name": "Пётр",
                                      "birthday": "1990-11-28", "owner": anna.user_id})
    tomorrow = TODAY + dt.timedelta(days=1)
    found = planning.candidates(anna, tomorrow, now=NOW)
    reasons = {c.title: c.reason for c in found}
    assert reasons == {"Тёплый": "followup", "Вип": "vip", "Петров Пётр": "birthday",
                       "Новый лид": "new_lead"}
    ids = planning.plan(anna, tomorrow, [(found[0], "09:00"), (found[1], "09:00")])
    starts = [records.get(anna, "events", i).values["starts_at"] for i in ids]
    assert starts == [dt.datetime(2026, 11, 28, 9, 0), dt.datetime(2026, 11, 28, 9, 10)]
    left = {c.title for c in planning.candidates(anna, tomorrow, now=NOW)}
    assert found[0].title not in left and found[1].title not in left
    with pytest.raises(ValidationError):
        planning.plan(anna, tomorrow, [(found[2], "07:00")])
    path = tmp_path / "journal.xlsx"
    assert planning.export_plan(anna, tomorrow, str(path)) == 2
    sheet = load_workbook(path).active
    assert sheet.cell(2, 4).value in ("Тёплый", "Вип")
    assert [sheet.cell(1, c).value for c in (5, 6, 7)] == ["Contact", "Decision maker", "Phone"]
    assert warm.id and vip.id


def test_auto_plan_fills_call_blocks_in_order(env):
    _admin, anna, _boris = env
    for i in range(15):
        org(anna, f"Лид {i:02d}")
    monday = dt.date(2026, 11, 30)
    created = planning.auto_plan(anna, monday, now=NOW)
    assert len(created) == 15
    view = planning.day_view(anna, monday, now=NOW)
    assert len(view.blocks[0].items) == 12 and len(view.blocks[2].items) == 3


def test_call_block_run_counts_and_resumes(env):
    _admin, anna, _boris = env
    orgs = [org(anna, f"Клиент {i}") for i in range(3)]
    for i, o in enumerate(orgs):
        event(anna, dt.datetime(2026, 11, 27, 14, 10 * i), o.id)
    run = planning.block_run(anna, TODAY, "14:00", now=NOW)
    assert (len(run.items), run.position, run.calls_made, run.minutes_left) == (3, 0, 0, 120)
    planning.log_in_block(anna, TODAY, "14:00", run.current, "meeting_set",
                          next_when="tomorrow 11:00", next_type="meeting", now=NOW)
    run = planning.block_run(anna, TODAY, "14:00", now=dt.datetime(2026, 11, 27, 14, 30))
    assert (run.position, run.calls_made, run.decision_makers, run.meetings_set,
            run.minutes_left) == (1, 1, 1, 1, 90)
    # Leaving and coming back resumes at the second client.
    assert run.current.organization == "Клиент 1"
    planning.log_in_block(anna, TODAY, "14:00", run.current, "no_answer", now=NOW)
    run = planning.block_run(anna, TODAY, "14:00", now=NOW)
    assert (run.position, run.calls_made, run.decision_makers) == (2, 2, 1)


def test_reminders_fire_for_assignee_only_and_never_twice(env):
    _admin, anna, boris = env
    o = org(anna, "Ромашка")
    event(anna, "2026-11-27 11:00", o.id, reminder_minutes="15")
    at = dt.datetime(2026, 11, 27, 10, 50)
    assert reminders.pending(boris, now=at) == []
    assert reminders.pending(anna, now=dt.datetime(2026, 11, 27, 10, 40)) == []
    # Two sessions of the same user race for the same reminder: exactly one wins.
    results: list[int] = []

    def session() -> None:
        results.append(len(reminders.claim_due(users.actor_for("anna"), now=at)))

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert reminders.claim_due(anna, now=at) == []


def test_snooze_and_dismiss_reminders(env):
    _admin, anna, _boris = env
    event(anna, "2026-11-27 11:00", org(anna, "Ромашка").id, reminder_minutes="15")
    at = dt.datetime(2026, 11, 27, 10, 50)
    [shown] = reminders.claim_due(anna, now=at)
    reminders.snooze(anna, shown.key, "5m", now=at)
    assert reminders.claim_due(anna, now=at + dt.timedelta(minutes=4)) == []
    again = reminders.claim_due(anna, now=at + dt.timedelta(minutes=5))
    assert [r.key for r in again] == [shown.key]
    reminders.dismiss(anna, shown.key)
    assert reminders.claim_due(anna, now=at + dt.timedelta(hours=2)) == []
    with pytest.raises(ValidationError):
        reminders.snooze(anna, shown.key, "forever", now=at)


def test_missed_reminders_show_at_startup_and_birthdays(env):
    _admin, anna, _boris = env
    event(anna, "2026-11-27 08:00", org(anna, "Ромашка").id, reminder_minutes="30")
    records.create(anna, "contacts", {"last_name": "Петров", "first_name": "Пётр",
                                      "birthday": "1985-11-28", "owner": anna.user_id})
    shown = reminders.claim_due(anna, now=NOW, session_started=NOW)
    assert [r.missed for r in shown] == [True, True]
    titles = " | ".join(r.title for r in shown)
    assert "08:00" in titles and "Петров Пётр" in titles and "tomorrow" in titles


def test_followup_membership_follows_every_change_of_meetings_and_deals(env, db):
    """The queue reads counts kept on the organization's row by triggers: each write path —
    held, moved, deleted, restored, a deal's stage, a raw insert — moves a client in or out."""
    _admin, anna, _boris = env
    a, b = org(anna, "Альфа"), org(anna, "Бета")

    def titles() -> set[str]:
        return {f.title for f in followups.queue(anna, now=NOW)}

    meeting = event(anna, "2026-11-10 12:00", a.id, kind="meeting")
    assert titles() == set()  # planned, not held
    events.log_result(anna, meeting.id, "held_no_result", now=dt.datetime(2026, 11, 10, 13, 0))
    assert titles() == {"Альфа"}
    records.update(anna, "events", meeting.id, {"organization": b.id})
    assert titles() == {"Бета"}
    records.delete(anna, "events", meeting.id)
    assert titles() == set()
    records.restore(anna, "events", meeting.id)
    assert titles() == {"Бета"}
    records.update(anna, "organizations", b.id, {"status": "client"})  # the meeting sold
    assert titles() == set()

    deal = records.create(anna, "deals", {"title": "КП", "organization": a.id,
                                          "stage": "proposal", "amount": "1000"})
    assert titles() == {"Альфа"}
    records.update(anna, "deals", deal.id, {"stage": "won"})
    assert titles() == set()
    records.update(anna, "deals", deal.id, {"stage": "invoice"})
    assert titles() == {"Альфа"}
    records.delete(anna, "deals", deal.id)
    assert titles() == set()

    # A row written past the services (a bulk load) counts as well.
    param = "%s" if db.param == "%s" else "?"
    db.execute_sql(f"INSERT INTO deal (title, organization_id, stage, amount, lost_reason,"
                   f" version, created_at, updated_at) VALUES ('raw', {param}, 'negotiation',"
                   f" 5, '', 1, {param}, {param})", (b.id, NOW, NOW))
    assert titles() == {"Бета"}
    assert followups.counts(anna, now=NOW)["total"] == 1
