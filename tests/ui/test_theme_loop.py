"""ctrl+t pressed ten times on Settings → Appearance with every section opened (issue 15)
once kept the CPU busy for minutes: the theme box and the saved preference set each other,
each time re-styling every widget. Now each press changes the theme exactly once."""

from __future__ import annotations

from textual.widgets import Select, TabbedContent

from tests.ui.conftest import CrmData, settle
from tui_crm.services.core import settings
from tui_crm.ui.app import build_app
from tui_crm.ui.widgets.sidebar import visible_sections


async def test_ctrl_t_ten_times_on_appearance_settles(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for section in visible_sections()[:4]:  # a few panes to re-style, as in real use
            app.main_screen.show_section(section.key)
            await settle(pilot, rounds=1)
        app.main_screen.show_section("settings")
        await settle(pilot)
        app.main_screen.query_one("SettingsPane TabbedContent", TabbedContent).active = "appearance"
        await settle(pilot)
        changes: list[str] = []

        def changed(name: str) -> None:
            changes.append(name)

        app.watch(app, "theme", changed, init=False)
        start = app.theme
        for _ in range(10):  # as fast as a held key: all ten before any is handled
            app.simulate_key("ctrl+t")
        # A loop never goes quiet: wait (bounded) until the theme stops changing.
        seen, quiet = -1, 0
        for _ in range(200):
            await pilot.pause(0.1)
            quiet = quiet + 1 if len(changes) == seen else 0
            seen = len(changes)
            if quiet >= 5 or seen > 10:
                break
        assert len(changes) == 10, changes
        assert app.theme == start  # an even number of toggles
        assert app.main_screen.query_one("#theme-select", Select).value == app.theme
        assert settings.user_preference(crm.admin, "theme") == app.theme
