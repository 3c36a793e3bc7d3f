"""Mailings: one template sent by one account to a list of recipients fixed when it is
made; their views with the counts per status, and which run is sending a mailing now."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from peewee import fn

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.mail_models import MailAccount, Mailing, MailRecipient, MailTemplate
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, visibility
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import mail_files
from tui_crm.services.mail.accounts import AccountView, account_view, find_account
from tui_crm.services.mail.common import STATUS_LABELS, STATUSES
from tui_crm.services.mail.message import new_message_id
from tui_crm.services.mail.recipients import RecipientSource, Selection, select_recipients
from tui_crm.services.mail.smtp import check_transport
from tui_crm.services.mail.templates import find_template

STALE_RUNNER = dt.timedelta(minutes=2)  # a runner on another host is dead after this

# Runs of this process that are alive (a runner with our pid but another token is dead).
_active_tokens: set[str] = set()
_active_lock = threading.Lock()


def start_runner() -> str:
    """A name for a run that is about to send: host, pid and a token alive until
    end_runner (so a run of this process that ended is known to be dead)."""
    token = uuid.uuid4().hex[:12]
    with _active_lock:
        _active_tokens.add(token)
    return f"{socket.gethostname()}:{os.getpid()}:{token}"


def end_runner(runner: str) -> None:
    with _active_lock:
        _active_tokens.discard(runner.rsplit(":", 1)[-1])


def runner_alive(runner: str, heartbeat: dt.datetime | None) -> bool:
    """Whether the run named `runner` still sends: by its pid on this host, by its
    heartbeat elsewhere."""
    host, _sep, rest = runner.partition(":")
    pid_text, _sep, token = rest.partition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            with _active_lock:
                return token in _active_tokens
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return heartbeat is not None and m.now() - heartbeat < STALE_RUNNER


@dataclass(frozen=True)
class MailingView:
    id: int
    name: str
    template: str
    account: str
    subject: str
    kind: str
    source: str
    status: str
    rate_per_minute: float | None
    counts: dict[str, int]
    created_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    test_sent_at: dt.datetime | None
    created_by: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return handled(self.counts)

    def to_dict(self) -> dict[str, Any]:
        def iso(v: dt.datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {"id": self.id, "name": self.name, "template": self.template,
                "account": self.account, "subject": self.subject, "section": self.kind,
                "source": self.source, "status": self.status,
                "rate_per_minute": self.rate_per_minute, "counts": dict(self.counts),
                "total": self.total, "created_at": iso(self.created_at),
                "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
                "test_sent_at": iso(self.test_sent_at), "created_by": self.created_by}


def handled(counts: dict[str, int]) -> int:
    """Recipients the sender has handled (all but pending and sending)."""
    return sum(counts.values()) - counts.get("pending", 0) - counts.get("sending", 0)


def counts_line(counts: dict[str, int]) -> str:
    """The non-zero counts per status, in STATUSES order: "sent 5, failed 1"."""
    return ", ".join(f"{_(STATUS_LABELS[s])} {counts.get(s, 0)}"
                     for s in STATUSES if counts.get(s, 0))


def status_counts(mailing_id: int) -> dict[str, int]:
    return _counts_of([mailing_id])[mailing_id]


def _counts_of(mailing_ids: list[int]) -> dict[int, dict[str, int]]:
    """Recipients per status of each mailing (one query for all)."""
    counts: dict[int, dict[str, int]] = {i: dict.fromkeys(STATUSES, 0) for i in mailing_ids}
    if mailing_ids:
        for mailing_id, status, n in (
                MailRecipient.select(MailRecipient.mailing, MailRecipient.status,
                                     fn.COUNT(MailRecipient.id))
                .where(MailRecipient.mailing.in_(mailing_ids))
                .group_by(MailRecipient.mailing, MailRecipient.status).tuples()):
            counts[mailing_id][status] = n
    return counts


def _names_by_id(column: Any, ids: Iterable[int | None]) -> dict[int | None, str]:
    model = column.model
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(model.select(model.id, column).where(model.id.in_(wanted)).tuples())


def _mailing_views(rows: list[Mailing]) -> list[MailingView]:
    """Views of mailings: their counts, template, account and creator names read once for
    all of them (not four queries per mailing)."""
    counts = _counts_of([r.id for r in rows])
    templates = _names_by_id(MailTemplate.name, (r.template_id for r in rows))
    accounts = _names_by_id(MailAccount.name, (r.account_id for r in rows))
    creators = _names_by_id(m.User.login, (r.created_by_id for r in rows))
    views = []
    for row in rows:
        status = row.status
        if status == "sending" and not (row.runner
                                        and runner_alive(row.runner, row.heartbeat_at)):
            status = "interrupted"  # the sending process died: resume it
        views.append(MailingView(
            row.id, row.name, templates.get(row.template_id, ""),
            accounts.get(row.account_id, ""), row.subject, row.kind, row.source, status,
            row.rate_per_minute, counts[row.id], row.created_at, row.started_at,
            row.finished_at, row.test_sent_at, creators.get(row.created_by_id, "")))
    return views


def load_mailing(actor: Actor, mailing_id: int) -> Mailing:
    """The mailing row, if it is this actor's to see (its creator's visibility)."""
    row = Mailing.get_or_none(Mailing.id == int(mailing_id))
    if row is None:
        raise NotFound(_("Mailing #{id} does not exist.").format(id=mailing_id))
    if not actor.is_admin and not visibility.sees_user(actor, row.created_by_id):
        raise PermissionDenied(_("This mailing belongs to another manager."))
    return row


def mailing_account(row: Mailing) -> AccountView | None:
    """The mailing's account (None when it was removed)."""
    acc = MailAccount.get_or_none(MailAccount.id == row.account_id)
    return account_view(acc) if acc else None


