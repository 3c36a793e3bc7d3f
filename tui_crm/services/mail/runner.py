"""Sending a mailing, which never sends a message twice.

Sending is two-phase per recipient. A row is committed as `sending` (with the Message-ID it
got when the mailing was created) BEFORE the SMTP transaction, and as `sent` after the server
accepted the message. A crash, `kill -9` or Ctrl-C between the two leaves the row in
`sending`; the next run turns such rows into `unknown` for a person to decide (resend, or
mark as sent) and never resends them by itself. "Send, then mark sent" duplicated a message
at every crash in our measurements; this order duplicated none. To keep one commit per
message, the `sent` (or failed, retry…) of a message is committed together with the next
message's `sending`, or before any wait, so a crash still leaves at most the message in hand
in `sending`.

Recipients are read in batches (up to BATCH_SIZE, for about BATCH_SECONDS): their opt-outs
and the data their templates read come with them in one query, and a stop request is
honoured between any two messages. One SMTP connection is reused for the whole run and
reopened when the server drops it. A drop before the message body was handed over is retried
at once; a drop after it makes the row `unknown` (the server may have delivered it). Replies
4xx are retried later (`retry_delays`), 5xx are final (`failed`, with the server's reply).
Only one process sends a mailing at a time (`runner`, checked by pid on the same host and by
heartbeat elsewhere), and a row is marked `sending` only if it is still pending.

Each sent message goes to the client's history (see history.py), written for many messages
in one transaction (up to HISTORY_BATCH, at least every HISTORY_SECONDS, before a long wait
and at the end of a run). A crash before that leaves `sent` rows without their event; the
next run writes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from peewee import JOIN, ForeignKeyField, fn

from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import current, write
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, templating
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import mail_files
from tui_crm.services.mail.accounts import AccountView, account_password
from tui_crm.services.mail.common import chunks
from tui_crm.services.mail.context import Contexts, first_renderable
from tui_crm.services.mail.history import History, Sent, sent_item
from tui_crm.services.mail.mailings import (
    end_runner,
    handled,
    load_mailing,
    mailing_account,
    runner_alive,
    sending_account,
    start_runner,
    status_counts,
)
from tui_crm.services.mail.message import (
    build_message,
    new_message_id,
    subject_line,
)
from tui_crm.services.mail.smtp import SmtpDropped, SmtpRejected, SmtpSession
from tui_crm.text.identity import validate_email

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 20.0



@dataclass
class SendOptions:
    rate_per_minute: float | None = None  # None: the mailing's own rate (or no limit)
    retry_delays: tuple[float, ...] = (60.0, 300.0, 900.0)  # after each 4xx reply
    wait_for_retries: bool = True  # wait for 4xx retries in this run, or leave them pending
    reconnects: int = 5  # broken connections in a row before the run gives up
    reconnect_pause: float = 1.0
    timeout: float = 30.0
    test_first: bool = True  # a test message to the sender before the first recipient
    limits: templating.Limits = field(default_factory=templating.Limits)


@dataclass(frozen=True)
class Progress:
    mailing_id: int
    counts: dict[str, int]
    last: str = ""  # the address just handled

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return handled(self.counts)


@dataclass
class SendReport:
    mailing_id: int
    counts: dict[str, int]
    sent_now: int = 0
    failed_now: int = 0
    retried: int = 0
    became_unknown: int = 0  # left in `sending` by an earlier run
    test_sent: bool = False
    stopped: bool = False
    connections: int = 0
    history_restored: int = 0  # sent by an earlier run that ended before their history

    def to_dict(self) -> dict[str, Any]:
        return {"mailing": self.mailing_id, "counts": dict(self.counts),
                "sent_now": self.sent_now, "failed_now": self.failed_now,
                "retried": self.retried, "became_unknown": self.became_unknown,
                "test_sent": self.test_sent, "stopped": self.stopped,
                "connections": self.connections, "history_restored": self.history_restored}


class MailingBusy(CrmError):
    exit_code = 4


@write
def _claim(mailing_id: int, runner: str) -> int:
    """Become the one sender of the mailing; turn rows a dead run left in `sending` into
    `unknown`. Returns how many became unknown."""
    # Two runs starting at once: the second waits here, then sees the first.
    row = backend().lock_rows(Mailing.select().where(Mailing.id == mailing_id)).get()
    if row.runner and row.runner != runner and runner_alive(row.runner, row.heartbeat_at):
        raise MailingBusy(_("Mailing #{id} is being sent by another session ({runner}); wait "
                            "for it to finish.").format(id=mailing_id,
                                                        runner=row.runner.rsplit(":", 1)[0]))
    now = m.now()
    Mailing.update(runner=runner, heartbeat_at=now, status="sending",
                   started_at=fn.COALESCE(Mailing.started_at, now)).where(
        Mailing.id == mailing_id).execute()
    return (MailRecipient.update(
        status="unknown", updated_at=now,
        reply=_("Interrupted while sending: it may or may not have been delivered. Resend or "
                "mark as sent."))
        .where((MailRecipient.mailing == mailing_id) & (MailRecipient.status == "sending"))
        .execute())


@write
def _release(mailing_id: int, runner: str, status: str) -> None:
    Mailing.update(runner="", status=status, heartbeat_at=m.now(),
                   finished_at=m.now() if status == "done" else None).where(
        (Mailing.id == mailing_id) & (Mailing.runner == runner)).execute()





def _opted_out(rec: Any) -> bool:
    """Checked again right before sending: a client may opt out after the list was made."""
    if rec.contact_id:
        row = (m.Contact.select(m.Contact.opt_out, m.Contact.deleted_at)
               .where(m.Contact.id == rec.contact_id).tuples().first())
        if row is None or row[0] or row[1] is not None:
            return True
    if rec.organization_id:
        row = (m.Organization.select(m.Organization.opt_out, m.Organization.deleted_at)
               .where(m.Organization.id == rec.organization_id).tuples().first())
        if row is not None and row[0]:
            return True
        if rec.kind == "organizations" and (row is None or row[1] is not None):
            return True
    return False


def send_test(actor: Actor, mailing_id: int, *, to: str | None = None,
              session: SmtpSession | None = None, timeout: float = 30) -> str:
    """Send the first recipient's message to the sender (or `to`) with "[TEST]" in front."""
    row = load_mailing(actor, mailing_id)
    actor.require(row.kind, "mail")
    account = sending_account(row)
    shown = first_renderable(actor, row)
    if shown is None:
        raise CrmError(_("No recipient's message can be filled in; see the problems."))
    own = session is None
    session = session or SmtpSession(account, account_password(account), timeout=timeout)
    target = validate_email(to) if to else account.from_address
    data = build_message(account, account.from_name, target, _("[TEST] {subject}").format(
        subject=shown.subject), shown.body, html=shown.html,
        attachments=mail_files.contents(shown.attachments), message_id=new_message_id(account))
    try:
        try:
            reply = session.send(account.from_address, target, data)
        except SmtpDropped:  # the connection may have been idle too long: one more try
            reply = session.send(account.from_address, target, data)
    except SmtpRejected as exc:
        raise CrmError(_("The server refused the test message: {reply}").format(
            reply=exc.reply)) from None
    except SmtpDropped as exc:
        raise CrmError(_("The connection to {host} broke during the test message: {reason}")
                       .format(host=account.host, reason=exc)) from None
    except ConnectionError as exc:
        raise CrmError(_("Cannot connect to {host}:{port}: {reason}").format(
            host=account.host, port=account.port, reason=exc)) from None
    finally:
        if own:
            session.close()
    _set_test_sent(row.id)
    return reply


