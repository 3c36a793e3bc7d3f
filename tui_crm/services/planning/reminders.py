"""Reminders: an event's reminder fires at (start − offset) in the sessions of its assignee
only; contacts' birthdays remind the day before and on the day. Each occurrence is claimed
with a unique key, so it never fires twice — not even with two sessions of one user open."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from tui_crm.db import models as m
from tui_crm.db.database import current, read, write
from tui_crm.db.planning_models import ReminderState
from tui_crm.errors import DatabaseProblem, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import events, lookups
from tui_crm.services.core.kinds import REMINDER_MAX_MINUTES
from tui_crm.services.core.rights import Actor
from tui_crm.services.planning.planning import birthday_clause

LOOKBACK_DAYS = 7  # reminders older than this that nobody saw are not worth a toast
SNOOZE_CHOICES = {"5m": dt.timedelta(minutes=5), "1h": dt.timedelta(hours=1)}


@dataclass
class Reminder:
    key: str
    fire_at: dt.datetime
    title: str
    body: str
    event_id: int | None
    contact_id: int | None
    organization_id: int | None
    missed: bool = False  # came due while no session was open

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "fire_at": self.fire_at.isoformat(timespec="minutes"),
                "title": self.title, "body": self.body, "event_id": self.event_id,
                "contact_id": self.contact_id, "organization_id": self.organization_id,
                "missed": self.missed}


def _minutes(stored: int) -> int:
    """A reminder offset within the field's range (values stored before it had one)."""
    return max(0, min(stored, REMINDER_MAX_MINUTES))


def _event_reminders(actor: Actor, start: dt.datetime, end: dt.datetime) -> list[Reminder]:
    """Reminders of the user's planned events whose fire time is in [start, end) (a client
    the user may not see is not named)."""
    user_id = actor.user_id
    result = []
    # An event fires at start − minutes; look ahead by the largest offset in use.
    longest = m.Event.select(m.Event.reminder_minutes).where(
        (m.Event.assignee == user_id) & m.Event.reminder_minutes.is_null(False)).order_by(
        m.Event.reminder_minutes.desc()).first()
    ahead = dt.timedelta(minutes=_minutes(longest.reminder_minutes if longest else 0))

    def fired_in_range(series: m.Event) -> tuple[dt.datetime, dt.datetime]:
        lead = dt.timedelta(minutes=_minutes(series.reminder_minutes or 0))
        return start + lead, end + lead

    occ = events.occurrences(user_id, start, end + ahead, series_range=fired_in_range)
    if not occ:
        return []
    rows = {e.id: e for e in m.Event.select().where(m.Event.id.in_({o.event_id for o in occ}))}
    types = {t.id: t for t in m.EventType.select()}
    for o in occ:
        e = rows.get(o.event_id)
        if e is None or e.reminder_minutes is None or e.status != "planned" and not o.virtual:
            continue
        fire_at = o.starts_at - dt.timedelta(minutes=_minutes(e.reminder_minutes))
        if not start <= fire_at < end:
            continue
        who = lookups.names("organization", [e.organization_id], actor=actor).get(
            e.organization_id) or lookups.names("contact", [e.contact_id], actor=actor).get(
            e.contact_id, "")
        kind = lookups.event_type_name(types[e.event_type_id]) if e.event_type_id in types else ""
        title = e.title or kind
        result.append(Reminder(
            f"event:{e.id}:{o.starts_at.isoformat(timespec='minutes')}", fire_at,
            f"{o.starts_at.strftime('%H:%M')} {title}".strip(), who, e.id, e.contact_id,
            e.organization_id))
    return result


def _birthday_reminders(user_id: int, start: dt.datetime, end: dt.datetime) -> list[Reminder]:
    """"Congratulate" reminders at 09:00 the day before and on the day."""
    result = []
    day = start.date()
    while day <= end.date():
        for offset, when_label in ((0, _("today")), (1, _("tomorrow"))):
            target = day + dt.timedelta(days=offset)
            fire_at = dt.datetime.combine(day, dt.time(9, 0))
            if not start <= fire_at < end:
                continue
            for c in m.Contact.select().where(
                    (m.Contact.owner == user_id) & m.Contact.deleted_at.is_null()
                    & birthday_clause(target)):
                name = lookups.contact_name(c.last_name, c.first_name, c.middle_name)
                result.append(Reminder(
                    f"birthday:{c.id}:{target.isoformat()}:{offset}", fire_at,
                    _("Congratulate {name}: birthday {when}").format(name=name, when=when_label),
                    c.primary_phone, None, c.id, c.organization_id))
        day += dt.timedelta(days=1)
    return result


