"""A letter typed into the filter repaints the input alone: no reflow of the whole screen
before the table's answer comes (Textual's Input asks for one on every change of its text,
which cost each keystroke ~10 ms on the main screen). Long text still scrolls inside the box,
and the table still follows every letter."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import CrmData, settle
from tui_crm.ui.app import build_app
from tui_crm.ui.widgets.filter_bar import FilterInput


async def test_typing_in_the_filter_asks_for_no_reflow(crm: CrmData) -> None:
    app = build_app(crm.path, language="en", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        box = app.screen.query_one("#filter-input", FilterInput)
        box.focus()
        await settle(pilot)
        asked: list[dict[str, Any]] = []
        refresh = box.refresh

        def watched(*regions: Any, **options: Any) -> Any:
            asked.append(options)
            return refresh(*regions, **options)

        box.refresh = watched  # type: ignore[method-assign]
        for letter in "ромашка":
            await pilot.press(letter)
        await settle(pilot)
        assert asked, "the input repaints as it is typed into"
        assert not [o for o in asked if o.get("layout")]
        assert app.screen.table.list_query.text == "ромашка"
        assert [v.values["name"] for v in (app.screen.table.row_view(0),)] == ["Ромашка"]

        # Text longer than the box scrolls inside it, the cursor kept in view.
        await pilot.press(*"x" * 120)
        await settle(pilot)
        assert box.virtual_size.width >= 120 + 7
        assert box.scroll_x > 0
        assert box.cursor_screen_offset.x <= box.region.right
