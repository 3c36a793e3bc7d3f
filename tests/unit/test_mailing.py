"""Mailings against a real SMTP server on loopback (aiosmtpd), on a real SQLite file.

The server records every message it accepted and can be told to answer 451 / 550 or to drop
the connection for given addresses, so the tests see exactly what a real server would get:
every recipient exactly once, with their own fields, and nobody twice after a kill -9.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from peewee import Database

from tui_crm.db import open_database
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.db.models import Event, database_proxy
from tui_crm.errors import CrmError, NotFound, PermissionDenied, ValidationError
from tui_crm.services.core import audit, records, secrets, templating, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import accounts, context, mailings, recipients, runner, smtp, templates
from tui_crm.services.mail.recipients import RecipientSource
from tui_crm.services.mail.runner import SendOptions

# The test server takes AUTH without TLS on loopback; aiosmtpd warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

REPO = Path(__file__).resolve().parents[2]
FAST = SendOptions(retry_delays=(0.05, 0.05, 0.05), reconnect_pause=0.01, timeout=10)


# --- the SMTP server -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt: str
    message: email.message.EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepted and misbehaves on request.

    `rules[address]` is a list of actions used one per delivery attempt: "451", "550",
    "drop" (close the connection at RCPT: nothing delivered), "drop_after" (accept the
    message, then close the connection without answering).
    """

    messages: list[Received] = field(default_factory=list)
    rules: dict[str, list[str]] = field(default_factory=dict)
    connections: int = 0
    auth: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    password: str | None = None  # when set, AUTH is required

    def _action(self, address: str) -> str:
        with self.lock:
            actions = self.rules.get(address.casefold())
            return actions.pop(0) if actions else ""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001, ANN201, N802
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        action = self._action(address)
        if action == "451":
            return "451 4.7.1 Greylisted, try again later"
        if action == "550":
            return "550 5.1.1 Mailbox does not exist"
        if action == "drop":
            server.transport.close()
            return "421 4.3.0 closing"
        if action == "drop_after":
            envelope.drop_after = True  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append(Received(envelope.mail_from, rcpt, parsed))
        if getattr(envelope, "drop_after", False):
            server.transport.close()
        return "250 2.0.0 Accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN201
        login = auth_data.login.decode()
        ok = self.password is not None and auth_data.password.decode() == self.password
        with self.lock:
            self.auth.append(login)
        return AuthResult(success=ok, handled=False)  # a failure answers 535

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.messages if r.rcpt.casefold() == address.casefold()]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def per_address(self) -> Counter:
        with self.lock:
            return Counter(r.rcpt.casefold() for r in self.messages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder


def start_server(recorder: Recorder) -> tuple[Controller, SmtpServer]:
    port = free_port()
    kwargs = {}
    if recorder.password is not None:
        kwargs = {"authenticator": recorder.authenticate, "auth_require_tls": False,
                  "auth_required": True}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, recorder)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1, on a free port, for this test."""
    controller, server = start_server(Recorder())
    yield server
    controller.stop()


# --- data --------------------------------------------------------------------------------------


@pytest.fixture
def admin(db) -> Actor:  # noqa: ANN001 - the shared db fixture
    actor = users.resolve_actor()
    users.set_user(actor, actor.login, {"full_name": "Olga Admin", "email": "olga@firm.test"})
    return users.actor_for(actor.login)


@pytest.fixture
def on_file(tmp_path: Path) -> Iterator[tuple[Database, Actor]]:
    """A SQLite file under tmp_path (tests that read the file's bytes)."""
    database = open_database(tmp_path / "data" / "mail.sqlite3")
    actor = users.resolve_actor()
    yield database, actor
    if not database.is_closed():
        database.close()
    database_proxy.initialize(None)


def account(actor: Actor, server: SmtpServer, name: str = "office", **kwargs) -> str:  # noqa: ANN003
    accounts.add_account(actor, name, host=server.host, port=server.port, security="none",
                        from_address="sales@firm.test", from_name="Firm Sales", **kwargs)
    return name


def make_contacts(actor: Actor, n: int, *, org: int | None = None, prefix: str = "c") -> list[int]:
    ids = []
    for i in range(n):
        data = {"last_name": f"Last{i}", "first_name": f"First{i}",
                "emails": [f"{prefix}{i}@clients.test"]}
        if org:
            data["organization"] = org
        ids.append(records.create(actor, "contacts", data).id)
    return ids


def simple_template(actor: Actor, name: str = "hello") -> str:
    templates.add_template(actor, name, subject="Offer for {{ contact.first_name }}",
                         body="Dear {{ contact.first_name }} {{ contact.last_name }},\n"
                              "the price list for {{ org.name | default('you') }}.\n"
                              "{{ sender.name }}\n")
    return name


def new_mailing(actor: Actor, server: SmtpServer, source: RecipientSource,
                template: str = "hello") -> int:
    if not accounts.list_accounts(actor):
        account(actor, server)
    if not templates.list_templates(actor):
        simple_template(actor, template)
    return mailings.create_mailing(actor, template=template, account="office",
                                  source=source).id


def statuses(mailing_id: int) -> dict[str, str]:
    return {r.address: r.status for r in
            MailRecipient.select().where(MailRecipient.mailing == mailing_id)}


# --- sending -----------------------------------------------------------------------------------


def test_five_hundred_recipients_get_exactly_one_message_each(admin, smtp_server) -> None:
    org = records.create(admin, "organizations", {"name": "Ромашка", "source": "Website"}).id
    make_contacts(admin, 500, org=org)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    seen: list[int] = []

    report = runner.send(admin, mailing_id, options=FAST,
                          progress=lambda p: seen.append(p.done))

    assert report.counts["sent"] == 500 and report.sent_now == 500
    assert report.test_sent
    received = smtp_server.recorder.per_address()
    assert received.pop("sales@firm.test") == 1  # the test message to the sender, first
    assert smtp_server.recorder.messages[0].rcpt == "sales@firm.test"
    assert smtp_server.recorder.messages[0].message["Subject"].startswith("[TEST] ")
    assert len(received) == 500 and set(received.values()) == {1}
    for i in (0, 137, 499):
        (msg,) = smtp_server.recorder.to(f"c{i}@clients.test")
        assert msg.message["Subject"] == f"Offer for First{i}"
        assert f"Dear First{i} Last{i}," in msg.body
        assert "the price list for Ромашка." in msg.body
        assert "Firm Sales" in msg.body
        assert msg.message["To"].addresses[0].addr_spec == f"c{i}@clients.test"
        row = MailRecipient.get(MailRecipient.address == f"c{i}@clients.test")
        assert msg.message["Message-ID"] == row.message_id and row.status == "sent"
    assert smtp_server.recorder.connections == 1  # one connection for all 501 messages
    assert seen[-1] == 500
    view = mailings.get_mailing(admin, mailing_id)
    assert view.status == "done" and view.finished_at is not None


def test_each_sent_message_is_in_the_clients_history_and_audit(admin, smtp_server) -> None:
    org = records.create(admin, "organizations", {"name": "Альфа", "source": "Website",
                                                  "emails": ["office@alfa.test"]}).id
    (cid,) = make_contacts(admin, 1, org=org)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    runner.send(admin, mailing_id, options=FAST)

    event = Event.get(Event.contact == cid)
    view = records.get(admin, "events", event.id)
    assert view.display["event_type"] == "E-mail" and view.display["result"] == "Sent"
    assert view.values["organization"] == org and view.values["status"] == "done"
    assert view.values["title"] == "Offer for First0"
    assert records.get(admin, "contacts", cid).values["last_contact_at"] is not None
    assert [e.action for e in audit.history("contacts", cid, action="mail")] == ["mail"]
    assert audit.history("mailings", mailing_id, action="mail")


def test_opt_out_is_respected_when_choosing_and_when_sending(admin, smtp_server) -> None:
    quiet_org = records.create(admin, "organizations", {"name": "Quiet", "source": "Website",
                                                        "opt_out": True}).id
    ids = make_contacts(admin, 4)
    make_contacts(admin, 1, org=quiet_org, prefix="q")  # the organization opted out
    records.update(admin, "contacts", ids[0], {"opt_out": True})
    selection = recipients.select_recipients(admin, RecipientSource("contacts"))
    assert selection.opted_out == 2
    assert sorted(c.address for c in selection.recipients) == [
        "c1@clients.test", "c2@clients.test", "c3@clients.test"]

    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    records.update(admin, "contacts", ids[2], {"opt_out": True})  # opts out meanwhile
    runner.send(admin, mailing_id, options=FAST)
    assert statuses(mailing_id) == {"c1@clients.test": "sent", "c2@clients.test": "skipped",
                                    "c3@clients.test": "sent"}
    assert smtp_server.recorder.to("c2@clients.test") == []
    assert smtp_server.recorder.to("c0@clients.test") == []


def test_recipients_by_query_group_category_and_duplicates(admin) -> None:
    from tui_crm.services.core import settings

    settings.add_group(admin, "organizations", "Moscow")
    vip = records.create(admin, "organizations", {
        "name": "Vip One", "source": "Website", "category": "vip", "group": "Moscow",
        "emails": ["boss@vip.test"]}).id
    records.create(admin, "organizations", {"name": "Plain", "source": "Website",
                                            "emails": ["BOSS@vip.test"]})  # same address
    records.create(admin, "organizations", {"name": "No Mail", "source": "Website"})
    records.create(admin, "contacts", {"last_name": "Vipson", "organization": vip,
                                       "emails": ["v@vip.test"]})
    records.create(admin, "contacts", {"last_name": "Other", "emails": ["o@other.test"]})

    everyone = recipients.select_recipients(admin, RecipientSource("organizations"))
    assert [c.address.casefold() for c in everyone.recipients] == ["boss@vip.test"]
    assert everyone.duplicates == 1 and everyone.without_email == 1
    by_group = recipients.select_recipients(admin, RecipientSource("organizations", group="Moscow"))
    assert [c.record_id for c in by_group.recipients] == [vip]
    by_query = recipients.select_recipients(admin, RecipientSource("contacts", text="Vipson"))
    assert [c.address for c in by_query.recipients] == ["v@vip.test"]
    by_category = recipients.select_recipients(admin, RecipientSource("contacts", category="VIP"))
    assert [c.address for c in by_category.recipients] == ["v@vip.test"]
    with pytest.raises(ValidationError):
        recipients.select_recipients(admin, RecipientSource("contacts", category="platinum"))
    with pytest.raises(ValidationError):
        recipients.select_recipients(admin, RecipientSource("tasks"))


def test_visibility_and_the_mail_right(admin, smtp_server) -> None:
    users.add_user(admin, "anna", role="manager", full_name="Anna")
    users.add_user(admin, "vic", role="viewer")
    anna = users.actor_for("anna")
    make_contacts(admin, 2, prefix="admins")
    make_contacts(anna, 1, prefix="annas")
    selection = recipients.select_recipients(anna, RecipientSource("contacts"))
    assert [c.address for c in selection.recipients] == ["annas0@clients.test"]
    with pytest.raises(PermissionDenied):
        recipients.select_recipients(users.actor_for("vic"), RecipientSource("contacts"))
    users.set_user(admin, "anna", {"can_mail.contacts": "no"})
    with pytest.raises(PermissionDenied):
        recipients.select_recipients(users.actor_for("anna"), RecipientSource("contacts"))


def test_a_viewer_cannot_see_the_mail_accounts(admin, smtp_server) -> None:
    users.add_user(admin, "vic", role="viewer")
    users.add_user(admin, "anna", role="manager")
    vic, anna = users.actor_for("vic"), users.actor_for("anna")
    account(admin, smtp_server)
    with pytest.raises(PermissionDenied) as caught:
        accounts.list_accounts(vic)  # servers and logins are not a viewer's business
    assert "\n" not in str(caught.value)
    with pytest.raises(PermissionDenied):
        accounts.get_account(vic, "office")
    assert [a.name for a in accounts.list_accounts(anna)] == ["office"]  # who may mail
    users.set_user(admin, "anna", {"can_mail.contacts": "no", "can_mail.organizations": "no"})
    with pytest.raises(PermissionDenied):
        accounts.list_accounts(users.actor_for("anna"))
    assert [a.name for a in accounts.list_accounts(admin)] == ["office"]


def test_a_sender_name_with_a_line_break_is_refused_when_the_account_is_added(admin) -> None:
    with pytest.raises(ValidationError) as caught:
        accounts.add_account(admin, "office", host="smtp.firm.test", security="starttls",
                             from_address="s@firm.test", from_name="Sales\nBcc: spy@evil.test")
    assert "from_name" in caught.value.errors and "\n" not in caught.value.errors["from_name"]
    assert accounts.list_accounts(admin) == []


def test_451_is_retried_and_550_is_not(admin, smtp_server) -> None:
    make_contacts(admin, 3)
    smtp_server.recorder.rules = {"c0@clients.test": ["451", "451"],
                                  "c1@clients.test": ["550"]}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))

    report = runner.send(admin, mailing_id, options=FAST)

    assert statuses(mailing_id) == {"c0@clients.test": "sent", "c1@clients.test": "failed",
                                    "c2@clients.test": "sent"}
    assert report.retried == 2 and report.failed_now == 1
    assert len(smtp_server.recorder.to("c0@clients.test")) == 1
    assert smtp_server.recorder.to("c1@clients.test") == []
    failed = MailRecipient.get(MailRecipient.address == "c1@clients.test")
    assert failed.reply.startswith("550") and "does not exist" in failed.reply
    assert failed.attempts == 1
    assert MailRecipient.get(MailRecipient.address == "c0@clients.test").attempts == 3


