"""Daily planning in the UI, driven by the pilot on a real SQLite file with a fixed clock:
plan tomorrow with keys, a call block logging three results with next steps, snoozing a
follow-up, and a reminder toast for its user and not for another."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList

from tui_crm.db import open_database
from tui_crm.services.core import records, users
from tui_crm.services.planning import followups, planning
from tui_crm.ui.screens.call_block import CallBlockScreen
from tui_crm.ui.screens.followups import FollowupsPane
from tui_crm.ui.screens.log_result import LogResultModal, MoveModal
from tui_crm.ui.screens.plan_tomorrow import PlanTomorrowScreen
from tui_crm.ui.screens.reminders import RemindersModal, check_reminders
from tui_crm.ui.screens.today import TodayPane

NOW = dt.datetime(2026, 11, 27, 14, 5)  # a Friday, inside the 14:00 call block
TODAY = NOW.date()


class PlanningApp(App):
    """A host for the planning panes with a fixed clock."""

    def __init__(self, actor, pane: str = "today") -> None:
        super().__init__()
        self.actor = actor
        self.pane = pane
        self.opened: list[tuple[str, int]] = []

    def clock(self) -> dt.datetime:
        return NOW

    def open_record(self, kind: str, record_id: int) -> None:
        self.opened.append((kind, record_id))

    def compose(self) -> ComposeResult:
        yield TodayPane(self.actor) if self.pane == "today" else FollowupsPane(self.actor)


@pytest.fixture
def anna(tmp_path):
    open_database(tmp_path / "ui-plan.sqlite3")
    admin = users.resolve_actor()
    users.add_user(admin, "anna", role="manager", full_name="Анна")
    users.add_user(admin, "boris", role="manager", full_name="Борис")
    return users.actor_for("anna")


def new_org(actor, name, **extra):
    data = {"name": name, "source": "Website", "owner": actor.user_id}
    data.update(extra)
    return records.create(actor, "organizations", data)


async def test_plan_tomorrow_with_keys_and_export(anna, tmp_path, monkeypatch):
    for name in ("Альфа", "Бета", "Гамма"):
        new_org(anna, name)
    app = PlanningApp(anna)
    tomorrow = TODAY + dt.timedelta(days=1)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(PlanTomorrowScreen(anna, tomorrow))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanTomorrowScreen)
        assert len(screen.candidates) == 3
        await pilot.press("space")  # first into 09:00
        await pilot.press("tab")  # switch to the 14:00 block
        await pilot.press("space")
        assert screen.picked == {0: "09:00", 1: "14:00"}, screen.picked
        await pilot.press("ctrl+s")
        await pilot.pause()
        view = planning.day_view(anna, tomorrow, now=NOW)
        assert [len(b.items) for b in view.blocks] == [1, 0, 1, 0]
        assert len(screen.candidates) == 1
        monkeypatch.chdir(tmp_path)
        await pilot.press("ctrl+e")
        await pilot.press("enter")
        await pilot.pause()
        assert (tmp_path / f"plan-{tomorrow.isoformat()}.xlsx").exists()


async def test_call_block_logs_three_results_with_next_steps(anna):
    clients = [new_org(anna, f"Клиент {i}") for i in range(3)]
    for i, o in enumerate(clients):
        records.create(anna, "events", {"event_type": "call", "organization": o.id,
                                        "starts_at": NOW.replace(minute=10 * i + 10),
                                        "assignee": anna.user_id})
    app = PlanningApp(anna)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CallBlockScreen(anna, TODAY, "14:00"))
        await pilot.pause()
        screen = app.screen
        assert screen.run.current.organization == "Клиент 0"
        # 6 = "Meeting set" (warm): the next step is required before moving on.
        await pilot.press("6")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, LogResultModal) and modal.chosen == "meeting_set"
        modal.query_one("#when").set_text("")  # offered +1d, cleared: no next step
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LogResultModal)  # refused: no next step yet
        await pilot.click("#pick-3d")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and screen.run.current.organization == "Клиент 1"
        await pilot.press("1")  # no answer: cold, no next step needed
        await pilot.pause()
        await pilot.press("4")  # interested (warm)
        await pilot.pause()
        app.screen.query_one("#when").set_text("tomorrow 11:00")
        await pilot.press("ctrl+s")
        await pilot.pause()
        run = screen.run
        assert (run.calls_made, run.decision_makers, run.meetings_set) == (3, 2, 1)
        assert run.finished
    card = records.get(anna, "organizations", clients[0].id)
    assert card.values["next_contact_at"] == dt.datetime(2026, 11, 30, 9, 0)
    assert records.get(anna, "organizations", clients[2].id).values["next_contact_at"] == \
        dt.datetime(2026, 11, 28, 11, 0)
    # Coming back to the block resumes at its end, not the first client.
    assert planning.block_run(anna, TODAY, "14:00", now=NOW).position == 3


async def test_today_shows_blocks_and_marks_done(anna):
    o = new_org(anna, "Ромашка", phones=["+7 916 123-45-67"])
    call = records.create(anna, "events", {"event_type": "call", "organization": o.id,
                                           "starts_at": "2026-11-27 14:30",
                                           "assignee": anna.user_id})
    app = PlanningApp(anna)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(TodayPane)
        listing = pane.query_one(OptionList)
        prompts = [str(listing.get_option_at_index(i).prompt) for i in
                   range(listing.option_count)]
        text = "\n".join(prompts)
        assert "14:00–16:00" in text and "Ромашка" in text and "+7 916 123-45-67" in text
        assert "now" in text
        assert pane.current_item().event_id == call.id
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert records.get(anna, "events", call.id).values["status"] == "done"
        await pilot.press("o")
        assert app.opened == [("organizations", o.id)]
        await pilot.press("right")
        assert pane.day == TODAY + dt.timedelta(days=1)


async def test_snooze_a_followup_with_reason(anna):
    o = new_org(anna, "Тёплый клиент", status="warm")
    app = PlanningApp(anna, pane="followups")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(FollowupsPane)
        assert pane.items[0].no_next_step
        await pilot.press("z")
        await pilot.pause()
        assert isinstance(app.screen, MoveModal)
        app.screen.query_one("#when").set_text("+2d")
        await pilot.press("enter")  # no reason yet: refused
        await pilot.pause()
        assert isinstance(app.screen, MoveModal)
        app.screen.query_one("#reason").value = "уехал в отпуск"
        await pilot.press("enter")
        await pilot.pause()
        assert not pane.items[0].no_next_step
    item = followups.queue(anna, now=NOW)[0]
    assert item.id == o.id and item.next_contact_at == dt.datetime(2026, 11, 29, 9, 0)


async def test_reminder_toast_for_its_user_only(anna):
    o = new_org(anna, "Ромашка")
    records.create(anna, "events", {"event_type": "call", "organization": o.id,
                                    "starts_at": "2026-11-27 14:15", "reminder_minutes": "15",
                                    "assignee": anna.user_id})
    boris = users.actor_for("boris")
    for actor, expected in ((boris, 0), (anna, 1)):
        app = PlanningApp(actor)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            shown: list = []
            check_reminders(app, actor, shown)
            await pilot.pause()
            assert len(shown) == expected
            assert len(app._notifications) == expected
            if expected:
                toast = list(app._notifications)[0]
                assert "Ромашка" in toast.message and toast.severity == "warning"
                app.push_screen(RemindersModal(actor, shown))
                await pilot.pause()
                await pilot.press("h")
                await pilot.pause()
                assert shown == []
