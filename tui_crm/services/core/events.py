"""Working with events: logging a result with the next step, rescheduling with a reason,
recurring series (RFC 5545 RRULE via dateutil). The clients' last/next contact dates are
kept by `contact_dates`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, lookups, records, recurrence
from tui_crm.services.core.contact_dates import OPEN, refresh_contact_dates
from tui_crm.services.core.records import RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates

MAX_REPEATS = 5000  # virtual repeats in one range, over all series


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event: a stored row, or a not-yet-stored repeat of a series."""

    event_id: int  # the stored row, or the series for a virtual repeat
    starts_at: dt.datetime
    virtual: bool = False


def parse_when(value: str | dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    if not str(value).strip():
        return None
    return dates.parse_when(str(value), now)


# --- recurrence -------------------------------------------------------------------------------


def expand(rule: str, dtstart: dt.datetime, start: dt.datetime, end: dt.datetime
           ) -> list[dt.datetime]:
    """Occurrences of `rule` (from `dtstart`) in [start, end): see `recurrence.between` for
    the limits. Without a rule, the event's own time if it is in the range."""
    if not rule:
        return [dtstart] if start <= dtstart < end else []
    return recurrence.between(rule, dtstart, start, end)


def occurrences(user_id: int | None, start: dt.datetime, end: dt.datetime, *,
                series_range: Callable[[m.Event], tuple[dt.datetime, dt.datetime]] | None = None,
                ) -> list[Occurrence]:
    """Every occurrence assigned to a user in [start, end): stored events and the repeats of
    series that have no stored row for that time yet (at most MAX_REPEATS of those, the
    earliest: a range never holds more repeats than a screen or a day could use).
    `series_range` narrows the range per series (reminders: the repeats whose reminder
    falls in the time asked about), so the cap never drops the repeats that matter."""
    base = m.Event.deleted_at.is_null()
    if user_id is not None:
        base &= m.Event.assignee == user_id
    # Plain tuples: a week of a busy user is thousands of rows (model objects: ~10× slower).
    result = [Occurrence(event_id, starts_at) for event_id, starts_at in m.Event.select(
        m.Event.id, m.Event.starts_at).where(
            base & (m.Event.starts_at >= start) & (m.Event.starts_at < end)
            & (m.Event.rrule == "")).tuples()]
    series = m.Event.select().where(base & (m.Event.rrule != "") & (m.Event.starts_at < end)
                                    & (m.Event.status == OPEN))
    repeats: list[Occurrence] = []
    for s in series:
        low, high = start, end
        if series_range is not None:
            wanted = series_range(s)
            low, high = max(start, wanted[0]), min(end, wanted[1])
        stored = {e.starts_at for e in m.Event.select(m.Event.starts_at).where(
            (m.Event.series == s.id) & (m.Event.starts_at >= low) & (m.Event.starts_at < high))}
        for t in expand(s.rrule, s.starts_at, low, high):
            if t not in stored:
                repeats.append(Occurrence(s.id, t, virtual=True))
    repeats.sort(key=lambda o: o.starts_at)
    result.extend(repeats[:MAX_REPEATS])
    result.sort(key=lambda o: o.starts_at)
    return result


@write
def materialize(actor: Actor, series_id: int, when: dt.datetime) -> int:
    """Store one repeat of a series as its own event (to complete or move it), leaving the
    series as it was; returns the new event's id (or the existing one)."""
    series = m.Event.get_or_none(m.Event.id == series_id)
    if series is None:
        raise NotFound(_("Event #{id} does not exist.").format(id=series_id))
    existing = m.Event.get_or_none((m.Event.series == series_id) & (m.Event.starts_at == when))
    if existing is not None:
        return existing.id
    if when not in expand(series.rrule, series.starts_at, when, when + dt.timedelta(seconds=1)):
        raise ValidationError({"starts_at": _("The series has no occurrence at that time")})
    length = (series.ends_at - series.starts_at) if series.ends_at else None
    view = records.create(actor, "events", {
        "event_type": series.event_type_id, "title": series.title, "starts_at": when,
        "ends_at": when + length if length else None,
        "organization": series.organization_id, "contact": series.contact_id,
        "assignee": series.assignee_id, "reminder_minutes": series.reminder_minutes,
    })
    m.Event.update(series=series_id).where(m.Event.id == view.id).execute()
    return view.id


# --- logging ----------------------------------------------------------------------------------


@dataclass
class LogOutcome:
    event: RecordView
    next_event: RecordView | None
    warm: bool
    reached_decision_maker: bool


def _result_for(event: m.Event, result: str) -> m.EventResult:
    try:
        result_id = lookups.resolve("event_result", result, {"event_type": event.event_type_id})
    except ValueError as exc:
        raise ValidationError({"result": str(exc)}) from None
    row = m.EventResult.get_by_id(result_id)
    if event.event_type_id and row.event_type_id != event.event_type_id:
        raise ValidationError({"result": _("This result belongs to another event type")})
    return row


def type_name(code_or_id: Any) -> m.EventType:
    try:
        return m.EventType.get_by_id(lookups.resolve("event_type", str(code_or_id), {}))
    except ValueError as exc:
        raise ValidationError({"next_type": str(exc)}) from None


@write
def log_result(actor: Actor, event_id: int, result: str, *, note: str = "",
               next_when: str | dt.datetime | None = None, next_type: str | None = None,
               now: dt.datetime | None = None) -> LogOutcome:
    """Mark an event done with a result; a warm result requires a next step, which becomes a
    planned event for the same client. Updates the client's last/next contact and status."""
    now = now or m.now()
    event = m.Event.get_or_none(m.Event.id == event_id)
    if event is None or event.deleted_at is not None:
        raise NotFound(_("Event #{id} does not exist.").format(id=event_id))
    result_row = _result_for(event, result)
    try:
        when = parse_when(next_when, now)
    except ValueError as exc:
        raise ValidationError({"next": str(exc)}) from None
    if result_row.warm and when is None:
        raise ValidationError({"next": _("A warm client needs a next step: when to contact again")})
    if when is not None and when < now - dt.timedelta(minutes=1):
        raise ValidationError({"next": _("The next step is in the past")})
    next_type_row = type_name(next_type) if next_type else event.event_type
    next_label = ""
    if when is not None and next_type_row is None:  # an event without a type
        raise ValidationError({"next_type": _("Give the type of the next step")})
    if when is not None and next_type_row is not None:
        next_label = f"{lookups.event_type_name(next_type_row)} {dates.format_datetime(when)}"
    changes: dict[str, Any] = {
        "event_type": event.event_type_id, "status": "done", "result": result_row.id,
        "result_note": note or event.result_note, "next_step": next_label,
    }
    changes.update(_dated_when_logged(event, now))
    done = records.update(actor, "events", event_id, changes)
    next_view = None
    if when is not None and next_type_row is not None:
        next_view = records.create(actor, "events", {
            "event_type": next_type_row.id, "starts_at": when,
            "organization": event.organization_id, "contact": event.contact_id,
            "assignee": event.assignee_id or actor.user_id, "reminder_minutes": 15,
        })
    if event.organization_id and result_row.warm:
        m.Organization.update(status="warm").where(
            (m.Organization.id == event.organization_id) & (m.Organization.status == "lead")
        ).execute()
    refresh_contact_dates(event.organization_id, event.contact_id)
    return LogOutcome(done, next_view, result_row.warm, result_row.reached_decision_maker)


@write
def log_unplanned(actor: Actor, kind: str, record_id: int, type_code: str, result: str, *,
                  note: str = "", next_when: str | dt.datetime | None = None,
                  next_type: str | None = None, now: dt.datetime | None = None) -> LogOutcome:
    """A call or meeting that just happened without being planned (`l` on a card or in
    Follow-ups): stored at `now` for the client and logged like a planned one."""
    now = (now or m.now()).replace(second=0, microsecond=0)
    if kind not in ("organizations", "contacts"):
        raise ValidationError({"section": _("Calls and meetings are logged for clients only")})
    client = records.get(actor, kind, record_id)
    data: dict[str, Any] = {"event_type": type_code, "starts_at": now,
                            "assignee": actor.user_id, "status": "planned"}
    if kind == "organizations":
        data["organization"] = record_id
    else:
        data["contact"] = record_id
        data["organization"] = client.values.get("organization")
    created = records.create(actor, "events", data)
    return log_result(actor, created.id, result, note=note, next_when=next_when,
                      next_type=next_type, now=now)


def _dated_when_logged(event: m.Event, now: dt.datetime) -> dict[str, Any]:
    """A result is dated when it was logged: a call planned for another day but made now
    moves to now (so "last contact" is never in the future and the day it was planned for
    does not count it again). A repeat of a series keeps its time — it is matched by it."""
    if event.starts_at.date() == now.date() or event.series_id is not None:
        return {}
    moved: dict[str, Any] = {"starts_at": now.replace(second=0, microsecond=0)}
    if event.ends_at:
        moved["ends_at"] = moved["starts_at"] + (event.ends_at - event.starts_at)
    return moved


@write
def reschedule(actor: Actor, event_id: int, when: str | dt.datetime, reason: str,
               now: dt.datetime | None = None) -> RecordView:
    """Move a planned event; the short reason is kept in the client's history."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say briefly why it moves")})
    event = m.Event.get_or_none(m.Event.id == event_id)
    if event is None or event.deleted_at is not None:
        raise NotFound(_("Event #{id} does not exist.").format(id=event_id))
    try:
        new_start = parse_when(when, now)
    except ValueError as exc:
        raise ValidationError({"when": str(exc)}) from None
    if new_start is None:
        raise ValidationError({"when": _("Required")})
    data: dict[str, Any] = {"starts_at": new_start}
    if event.ends_at:
        data["ends_at"] = new_start + (event.ends_at - event.starts_at)
    view = records.update(actor, "events", event_id, data)
    audit.log(actor, "reschedule", "events", event_id,
              {"starts_at": (event.starts_at, new_start)}, details=reason.strip())
    for kind, rid in (("organizations", event.organization_id), ("contacts", event.contact_id)):
        if rid:
            audit.log(actor, "reschedule", kind, rid, details=_(
                "{what} moved to {when}: {reason}").format(
                    what=view.title, when=dates.format_datetime(new_start), reason=reason.strip()))
    refresh_contact_dates(event.organization_id, event.contact_id)
    return view


def history(actor: Actor, kind: str, record_id: int, limit: int = 500) -> list[RecordView]:
    """A client's events, newest first."""
    column = {"organizations": "organization", "contacts": "contact"}[kind]
    page = records.list_records(actor, "events", records.ListQuery(
        filters={column: record_id}, sort="starts_at", descending=True, limit=limit))
    return page.rows