def test_451_forever_fails_after_the_last_retry(admin, smtp_server) -> None:
    make_contacts(admin, 1)
    smtp_server.recorder.rules = {"c0@clients.test": ["451"] * 10}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    runner.send(admin, mailing_id, options=FAST)
    row = MailRecipient.get(MailRecipient.address == "c0@clients.test")
    assert row.status == "failed" and row.reply.startswith("451") and row.attempts == 4


def test_451_left_pending_when_not_waiting_then_resumed(admin, smtp_server) -> None:
    make_contacts(admin, 2)
    smtp_server.recorder.rules = {"c0@clients.test": ["451"]}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    options = SendOptions(retry_delays=(3600,), wait_for_retries=False)
    runner.send(admin, mailing_id, options=options)
    row = MailRecipient.get(MailRecipient.address == "c0@clients.test")
    assert row.status == "pending" and row.reply.startswith("451") and row.next_attempt_at
    assert mailings.get_mailing(admin, mailing_id).status == "waiting"
    # An hour later:
    MailRecipient.update(next_attempt_at=row.next_attempt_at - dt.timedelta(hours=1)).where(
        MailRecipient.id == row.id).execute()
    runner.resume(admin, mailing_id, options=options)
    assert set(statuses(mailing_id).values()) == {"sent"}
    assert smtp_server.recorder.per_address()["c0@clients.test"] == 1


