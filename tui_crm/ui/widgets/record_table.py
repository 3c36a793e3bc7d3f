"""The record table: a Line-API widget that shows any number of rows without holding them.

`virtual_size` is the row count (plus the header line); `render_line(y)` draws row y from
a small LRU cache of pages fetched with `records.list_records(offset, limit)`. Only the
rows on screen are ever styled. A new filter or sort reloads in a worker thread (at most
one query in flight; the latest request wins), so typing in the filter never waits for a
slow query. Pages past the middle are fetched in reverse order (offset from the end), so
the end of a 100k table is as quick to reach as its start.

The cursor (row number and record id) lives here, so a refresh after another session's
change keeps the user on the same record.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, cast

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui_crm.i18n import N_, _
from tui_crm.services.core import records
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.terminal_text import visible
from tui_crm.ui.widgets import translate_bindings
from tui_crm.ui.workers import forgets_worker, start_in_query_thread

PAGE = 100  # rows per fetch: ~10 ms on 100k organizations
MAX_PAGES = 40  # pages kept in memory
# A list longer than this gets a row index (its ids in order) once it has rested a moment:
# a page anywhere is then read by id, where an OFFSET of 50 000 walks 50 000 index entries.
INDEX_ROWS = 2 * PAGE
INDEX_DELAY = 0.25  # seconds without a new query (typing in the filter) before indexing
# Field types whose columns are never NULL, so the reverse order is the exact mirror.
_MIRRORABLE = {"text", "multiline", "choice", "bool"}
_RIGHT_ALIGNED = {"int", "decimal"}
GAP = 1


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    width: int
    type: str = "text"
    sortable: bool = True

    @property
    def right(self) -> bool:
        return self.type in _RIGHT_ALIGNED


def format_count(n: int) -> str:
    """12345 → "12 345" (a no-break space groups thousands in both languages)."""
    return f"{n:,}".replace(",", "\u00a0")


def fit_widths(columns: list[Column], width: int) -> list[Column]:
    """Columns that fit `width` cells. Trailing columns are dropped before any column is
    squeezed below ~2/3 of its natural width (a few readable columns beat many cut ones);
    spare room goes to the first column."""
    if not columns or width <= 0:
        return columns

    def total(cs: list[Column]) -> int:
        return sum(c.width for c in cs) + GAP * (len(cs) + 1)

    floors = [max(4, min(cell_len(c.label) + 2, 8)) for c in columns]
    # A cut phone number is useless: phones keep their full 16 characters when shown at all.
    mins = [min(c.width, 16 if "phone" in c.name else max(f, -(-c.width * 2 // 3)))
            for c, f in zip(columns, floors, strict=True)]
    keep = len(columns)
    while keep > 1 and sum(mins[:keep]) + GAP * (keep + 1) > width:
        keep -= 1
    cols = list(columns[:keep])
    limits = mins[:keep] if sum(mins[:keep]) + GAP * (keep + 1) <= width else floors[:keep]
    while total(cols) > width:
        room = [c.width - lim for c, lim in zip(cols, limits, strict=True)]
        index = max(range(len(cols)), key=lambda i: room[i])
        if room[index] <= 0:
            cols[0] = replace(cols[0], width=max(1, cols[0].width - (total(cols) - width)))
            break
        step = max(1, min(total(cols) - width, (room[index] + 1) // 2))
        cols[index] = replace(cols[index], width=cols[index].width - step)
    spare = width - total(cols)
    if spare > 0:
        cols[0] = replace(cols[0], width=cols[0].width + spare)
    return cols


def _cell(text: str, width: int, right: bool = False) -> str:
    text = visible(text.replace("\n", " "))  # escaped here to be measured as shown
    if cell_len(text) > width:
        return set_cell_size(text, max(0, width - 1)) + "…" if width > 1 else text[:width]
    if right:
        return " " * (width - cell_len(text)) + text
    return set_cell_size(text, width)


class RecordTable(ScrollView, can_focus=True):
    """A sortable, virtual table of one section's records."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-table--header",
        "record-table--header-cursor",
        "record-table--cursor",
        "record-table--cursor-blurred",
        "record-table--dim",
    }

    DEFAULT_CSS = """
    RecordTable {
        overflow-x: hidden;
        overflow-y: scroll;
        background: $surface;
        & > .record-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .record-table--header-cursor {
            text-style: bold reverse;
        }
        & > .record-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .record-table--cursor-blurred {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        & > .record-table--dim {
            color: $text-muted;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", N_("Up"), show=False, id="table.up"),
        Binding("down,j", "cursor_down", N_("Down"), show=False, id="table.down"),
        Binding("pageup", "page_up", N_("Page up"), show=False, id="table.page_up"),
        Binding("pagedown", "page_down", N_("Page down"), show=False, id="table.page_down"),
        Binding("home,g", "first", N_("First row"), show=False, id="table.first"),
        Binding("end,G", "last", N_("Last row"), show=False, id="table.last"),
        Binding("left", "header_left", N_("Previous column"), show=False, id="table.left"),
        Binding("right", "header_right", N_("Next column"), show=False, id="table.right"),
        Binding("enter", "select", N_("Open card"), id="table.open"),
        Binding("s", "cycle_sort", N_("Sort"), id="table.sort"),
        Binding("S", "reverse_sort", N_("Reverse sort"), show=False, id="table.reverse"),
    ]

    class CursorMoved(Message):
        """The row under the cursor changed (record_id None: no rows)."""

        def __init__(self, table: RecordTable, record_id: int | None) -> None:
            super().__init__()
            self.table = table
            self.record_id = record_id

        @property
        def control(self) -> RecordTable:
            return self.table

    class Selected(Message):
        """Enter or a double click on a row."""

        def __init__(self, table: RecordTable, record_id: int) -> None:
            super().__init__()
            self.table = table
            self.record_id = record_id

        @property
        def control(self) -> RecordTable:
            return self.table

    class WindowChanged(Message):
        """Rows loaded, scrolled or sorted: the status line should be redrawn."""

        def __init__(self, table: RecordTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> RecordTable:
            return self.table

    def __init__(self, actor: Actor, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        translate_bindings(self)
        self.actor = actor
        self.kind = ""
        self.list_query = ListQuery()
        self.total = 0
        self.cursor_row = 0  # -1: the header line has the cursor (choosing a sort column)
        self.header_col = 0
        self.loaded = False  # the first page of the current query has arrived
        self._columns: list[Column] = []
        self._fitted: list[Column] = []
        self._fitted_width = -1
        self._pages: OrderedDict[int, list[RecordView]] = OrderedDict()
        self._generation = 0
        self._mirror = True
        self._applied = ListQuery()  # the query whose rows are cached
        self._wanted: tuple | None = None  # the load asked for while one is in flight
        self._pending_id: int | None = None
        self._loading = False
        self._last_cursor_id: int | None = None
        self._row_index: list[int] | None = None  # ids of the applied query, in order
        self._on_painted: list[Callable[[], object]] = []
        self._index_conn = None  # the connection reading the row index, to interrupt it
        self._painted_rows = False  # some frame has shown loaded rows
        self._index_timer: Timer | None = None

    # --- configuration -------------------------------------------------------------------

    def configure(self, kind: str, columns: list[Column], query: ListQuery,
                  *, keep_id: int | None = None, row: int = 0, locate: bool = False) -> None:
        """Show another section or query; the rows load in the background."""
        self.kind = kind
        self._columns = columns
        self._fitted_width = -1
        self.list_query = query
        self.header_col = min(self.header_col, max(0, len(columns) - 1))
        if self.cursor_row < 0:
            self.cursor_row = 0
        self._load(keep_id=keep_id, row=row, locate=locate)

    def set_columns(self, columns: list[Column]) -> None:
        """New labels or custom fields, same rows."""
        self._columns = columns
        self._fitted_width = -1
        self.refresh()

    @property
    def columns(self) -> list[Column]:
        return self._columns

    @property
    def sort_name(self) -> str:
        if self.list_query.sort or not self.kind:
            return self.list_query.sort
        return records.kind_spec(self.kind).default_sort

    # --- loading ---------------------------------------------------------------------------

    def reload(self, *, keep_id: int | None = None, reset: bool = False) -> None:
        """Count and fetch again: a new filter (`reset`: back to the top) or new data (the
        cursor stays on `keep_id` when it is still near, else on the same row number)."""
        self._load(keep_id=keep_id, row=0 if reset else max(0, self.cursor_row))

    def locate(self, record_id: int) -> None:
        """Put the cursor on a record wherever it is in the list (opening a search hit)."""
        self._load(keep_id=record_id, row=max(0, self.cursor_row), locate=True)

    def _load(self, *, keep_id: int | None, row: int, locate: bool = False) -> None:
        self._generation += 1
        self._stop_index()
        self._pending_id = keep_id
        query = replace(self.list_query, filters=dict(self.list_query.filters))
        request = (self._generation, self.kind, query, keep_id, row, locate)
        if not self.is_mounted or not self.loaded:
            # The very first page: fetched here (a few ms), so the start-up screen is whole
            # at once instead of racing the first paint for the GIL.
            self._apply(self._fetch(*request))
            return
        if self._loading:
            self._wanted = request  # latest wins; it runs when the current query returns
            return
        self._start(request)

    def _start(self, request: tuple) -> None:
        self._loading = True
        # The query starts now, not when the worker's task first runs (the screen may
        # repaint in between: ~10 ms of a keystroke).
        running = start_in_query_thread(self._fetch, *request)

        async def answer() -> tuple:
            return await running

        self.run_worker(answer(), group="record-table", exit_on_error=False)

    def _fetch(self, generation: int, kind: str, query: ListQuery, keep_id: int | None,
               row: int, locate: bool) -> tuple:
        """(generation, query, total, pages, cursor row): runs in a worker thread."""
        page_no = row // PAGE
        page = records.list_records(self.actor, kind, replace(query, offset=page_no * PAGE,
                                                              limit=PAGE))
        if page_no and not page.rows and page.total:
            page_no = (page.total - 1) // PAGE  # the list shrank under the cursor
            page = records.list_records(self.actor, kind, replace(
                query, offset=page_no * PAGE, limit=PAGE))
        pages = {page_no: page.rows}
        new_row = min(row, max(0, page.total - 1))
        if keep_id is not None:
            ids = [r.id for r in page.rows]
            if keep_id in ids:
                new_row = page_no * PAGE + ids.index(keep_id)
            elif locate or page.total <= 20_000:
                # It is elsewhere (sorted by a field that changed, or opened from a search).
                position = records.position_of(self.actor, kind, query, keep_id)
                if position is not None:
                    new_row = position
                    other = position // PAGE
                    if other not in pages:
                        pages[other] = records.list_records(self.actor, kind, replace(
                            query, offset=other * PAGE, limit=PAGE)).rows
        return generation, query, page.total, pages, new_row

    def _schedule_index(self) -> None:
        """Read the row index once the list rests, if the table has the focus by then: it
        serves moving through the table, and read while someone types in the filter it
        would take the interpreter from their next keystroke."""
        if self._index_timer is not None:
            self._index_timer.stop()
            self._index_timer = None
        if self.total > INDEX_ROWS and self._row_index is None:
            self._index_timer = self.set_timer(INDEX_DELAY, self._start_index)

    def _stop_index(self) -> None:
        """A new list or the focus gone: the index being read is of no use any more."""
        if self._index_timer is not None:
            self._index_timer.stop()
            self._index_timer = None
        conn = self._index_conn
        if conn is not None and hasattr(conn, "interrupt"):  # SQLite; a thread-safe call
            conn.interrupt()

    def _start_index(self) -> None:
        self._index_timer = None
        if self.busy or self._row_index is not None or not self.kind or not self.has_focus:
            return  # the next list, or the focus coming back, schedules it again
        generation, kind, query = self._generation, self.kind, self._applied

        @forgets_worker
        def build() -> tuple[int, list[int] | None]:
            from tui_crm.db.database import current

            # A thread and connection of its own: the query thread stays free for the next
            # keystroke's filter while 100k ids are read.
            database = current()
            with database.connection_context():
                self._index_conn = database.connection()
                try:
                    return generation, records.row_ids(self.actor, kind, query)
                except Exception:  # noqa: BLE001 - interrupted by a new list: no index
                    return generation, None
                finally:
                    self._index_conn = None

        self.run_worker(build, thread=True, group="row-index",
                        exit_on_error=False)

    def release(self) -> None:
        """The table is hidden (a pane section is shown): the row index (a million ids on a
        large base) goes; it is read again once the table has rested with the focus."""
        self._stop_index()
        self._row_index = None

    @property
    def indexed(self) -> bool:
        """The applied list's row index is loaded (benchmarks wait for it)."""
        return self._row_index is not None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "row-index":
            if event.state == WorkerState.SUCCESS and event.worker.result:
                generation, ids = event.worker.result
                if generation == self._generation and ids is not None \
                        and len(ids) == self.total:
                    self._row_index = ids
            return
        if event.worker.group != "record-table":
            return
        if event.state == WorkerState.SUCCESS:
            self._loading = False
            self._apply(cast("tuple[Any, ...]", event.worker.result))
            self._paint_now()
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._loading = False
            error = event.worker.error
            if error is not None:
                from tui_crm.errors import CrmError

                message = str(error) if isinstance(error, CrmError) else _(
                    "Could not load the list: {reason}").format(reason=error)
                self.notify(message, severity="error", markup=False)
        else:
            return
        if self._wanted is not None:
            request, self._wanted = self._wanted, None
            self._start(request)

    def _paint_now(self) -> None:
        """Draw the table now rather than on Textual's next frame: a refresh reaches the
        screen as a message and is drawn at the next 1/60 s tick (0–16 ms later), so the
        answer to a keystroke is handed to the screen's frame update here, as its timer
        would call it. Where Textual has no such step, the usual way draws it."""
        screen = self.screen
        dirty = getattr(screen, "_dirty_widgets", None)
        update = getattr(screen, "_on_timer_update", None)
        if isinstance(dirty, set) and callable(update) and screen.is_current:
            dirty.add(self)
            update()

    @property
    def busy(self) -> bool:
        """A query is running or waiting (tests wait for this to clear)."""
        return self._loading or self._wanted is not None

    def _apply(self, result: tuple) -> None:
        generation, query, total, pages, new_row = result
        if generation != self._generation:
            return  # a newer request is on its way
        self._applied = query
        self._mirror = self._mirror_ok(query)
        self.total = total
        self._pages = OrderedDict(pages)
        self._row_index = None
        self._schedule_index()
        self.loaded = True
        if self.cursor_row >= 0:
            self.cursor_row = new_row
        self._update_virtual_size()
        self.scroll_to_cursor(center=True)
        self.refresh()
        self._announce_cursor(force=True)
        self.post_message(self.WindowChanged(self))

    def _mirror_ok(self, query: ListQuery) -> bool:
        sort = query.sort or records.kind_spec(self.kind).default_sort
        if sort == "id":
            return True
        spec = records.kind_spec(self.kind).field(sort)
        return spec is not None and spec.type in _MIRRORABLE

    def _update_virtual_size(self) -> None:
        """The row count as the scroll range. Textual reflows the whole screen when a
        widget's virtual size changes (~15 ms of each filter keystroke on the main screen);
        the table's box never depends on its rows (its height is the space it is given,
        the vertical bar always shown), so only the bar and the scroll limits follow here,
        as the reflow would set them (tests/ui/test_filter_input.py)."""
        size = Size(max(1, self.scrollable_content_region.width), self.total + 1)
        if size == self.virtual_size:
            return
        if not self.is_mounted or self.styles.overflow_y != "scroll":
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def _fetch_page(self, page_no: int) -> list[RecordView]:
        """One page of the shown (applied) query, on the UI thread: ~10 ms."""
        query = self._applied
        offset = page_no * PAGE
        limit = min(PAGE, self.total - offset)
        if limit <= 0:
            return []
        if self._row_index is not None:
            ids = self._row_index[offset:offset + limit]
            rows = records.views_of(self.actor, self.kind, ids)
            if len(rows) != len(ids) and not self.busy:  # deleted meanwhile: count again
                self.call_later(lambda: self.reload(keep_id=self.anchor_id))
            return rows
        if self._mirror and offset > self.total // 2:
            # Offsets near the end are slow in SQL; the same rows, read from the other end.
            mirrored = replace(query, descending=not query.descending,
                               offset=self.total - offset - limit, limit=limit)
            page = records.list_records(self.actor, self.kind, mirrored)
            rows = list(reversed(page.rows))
        else:
            page = records.list_records(self.actor, self.kind,
                                        replace(query, offset=offset, limit=limit))
            rows = page.rows
        if page.total != self.total and not self.busy:
            self.call_later(lambda: self.reload(keep_id=self.anchor_id))
        return rows

    def _ensure_rows(self, first: int, last: int) -> None:
        """Load the pages covering rows first..last (inclusive) that are not cached."""
        if not self.kind or self.total == 0:
            return
        for page_no in range(max(0, first) // PAGE, min(last, self.total - 1) // PAGE + 1):
            if page_no in self._pages:
                self._pages.move_to_end(page_no)
                continue
            try:
                self._pages[page_no] = self._fetch_page(page_no)
            except Exception as exc:  # noqa: BLE001 - a toast, not a crash, mid-render
                self._pages[page_no] = []
                self.notify(str(exc), severity="error", markup=False)
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)

    def row_view(self, row: int) -> RecordView | None:
        """The record shown on row `row` (fetching its page if needed)."""
        if row < 0 or row >= self.total:
            return None
        page = self._pages.get(row // PAGE)
        if page is None:
            self._ensure_rows(row, row)
            page = self._pages.get(row // PAGE)
        if page is None:
            return None
        index = row % PAGE
        return page[index] if index < len(page) else None

    @property
    def current_view(self) -> RecordView | None:
        return self.row_view(self.cursor_row)

    @property
    def current_id(self) -> int | None:
        view = self.current_view
        return view.id if view else None

    @property
    def anchor_id(self) -> int | None:
        """The record the cursor is on, or is about to land on when a load is running."""
        if self.busy and self._pending_id is not None:
            return self._pending_id
        return self.current_id

    # --- geometry --------------------------------------------------------------------------

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    @property
    def first_visible(self) -> int:
        return int(self.scroll_y)

    def window(self) -> tuple[int, int, int]:
        """(first shown row 1-based, last shown row, total) for the status line."""
        if self.total == 0:
            return 0, 0, 0
        first = self.first_visible + 1
        last = min(self.total, self.first_visible + self.visible_rows)
        return first, last, self.total

    def scroll_to_cursor(self, *, center: bool = False) -> None:
        row = max(0, self.cursor_row)
        top = self.first_visible
        height = self.visible_rows
        if center and not (top <= row < top + height):
            target = max(0, row - height // 2)
        elif row < top:
            target = row
        elif row >= top + height:
            target = row - height + 1
        else:
            return
        self.scroll_to(y=target, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self._fitted_width = -1
        self._update_virtual_size()
        self.scroll_to_cursor()
        self.post_message(self.WindowChanged(self))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.WindowChanged(self))

    def _fitted_columns(self) -> list[Column]:
        width = self.scrollable_content_region.width
        if width != self._fitted_width:
            self._fitted = fit_widths(self._columns, width)
            self._fitted_width = width
        return self._fitted

    # --- drawing ---------------------------------------------------------------------------

    def render_lines(self, crop):  # noqa: ANN001, ANN201 - Textual's signature
        top = self.first_visible
        self._ensure_rows(top + crop.y - 1, top + crop.bottom)
        lines = super().render_lines(crop)
        if self.loaded:
            self._painted_rows = True
        if self.loaded and self._on_painted:
            # This frame shows rows: whoever waits for that runs once it is on screen.
            for callback in self._on_painted:
                self.call_later(callback)
            self._on_painted.clear()
        return lines

    def when_rows_painted(self, callback: Callable[[], object]) -> None:
        """Call `callback` once a frame with the loaded rows has been drawn."""
        if self._painted_rows:
            self.call_later(callback)  # rows are on screen already
        else:
            self._on_painted.append(callback)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._header_strip(width, base)
        row = self.first_visible + y - 1
        if row >= self.total:
            if row == 0 and self.loaded and self.kind:
                text = _cell(" " + _("Nothing here"), width)
                style = base + self.get_component_rich_style("record-table--dim")
                return Strip([Segment(text, style)], width)
            return Strip.blank(width, base)
        view = self.row_view(row)
        if view is None:
            return Strip([Segment(_cell(" …", width), base)], width)
        style = base
        if row == self.cursor_row:
            style = base + self.get_component_rich_style(
                "record-table--cursor" if self.has_focus else "record-table--cursor-blurred")
        segments = [Segment(" " * GAP, style)]
        for column in self._fitted_columns():
            text = self._cell_text(view, column)
            segments.append(Segment(_cell(text, column.width, column.right), style))
            segments.append(Segment(" " * GAP, style))
        return Strip(segments).adjust_cell_length(width, style)

    def _cell_text(self, view: RecordView, column: Column) -> str:
        if column.name == "deleted_at":
            from tui_crm.services.core.values import display

            return display("datetime", view.deleted_at)
        return view.display.get(column.name, "")

    def _header_strip(self, width: int, base: Style) -> Strip:
        header = base + self.get_component_rich_style("record-table--header")
        cursor = header + self.get_component_rich_style("record-table--header-cursor")
        segments = [Segment(" " * GAP, header)]
        sort = self.sort_name
        for index, column in enumerate(self._fitted_columns()):
            label = column.label
            if column.name == sort:
                label = f"{label} {'▼' if self.list_query.descending else '▲'}"
            style = cursor if (self.cursor_row == -1 and index == self.header_col) else header
            segments.append(Segment(_cell(label, column.width, column.right), style))
            segments.append(Segment(" " * GAP, header))
        return Strip(segments).adjust_cell_length(width, header)

    # --- cursor ------------------------------------------------------------------------------

    def _announce_cursor(self, *, force: bool = False) -> None:
        record_id = self.current_id if self.cursor_row >= 0 else self._last_cursor_id
        if force or record_id != self._last_cursor_id:
            self._last_cursor_id = record_id
            self.post_message(self.CursorMoved(self, record_id))

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row `row` (clamped), scroll it into view, tell the screen."""
        if self.total == 0:
            self.cursor_row = 0
        else:
            self.cursor_row = max(0, min(self.total - 1, row))
        self.scroll_to_cursor()
        self.refresh()
        self._announce_cursor()

    def action_cursor_up(self) -> None:
        if self.cursor_row == 0:
            self.cursor_row = -1  # onto the header: left/right choose, Enter sorts
            self.header_col = self._sort_index()
            self.scroll_to(y=0, animate=False, immediate=True)
            self.refresh()
        elif self.cursor_row > 0:
            self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        if self.cursor_row == -1:
            self.cursor_row = 0
            self.refresh()
            self._announce_cursor()
        else:
            self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(max(0, self.cursor_row) - self.visible_rows)
        self.scroll_to(y=max(0, self.first_visible - self.visible_rows), animate=False,
                       immediate=True)
        self.scroll_to_cursor()

    def action_page_down(self) -> None:
        self.move_cursor(max(0, self.cursor_row) + self.visible_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.total - 1)

    def action_header_left(self) -> None:
        if self.cursor_row == -1:
            self.header_col = max(0, self.header_col - 1)
            self.refresh()

    def action_header_right(self) -> None:
        if self.cursor_row == -1:
            self.header_col = min(len(self._fitted_columns()) - 1, self.header_col + 1)
            self.refresh()

    def action_select(self) -> None:
        if self.cursor_row == -1:
            columns = self._fitted_columns()
            if columns:
                self.sort_by(columns[self.header_col].name)
            return
        record_id = self.current_id
        if record_id is not None:
            self.post_message(self.Selected(self, record_id))

    # --- sorting -----------------------------------------------------------------------------

    def _sort_index(self) -> int:
        names = [c.name for c in self._fitted_columns()]
        return names.index(self.sort_name) if self.sort_name in names else 0

    def sort_by(self, name: str, descending: bool | None = None) -> None:
        """Sort by a column; the same column again flips the direction."""
        column = next((c for c in self._columns if c.name == name), None)
        if column is None or not column.sortable:
            self.notify(_("This column cannot be sorted"), severity="warning")
            return
        if descending is None:
            descending = (not self.list_query.descending) if name == self.sort_name else False
        keep = self.current_id
        self.list_query = replace(self.list_query, sort=name, descending=descending)
        self._load(keep_id=keep, row=0)

    def action_cycle_sort(self) -> None:
        sortable = [c.name for c in self._fitted_columns() if c.sortable]
        if not sortable:
            return
        current = self.sort_name
        index = (sortable.index(current) + 1) % len(sortable) if current in sortable else 0
        self.sort_by(sortable[index], descending=False)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_name, descending=not self.list_query.descending)

    # --- mouse -----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = GAP
            for column in self._fitted_columns():
                if x <= event.x < x + column.width + GAP:
                    self.sort_by(column.name)
                    return
                x += column.width + GAP
            return
        row = self.first_visible + event.y - 1
        if 0 <= row < self.total:
            self.move_cursor(row)
            if event.chain >= 2:
                self.action_select()

    def on_focus(self) -> None:
        self.refresh()
        if self.loaded and self._row_index is None:
            self._schedule_index()

    def on_blur(self) -> None:
        self.refresh()
        self._stop_index()
