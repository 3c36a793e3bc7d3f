"""E-mail mailings: SMTP accounts, templates, recipients, sending that never sends twice.

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

Each sent message becomes an "email" event with result "sent" in the client's history (the
rows, search document, audit entries and last-contact dates records.create writes) and an
audit entry "mail" on the record, written for many messages in one transaction (up to
HISTORY_BATCH, at least every HISTORY_SECONDS, before a long wait and at the end of a run).
A crash before that leaves `sent` rows without their event; the next run writes it.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import functools
import ipaddress
import logging
import mimetypes
import os
import re
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import peewee
from peewee import JOIN, CharField, ForeignKeyField, IntegrityError, TextField, fn

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.database import current, for_update, is_postgres, write
from tui_crm.db.mail_models import MailAccount, Mailing, MailRecipient, MailTemplate
from tui_crm.errors import ConflictError, CrmError, NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import (
    audit,
    lookups,
    records,
    search_docs,
    secrets,
    server_files,
    templating,
    values,
    visibility,
)
from tui_crm.services.core.kinds import CATEGORY_CHOICES
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import mail_files
from tui_crm.text import dates
from tui_crm.text.identity import InvalidValue, validate_email

log = logging.getLogger(__name__)

SECURITY = {"ssl": N_("SSL/TLS"), "starttls": N_("STARTTLS"), "none": N_("none (unencrypted)")}
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
KINDS = ("contacts", "organizations")
STATUSES = ("pending", "sending", "sent", "failed", "unknown", "skipped")
STATUS_LABELS = {"pending": N_("pending"), "sending": N_("sending"), "sent": N_("sent"),
                 "failed": N_("failed"), "unknown": N_("unknown"), "skipped": N_("skipped")}
MAILING_STATUS_LABELS = {"draft": N_("draft"), "sending": N_("sending"),
                         "stopped": N_("stopped"), "waiting": N_("waiting for retries"),
                         "attention": N_("needs a decision"), "done": N_("done"),
                         "interrupted": N_("interrupted")}
STALE_RUNNER = dt.timedelta(minutes=2)  # a runner on another host is dead after this
HEARTBEAT_SECONDS = 20.0

# Runs of this process that are alive (a runner with our pid but another token is dead).
_active_tokens: set[str] = set()
_active_lock = threading.Lock()


# --- rights ------------------------------------------------------------------------------------


def _require_mail(actor: Actor, kind: str | None = None) -> None:
    """The "mail" right: on the recipients' section, or on either for accounts/templates."""
    if kind is not None:
        actor.require(kind, "mail")
        return
    if not any(actor.can(k, "mail") for k in KINDS):
        actor.require("contacts", "mail")


# --- accounts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    id: int
    name: str
    host: str
    port: int
    security: str
    login: str
    from_address: str
    from_name: str
    password_source: str  # keyring / env / none
    password_env: str

    def describe_password(self) -> str:
        if self.password_source == "keyring":
            return _("in the keyring")
        if self.password_source == "env":
            return _("in ${name}").format(name=self.password_env)
        return _("none")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "host": self.host, "port": self.port,
                "security": self.security, "login": self.login,
                "from_address": self.from_address, "from_name": self.from_name,
                "password_source": self.password_source, "password_env": self.password_env}


def _account_view(a: MailAccount) -> AccountView:
    return AccountView(a.id, a.name, a.host, a.port, a.security, a.login, a.from_address,
                       a.from_name, a.password_source, a.password_env)


def secret_key(host: str, port: int, login: str) -> str:
    """The keyring key of an account's password: the login at the server."""
    return f"smtp:{login}@{host}:{port}"


def is_loopback(host: str) -> bool:
    """A server on this computer: localhost or a loopback address (no name is looked up)."""
    name = host.strip().strip("[]").rstrip(".").casefold()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def clear_text_login(security: str, host: str, login: str) -> str | None:
    """Why an account may not log in as set up (the password would cross the network in
    clear text), or None. Checked when an account is saved and again before connecting,
    for accounts saved before the rule."""
    if security == "none" and login.strip() and not is_loopback(host):
        return _("A login without encryption would send the password in clear text to "
                 "{host}; choose starttls or ssl (only a server on this computer may go "
                 "without)").format(host=host.strip())
    return None


def _check_transport(account: AccountView | MailAccount) -> None:
    problem = clear_text_login(account.security, account.host, account.login)
    if problem is not None:
        raise ValidationError({"security": problem})


def _clean_account(name: str, host: str, port: int | str | None, security: str,
                   from_address: str, login: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"name": name.strip(), "host": host.strip(), "login": login.strip(),
                           "security": security.strip().lower()}
    if not out["name"]:
        errors["name"] = _("Required")
    if not out["host"] or any(c.isspace() for c in out["host"]):
        errors["host"] = _("A server name such as smtp.example.com")
    if out["security"] not in SECURITY:
        errors["security"] = _("Choose one of: {known}").format(known=", ".join(SECURITY))
    try:
        out["port"] = int(port) if port is not None and port != "" else \
            DEFAULT_PORTS.get(out["security"], 587)
        if not 0 < out["port"] < 65536:
            raise ValueError
    except (TypeError, ValueError):
        errors["port"] = _("A port number from 1 to 65535")
    try:
        out["from_address"] = validate_email(from_address)
        _check_deliverable(out["from_address"])
    except (InvalidValue, CrmError) as exc:
        errors["from_address"] = str(exc)
    if "host" not in errors and "security" not in errors:
        problem = clear_text_login(out["security"], out["host"], out["login"])
        if problem is not None:
            errors["security"] = problem
    if errors:
        raise ValidationError(errors)
    return out


def add_account(actor: Actor, name: str, *, host: str, port: int | str | None = None,
                security: str = "starttls", from_address: str, login: str = "",
                from_name: str = "", password: str | None = None,
                password_env: str | None = None) -> AccountView:
    """Add an SMTP account. The password goes to the secure keyring (read back and compared)
    or stays in the environment variable `password_env`; the database keeps neither."""
    _require_mail(actor)
    if password_env:
        server_files.check_environment(actor, password_env)
    cleaned = _clean_account(name, host, port, security, from_address, login)
    if password and password_env:
        raise ValidationError({"password": _("Give a password or an environment variable, "
                                             "not both")})
    if (password or password_env) and not cleaned["login"]:
        raise ValidationError({"login": _("A password needs a login")})
    if MailAccount.select().where(MailAccount.name == cleaned["name"]).exists():
        raise ValidationError({"name": _("An account {name!r} already exists").format(
            name=cleaned["name"])})
    source, env_name = "none", ""
    if password_env:
        env_name = secrets.check_env_name(password_env)
        source = "env"
    elif password:
        # Stored before the row is written: a refused keyring leaves nothing behind.
        secrets.store(secret_key(cleaned["host"], cleaned["port"], cleaned["login"]), password)
        source = "keyring"
    return _insert_account(actor, cleaned, from_name.strip(), source, env_name)


@write
def _insert_account(actor: Actor, cleaned: dict[str, Any], from_name: str, source: str,
                    env_name: str) -> AccountView:
    account = MailAccount.create(**cleaned, from_name=from_name, password_source=source,
                                 password_env=env_name, created_by=actor.user_id)
    audit.log(actor, "create", "mail_accounts", account.id, details=account.name)
    return _account_view(account)


def list_accounts(actor: Actor) -> list[AccountView]:
    return [_account_view(a) for a in MailAccount.select().order_by(MailAccount.name)]


def _by_name_or_id(model: type[MailAccount | MailTemplate], ref: str | int, missing: str) -> Any:
    """A row by its name, or by its id written as `7` or `#7`; NotFound with `missing`
    (formatted with the name) when there is none."""
    text = str(ref).strip()
    row = model.get_or_none(model.name == text)
    if row is None and text.lstrip("#").isdigit():
        row = model.get_or_none(model.id == int(text.lstrip("#")))
    if row is None:
        raise NotFound(missing.format(name=text))
    return row


def _find_account(ref: str | int) -> MailAccount:
    return _by_name_or_id(MailAccount, ref,
                          _("No mail account {name!r}; see `tui-crm mail account list`."))


def get_account(actor: Actor, ref: str | int) -> AccountView:
    return _account_view(_find_account(ref))


@write
def remove_account(actor: Actor, ref: str | int) -> None:
    _require_mail(actor)
    account = _find_account(ref)
    if account.password_source == "keyring":
        secrets.delete(secret_key(account.host, account.port, account.login))
    audit.log(actor, "delete", "mail_accounts", account.id, details=account.name)
    account.delete_instance()