def test_a_dropped_connection_is_reopened_and_nothing_is_lost(admin, smtp_server) -> None:
    make_contacts(admin, 6)
    smtp_server.recorder.rules = {"c1@clients.test": ["drop"], "c4@clients.test": ["drop"]}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))

    report = runner.send(admin, mailing_id, options=FAST)

    assert set(statuses(mailing_id).values()) == {"sent"}
    received = smtp_server.recorder.per_address()
    assert all(received[f"c{i}@clients.test"] == 1 for i in range(6))
    assert report.connections == 3  # the first, and one after each drop


def test_a_drop_after_the_body_becomes_unknown_and_is_never_resent(admin, smtp_server) -> None:
    make_contacts(admin, 3)
    smtp_server.recorder.rules = {"c1@clients.test": ["drop_after"]}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    runner.send(admin, mailing_id, options=FAST)
    assert statuses(mailing_id) == {"c0@clients.test": "sent", "c1@clients.test": "unknown",
                                    "c2@clients.test": "sent"}
    assert mailings.get_mailing(admin, mailing_id).status == "attention"
    runner.resume(admin, mailing_id, options=FAST)  # a resume does not resend it
    assert smtp_server.recorder.per_address()["c1@clients.test"] == 1
    # A person decides: it arrived.
    assert runner.resolve_unknown(admin, mailing_id, resend=False) == 1
    assert statuses(mailing_id)["c1@clients.test"] == "sent"
    assert mailings.get_mailing(admin, mailing_id).status == "done"
    assert Event.select().where(Event.contact.is_null(False)).count() == 3


