"""Sending in batches, and what a crash leaves behind.

Each message still gets its own commit marking it `sending` before the SMTP transaction (so a
crash leaves at most the message in hand uncertain, never re-sent by itself); that commit also
carries the previous message's outcome. The history of a batch (events, search documents,
audit entries, last-contact dates) is written in one transaction after it; a crash before
that leaves `sent` rows without history, which the next run writes. Against a real SMTP
server on loopback and a real database (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.unit.test_mailing import (
    FAST,
    Recorder,
    SmtpServer,
    account,
    make_contacts,
    new_mailing,
    start_server,
    statuses,
)
from tui_crm.db import search_index
from tui_crm.db.database import current
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.db.models import AuditLog, Contact, Event, Organization
from tui_crm.services.core import audit, records, search_docs, templating, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import context, mailings, runner, templates
from tui_crm.services.mail.recipients import RecipientSource
from tui_crm.services.search import search


@pytest.fixture
def admin(db) -> Actor:  # noqa: ANN001 - the shared db fixture
    actor = users.resolve_actor()
    users.set_user(actor, actor.login, {"full_name": "Olga Admin", "email": "olga@firm.test"})
    return users.actor_for(actor.login)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    controller, server = start_server(Recorder())
    yield server
    controller.stop()


def events_of(contact_id: int) -> list[Event]:
    return list(Event.select().where(Event.contact == contact_id))


def test_sent_rows_left_without_history_by_a_crash_get_it_on_resume(admin, smtp_server) -> None:
    ids = make_contacts(admin, 4)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    first, second = (MailRecipient.select().where(MailRecipient.mailing == mailing_id)
                     .order_by(MailRecipient.id).limit(2))
    # What a crash between a batch's `sent` commits and its history leaves, with a dead runner.
    MailRecipient.update(status="sent", reply="250 OK", sent_at=first.updated_at).where(
        MailRecipient.id.in_([first.id, second.id])).execute()
    Mailing.update(runner=f"{socket.gethostname()}:999999999:dead", status="sending",
                   test_sent_at=first.updated_at).where(Mailing.id == mailing_id).execute()

    report = runner.resume(admin, mailing_id, options=FAST)

    assert report.history_restored == 2 and report.sent_now == 2
    assert report.became_unknown == 0
    assert smtp_server.recorder.to(first.address) == []  # never sent again
    assert smtp_server.recorder.to(second.address) == []
    for i, cid in enumerate(ids):
        (event,) = events_of(cid)  # every recipient once in the history
        assert event.title == f"Offer for First{i}"
        assert MailRecipient.get(MailRecipient.contact_id == cid).event_id == event.id
    assert runner.resume(admin, mailing_id, options=FAST).history_restored == 0
    assert Event.select().where(Event.contact.in_(ids)).count() == 4


def test_a_batch_writes_the_history_records_create_would(admin, smtp_server) -> None:
    org = records.create(admin, "organizations", {"name": "Ромашка", "source": "Website"}).id
    (cid,) = make_contacts(admin, 1, org=org)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    runner.send(admin, mailing_id, options=FAST)

    (event,) = events_of(cid)
    rec = MailRecipient.get(MailRecipient.mailing == mailing_id)
    assert rec.event_id == event.id and rec.status == "sent"
    view = records.get(admin, "events", event.id)
    assert view.display["event_type"] == "E-mail" and view.display["result"] == "Sent"
    assert view.values["assignee"] == admin.user_id and view.values["status"] == "done"
    assert view.values["organization"] == org and view.version == 1
    assert rec.message_id in view.values["result_note"]
    # The search document is the one the search service builds for the event.
    key = search_index.doc_key("events", event.id)
    sql = "SELECT title, body FROM search_doc WHERE {} = " + current().param
    column = "id" if current().param != "?" else "rowid"
    written = current().execute_sql(sql.format(column), (key,)).fetchone()
    search_docs.reindex("events", event.id)
    assert current().execute_sql(sql.format(column), (key,)).fetchone() == written
    assert [h.section for h in search.quick_search(admin, "Offer for First0")] == ["events"]
    # Last contact on both cards, and the audit entries records.create and the mail wrote.
    assert Contact.get_by_id(cid).last_contact_at == event.starts_at
    assert Organization.get_by_id(org).last_contact_at == event.starts_at
    assert AuditLog.select().where((AuditLog.kind == "events") & (AuditLog.record_id == event.id)
                                   & (AuditLog.action == "create")).count() == 1
    assert [e.action for e in audit.history("contacts", cid, action="mail")] == ["mail"]


def test_an_interrupted_run_keeps_what_happened_and_leaves_nothing_sending(
        admin, smtp_server) -> None:
    ids = make_contacts(admin, 8)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))

    def progress(p: runner.Progress) -> None:
        if p.done == 5:
            raise KeyboardInterrupt  # Ctrl-C twice, in the middle of a batch

    with pytest.raises(KeyboardInterrupt):
        runner.send(admin, mailing_id, options=FAST, progress=progress)

    assert sorted(statuses(mailing_id).values()) == ["pending"] * 3 + ["sent"] * 5
    assert Event.select().where(Event.contact.in_(ids)).count() == 5
    report = runner.resume(admin, mailing_id, options=FAST)
    assert report.sent_now == 3 and report.became_unknown == 0
    assert set(smtp_server.recorder.per_address().values()) == {1}
    assert Event.select().where(Event.contact.in_(ids)).count() == 8


def test_two_senders_at_once_send_each_message_once(admin, db, smtp_server) -> None:
    make_contacts(admin, 150)  # more than one batch
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def sender() -> None:
        start.wait()
        try:
            outcomes.append(runner.send(admin, mailing_id, options=FAST))
        except runner.MailingBusy as exc:
            outcomes.append(exc)
        finally:
            if not current().is_closed():
                current().close()  # this thread's connection

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 2
    sent = sum(o.sent_now for o in outcomes if isinstance(o, runner.SendReport))
    assert sent == 150
    received = smtp_server.recorder.per_address()
    assert set(received.values()) == {1} and len(received) == 151  # and the test message
    assert set(statuses(mailing_id).values()) == {"sent"}


def test_a_recipient_claimed_by_another_sender_is_left_to_it(admin, smtp_server) -> None:
    make_contacts(admin, 2)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    rec = MailRecipient.select().where(MailRecipient.mailing == mailing_id).first()
    assert runner.step([], rec.id) is True  # the mark `sending`, committed before SMTP
    assert runner.step([], rec.id) is False  # nobody else gets the same row
    assert MailRecipient.get_by_id(rec.id).attempts == 1


def test_progress_follows_every_recipient(admin, smtp_server) -> None:
    ids = make_contacts(admin, 6)
    smtp_server.recorder.rules = {"c3@clients.test": ["550"]}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    records.update(admin, "contacts", ids[1], {"opt_out": True})
    seen: list[runner.Progress] = []

    report = runner.send(admin, mailing_id, options=FAST, progress=seen.append)

    assert [p.done for p in seen] == [1, 2, 3, 4, 5, 6]
    assert all(p.total == 6 for p in seen)
    assert seen[-1].counts == report.counts == mailings.status_counts(mailing_id)
    assert report.counts["sent"] == 4 and report.counts["skipped"] == 1
    assert report.counts["failed"] == 1


def test_templates_reading_only_text_fields_fill_in_as_the_preview_does(
        admin, smtp_server) -> None:
    org = records.create(admin, "organizations", {"name": "Альфа", "source": "Website"}).id
    records.create(admin, "contacts", {"last_name": "Петров", "first_name": "Иван",
                                       "middle_name": "Ильич", "position": "Директор",
                                       "organization": org, "emails": ["ivan@alfa.test"]})
    records.create(admin, "contacts", {"last_name": "Solo", "emails": ["solo@x.test"]})
    account(admin, smtp_server)
    subject = "Для {{ contact.first_name|default('вас', true) }}"
    body = ("{{ contact.full_name }} <{{ contact.email }}>, {{ contact['last_name'] }}, "
            "{{ contact.position or '—' }}; {{ recipient.name }} {{ recipient.email }}; "
            "{{ sender.name }}, {{ today }}\n")
    templates.add_template(admin, "quick", subject=subject, body=body)
    assert context.quick_keys("contacts", [templating.compile_template(subject),
                                            templating.compile_template(body)]) is not None
    mailing_id = mailings.create_mailing(admin, template="quick", account="office",
                                        source=RecipientSource("contacts")).id
    expected = {r.address: context.preview_recipient(admin, mailing_id, r.id)
                for r in mailings.list_recipients(admin, mailing_id)}

    runner.send(admin, mailing_id, options=FAST)

    for address, shown in expected.items():
        (msg,) = smtp_server.recorder.to(address)
        assert msg.message["Subject"] == shown.subject
        assert msg.body.replace("\r\n", "\n") == shown.body
    assert "Петров Иван Ильич <ivan@alfa.test>, Петров, Директор;" in expected[
        "ivan@alfa.test"].body


def test_a_template_reading_more_than_text_fields_still_gets_whole_cards(
        admin, smtp_server) -> None:
    org = records.create(admin, "organizations", {"name": "Бета", "source": "Website"}).id
    records.create(admin, "contacts", {"last_name": "Ли", "organization": org,
                                       "emails": ["li@beta.test"]})
    account(admin, smtp_server)
    for name, body in (("whole", "{{ contact.emails[0].value }} {{ contact.organization_name }}"),
                       ("org", "{{ org.name }}"), ("loop", "{% for k in contact %}{% endfor %}"),
                       ("missing", "{{ contact.nickname }}")):
        tpl = templating.compile_template(body)
        assert context.quick_keys("contacts", [tpl]) is None, name
        templates.add_template(admin, name, subject="S", body=body)
    mailing_id = mailings.create_mailing(admin, template="whole", account="office",
                                        source=RecipientSource("contacts")).id
    runner.send(admin, mailing_id, options=FAST)
    assert smtp_server.recorder.to("li@beta.test")[0].body.strip() == "li@beta.test Бета"
    missing = mailings.create_mailing(admin, template="missing", account="office",
                                     source=RecipientSource("contacts")).id
    runner.send(admin, missing, options=FAST)
    assert MailRecipient.get(MailRecipient.mailing == missing).reply == \
        "Missing field contact.nickname"


def test_history_that_cannot_be_written_is_noted_once(admin, smtp_server) -> None:
    users.add_user(admin, "anna", role="manager", full_name="Anna")
    anna = users.actor_for("anna")
    make_contacts(anna, 2, prefix="annas")
    smtp_server.recorder.rules = {"annas1@clients.test": ["drop_after"]}
    account(admin, smtp_server)
    templates.add_template(admin, "hi", subject="Hi", body="Hello")
    mailing_id = mailings.create_mailing(anna, template="hi", account="office",
                                        source=RecipientSource("contacts")).id
    runner.send(anna, mailing_id, options=FAST)
    assert statuses(mailing_id)["annas1@clients.test"] == "unknown"
    users.set_user(admin, "anna", {"can_edit.events": "no"})
    anna = users.actor_for("anna")

    assert runner.resolve_unknown(anna, mailing_id, resend=False) == 1

    row = MailRecipient.get(MailRecipient.address == "annas1@clients.test")
    assert row.status == "sent" and row.event_id == 0
    assert row.reply.startswith("Marked as sent by anna (") and "no right" in row.reply
    assert Event.select().where(Event.title == "Hi").count() == 1  # the first message's
    users.set_user(admin, "anna", {"can_edit.events": "yes"})
    report = runner.resume(users.actor_for("anna"), mailing_id, options=FAST)
    assert report.history_restored == 0  # noted, not tried at every run


def test_one_message_whose_history_fails_does_not_cost_the_others_theirs(
        admin, smtp_server) -> None:
    gone = records.create(admin, "organizations", {"name": "Gone", "source": "Website"}).id
    ids = make_contacts(admin, 3)
    (orphan,) = make_contacts(admin, 1, org=gone, prefix="orphan")
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    # The organization disappears for good after the list was made (the recipient row still
    # names it): its event cannot refer to it.
    Organization.delete().where(Organization.id == gone).execute()

    report = runner.send(admin, mailing_id, options=FAST)

    assert report.sent_now == 4 and set(statuses(mailing_id).values()) == {"sent"}
    failed = MailRecipient.get(MailRecipient.contact_id == orphan)
    assert failed.event_id == 0 and failed.reply.startswith("250")
    assert events_of(orphan) == []
    assert all(len(events_of(cid)) == 1 for cid in ids)
