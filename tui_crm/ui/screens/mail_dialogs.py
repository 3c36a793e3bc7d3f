"""The Mailings section's dialogs: choosing a template, an SMTP account's form, and the
template editor with a preview per recipient."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    Select,
    Static,
    TextArea,
)

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import (
    accounts,
    common,
    context,
    recipients,
    templates,
)
from tui_crm.services.mail.recipients import Candidate, RecipientSource
from tui_crm.ui.screens.mail_common import (
    attachments_text,
    candidate_label,
    preview_text,
    unknown_warning,
)
from tui_crm.ui.screens.settings import error_text
from tui_crm.ui.widgets import PlainTable, text_choices, translate_bindings


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
        select.set_options(text_choices((candidate_label(c), i)
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
                name=candidate_label(who), problem=error_text(exc))
            preview.update(Text(self.warning, style="bold red"))
            return
        self.warning = unknown_warning(shown.unknown) if shown.unknown else ""
        preview.update(preview_text(shown))

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