def test_a_person_may_resend_an_unknown_row(admin, smtp_server) -> None:
    make_contacts(admin, 1)
    smtp_server.recorder.rules = {"c0@clients.test": ["drop_after"]}
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    runner.send(admin, mailing_id, options=FAST)
    (row,) = mailings.list_recipients(admin, mailing_id, status="unknown")
    assert runner.resolve_unknown(admin, mailing_id, [row.id], resend=True) == 1
    runner.resume(admin, mailing_id, options=FAST)
    assert smtp_server.recorder.per_address()["c0@clients.test"] == 2  # asked for it
    assert statuses(mailing_id) == {"c0@clients.test": "sent"}


def test_rows_left_in_sending_become_unknown_on_resume(admin, smtp_server) -> None:
    make_contacts(admin, 3)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    first = MailRecipient.select().where(MailRecipient.mailing == mailing_id).order_by(
        MailRecipient.id).first()
    # What a crash between the two phases leaves behind, with a dead runner.
    MailRecipient.update(status="sending").where(MailRecipient.id == first.id).execute()
    Mailing.update(runner=f"{socket.gethostname()}:999999999:dead", status="sending").where(
        Mailing.id == mailing_id).execute()
    assert mailings.get_mailing(admin, mailing_id).status == "interrupted"

    report = runner.resume(admin, mailing_id, options=FAST)

    assert report.became_unknown == 1
    assert statuses(mailing_id)[first.address] == "unknown"
    assert smtp_server.recorder.to(first.address) == []
    assert report.sent_now == 2


def test_a_live_runner_keeps_others_out(admin, smtp_server) -> None:
    make_contacts(admin, 1)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        Mailing.update(runner=f"{socket.gethostname()}:{sleeper.pid}:other").where(
            Mailing.id == mailing_id).execute()
        with pytest.raises(runner.MailingBusy):
            runner.send(admin, mailing_id, options=FAST)
        assert smtp_server.recorder.count() == 0
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stop_leaves_the_rest_pending_and_resume_finishes(admin, smtp_server) -> None:
    make_contacts(admin, 10)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    stop = threading.Event()

    def progress(p: runner.Progress) -> None:
        if p.done >= 4:
            stop.set()

    report = runner.send(admin, mailing_id, options=FAST, progress=progress, stop=stop)
    assert report.stopped and report.sent_now == 4
    assert mailings.get_mailing(admin, mailing_id).status == "stopped"
    report = runner.resume(admin, mailing_id, options=FAST)
    assert report.sent_now == 6 and not report.test_sent  # the test went out the first time
    assert set(smtp_server.recorder.per_address().values()) == {1}


def test_rate_limit_spaces_the_messages(admin, smtp_server) -> None:
    make_contacts(admin, 3)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))

    class RecordingStop(threading.Event):
        """A stop request that is never made; it notes each pause instead of sleeping."""

        def __init__(self) -> None:
            super().__init__()
            self.pauses: list[float] = []

        def wait(self, timeout: float | None = None) -> bool:
            self.pauses.append(timeout or 0)
            return False

    stop = RecordingStop()
    options = SendOptions(rate_per_minute=6, test_first=False)  # one message each 10 s
    runner.send(admin, mailing_id, options=options, stop=stop)
    # No pause before the first message; before each next one, the rest of its 10 s slot.
    assert len(stop.pauses) == 2 and all(5 < p <= 10 for p in stop.pauses)
    assert set(statuses(mailing_id).values()) == {"sent"}