def _subject_again(contexts: Contexts, subject_tpl: templating.Compiled, rec: MailRecipient,
                   fallback: str) -> str:
    """The subject a recipient got, filled in again for its history (the template's own
    text when it can no longer be filled in)."""
    try:
        return subject_line(templating.render(
            subject_tpl, contexts.for_record(rec.kind, rec.record_id, rec.address)))
    except CrmError:
        return subject_line(fallback)


@write
def _set_test_sent(mailing_id: int) -> None:
    Mailing.update(test_sent_at=m.now()).where(Mailing.id == mailing_id).execute()


class _Sleeper:
    """Waits that a stop request interrupts at once."""

    def __init__(self, stop: threading.Event | None) -> None:
        self.stop = stop or threading.Event()

    def wait(self, seconds: float) -> bool:
        """True when stopped."""
        if seconds <= 0:
            return self.stop.is_set()
        return self.stop.wait(seconds)


BATCH_SIZE = 100  # recipients read, checked for opt-outs and given their cards at once …
BATCH_SECONDS = 1.0  # … for at most about this long, so a batch never goes stale
HISTORY_BATCH = 500  # sent messages whose history is written in one transaction …
HISTORY_SECONDS = 2.0  # … or after this long (a crash before leaves it to the next run)


@dataclass
class _Ready:
    """A recipient due now, read with what is checked right before sending it: whether it
    (or its organization) opted out or was deleted, and, for templates that read only text
    columns of the record (Contexts.quick), those columns."""

    id: int
    kind: str
    record_id: int
    organization_id: int | None
    contact_id: int | None
    name: str
    address: str
    message_id: str
    attempts: int
    opted_out: bool
    org_name: str | None  # for the history event's search document
    record: Any = None  # a namespace of the record's columns, or None


