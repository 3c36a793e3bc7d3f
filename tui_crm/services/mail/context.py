"""What a template is filled in with: the recipient's card, its organization, its owner
and the sender (plain data), read for many recipients at once, and the previews and
problems of a mailing's messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from peewee import CharField, TextField

from tui_crm.db import models as m
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.errors import CrmError, NotFound, PermissionDenied
from tui_crm.i18n import _
from tui_crm.services.core import records, search_docs, templating, values, visibility
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import mail_files
from tui_crm.services.mail.accounts import AccountView, account_view, find_account
from tui_crm.services.mail.common import KINDS, chunks
from tui_crm.services.mail.mailings import load_mailing, mailing_account
from tui_crm.services.mail.message import subject_line
from tui_crm.services.mail.templates import find_template
from tui_crm.text import dates


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


def quick_keys(kind: str | None, templates: list[templating.Compiled]
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


class Contexts:
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
        self.quick = quick_keys(kind, listed) if listed is not None else None
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
        for chunk in chunks(sorted(set(ids))):
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
        for view in records.cards_of(self.actor, kind, rows):
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
        org_ids: set[int] = {
            i for i in (c.values.get("organization") for c in cards.values()
                        if isinstance(c, records.RecordView))
            if i and i not in self.orgs and i not in self._no_org}
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
    unknown: list[str] = field(default_factory=list)  # fields the record has not: blank


def _render_pair(subject_tpl: templating.Compiled, body_tpl: templating.Compiled,
                 context: dict[str, Any]) -> tuple[str, str]:
    return (subject_line(templating.render(subject_tpl, context)),
            templating.render(body_tpl, context))


def recipient_context(actor: Actor, kind: str, record_id: int,
                      account: str | int | None = None) -> dict[str, Any]:
    """The template fields of one record (plain data): contact, org, owner, sender,
    recipient, today. An editor may keep it while the user types."""
    actor.require(kind, "mail")
    acc = account_view(find_account(account)) if account is not None and account != "" \
        else None
    return Contexts(actor, acc).for_record(kind, record_id)


def render_preview(context: dict[str, Any], *, subject: str, body: str, html: bool = False
                   ) -> Preview:
    """A template filled in with a context from `recipient_context`, with the fields it
    reads that the context has not."""
    subject_tpl = templating.compile_template(subject)
    body_tpl = templating.compile_template(body, html=html)
    subj, text = _render_pair(subject_tpl, body_tpl, context)
    unknown = sorted(set(templating.unknown_fields(subject_tpl, context))
                     | set(templating.unknown_fields(body_tpl, context)))
    return Preview(context["recipient"]["name"], context["recipient"]["email"], subj, text,
                   html, [], unknown)


def preview(actor: Actor, *, subject: str, body: str, html: bool = False, kind: str,
            record_id: int, account: str | int | None = None) -> Preview:
    """The message a record would get from an (unsaved) template; TemplateProblem if it
    cannot be filled in for this record (the message names the missing field)."""
    context = recipient_context(actor, kind, record_id, account)
    return render_preview(context, subject=subject, body=body, html=html)


def preview_template(actor: Actor, template: str | int, *, kind: str, record_id: int,
                     account: str | int | None = None) -> Preview:
    tpl = find_template(template)
    result = preview(actor, subject=tpl.subject, body=tpl.body, html=bool(tpl.html), kind=kind,
                     record_id=record_id, account=account)
    return Preview(result.to_name, result.to_address, result.subject, result.body, result.html,
                   mail_files.parse(tpl.attachments), result.unknown)


def preview_recipient(actor: Actor, mailing_id: int, recipient_id: int | None = None) -> Preview:
    """What one recipient of a mailing gets (the first one by default)."""
    row = load_mailing(actor, mailing_id)
    query = MailRecipient.select().where(MailRecipient.mailing == row.id)
    if recipient_id is not None:
        query = query.where(MailRecipient.id == recipient_id)
    rec = query.order_by(MailRecipient.id).first()
    if rec is None:
        raise NotFound(_("No such recipient in mailing #{id}.").format(id=row.id))
    context = Contexts(actor, mailing_account(row)).for_record(
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
    row = load_mailing(actor, mailing_id)
    contexts = Contexts(actor, mailing_account(row))
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


def _problem(contexts: Contexts, rec: MailRecipient, subject_tpl: templating.Compiled,
             body_tpl: templating.Compiled, limits: templating.Limits | None
             ) -> list[RecipientProblem]:
    try:
        context = contexts.for_record(rec.kind, rec.record_id, rec.address)
        templating.render(subject_tpl, context, limits=limits or templating.DEFAULT_LIMITS)
        templating.render(body_tpl, context, limits=limits or templating.DEFAULT_LIMITS)
    except CrmError as exc:
        return [RecipientProblem(rec.id, rec.name, rec.address, str(exc))]
    return []


def first_renderable(actor: Actor, row: Mailing) -> Preview | None:
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