def account_password(account: AccountView | MailAccount) -> str | None:
    """The account's password from where it lives (None when the server needs no login)."""
    if account.password_source == "env":
        return secrets.from_env(account.password_env)
    if account.password_source == "keyring":
        return secrets.fetch(secret_key(account.host, account.port, account.login))
    return None


def test_account(actor: Actor, ref: str | int, *, to: str | None = None,
                 timeout: float = 30) -> str:
    """Connect, log in and send a short message to the sender (or `to`); the server's reply."""
    _require_mail(actor)
    account = _account_view(_find_account(ref))
    _check_transport(account)
    target = validate_email(to) if to else account.from_address
    session = SmtpSession(account, account_password(account), timeout=timeout)
    try:
        session.open()
        message = build_message(account, "", target, _("tui-crm test message"),
                                _("The account {name} can send mail.").format(name=account.name),
                                html=False, attachments=[], message_id=new_message_id(account))
        try:
            return session.send(account.from_address, target, message)
        except SmtpRejected as exc:
            raise CrmError(_("The server refused the test message: {reply}").format(
                reply=exc.reply)) from None
        except SmtpDropped:
            raise CrmError(_("The server closed the connection during the test message."
                             )) from None
    finally:
        session.close()


# --- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    subject: str
    body: str
    html: bool
    attachments: list[mail_files.Attachment]
    version: int
    updated_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "subject": self.subject, "body": self.body,
                "html": self.html, "attachments": [a.to_dict() for a in self.attachments],
                "version": self.version,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}


def _template_view(t: MailTemplate) -> TemplateView:
    return TemplateView(t.id, t.name, t.subject, t.body, bool(t.html),
                        mail_files.parse(t.attachments), t.version, t.updated_at)


def _check_template(subject: str, body: str, html: bool) -> None:
    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = _("Required")
    for name, text, is_html in (("subject", subject, False), ("body", body, html)):
        if name in errors:
            continue
        try:
            templating.compile_template(text, html=is_html)
        except templating.TemplateProblem as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)


def _check_files_named(actor: Actor, entries: Iterable[str],
                       kept: Iterable[mail_files.Attachment] = ()) -> None:
    """A file path among a template's attachments is read as this process's account:
    refused for a session acting for someone else (a kept attachment's name is no path)."""
    names = {a.name for a in kept}
    for raw in entries:
        entry = str(raw).strip()
        if entry and not (entry in names and "/" not in entry):
            server_files.check(actor, entry)


@write
def add_template(actor: Actor, name: str, *, subject: str, body: str, html: bool = False,
                 attachments: Iterable[str] = ()) -> TemplateView:
    """A new template; its subject and body are checked for template mistakes now, and the
    files named in `attachments` are read now and kept with it (see mail_files)."""
    _require_mail(actor)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Required")})
    if MailTemplate.select().where(MailTemplate.name == name).exists():
        raise ValidationError({"name": _("A template {name!r} already exists").format(name=name)})
    _check_template(subject, body, html)
    _check_files_named(actor, attachments)
    files = mail_files.take(attachments)
    row = MailTemplate.create(name=name, subject=subject, body=body, html=html,
                              attachments=mail_files.dump(files), created_by=actor.user_id)
    audit.log(actor, "create", "mail_templates", row.id, details=name)
    return _template_view(row)


@write
def update_template(actor: Actor, ref: str | int, *, name: str | None = None,
                    subject: str | None = None, body: str | None = None,
                    html: bool | None = None, attachments: Iterable[str] | None = None,
                    expected_version: int | None = None) -> TemplateView:
    """Change a template; `attachments` (None: as they are) lists file paths to read now
    and names of its attachments to keep."""
    _require_mail(actor)
    row = _find_template(ref)
    if expected_version is not None and row.version != expected_version:
        raise ConflictError(_("The template {name!r} was changed by someone else after you "
                              "opened it; nothing was saved.").format(name=row.name))
    new_name = row.name if name is None else name.strip()
    if not new_name:
        raise ValidationError({"name": _("Required")})
    if new_name != row.name and MailTemplate.select().where(
            MailTemplate.name == new_name).exists():
        raise ValidationError({"name": _("A template {name!r} already exists").format(
            name=new_name)})
    new_subject = row.subject if subject is None else subject
    new_body = row.body if body is None else body
    new_html = bool(row.html) if html is None else html
    _check_template(new_subject, new_body, new_html)
    kept = mail_files.parse(row.attachments)
    if attachments is None:
        files = kept
    else:
        _check_files_named(actor, attachments, kept)
        files = mail_files.take(attachments, kept=kept)
    updated = (MailTemplate.update(name=new_name, subject=new_subject, body=new_body,
                                   html=new_html, attachments=mail_files.dump(files),
                                   updated_at=m.now(), version=MailTemplate.version + 1)
               .where((MailTemplate.id == row.id) & (MailTemplate.version == row.version))
               .execute())
    if updated != 1:
        raise ConflictError(_("The template {name!r} was changed by someone else after you "
                              "opened it; nothing was saved.").format(name=row.name))
    audit.log(actor, "update", "mail_templates", row.id, details=new_name)
    mail_files.prune()
    return _template_view(MailTemplate.get_by_id(row.id))


def list_templates(actor: Actor) -> list[TemplateView]:
    return [_template_view(t) for t in MailTemplate.select().order_by(MailTemplate.name)]


def _find_template(ref: str | int) -> MailTemplate:
    return _by_name_or_id(MailTemplate, ref,
                          _("No template {name!r}; see `tui-crm mail template list`."))


def get_template(actor: Actor, ref: str | int) -> TemplateView:
    return _template_view(_find_template(ref))


@write
def delete_template(actor: Actor, ref: str | int) -> None:
    _require_mail(actor)
    row = _find_template(ref)
    audit.log(actor, "delete", "mail_templates", row.id, details=row.name)
    row.delete_instance()
    mail_files.prune()


# --- recipients --------------------------------------------------------------------------------


@dataclass
class RecipientSource:
    """Which records a mailing goes to: a search/filter of a section, a group, a category, or
    records picked by id (a selection in a table)."""

    kind: str = "contacts"
    text: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    category: str | None = None
    ids: list[int] | None = None

    def describe(self) -> str:
        parts = [_(records.kind_spec(self.kind).label) if self.kind in records.KINDS
                 else self.kind]
        if self.text:
            parts.append(_("search {text!r}").format(text=self.text))
        for key, value in self.filters.items():
            parts.append(f"{key}={value}")
        if self.group:
            parts.append(_("group {name!r}").format(name=self.group))
        if self.category:
            parts.append(_("category {name!r}").format(name=self.category))
        if self.ids is not None:
            parts.append(_("{count} chosen").format(count=len(self.ids)))
        return ", ".join(parts)


@dataclass(frozen=True)
class Candidate:
    kind: str
    record_id: int
    name: str
    address: str
    organization_id: int | None
    contact_id: int | None


@dataclass
class Selection:
    recipients: list[Candidate]
    opted_out: int = 0
    without_email: int = 0
    duplicates: int = 0

    def summary(self) -> str:
        return _("{count} recipients; left out: {opted} opted out, {missing} without an "
                 "e-mail, {dupes} duplicate addresses").format(
            count=len(self.recipients), opted=self.opted_out, missing=self.without_email,
            dupes=self.duplicates)


def _matching_ids(actor: Actor, source: RecipientSource) -> list[int]:
    kind = source.kind
    filters = dict(source.filters)
    if source.group:
        filters["group"] = source.group
    category = None
    if source.category:
        try:
            category = values.parse_field("choice", source.category, choices=CATEGORY_CHOICES)
        except InvalidValue as exc:
            raise ValidationError({"category": str(exc)}) from None
        if kind == "organizations":
            filters["category"] = category
    if source.ids is not None and not source.text and not filters and category is None:
        wanted = list(dict.fromkeys(int(i) for i in source.ids))
        model = records.kind_spec(kind).model
        live = {r.id for r in model.select(model.id).where(
            model.id.in_(wanted) & model.deleted_at.is_null())}
        live = visibility.visible_subset(actor, kind, live)
        return [i for i in wanted if i in live]
    ids = records.row_ids(actor, kind, ListQuery(text=source.text, filters=filters))
    if category is not None and kind == "contacts":
        in_category = {c.id for c in m.Contact.select(m.Contact.id).join(
            m.Organization, on=(m.Contact.organization == m.Organization.id)).where(
            m.Organization.category == category)}
        ids = [i for i in ids if i in in_category]
    if source.ids is not None:
        chosen = {int(i) for i in source.ids}
        ids = [i for i in ids if i in chosen]
    return ids