def _ready_batch(mailing_id: int, size: int, kind: str, columns: Iterable[str] = ()
                 ) -> list[_Ready]:
    """The next recipients due (in id order), their opt-outs and `columns` of their records
    (of section `kind`) in one query."""
    now = dt.datetime.now()
    r, c, o = MailRecipient, m.Contact, m.Organization
    wanted = [r.id, r.kind, r.record_id, r.organization_id, r.contact_id, r.name, r.address,
              r.message_id, r.attempts, c.opt_out.alias("tc_c_opt_out"),
              c.deleted_at.alias("tc_c_deleted"), o.opt_out.alias("tc_o_opt_out"),
              o.deleted_at.alias("tc_o_deleted"), o.name.alias("tc_o_name")]
    record_columns = sorted(set(columns))
    model, prefix = (c, "tc_c_") if kind == "contacts" else (o, "tc_o_")
    wanted += [model._meta.fields[name].alias(prefix + name) for name in record_columns]
    query = (r.select(*wanted)
             .join(c, JOIN.LEFT_OUTER, on=(r.contact_id == c.id))
             .join(o, JOIN.LEFT_OUTER, on=(r.organization_id == o.id), src=r)
             .where((r.mailing == mailing_id) & (r.status == "pending")
                    & (r.next_attempt_at.is_null() | (r.next_attempt_at <= now)))
             .order_by(r.id).limit(size).dicts())
    batch = []
    for row in query:
        kind = row["kind"]
        contact_gone = row["tc_c_opt_out"] is None  # no such contact (any more)
        opted_out = bool(row["contact_id"]) and (
            contact_gone or bool(row["tc_c_opt_out"]) or row["tc_c_deleted"] is not None)
        if not opted_out and row["organization_id"]:
            org_gone = row["tc_o_opt_out"] is None
            opted_out = bool(row["tc_o_opt_out"]) or (
                kind == "organizations" and (org_gone or row["tc_o_deleted"] is not None))
        record = None
        if record_columns and not opted_out:
            record = SimpleNamespace(id=row["record_id"], **{
                (f"{name}_id" if isinstance(model._meta.fields[name], ForeignKeyField)
                 else name): row[prefix + name] for name in record_columns})
        batch.append(_Ready(row["id"], kind, row["record_id"], row["organization_id"],
                            row["contact_id"], row["name"], row["address"], row["message_id"],
                            row["attempts"], opted_out, row["tc_o_name"], record))
    return batch


def _apply(outcomes: list[tuple[int, dict[str, Any]]]) -> None:
    """Write what happened to recipients (inside the caller's transaction)."""
    now = m.now()
    table = MailRecipient._meta.table_name
    for recipient_id, columns in outcomes:
        if columns.get("status") == "sent" and set(columns) == {"status", "reply", "sent_at"}:
            # The common case, as a prepared statement rather than a query built per row.
            current().execute_sql(backend().sql(
                f'UPDATE "{table}" SET "status" = \'sent\', "reply" = ?, "sent_at" = ?, '
                f'"next_attempt_at" = NULL, "updated_at" = ? WHERE "id" = ?'),
                (columns["reply"], columns["sent_at"], now, recipient_id))
        else:
            MailRecipient.update(**columns, updated_at=now).where(
                MailRecipient.id == recipient_id).execute()


