"""Every screen usable at 80×24 in Russian (the longer language): what a person needs is on
screen or can be scrolled to. The real app on a real SQLite file, with a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Button, Input

from tests.ui.conftest import CrmData, screen_text, settle
from tui_crm.i18n import set_language
from tui_crm.ui.app import CrmApp, build_app
from tui_crm.ui.screens.help import HelpScreen, help_rows
from tui_crm.ui.screens.log_result import LogResultModal

SMALL = (80, 24)
NOW = dt.datetime(2026, 11, 27, 9, 30)  # a Friday


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CrmApp, "clock", lambda self: NOW)
    yield
    set_language("en")


def inside_screen(app: CrmApp, widget) -> bool:  # noqa: ANN001 - any widget
    """The whole widget is drawn within the terminal (not cut by the bottom edge)."""
    region = widget.region
    return region.height > 0 and region.bottom <= app.size.height


async def test_help_scrolls_to_its_last_line(crm: CrmData) -> None:
    app = build_app(crm.path, language="ru", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app, app.screen.bindings_shown)
        last_description = rows[-1][2]
        assert last_description not in screen_text(app)  # more keys than lines
        await pilot.press("end")
        await settle(pilot)
        assert last_description in screen_text(app)


async def test_log_result_save_and_error_visible_and_enter_saves(crm: CrmData) -> None:
    app = build_app(crm.path, language="ru", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        saved: list = []
        app.push_screen(LogResultModal("Звонок: Ромашка", "call"), saved.append)
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, LogResultModal)
        warm = next(i for i, r in enumerate(modal.results) if r.warm)
        await pilot.press(str(warm + 1))
        await settle(pilot)
        modal.query_one("#when Input", Input).value = ""  # the suggested next step removed
        await pilot.press("ctrl+s")  # warm, no date: refused, and it says why
        await settle(pilot)
        error = modal.query_one("#error")
        assert "следующий шаг" in screen_text(app)
        assert inside_screen(app, error)
        assert inside_screen(app, modal.query_one("#save", Button))
        when = modal.query_one("#when Input", Input)
        assert modal.focused is when
        await pilot.press(*"завтра 10:00")
        await pilot.press("enter")  # Enter in the date field saves
        await settle(pilot)
        assert len(saved) == 1 and saved[0] is not None
        assert saved[0].next_when == dt.datetime(2026, 11, 28, 10, 0)


async def test_log_result_quick_pick_types_the_users_language(crm: CrmData) -> None:
    app = build_app(crm.path, language="ru", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.push_screen(LogResultModal("Звонок: Ромашка", "call"))
        await settle(pilot)
        modal = app.screen
        await pilot.press("1")
        await settle(pilot)
        pick = modal.query_one("#pick-3d", Button)
        assert str(pick.label) == "+3д"
        assert inside_screen(app, pick)
        pick.press()
        await settle(pilot)
        assert modal.query_one("#when Input", Input).value == "+3д"
        assert "30.11.2026" in screen_text(app)  # what it understood, in Russian dates


async def test_today_keeps_phones_whole_and_the_week_strip_is_not_a_clock(crm: CrmData) -> None:
    from tui_crm.services.core import records

    long_name = "Торговый дом Северо-Западный Промышленный Альянс"
    org = records.create(crm.admin, "organizations", {
        "name": long_name, "source": "Website", "phones": ["work:+7 812 555-01-99"]})
    records.create(crm.admin, "events", {
        "event_type": "call", "starts_at": "2026-11-27 10:00", "organization": org.id,
        "status": "planned"})
    app = build_app(crm.path, language="ru", section="today")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert any("+7 812 555-01-99" in line for line in lines), "\n".join(lines)
        week = next(line for line in lines if "Пн" in line and "Вс" in line)
        assert "(" in week and ":" not in week  # "Пн 23 (0)", not "Пн 23:0"


async def test_deals_board_titles_whole_and_the_focused_column_on_screen(crm: CrmData) -> None:
    from tui_crm.ui.screens.deals_board import DealsBoard

    app = build_app(crm.path, language="ru", section="deals")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        board = app.screen.query_one(DealsBoard)
        for _step in range(4):  # new → proposal → negotiation → invoice → won
            await pilot.press("right")
        await settle(pilot)
        won = board.focused_column()
        assert won.stage == "won"
        assert won.region.x >= 0 and won.region.right <= SMALL[0]
        assert "Поставка ромашек" in screen_text(app)  # not "Постав"


async def test_users_inputs_are_wide_enough(crm: CrmData) -> None:
    app = build_app(crm.path, language="ru", section="users")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for box in ("#new-login", "#new-name"):
            widget = app.screen.query_one(box, Input)
            assert widget.region.width >= 20, box
            assert inside_screen(app, widget)
        assert inside_screen(app, app.screen.query_one("#add-user", Button))


@pytest.mark.parametrize("size", [SMALL, (160, 50)])
async def test_categories_controls_reachable(crm: CrmData, size: tuple[int, int]) -> None:
    app = build_app(crm.path, language="ru", section="categories")
    app.poll_seconds = 0
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for control in ("#cat-criterion", "#cat-period", "#cat-scheme", "#cat-per-month",
                        "#cat-apply"):
            widget = app.screen.query_one(control)
            region = widget.region
            assert region.width >= 8 and region.right <= size[0], control
            assert inside_screen(app, widget), control


async def test_reports_footer_follows_a_language_switch(crm: CrmData) -> None:
    app = build_app(crm.path, language="ru", section="reports")
    app.poll_seconds = 0
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "Экспорт в Excel" in footer and "команды" in footer  # ^p, not "palette"
        await pilot.press("ctrl+l")
        await settle(pilot, rounds=8)  # the pane is mounted again in the new language
        footer = screen_text(app).splitlines()[-1]
        assert "Export to Excel" in footer and "palette" in footer
        await pilot.press("ctrl+l")
        await settle(pilot, rounds=8)  # the pane is mounted again in the new language
        footer = screen_text(app).splitlines()[-1]
        assert "Экспорт в Excel" in footer and "palette" not in footer


async def test_palette_and_help_speak_russian(crm: CrmData) -> None:
    app = build_app(crm.path, language="ru", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        text = screen_text(app)
        assert "Поиск команд…" in text and "Search for commands" not in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        rows = help_rows(app, app.screen.bindings_shown)
        places = {place for place, *_rest in rows}
        descriptions = {description for _p, _k, description, *_rest in rows}
        assert "Следующее поле" in descriptions and "Focus Next" not in descriptions
        assert not {"OptionList", "DataTable", "Screen", "RecordTable"} & places