def _chunks(items: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _first_emails(kind: str, ids: list[int]) -> dict[int | None, str]:
    column = m.ContactPoint.organization if kind == "organizations" else m.ContactPoint.contact
    found: dict[int | None, str] = {}
    for chunk in _chunks(ids):
        for p in (m.ContactPoint.select().where((m.ContactPoint.kind == "email")
                                                & column.in_(chunk))
                  .order_by(m.ContactPoint.position, m.ContactPoint.id)):
            owner = p.organization_id if kind == "organizations" else p.contact_id
            if owner in found:
                continue
            try:
                found[owner] = validate_email(p.value)
            except InvalidValue:
                continue
    return found


def select_recipients(actor: Actor, source: RecipientSource) -> Selection:
    """The records a mailing would reach, with who is left out and why.

    Visibility rules apply (a manager reaches own clients only); a record that opted out —
    or a contact whose organization opted out — is always left out; an address used twice
    is mailed once.
    """
    if source.kind not in KINDS:
        raise ValidationError({"kind": _("Mailings go to contacts or organizations")})
    actor.require(source.kind, "mail")
    ids = _matching_ids(actor, source)
    selection = Selection([])
    emails = _first_emails(source.kind, ids)
    seen: set[str] = set()
    rows: dict[int, Any] = {}
    org_opt_out: set[int] = set()
    if source.kind == "contacts":
        for chunk in _chunks(ids):
            for c in m.Contact.select().where(m.Contact.id.in_(chunk)):
                rows[c.id] = c
        org_ids = {c.organization_id for c in rows.values() if c.organization_id}
        for chunk in _chunks(list(org_ids)):
            org_opt_out |= {o.id for o in m.Organization.select(m.Organization.id).where(
                m.Organization.id.in_(chunk) & (m.Organization.opt_out == True))}  # noqa: E712
    else:
        for chunk in _chunks(ids):
            for o in m.Organization.select().where(m.Organization.id.in_(chunk)):
                rows[o.id] = o
    for record_id in ids:
        row = rows.get(record_id)
        if row is None:
            continue
        if row.opt_out or (source.kind == "contacts" and row.organization_id in org_opt_out):
            selection.opted_out += 1
            continue
        address = emails.get(record_id)
        if not address:
            selection.without_email += 1
            continue
        key = address.casefold()
        if key in seen:
            selection.duplicates += 1
            continue
        seen.add(key)
        if source.kind == "contacts":
            name = " ".join(p for p in (row.first_name, row.last_name) if p)
            cand = Candidate("contacts", row.id, name, address, row.organization_id, row.id)
        else:
            cand = Candidate("organizations", row.id, row.name, address, row.id, None)
        selection.recipients.append(cand)
    return selection


# --- mailings ----------------------------------------------------------------------------------


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
                                        and _runner_alive(row.runner, row.heartbeat_at)):
            status = "interrupted"  # the sending process died: resume it
        views.append(MailingView(
            row.id, row.name, templates.get(row.template_id, ""),
            accounts.get(row.account_id, ""), row.subject, row.kind, row.source, status,
            row.rate_per_minute, counts[row.id], row.created_at, row.started_at,
            row.finished_at, row.test_sent_at, creators.get(row.created_by_id, "")))
    return views


def _load_mailing(actor: Actor, mailing_id: int) -> Mailing:
    row = Mailing.get_or_none(Mailing.id == int(mailing_id))
    if row is None:
        raise NotFound(_("Mailing #{id} does not exist.").format(id=mailing_id))
    if not actor.is_admin and not visibility.sees_user(actor, row.created_by_id):
        raise PermissionDenied(_("This mailing belongs to another manager."))
    return row


def _mailing_account(row: Mailing) -> AccountView | None:
    """The mailing's account (None when it was removed)."""
    acc = MailAccount.get_or_none(MailAccount.id == row.account_id)
    return _account_view(acc) if acc else None


def _sending_account(row: Mailing) -> AccountView:
    """The mailing's account, which sending needs."""
    account = _mailing_account(row)
    if account is None:
        raise ValidationError({"account": _("The mailing's account was removed")})
    _check_transport(account)
    return account


def get_mailing(actor: Actor, mailing_id: int) -> MailingView:
    return _mailing_views([_load_mailing(actor, mailing_id)])[0]


def list_mailings(actor: Actor, *, limit: int = 200) -> list[MailingView]:
    """Mailings, newest first, with their counts per status."""
    query = Mailing.select().order_by(Mailing.id.desc()).limit(limit)
    users = visibility.visible_user_ids(actor)
    if users is not None and not actor.is_admin:
        query = query.where(Mailing.created_by.in_(users))
    return _mailing_views(list(query))