@write
def step(outcomes: list[tuple[int, dict[str, Any]]], claim: int | None) -> bool:
    """One commit per message: what happened to the previous ones, and `claim` marked
    `sending` (only if still pending: never two senders for one row) BEFORE the SMTP
    transaction. So a crash leaves at most the message in hand in `sending`."""
    _apply(outcomes)
    if claim is None:
        return False
    table = MailRecipient._meta.table_name
    cursor = current().execute_sql(backend().sql(
        f'UPDATE "{table}" SET "status" = \'sending\', "attempts" = "attempts" + 1, '
        f'"updated_at" = ? WHERE "id" = ? AND "status" = \'pending\''), (m.now(), claim))
    return cursor.rowcount == 1


class _Run:
    """One run of `send`: the SMTP session, outcomes not yet committed (they go with the next
    message's `sending` commit), sent messages owing history (written per batch), and the
    counts shown by `progress` (kept here instead of a query per message)."""

    def __init__(self, actor: Actor, row: Mailing, account: AccountView,
                 session: SmtpSession, options: SendOptions, report: SendReport,
                 progress: Callable[[Progress], None] | None, sleeper: _Sleeper) -> None:
        self.actor = actor
        self.row = row
        self.account = account
        self.session = session
        self.options = options
        self.report = report
        self.progress = progress
        self.sleeper = sleeper
        self.subject_tpl = templating.compile_template(row.subject)
        self.body_tpl = templating.compile_template(row.body, html=row.html)
        # Read once from the database for the whole run (never from disk).
        self.attachments = mail_files.contents(mail_files.parse(row.attachments))
        self.contexts = Contexts(actor, account, [self.subject_tpl, self.body_tpl],
                                  row.kind)
        self.history = History(actor, row)
        self.outcomes: list[tuple[int, dict[str, Any]]] = []
        self.owed: list[Sent] = []
        self.owed_since = 0.0
        self.counts: dict[str, int] = {}
        self.drops = 0
        self.next_slot = 0.0
        self.last_beat = time.monotonic()

    # bookkeeping
    def outcome(self, rec: _Ready, was: str, status: str, **columns: Any) -> None:
        self.outcomes.append((rec.id, {"status": status, **columns}))
        self.counts[was] = self.counts.get(was, 0) - 1
        self.counts[status] = self.counts.get(status, 0) + 1

    def skip(self, rec: _Ready) -> None:
        self.outcome(rec, "pending", "skipped", reply=_("Opted out of mailings"))
        self.notify(rec.address)

    def notify(self, last: str) -> None:
        if self.progress is not None:
            self.progress(Progress(self.row.id, dict(self.counts), last))

    def beat(self) -> None:
        if time.monotonic() - self.last_beat > HEARTBEAT_SECONDS:
            _heartbeat(self.row.id)  # other hosts see a live runner
            self.last_beat = time.monotonic()

    def commit_outcomes(self) -> None:
        if self.outcomes:
            step(self.outcomes, None)
            self.outcomes = []

    def flush(self, *, final: bool = False) -> None:
        """Outcomes, then the history owed (its own transaction: a history that cannot be
        written never undoes a `sent`): every HISTORY_BATCH messages or HISTORY_SECONDS, and
        at the end (the search index takes many documents at once far better)."""
        self.commit_outcomes()
        if not self.owed:
            return
        if final or len(self.owed) >= HISTORY_BATCH \
                or time.monotonic() - self.owed_since >= HISTORY_SECONDS:
            owed, self.owed = self.owed, []
            self.history.write_or_note(owed)

    def restore_history(self) -> int:
        """Sent rows without their history (a crash between the two commits): write it now,
        with the subject filled in again."""
        rows = list(MailRecipient.select().where(
            (MailRecipient.mailing == self.row.id) & (MailRecipient.status == "sent")
            & MailRecipient.event_id.is_null()).order_by(MailRecipient.id))
        for start in range(0, len(rows), 200):
            chunk = rows[start:start + 200]
            self.contexts.prefetch(self.row.kind, [r.record_id for r in chunk])
            self.history.write_or_note([
                sent_item(r, _subject_again(self.contexts, self.subject_tpl, r,
                                             self.row.subject), r.reply) for r in chunk])
        self.contexts.forget()
        return len(rows)

    # sending
    def wait(self, seconds: float) -> bool:
        """Wait (nothing uncommitted meanwhile); True when stopped."""
        if seconds >= 1.0:
            self.flush(final=True)
        elif seconds > 0:
            self.commit_outcomes()
        if self.sleeper.wait(seconds):
            self.report.stopped = True
            return True
        return False

    def batch_size(self, interval: float) -> int:
        if interval <= 0:
            return BATCH_SIZE
        return max(1, min(BATCH_SIZE, int(BATCH_SECONDS / interval)))

    def send_batch(self, batch: list[_Ready], interval: float) -> bool:
        """Send a batch (or its first part, for about BATCH_SECONDS); False when stopped."""
        if self.progress is not None:  # counted afresh per batch, then kept in step here
            self.counts = status_counts(self.row.id)
        skipped = {r.id for r in batch if r.opted_out}
        self.contexts.forget()
        if self.contexts.quick is not None:
            self.contexts.take(self.row.kind, {r.record_id: r.record for r in batch
                                               if r.record is not None})
        else:
            self.contexts.prefetch(self.row.kind, [r.record_id for r in batch
                                                   if r.id not in skipped])
        queue = list(reversed(batch))  # the next one at the end
        started = time.monotonic()
        while queue:
            self.beat()
            if self.sleeper.stop.is_set():
                self.report.stopped = True
                return False
            if time.monotonic() - started > BATCH_SECONDS:
                return True  # the rest is read again, fresh, as the next batch
            rec = queue[-1]
            if rec.id in skipped:
                queue.pop()
                self.skip(rec)
                continue
            pause = self.next_slot - time.monotonic()
            if pause > HEARTBEAT_SECONDS:  # a slow rate: wait in steps, beating in between
                if self.wait(HEARTBEAT_SECONDS):
                    return False
                continue
            if pause > 0:
                if self.wait(pause):
                    return False
                if _opted_out(rec):  # checked again right before sending, as always
                    queue.pop()
                    self.skip(rec)
                    continue
            if not self.send_one(rec, interval):
                continue  # the same recipient again (on a new connection)
            queue.pop()
        return True

    def message(self, rec: _Ready) -> tuple[dict[str, Any], str, bytes]:
        """The recipient's context, subject and message bytes; CrmError/ValueError when
        it cannot be filled in or written."""
        limits = self.options.limits
        context = self.contexts.for_record(rec.kind, rec.record_id, rec.address)
        subject = subject_line(templating.render(self.subject_tpl, context, limits=limits))
        body = templating.render(self.body_tpl, context, limits=limits)
        data = build_message(self.account, rec.name, rec.address, subject, body,
                             html=self.row.html, attachments=self.attachments,
                             message_id=rec.message_id)
        return context, subject, data

    def send_one(self, rec: _Ready, interval: float) -> bool:
        """Handle one recipient; False when it is to be tried again at once."""
        options = self.options
        try:
            context, subject, data = self.message(rec)
        except (CrmError, OSError, ValueError) as exc:
            self.outcome(rec, "pending", "failed", reply=str(exc))
            self.report.failed_now += 1
            self.notify(rec.address)
            return True
        try:
            self.session.open()  # connect before `sending`: a dead server leaves rows pending
        except ConnectionError as exc:
            self.drops += 1
            if self.drops > options.reconnects:
                raise CrmError(_("Cannot connect to {host}:{port}: {reason}. The rest "
                                 "stays pending; run resume later.").format(
                    host=self.account.host, port=self.account.port, reason=exc)) from None
            if self.wait(options.reconnect_pause):
                raise _Stopped from None
            return False
        self.next_slot = time.monotonic() + interval
        outcomes, self.outcomes = self.outcomes, []
        try:
            claimed = step(outcomes, rec.id)
        except BaseException:
            self.outcomes = outcomes + self.outcomes  # still to be written
            raise
        if not claimed:
            return True
        self.counts["pending"] = self.counts.get("pending", 0) - 1
        self.counts["sending"] = self.counts.get("sending", 0) + 1
        try:
            reply = self.session.send(self.account.from_address, rec.address, data)
        except SmtpDropped as exc:
            if exc.after_body:
                self.outcome(rec, "sending", "unknown", reply=_(
                    "The connection broke after the message was handed over ({reason}); "
                    "it may have been delivered. Resend or mark as sent.").format(reason=exc))
                self.drops = 0
                self.notify(rec.address)
                return True
            # Nothing was delivered: back in the queue at once, on a new connection.
            self.drops += 1
            self.outcome(rec, "sending", "pending", reply=str(exc),
                         attempts=MailRecipient.attempts - 1)
            if self.drops > options.reconnects:
                raise CrmError(_("The server {host} keeps closing the connection: "
                                 "{reason}. The rest stays pending; run resume later.")
                               .format(host=self.account.host, reason=exc)) from None
            self.notify(rec.address)
            return False
        except SmtpRejected as exc:
            self.drops = 0
            attempts = rec.attempts + 1
            if exc.temporary and attempts <= len(options.retry_delays):
                delay = options.retry_delays[attempts - 1]
                self.outcome(rec, "sending", "pending", reply=exc.reply,
                             next_attempt_at=dt.datetime.now() + dt.timedelta(seconds=delay))
                self.report.retried += 1
            else:
                self.outcome(rec, "sending", "failed", reply=exc.reply)
                self.report.failed_now += 1
            self.notify(rec.address)
            return True
        self.drops = 0
        self.outcome(rec, "sending", "sent", reply=reply, sent_at=m.now())
        if not self.owed:
            self.owed_since = time.monotonic()
        self.owed.append(sent_item(rec, subject, reply, context["recipient"]["name"]
                                    if rec.kind == "contacts" else None))
        self.report.sent_now += 1
        self.notify(rec.address)
        return True


    def send_all(self, interval: float) -> str:
        """Batch after batch until nothing is due, a stop or an error; the mailing's status
        after the run ("stopped" when it ended early)."""
        row, options = self.row, self.options
        size = self.batch_size(interval)
        while True:
            self.beat()
            if self.sleeper.stop.is_set():
                self.report.stopped = True
                return "stopped"
            batch = _ready_batch(row.id, size, row.kind, self.contexts.record_columns(row.kind))
            if not batch:
                wake = _next_retry(row.id)
                if wake is None:
                    return _settled_status(row.id)
                if not options.wait_for_retries:
                    return "waiting"
                pause = (wake - dt.datetime.now()).total_seconds()
                self.flush(final=True)  # the history is not kept waiting for retries
                if self.wait(min(max(pause, 0.05), 5.0)):
                    return "stopped"
                continue
            try:
                going = self.send_batch(batch, interval)
            except _Stopped:
                going = False
            self.flush()
            if not going:
                return "stopped"