def test_missing_field_is_reported_per_recipient_before_sending(admin, smtp_server) -> None:
    account(admin, smtp_server)
    org = records.create(admin, "organizations", {"name": "Org", "source": "Website",
                                                  "emails": ["org@org.test"]}).id
    records.create(admin, "contacts", {"last_name": "Solo", "emails": ["solo@x.test"]})
    records.create(admin, "contacts", {"last_name": "Member", "organization": org,
                                       "emails": ["member@x.test"]})
    templates.add_template(admin, "needs-org", subject="For {{ org.name }}",
                         body="Hello {{ contact.last_name }}")
    mailing_id = mailings.create_mailing(admin, template="needs-org", account="office",
                                        source=RecipientSource("contacts")).id
    found = context.problems(admin, mailing_id)
    assert [(p.address, p.message) for p in found] == [("solo@x.test",
                                                        "Missing field org.name")]
    runner.send(admin, mailing_id, options=FAST)
    solo = MailRecipient.get(MailRecipient.address == "solo@x.test")
    assert solo.status == "failed" and solo.reply == "Missing field org.name"
    assert smtp_server.recorder.to("solo@x.test") == []
    assert len(smtp_server.recorder.to("member@x.test")) == 1


def test_html_template_with_attachment(admin, smtp_server, tmp_path) -> None:
    price = tmp_path / "prices.csv"
    price.write_text("item;price\nromashka;100\n", encoding="utf-8")
    records.create(admin, "organizations", {"name": "A & B <Ltd>", "source": "Website",
                                            "emails": ["ab@x.test"]})
    account(admin, smtp_server)
    templates.add_template(admin, "html", subject="Prices for {{ org.name }}",
                         body="<p>Hello, <b>{{ org.name }}</b></p>", html=True,
                         attachments=[str(price)])
    mailing_id = mailings.create_mailing(admin, template="html", account="office",
                                        source=RecipientSource("organizations")).id
    runner.send(admin, mailing_id, options=FAST)
    (msg,) = smtp_server.recorder.to("ab@x.test")
    assert msg.message["Subject"] == "Prices for A & B <Ltd>"
    html = msg.message.get_body(preferencelist=("html",)).get_content()
    assert "<b>A &amp; B &lt;Ltd&gt;</b>" in html
    assert "Hello, A & B <Ltd>" in msg.message.get_body(preferencelist=("plain",)).get_content()
    (attachment,) = list(msg.message.iter_attachments())
    assert attachment.get_filename() == "prices.csv"
    assert attachment.get_content().replace("\r\n", "\n") == "item;price\nromashka;100\n"


def test_template_changes_do_not_change_a_created_mailing(admin, smtp_server) -> None:
    make_contacts(admin, 1)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    templates.update_template(admin, "hello", subject="Changed")
    runner.send(admin, mailing_id, options=FAST)
    assert smtp_server.recorder.to("c0@clients.test")[0].message["Subject"] == "Offer for First0"


def test_preview_for_any_recipient(admin, smtp_server) -> None:
    org = records.create(admin, "organizations", {"name": "Ромашка", "source": "Website"}).id
    (cid,) = make_contacts(admin, 1, org=org)
    account(admin, smtp_server)
    simple_template(admin)
    shown = context.preview_template(admin, "hello", kind="contacts", record_id=cid,
                                     account="office")
    assert shown.subject == "Offer for First0" and shown.to_address == "c0@clients.test"
    assert "the price list for Ромашка." in shown.body and "Firm Sales" in shown.body
    with pytest.raises(templating.MissingField, match="contact.nickname"):
        context.preview(admin, subject="x", body="{{ contact.nickname }}", kind="contacts",
                        record_id=cid)


def test_template_mistakes_are_refused_when_saved(admin) -> None:
    with pytest.raises(ValidationError) as caught:
        templates.add_template(admin, "bad", subject="Hi", body="{% for x in y %}")
    assert "body" in caught.value.errors and "line 1" in caught.value.errors["body"]
    with pytest.raises(ValidationError):
        templates.add_template(admin, "nofile", subject="Hi", body="x", attachments=["/no/file"])


def test_account_validation_and_refused_login(admin, tmp_path, monkeypatch) -> None:
    with pytest.raises(ValidationError) as caught:
        accounts.add_account(admin, "", host="", port=99999, security="tls",
                            from_address="nope")
    assert set(caught.value.errors) == {"name", "host", "port", "security", "from_address"}
    recorder = Recorder(password="right-one")
    controller, server = start_server(recorder)
    try:
        monkeypatch.setenv("WRONG_SMTP_PASSWORD", "wrong-one")
        accounts.add_account(admin, "office", host=server.host, port=server.port,
                            security="none", from_address="s@firm.test", login="sales",
                            password_env="WRONG_SMTP_PASSWORD")
        with pytest.raises(CrmError, match="refused the login sales"):
            accounts.test_account(admin, "office")
        monkeypatch.delenv("WRONG_SMTP_PASSWORD")
        with pytest.raises(secrets.SecretProblem, match="WRONG_SMTP_PASSWORD"):
            accounts.test_account(admin, "office")
    finally:
        controller.stop()
    with pytest.raises(NotFound):
        accounts.get_account(admin, "nobody")
    with pytest.raises(ValidationError, match="non-Latin"):
        accounts.add_account(admin, "cyr", host="h.test", from_address="продажи@firm.test")