def new_message_id(account: AccountView | MailAccount) -> str:
    domain = account.from_address.rsplit("@", 1)[-1]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "tui-crm.invalid"
    return f"<{uuid.uuid4().hex}.tui-crm@{domain}>"


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
    return _insert_mailing(actor, _find_template(template), _find_account(account), source,
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
    row = _load_mailing(actor, mailing_id)
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
    row = _load_mailing(actor, mailing_id)
    query = MailRecipient.select().where(MailRecipient.mailing == row.id)
    if status:
        query = query.where(MailRecipient.status == status)
    return [_recipient_view(r) for r in
            query.order_by(MailRecipient.id).offset(max(0, offset)).limit(limit)]


# --- rendering ---------------------------------------------------------------------------------


def _plain_record(view: records.RecordView) -> dict[str, Any]:
    """A record as template fields: plain values, dates as the user writes them."""
    data = view.to_dict()
    for key, value in view.values.items():
        if isinstance(value, dt.datetime):
            data[key] = dates.format_datetime(value)
        elif isinstance(value, dt.date):
            data[key] = dates.format_date(value)
        elif value is not None and not isinstance(value, bool | int | float | str):
            data[key] = str(value)
    for key, value in view.custom.items():
        if isinstance(value, dt.date):
            data[key] = dates.format_date(value)
        elif value is not None and not isinstance(value, bool | int | float | str):
            data[key] = str(value)
    for key in ("created_at", "updated_at", "created_by", "updated_by", "deleted", "version"):
        data.pop(key, None)
    return data


# Keys of a card's template fields that are not its own text columns.
_CARD_KEYS = frozenset({"section", "id", "version", "title", "tags", "emails", "phones",
                        "messengers", "created_at", "updated_at", "created_by", "updated_by",
                        "deleted"} | {f"{ref}_name" for ref in (
                            "owner", "assignee", "organization", "contact", "group", "source",
                            "event_type", "result", "deal")})


def _text_columns(kind: str) -> frozenset[str]:
    """Fields of a section whose template value is the column's text as stored (no
    reference, list, date or number to convert): a template reading only these needs no
    card, the row is enough."""
    spec = records.kind_spec(kind)
    customs = {cf.name for cf in values.custom_fields(kind)}
    return frozenset(
        f.name for f in spec.fields
        if not f.is_reference and not f.is_repeatable and f.name not in customs
        and f.name not in _CARD_KEYS
        and isinstance(spec.model._meta.fields.get(f.name), CharField | TextField))


def _quick_keys(kind: str | None, templates: list[templating.Compiled]
                ) -> frozenset[str] | None:
    """The keys of the recipient's own record the templates read, when that is all they
    read of it (text columns) and they read nothing of another card; else None."""
    if kind not in KINDS:
        return None
    own = ("contact",) if kind == "contacts" else ("org", "organization")
    keys: set[str] = set()
    for tpl in templates:
        if tpl.fields is None or not tpl.names <= {*own, "recipient", "sender", "today"}:
            return None
        for name in own:
            if name in tpl.fields:
                read = tpl.fields[name]
                if read is None:
                    return None
                keys |= read
    extra = {"email", "full_name"} if kind == "contacts" else {"email"}
    return frozenset(keys) if keys <= _text_columns(kind) | extra else None


class _Contexts:
    """Builds template contexts, caching organizations and users shared by recipients.

    Given the templates, it leaves out what none of them can see: a greeting by first name
    needs no organization card, and when they read only text columns of the recipient's
    own record (`contact.first_name`), no card at all: the row gives the same values.
    `prefetch` reads many recipients at once (one query per table instead of one per card).
    """

    def __init__(self, actor: Actor, account: AccountView | None,
                 templates: Iterable[templating.Compiled] | None = None,
                 kind: str | None = None) -> None:
        self.actor = actor
        self.account = account
        listed = list(templates) if templates is not None else None
        self.needed = frozenset().union(*(t.names for t in listed)) \
            if listed is not None else None
        self.quick = _quick_keys(kind, listed) if listed is not None else None
        self.orgs: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self._cards: dict[tuple[str, int], records.RecordView | CrmError] = {}
        self._rows: dict[tuple[str, int], Any] = {}  # for `quick`: rows records.get would show
        self._no_org: set[int] = set()  # organizations this actor cannot open

    def wants(self, *names: str) -> bool:
        return self.needed is None or any(n in self.needed for n in names)

    def forget(self) -> None:
        """Drop prefetched cards not used (a new batch reads them fresh)."""
        self._cards.clear()
        self._rows.clear()

    def record_columns(self, kind: str) -> list[str]:
        """The columns `take` needs (the quick keys, the title's, the owner)."""
        if self.quick is None:
            return []
        spec = records.kind_spec(kind)
        title = ["last_name", "first_name", "middle_name"] if kind == "contacts" else ["name"]
        owner = [spec.owner_field] if spec.owner_field else []
        return sorted(self.quick - {"email", "full_name"} | set(title) | set(owner))

    def take(self, kind: str, rows: dict[int, Any]) -> None:
        """Rows read elsewhere (see record_columns) for `quick` contexts; the visibility
        rule of records.get applies."""
        self.actor.require(kind, "view")
        seen = visibility.visible_subset(self.actor, kind, rows)
        for record_id, row in rows.items():
            if record_id not in seen:
                self._cards[(kind, record_id)] = visibility.refusal()
                continue
            self._rows[(kind, record_id)] = row

    def _user(self, user_id: int | None) -> dict[str, Any]:
        if not user_id:
            return {}
        if user_id not in self.users:
            u = m.User.get_or_none(m.User.id == user_id)
            self.users[user_id] = ({"login": u.login, "full_name": u.full_name or u.login,
                                    "name": u.full_name or u.login, "email": u.email}
                                   if u else {})
        return self.users[user_id]

    def _read_cards(self, kind: str, ids: Iterable[int], *, rows_only: bool = False
                    ) -> dict[int, Any]:
        """The cards of `ids` as records.get gives them (or its PermissionDenied), or just
        the rows records.get would show; ids that do not exist are left out."""
        spec = records.kind_spec(kind)
        self.actor.require(kind, "view")
        rows = []
        found: dict[int, Any] = {}
        for chunk in _chunks(sorted(set(ids))):
            chunk_rows = list(spec.model.select().where(spec.model.id.in_(chunk)))
            seen = visibility.visible_subset(self.actor, kind, [r.id for r in chunk_rows])
            for row in chunk_rows:
                if row.id not in seen:
                    found[row.id] = visibility.refusal()
                    continue
                rows.append(row)
        if rows_only:
            found.update((row.id, row) for row in rows)
            return found
        for view in records._views(self.actor, spec, rows, full=True):
            found[view.id] = view
        return found

    def prefetch(self, kind: str, record_ids: Iterable[int]) -> None:
        """Read the cards of many recipients now; for_record then takes them from memory."""
        wanted = [i for i in record_ids if (kind, i) not in self._cards]
        if not wanted:
            return
        try:
            cards = self._read_cards(kind, wanted, rows_only=self.quick is not None)
        except CrmError:
            return  # for_record reads them one by one and raises what records.get raises
        for record_id, card in cards.items():
            if isinstance(card, records.RecordView | CrmError):
                self._cards[(kind, record_id)] = card
            else:
                self._rows[(kind, record_id)] = card
        if kind != "contacts" or not self.wants("org", "organization"):
            return
        referred = {c.values.get("organization") for c in cards.values()
                    if isinstance(c, records.RecordView)}
        org_ids = {i for i in referred if i and i not in self.orgs and i not in self._no_org}
        if not org_ids:
            return
        try:
            orgs = self._read_cards("organizations", org_ids)
        except CrmError:
            return
        for org_id in org_ids:
            card = orgs.get(org_id)
            if isinstance(card, records.RecordView):
                self.orgs[org_id] = _plain_record(card)
            else:  # hidden or gone: the name the contact's card shows
                self._no_org.add(org_id)

    def _card(self, kind: str, record_id: int) -> records.RecordView:
        card = self._cards.pop((kind, record_id), None)
        if card is None:
            return records.get(self.actor, kind, record_id)
        if isinstance(card, CrmError):
            raise card
        return card

    def _org(self, org_id: int | None, fallback_name: str = "") -> dict[str, Any]:
        if not org_id:
            return {}
        if org_id not in self.orgs:
            if org_id in self._no_org:
                self.orgs[org_id] = {"id": org_id, "name": fallback_name}
                return self.orgs[org_id]
            try:
                self.orgs[org_id] = _plain_record(records.get(self.actor, "organizations",
                                                              org_id))
            except (PermissionDenied, NotFound):
                self.orgs[org_id] = {"id": org_id, "name": fallback_name}
        return self.orgs[org_id]

    def sender(self) -> dict[str, Any]:
        me = self._user(self.actor.user_id)
        acc = self.account
        name = (acc.from_name if acc and acc.from_name else "") or me.get("full_name", "")
        return {"name": name, "email": acc.from_address if acc else me.get("email", ""),
                "login": self.actor.login, "full_name": me.get("full_name", self.actor.login)}

    def _quick(self, kind: str, row: Any, address: str) -> dict[str, Any]:
        """The context from the row alone (see `quick`): what for_record gives, less the
        keys no template reads."""
        assert self.quick is not None
        record = {key: getattr(row, key) for key in self.quick
                  if key not in ("email", "full_name")}
        title = search_docs.title_of(kind, row)  # the card's title, as records.get names it
        if "email" in self.quick:
            record["email"] = address
        if kind == "contacts":
            if "full_name" in self.quick:
                record["full_name"] = title
            contact, org, name = record, {}, title
        else:
            contact, org, name = {}, record, str(row.name or "")
        return {"contact": contact, "org": org, "organization": org, "owner": {},
                "sender": self.sender() if self.wants("sender") else {},
                "recipient": {"name": name or "", "email": address},
                "today": dates.format_date(dt.date.today())}

    def for_record(self, kind: str, record_id: int, address: str | None = None
                   ) -> dict[str, Any]:
        if self.quick is not None and address:
            row = self._rows.pop((kind, record_id), None)
            if row is not None:
                return self._quick(kind, row, address)
        view = self._card(kind, record_id)
        # The record's own fields, unless no template reads them (the address is known).
        full = not address or self.wants("contact", "org", "organization", "recipient")
        record = _plain_record(view) if full else {}
        if kind == "contacts":
            contact = record
            if full:
                contact["full_name"] = view.title
            org = self._org(view.values.get("organization"),
                            view.display.get("organization", "")) \
                if self.wants("org", "organization") else {}
        else:
            contact = {}
            org = record
        email = address or (record.get("primary_email") or "")
        if kind == "contacts":
            name = view.title
        else:
            name = org.get("name", "") if full else str(view.values.get("name") or "")
        if contact:
            contact.setdefault("email", email)
        elif org and kind != "contacts":
            org.setdefault("email", email)
        return {"contact": contact, "org": org, "organization": org,
                "owner": self._user(view.values.get("owner")) if self.wants("owner") else {},
                "sender": self.sender() if self.wants("sender") else {},
                "recipient": {"name": name or "", "email": email},
                "today": dates.format_date(dt.date.today())}


@dataclass(frozen=True)
class Preview:
    to_name: str
    to_address: str
    subject: str
    body: str
    html: bool
    attachments: list[mail_files.Attachment]


def _subject_line(text: str) -> str:
    # A header is one line: a template's line breaks must not inject headers.
    return " ".join(text.split())


def _render_pair(subject_tpl: templating.Compiled, body_tpl: templating.Compiled,
                 context: dict[str, Any]) -> tuple[str, str]:
    return (_subject_line(templating.render(subject_tpl, context)),
            templating.render(body_tpl, context))


def recipient_context(actor: Actor, kind: str, record_id: int,
                      account: str | int | None = None) -> dict[str, Any]:
    """The template fields of one record (plain data): contact, org, owner, sender,
    recipient, today. An editor may keep it while the user types."""
    actor.require(kind, "mail")
    acc = _account_view(_find_account(account)) if account is not None and account != "" else None
    return _Contexts(actor, acc).for_record(kind, record_id)


def render_preview(context: dict[str, Any], *, subject: str, body: str, html: bool = False
                   ) -> Preview:
    """A template filled in with a context from `recipient_context`."""
    subj, text = _render_pair(templating.compile_template(subject),
                              templating.compile_template(body, html=html), context)
    return Preview(context["recipient"]["name"], context["recipient"]["email"], subj, text,
                   html, [])


def preview(actor: Actor, *, subject: str, body: str, html: bool = False, kind: str,
            record_id: int, account: str | int | None = None) -> Preview:
    """The message a record would get from an (unsaved) template; TemplateProblem if it
    cannot be filled in for this record (the message names the missing field)."""
    context = recipient_context(actor, kind, record_id, account)
    return render_preview(context, subject=subject, body=body, html=html)


def preview_template(actor: Actor, template: str | int, *, kind: str, record_id: int,
                     account: str | int | None = None) -> Preview:
    tpl = _find_template(template)
    result = preview(actor, subject=tpl.subject, body=tpl.body, html=bool(tpl.html), kind=kind,
                     record_id=record_id, account=account)
    return Preview(result.to_name, result.to_address, result.subject, result.body, result.html,
                   mail_files.parse(tpl.attachments))


def preview_recipient(actor: Actor, mailing_id: int, recipient_id: int | None = None) -> Preview:
    """What one recipient of a mailing gets (the first one by default)."""
    row = _load_mailing(actor, mailing_id)
    query = MailRecipient.select().where(MailRecipient.mailing == row.id)
    if recipient_id is not None:
        query = query.where(MailRecipient.id == recipient_id)
    rec = query.order_by(MailRecipient.id).first()
    if rec is None:
        raise NotFound(_("No such recipient in mailing #{id}.").format(id=row.id))
    context = _Contexts(actor, _mailing_account(row)).for_record(
        rec.kind, rec.record_id, rec.address)
    subj, text = _render_pair(templating.compile_template(row.subject),
                              templating.compile_template(row.body, html=row.html), context)
    return Preview(rec.name, rec.address, subj, text, bool(row.html),
                   mail_files.parse(row.attachments))


@dataclass(frozen=True)
class RecipientProblem:
    recipient_id: int
    name: str
    address: str
    message: str


def problems(actor: Actor, mailing_id: int, *, limits: templating.Limits | None = None
             ) -> list[RecipientProblem]:
    """Recipients still to be sent whose message cannot be filled in (e.g. a missing field),
    found before anything is sent."""
    row = _load_mailing(actor, mailing_id)
    contexts = _Contexts(actor, _mailing_account(row))
    subject_tpl = templating.compile_template(row.subject)
    body_tpl = templating.compile_template(row.body, html=row.html)
    found = []
    pending = list(MailRecipient.select().where((MailRecipient.mailing == row.id)
                                                & (MailRecipient.status == "pending"))
                   .order_by(MailRecipient.id))
    for start in range(0, len(pending), 200):  # the cards of 200 recipients at a time
        contexts.prefetch(row.kind, [r.record_id for r in pending[start:start + 200]])
        for rec in pending[start:start + 200]:
            found.extend(_problem(contexts, rec, subject_tpl, body_tpl, limits))
    found.extend(RecipientProblem(0, "", "", problem)
                 for problem in mail_files.problems(mail_files.parse(row.attachments)))
    return found


def _problem(contexts: _Contexts, rec: MailRecipient, subject_tpl: templating.Compiled,
             body_tpl: templating.Compiled, limits: templating.Limits | None
             ) -> list[RecipientProblem]:
    try:
        context = contexts.for_record(rec.kind, rec.record_id, rec.address)
        templating.render(subject_tpl, context, limits=limits or templating.DEFAULT_LIMITS)
        templating.render(body_tpl, context, limits=limits or templating.DEFAULT_LIMITS)
    except CrmError as exc:
        return [RecipientProblem(rec.id, rec.name, rec.address, str(exc))]
    return []


# --- the message and the SMTP session ---------------------------------------------------------


class _TextOfHtml(HTMLParser):
    """A readable plain-text part for an HTML message."""

    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self.skip:
            self.skip -= 1
        elif tag in ("p", "div", "tr"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.parts).splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return parser.text()


POLICY = email.policy.SMTP.clone(cte_type="7bit")  # 7-bit bodies go through any server


@functools.lru_cache(maxsize=256)  # the sender's address, again and again
def _header_address(address: str) -> str:
    local, _sep, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def build_message(account: AccountView | MailAccount, to_name: str, to_address: str,
                  subject: str, body: str, *, html: bool,
                  attachments: Iterable[tuple[str, bytes]], message_id: str) -> bytes:
    """The message as bytes ready for SMTP DATA (CRLF line ends); `attachments` are
    (file name, bytes) as mail_files.contents gives them."""
    attachments = list(attachments)
    if not html and not attachments:
        try:
            return _plain_message(account, to_name, to_address, subject, body, message_id)
        except (UnicodeError, ValueError):
            pass  # something unusual: the email package knows what to do
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((account.from_name, _header_address(account.from_address)))
    msg["To"] = formataddr((to_name, _header_address(to_address)))
    msg["Subject"] = _subject_line(subject)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id
    msg["X-Mailer"] = "tui-crm"
    if html:
        msg.set_content(html_to_text(body))
        msg.add_alternative(body, subtype="html")
    else:
        msg.set_content(body)
    for name, content in attachments:
        ctype, encoding = mimetypes.guess_type(name)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=POLICY)


