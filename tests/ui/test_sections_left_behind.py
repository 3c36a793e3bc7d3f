"""Sections left behind give up their large data and work again when shown (issue 15,
item 7: memory after visiting every section): the Categories result is dropped and
computed anew — with what changed meanwhile — the table's row index is dropped and read
again, a thread worker's result does not outlive the worker, and Today lists at most
its limit of overdue events, saying so."""

from __future__ import annotations

import datetime as dt
import gc
import weakref

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from tests.ui.conftest import CrmData, screen_text, settle
from tui_crm.services.core import records
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.categories import CategoriesPane
from tui_crm.ui.screens.main import MainScreen
from tui_crm.ui.screens.today import LIST_LIMIT, TodayPane
from tui_crm.ui.widgets.record_table import INDEX_ROWS
from tui_crm.ui.workers import forgets_worker

SIZE = (160, 50)


async def test_categories_left_behind_recompute_with_fresh_data(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        app.go_to_section("categories")
        await settle(pilot)
        pane = main.query_one(CategoriesPane)
        assert pane.result is not None
        paying_before = pane.result.paying_clients
        assert "Ромашка" in screen_text(app)

        app.go_to_section("organizations")
        await settle(pilot)
        assert pane.result is None  # released with its section
        # Meanwhile a second client pays (in the month the pane's period ends with).
        records.create(crm.admin, "payments", {"date": "2026-10-20", "amount": "90000",
                                               "organization": crm.orgs["alfa"]})
        app.go_to_section("categories")
        await settle(pilot)
        assert pane.result is not None
        assert pane.result.paying_clients == paying_before + 1
        assert "Альфа Строй" in screen_text(app)
        # Applying works on the recomputed result.
        pane.action_apply()
        await settle(pilot)
        assert "2 organizations change" in str(app.screen.query_one("#apply-text", Static)
                                                .render())


async def test_the_table_index_is_dropped_behind_a_pane_and_read_again(crm: CrmData) -> None:
    for n in range(INDEX_ROWS + 10):  # a list long enough to get a row index
        records.create(crm.admin, "organizations", {"name": f"Фирма {n:03d}", "source": "Website"})
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        table = main.table

        async def indexed() -> bool:
            for _ in range(100):
                if table.indexed:
                    return True
                await pilot.pause(0.05)
            return False

        assert await indexed()
        table.move_cursor(150)
        await settle(pilot)
        wanted = table.current_id
        app.go_to_section("today")
        await settle(pilot)
        assert not table.indexed  # released while Today is shown
        await pilot.pause(1.5)  # the app rests: caches freed, memory handed back
        app.go_to_section("organizations")
        await settle(pilot)
        assert table.cursor_row == 150 and table.current_id == wanted
        assert await indexed()
        table._pages.clear()  # every row read again, now through the new index
        await pilot.press("end")
        await settle(pilot)
        assert table.row_view(table.total - 1) is not None
        assert table.current_id == table.row_view(table.total - 1).id


class Holder:
    """A worker's result that can be watched for being freed."""

    def __init__(self) -> None:
        self.ids = list(range(100_000))


class WorkerApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.got: weakref.ref[Holder] | None = None

    def compose(self) -> ComposeResult:
        yield Static("")

    @work(thread=True, group="big")
    @forgets_worker
    def build(self) -> Holder:
        return Holder()

    def on_worker_state_changed(self, event) -> None:  # noqa: ANN001 - a Worker.StateChanged
        if event.worker.group == "big" and event.worker.is_finished:
            self.got = weakref.ref(event.worker.result)


async def test_a_thread_workers_result_does_not_outlive_it() -> None:
    app = WorkerApp()
    async with app.run_test() as pilot:
        for _ in range(3):  # each pool thread would keep the last worker it ran
            app.build()
            await app.workers.wait_for_complete()
            await pilot.pause()
        gc.collect()
        assert app.got is not None
        assert app.got() is None  # freed once the message was handled


async def test_today_lists_the_oldest_overdue_up_to_its_limit(crm: CrmData) -> None:
    start = dt.datetime(2025, 3, 1, 9, 0)
    for n in range(LIST_LIMIT + 5):
        records.create(crm.admin, "events", {
            "event_type": "call", "title": f"Звонок {n}",
            "starts_at": start + dt.timedelta(days=n), "organization": crm.orgs["alfa"],
            "assignee": crm.admin.user_id, "status": "planned"})
    app = build_app(crm.path, section="today")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(TodayPane)
        assert pane.view is not None
        overdue = pane.view.overdue
        assert len(overdue) == LIST_LIMIT
        assert overdue[0].starts_at == start  # the oldest first
        prompts = [str(o.prompt) for o in pane.query_one(OptionList).options]
        assert any(f"only the {LIST_LIMIT} oldest" in p for p in prompts)