def test_starttls_that_the_server_does_not_offer_is_a_clear_error(admin, smtp_server) -> None:
    accounts.add_account(admin, "tls", host=smtp_server.host, port=smtp_server.port,
                        security="starttls", from_address="s@firm.test")
    with pytest.raises(CrmError, match="does not offer STARTTLS"):
        accounts.test_account(admin, "tls")
    assert smtp_server.recorder.count() == 0


def test_unreachable_server_leaves_everything_pending(admin) -> None:
    make_contacts(admin, 2)
    port = free_port()  # nobody listens here
    accounts.add_account(admin, "dead", host="127.0.0.1", port=port, security="none",
                        from_address="s@firm.test")
    simple_template(admin)
    mailing_id = mailings.create_mailing(admin, template="hello", account="dead",
                                        source=RecipientSource("contacts")).id
    with pytest.raises(CrmError, match="Cannot connect"):
        runner.send(admin, mailing_id, options=FAST)
    assert set(statuses(mailing_id).values()) == {"pending"}
    assert mailings.get_mailing(admin, mailing_id).status == "stopped"


# --- the password never leaks ------------------------------------------------------------------


CANARY = "Canary-7f3b9c1e-Пароль"


def _leak_forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    forms = [raw, base64.b64encode(raw), base64.b64encode(b"\0sales\0" + raw)]
    forms.append(base64.b64encode(b"sales\0sales\0" + raw))
    return forms


def _files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_password_from_env_never_reaches_db_config_or_logs(on_file, tmp_path, monkeypatch,
                                                           caplog) -> None:
    db, admin = on_file
    caplog.set_level("DEBUG")
    recorder = Recorder(password=CANARY)
    controller, server = start_server(recorder)
    try:
        monkeypatch.setenv("TUI_CRM_SMTP_PASSWORD", CANARY)
        accounts.add_account(admin, "office", host=server.host, port=server.port,
                            security="none", from_address="sales@firm.test", login="sales",
                            password_env="TUI_CRM_SMTP_PASSWORD")
        make_contacts(admin, 3)
        simple_template(admin)
        mailing_id = mailings.create_mailing(admin, template="hello", account="office",
                                            source=RecipientSource("contacts")).id
        assert "235" in accounts.test_account(admin, "office") or recorder.auth
        runner.send(admin, mailing_id, options=FAST)
    finally:
        controller.stop()
    assert recorder.count() == 5 and recorder.auth  # it did log in with the password
    db.close()  # flush the WAL into the file
    files = _files_under(tmp_path)
    assert any(p.suffix == ".sqlite3" for p in files)
    for path in files:
        content = path.read_bytes()
        for form in _leak_forms(CANARY):
            assert form not in content, f"the password leaked into {path}"
    for form in _leak_forms(CANARY):
        assert form.decode() not in caplog.text


class MemoryKeyring:
    """A stand-in for a secure system keyring (the test allowlists it)."""

    @staticmethod
    def make():  # noqa: ANN205
        from keyring.backend import KeyringBackend

        class Memory(KeyringBackend):
            priority = 1
            store: dict = {}

            def set_password(self, service, username, password):  # noqa: ANN001, ANN201
                self.store[(service, username)] = password

            def get_password(self, service, username):  # noqa: ANN001, ANN201
                return self.store.get((service, username))

            def delete_password(self, service, username):  # noqa: ANN001, ANN201
                self.store.pop((service, username), None)

        return Memory()


def test_password_in_a_trusted_keyring_is_used_and_not_stored_in_the_db(
        on_file, tmp_path, monkeypatch) -> None:
    import keyring

    db, admin = on_file

    backend = MemoryKeyring.make()
    monkeypatch.setattr(secrets, "trusted_backends",
                        secrets.trusted_backends | {secrets.backend_name(backend)})
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    recorder = Recorder(password=CANARY)
    controller, server = start_server(recorder)
    try:
        accounts.add_account(admin, "office", host=server.host, port=server.port,
                            security="none", from_address="sales@firm.test", login="sales",
                            password=CANARY)
        assert backend.store[("tui-crm", f"smtp:sales@127.0.0.1:{server.port}")] == CANARY
        assert accounts.get_account(admin, "office").password_source == "keyring"
        accounts.test_account(admin, "office")
        assert recorder.count() == 1
        accounts.remove_account(admin, "office")
        assert backend.store == {}
    finally:
        controller.stop()
        keyring.set_keyring(previous)
    db.close()
    for path in _files_under(tmp_path):
        assert CANARY.encode() not in path.read_bytes()


