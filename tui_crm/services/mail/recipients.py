"""Who a mailing goes to: the records a search, group, category or selection finds, less
those who opted out, have no e-mail or share an address with another."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_crm.db import models as m
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import records, values, visibility
from tui_crm.services.core.kinds import CATEGORY_CHOICES
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail.common import KINDS, chunks
from tui_crm.text.identity import InvalidValue, validate_email


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


def _first_emails(kind: str, ids: list[int]) -> dict[int, str]:
    column = m.ContactPoint.organization if kind == "organizations" else m.ContactPoint.contact
    found: dict[int, str] = {}
    for chunk in chunks(ids):
        for p in (m.ContactPoint.select().where((m.ContactPoint.kind == "email")
                                                & column.in_(chunk))
                  .order_by(m.ContactPoint.position, m.ContactPoint.id)):
            owner = p.organization_id if kind == "organizations" else p.contact_id
            if owner is None or owner in found:
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
        for chunk in chunks(ids):
            for c in m.Contact.select().where(m.Contact.id.in_(chunk)):
                rows[c.id] = c
        org_ids = {c.organization_id for c in rows.values() if c.organization_id}
        for chunk in chunks(list(org_ids)):
            org_opt_out |= {o.id for o in m.Organization.select(m.Organization.id).where(
                m.Organization.id.in_(chunk) & (m.Organization.opt_out == True))}  # noqa: E712
    else:
        for chunk in chunks(ids):
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

