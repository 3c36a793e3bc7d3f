"""The table's export dialog: the format from the name, CSV's encoding chosen in the dialog,
the characters Windows-1251 lacks named in a notification."""

from __future__ import annotations

from textual.widgets import Input, Select

from tests.ui.conftest import CrmData, settle
from tui_crm.services.core import records
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.reports import ExportModal

WIDE = (120, 40)


async def test_export_csv_in_cp1251_from_the_dialog(crm: CrmData, tmp_path) -> None:
    records.create(crm.admin, "organizations", {"name": "Łódź Trading", "source": "Website"})
    target = tmp_path / "orgs.csv"
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ExportModal)
        modal.query_one("#path", Input).value = str(target)
        modal.query_one("#encoding", Select).value = "cp1251"
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportModal)
        text = target.read_bytes().decode("cp1251")
        assert "Ромашка" in text and "Ёлка-Палка" in text and "??d? Trading" in text
        messages = [n.message for n in app._notifications]
        assert any("Exported 7 rows" in m for m in messages)
        assert any("Windows-1251 has no" in m and "'Ł'" in m for m in messages)


async def test_the_encoding_is_offered_only_with_csv(crm: CrmData) -> None:
    app = build_app(crm.path, section="organizations")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        modal = ExportModal("x.xlsx", ("xlsx",))
        app.push_screen(modal)
        await pilot.pause()
        assert not modal.query("#encoding")
        assert modal.encoding == "utf-8"


async def test_company_time_zone_in_the_settings(crm: CrmData) -> None:
    from tests.ui.test_settings import PaneApp, error_of, open_tab
    from tui_crm.services.core import settings
    from tui_crm.ui.screens.settings import TimeZoneTab

    app = PaneApp(crm.admin)
    async with app.run_test(size=(100, 24)) as pilot:
        await open_tab(pilot, "time-zone-tab")
        zone = app.query_one("#time-zone", Input)
        assert zone.value == "" and zone.placeholder == settings.server_time_zone()
        await pilot.click("#time-zone")
        await pilot.press(*"Mars/Olympus", "enter")
        await pilot.pause()
        assert "Unknown time zone" in error_of(app, TimeZoneTab)
        assert settings.time_zone_name() == settings.server_time_zone()
        zone.value = "Asia/Yekaterinburg"
        await pilot.click("#time-zone-save")
        await pilot.pause()
        assert settings.time_zone_name() == "Asia/Yekaterinburg"
        assert error_of(app, TimeZoneTab) == "" and len(app.changes) == 1