# --- kill -9 in the middle, then resume -------------------------------------------------------


SENDER = textwrap.dedent("""
    import sys
    from tui_crm.db import open_database
    from tui_crm.services.core import users
    from tui_crm.services.mail import runner
    open_database(sys.argv[1])
    actor = users.actor_for(sys.argv[2])
    runner.send(actor, int(sys.argv[3]), options=runner.SendOptions(test_first=False))
""")


def _start_sender(db_path: str, login: str, mailing_id: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", SENDER, db_path, login, str(mailing_id)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_sends_nobody_twice(admin, db, db_target,
                                                                smtp_server) -> None:
    # The sender runs in another process on the same database (file or server).
    total = 120
    make_contacts(admin, total)
    mailing_id = new_mailing(admin, smtp_server, RecipientSource("contacts"))
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)  # shown in a failure message to replay the kill points
    recorder = smtp_server.recorder
    kills = 0
    for _round in range(4):
        target = recorder.count() + rng.randint(1, 25)
        proc = _start_sender(db_target, admin.login, mailing_id)
        deadline = time.monotonic() + 60
        while recorder.count() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        if proc.poll() is None:
            # Right after a delivery or up to ~2 messages later: before phase 1, between
            # phase 1 and the SMTP transaction, during it, or before phase 2 commits.
            time.sleep(rng.choice([0, rng.uniform(0, 0.1)]))
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert kills >= 1

    report = runner.resume(admin, mailing_id, options=FAST)

    received = recorder.per_address()
    rows = {r.address: r.status for r in MailRecipient.select().where(
        MailRecipient.mailing == mailing_id)}
    assert len(rows) == total
    assert all(n == 1 for n in received.values()), f"somebody got it twice (seed {seed})"
    for address, status in rows.items():
        assert status in ("sent", "unknown"), (address, status, seed)
        if status == "sent":
            assert received[address] == 1, f"{address} is sent but got nothing (seed {seed})"
    unknown = [a for a, s in rows.items() if s == "unknown"]
    assert report.counts["sent"] + len(unknown) == total
    # The unknown ones are exactly those a kill caught between the two phases.
    assert len(unknown) <= kills
    print(f"kill -9 x{kills}: {len(unknown)} unknown, {report.counts['sent']} sent")


# --- the command line --------------------------------------------------------------------------


def run_cli(argv: list[str], actor: Actor) -> int:
    import argparse

    from tui_crm.cli import mail as cli_mail

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db")
    parser = argparse.ArgumentParser(prog="tui-crm")
    cli_mail.register(parser.add_subparsers(dest="command"), common)
    args = parser.parse_args(argv)
    return args.handler(args, actor)


def test_command_line_from_account_to_status(admin, smtp_server, tmp_path, capsys,
                                             monkeypatch) -> None:
    org = records.create(admin, "organizations", {"name": "Ромашка", "source": "Website"}).id
    ids = make_contacts(admin, 3, org=org)
    records.update(admin, "contacts", ids[1], {"last_name": "Special"})
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ contact.first_name }} of {{ org.name }}!\n", encoding="utf-8")

    assert run_cli(["mail", "account", "add", "office", "--host", smtp_server.host,
                    "--port", str(smtp_server.port), "--security", "none",
                    "--from", "sales@firm.test", "--login", "sales",
                    "--password-env", "OFFICE_PASS"], admin) == 0
    assert "in $OFFICE_PASS" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a password is never a command-line argument
        run_cli(["mail", "account", "add", "x", "--host", "h", "--from", "a@b.test",
                 "--password", "secret"], admin)
    capsys.readouterr()
    # The test server takes no login: use an account without one for sending.
    assert run_cli(["mail", "account", "add", "open", "--host", smtp_server.host,
                    "--port", str(smtp_server.port), "--security", "none",
                    "--from", "sales@firm.test"], admin) == 0
    assert run_cli(["mail", "account", "list", "--json"], admin) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [a["name"] for a in listed] == ["office", "open"]
    assert listed[0]["password_source"] == "env" and "password" not in listed[0]

    assert run_cli(["mail", "template", "add", "hi", "--subject",
                    "For {{ contact.last_name }}", "--body-file", str(body)], admin) == 0
    capsys.readouterr()
    assert run_cli(["mail", "template", "preview", "hi", "--to", str(ids[1])], admin) == 0
    out = capsys.readouterr().out
    assert "Subject: For Special" in out and "Hello First1 of Ромашка!" in out

    assert run_cli(["mail", "create", "--template", "hi", "--account", "open",
                    "--query", "Special", "--json"], admin) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["total"] == 1 and created["problems"] == []
    assert run_cli(["mail", "create", "--template", "hi", "--account", "open", "--all"],
                   admin) == 0
    captured = capsys.readouterr()
    mailing_id = int(captured.out.strip())
    assert "3 recipients" in captured.err

    assert run_cli(["mail", "send", str(mailing_id)], admin) == 0
    assert "sent 3" in capsys.readouterr().out
    assert run_cli(["mail", "status", str(mailing_id), "--json", "--list", "sent"], admin) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["sent"] == 3 and status["status"] == "done"
    assert {r["address"] for r in status["recipients"]} == {f"c{i}@clients.test"
                                                            for i in range(3)}
    assert smtp_server.recorder.to("c1@clients.test")[0].message["Subject"] == "For Special"
    assert run_cli(["mail", "list"], admin) == 0
    assert "3/3" in capsys.readouterr().out


