"""Each client's last contact and next step, kept in step with its events.

`records` calls `on_event_changed` after every write to an event; the record writer calls
`refresh_many` for the clients of the events it added (the demo computes the same in SQL).
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
    refresh_many([organization_id], [contact_id], now)


PER_STATEMENT = 500  # clients per UPDATE … WHERE id IN (…)


def refresh_many(organization_ids: Iterable[int | None], contact_ids: Iterable[int | None],
                 now: dt.datetime | None = None) -> None:
    """`refresh_contact_dates` for many clients at once (the record writer's new events):
    one statement per 500 clients, and one read of their planned series."""
    now = now or m.now()
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
    horizon = now + dt.timedelta(days=400)
    for model, column, ids in ((m.Organization, m.Event.organization, organization_ids),
                               (m.Contact, m.Event.contact, contact_ids)):
        wanted = sorted({i for i in ids if i})
        if not wanted:
            continue
        alive = (column == model.id) & m.Event.deleted_at.is_null()
        # A "done" event dated on a later day (typed so in a form) is no contact yet.
        last = (m.Event.select(fn.MAX(m.Event.starts_at))
                .where(alive & (m.Event.status == "done") & (m.Event.starts_at < tomorrow)))
        nxt = (m.Event.select(fn.MIN(m.Event.starts_at))
               .where(alive & (m.Event.status == OPEN) & (m.Event.rrule == "")))
        soonest: dict[int, dt.datetime] = {}
        for start in range(0, len(wanted), PER_STATEMENT):
            chunk = wanted[start:start + PER_STATEMENT]
            model.update(last_contact_at=last, next_contact_at=nxt).where(
                model.id.in_(chunk)).execute()
            for client, rule, starts_at in (
                    m.Event.select(column, m.Event.rrule, m.Event.starts_at)
                    .where(column.in_(chunk) & m.Event.deleted_at.is_null()
                           & (m.Event.status == OPEN) & (m.Event.rrule != "")).tuples()):
                repeat = recurrence.between(rule, starts_at, now, horizon, limit=1)
                if repeat and (client not in soonest or repeat[0] < soonest[client]):
                    soonest[client] = repeat[0]
        for client, when in soonest.items():
            model.update(next_contact_at=when).where(
                (model.id == client)
                & (model.next_contact_at.is_null() | (model.next_contact_at > when))).execute()


def on_event_changed(event_id: int) -> None:
    """Called by the records service after any write to an event."""
    row = m.Event.select(m.Event.organization, m.Event.contact).where(
        m.Event.id == event_id).first()
    if row is not None:
        refresh_contact_dates(row.organization_id, row.contact_id)
