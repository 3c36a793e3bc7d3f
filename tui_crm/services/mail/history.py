"""The client's history of sent messages: each message the server accepted becomes an
"email" event with result "sent", written by the record writer as records.create writes one
(the row, search document, audit entry and last-contact dates), and an audit entry "mail" on
the record, for many messages in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from tui_crm.db import bulk
from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.mail_models import Mailing, MailRecipient
from tui_crm.errors import CrmError
from tui_crm.i18n import _
from tui_crm.services.core import lookups, record_writer, records, values
from tui_crm.services.core.rights import Actor

log = logging.getLogger(__name__)


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
    """Writes the "email / sent" events of many messages in one transaction through the
    record writer (the event rows, search documents, "create" audit entries, last-contact
    dates), then the "mail" audit entry on each record."""

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
        base = self._event_base()
        now = m.now()
        events = [{**base, "title": it.subject[:200], "starts_at": now,
                   "organization": it.organization_id, "contact": it.contact_id,
                   "result_note": _("Mailing #{id} “{name}”, Message-ID {message_id}").format(
                       id=self.mailing.id, name=self.mailing.name, message_id=it.message_id)}
                  for it in items]
        # The clients' names the runner read already spare the writer its look-ups.
        names = [{"event_type": self._type_name}
                 | ({"organization": it.org_name} if it.org_name is not None else {})
                 | ({"contact": it.contact_name} if it.contact_name is not None else {})
                 for it in items]
        ids = record_writer.write_many(self.actor, "events", events, names=names)
        bulk.insert_dicts(m.AuditLog, [
            {"user": self.actor.user_id, "action": "mail", "kind": it.kind, "record_id": it.record_id,
             "details": f"#{self.mailing.id} {it.subject[:200]} {it.message_id}"}
            for it in items], with_ids=False)
        table = MailRecipient._meta.table_name
        bulk.executemany(f'UPDATE "{table}" SET "event_id" = ? WHERE "id" = ?',
                         [(event_id, it.recipient_id)
                          for event_id, it in zip(ids, items, strict=True)])

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