@read
def pending(actor: Actor, now: dt.datetime | None = None) -> list[Reminder]:
    """Reminders of the acting user that are due and not yet claimed by any session
    (including snoozed ones whose time has come)."""
    if actor.user_id is None:
        return []
    now = now or m.now()
    start = now - dt.timedelta(days=LOOKBACK_DAYS)
    found = _event_reminders(actor, start, now + dt.timedelta(seconds=1))
    # Birthdays only for today and tomorrow: last week's birthday is no reason for a toast.
    today_start = dt.datetime.combine(now.date(), dt.time())
    found += _birthday_reminders(actor.user_id, today_start, now + dt.timedelta(seconds=1))
    if not found:
        return []
    states = {s.key: s for s in ReminderState.select().where(
        ReminderState.key.in_([r.key for r in found]))}
    due = []
    for r in found:
        state = states.get(r.key)
        if state is None or (state.state == "snoozed" and state.snooze_until
                             and state.snooze_until <= now):
            due.append(r)
    due.sort(key=lambda r: r.fire_at)
    return due


def upcoming(actor: Actor, now: dt.datetime | None = None, hours: int = 24) -> list[Reminder]:
    """Reminders that will fire in the next hours (for `tui-crm reminders`)."""
    if actor.user_id is None:
        return []
    now = now or m.now()
    end = now + dt.timedelta(hours=hours)
    found = _event_reminders(actor, now, end) + \
        _birthday_reminders(actor.user_id, now, end)
    return sorted(found, key=lambda r: r.fire_at)


@write(wait=False)
def _claim(actor: Actor, reminder: Reminder, now: dt.datetime) -> bool:
    state = ReminderState.get_or_none(ReminderState.key == reminder.key)
    if state is None:
        try:
            with current().atomic():
                ReminderState.create(key=reminder.key, user=actor.user_id, state="fired",
                                     claimed_at=now)
        except IntegrityError:
            return False  # another session claimed it a moment ago
        return True
    # A snoozed reminder: the UPDATE's WHERE makes exactly one session win.
    won = ReminderState.update(state="fired", claimed_at=now, snooze_until=None).where(
        (ReminderState.id == state.id) & (ReminderState.state == "snoozed")
        & (ReminderState.snooze_until <= now)).execute()
    return won == 1


def claim_due(actor: Actor, now: dt.datetime | None = None,
              session_started: dt.datetime | None = None) -> list[Reminder]:
    """The reminders this session should show now; each is shown by one session only.
    Those that came due before the session started are marked `missed`.

    A claim does not wait for another session's write (a long import): the screen would
    freeze meanwhile. What is not claimed now stays pending for the next check."""
    now = now or m.now()
    shown = []
    for r in pending(actor, now):
        try:
            claimed = _claim(actor, r, now)
        except DatabaseProblem:
            break  # the database is busy (or failing): the rest waits for the next check
        if claimed:
            r.missed = session_started is not None and r.fire_at < session_started
            shown.append(r)
    return shown


@write
def snooze(actor: Actor, key: str, choice: str, now: dt.datetime | None = None) -> dt.datetime:
    """Show the reminder again in 5 minutes ("5m"), an hour ("1h") or tomorrow 09:00."""
    now = now or m.now()
    if choice in SNOOZE_CHOICES:
        until = now + SNOOZE_CHOICES[choice]
    elif choice == "tomorrow":
        until = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(9, 0))
    else:
        raise ValidationError({"snooze": _("Snooze for 5m, 1h or tomorrow")})
    updated = ReminderState.update(state="snoozed", snooze_until=until).where(
        (ReminderState.key == key) & (ReminderState.user == actor.user_id)).execute()
    if not updated:
        ReminderState.create(key=key, user=actor.user_id, state="snoozed", snooze_until=until)
    return until


@write
def dismiss(actor: Actor, key: str) -> None:
    updated = ReminderState.update(state="dismissed", snooze_until=None).where(
        (ReminderState.key == key) & (ReminderState.user == actor.user_id)).execute()
    if not updated:
        ReminderState.create(key=key, user=actor.user_id, state="dismissed")
