"""A manager's day, scripted (issue 15), in the real app on a real SQLite file with the
clock fixed at 09:00 today: Today in the morning → the call block of ten calls with results
and next steps → a follow-up snoozed → an unplanned call from a card → tomorrow planned and
exported → the head of sales' activity report for the day counts exactly those calls."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from textual.widgets import Input, OptionList

from tests.ui.conftest import settle
from tui_crm.db import models as m
from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.services.analytics.reports import activity
from tui_crm.services.core import records, users
from tui_crm.services.planning import planning
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.call_block import CallBlockScreen
from tui_crm.ui.screens.followups import FollowupsPane
from tui_crm.ui.screens.log_result import LogResultModal, MoveModal
from tui_crm.ui.screens.plan_tomorrow import PlanTomorrowScreen
from tui_crm.ui.screens.today import TodayPane

TODAY = dt.date.today()
NOW = dt.datetime.combine(TODAY, dt.time(9, 0))


def the_base(path: str) -> dict[str, list[int]]:
    open_database(path)
    me = users.resolve_actor()
    users.add_user(me, "head", role="head", full_name="Head of Sales")
    calls = []
    for i in range(10):
        org = records.create(me, "organizations", {"name": f"Клиент {i:02d}", "source": "Website",
                                                   "owner": me.user_id})
        records.create(me, "contacts", {"last_name": f"Лицо{i:02d}", "first_name": "Иван",
                                        "organization": org.id, "is_decision_maker": True,
                                        "phones": [f"+7 913 000-00-{i:02d}"]})
        calls.append((org.id, dt.datetime.combine(TODAY, dt.time(9, 0)) + dt.timedelta(
            minutes=10 * i)))
    event_ids = [records.create(me, "events", {
        "event_type": "call", "organization": org_id, "starts_at": when,
        "assignee": me.user_id}).id for org_id, when in calls]
    warm = records.create(me, "organizations", {"name": "Тёплая Роща", "status": "warm",
                                                "source": "Website", "owner": me.user_id})
    walk_in = records.create(me, "organizations", {"name": "Аааа Внеплановая", "source": "Website",
                                                   "owner": me.user_id, "status": "client"})
    for i in range(3):  # leads for tomorrow's plan
        records.create(me, "organizations", {"name": f"Лид {i}", "source": "Website",
                                             "owner": me.user_id})
    database_proxy.obj.close()
    return {"events": event_ids, "warm": [warm.id], "walk_in": [walk_in.id]}


async def test_a_day_in_the_life(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = str(tmp_path / "day.sqlite3")
    ids = the_base(path)
    app = build_app(path, section="today")
    app.clock = lambda: NOW  # the app's clock (log_result.now_of)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        main = app.main_screen
        today = main.query_one(TodayPane)
        # Morning: the ten calls in the 09:00 block.
        assert [len(b.items) for b in today.view.blocks][0] == 10
        await pilot.press("b")
        await settle(pilot)
        block = app.screen
        assert isinstance(block, CallBlockScreen)
        for i in range(10):
            assert block.run.current.event_id == ids["events"][i]
            if i % 2:
                await pilot.press("4")  # interested ★: next step offered as +1d
                await pilot.pause()
                assert isinstance(app.screen, LogResultModal)
                await pilot.press("enter")
            else:
                await pilot.press("3")  # talked to the decision maker
            await settle(pilot, rounds=1)
        assert block.run.finished and block.run.calls_made == 10
        await pilot.press("escape")
        await settle(pilot)
        # Follow-ups: snooze the warm client with a reason.
        main.show_section("followups")
        await settle(pilot)
        queue = main.query_one(FollowupsPane)
        listing = queue.query_one(OptionList)
        listing.highlighted = next(i for i, f in enumerate(queue.items)
                                   if f.id == ids["warm"][0])
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, MoveModal)
        app.screen.query_one("#when").set_text("+3d")
        app.screen.query_one("#reason", Input).value = "в отъезде"
        await pilot.press("enter")
        await settle(pilot)
        # An unplanned call from a card: l, the result, save.
        main.show_section("organizations")
        await settle(pilot)
        main.table.focus()
        assert main.table.current_id == ids["walk_in"][0]  # first by name
        await pilot.press("l", "3", "ctrl+s")
        await settle(pilot)
        # Plan tomorrow from Today and export it.
        main.show_section("today")
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        plan = app.screen
        assert isinstance(plan, PlanTomorrowScreen)
        await pilot.press("a", "ctrl+s")
        await settle(pilot)
        await pilot.press("ctrl+e", "enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
    tomorrow = TODAY + dt.timedelta(days=1)
    open_database(path)
    me = users.resolve_actor()
    sheet = load_workbook(tmp_path / f"plan-{tomorrow.isoformat()}.xlsx").active
    planned = planning.day_view(me, tomorrow, now=NOW)
    rows = sum(len(b.items) for b in planned.blocks)
    assert sheet.max_row - 1 == rows and rows >= 3 + 5  # the leads and the five next steps
    # The head of sales' activity report for the day: exactly the eleven calls.
    head = users.actor_for("head")
    report = activity.activity(head, TODAY, TODAY)
    mine = [r for r in report.rows if r["_user_id"] == me.user_id]
    assert len(mine) == 1
    assert mine[0]["cold_calls"] + mine[0]["repeat_calls"] == 11
    assert mine[0]["decision_makers"] == 11  # 3 and 4 both reach the decision maker
    done_today = {e.id for e in m.Event.select().where(
        (m.Event.status == "done") & (m.Event.starts_at >= NOW.replace(hour=0))
        & (m.Event.starts_at < NOW.replace(hour=0) + dt.timedelta(days=1)))}
    assert set(ids["events"]) <= done_today and len(done_today) == 11