def test_command_line_send_refuses_when_fields_are_missing(admin, smtp_server, tmp_path,
                                                           capsys) -> None:
    make_contacts(admin, 2)  # no organization
    body = tmp_path / "body.txt"
    body.write_text("{{ org.name }}", encoding="utf-8")
    account(admin, smtp_server)
    run_cli(["mail", "template", "add", "t", "--subject", "S", "--body-file", str(body)], admin)
    run_cli(["mail", "create", "--template", "t", "--account", "office", "--all"], admin)
    mailing_id = int(capsys.readouterr().out.strip().splitlines()[-1])
    assert run_cli(["mail", "send", str(mailing_id)], admin) == 2
    err = capsys.readouterr().err
    assert "Missing field org.name" in err and "Nothing was sent" in err
    assert smtp_server.recorder.count() == 0
    assert run_cli(["mail", "send", str(mailing_id), "--skip-problems"], admin) == 0
    assert "failed 2" in capsys.readouterr().out


# --- no password in clear text -------------------------------------------------------------


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.4.5.6", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LocalHost.", True), ("mail.localhost", True),
    ("10.0.0.1", False), ("smtp.yandex.ru", False), ("localhost.evil.test", False),
    ("127.0.0.1.nip.io", False), ("::ffff:8.8.8.8", False)])
def test_only_this_computer_counts_as_loopback(host: str, loopback: bool) -> None:
    assert smtp.is_loopback(host) is loopback


def test_a_login_without_encryption_to_another_host_is_refused_when_saved(admin) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.add_account(admin, "office", host="smtp.firm.test", security="none",
                            from_address="s@firm.test", login="sales",
                            password_env="OFFICE_PASS")
    assert list(refused.value.errors) == ["security"]
    assert "clear text" in refused.value.errors["security"]
    assert accounts.list_accounts(admin) == []
    # Without a login nothing secret travels; with TLS the login is protected.
    accounts.add_account(admin, "relay", host="smtp.firm.test", security="none",
                        from_address="s@firm.test")
    accounts.add_account(admin, "tls", host="smtp.firm.test", security="starttls",
                        from_address="s@firm.test", login="sales", password_env="OFFICE_PASS")
    assert [a.name for a in accounts.list_accounts(admin)] == ["relay", "tls"]


def test_an_account_saved_before_the_rule_is_refused_before_connecting(admin, monkeypatch
                                                                       ) -> None:
    from tui_crm.db.mail_models import MailAccount

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    monkeypatch.setenv("OFFICE_PASS", "секрет")
    # As an older version stored it; the host is this machine under a name that is not
    # "loopback" by the rule, so a connection, if any were made, would reach `listener`.
    MailAccount.create(name="old", host="127.0.0.1.nip.io", port=port, security="none",
                       login="sales", from_address="s@firm.test", from_name="",
                       password_source="env", password_env="OFFICE_PASS",
                       created_by=admin.user_id)
    make_contacts(admin, 2)
    simple_template(admin)
    mailing_id = mailings.create_mailing(admin, template="hello", account="old",
                                        source=RecipientSource("contacts")).id
    for attempt in (lambda: accounts.test_account(admin, "old"),
                    lambda: runner.send_test(admin, mailing_id),
                    lambda: runner.send(admin, mailing_id, options=FAST)):
        with pytest.raises(ValidationError, match="clear text"):
            attempt()
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody came
    listener.close()
    assert set(statuses(mailing_id).values()) == {"pending"}


def test_a_login_without_encryption_on_loopback_still_sends(admin, monkeypatch) -> None:
    recorder = Recorder(password="local-pass")
    controller, server = start_server(recorder)
    try:
        monkeypatch.setenv("LOCAL_PASS", "local-pass")
        accounts.add_account(admin, "local", host="localhost", port=server.port,
                            security="none", from_address="s@firm.test", login="relay",
                            password_env="LOCAL_PASS")
        accounts.test_account(admin, "local")
    finally:
        controller.stop()
    assert recorder.auth == ["relay"] and recorder.count() == 1


def test_the_cli_refuses_a_clear_text_login_with_one_line(tmp_path, capsys) -> None:
    from tui_crm.cli.main import main

    db = str(tmp_path / "crm.sqlite3")
    assert main(["--db", db, "mail", "account", "add", "office", "--host", "smtp.firm.test",
                 "--security", "none", "--from", "s@firm.test", "--login", "sales",
                 "--password-env", "OFFICE_PASS"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "security: A login without encryption" in err
    assert main(["--db", db, "mail", "account", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