class _Stopped(Exception):
    """A stop request during a wait inside a message."""


def send(actor: Actor, mailing_id: int, *, options: SendOptions | None = None,
         progress: Callable[[Progress], None] | None = None,
         stop: threading.Event | None = None) -> SendReport:
    """Send (or continue) a mailing; see the module docstring for the guarantees.

    `progress` is called after every recipient (from this thread); setting `stop` ends the
    run after the message in hand, leaving the rest pending for a later `resume`.
    """
    options = options or SendOptions()
    row = load_mailing(actor, mailing_id)
    actor.require(row.kind, "mail")
    actor.require("events", "edit")  # each message is written to the client's history
    account = sending_account(row)
    password = account_password(account)  # a missing password stops us before anything
    for problem in mail_files.problems(mail_files.parse(row.attachments)):
        raise ValidationError({"attachments": problem})
    rate = options.rate_per_minute if options.rate_per_minute is not None \
        else row.rate_per_minute
    interval = 60.0 / rate if rate and rate > 0 else 0.0

    runner = start_runner()
    report = SendReport(row.id, {})
    session = SmtpSession(account, password, timeout=options.timeout)
    run = _Run(actor, row, account, session, options, report, progress, _Sleeper(stop))
    final_status = "stopped"
    claimed = False
    try:
        report.became_unknown = _claim(row.id, runner)
        claimed = True
        if report.became_unknown:
            log.warning("mailing %s: %s recipients were interrupted while sending; marked "
                        "unknown", row.id, report.became_unknown)
        report.history_restored = run.restore_history()
        if options.test_first and row.test_sent_at is None and _has_pending(row.id) \
                and first_renderable(actor, row) is not None:
            send_test(actor, row.id, session=session)
            report.test_sent = True
        final_status = run.send_all(interval)
    finally:
        try:
            run.flush(final=True)  # what happened is never lost with the reason the run ended
        except Exception as exc:  # noqa: BLE001 - keep the first error
            log.warning("mailing %s: could not record the last outcomes: %s", row.id, exc)
        session.close()
        report.connections = session.connections
        end_runner(runner)
        try:
            if claimed:
                _release(row.id, runner, final_status)
                _log_run(actor, row, report)
        except CrmError as exc:  # keep the first error (the reason the run ended)
            log.warning("mailing %s: could not record the end of the run: %s", row.id, exc)
    report.counts = status_counts(row.id)
    return report