# A plain-text message without attachments (most mailings) is written directly: the email
# package's header objects took twice as long as the rest of sending a message. The result is
# what the email package gives, up to the choice of encoding (7bit or base64 here).
_MAX_LINE = 78  # RFC 5322: header and 7bit body lines SHOULD be at most 78 characters
_WORD_BYTES = 39  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 + "?=" fits a line


def _plain_header(value: str) -> bool:
    """Whether a header value may be written as it is (printable ASCII, no encoded-word
    look-alike that a reader would decode)."""
    return value.isascii() and value.isprintable() and "=?" not in value


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 encoded words (base64, UTF-8), each of whole characters and short enough
    to stand on a folded line of its own."""
    words: list[bytes] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += data
    if chunk or not words:
        words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words]


def _folded(name: str, value: str) -> str | None:
    """A printable ASCII value folded at its spaces; None when a word is too long."""
    lines = [f"{name}:"]
    for word in value.split(" "):
        if len(word) > _MAX_LINE - 2:
            return None
        if len(lines[-1]) + 1 + len(word) > _MAX_LINE:
            lines.append("")
        lines[-1] += " " + word
    return "\r\n".join(lines)


def _text_header(name: str, value: str) -> str:
    line = f"{name}: {value}"
    if _plain_header(value):
        folded = line if len(line) <= _MAX_LINE else _folded(name, value)
        if folded is not None:
            return folded
    return f"{name}: " + "\r\n ".join(_encoded_words(value))


def _address_header(name: str, display: str, address: str) -> str:
    addr = _header_address(address)
    addr.encode("ascii")  # a non-ASCII mailbox is the email package's business
    if not display:
        return f"{name}: {addr}"
    if _plain_header(display):
        line = f"{name}: {formataddr((display, addr))}"
        if len(line) <= 998:  # as the email package writes it (RFC 5322's hard limit)
            return line
    words = _encoded_words(display)
    last = len(words[-1]) + len(addr) + 3
    tail = f" <{addr}>" if last <= _MAX_LINE else f"\r\n <{addr}>"
    return f"{name}: " + "\r\n ".join(words) + tail


def _plain_message(account: AccountView | MailAccount, to_name: str, to_address: str,
                   subject: str, body: str, message_id: str) -> bytes:
    lines = body.encode("utf-8").splitlines()  # as the email package splits a text part
    if body.isascii() and "\0" not in body and all(len(x) <= _MAX_LINE for x in lines):
        encoding, content = "7bit", b"\r\n".join(lines) + b"\r\n"
    else:
        raw = b"\r\n".join(lines) + b"\r\n"  # text is CRLF inside the encoding too
        encoding = "base64"
        content = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    if not message_id.isascii() or not message_id.isprintable():
        raise ValueError(message_id)
    head = "\r\n".join((
        _address_header("From", account.from_name, account.from_address),
        _address_header("To", to_name, to_address),
        _text_header("Subject", _subject_line(subject)),
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: {message_id}",
        "X-Mailer: tui-crm",
        'Content-Type: text/plain; charset="utf-8"',
        f"Content-Transfer-Encoding: {encoding}",
        "MIME-Version: 1.0",
    ))
    return head.encode("ascii") + b"\r\n\r\n" + content


class SmtpRejected(Exception):
    """The server answered the transaction with an error code (nothing was delivered)."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(reply)
        self.code = code
        self.reply = reply

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500


