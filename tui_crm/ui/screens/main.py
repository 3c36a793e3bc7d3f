"""The main screen: sidebar of sections, the filterable table, the detail pane, the footer
— its keys and what they do. What it shows and how each section keeps its state is
`SectionsScreen`'s (screens/main_sections.py).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import records
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.ui.messages import OpenRecord, RecordChanged
from tui_crm.ui.screens.main_sections import (  # noqa: F401 - columns_for: re-exported
    SectionsScreen,
    columns_for,
)
from tui_crm.ui.terminal_keys import mac_option_digit
from tui_crm.ui.widgets import (
    typing_in_field,
)
from tui_crm.ui.widgets.detail_pane import DetailPane, primary_contact_value
from tui_crm.ui.widgets.filter_bar import (
    FilterBar,
    FilterDialog,
    describe_filters,
)
from tui_crm.ui.widgets.record_table import RecordTable
from tui_crm.ui.widgets.sidebar import Sidebar

SHORT_FILTER = 3  # characters: shorter filter text waits SHORT_FILTER_DELAY for more keys
SHORT_FILTER_DELAY = 0.3


class MainScreen(SectionsScreen):
    """Sections, table, card."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", N_("Filter"), id="main.filter"),
        Binding("f", "filters", N_("Chips"), id="main.chips"),
        Binding("a", "add", N_("Add"), id="main.add"),
        Binding("e", "edit", N_("Edit"), id="main.edit"),
        Binding("d", "delete", N_("Delete"), id="main.delete"),
        Binding("u", "undo", N_("Undo"), id="main.undo"),
        Binding("t", "trash", N_("Trash"), id="main.trash"),
        Binding("r", "restore", N_("Restore"), id="main.restore"),
        Binding("c", "copy", N_("Copy phone"), show=False, id="main.copy"),
        Binding("n,ctrl+down", "next_record", N_("Next record"), show=False, id="main.next"),
        Binding("p,ctrl+up", "previous_record", N_("Previous record"), show=False,
                id="main.previous"),
        Binding("v", "toggle_detail", N_("Card"), id="main.detail"),
        Binding("i", "import_file", N_("Import"), id="main.import"),
        Binding("x", "export_table", N_("Export"), id="main.export"),
        Binding("b", "deals_board", N_("Board"), id="main.board"),
        Binding("w", "document", N_("Document"), id="main.document"),
        Binding("D", "duplicates", N_("Duplicates"), id="main.duplicates"),
        Binding("ctrl+b", "toggle_sidebar", N_("Sidebar"), show=False, id="main.sidebar"),
        Binding("escape", "back", N_("Back"), show=False, id="main.back"),
        Binding("l", "log_contact", N_("Log call"), id="main.log"),
        # Sections by number: alt+digit (over SSH and in a browser too: the terminal sends
        # Esc and the digit, see ui/terminal_keys.py), and F1–F9 for terminals that keep alt
        # for themselves. A Mac's Option+digit character counts as well (`on_key`).
        *[Binding(f"alt+{n},f{n}", f"section_number({n})", N_("Section by number"),
                  show=False, id=f"main.section{n}") for n in range(1, 10)],
    ]

    RECORD_ACTIONS = {"filters", "add", "edit", "delete", "undo", "trash", "restore", "copy",
                      "log_contact",
                      "next_record", "previous_record", "toggle_detail", "focus_filter",
                      "import_file", "export_table", "deals_board", "document", "duplicates"}

    # --- messages from the widgets ------------------------------------------------------

    @on(Sidebar.SectionChosen)
    def _section_chosen(self, event: Sidebar.SectionChosen) -> None:
        self.show_section(event.key)

    def on_mount(self) -> None:
        # Textual calls SectionsScreen's own on_mount as well (each class's handler runs).
        self.filter_bar.tell_typing(self.filter_typed)

    def filter_typed(self, text: str) -> None:
        """The filter's text as the user types it: the table follows (longer text at once,
        one or two letters after a pause)."""
        if not self.is_record_section:
            return
        self.state().text = text
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if 0 < len(text.strip()) < SHORT_FILTER:
            # One or two letters match most of a big table and cost a full scan: wait for
            # the next key a moment (typing on cancels it); longer text is queried at once.
            self._filter_timer = self.set_timer(SHORT_FILTER_DELAY, self._apply_filter)
        else:
            self._apply_filter()

    def _apply_filter(self) -> None:
        self._filter_timer = None
        table = self.table
        table.list_query.text = self.state().text
        table.reload(reset=True)
        self.update_status()

    @on(FilterBar.Done)
    def _filter_done(self) -> None:
        self.table.focus()

    @on(FilterBar.ChipsClicked)
    def _chips_clicked(self) -> None:
        self.action_filters()

    @on(RecordTable.CursorMoved)
    def _cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self.state().cursor_id = event.record_id
        # The card follows after the table has repainted; moves within one frame (a held
        # key) load one card, not one each.
        self._card_wanted = (self.section, event.record_id)
        if not self._card_scheduled:
            self._card_scheduled = True
            self.call_after_refresh(self._show_wanted_card)

    def _show_wanted_card(self) -> None:
        self._card_scheduled = False
        if self._card_wanted is not None:
            kind, record_id = self._card_wanted
            if kind == self.section:
                self.detail.show_record(kind, record_id)

    @on(RecordTable.WindowChanged)
    def _window_changed(self) -> None:
        self.update_status()
        if not self._first_page_shown and self.table.loaded and not self._awaiting_paint:
            # Right after the first frame that shows rows, not a refresh or two later.
            self._awaiting_paint = True
            self.table.when_rows_painted(self._first_paint_done)

    @on(RecordTable.Selected)
    def _row_selected(self, event: RecordTable.Selected) -> None:
        self.open_card()

    @on(DetailPane.EditRequested)
    def _edit_requested(self, event: DetailPane.EditRequested) -> None:
        self.edit_record(event.kind, event.record_id)

    @on(DetailPane.AddPersonRequested)
    def _add_person(self, event: DetailPane.AddPersonRequested) -> None:
        form = self._form()
        if form is None or not self.actor.can("contacts", "edit"):
            return
        org_id = event.organization_id

        def done(result: object) -> None:
            if isinstance(result, RecordView):
                self.detail.show_record("organizations", org_id, force=True)
                self.refresh_counts()

        self.app.push_screen(form("contacts", self.actor, initial={"organization": org_id}),
                             done)

    @on(DetailPane.OpenRequested)
    def _open_requested(self, event: DetailPane.OpenRequested) -> None:
        self.detail.carry_tab_to(event.kind)
        self.open_record(event.kind, event.record_id, card=True)

    def on_record_changed(self, event: RecordChanged) -> None:
        """Another part of this session (Today, a dialog) changed a record."""
        event.stop()  # handled here; the app forwards only those of other screens
        self.refresh_data()
        self.refresh_counts()

    # --- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._typed and typing_in_field(self):
            return False  # typed into the filter: the footer must not offer the letter
        if action in self.RECORD_ACTIONS and not self.is_record_section:
            return False
        if action == "restore":
            return self.is_record_section and self.state().trash
        if action in ("delete", "undo") and self.is_record_section and self.state().trash:
            return False
        if action == "undo" and not self.undo_stack:
            return None  # shown greyed out
        if action in ("add", "edit") and self.is_record_section \
                and not self.actor.can(self.section, "edit"):
            return None
        if action == "toggle_detail":
            return self.narrow
        if action == "import_file":
            return self.section in ("organizations", "contacts") \
                and self.actor.can(self.section, "edit")
        if action == "export_table":
            return self.actor.can(self.section, "export") or None
        if action == "deals_board":
            return self.section == "deals"
        if action == "log_contact":
            return self.section in ("organizations", "contacts")
        if action == "document":  # from a live record (not one in the trash)
            return self.section in ("organizations", "contacts", "deals") \
                and not self.state().trash and self.table.current_id is not None
        if action == "duplicates":
            return self.section in ("organizations", "contacts") \
                and self.actor.can(self.section, "edit")
        return True

    def action_document(self) -> None:
        """Fill a .docx template (contract, invoice, letter) from the record under the cursor."""
        from tui_crm.services.transfer import documents
        from tui_crm.ui.screens.pick import PickModal

        kind, record_id = self.section, self.table.current_id
        if record_id is None:
            return
        try:
            templates = documents.list_templates()
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return

        def chosen(name: str | None) -> None:
            if not name:
                return
            from tui_crm.ui.delivery import in_browser, make_file

            template = documents.find_template(name)
            try:
                path, shown = make_file(self.app, str(documents.default_output(
                    template, kind, record_id)), lambda out: documents.render(
                        self.actor, template, kind, record_id, out))
            except CrmError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
                return
            self.app.notify((_("Document {name} sent to your browser") if in_browser(self.app)
                             else _("Document written to {path}")).format(
                name=shown, path=path), markup=False)

        choices = [(str(t), t.stem) for t in templates]
        self.app.push_screen(PickModal(_("Fill which template? (folder {folder})").format(
            folder=documents.templates_dir()), choices), chosen)

    def action_duplicates(self) -> None:
        """Scan the section for likely duplicates; Enter opens a pair side by side to merge."""
        from tui_crm.services.duplicates import merging
        from tui_crm.ui.screens.merge import MergeScreen
        from tui_crm.ui.screens.pick import PickModal

        kind = self.section
        try:
            pairs = merging.scan(self.actor, kind, limit=300)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return

        def chosen(key: str | None) -> None:
            if not key:
                return
            keep_id, other_id = (int(x) for x in key.split(":"))

            def merged(result: object) -> None:
                self.refresh_data()
                self.refresh_counts()

            self.app.push_screen(MergeScreen(self.actor, kind, keep_id, other_id), merged)

        choices = [(f"{p.keep_id}:{p.other_id}", p.describe()) for p in pairs]
        self.app.push_screen(PickModal(_("Likely duplicates: Enter compares and merges"),
                                       choices, _("No likely duplicates found.")), chosen)

    def action_import_file(self) -> None:
        from tui_crm.ui.screens.import_wizard import ImportWizard

        def done(result: object) -> None:
            self.refresh_data()
            self.refresh_counts()

        self.app.push_screen(ImportWizard(self.actor, self.section), done)

    def action_export_table(self) -> None:
        """Export the table as filtered and sorted on screen; the format follows the name."""
        from tui_crm.ui.screens.reports import ExportModal

        kind = self.section
        state = self.state()
        query = ListQuery(text=state.text, filters=dict(state.filters), sort=state.sort,
                          descending=state.descending, trash=state.trash)

        def chosen(path: str | None) -> None:
            if not path:
                return
            from tui_crm.services.transfer import exporting
            from tui_crm.ui.delivery import in_browser, make_file

            csv = path.lower().endswith(".csv")
            try:
                result, shown = make_file(self.app, path, lambda out: exporting.export(
                    self.actor, kind, out, query=query,
                    encoding=modal.encoding if csv else None))
            except CrmError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
                return
            self.app.notify((_("Exported {rows} rows to {name}, sent to your browser")
                             if in_browser(self.app) else _("Exported {rows} rows to {path}"))
                            .format(rows=result.rows, path=result.path, name=shown),
                            markup=False)
            for warning in result.warnings:
                self.app.notify(warning, severity="warning", markup=False, timeout=15)

        formats: tuple[str, ...] = ("xlsx", "csv", "ods", "html", "txt", "docx")
        if kind in ("organizations", "contacts"):
            formats += ("vcf",)
        if kind in ("events", "tasks"):
            formats += ("ics",)
        modal = ExportModal(f"{kind}.xlsx", formats)
        self.app.push_screen(modal, chosen)

    def action_deals_board(self) -> None:
        from tui_crm.ui.screens.deals_board import DealsBoardScreen

        self.app.push_screen(DealsBoardScreen(self.actor), lambda _r: self.refresh_data())

    def action_focus_filter(self) -> None:
        self.filter_bar.input.focus()

    def action_filters(self) -> None:
        kind = self.section
        fields = self.fields_of(kind)
        if not fields:
            self.notify(_("This section has no filters"), severity="warning")
            return
        title = _("Filters: {section}").format(section=self.section_name())

        def chosen(result: dict | None) -> None:
            if result is None:
                return
            state = self.state(kind)
            state.filters = result
            self.filter_bar.set_chips(describe_filters(fields, result))
            self.table.list_query.filters = dict(result)
            self.table.reload(reset=True)
            self.update_status()

        self.app.push_screen(FilterDialog(title, fields, self.state().filters), chosen)

    def _form(self):  # noqa: ANN202 - the RecordForm class or None
        try:
            from tui_crm.ui.screens.record_form import RecordForm
        except ImportError:
            self.notify(_("Forms are not available in this build."), severity="error")
            return None
        return RecordForm

    def action_add(self) -> None:
        form = self._form()
        if form is None:
            return
        kind = self.section
        self.app.push_screen(form(kind, self.actor), lambda result: self._form_done(kind, result))

    def action_edit(self) -> None:
        record_id = self.table.current_id
        if record_id is None:
            self.notify(_("No record selected"), severity="warning")
            return
        self.edit_record(self.section, record_id)

    def edit_record(self, kind: str, record_id: int) -> None:
        if self.state(kind).trash:
            self.notify(_("Restore the record first (r)"), severity="warning")
            return
        form = self._form()
        if form is None:
            return
        try:
            before = records.get(self.actor, kind, record_id)  # what `u` puts back
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return

        def done(result: object) -> None:
            if isinstance(result, RecordView) and result.version != before.version:
                self.undo_stack.append((kind, record_id, result.title, before, result.version))
                self.refresh_bindings()
            self._form_done(kind, result)

        self.app.push_screen(form(kind, self.actor, record_id), done)

    def _form_done(self, kind: str, result: object) -> None:
        if isinstance(result, RecordView):
            self._show_saved(result)
            self.refresh_counts()
        elif isinstance(result, OpenRecord):
            self.open_record(result.kind, result.id)

    def _show_saved(self, view: RecordView) -> None:
        """After a save, the record in its list — keeping the filter when the record still
        matches it (an edit must not turn 4 filtered rows into 601)."""
        if view.kind == self.section and self.is_record_section and not self.state().trash:
            query = self.table.list_query
            try:
                kept = records.position_of(self.actor, view.kind, query, view.id) is not None
            except CrmError:
                kept = False
            if kept:
                self.table.locate(view.id)
                self.detail.show_record(view.kind, view.id, force=True)
                return
        self.open_record(view.kind, view.id)

    def action_delete(self) -> None:
        view = self.table.current_view
        if view is None:
            return
        try:
            records.delete(self.actor, self.section, view.id)
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.undo_stack.append((self.section, view.id, view.title, None, None))
        self.notify(_("Moved to the trash: {title}. Press u to undo.").format(title=view.title),
                    markup=False)
        self.refresh_data(keep_row=True)
        self.refresh_counts()
        self.refresh_bindings()

    def action_section_number(self, number: int) -> None:
        """alt+N / F_N: the N-th section of the sidebar."""
        sections = self.sidebar.sections
        if 1 <= number <= len(sections):
            self.show_section(sections[number - 1].key)

    def on_key(self, event) -> None:  # noqa: ANN001 - a textual Key event
        """Option+digit on a Mac (a browser there types "™" for Option+2): alt+digit, unless
        a text box has the focus (then it is the character typed)."""
        digit = mac_option_digit(event.character)
        if digit and not typing_in_field(self):
            event.stop()
            self.action_section_number(int(digit))

    def action_log_contact(self) -> None:
        """`l`: log a call or meeting that just happened with the client on the card —
        type (c/m), result (a digit), next step (Enter takes the offered +1d)."""
        if self.section not in ("organizations", "contacts") or self.state().trash:
            self.notify(_("Calls and meetings are logged for clients only"), severity="warning")
            return
        view = self.table.current_view
        if view is None:
            self.notify(_("No record selected"), severity="warning")
            return
        from tui_crm.ui.screens.log_result import log_contact

        log_contact(self.app, self.actor, self.section, view.id, view.title,
                    then=lambda: self.refresh_data())

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify(_("Nothing to undo"), severity="warning")
            return
        kind, record_id, title, before, version = self.undo_stack.pop()
        try:
            if before is None:
                records.restore(self.actor, kind, record_id)
            else:
                records.revert(self.actor, before, version or 0)
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify((_("Restored: {title}") if before is None else
                     _("Edit undone: {title}")).format(title=title), markup=False)
        self.refresh_counts()
        self.refresh_bindings()
        if kind == self.section and not self.state().trash:
            self.table.reload(keep_id=record_id)
            self.table.locate(record_id)
        else:
            self.open_record(kind, record_id)

    def action_trash(self) -> None:
        state = self.state()
        state.trash = not state.trash
        state.cursor_id = None
        self._configure_table()
        self.update_title()
        self.refresh_bindings()
        self.notify(_("Trash: deleted records. r restores, t goes back.") if state.trash
                    else _("Back to the list"))

    def action_restore(self) -> None:
        view = self.table.current_view
        if view is None:
            return
        try:
            records.restore(self.actor, self.section, view.id)
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(_("Restored: {title}").format(title=view.title), markup=False)
        self.refresh_data(keep_row=True)
        self.refresh_counts()

    def action_copy(self) -> None:
        view = self.detail.view or self.table.current_view
        if view is None:
            return
        if not view.points:
            try:
                view = records.get(self.actor, self.section, view.id)
            except CrmError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
        value = primary_contact_value(view)
        if not value:
            self.notify(_("Nothing to copy"), severity="warning")
            return
        self.app.copy_to_clipboard(value)
        self.notify(_("Copied: {value}").format(value=value), markup=False)

    def action_next_record(self) -> None:
        self.table.move_cursor(self.table.cursor_row + 1)

    def action_previous_record(self) -> None:
        self.table.move_cursor(self.table.cursor_row - 1)

    def action_toggle_detail(self) -> None:
        self.detail_open = not self.detail_open
        self._apply_width(self.app.size.width)
        if not self.detail_open and self.detail.has_focus_within:
            self.table.focus()

    def action_toggle_sidebar(self) -> None:
        self.sidebar.display = not self.sidebar.display

    def action_back(self) -> None:
        if self.detail.has_focus_within:
            if self.narrow and self.detail_open:
                self.detail_open = False
                self._apply_width(self.app.size.width)
            self.table.focus()
        elif self.focused is self.table:
            self.sidebar.focus()
