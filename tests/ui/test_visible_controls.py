"""A record whose name holds terminal control codes and markup is drawn harmlessly: the
table, the card, the quick search, a toast and the call block show the codes as escapes
and the markup as the text it is, and no link carries a raw control character."""

from __future__ import annotations

import datetime as dt
import io
import re

from rich.console import Console

from tests.ui.conftest import CrmData, settle, type_text
from tui_crm.services.core import records
from tui_crm.terminal_text import UNSAFE
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.call_block import CallBlockScreen
from tui_crm.ui.screens.quick_search import QuickSearch

# A window title, a bell, a screen clear, a right-to-left override; markup with a closing tag
# that matches nothing (markup parsing would fail) and a click action.
EVIL = "Evil\x1b]0;pwned\x07\x1b[2J\u202e[b]Red[/b][/x][@click=app.quit]Q"
UNSAFE_CHAR = re.compile(f"[{UNSAFE}]")
DAY = dt.date(2026, 11, 27)


def drawn(app) -> tuple[str, list[str]]:  # noqa: ANN001 - a CrmApp
    """The screen's text as the terminal gets it (without Textual's own sequences), and the
    links on it."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True,
                                                  screen_stack=app._background_screens)
    segments = [s for s in console.render(update) if not s.control]
    links = [s.style.link for s in segments if s.style is not None and s.style.link]
    return "".join(s.text for s in segments), links


def assert_harmless(app, *expected: str) -> str:  # noqa: ANN001
    text, links = drawn(app)
    assert {ch for ch in text if UNSAFE_CHAR.match(ch)} <= {"\n"}
    assert not [link for link in links if UNSAFE_CHAR.search(link)]
    for part in expected:
        assert part in text, part
    return text


async def test_a_name_with_control_codes_and_markup_is_drawn_harmlessly(crm: CrmData) -> None:
    admin = crm.admin
    evil = records.create(admin, "organizations", {
        "name": EVIL, "source": "Website", "city": "Тверь\x1b[31m",
        "website": "evil.example/\x1b]8;;x\x1b\\", "phones": ["+7 916 000-00-01"]}).id
    other = records.create(admin, "organizations", {"name": "Zz" + EVIL, "source": "Website"})
    for minute, org in ((10, evil), (20, other.id)):
        records.create(admin, "events", {"event_type": "call", "organization": org,
                                         "starts_at": dt.datetime.combine(
                                             DAY, dt.time(14, minute)),
                                         "assignee": admin.user_id})
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await settle(pilot)
        main = app.screen
        main.table.locate(evil)
        await settle(pilot)
        assert main.table.current_id == evil
        # The table row and the card (its title, name, city and web link).
        assert_harmless(app, "Evil\\x1b]0;pwned\\x07", "Тверь\\x1b[31m", "[/x][@click=app.quit]Q")

        await pilot.press("ctrl+f")
        await settle(pilot)
        assert isinstance(app.screen, QuickSearch)
        await type_text(pilot, "evil")
        await settle(pilot)
        assert app.screen.hits
        assert_harmless(app, "Organizations  Evil\\x1b]0;pwned\\x1b[2J\\u202e[b]Red[/b]")
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("d")  # the toast names the record
        await settle(pilot)
        assert any("Moved to the trash" in n.message for n in app._notifications)
        assert_harmless(app, "Moved to the trash:", "Evil\\x1b]0;pwned\\x07\\x1b[2J\\u202e[b]Red",
                        "to undo")
        await pilot.press("u")
        await settle(pilot)

        app.push_screen(CallBlockScreen(admin, DAY, "14:00"))
        await settle(pilot)
        assert isinstance(app.screen, CallBlockScreen)
        assert app.screen.run.current.organization == EVIL
        assert_harmless(app, "Evil\\x1b]0;pwned", "Next: Zz" + "Evil\\x1b]0;pwned",
                        "[/x][@click=app.quit]Q")
        assert app.is_running


async def test_tables_and_choices_show_names_as_text_not_markup() -> None:
    """A DataTable cell or a Select choice reads a plain str as markup: the shared widgets
    used for data show it as written."""
    from textual.app import App, ComposeResult
    from textual.widgets import Select

    from tui_crm.ui.widgets import PlainTable, text_choices

    class Host(App):
        def compose(self) -> ComposeResult:
            yield Select(text_choices([(EVIL, 1), ("Plain", 2)]), value=1, id="choice")
            yield PlainTable(id="table")

        def get_line_filters(self):  # noqa: ANN202 - as CrmApp does
            from tui_crm.ui.app import VISIBLE_CONTROLS

            return [*super().get_line_filters(), VISIBLE_CONTROLS]

    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        table = app.query_one(PlainTable)
        table.add_column("[/x] name", key="name")
        table.add_row(EVIL, key="1")
        table.update_cell("1", "name", EVIL + "!")
        await pilot.pause()
        assert_harmless(app, "[/x] name", "[b]Red[/b][/x][@click=app.quit]Q!")
        await pilot.click("#choice")  # the list of choices opens
        await pilot.pause()
        assert app.is_running
        assert_harmless(app, "Evil\\x1b]0;pwned\\x1b[2J\\u202e[b]Red[/b][/x][@click=app.quit]Q",
                        "Plain")
