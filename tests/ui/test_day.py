"""A manager's day in the UI (issue 15), driven by the pilot on a real SQLite file with a
fixed clock: whom a call is with, the call block on today only, Plan tomorrow's picks."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList

from tests.unit.test_day_people import WILSON_PHONE, WRIGHT_PHONE, call, oak_farms
from tui_crm.db import open_database
from tui_crm.services.core import users
from tui_crm.ui.screens.today import TodayPane

NOW = dt.datetime(2026, 11, 27, 8, 30)  # a Friday morning, before the first block
TODAY = NOW.date()


class DayApp(App):
    """A host for the Today pane with a fixed clock."""

    def __init__(self, actor) -> None:
        super().__init__()
        self.actor = actor
        self.opened: list[tuple[str, int]] = []

    def clock(self) -> dt.datetime:
        return NOW

    def open_record(self, kind: str, record_id: int) -> None:
        self.opened.append((kind, record_id))

    def compose(self) -> ComposeResult:
        yield TodayPane(self.actor)


@pytest.fixture
def admin(tmp_path):
    open_database(tmp_path / "ui-day.sqlite3")
    return users.resolve_actor()


def option_texts(app: App) -> list[str]:
    listing = app.query_one("#day-list", OptionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


async def test_today_shows_the_person_with_their_own_phone(admin):
    ids = oak_farms(admin)
    call(admin, ids["org"], dt.datetime(2026, 11, 27, 9, 0), ids["wilson"])
    app = DayApp(admin)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        line = next(t for t in option_texts(app) if "Oak Farms" in t)
        assert "Wilson John" in line and WILSON_PHONE in line
        assert "decision maker: Wright Elizabeth" in line
        assert WRIGHT_PHONE not in line


async def test_another_days_call_block_asks_first_and_logs_today(admin):
    from tui_crm.db import models as m
    from tui_crm.services.planning import planning
    from tui_crm.ui.screens.ask import AskModal
    from tui_crm.ui.screens.call_block import CallBlockScreen

    ids = oak_farms(admin)
    tomorrow = TODAY + dt.timedelta(days=1)
    planned = call(admin, ids["org"], dt.datetime.combine(tomorrow, dt.time(9, 0)), ids["wilson"])
    app = DayApp(admin)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await pilot.press("right")  # tomorrow's view; the first event is highlighted
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, AskModal)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, (AskModal, CallBlockScreen))
        assert m.Event.get_by_id(planned.id).status == "planned"
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, CallBlockScreen)
        await pilot.press("1")  # no answer
        await pilot.pause()
    logged = m.Event.get_by_id(planned.id)
    assert (logged.status, logged.starts_at) == ("done", NOW)
    assert m.Organization.get_by_id(ids["org"]).last_contact_at <= NOW
    assert planning.day_view(admin, tomorrow, now=NOW).blocks[0].items == []


async def test_plan_tomorrow_fill_keeps_picks_and_shows_the_saved_times(admin):
    from tui_crm.db import models as m
    from tui_crm.services.core import records
    from tui_crm.ui.screens.plan_tomorrow import PlanTomorrowScreen

    ids = oak_farms(admin)
    for name in ("Альфа", "Бета", "Гамма"):
        records.create(admin, "organizations", {"name": name, "source": "Website",
                                                "owner": admin.user_id})
    tomorrow = TODAY + dt.timedelta(days=1)
    # One call already sits at 09:00 tomorrow: the plan must start the block at 09:10.
    call(admin, ids["plain"], dt.datetime.combine(tomorrow, dt.time(9, 0)))
    app = DayApp(admin)
    async with app.run_test(size=(160, 40)) as pilot:
        app.push_screen(PlanTomorrowScreen(admin, tomorrow))
        await pilot.pause()
        screen = app.screen
        titles = [c.title for c in screen.candidates]
        oak = titles.index("Oak Farms")
        listing = screen.query_one(OptionList)
        listing.highlighted = oak
        await pilot.press("tab", "space")  # Oak Farms by hand into the 14:00 block
        assert screen.picked == {oak: "14:00"}
        await pilot.press("a")  # fill the rest; the hand pick stays
        assert screen.picked[oak] == "14:00"
        assert sorted(screen.picked) == list(range(len(titles)))
        shown = {}
        for i in range(listing.option_count):
            text = str(listing.get_option_at_index(i).prompt)
            shown[titles[i]] = text[1:6]
        assert shown["Oak Farms"] == "14:00"
        assert sorted(v for k, v in shown.items() if k != "Oak Farms") == [
            f"09:{10 * n:02d}" for n in range(1, len(titles))]
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = {}
    for e in m.Event.select().where(m.Event.starts_at >= dt.datetime.combine(tomorrow, dt.time())):
        if e.organization_id != ids["plain"] or e.starts_at.hour != 9 or e.starts_at.minute:
            saved[m.Organization.get_by_id(e.organization_id).name] = (
                e.starts_at.strftime("%H:%M"), e.contact_id)
    assert {k: v[0] for k, v in saved.items()} == shown
    assert saved["Oak Farms"][1] == ids["wright"]


async def test_plus_hour_keeps_the_cursor_on_the_moved_call(admin):
    ids = oak_farms(admin)
    first = call(admin, ids["org"], dt.datetime(2026, 11, 27, 9, 0))
    second = call(admin, ids["plain"], dt.datetime(2026, 11, 27, 9, 10))
    call(admin, ids["org"], dt.datetime(2026, 11, 27, 9, 20))
    app = DayApp(admin)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        pane = app.query_one(TodayPane)
        assert pane.current_item().event_id == first.id
        await pilot.press("down")
        assert pane.current_item().event_id == second.id
        await pilot.press("plus")
        await pilot.pause()
        assert pane.current_item().event_id == second.id
        await pilot.press("plus")  # the next key acts on the same call again
        await pilot.pause()
        assert pane.current_item().event_id == second.id
        assert pane.current_item().starts_at == dt.datetime(2026, 11, 27, 11, 10)


async def test_snooze_keeps_the_cursor_on_the_snoozed_client(admin):
    from textual.app import App as _App

    from tui_crm.services.core import records
    from tui_crm.ui.screens.followups import FollowupsPane
    from tui_crm.ui.screens.log_result import MoveModal

    for name in ("Альфа", "Бета", "Гамма"):
        records.create(admin, "organizations", {"name": name, "status": "warm",
                                                "owner": admin.user_id})

    class QueueApp(_App):
        def clock(self) -> dt.datetime:
            return NOW

        def compose(self) -> ComposeResult:
            yield FollowupsPane(admin)

    app = QueueApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(FollowupsPane)
        chosen = pane.current()
        await pilot.press("z")
        await pilot.pause()
        assert isinstance(app.screen, MoveModal)
        app.screen.query_one("#when").set_text("+2d")
        app.screen.query_one("#reason").value = "в отпуске"
        await pilot.press("enter")
        await pilot.pause()
        assert pane.items[-1].id == chosen.id  # it went to the end of the queue
        assert pane.current().id == chosen.id  # and the cursor with it


async def test_home_goes_back_to_today_from_the_list(admin):
    app = DayApp(admin)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        pane = app.query_one(TodayPane)
        await pilot.press("right", "right")
        assert pane.day == TODAY + dt.timedelta(days=2)
        assert app.focused is pane.query_one(OptionList)  # the list has the keys
        await pilot.press("home")
        assert pane.day == TODAY
