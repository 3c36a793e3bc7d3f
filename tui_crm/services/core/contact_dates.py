"""Each client's last contact and next step, kept in step with its events.

`records` calls `on_event_changed` after every write to an event; bulk writers call
`refresh_contact_dates` (or compute the same in SQL) for the clients they touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import fn

from tui_crm.db import models as m
from tui_crm.services.core import recurrence

OPEN = "planned"  # an event's status while it is still to happen


def refresh_contact_dates(organization_id: int | None, contact_id: int | None,
                          now: dt.datetime | None = None) -> None:
    """Recompute the client's last contact (latest done event) and next step (earliest planned
    event, or the next repeat of a planned series) — the aggregates run in SQL, so concurrent
    sessions cannot overwrite each other's values."""
    now = now or m.now()
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
    for model, column, record_id in ((m.Organization, m.Event.organization, organization_id),
                                     (m.Contact, m.Event.contact, contact_id)):
        if not record_id:
            continue
        alive = (column == record_id) & m.Event.deleted_at.is_null()
        # A "done" event dated on a later day (typed so in a form) is no contact yet.
        last = (m.Event.select(fn.MAX(m.Event.starts_at))
                .where(alive & (m.Event.status == "done") & (m.Event.starts_at < tomorrow)))
        nxt = (m.Event.select(fn.MIN(m.Event.starts_at))
               .where(alive & (m.Event.status == OPEN) & (m.Event.rrule == "")))
        model.update(last_contact_at=last, next_contact_at=nxt).where(
            model.id == record_id).execute()
        repeats = [recurrence.between(s.rrule, s.starts_at, now,
                                      now + dt.timedelta(days=400), limit=1)
                   for s in m.Event.select().where(alive & (m.Event.status == OPEN)
                                                   & (m.Event.rrule != ""))]
        upcoming = [r[0] for r in repeats if r]
        if upcoming:
            soonest = min(upcoming)
            model.update(next_contact_at=soonest).where(
                (model.id == record_id)
                & (model.next_contact_at.is_null() | (model.next_contact_at > soonest))).execute()




def on_event_changed(event_id: int) -> None:
    """Called by the records service after any write to an event."""
    row = m.Event.select(m.Event.organization, m.Event.contact).where(
        m.Event.id == event_id).first()
    if row is not None:
        refresh_contact_dates(row.organization_id, row.contact_id)


def refresh_last_contacts(organization_ids: Iterable[int | None],
                          contact_ids: Iterable[int | None]) -> None:
    """The last contact of many clients after done events were added (a mailing's history):
    the same aggregate as refresh_contact_dates, one statement per 500 clients. Their next
    step is unchanged (no planned event was touched)."""
    for model, column, ids in ((m.Organization, m.Event.organization, organization_ids),
                               (m.Contact, m.Event.contact, contact_ids)):
        wanted = sorted({i for i in ids if i})
        last = (m.Event.select(fn.MAX(m.Event.starts_at))
                .where((column == model.id) & m.Event.deleted_at.is_null()
                       & (m.Event.status == "done")))
        for start in range(0, len(wanted), 500):
            model.update(last_contact_at=last).where(
                model.id.in_(wanted[start:start + 500])).execute()
