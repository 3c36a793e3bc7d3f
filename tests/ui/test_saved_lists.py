"""Saved recipient lists: kept under a name, resolved again with today's records, used by
the CLI's `mail create --list` and offered in the recipient picker."""

from __future__ import annotations

import pytest

# The mailing UI tests' fixtures (a real SMTP server on loopback and a small base) are used
# here too; imported into this module, they take the place of the shared `crm` fixture.
from tests.ui.test_mailings_ui import Crm, Host, crm, settle, smtp  # noqa: F401
from tui_crm.cli.main import main
from tui_crm.db.database import current
from tui_crm.errors import NotFound, ValidationError
from tui_crm.services.core import records
from tui_crm.services.mail import mailings, recipient_lists, recipients, templates
from tui_crm.services.mail.recipients import RecipientSource
from tui_crm.ui.screens.mail_recipients import RecipientPicker


def test_a_saved_list_is_resolved_with_todays_records(crm: Crm) -> None:  # noqa: F811
    recipient_lists.save(crm.actor, "Romashka people", RecipientSource("contacts",
                                                                        text="romashka"))
    assert recipient_lists.names() == ["Romashka people"]
    source = recipient_lists.load("Romashka people")
    first = {c.address for c in recipients.select_recipients(crm.actor, source).recipients}
    assert first == {"ivan@romashka.test", "maria@romashka.test", "oleg@romashka.test"}
    records.update(crm.actor, "contacts", crm.contacts["maria"], {"opt_out": "yes"})
    again = {c.address for c in recipients.select_recipients(
        crm.actor, recipient_lists.load("Romashka people")).recipients}
    assert again == first - {"maria@romashka.test"}
    with pytest.raises(NotFound):
        recipient_lists.load("nothing")
    with pytest.raises(ValidationError):
        recipient_lists.save(crm.actor, "  ", source)
    recipient_lists.delete(crm.actor, "Romashka people")
    assert recipient_lists.names() == []


def test_mail_create_from_a_saved_list(crm: Crm, capsys) -> None:  # noqa: ANN001, F811
    target = str(current().database)
    templates.add_template(crm.actor, "hello", subject="Hi", body="Hello {{ contact.first_name }}")
    assert main(["--db", target, "mail", "save-list", "everyone", "--all"]) == 0
    assert "3 recipients now" in capsys.readouterr().out
    assert main(["--db", target, "mail", "create", "--template", "hello", "--account",
                 "office", "--list", "everyone", "--json"]) == 0
    [made] = mailings.list_mailings(crm.actor)
    assert len(mailings.list_recipients(crm.actor, made.id)) == 3
    assert main(["--db", target, "mail", "create", "--template", "hello", "--account",
                 "office", "--list", "nope"]) == 3


async def test_the_picker_offers_and_saves_lists(crm: Crm) -> None:  # noqa: F811
    templates.add_template(crm.actor, "hello", subject="Hi", body="Hello {{ contact.first_name }}")
    recipient_lists.save(crm.actor, "Olegs", RecipientSource("contacts", text="oleg"))
    app = Host(crm.actor)
    async with app.run_test(size=(180, 50)) as pilot:
        picker = RecipientPicker(crm.actor)
        app.push_screen(picker)
        await settle(pilot)
        picker.query_one("#rp-saved").value = "Olegs"
        await settle(pilot)
        assert picker.query_one("#rp-text").value == "oleg"
        picker.query_one("#rp-text").value = "sidorova"
        picker.query_one("#rp-save-name").value = "Marias"
        await pilot.click("#rp-save")
        await settle(pilot)
    assert recipient_lists.names() == ["Marias", "Olegs"]
    assert recipient_lists.load("Marias").text == "sidorova"
