"""The recipient picker of a mailing: sources (a saved list, a segment, a filter), the
candidates with who is left out and why, saved recipient lists."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    Select,
    Static,
)
from textual.widgets.select import NoSelection

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import settings
from tui_crm.services.core.kinds import CATEGORY_CHOICES, KINDS
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import (
    accounts,
    common,
    context,
    mailings,
    recipient_lists,
    recipients,
    templates,
)
from tui_crm.services.mail.recipients import Candidate, RecipientSource
from tui_crm.ui.screens.mail_common import (
    TABLE_LIMIT,
    candidate_label,
    db_context,
    preview_text,
)
from tui_crm.ui.screens.settings import error_text
from tui_crm.ui.widgets import PlainTable, text_choices, translate_bindings
from tui_crm.ui.workers import forgets_worker


class RecipientPicker(ModalScreen[int | None]):
    """Choose template, account and recipients (search, group, category); untick people with
    Space; preview the message for the highlighted one; create the mailing."""

    DEFAULT_CSS = """
    RecipientPicker { align: center middle; }
    RecipientPicker > Vertical { width: 100%; height: 100%; border: thick $primary;
        background: $surface; padding: 0 1; }
    RecipientPicker Horizontal.row { height: auto; }
    RecipientPicker Horizontal.row Select { width: 1fr; }
    RecipientPicker Horizontal.row Input { width: 1fr; }
    RecipientPicker #rp-main { height: 1fr; }
    RecipientPicker #rp-table { width: 1fr; height: 1fr; }
    RecipientPicker #rp-preview { width: 1fr; height: 1fr; padding: 0 1;
        border-left: solid $primary; }
    RecipientPicker .error { color: $error; height: auto; }
    RecipientPicker Button { margin-right: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="picker.cancel"),
        Binding("ctrl+s", "create", N_("Create the mailing"), id="picker.create"),
        Binding("space", "include", N_("Include / leave out"), id="picker.toggle"),
    ]

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.candidates: list[Candidate] = []
        self.excluded: set[int] = set()
        self.source: RecipientSource | None = None

    def compose(self) -> ComposeResult:
        tpls = templates.list_templates(self.actor)
        accs = accounts.list_accounts(self.actor)
        with Vertical():
            yield Label(_("New mailing"), classes="title")
            with Horizontal(classes="row"):
                yield Select(text_choices((t.name, t.id) for t in tpls), prompt=_("Template"),
                             value=tpls[0].id if tpls else Select.NULL,
                             id="rp-template")
                yield Select(text_choices((f"{a.name} <{a.from_address}>", a.id) for a in accs),
                             prompt=_("Account"),
                             value=accs[0].id if accs else Select.NULL,
                             id="rp-account")
                yield Input(placeholder=_("Messages a minute (empty: no limit)"),
                            id="rp-rate", type="number")
            with Horizontal(classes="row"):
                yield Select([(_(KINDS[k].label), k) for k in common.KINDS], value="contacts",
                             allow_blank=False, id="rp-kind")
                yield Input(placeholder=_("Search (empty: everyone)"), id="rp-text")
                yield Select([], prompt=_("Any group"), id="rp-group")
                yield Select([(_(label), key) for key, label in CATEGORY_CHOICES.items()],
                             prompt=_("Any category"), id="rp-category")
                yield Button(_("Find"), id="rp-find")
            with Horizontal(classes="row"):
                yield Select(text_choices((n, n) for n in recipient_lists.names()),
                             prompt=_("Saved list"), id="rp-saved")
                yield Input(placeholder=_("Save these conditions as a list named…"),
                            id="rp-save-name")
                yield Button(_("Save list"), id="rp-save")
            yield Label("", id="rp-summary", markup=False)
            with Horizontal(id="rp-main"):
                yield PlainTable(id="rp-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="rp-preview", markup=False)
            yield Static("", classes="error", id="rp-error", markup=False)
            with Horizontal(classes="row"):
                yield Button(_("Create"), variant="primary", id="rp-create")
                yield Button(_("Cancel"), id="rp-cancel")

    def on_mount(self) -> None:
        translate_bindings(self)
        table = self.query_one("#rp-table", DataTable)
        table.add_column("", key="on", width=2)
        table.add_column(_("Name"), key="name")
        table.add_column(_("E-mail"), key="address")
        self._fill_groups()
        self.query_one("#rp-text", Input).focus()

    def _fill_groups(self) -> None:
        kind = str(self.query_one("#rp-kind", Select).value)
        self.query_one("#rp-group", Select).set_options(
            text_choices((name, name) for _gid, name, _parent in settings.groups(kind)))

    @on(Select.Changed, "#rp-kind")
    def _kind_changed(self) -> None:
        self._fill_groups()

    @on(Select.Changed, "#rp-saved")
    def _saved_chosen(self, event: Select.Changed) -> None:
        """Fill the conditions from a saved list (and find its recipients)."""
        if event.value is Select.NULL:
            return
        try:
            source = recipient_lists.load(str(event.value))
        except CrmError as exc:
            self._show_error(str(exc))
            return
        self.query_one("#rp-kind", Select).value = source.kind
        self._fill_groups()
        self.query_one("#rp-text", Input).value = source.text
        self.query_one("#rp-group", Select).value = source.group or Select.NULL
        self.query_one("#rp-category", Select).value = source.category or Select.NULL
        self.source = source
        self._find(source)

    @on(Button.Pressed, "#rp-save")
    def _save_list(self) -> None:
        name = self.query_one("#rp-save-name", Input).value.strip()
        try:
            recipient_lists.save(self.actor, name, self.current_source())
        except CrmError as exc:
            self._show_error(str(exc))
            return
        self.query_one("#rp-saved", Select).set_options(
            text_choices((n, n) for n in recipient_lists.names()))
        self.app.notify(_("Saved list {name!r}").format(name=name), markup=False)

    def current_source(self) -> RecipientSource:
        group = self.query_one("#rp-group", Select).value
        category = self.query_one("#rp-category", Select).value
        return RecipientSource(
            str(self.query_one("#rp-kind", Select).value),
            text=self.query_one("#rp-text", Input).value.strip(),
            group=None if group is Select.NULL else str(group),
            category=None if category is Select.NULL else str(category))

    def action_find(self) -> None:
        self.source = self.current_source()
        self.query_one("#rp-summary", Label).update(_("Looking…"))
        self._find(self.source)

    @work(thread=True, exclusive=True, group="mail-recipients", exit_on_error=False)
    @forgets_worker
    def _find(self, source: RecipientSource) -> None:
        try:
            with db_context():
                selection = recipients.select_recipients(self.actor, source)
        except CrmError as exc:
            self.app.call_from_thread(self._show_error, error_text(exc))
            return
        self.app.call_from_thread(self._show_found, selection)

    def _show_error(self, message: str) -> None:
        if not self.is_mounted:
            return
        self.query_one("#rp-summary", Label).update("")
        self.query_one("#rp-error", Static).update(message)

    def _show_found(self, selection: recipients.Selection) -> None:
        if not self.is_mounted:
            return
        self.candidates = selection.recipients
        self.excluded.clear()
        self.query_one("#rp-error", Static).update("")
        self.query_one("#rp-summary", Label).update(selection.summary())
        table = self.query_one("#rp-table", DataTable)
        table.clear()
        for i, c in enumerate(self.candidates[:TABLE_LIMIT]):
            table.add_row("✓", c.name, c.address, key=str(i))
        if self.candidates:
            table.move_cursor(row=0)
            table.focus()
        self.update_preview()

    def action_include(self) -> None:  # not action_toggle: DOMNode's, for attributes
        table = self.query_one("#rp-table", DataTable)
        if not self.candidates or table.cursor_row is None:
            return
        index = table.cursor_row
        if index in self.excluded:
            self.excluded.discard(index)
        else:
            self.excluded.add(index)
        table.update_cell(str(index), "on", "✓" if index not in self.excluded else "✗")
        included = len(self.candidates) - len(self.excluded)
        self.query_one("#rp-summary", Label).update(
            _("{count} of {total} chosen").format(count=included, total=len(self.candidates)))

    @on(DataTable.RowHighlighted, "#rp-table")
    def _highlighted(self) -> None:
        self.update_preview()

    def update_preview(self) -> None:
        preview = self.query_one("#rp-preview", Static)
        table = self.query_one("#rp-table", DataTable)
        template = self.query_one("#rp-template", Select).value
        if not self.candidates or table.cursor_row is None or isinstance(template, NoSelection):
            preview.update("")
            return
        who = self.candidates[min(table.cursor_row, len(self.candidates) - 1)]
        account = self.query_one("#rp-account", Select).value
        try:
            shown = context.preview_template(
                self.actor, int(template), kind=who.kind, record_id=who.record_id,
                account=None if isinstance(account, NoSelection) else int(account))
        except CrmError as exc:
            preview.update(Text(_("For {name}: {problem}").format(
                name=candidate_label(who), problem=error_text(exc)), style="bold red"))
            return
        preview.update(preview_text(shown))

    @on(Select.Changed, "#rp-template")
    @on(Select.Changed, "#rp-account")
    def _template_changed(self) -> None:
        self.update_preview()

    def action_create(self) -> None:
        error = self.query_one("#rp-error", Static)
        template = self.query_one("#rp-template", Select).value
        account = self.query_one("#rp-account", Select).value
        if isinstance(template, NoSelection) or isinstance(account, NoSelection):
            error.update(_("Choose a template and an account."))
            return
        if self.source is None or not self.candidates:
            error.update(_("Find the recipients first."))
            return
        chosen = [c.record_id for i, c in enumerate(self.candidates) if i not in self.excluded]
        if not chosen:
            error.update(_("Everybody is left out."))
            return
        rate_text = self.query_one("#rp-rate", Input).value.strip()
        try:
            rate = float(rate_text) if rate_text else None
        except ValueError:
            error.update(_("The rate is a number of messages a minute."))
            return
        source = RecipientSource(self.source.kind, text=self.source.text,
                                 filters=dict(self.source.filters), group=self.source.group,
                                 category=self.source.category, ids=chosen)
        try:
            view = mailings.create_mailing(self.actor, template=int(template),
                                          account=int(account), source=source,
                                          rate_per_minute=rate)
        except CrmError as exc:
            error.update(error_text(exc))
            return
        self.app.notify(_("Mailing #{id} created for {count} recipients.").format(
            id=view.id, count=view.total), markup=False)
        self.dismiss(view.id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#rp-text")
    @on(Button.Pressed, "#rp-find")
    def _find_pressed(self) -> None:
        self.action_find()

    @on(Button.Pressed, "#rp-create")
    def _create_pressed(self) -> None:
        self.action_create()

    @on(Button.Pressed, "#rp-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


# --- one mailing: status per recipient, sending --------------------------------------------------