def resume(actor: Actor, mailing_id: int, **kwargs: Any) -> SendReport:
    """Continue a mailing after a crash, kill or stop: rows left in `sending` become `unknown`
    (never resent automatically), pending ones and due retries are sent."""
    return send(actor, mailing_id, **kwargs)


@write
def _log_run(actor: Actor, row: Mailing, report: SendReport) -> None:
    audit.log(actor, "mail", "mailings", row.id,
              details=f"{row.name}: sent {report.sent_now}, failed {report.failed_now}, "
                      f"retry {report.retried}, unknown {report.became_unknown}"
                      + (", stopped" if report.stopped else ""))


def _next_retry(mailing_id: int) -> dt.datetime | None:
    return (MailRecipient.select(fn.MIN(MailRecipient.next_attempt_at))
            .where((MailRecipient.mailing == mailing_id) & (MailRecipient.status == "pending"))
            .scalar())


def _settled_status(mailing_id: int) -> str:
    counts = status_counts(mailing_id)
    if counts["pending"] or counts["sending"]:
        return "stopped"
    return "attention" if counts["unknown"] else "done"


@write
def _heartbeat(mailing_id: int) -> None:
    Mailing.update(heartbeat_at=m.now()).where(Mailing.id == mailing_id).execute()


def _has_pending(mailing_id: int) -> bool:
    return MailRecipient.select().where((MailRecipient.mailing == mailing_id)
                                        & (MailRecipient.status == "pending")).exists()


