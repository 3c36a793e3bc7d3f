"""The Mailings section: the list with progress and counts, the template editor with a preview
per recipient, the recipient picker, and the per-recipient status table where a mailing is
sent with a progress bar (a thread worker) and resumed after a crash.

Everything goes through `tui_crm.services.mail` (rights, visibility, opt-out and the
two-phase sending live there). Slow work — sending, choosing recipients — runs in thread
workers that wrap their database work in a connection context and report back with
messages, so the screen stays responsive and a stop request lands between two messages.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    Label,
)

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import (
    accounts,
    common,
    mailings,
    templates,
)
from tui_crm.text import dates
from tui_crm.ui.screens.mail_common import (
    progress_text,
)
from tui_crm.ui.screens.mail_dialogs import AccountForm, TemplateEditor, TemplatePicker
from tui_crm.ui.screens.mail_recipients import RecipientPicker
from tui_crm.ui.screens.mail_status import MailingStatusScreen
from tui_crm.ui.screens.settings import error_text
from tui_crm.ui.widgets import PlainTable, translate_bindings


class MailingsPane(Vertical):
    """The body of the Mailings section."""

    DEFAULT_CSS = """
    MailingsPane { height: 1fr; }
    MailingsPane #ml-title { text-style: bold; padding: 0 1; }
    MailingsPane #ml-table { height: 1fr; }
    MailingsPane #ml-buttons { height: auto; }
    MailingsPane #ml-buttons Button { margin-right: 1; min-width: 12; }
    """
    BINDINGS = [
        Binding("n", "new_mailing", N_("New mailing"), id="mailings.new"),
        Binding("t", "new_template", N_("New template"), id="mailings.template"),
        Binding("e", "edit_template", N_("Edit template"), id="mailings.edit_template"),
        Binding("a", "new_account", N_("New account"), id="mailings.account"),
        Binding("enter", "open_mailing", N_("Open"), id="mailings.open", show=False),
        Binding("s", "send", N_("Send / resume"), id="mailings.send"),
        Binding("r", "reload", N_("Refresh"), id="mailings.reload"),
    ]

    def __init__(self, actor: Actor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor = actor
        self.rows: list[mailings.MailingView] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="ml-title", markup=False)
        table = PlainTable(id="ml-table", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="ml-buttons"):
            yield Button(_("New mailing"), id="ml-new", variant="primary")
            yield Button(_("Templates"), id="ml-templates")
            yield Button(_("Accounts"), id="ml-accounts")

    def on_mount(self) -> None:
        translate_bindings(self)
        table = self.query_one(DataTable)
        for key, label in (("id", "#"), ("name", _("Name")), ("status", _("Status")),
                           ("progress", _("Progress")), ("sent", _("Sent")),
                           ("failed", _("Failed")), ("unknown", _("Unknown")),
                           ("created", _("Created"))):
            table.add_column(label, key=key)
        self.reload()
        table.focus()

    def reload(self) -> None:
        try:
            self.rows = mailings.list_mailings(self.actor)
        except CrmError as exc:
            self.app.notify(error_text(exc), severity="error", markup=False)
            return
        table = self.query_one(DataTable)
        keep = self.current()
        table.clear()
        for r in self.rows:
            table.add_row(
                str(r.id), r.name,
                Text(_(common.MAILING_STATUS_LABELS.get(r.status, r.status)),
                     style="bold yellow" if r.status in ("interrupted", "attention") else ""),
                progress_text(r.done, r.total), str(r.counts.get("sent", 0)),
                str(r.counts.get("failed", 0)), str(r.counts.get("unknown", 0)),
                dates.format_datetime(r.created_at) if r.created_at else "", key=str(r.id))
        if keep is not None and any(r.id == keep.id for r in self.rows):
            table.move_cursor(row=table.get_row_index(str(keep.id)))
        active = sum(1 for r in self.rows if r.status in ("sending", "interrupted", "stopped",
                                                           "waiting", "attention"))
        self.query_one("#ml-title", Label).update(
            _("{count} mailings · {active} not finished · templates: {templates}").format(
                count=len(self.rows), active=active,
                templates=len(templates.list_templates(self.actor))))

    def current(self) -> mailings.MailingView | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    # actions
    def action_reload(self) -> None:
        self.reload()

    def action_new_template(self) -> None:
        self.app.push_screen(TemplateEditor(self.actor), lambda _result: self.reload())

    def action_edit_template(self) -> None:
        found = templates.list_templates(self.actor)
        if not found:
            self.action_new_template()
            return
        self.app.push_screen(TemplatePicker(found), self._edit_chosen)

    def _edit_chosen(self, template_id: int | None) -> None:
        if template_id == TemplatePicker.NEW:
            self.action_new_template()
        elif template_id is not None:
            self.app.push_screen(TemplateEditor(self.actor, template_id),
                                 lambda _result: self.reload())

    def action_new_account(self) -> None:
        self.app.push_screen(AccountForm(self.actor), lambda _result: self.reload())

    def action_new_mailing(self) -> None:
        if not templates.list_templates(self.actor):
            self.app.notify(_("Write a template first (t)."), severity="warning", markup=False)
            return
        try:
            known = accounts.list_accounts(self.actor)
        except CrmError as exc:  # a viewer: no mail right, no servers and logins to see
            self.app.notify(error_text(exc), severity="error", markup=False)
            return
        if not known:
            self.app.notify(_("Add a mail account first (a)."), severity="warning",
                            markup=False)
            return
        self.app.push_screen(RecipientPicker(self.actor), self._created)

    def _created(self, mailing_id: int | None) -> None:
        self.reload()
        if mailing_id is not None:
            self.app.push_screen(MailingStatusScreen(self.actor, mailing_id),
                                 lambda _result: self.reload())

    def action_open_mailing(self, start: bool = False) -> None:
        row = self.current()
        if row is not None:
            self.app.push_screen(MailingStatusScreen(self.actor, row.id, start=start),
                                 lambda _result: self.reload())

    def action_send(self) -> None:
        self.action_open_mailing(start=True)

    @on(DataTable.RowSelected, "#ml-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_mailing()

    @on(Button.Pressed, "#ml-new")
    def _new_pressed(self) -> None:
        self.action_new_mailing()

    @on(Button.Pressed, "#ml-templates")
    def _templates_pressed(self) -> None:
        self.action_edit_template()

    @on(Button.Pressed, "#ml-accounts")
    def _accounts_pressed(self) -> None:
        self.action_new_account()


# --- small dialogs -----------------------------------------------------------------------------
