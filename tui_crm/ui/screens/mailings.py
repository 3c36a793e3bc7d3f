"""The Mailings section: the list with progress and counts, the template editor with a preview
per recipient, the recipient picker, and the per-recipient status table where a mailing is
sent with a progress bar (a thread worker) and resumed after a crash.

Everything goes through `tui_crm.services.mail` (rights, visibility, opt-out and the
two-phase sending live there). Slow work — sending, choosing recipients — runs in thread
workers that wrap their database work in a connection context and report back with
messages, so the screen stays responsive and a stop request lands between two messages.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TextArea,
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
    mail_files,
    mailings,
    message,
    recipient_lists,
    recipients,
    runner,
    templates,
)
from tui_crm.services.mail.recipients import Candidate, RecipientSource
from tui_crm.text import dates
from tui_crm.ui.screens.settings import error_text
from tui_crm.ui.widgets import PlainTable, text_choices, translate_bindings
from tui_crm.ui.workers import forgets_worker

TABLE_LIMIT = 1000  # rows a status table shows at once (filter by status for the rest)


def _db_context():  # noqa: ANN202 - a context manager
    """A connection of this worker thread, closed when the work is done."""
    from tui_crm.db.database import current

    return current().connection_context()


def progress_text(done: int, total: int, width: int = 10) -> Text:
    filled = round(width * done / total) if total else 0
    text = Text("█" * filled, style="green")
    text.append("░" * (width - filled), style="dim")
    text.append(f" {done}/{total}")
    return text


def status_style(status: str) -> str:
    return {"sent": "green", "failed": "red", "unknown": "bold yellow", "skipped": "dim",
            "sending": "cyan"}.get(status, "")


# --- the section -------------------------------------------------------------------------------


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


class TemplatePicker(ModalScreen[int | None]):
    """Choose a template to edit; dismisses with its id, NEW for a new one, None to cancel."""

    NEW = -1
    DEFAULT_CSS = """
    TemplatePicker { align: center middle; }
    TemplatePicker > Vertical { width: 70; max-width: 100%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1; }
    TemplatePicker DataTable { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="template-picker.cancel")]

    def __init__(self, choices: list[templates.TemplateView]) -> None:
        super().__init__()
        self.templates = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Choose a template to edit (Enter), or press Escape"))
            yield PlainTable(id="tp-table", cursor_type="row")
            yield Button(_("New template"), id="tp-new")

    def on_mount(self) -> None:
        translate_bindings(self)
        table = self.query_one(DataTable)
        table.add_columns(_("Name"), _("Subject"))
        for t in self.templates:
            table.add_row(t.name, t.subject, key=str(t.id))
        table.focus()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.dismiss(int(str(event.row_key.value)))  # the template's id, as the row key

    @on(Button.Pressed, "#tp-new")
    def _new(self) -> None:
        self.dismiss(self.NEW)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AccountForm(ModalScreen[accounts.AccountView | None]):
    """A new SMTP account. A typed password goes to the system keyring (refused when the
    keyring is not secure, with the options that work); or name an environment variable."""

    DEFAULT_CSS = """
    AccountForm { align: center middle; }
    AccountForm > VerticalScroll { width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    AccountForm Horizontal { height: auto; }
    AccountForm Button { margin-right: 1; }
    AccountForm .error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="account.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="account.save"),
    ]

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(_("New mail account"), classes="title")
            yield Input(placeholder=_("Name, e.g. office"), id="acc-name")
            yield Input(placeholder=_("SMTP server, e.g. smtp.yandex.ru"), id="acc-host")
            with Horizontal():
                yield Select([(_(label), key) for key, label in accounts.SECURITY.items()],
                             value="starttls", allow_blank=False, id="acc-security")
                yield Input(placeholder=_("Port (empty: the usual one)"), id="acc-port",
                            type="integer")
            yield Input(placeholder=_("From address"), id="acc-from")
            yield Input(placeholder=_("From name"), id="acc-from-name")
            yield Input(placeholder=_("Login (empty: no login)"), id="acc-login")
            yield Input(placeholder=_("Password (kept in the system keyring)"), password=True,
                        id="acc-password")
            yield Input(placeholder=_("…or the environment variable that holds it"),
                        id="acc-env")
            yield Static("", classes="error", id="acc-error", markup=False)
            with Horizontal():
                yield Button(_("Save"), variant="primary", id="acc-save")
                yield Button(_("Cancel"), id="acc-cancel")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#acc-name", Input).focus()

    def _value(self, wid: str) -> str:
        return self.query_one(wid, Input).value.strip()

    def action_save(self) -> None:
        try:
            view = accounts.add_account(
                self.actor, self._value("#acc-name"), host=self._value("#acc-host"),
                port=self._value("#acc-port") or None,
                security=str(self.query_one("#acc-security", Select).value),
                from_address=self._value("#acc-from"), from_name=self._value("#acc-from-name"),
                login=self._value("#acc-login"),
                password=self.query_one("#acc-password", Input).value or None,
                password_env=self._value("#acc-env") or None)
        except CrmError as exc:
            self.query_one("#acc-error", Static).update(error_text(exc))
            return
        finally:
            self.query_one("#acc-password", Input).value = ""  # do not keep it on screen
        self.dismiss(view)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#acc-save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#acc-cancel")
    def _cancel(self) -> None:
        self.action_cancel()


# --- the template editor -----------------------------------------------------------------------


def _candidate_label(c: Candidate) -> str:
    return f"{c.name} <{c.address}>" if c.name else c.address


def attachments_text(attachments: list[mail_files.Attachment]) -> str:
    """What the template keeps: each file's name and size, and any file an upgrade could
    not keep."""
    if not attachments:
        return ""
    lines = [_("Kept with the template: {files}. A name keeps its file; a path attaches the "
               "file as it is now.").format(
        files=", ".join(a.label() for a in attachments if not a.problem) or "—")]
    lines += mail_files.problems(attachments)
    return "\n".join(lines)


def _preview_text(shown: context.Preview) -> Text:
    text = Text()
    if shown.unknown:
        text.append(_unknown_warning(shown.unknown) + "\n", style="bold yellow")
    text.append(_("To: {name} <{address}>").format(name=shown.to_name,
                                                    address=shown.to_address), style="dim")
    text.append("\n")
    text.append(_("Subject: {subject}").format(subject=shown.subject), style="bold")
    for attachment in shown.attachments:
        text.append("\n" + _("Attachment: {path}").format(path=attachment.label()), style="dim")
    text.append("\n\n")
    text.append(message.html_to_text(shown.body) if shown.html else shown.body)
    return text


def _unknown_warning(fields: list[str]) -> str:
    return _("Unknown fields, shown blank: {fields}").format(
        fields=", ".join("{{ " + f + " }}" for f in fields))


class TemplateEditor(ModalScreen[templates.TemplateView | None]):
    """Subject and body with fields ({{ contact.first_name }}, {{ org.name }}, …), previewed
    live for a chosen recipient; a missing field is shown for that recipient."""

    DEFAULT_CSS = """
    TemplateEditor { align: center middle; }
    TemplateEditor > Horizontal { width: 100%; height: 100%; border: thick $primary;
        background: $surface; }
    TemplateEditor #te-left { width: 1fr; padding: 0 1; }
    TemplateEditor #te-right { width: 1fr; padding: 0 1; border-left: solid $primary; }
    TemplateEditor #te-body { height: 1fr; min-height: 6; }
    TemplateEditor #te-preview { height: 1fr; }
    TemplateEditor .hint { color: $text-muted; height: auto; }
    TemplateEditor .error { color: $error; height: auto; }
    TemplateEditor Horizontal.row { height: auto; }
    TemplateEditor Button { margin-right: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="template.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="template.save"),
    ]

    def __init__(self, actor: Actor, template_id: int | None = None) -> None:
        super().__init__()
        self.actor = actor
        self.template_id = template_id
        self.version: int | None = None
        self.candidates: list[Candidate] = []
        self.contexts: dict[tuple[str, int], dict] = {}  # the fields of each previewed record
        self.warning = ""  # what the preview found wrong (unknown or missing fields)
        self._warned = ""  # the warning a save already showed

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="te-left"):
                yield Label(_("Template"), classes="title")
                yield Input(placeholder=_("Template name"), id="te-name")
                yield Input(placeholder=_("Subject, e.g. Prices for {{ org.name }}"),
                            id="te-subject")
                yield TextArea("", id="te-body")
                with Horizontal(classes="row"):
                    yield Checkbox(_("HTML"), id="te-html")
                    yield Input(placeholder=_("Attachments: file paths separated by ;"),
                                id="te-attachments")
                yield Static("", classes="hint", id="te-files", markup=False)
                yield Label(_("Fields: contact.first_name, contact.last_name, org.name, "
                              "org.city, owner.full_name, sender.name, recipient.email, "
                              "custom fields by name; {{ x|default('…') }} for optional ones."),
                            classes="hint", markup=False)
                yield Static("", classes="error", id="te-error", markup=False)
                with Horizontal(classes="row"):
                    yield Button(_("Save"), variant="primary", id="te-save")
                    yield Button(_("Cancel"), id="te-cancel")
            with Vertical(id="te-right"):
                yield Label(_("Preview for"), classes="title")
                with Horizontal(classes="row"):
                    yield Select([(_(KINDS[k].label), k) for k in common.KINDS],
                                 value="contacts", allow_blank=False, id="te-kind")
                    yield Input(placeholder=_("Find a recipient"), id="te-find")
                yield Select([], prompt=_("Recipient"), id="te-recipient")
                yield Static("", id="te-preview", markup=False)

    def on_mount(self) -> None:
        translate_bindings(self)
        if self.template_id is not None:
            try:
                t = templates.get_template(self.actor, self.template_id)
            except CrmError as exc:
                self.app.notify(error_text(exc), severity="error", markup=False)
                self.dismiss(None)
                return
            self.version = t.version
            self.query_one("#te-name", Input).value = t.name
            self.query_one("#te-subject", Input).value = t.subject
            self.query_one("#te-body", TextArea).text = t.body
            self.query_one("#te-html", Checkbox).value = t.html
            kept = [a for a in t.attachments if not a.problem]
            self.query_one("#te-attachments", Input).value = "; ".join(a.name for a in kept)
            self.query_one("#te-files", Static).update(attachments_text(t.attachments))
        self.find_recipients()
        self.query_one("#te-name", Input).focus()

    # recipients for the preview
    def find_recipients(self) -> None:
        kind = str(self.query_one("#te-kind", Select).value)
        text = self.query_one("#te-find", Input).value.strip()
        try:
            self.candidates = recipients.select_recipients(
                self.actor, RecipientSource(kind, text=text)).recipients[:200]
        except CrmError as exc:
            self.candidates = []
            self.query_one("#te-preview", Static).update(error_text(exc))
        select = self.query_one("#te-recipient", Select)
        select.set_options(text_choices((_candidate_label(c), i)
                                        for i, c in enumerate(self.candidates)))
        if self.candidates:
            select.value = 0
        self.update_preview()

    @on(Select.Changed, "#te-kind")
    def _kind_changed(self) -> None:
        self.find_recipients()

    @on(Input.Changed, "#te-find")  # (Enter would only repeat the search just made)
    def _find_changed(self) -> None:
        self.find_recipients()

    @on(Select.Changed, "#te-recipient")
    @on(Input.Changed, "#te-subject")
    @on(TextArea.Changed, "#te-body")
    @on(Checkbox.Changed, "#te-html")
    def _changed(self) -> None:
        self.update_preview()

    def chosen(self) -> Candidate | None:
        value = self.query_one("#te-recipient", Select).value
        if isinstance(value, int) and 0 <= value < len(self.candidates):
            return self.candidates[value]
        return None

    def update_preview(self) -> None:
        preview = self.query_one("#te-preview", Static)
        who = self.chosen()
        if who is None:
            preview.update(_("Nobody with an e-mail to preview for."))
            return
        try:
            key = (who.kind, who.record_id)
            if key not in self.contexts:
                self.contexts[key] = context.recipient_context(self.actor, *key)
            shown = context.render_preview(
                self.contexts[key], subject=self.query_one("#te-subject", Input).value,
                body=self.query_one("#te-body", TextArea).text,
                html=self.query_one("#te-html", Checkbox).value)
        except CrmError as exc:
            self.warning = _("For {name}: {problem}").format(
                name=_candidate_label(who), problem=error_text(exc))
            preview.update(Text(self.warning, style="bold red"))
            return
        self.warning = _unknown_warning(shown.unknown) if shown.unknown else ""
        preview.update(_preview_text(shown))

    # saving
    def action_save(self) -> None:
        self.update_preview()
        if self.warning and self.warning != self._warned:
            # A field the recipients have not goes out blank or stops the send: say so
            # once; a second save keeps the template as it is.
            self._warned = self.warning
            self.query_one("#te-error", Static).update(
                self.warning + " " + _("Save again to keep it as it is."))
            return
        raw = self.query_one("#te-attachments", Input).value
        values: dict[str, Any] = {
            "name": self.query_one("#te-name", Input).value,
            "subject": self.query_one("#te-subject", Input).value,
            "body": self.query_one("#te-body", TextArea).text,
            "html": self.query_one("#te-html", Checkbox).value,
            "attachments": [p.strip() for p in raw.split(";") if p.strip()],
        }
        try:
            if self.template_id is None:
                saved = templates.add_template(self.actor, values.pop("name"), **values)
            else:
                saved = templates.update_template(self.actor, self.template_id,
                                                expected_version=self.version, **values)
        except CrmError as exc:
            self.query_one("#te-error", Static).update(error_text(exc))
            return
        self.app.notify(_("Template {name} saved.").format(name=saved.name), markup=False)
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#te-save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#te-cancel")
    def _cancel(self) -> None:
        self.action_cancel()