@write
def resolve_unknown(actor: Actor, mailing_id: int, recipient_ids: Iterable[int] | None = None,
                    *, resend: bool) -> int:
    """A person's decision on `unknown` rows: send again (back to pending) or count as sent
    (recorded in the client's history). Returns how many rows changed."""
    row = load_mailing(actor, mailing_id)
    actor.require(row.kind, "mail")
    query = MailRecipient.select().where((MailRecipient.mailing == row.id)
                                         & (MailRecipient.status == "unknown"))
    if recipient_ids is not None:
        query = query.where(MailRecipient.id.in_(list(recipient_ids)))
    rows = list(query.order_by(MailRecipient.id))
    changed = len(rows)
    ids = [r.id for r in rows]
    if resend:
        for chunk in chunks(ids):
            MailRecipient.update(status="pending", next_attempt_at=None, updated_at=m.now(),
                                 reply=_("Resend requested by {login}").format(
                                     login=actor.login)).where(
                MailRecipient.id.in_(chunk)).execute()
    else:
        subject_tpl = templating.compile_template(row.subject)
        contexts = Contexts(actor, mailing_account(row), [subject_tpl], row.kind)
        reply = _("Marked as sent by {login}").format(login=actor.login)
        items: list[Sent] = []
        for start in range(0, len(rows), 200):
            part = rows[start:start + 200]
            contexts.prefetch(row.kind, [r.record_id for r in part])
            items.extend(sent_item(rec, _subject_again(contexts, subject_tpl, rec,
                                                        row.subject), reply)
                         for rec in part)
        for chunk in chunks(ids):
            MailRecipient.update(status="sent", reply=reply, sent_at=m.now(),
                                 next_attempt_at=None, updated_at=m.now()).where(
                MailRecipient.id.in_(chunk)).execute()
        History(actor, row).write_or_note(items)
    if changed:
        audit.log(actor, "mail", "mailings", row.id,
                  details=f"unknown → {'pending' if resend else 'sent'}: {changed}")
        status = _settled_status(row.id)
        Mailing.update(status=status, finished_at=m.now() if status == "done" else None).where(
            (Mailing.id == row.id) & (Mailing.runner == "")).execute()
    return changed