class SmtpDropped(Exception):
    """The connection broke; `after_body` when the message had been handed over already."""

    def __init__(self, reason: str, *, after_body: bool) -> None:
        super().__init__(reason)
        self.after_body = after_body


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"


def _envelope_address(address: str) -> str:
    """The address for MAIL FROM / RCPT TO: an internationalized domain in punycode."""
    return _header_address(address)


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def _envelope_command(smtp: smtplib.SMTP, verb: str, address: str) -> tuple[int, bytes]:
    """MAIL FROM / RCPT TO. smtplib's mail() and rcpt() parse the address once more (as
    long as the rest of the command took); a plain address is written as it is."""
    if _PLAIN_ADDRESS.fullmatch(address):
        smtp.putcmd(verb, f"{'FROM' if verb == 'mail' else 'TO'}:<{address}>")
        return smtp.getreply()
    return smtp.mail(address) if verb == "mail" else smtp.rcpt(address)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _authenticate(smtp: smtplib.SMTP, login: str, password: str) -> None:
    """AUTH PLAIN (or LOGIN) with UTF-8 credentials, one mechanism only.

    smtplib's own login() encodes the credentials as ASCII (a Cyrillic password fails) and
    tries the next mechanism after a refusal, which some servers answer by hanging.
    """
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("AUTH")
    methods = smtp.esmtp_features.get("auth", "").upper().split()
    user, secret = login.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in methods:
        token = _b64(b"\0" + user + b"\0" + secret)
        code, reply = smtp.docmd("AUTH", "PLAIN " + token)
        if code == 334:  # the server wants the credentials after an empty challenge
            code, reply = smtp.docmd(token)
    elif "LOGIN" in methods:
        code, reply = smtp.docmd("AUTH", "LOGIN")
        if code == 334:
            code, reply = smtp.docmd(_b64(user))
        if code == 334:
            code, reply = smtp.docmd(_b64(secret))
    else:
        smtp.login(login, password)  # CRAM-MD5 and the like (ASCII credentials)
        return
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


