"""The client's history of sent messages: each message the server accepted becomes an
"email" event with result "sent" (the rows, search document, audit entries and last-contact
dates records.create writes) and an audit entry "mail" on the record, written for many
messages in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from tui_crm.db import bulk, search_index
from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.errors import CrmError
from tui_crm.i18n import _
from tui_crm.services.core import contact_dates, lookups, records, search_docs, values
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail.common import chunks

log = logging.getLogger(__name__)


def _names(model: type[m.BaseModel], ids: Iterable[int | None]) -> dict[int, str]:
    """lookups.names for organizations or contacts, reading plain tuples."""
    wanted = sorted({i for i in ids if i})
    found: dict[int, str] = {}
    for chunk in chunks(wanted):
        if model is m.Contact:
            for cid, last, first, middle in (m.Contact.select(
                    m.Contact.id, m.Contact.last_name, m.Contact.first_name,
                    m.Contact.middle_name).where(m.Contact.id.in_(chunk)).tuples()):
                found[cid] = lookups.contact_name(last, first, middle)
        else:
            found.update(m.Organization.select(m.Organization.id, m.Organization.name)
                         .where(m.Organization.id.in_(chunk)).tuples())
    return found


@dataclass(frozen=True)
class Sent:
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


def sent_item(rec: Any, subject: str, reply: str, contact_name: str | None = None
               ) -> Sent:
    """`rec`: a MailRecipient or a recipient the runner read."""
    return Sent(rec.id, rec.kind, rec.record_id, rec.organization_id, rec.contact_id,
                 rec.message_id, subject, reply, contact_name, getattr(rec, "org_name", None))


class History:
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

    def write(self, items: list[Sent]) -> None:
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
        ids = bulk.insert_dicts(m.Event, events)
        search_index.insert_new(self._documents(ids, events, items))
        audit_rows: list[dict[str, Any]] = []
        for event_id, it in zip(ids, items, strict=True):
            audit_rows.append({"at": now, "user": uid, "action": "create", "kind": "events",
                               "record_id": event_id})
            audit_rows.append({"at": now, "user": uid, "action": "mail", "kind": it.kind,
                               "record_id": it.record_id,
                               "details": f"#{self.mailing.id} {it.subject[:200]} "
                                          f"{it.message_id}"})
        bulk.insert_dicts(m.AuditLog, audit_rows, with_ids=False)
        contact_dates.refresh_last_contacts((it.organization_id for it in items),
                                            (it.contact_id for it in items))
        table = MailRecipient._meta.table_name
        bulk.executemany(f'UPDATE "{table}" SET "event_id" = ? WHERE "id" = ?',
                         [(event_id, it.recipient_id)
                          for event_id, it in zip(ids, items, strict=True)])

    def _documents(self, ids: list[int], events: list[dict[str, Any]], items: list[Sent]
                   ) -> list[tuple[str, int, str, str]]:
        """The search documents of new events, named as search_docs names them."""
        base = self._event_base()
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
        return docs

    def write_or_note(self, items: list[Sent]) -> None:
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
                _note(items[0].recipient_id, f"{items[0].reply} ({exc})")
                return
        for it in items:
            self.write_or_note([it])


@write
def _note(recipient_id: int, reply: str) -> None:
    """A sent message whose history cannot be written: the reason in its reply, event_id 0
    (not tried again)."""
    MailRecipient.update(event_id=0, reply=reply, updated_at=m.now()).where(
        MailRecipient.id == recipient_id).execute()