def sending_account(row: Mailing) -> AccountView:
    """The mailing's account, which sending needs."""
    account = mailing_account(row)
    if account is None:
        raise ValidationError({"account": _("The mailing's account was removed")})
    check_transport(account)
    return account


def get_mailing(actor: Actor, mailing_id: int) -> MailingView:
    return _mailing_views([load_mailing(actor, mailing_id)])[0]


def list_mailings(actor: Actor, *, limit: int = 200) -> list[MailingView]:
    """Mailings, newest first, with their counts per status."""
    query = Mailing.select().order_by(Mailing.id.desc()).limit(limit)
    users = visibility.visible_user_ids(actor)
    if users is not None and not actor.is_admin:
        query = query.where(Mailing.created_by.in_(users))
    return _mailing_views(list(query))


def create_mailing(actor: Actor, *, template: str | int, account: str | int,
                   source: RecipientSource, name: str = "",
                   rate_per_minute: float | None = None,
                   selection: Selection | None = None) -> MailingView:
    """A mailing to the recipients `source` selects now (the list is fixed from here on);
    `selection`: select_recipients(actor, source) when the caller has just made it.

    The template's subject, body and attachments are copied, so later edits of the template
    do not change a mailing that is half sent.
    """
    if selection is None:
        selection = select_recipients(actor, source)
    if not selection.recipients:
        raise ValidationError({"recipients": _("Nobody to send to: {summary}").format(
            summary=selection.summary())})
    if rate_per_minute is not None and rate_per_minute <= 0:
        raise ValidationError({"rate": _("The rate is a positive number of messages a minute")})
    return _insert_mailing(actor, find_template(template), find_account(account), source,
                           selection, name, rate_per_minute)


@write
def _insert_mailing(actor: Actor, tpl: MailTemplate, acc: MailAccount, source: RecipientSource,
                    selection: Selection, name: str, rate: float | None) -> MailingView:
    row = Mailing.create(name=name.strip() or tpl.name, template=tpl.id, account=acc.id,
                         subject=tpl.subject, body=tpl.body, html=tpl.html,
                         attachments=tpl.attachments, kind=source.kind,
                         source=source.describe(), rate_per_minute=rate,
                         created_by=actor.user_id)
    now = m.now()
    batch = [{"mailing": row.id, "kind": c.kind, "record_id": c.record_id,
              "organization_id": c.organization_id, "contact_id": c.contact_id,
              "name": c.name, "address": c.address, "address_key": c.address.casefold(),
              "status": "pending", "message_id": new_message_id(acc), "updated_at": now}
             for c in selection.recipients]
    for start in range(0, len(batch), 200):
        MailRecipient.insert_many(batch[start:start + 200]).execute()
    audit.log(actor, "create", "mailings", row.id,
              details=f"{row.name}: {source.describe()} ({len(batch)})")
    return _mailing_views([row])[0]


@write
def delete_mailing(actor: Actor, mailing_id: int) -> None:
    """Remove a mailing that has not started sending (a started one is history)."""
    row = load_mailing(actor, mailing_id)
    counts = status_counts(row.id)
    if counts["sent"] or counts["sending"] or counts["unknown"]:
        raise ValidationError({"mailing": _("A mailing that has sent messages is kept as "
                                            "history")})
    audit.log(actor, "delete", "mailings", row.id, details=row.name)
    row.delete_instance()
    mail_files.prune()


@dataclass(frozen=True)
class RecipientView:
    id: int
    kind: str
    record_id: int
    name: str
    address: str
    status: str
    attempts: int
    reply: str
    message_id: str
    sent_at: dt.datetime | None
    updated_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.kind, "record_id": self.record_id,
                "name": self.name, "address": self.address, "status": self.status,
                "attempts": self.attempts, "reply": self.reply, "message_id": self.message_id,
                "sent_at": self.sent_at.isoformat() if self.sent_at else None}


def _recipient_view(r: MailRecipient) -> RecipientView:
    return RecipientView(r.id, r.kind, r.record_id, r.name, r.address, r.status, r.attempts,
                         r.reply, r.message_id, r.sent_at, r.updated_at)


def list_recipients(actor: Actor, mailing_id: int, *, status: str | None = None,
                    offset: int = 0, limit: int = 500) -> list[RecipientView]:
    row = load_mailing(actor, mailing_id)
    query = MailRecipient.select().where(MailRecipient.mailing == row.id)
    if status:
        query = query.where(MailRecipient.status == status)
    return [_recipient_view(r) for r in
            query.order_by(MailRecipient.id).offset(max(0, offset)).limit(limit)]