class SmtpSession:
    """One SMTP connection, opened on demand and reused for many messages."""

    def __init__(self, account: AccountView, password: str | None, *, timeout: float = 30
                 ) -> None:
        self.account = account
        self._password = password
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0  # how many times a connection was opened (reuse check)

    def open(self) -> None:
        if self.smtp is not None:
            return
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise CrmError(_("The server {host} refused the login {login}: {reply}").format(
                host=self.account.host, login=self.account.login,
                reply=_reply_text(exc.smtp_code, exc.smtp_error))) from None
        except smtplib.SMTPNotSupportedError:
            raise CrmError(_("The server {host} does not accept a login on this connection; "
                             "check the security setting.").format(host=self.account.host)
                           ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionError(str(exc) or type(exc).__name__) from None
        self.smtp = smtp
        self.connections += 1

    def _connect(self) -> smtplib.SMTP:
        acc = self.account
        _check_transport(acc)  # before a byte goes out
        smtp: smtplib.SMTP | None = None
        try:
            if acc.security == "ssl":
                smtp = smtplib.SMTP_SSL(acc.host, acc.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(acc.host, acc.port, timeout=self.timeout)
                if acc.security == "starttls":
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise CrmError(_("The server {host} does not offer STARTTLS; choose "
                                         "ssl or check the port.").format(host=acc.host))
                    smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
            if acc.login:
                _authenticate(smtp, acc.login, self._password or "")
            return smtp
        except BaseException:
            if smtp is not None:  # no half-open connection is left behind
                try:
                    smtp.close()
                except OSError:
                    pass
            raise

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            try:
                smtp.close()
            except OSError:
                pass

    def drop(self) -> None:
        """Forget a broken connection without talking to the server."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def send(self, from_address: str, to_address: str, data: bytes) -> str:
        """One SMTP transaction; the server's final reply. Raises SmtpRejected or SmtpDropped.

        DATA is driven step by step so a broken connection is known to have happened before
        or after the message body was handed over.
        """
        self.open()
        smtp = self.smtp
        assert smtp is not None
        after_body = False
        try:
            code, reply = _envelope_command(smtp, "mail", _envelope_address(from_address))
            if code != 250:
                self._reset()
                raise SmtpRejected(code, _reply_text(code, reply))
            code, reply = _envelope_command(smtp, "rcpt", _envelope_address(to_address))
            if code not in (250, 251):
                self._reset()
                raise SmtpRejected(code, _reply_text(code, reply))
            code, reply = smtp.docmd("data")
            if code != 354:
                self._reset()
                raise SmtpRejected(code, _reply_text(code, reply))
            payload = data if data.endswith(b"\r\n") else data + b"\r\n"
            payload = re.sub(rb"(?m)^\.", b"..", payload) + b".\r\n"
            after_body = True
            smtp.send(payload)
            code, reply = smtp.getreply()
            if code != 250:
                raise SmtpRejected(code, _reply_text(code, reply))
            return _reply_text(code, reply)
        except SmtpRejected as exc:
            if exc.code == 421:  # the server is closing the connection
                self.drop()
            raise
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise SmtpDropped(str(exc) or type(exc).__name__, after_body=after_body) from None
        except smtplib.SMTPResponseException as exc:
            self.drop()
            raise SmtpRejected(exc.smtp_code, _reply_text(exc.smtp_code, exc.smtp_error)
                               ) from None

    def _reset(self) -> None:
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()


# --- sending -----------------------------------------------------------------------------------


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


def _runner_alive(runner: str, heartbeat: dt.datetime | None) -> bool:
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


@write
def _claim(mailing_id: int, runner: str) -> int:
    """Become the one sender of the mailing; turn rows a dead run left in `sending` into
    `unknown`. Returns how many became unknown."""
    # Two runs starting at once: the second waits here, then sees the first.
    row = for_update(Mailing.select().where(Mailing.id == mailing_id)).get()
    if row.runner and row.runner != runner and _runner_alive(row.runner, row.heartbeat_at):
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


@write
def _finish(recipient_id: int, **columns: Any) -> None:
    columns["updated_at"] = m.now()
    MailRecipient.update(**columns).where(MailRecipient.id == recipient_id).execute()


# --- writing many rows at once -----------------------------------------------------------------


def _statement(sql: str) -> str:
    """A statement written with `?` placeholders, for the bound database."""
    param = current().param
    return sql if param == "?" else sql.replace("?", param)


def _executemany(sql: str, rows: list[Any]) -> None:
    """cursor.executemany on the bound connection, its errors as peewee's (IntegrityError…)
    like every other query."""
    with peewee.__exception_wrapper__:  # type: ignore[attr-defined]  # not in peewee's stub
        current().cursor().executemany(_statement(sql), rows)


def _insert_fields(model: type[m.BaseModel]) -> list[Any]:
    return [f for f in model._meta.sorted_fields if f is not model._meta.primary_key]


def _columns(fields: list[Any], row: dict[str, Any]) -> list[Any]:
    """A row's values for `fields`: given ones, the model's defaults for the rest (as
    peewee's insert fills them), converted as peewee converts them."""
    out = []
    for f in fields:
        value = row.get(f.name, _MISSING)
        if value is _MISSING:
            value = f.default() if callable(f.default) else f.default
        out.append(None if value is None else f.db_value(value))
    return out


_MISSING = object()


def _insert_sql(model: type[m.BaseModel], fields: list[Any]) -> str:
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    return (f'INSERT INTO "{model._meta.table_name}" ({names}) '
            f'VALUES ({", ".join("?" for _f in fields)})')


def _insert_with_ids(model: type[m.BaseModel], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one go (a statement prepared once, not a query built per row) and
    return their ids in order."""
    if not rows:
        return []
    db = current()
    table = model._meta.table_name
    if is_postgres(db):
        fields = _insert_fields(model)
        sql = _statement(_insert_sql(model, fields) + ' RETURNING "id"')
        return [db.execute_sql(sql, _columns(fields, row)).fetchone()[0] for row in rows]
    # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so the ids after the
    # largest are ours, as they would be one insert at a time.
    start = int(db.execute_sql(f'SELECT MAX("id") FROM "{table}"').fetchone()[0] or 0)
    ids = list(range(start + 1, start + 1 + len(rows)))
    fields = [model._meta.primary_key, *_insert_fields(model)]
    _executemany(_insert_sql(model, fields), [_columns(fields, {**row, "id": i})
                                              for i, row in zip(ids, rows, strict=True)])
    return ids


def _insert_many(model: type[m.BaseModel], rows: list[dict[str, Any]]) -> None:
    if rows:
        fields = _insert_fields(model)
        _executemany(_insert_sql(model, fields), [_columns(fields, r) for r in rows])


def _put_new_documents(docs: list[tuple[str, int, str, str]]) -> None:
    """Index records just created: on SQLite a plain insert (their ids are new, so there is
    nothing to replace, as the importer does); elsewhere search_index.put_many."""
    db = current()
    if not docs or is_postgres(db):
        search_index.put_many(docs)
        return
    data = [(search_index.doc_key(k, i), k, t, b) for k, i, t, b in docs]
    keys = {d[0] for d in data}
    stale = [(row[0],) for row in db.execute_sql(
        "SELECT rowid FROM search_doc WHERE rowid BETWEEN ? AND ?", (min(keys), max(keys)))
        if row[0] in keys]
    if stale:
        _executemany("DELETE FROM search_doc WHERE rowid = ?", stale)
    _executemany("INSERT INTO search_doc (rowid, kind, title, body) VALUES (?, ?, ?, ?)", data)


def _names(model: type[m.BaseModel], ids: Iterable[int | None]) -> dict[int, str]:
    """lookups.names for organizations or contacts, reading plain tuples."""
    wanted = sorted({i for i in ids if i})
    found: dict[int, str] = {}
    for chunk in _chunks(wanted):
        if model is m.Contact:
            for cid, last, first, middle in (m.Contact.select(
                    m.Contact.id, m.Contact.last_name, m.Contact.first_name,
                    m.Contact.middle_name).where(m.Contact.id.in_(chunk)).tuples()):
                found[cid] = lookups.contact_name(last, first, middle)
        else:
            found.update(m.Organization.select(m.Organization.id, m.Organization.name)
                         .where(m.Organization.id.in_(chunk)).tuples())
    return found


def _update_many(sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        _executemany(sql, rows)


# --- the history of sent messages -------------------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    """A message the server accepted, owing its event in the client's history."""

    recipient_id: int
    kind: str
    record_id: int
    organization_id: int | None
    contact_id: int | None
    message_id: str
    subject: str
    reply: str
    contact_name: str | None = None  # None: looked up when the history is written
    org_name: str | None = None


def _sent_item(rec: Any, subject: str, reply: str, contact_name: str | None = None
               ) -> _Sent:
    """`rec`: a MailRecipient or a _Ready."""
    return _Sent(rec.id, rec.kind, rec.record_id, rec.organization_id, rec.contact_id,
                 rec.message_id, subject, reply, contact_name, getattr(rec, "org_name", None))


class _History:
    """Writes the "email / sent" events of many messages in one transaction: the same event
    rows, search documents, audit entries ("create" of the event, "mail" on the record) and
    last-contact dates that records.create wrote for one message at a time."""

    def __init__(self, actor: Actor, mailing: Mailing) -> None:
        self.actor = actor
        self.mailing = mailing
        self._base: dict[str, Any] | None = None
        self._type_name = ""

    def _event_base(self) -> dict[str, Any]:
        if self._base is None:
            # The type and result resolved (and checked) as records.create resolves them.
            spec = records.kind_spec("events")
            cleaned = values.clean(spec, {"event_type": "email", "result": "sent",
                                          "status": "done"}, partial=True)
            self._base = {"event_type": cleaned["event_type"], "result": cleaned["result"],
                          "status": cleaned["status"]}
            self._type_name = lookups.names("event_type", [cleaned["event_type"]]).get(
                cleaned["event_type"], "")
        return self._base

    def write(self, items: list[_Sent]) -> None:
        """Inside the caller's transaction."""
        if not items:
            return
        self.actor.require("events", "edit")  # as records.create requires it
        base = self._event_base()
        now = m.now()
        uid = self.actor.user_id
        events = [{**base, "title": it.subject[:200], "starts_at": now,
                   "organization": it.organization_id, "contact": it.contact_id,
                   "assignee": uid,  # the events' owner field, as records.create sets it
                   "result_note": _("Mailing #{id} “{name}”, Message-ID {message_id}").format(
                       id=self.mailing.id, name=self.mailing.name, message_id=it.message_id),
                   "created_at": now, "updated_at": now, "created_by": uid, "updated_by": uid,
                   "version": 1} for it in items]
        ids = _insert_with_ids(m.Event, events)
        org_names = _names(m.Organization, (it.organization_id for it in items
                                            if it.org_name is None))
        contact_names = _names(m.Contact, (it.contact_id for it in items
                                           if it.contact_name is None))
        docs = []
        for event_id, event, it in zip(ids, events, items, strict=True):
            names = {"event_type": self._type_name}
            if it.organization_id:
                names["organization"] = it.org_name if it.org_name is not None \
                    else org_names.get(it.organization_id, "")
            if it.contact_id:
                names["contact"] = it.contact_name if it.contact_name is not None \
                    else contact_names.get(it.contact_id, "")
            row = m.Event(id=event_id, title=event["title"], event_type=base["event_type"],
                          organization=it.organization_id, contact=it.contact_id,
                          result_note=event["result_note"], next_step="")
            title, body = search_docs.document("events", row, names=names)
            docs.append(("events", event_id, title, body))
        _put_new_documents(docs)
        audit_rows: list[dict[str, Any]] = []
        for event_id, it in zip(ids, items, strict=True):
            audit_rows.append({"at": now, "user": uid, "action": "create", "kind": "events",
                               "record_id": event_id})
            audit_rows.append({"at": now, "user": uid, "action": "mail", "kind": it.kind,
                               "record_id": it.record_id,
                               "details": f"#{self.mailing.id} {it.subject[:200]} "
                                          f"{it.message_id}"})
        _insert_many(m.AuditLog, audit_rows)
        # The clients' last contact, computed as contact_dates.refresh_contact_dates computes it.
        for model, column, ids_of in (
                (m.Contact, m.Event.contact, {it.contact_id for it in items}),
                (m.Organization, m.Event.organization, {it.organization_id for it in items})):
            wanted = sorted(i for i in ids_of if i)
            if not wanted:
                continue
            last = (m.Event.select(fn.MAX(m.Event.starts_at))
                    .where((column == model.id) & m.Event.deleted_at.is_null()
                           & (m.Event.status == "done")))
            for chunk in _chunks(wanted):
                model.update(last_contact_at=last).where(model.id.in_(chunk)).execute()
        table = MailRecipient._meta.table_name
        _update_many(f'UPDATE "{table}" SET "event_id" = ? WHERE "id" = ?',
                     [(event_id, it.recipient_id) for event_id, it in zip(ids, items,
                                                                            strict=True)])

    def write_or_note(self, items: list[_Sent]) -> None:
        """Write the history of `items` in one transaction; when that fails, message by
        message, and a message whose history cannot be written keeps the reason in its
        reply (event_id 0: not tried again)."""
        if not items:
            return
        try:
            write(self.write)(items)
            return
        except (CrmError, IntegrityError) as exc:
            if len(items) == 1:
                log.warning("mailing %s recipient %s: history not written: %s",
                            self.mailing.id, items[0].recipient_id, exc)
                _finish(items[0].recipient_id, event_id=0, reply=f"{items[0].reply} ({exc})")
                return
        for it in items:
            self.write_or_note([it])


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
    row = _load_mailing(actor, mailing_id)
    actor.require(row.kind, "mail")
    account = _sending_account(row)
    shown = _first_renderable(actor, row)
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


def _subject_again(contexts: _Contexts, subject_tpl: templating.Compiled, rec: MailRecipient,
                   fallback: str) -> str:
    """The subject a recipient got, filled in again for its history (the template's own
    text when it can no longer be filled in)."""
    try:
        return _subject_line(templating.render(
            subject_tpl, contexts.for_record(rec.kind, rec.record_id, rec.address)))
    except CrmError:
        return _subject_line(fallback)


def _first_renderable(actor: Actor, row: Mailing) -> Preview | None:
    """The message of the first recipient (pending first) whose message can be filled in."""
    ordered = (MailRecipient.select(MailRecipient.id)
               .where(MailRecipient.mailing == row.id)
               .order_by((MailRecipient.status != "pending"), MailRecipient.id))
    for rec in ordered:
        try:
            return preview_recipient(actor, row.id, rec.id)
        except CrmError:
            continue
    return None


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


# --- the run ------------------------------------------------------------------------------------

BATCH_SIZE = 100  # recipients read, checked for opt-outs and given their cards at once …
BATCH_SECONDS = 1.0  # … for at most about this long, so a batch never goes stale
HISTORY_BATCH = 500  # sent messages whose history is written in one transaction …
HISTORY_SECONDS = 2.0  # … or after this long (a crash before leaves it to the next run)


@dataclass
class _Ready:
    """A recipient due now, read with what is checked right before sending it: whether it
    (or its organization) opted out or was deleted, and, for templates that read only text
    columns of the record (_Contexts.quick), those columns."""

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
            current().execute_sql(_statement(
                f'UPDATE "{table}" SET "status" = \'sent\', "reply" = ?, "sent_at" = ?, '
                f'"next_attempt_at" = NULL, "updated_at" = ? WHERE "id" = ?'),
                (columns["reply"], columns["sent_at"], now, recipient_id))
        else:
            MailRecipient.update(**columns, updated_at=now).where(
                MailRecipient.id == recipient_id).execute()


@write
def _step(outcomes: list[tuple[int, dict[str, Any]]], claim: int | None) -> bool:
    """One commit per message: what happened to the previous ones, and `claim` marked
    `sending` (only if still pending: never two senders for one row) BEFORE the SMTP
    transaction. So a crash leaves at most the message in hand in `sending`."""
    _apply(outcomes)
    if claim is None:
        return False
    table = MailRecipient._meta.table_name
    cursor = current().execute_sql(_statement(
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
        self.contexts = _Contexts(actor, account, [self.subject_tpl, self.body_tpl],
                                  row.kind)
        self.history = _History(actor, row)
        self.outcomes: list[tuple[int, dict[str, Any]]] = []
        self.owed: list[_Sent] = []
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
            _step(self.outcomes, None)
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
                _sent_item(r, _subject_again(self.contexts, self.subject_tpl, r,
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

    def send_one(self, rec: _Ready, interval: float) -> bool:
        """Handle one recipient; False when it is to be tried again at once."""
        options = self.options
        try:
            _check_deliverable(rec.address)
            context = self.contexts.for_record(rec.kind, rec.record_id, rec.address)
            subject = _subject_line(templating.render(self.subject_tpl, context,
                                                      limits=options.limits))
            body = templating.render(self.body_tpl, context, limits=options.limits)
            data = build_message(self.account, rec.name, rec.address, subject, body,
                                 html=self.row.html, attachments=self.attachments,
                                 message_id=rec.message_id)
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
            claimed = _step(outcomes, rec.id)
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
        self.owed.append(_sent_item(rec, subject, reply, context["recipient"]["name"]
                                    if rec.kind == "contacts" else None))
        self.report.sent_now += 1
        self.notify(rec.address)
        return True


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
    row = _load_mailing(actor, mailing_id)
    actor.require(row.kind, "mail")
    actor.require("events", "edit")  # each message is written to the client's history
    account = _sending_account(row)
    password = account_password(account)  # a missing password stops us before anything
    for problem in mail_files.problems(mail_files.parse(row.attachments)):
        raise ValidationError({"attachments": problem})
    rate = options.rate_per_minute if options.rate_per_minute is not None \
        else row.rate_per_minute
    interval = 60.0 / rate if rate and rate > 0 else 0.0

    token = uuid.uuid4().hex[:12]
    runner = f"{socket.gethostname()}:{os.getpid()}:{token}"
    with _active_lock:
        _active_tokens.add(token)
    report = SendReport(row.id, {})
    session = SmtpSession(account, password, timeout=options.timeout)
    sleeper = _Sleeper(stop)
    run = _Run(actor, row, account, session, options, report, progress, sleeper)
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
                and _first_renderable(actor, row) is not None:
            send_test(actor, row.id, session=session)
            report.test_sent = True
        size = run.batch_size(interval)
        while True:
            run.beat()
            if sleeper.stop.is_set():
                report.stopped = True
                break
            batch = _ready_batch(row.id, size, row.kind, run.contexts.record_columns(row.kind))
            if not batch:
                wake = _next_retry(row.id)
                if wake is None:
                    final_status = _settled_status(row.id)
                    break
                if not options.wait_for_retries:
                    final_status = "waiting"
                    break
                pause = (wake - dt.datetime.now()).total_seconds()
                run.flush(final=True)  # the history is not kept waiting for retries
                if run.wait(min(max(pause, 0.05), 5.0)):
                    break
                continue
            try:
                going = run.send_batch(batch, interval)
            except _Stopped:
                going = False
            run.flush()
            if not going:
                break
    finally:
        try:
            run.flush(final=True)  # what happened is never lost with the reason the run ended
        except Exception as exc:  # noqa: BLE001 - keep the first error
            log.warning("mailing %s: could not record the last outcomes: %s", row.id, exc)
        session.close()
        report.connections = session.connections
        with _active_lock:
            _active_tokens.discard(token)
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


def _check_deliverable(address: str) -> None:
    """An address plain SMTP can carry (a non-ASCII local part needs SMTPUTF8)."""
    try:
        _envelope_address(address).encode("ascii")
    except UnicodeError:
        raise CrmError(_("The address {address} has non-Latin letters before the @; this "
                         "server connection cannot send to it.").format(address=address)
                       ) from None


def _has_pending(mailing_id: int) -> bool:
    return MailRecipient.select().where((MailRecipient.mailing == mailing_id)
                                        & (MailRecipient.status == "pending")).exists()


@write
def resolve_unknown(actor: Actor, mailing_id: int, recipient_ids: Iterable[int] | None = None,
                    *, resend: bool) -> int:
    """A person's decision on `unknown` rows: send again (back to pending) or count as sent
    (recorded in the client's history). Returns how many rows changed."""
    row = _load_mailing(actor, mailing_id)
    actor.require(row.kind, "mail")
    query = MailRecipient.select().where((MailRecipient.mailing == row.id)
                                         & (MailRecipient.status == "unknown"))
    if recipient_ids is not None:
        query = query.where(MailRecipient.id.in_(list(recipient_ids)))
    rows = list(query.order_by(MailRecipient.id))
    changed = len(rows)
    ids = [r.id for r in rows]
    if resend:
        for chunk in _chunks(ids):
            MailRecipient.update(status="pending", next_attempt_at=None, updated_at=m.now(),
                                 reply=_("Resend requested by {login}").format(
                                     login=actor.login)).where(
                MailRecipient.id.in_(chunk)).execute()
    else:
        subject_tpl = templating.compile_template(row.subject)
        contexts = _Contexts(actor, _mailing_account(row), [subject_tpl], row.kind)
        reply = _("Marked as sent by {login}").format(login=actor.login)
        items: list[Any] = []
        for start in range(0, len(rows), 200):
            batch = rows[start:start + 200]
            contexts.prefetch(row.kind, [r.record_id for r in batch])
            items.extend(_sent_item(rec, _subject_again(contexts, subject_tpl, rec,
                                                        row.subject), reply)
                         for rec in batch)
        for chunk in _chunks(ids):
            MailRecipient.update(status="sent", reply=reply, sent_at=m.now(),
                                 next_attempt_at=None, updated_at=m.now()).where(
                MailRecipient.id.in_(chunk)).execute()
        _History(actor, row).write_or_note(items)
    if changed:
        audit.log(actor, "mail", "mailings", row.id,
                  details=f"unknown → {'pending' if resend else 'sent'}: {changed}")
        status = _settled_status(row.id)
        Mailing.update(status=status, finished_at=m.now() if status == "done" else None).where(
            (Mailing.id == row.id) & (Mailing.runner == "")).execute()
    return changed
