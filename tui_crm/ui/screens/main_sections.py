"""The main screen's frame: the sections, each one's remembered state, the table, the
card and the panes, the counts in the sidebar and keeping all of it fresh. The keys and
what they do are `MainScreen`'s (screens/main.py).

One table, filter bar and detail pane serve every record section; each section keeps its
own filter, chips, sort, trash flag and selected record while the user visits others.
Below 110 columns the detail pane moves under the table and opens with Enter or `v`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Static
from textual.worker import Worker, WorkerState

from tui_crm.errors import CrmError
from tui_crm.i18n import _
from tui_crm.services.core import records, settings
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.ui.widgets import (
    FooterScreen,
    TextLine,
    translate_bindings,
    typed_actions,
)
from tui_crm.ui.widgets.detail_pane import DetailPane
from tui_crm.ui.widgets.filter_bar import (
    FilterBar,
    FilterField,
    describe_filters,
    filter_fields,
)
from tui_crm.ui.widgets.record_table import Column, RecordTable, format_count
from tui_crm.ui.widgets.sidebar import Sidebar
from tui_crm.ui.workers import forgets_worker

NARROW_WIDTH = 110


@dataclass
class SectionState:
    """What a section remembers while the user is elsewhere."""

    text: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    trash: bool = False
    cursor_id: int | None = None
    cursor_row: int = 0


def columns_for(kind: str, *, trash: bool = False) -> list[Column]:
    """The table columns of a section: its default columns plus custom fields."""
    out = []
    for spec in records.field_specs(kind):
        if spec.custom:
            out.append(Column(spec.name, spec.label, 12, spec.type, sortable=False))
        elif spec.column:
            out.append(Column(spec.name, settings.field_label(kind, spec.name), spec.width,
                              spec.type, sortable=not spec.is_repeatable))
    if trash:
        out.append(Column("deleted_at", _("Deleted"), 16, "datetime", sortable=False))
    return out


# Sections whose body is a pane of their own (not the record table): module, class, host id.
# A pane may have `reload()` (shown again, or data changed in another session), `release()`
# (its section is left: drop what is cheap to read again) and `shown_again()` (instead of
# `reload` when shown again).
PANES: dict[str, tuple[str, str, str]] = {
    "today": ("tui_crm.ui.screens.today", "TodayPane", "pane-today"),
    "followups": ("tui_crm.ui.screens.followups", "FollowupsPane", "pane-followups"),
    "reports": ("tui_crm.ui.screens.reports", "ReportsPane", "pane-reports"),
    "categories": ("tui_crm.ui.screens.categories", "CategoriesPane", "pane-categories"),
    "mailings": ("tui_crm.ui.screens.mailings", "MailingsPane", "pane-mailings"),
    "users": ("tui_crm.ui.screens.users_audit", "UsersPane", "pane-users"),
    "audit": ("tui_crm.ui.screens.users_audit", "AuditPane", "pane-audit"),
    "settings": ("tui_crm.ui.screens.settings", "SettingsPane", "settings-host"),
}


class SectionsScreen(FooterScreen):
    """Sections, table, card: what the main screen shows and keeps."""

    def __init__(self, actor: Actor, section: str | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.section = section or ""
        self.states: dict[str, SectionState] = {}
        # This session's changes, last first: (kind, id, title, the record before an edit
        # and the version the edit saved — both None for a deletion).
        self._typed = typed_actions(self.BINDINGS)  # actions a typed character runs
        self.undo_stack: list[tuple[str, int, str, RecordView | None, int | None]] = []
        self._fields: dict[str, list[FilterField]] = {}
        self._counts: dict[str, int] = {}
        self.detail_open = False  # narrow layout: the card is shown under the table
        self._first_page_shown = False
        self._awaiting_paint = False
        self._card_wanted: tuple[str, int | None] | None = None
        self._card_scheduled = False
        self._filter_timer: Timer | None = None

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The width classes before anything is styled: set after mounting, they restyle the
        # whole screen once more (~7 ms of the start-up in a narrow terminal).
        self._apply_width(self.app.size.width, update=False)
        yield TextLine(id="title-bar")
        with Horizontal(id="main-area"):
            yield Sidebar(id="sidebar")
            with ContentSwitcher(id="switcher", initial="records"):
                with Vertical(id="records"):
                    yield FilterBar(id="filter-bar")
                    with Container(id="body"):
                        yield RecordTable(self.actor, id="table")
                        yield DetailPane(self.actor, id="detail")
                    yield TextLine(id="status")
                for _module, _cls, host in PANES.values():
                    yield Vertical(id=host, classes="pane-host")
        # The footer (about a third of the first paint) is mounted once the first table
        # page is on screen: see `_window_changed`.

    def on_mount(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.rebuild(self.section)
        keys = [s.key for s in sidebar.sections]
        if self.section not in keys:
            self.section = next((k for k in keys if k != "settings"), "settings")
        self._apply_width(self.app.size.width)
        self.show_section(self.section)
        self.set_timer(0.5, self._mount_footer)  # a fallback; normally mounted sooner

    async def _mount_footer(self) -> None:
        if not self.query(Footer):
            await self.mount(Footer())
            self.show_footer(self.is_current)  # a dialog may be open already
            self.refresh_bindings()  # a late footer learns the keys from this signal

    def on_resize(self, event) -> None:  # noqa: ANN001 - textual Resize
        self._apply_width(event.size.width)

    def _apply_width(self, width: int, *, update: bool = True) -> None:
        narrow = width < NARROW_WIDTH
        self.set_class(narrow, "-narrow", update=update)
        self.set_class(self.detail_open, "-detail-open", update=update)

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def is_record_section(self) -> bool:
        return self.section in KINDS

    # --- sections ------------------------------------------------------------------------

    def state(self, kind: str | None = None) -> SectionState:
        return self.states.setdefault(kind or self.section, SectionState())

    def _save_state(self) -> None:
        if not self.is_record_section:
            return
        table = self.table
        state = self.state()
        state.text = self.filter_bar.text
        state.sort = table.list_query.sort
        state.descending = table.list_query.descending
        state.cursor_id = table.anchor_id
        state.cursor_row = max(0, table.cursor_row)

    def show_section(self, key: str, *, focus: bool = True) -> None:
        """Switch the main area to a section (keeping the one we leave as it was, less what
        is cheap to read again when it is shown next)."""
        if self.section != key:
            self._save_state()
            self._release(self.section)
        self.section = key
        self.sidebar.select_key(key)
        switcher = self.query_one(ContentSwitcher)
        if key in PANES:
            pane = self._show_pane(key)
            switcher.current = PANES[key][2]
            if focus and pane is not None:
                self.call_after_refresh(self._focus_pane, pane)
            self.call_after_refresh(self._first_paint_done)
        elif key in KINDS:
            switcher.current = "records"
            state = self.state()
            self._configure_table(keep_id=state.cursor_id, row=state.cursor_row)
            if focus:
                self.table.focus()
        self.update_title()
        self.refresh_bindings()

    def _release(self, key: str) -> None:
        """The section being left gives up its large data (the table's row index, a pane's
        computed result): a session that has visited every section would otherwise hold
        all of them at once. Showing the section again reads it anew."""
        if key in PANES:
            host = self.query_one(f"#{PANES[key][2]}", Vertical)
            release = getattr(host.children[0], "release", None) if host.children else None
            if release is not None:
                release()
        elif key in KINDS:
            self.table.release()
        rest = getattr(self.app, "rest_soon", None)
        if rest is not None:
            rest()

    def _configure_table(self, *, keep_id: int | None = None, row: int = 0,
                         locate: bool = False) -> None:
        kind = self.section
        state = self.state()
        self.filter_bar.set_text(state.text)
        self.filter_bar.set_chips(describe_filters(self.fields_of(kind), state.filters)
                                  if state.filters else "")
        self.detail.set_kind(kind)
        query = ListQuery(text=state.text, filters=dict(state.filters), sort=state.sort,
                          descending=state.descending, trash=state.trash)
        self.table.configure(kind, columns_for(kind, trash=state.trash), query, keep_id=keep_id,
                             row=row, locate=locate)

    def fields_of(self, kind: str) -> list[FilterField]:
        """The chips a section offers (read when first needed: a few queries)."""
        if kind not in self._fields:
            try:
                self._fields[kind] = filter_fields(self.actor, kind)
            except CrmError:
                self._fields[kind] = []
        return self._fields[kind]

    def _show_pane(self, key: str):  # noqa: ANN202 - the pane widget or None
        """Mount a pane section's body the first time; refresh it when coming back."""
        module_name, class_name, host_id = PANES[key]
        host = self.query_one(f"#{host_id}", Vertical)
        if host.children:
            pane = host.children[0]
            # `shown_again` where a full reload would be too heavy to run on every change
            # by another session (Categories recomputes only what it released).
            reload = getattr(pane, "shown_again", None) or getattr(pane, "reload", None)
            if reload is not None and key != "settings":
                reload()
            return pane
        try:
            import importlib

            pane_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            host.mount(Static(_("This section is not available in this build."), markup=False))
            return None
        pane = pane_class(self.actor)
        host.mount(pane)
        return pane

    async def _show_again(self, removal, key: str) -> None:  # noqa: ANN001 - an AwaitRemove
        """Show a pane section once its old body (in the old language) is gone: shown
        before, the old body was reused and then removed, leaving no pane and no keys."""
        await removal
        if self.section == key:
            self.show_section(key)

    def _focus_pane(self, pane) -> None:  # noqa: ANN001 - a mounted pane
        focusable = [w for w in pane.query("*") if w.focusable]
        if focusable:
            focusable[0].focus()

    def _show_settings(self) -> None:
        self._show_pane("settings")

    def section_name(self, key: str | None = None) -> str:
        return self.sidebar.name_of(key or self.section)

    def update_title(self) -> None:
        name = self.section_name()
        if self.is_record_section and self.state().trash:
            name = f"{name} — {_('Trash')}"
        who = self.actor.full_name or self.actor.login
        self.query_one("#title-bar", TextLine).update(f" tui-crm · {name}    {who}")
        self.app.sub_title = name

    def update_status(self) -> None:
        if not self.is_record_section:
            return
        table = self.table
        first, last, total = table.window()
        if total == 0:
            text = _("No records") if table.loaded else _("Loading…")
        else:
            text = _("{first}–{last} of {total}").format(
                first=format_count(first), last=format_count(last), total=format_count(total))
        state = self.state()
        if state.text or state.filters:
            text += "  · " + _("filtered")
        if state.trash:
            text += "  · " + _("trash: r restores, t goes back")
        column = next((c for c in table.columns if c.name == table.sort_name), None)
        if column is not None:
            arrow = "▼" if table.list_query.descending else "▲"
            text += "  · " + _("sorted by {column}").format(column=column.label) + f" {arrow}"
        self.query_one("#status", TextLine).update(" " + text)

    # --- counts --------------------------------------------------------------------------

    def refresh_counts(self) -> None:
        """Count each section's records in the background (a million events take a while)."""
        kinds = [s.key for s in self.sidebar.sections if s.key in KINDS]
        self.run_worker(forgets_worker(lambda: self._count(kinds)), thread=True, group="counts",
                        exclusive=True, exit_on_error=False)

    def _count(self, kinds: list[str]) -> dict[str, int]:
        """What the user can see: everyone's records, or their own ("own" visibility)."""
        from tui_crm.db.database import current

        actor = self.actor
        with current().connection_context():
            return {kind: records.total(kind) if actor.sees_all or not actor.can(kind, "view")
                    else records.count(actor, kind) for kind in kinds}

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "counts" and event.state == WorkerState.SUCCESS:
            self._counts = event.worker.result or {}
            self.sidebar.set_counts(self._counts)

    def _first_paint_done(self) -> None:
        """The first section is on screen: mount what waited for it (tabs, footer)."""
        if self._first_page_shown:
            return
        self._first_page_shown = True
        hook = getattr(self.app, "first_page_shown", None)
        if hook is not None:
            hook()  # before the work queued below
        if getattr(self.app, "exit_when_ready", False):
            return  # a start-up measurement: quit with the first page, start nothing else
        self.call_after_refresh(self.detail.build_tabs)
        self.call_after_refresh(self._mount_footer)
        # Counting a million events must not compete with the first page's query and paint.
        self.call_after_refresh(self.refresh_counts)

    # --- opening, card ------------------------------------------------------------------

    def open_card(self) -> None:
        """Enter on a row: show the card (under the table when narrow) and focus it."""
        if self.narrow and not self.detail_open:
            self.detail_open = True
            self._apply_width(self.app.size.width)
        self.detail.focus_card()

    def open_record(self, kind: str, record_id: int, *, card: bool = False) -> None:
        """Show a record in its section, clearing filters that would hide it; `card` keeps
        the keys in the card (a linked record opened from it)."""
        if kind not in KINDS:
            return
        if kind != self.section:
            self._save_state()
        state = self.state(kind)
        try:
            view = records.get(self.actor, kind, record_id)
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        state.text, state.filters = "", {}
        state.trash = view.deleted_at is not None
        state.cursor_id = record_id
        self.section = kind
        self.sidebar.select_key(kind)
        self.query_one(ContentSwitcher).current = "records"
        self._configure_table(keep_id=record_id, locate=True)
        self.detail.show_record(kind, record_id, force=True)
        if card:
            self.detail.focus_card()
        else:
            self.table.focus()
        self.update_title()
        self.refresh_bindings()

    # --- refreshing ---------------------------------------------------------------------------

    def refresh_data(self, *, keep_row: bool = False) -> None:
        """Reload the table and the card (another session changed something, or we did)."""
        if not self.is_record_section:
            return
        table = self.table
        table.reload(keep_id=None if keep_row else table.anchor_id)
        self.detail.show_record(self.section, self.detail.record_id, force=True)

    def external_change(self) -> None:
        """Another session committed: refresh what is shown, keeping the user's place."""
        self.refresh_data()
        self.refresh_counts()
        if self.section in PANES and self.section not in ("settings", "mailings"):
            host = self.query_one(f"#{PANES[self.section][2]}", Vertical)
            reload = getattr(host.children[0], "reload", None) if host.children else None
            if reload is not None:
                reload()

    def apply_settings(self) -> None:
        """Section names/visibility, labels or custom fields changed."""
        sidebar = self.sidebar
        sidebar.rebuild(self.section)
        sidebar.set_counts(self._counts)
        self._fields.clear()  # labels, custom fields and choices may have changed
        if self.is_record_section:
            self.table.set_columns(columns_for(self.section, trash=self.state().trash))
        self.update_title()
        self.refresh_counts()

    def apply_language(self, *, settings_too: bool = True) -> None:
        """Show every text on this screen in the current language."""
        translate_bindings(self)
        for node in self.walk_children():
            translate_bindings(node)
        self.sidebar.rebuild(self.section)
        self.sidebar.set_counts(self._counts)
        self.filter_bar.refresh_language()
        self.detail.refresh_language()
        if settings_too:
            for pane in self.query_one("#settings-host").children:
                rebuild = getattr(pane, "rebuild", None)
                if rebuild is not None:
                    rebuild()
        for key, (_module, _cls, host_id) in PANES.items():
            if key == "settings":
                continue
            host = self.query_one(f"#{host_id}", Vertical)
            if host.children:  # mounted again, in the new language, when next shown
                removal = host.remove_children()
                if self.section == key:
                    self.call_later(self._show_again, removal, key)
        if self.is_record_section:
            self._configure_table(keep_id=self.table.current_id,
                                  row=max(0, self.table.cursor_row))
        self.update_title()
        self.update_status()
        self.refresh_bindings()
