"""A letter typed into the filter repaints the input alone: no reflow of the whole screen
before the table's answer comes (Textual's Input asks for one on every change of its text,
which cost each keystroke ~10 ms on the main screen). Long text still scrolls inside the box,
and the table still follows every letter."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import CrmData, settle
from tui_crm.ui.app import build_app
from tui_crm.ui.widgets.filter_bar import FilterInput


def _refreshes(widget: Any) -> list[dict[str, Any]]:
    """The options of every `refresh` the widget asks for from now on."""
    asked: list[dict[str, Any]] = []
    refresh = widget.refresh

    def watched(*regions: Any, **options: Any) -> Any:
        asked.append(options)
        return refresh(*regions, **options)

    widget.refresh = watched
    return asked


async def test_typing_in_the_filter_asks_for_no_reflow(crm: CrmData) -> None:
    app = build_app(crm.path, language="en", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        box = app.screen.query_one("#filter-input", FilterInput)
        box.focus()
        await settle(pilot)
        asked = _refreshes(box)
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


async def test_a_new_row_count_moves_the_scroll_bar_without_a_reflow(crm: CrmData) -> None:
    """The table's box does not depend on its rows: a filter that changes the count asks
    the screen for no reflow (~15 ms of a keystroke), and the scroll bar and the scroll
    limit still follow the new count."""
    from tui_crm.ui.widgets.record_table import RecordTable

    app = build_app(crm.path, language="en", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RecordTable)
        asked = _refreshes(table)
        everything = table.total
        app.screen.filter_bar.input.focus()
        for letter in "ромашка":
            await pilot.press(letter)
        await settle(pilot)
        assert 0 < table.total < everything
        assert asked and not [o for o in asked if o.get("layout")]
        assert table.virtual_size.height == table.total + 1
        assert table.vertical_scrollbar.window_virtual_size == table.total + 1
        assert table.max_scroll_y == max(0, table.total + 1 - table.scrollable_content_region
                                         .height)
        for _letter in "ромашка":
            await pilot.press("backspace")
        await settle(pilot)
        assert table.total == everything
        assert table.vertical_scrollbar.window_virtual_size == everything + 1


async def test_the_query_starts_with_the_key_not_after_messages(crm: CrmData) -> None:
    """A change the user makes starts the table's query in the same call (no message
    round and no repaint before it); text restored under `prevent` starts nothing."""
    app = build_app(crm.path, language="en", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        box = screen.query_one("#filter-input", FilterInput)
        box.value = "ромашка"  # as the key handler sets it
        assert screen.table.list_query.text == "ромашка" and screen.table.busy
        await settle(pilot)
        screen.filter_bar.set_text("ничего")
        assert screen.table.list_query.text == "ромашка" and not screen.table.busy


async def test_the_answer_is_drawn_at_once_not_on_the_next_frame(crm: CrmData,
                                                                 monkeypatch: Any) -> None:
    """When the table's query answers, the screen is drawn in the same step (Textual would
    wait for its next frame, up to 1/60 s), and the drawn frame holds the new rows."""
    from textual.worker import WorkerState

    from tui_crm.ui.widgets.record_table import RecordTable

    app = build_app(crm.path, language="en", section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        drawn: list[int] = []
        display = app._display

        def counted(*args: Any, **kwargs: Any) -> Any:
            drawn.append(1)
            return display(*args, **kwargs)

        app._display = counted  # type: ignore[method-assign]
        during: list[tuple[int, str]] = []
        handler = RecordTable.on_worker_state_changed

        def watched(self: RecordTable, event: Any) -> None:
            before = len(drawn)
            handler(self, event)
            if event.worker.group == "record-table" and event.state == WorkerState.SUCCESS:
                view = self.row_view(0)
                during.append((len(drawn) - before, str(view.values["name"] if view else "")))

        monkeypatch.setattr(RecordTable, "on_worker_state_changed", watched)
        app.screen.filter_bar.input.focus()
        for letter in "ромашка":
            await pilot.press(letter)
        await settle(pilot)
        assert during and during[-1] == (1, "Ромашка")
