"""The Mailings section driven like a user, inside a tiny host app, against a real SMTP server
on loopback and a real SQLite file: write a template, preview it per recipient, pick the
recipients, send with the progress bar, decide on an interrupted message."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, ProgressBar, Select, Static, TextArea

from tests.unit.test_mailing import Recorder, SmtpServer, start_server
from tui_crm.db import open_database
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.db.models import Event, database_proxy
from tui_crm.i18n import set_language
from tui_crm.services.core import records, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import accounts, mailings, recipients, templates
from tui_crm.ui.screens.mail_dialogs import AccountForm, TemplateEditor
from tui_crm.ui.screens.mail_recipients import RecipientPicker
from tui_crm.ui.screens.mail_status import MailingStatusScreen
from tui_crm.ui.screens.mailings import MailingsPane


@dataclass
class Crm:
    actor: Actor
    contacts: dict[str, int]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_server(Recorder())
    yield server
    controller.stop()


@pytest.fixture
def crm(tmp_path: Path, smtp: SmtpServer) -> Iterator[Crm]:
    set_language("en")
    database = open_database(tmp_path / "data" / "mail-ui.sqlite3")
    actor = users.resolve_actor()
    romashka = records.create(actor, "organizations", {"name": "Romashka", "source": "Website"})
    contacts = {}
    for key, first, last, address in (("ivan", "Ivan", "Petrov", "ivan@romashka.test"),
                                      ("maria", "Maria", "Sidorova", "maria@romashka.test"),
                                      ("oleg", "Oleg", "Romashkin", "oleg@romashka.test")):
        contacts[key] = records.create(actor, "contacts", {
            "first_name": first, "last_name": last, "organization": romashka.id,
            "emails": [address]}).id
    records.create(actor, "contacts", {"first_name": "Nomail", "last_name": "Romashkov",
                                       "organization": romashka.id})
    accounts.add_account(actor, "office", host=smtp.host, port=smtp.port, security="none",
                        from_address="me@firm.test", from_name="Me")
    yield Crm(actor, contacts)
    if not database.is_closed():
        database.close()
    database_proxy.initialize(None)


class Host(App[None]):
    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        yield MailingsPane(self.actor)


async def typed(pilot: Pilot, text: str) -> None:
    for char in text:
        await pilot.press(char)


async def settle(pilot: Pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown(app: App, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def test_template_preview_pick_recipients_and_send(crm: Crm, smtp: SmtpServer) -> None:
    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        # Write a template; the preview follows the typing for the chosen recipient.
        await pilot.press("t")
        editor = app.screen
        assert isinstance(editor, TemplateEditor)
        await typed(pilot, "Offer")
        await pilot.press("tab")
        await typed(pilot, "Prices for {{ contact.first_name }}")
        body = editor.query_one("#te-body", TextArea)
        body.focus()
        await typed(pilot, "Hello ")
        body.insert("{{ contact.first_name }} of {{ org.name }}")  # pasted
        await typed(pilot, "!")
        await pilot.pause()
        preview = shown(app, "#te-preview")
        assert "Subject: Prices for Ivan" in preview
        assert "Hello Ivan of Romashka!" in preview and "ivan@romashka.test" in preview
        # Another recipient for the preview.
        maria = [c.address for c in editor.candidates].index("maria@romashka.test")
        editor.query_one("#te-recipient", Select).value = maria
        await pilot.pause()
        assert "Hello Maria of Romashka!" in shown(app, "#te-preview")
        # A missing field is named for that recipient.
        editor.query_one("#te-body", TextArea).insert(" {{ contact.nickname }}")
        await pilot.pause()
        assert "Missing field contact.nickname" in shown(app, "#te-preview")
        editor.query_one("#te-body", TextArea).text = "Hello {{ contact.first_name }} of " \
                                                      "{{ org.name }}!"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, TemplateEditor)  # saved and closed
        assert [t.name for t in templates.list_templates(crm.actor)] == ["Offer"]

        # Pick the recipients: search "Romashk", leave Oleg out.
        await pilot.press("n")
        picker = app.screen
        assert isinstance(picker, RecipientPicker)
        await typed(pilot, "Romashk")
        await pilot.press("enter")
        await settle(pilot)
        summary = str(picker.query_one("#rp-summary").content)
        assert "3 recipients" in summary and "1 without an e-mail" in summary
        table = picker.query_one("#rp-table", DataTable)
        assert table.row_count == 3
        rows = [table.get_row_at(i)[2] for i in range(3)]
        oleg = rows.index("oleg@romashka.test")
        table.focus()
        table.move_cursor(row=oleg)
        await pilot.pause()
        assert "Hello Oleg of Romashka!" in shown(app, "#rp-preview")
        await pilot.press("space")
        assert table.get_row_at(oleg)[0] == "✗"
        await pilot.press("ctrl+s")
        await pilot.pause()

        # The status screen: send with the progress bar.
        status = app.screen
        assert isinstance(status, MailingStatusScreen)
        (created,) = mailings.list_mailings(crm.actor)
        assert created.total == 2
        await pilot.press("s")
        await settle(pilot)
        bar = status.query_one("#ms-progress", ProgressBar)
        assert bar.total == 2 and bar.progress == 2
        statuses = status.query_one("#ms-table", DataTable)
        assert sorted(str(statuses.get_row_at(i)[2]) for i in range(2)) == ["sent", "sent"]

    received = smtp.recorder.per_address()
    assert received == {"me@firm.test": 1, "ivan@romashka.test": 1, "maria@romashka.test": 1}
    (ivan,) = smtp.recorder.to("ivan@romashka.test")
    assert ivan.message["Subject"] == "Prices for Ivan"
    assert "Hello Ivan of Romashka!" in ivan.body
    assert Event.select().where(Event.contact == crm.contacts["ivan"]).count() == 1


async def test_an_interrupted_mailing_is_resumed_and_decided(crm: Crm, smtp: SmtpServer
                                                             ) -> None:
    templates.add_template(crm.actor, "t", subject="S {{ contact.first_name }}", body="B")
    view = mailings.create_mailing(crm.actor, template="t", account="office",
                                  source=recipients.RecipientSource("contacts"))
    first = MailRecipient.select().where(MailRecipient.mailing == view.id).order_by(
        MailRecipient.id).first()
    # A crash left one row in `sending`, by a process that is gone.
    MailRecipient.update(status="sending").where(MailRecipient.id == first.id).execute()
    Mailing.update(status="sending", runner="nohost:1:dead", test_sent_at=Mailing.created_at
                   ).where(Mailing.id == view.id).execute()

    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        pane = app.query_one(MailingsPane)
        table = pane.query_one("#ml-table", DataTable)
        assert str(table.get_row_at(0)[2]) == "interrupted"
        await pilot.press("s")  # opens the mailing and resumes it
        await settle(pilot)
        status = app.screen
        assert isinstance(status, MailingStatusScreen)
        counts = str(status.query_one("#ms-counts").content)
        assert "sent 2" in counts and "unknown 1" in counts
        await pilot.press("m")  # a person decides: it did arrive
        await pilot.pause()
        assert "sent 3" in str(status.query_one("#ms-counts").content)
        await pilot.press("escape")
        await pilot.pause()
        assert str(table.get_row_at(0)[2]) == "done"
    assert smtp.recorder.to(first.address) == []  # never resent by the program


async def test_the_status_screen_names_recipients_whose_message_cannot_be_filled_in(
        crm: Crm, smtp: SmtpServer) -> None:
    records.create(crm.actor, "contacts", {"last_name": "Loner", "emails": ["lone@x.test"]})
    templates.add_template(crm.actor, "t", subject="For {{ org.name }}", body="B")
    mailings.create_mailing(crm.actor, template="t", account="office",
                           source=recipients.RecipientSource("contacts", text="Loner"))
    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MailingStatusScreen)
        warning = shown(app, "#ms-error")
        assert "Missing field org.name" in warning and "lone@x.test" in warning
    assert smtp.recorder.count() == 0


async def test_account_form_names_an_environment_variable(crm: Crm) -> None:
    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, AccountForm)
        await typed(pilot, "backup")
        for wid, text in (("#acc-host", "smtp.firm.test"), ("#acc-from", "bad-address")):
            form.query_one(wid, Input).value = text
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Invalid e-mail address" in shown(app, "#acc-error")
        form.query_one("#acc-from", Input).value = "sales@firm.test"
        form.query_one("#acc-login", Input).value = "sales"
        form.query_one("#acc-env", Input).value = "BACKUP_SMTP_PASSWORD"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, AccountForm)
    account = accounts.get_account(crm.actor, "backup")
    assert account.password_source == "env" and account.password_env == "BACKUP_SMTP_PASSWORD"


async def test_the_template_editor_keeps_files_and_shows_their_names_and_sizes(
        crm: Crm, tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_bytes(b"item;price\nromashka;100\n")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"admin only")
    link = tmp_path / "link.csv"
    link.symlink_to(secret)
    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        app.push_screen(TemplateEditor(crm.actor))
        await pilot.pause()
        editor = app.screen
        editor.query_one("#te-name", Input).value = "Offer"
        editor.query_one("#te-subject", Input).value = "Prices"
        editor.query_one("#te-attachments", Input).value = f"{prices}; {link}"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is editor  # refused, in one line, nothing saved
        assert shown(app, "#te-error") == f"{link} is a symbolic link, not the file itself"
        assert templates.list_templates(crm.actor) == []
        editor.query_one("#te-attachments", Input).value = str(prices)
        await pilot.press("ctrl+s")
        await pilot.pause()
        (saved,) = templates.list_templates(crm.actor)
        # Opened again: the file is named, with its size; the name keeps it when saved.
        prices.write_bytes(b"changed later")
        app.push_screen(TemplateEditor(crm.actor, saved.id))
        await pilot.pause()
        editor = app.screen
        assert editor.query_one("#te-attachments", Input).value == "prices.csv"
        assert "Kept with the template: prices.csv (24 B)." in shown(app, "#te-files")
        await pilot.press("ctrl+s")
        await pilot.pause()
    (again,) = templates.list_templates(crm.actor)
    assert again.attachments == saved.attachments


async def test_a_viewer_gets_a_message_not_the_accounts(crm: Crm) -> None:
    users.add_user(crm.actor, "vic", role="viewer")
    templates.add_template(crm.actor, "hello", subject="Hi", body="Hello")
    app = Host(users.actor_for("vic"))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")  # a new mailing needs an account, which a viewer may not see
        await settle(pilot)
        assert not isinstance(app.screen, RecipientPicker)
        messages = [n.message for n in app._notifications]  # noqa: SLF001 - Textual's list
        assert any("mail" in m and "\n" not in m for m in messages), messages


async def test_a_template_with_an_unknown_field_warns_on_preview_and_save(crm: Crm) -> None:
    """Issue 15: a field no recipient has ("{{ greeting }}", "{{ contact.nick }}") is named
    in the preview, and saving warns once before it keeps the template."""
    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        await pilot.press("t")
        editor = app.screen
        assert isinstance(editor, TemplateEditor)
        await typed(pilot, "Greeting")
        await pilot.press("tab")
        await typed(pilot, "Hi")
        editor.query_one("#te-body", TextArea).text = "{{ greeting }} {{ contact.first_name }}"
        await pilot.pause()
        assert "greeting" in shown(app, "#te-preview")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, TemplateEditor)  # warned, not saved yet
        assert "greeting" in shown(app, "#te-error") and "Save again" in shown(app, "#te-error")
        assert templates.list_templates(crm.actor) == []
        await pilot.press("ctrl+s")  # saving again keeps it as it is
        await pilot.pause()
        assert not isinstance(app.screen, TemplateEditor)
        assert [t.name for t in templates.list_templates(crm.actor)] == ["Greeting"]