# --- the recipient picker ----------------------------------------------------------------------


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
            with _db_context():
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
                name=_candidate_label(who), problem=error_text(exc)), style="bold red"))
            return
        preview.update(_preview_text(shown))

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


class SendProgress(Message):
    """Posted by the sending thread after each recipient."""

    def __init__(self, progress: runner.Progress) -> None:
        super().__init__()
        self.progress = progress


class SendFinished(Message):
    """The sending thread ended: with a report, or with the reason it stopped."""

    def __init__(self, report: runner.SendReport | None, error: str = "") -> None:
        super().__init__()
        self.report = report
        self.error = error


class MailingStatusScreen(ModalScreen[None]):
    """A mailing's recipients with their status; send, stop, resume and decide on unknowns."""

    DEFAULT_CSS = """
    MailingStatusScreen { align: center middle; }
    MailingStatusScreen > Vertical { width: 100%; height: 100%; border: thick $primary;
        background: $surface; padding: 0 1; }
    MailingStatusScreen #ms-title { text-style: bold; }
    MailingStatusScreen Horizontal.row { height: auto; }
    MailingStatusScreen #ms-progress { width: 1fr; }
    MailingStatusScreen #ms-table { height: 1fr; }
    MailingStatusScreen Button { margin-right: 1; }
    MailingStatusScreen .error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="mailing.close"),
        Binding("s", "send", N_("Send / resume"), id="mailing.send"),
        Binding("x", "stop", N_("Stop"), id="mailing.stop"),
        Binding("t", "send_test", N_("Test to me"), id="mailing.test"),
        Binding("m", "mark_sent", N_("Unknown: mark sent"), id="mailing.mark_sent"),
        Binding("R", "resend", N_("Unknown: resend"), id="mailing.resend"),
        Binding("f", "cycle_filter", N_("Filter by status"), id="mailing.filter"),
    ]

    def __init__(self, actor: Actor, mailing_id: int, *, start: bool = False) -> None:
        super().__init__()
        self.actor = actor
        self.mailing_id = mailing_id
        self.start = start
        self.stop_event: threading.Event | None = None
        self.filter: str | None = None

    @property
    def sending(self) -> bool:
        return self.stop_event is not None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("", id="ms-title", markup=False)
            with Horizontal(classes="row"):
                yield ProgressBar(id="ms-progress", show_eta=False)
                yield Label("", id="ms-counts", markup=False)
            yield PlainTable(id="ms-table", cursor_type="row", zebra_stripes=True)
            yield Static("", classes="error", id="ms-error", markup=False)
            with Horizontal(classes="row"):
                yield Button(_("Send"), variant="primary", id="ms-send")
                yield Button(_("Stop"), id="ms-stop", disabled=True)
                yield Button(_("Test to me"), id="ms-test")
                yield Button(_("Close"), id="ms-close")

    def on_mount(self) -> None:
        translate_bindings(self)
        table = self.query_one(DataTable)
        for key, label in (("name", _("Name")), ("address", _("E-mail")),
                           ("status", _("Status")), ("attempts", _("Tries")),
                           ("reply", _("Server reply"))):
            table.add_column(label, key=key)
        self.refresh_all()
        table.focus()
        if self.start:
            self.action_send()
        else:
            self._check_problems()

    @work(thread=True, exclusive=True, group="mail-problems", exit_on_error=False)
    @forgets_worker
    def _check_problems(self) -> None:
        """Name the recipients whose message cannot be filled in, before anything is sent."""
        try:
            with _db_context():
                found = context.problems(self.actor, self.mailing_id)
        except CrmError:
            return
        if found:
            first = found[0]
            text = _("{count} recipients' messages cannot be filled in:").format(
                count=len(found)) + f" {first.name} <{first.address}>: {first.message}"
            self.app.call_from_thread(self._warn, text)

    def _warn(self, text: str) -> None:
        if self.is_mounted and not self.sending:
            self.query_one("#ms-error", Static).update(text)

    def refresh_all(self) -> None:
        try:
            view = mailings.get_mailing(self.actor, self.mailing_id)
            rows = mailings.list_recipients(self.actor, self.mailing_id, status=self.filter,
                                           limit=TABLE_LIMIT)
        except CrmError as exc:
            self.query_one("#ms-error", Static).update(error_text(exc))
            return
        status = _(common.MAILING_STATUS_LABELS.get(view.status, view.status))
        shown = _(common.STATUS_LABELS[self.filter]) if self.filter else _("all")
        self.query_one("#ms-title", Label).update(
            _("Mailing #{id} {name} · {subject} · {status} · showing: {shown}").format(
                id=view.id, name=view.name, subject=view.subject, status=status, shown=shown))
        self.show_counts(view.counts)
        table = self.query_one(DataTable)
        table.clear()
        for r in rows:
            table.add_row(r.name, r.address,
                          Text(_(common.STATUS_LABELS[r.status]), style=status_style(r.status)),
                          str(r.attempts), r.reply, key=str(r.id))
        send = self.query_one("#ms-send", Button)
        send.label = _("Resume") if view.started_at else _("Send")

    def show_counts(self, counts: dict[str, int]) -> None:
        self.query_one("#ms-progress", ProgressBar).update(
            total=sum(counts.values()) or None, progress=mailings.handled(counts))
        self.query_one("#ms-counts", Label).update(" " + mailings.counts_line(counts))

    # sending
    def action_send(self) -> None:
        if self.sending:
            return
        self.query_one("#ms-error", Static).update("")
        self.stop_event = threading.Event()
        self.query_one("#ms-send", Button).disabled = True
        self.query_one("#ms-stop", Button).disabled = False
        self._send(self.stop_event)

    @work(thread=True, exclusive=True, group="mail-send", exit_on_error=False)
    @forgets_worker
    def _send(self, stop: threading.Event) -> None:
        report = None
        error = ""
        try:
            with _db_context():
                report = runner.resume(self.actor, self.mailing_id, stop=stop,
                                        progress=lambda p: self.post_message(SendProgress(p)))
        except CrmError as exc:
            error = error_text(exc)
        self.post_message(SendFinished(report, error))

    @on(SendProgress)
    def _progressed(self, message: SendProgress) -> None:
        self.show_counts(message.progress.counts)

    @on(SendFinished)
    def _finished(self, message: SendFinished) -> None:
        self.stop_event = None
        self.query_one("#ms-send", Button).disabled = False
        self.query_one("#ms-stop", Button).disabled = True
        self.refresh_all()
        if message.error:
            self.query_one("#ms-error", Static).update(message.error)
            self.app.notify(message.error, severity="error", markup=False)
            return
        report = message.report
        if report is not None:
            note = _("Sent {sent}, failed {failed}.").format(sent=report.sent_now,
                                                             failed=report.failed_now)
            if report.became_unknown:
                note += " " + _("{count} were interrupted last time: decide on them (m / R)."
                                ).format(count=report.became_unknown)
            self.app.notify(note, markup=False)

    def action_stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
            self.query_one("#ms-error", Static).update(
                _("Stopping after the current message…"))

    def action_send_test(self) -> None:
        if self.sending:
            return
        try:
            reply = runner.send_test(self.actor, self.mailing_id)
        except CrmError as exc:
            self.query_one("#ms-error", Static).update(error_text(exc))
            return
        self.app.notify(_("Test message sent to you: {reply}").format(reply=reply),
                        markup=False)

    def _decide(self, resend: bool) -> None:
        if self.sending:
            return
        try:
            changed = runner.resolve_unknown(self.actor, self.mailing_id, resend=resend)
        except CrmError as exc:
            self.query_one("#ms-error", Static).update(error_text(exc))
            return
        self.app.notify(_("{count} unknown messages decided.").format(count=changed),
                        markup=False)
        self.refresh_all()

    def action_mark_sent(self) -> None:
        self._decide(resend=False)

    def action_resend(self) -> None:
        self._decide(resend=True)

    def action_cycle_filter(self) -> None:
        order = [None, "unknown", "failed", "pending", "sent", "skipped"]
        self.filter = order[(order.index(self.filter) + 1) % len(order)]
        self.refresh_all()

    def action_close(self) -> None:
        if self.sending:
            self.query_one("#ms-error", Static).update(
                _("Sending is in progress: stop it first (x)."))
            return
        self.dismiss(None)

    @on(Button.Pressed, "#ms-send")
    def _send_pressed(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#ms-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    @on(Button.Pressed, "#ms-test")
    def _test_pressed(self) -> None:
        self.action_send_test()

    @on(Button.Pressed, "#ms-close")
    def _close_pressed(self) -> None:
        self.action_close()
