"""iCalendar (.ics) export of events — a manager's calendar or one client's — that Google
Calendar and Outlook import.

Times are stored as local wall-clock time; they are written in UTC (…Z), which every
calendar program reads without a VTIMEZONE block. The UID is stable per event, so
importing a newer export updates the events instead of doubling them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from icalendar import Alarm, Calendar, Event, vRecur

from tui_crm.db import models as m
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import recurrence
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import exporting

PRODID = "-//tui-crm//tui-crm//EN"
DEFAULT_MINUTES = 60


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.astimezone()  # naive = this computer's local time
    return value.astimezone(dt.UTC)


def _location(org_ids: set[int | None]) -> dict[int | None, str]:
    if not org_ids:
        return {}
    return {o.id: ", ".join(p for p in (o.address, o.city) if p)
            for o in m.Organization.select(m.Organization.id, m.Organization.address,
                                           m.Organization.city)
            .where(m.Organization.id.in_(list(org_ids)))}


def event_component(view: RecordView, location: str = "") -> Event:
    """One event as a VEVENT."""
    values = view.values
    start: dt.datetime = values["starts_at"]
    end: dt.datetime = values.get("ends_at") or start + dt.timedelta(minutes=DEFAULT_MINUTES)
    event = Event()
    created = view.created_at or start
    event.add("uid", f"event-{view.id}-{created.strftime('%Y%m%dT%H%M%S')}@tui-crm")
    event.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    event.add("dtstart", _utc(start))
    event.add("dtend", _utc(end))
    event.add("summary", view.title)
    description = []
    for name, label in (("event_type", _("Type")), ("organization", _("Organization")),
                        ("contact", _("Contact")), ("result", _("Result"))):
        if view.display.get(name):
            description.append(f"{label}: {view.display[name]}")
    for name, label in (("result_note", _("Result note")), ("next_step", _("Next step"))):
        if values.get(name):
            description.append(f"{label}: {values[name]}")
    if description:
        event.add("description", "\n".join(description))
    if location:
        event.add("location", location)
    if view.display.get("event_type"):
        event.add("categories", [view.display["event_type"]])
    status = values.get("status")
    event.add("status", "CANCELLED" if status == "cancelled" else "CONFIRMED")
    event.add("sequence", max(0, view.version - 1))
    if view.updated_at:
        event.add("last-modified", _utc(view.updated_at))
    if values.get("rrule") and recurrence.allowed(values["rrule"], start):
        try:
            event.add("rrule", vRecur.from_ical(values["rrule"].removeprefix("RRULE:")))
        except ValueError:
            pass  # a rule the calendar would not read either: the first occurrence is kept
    minutes = values.get("reminder_minutes")
    if minutes is not None and status == "planned":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", view.title)
        alarm.add("trigger", dt.timedelta(minutes=-int(minutes)))
        event.add_component(alarm)
    return event


def calendar(actor: Actor, query: ListQuery | None = None, *, name: str = "") -> tuple[bytes,
                                                                                       int]:
    """The events `query` matches (e.g. filters {"assignee": login} or
    {"organization": id}) as .ics bytes, and how many there are."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name or _("Events"))
    query = replace(query or ListQuery(), sort=(query.sort if query else "") or "starts_at")
    views = list(exporting.iter_views(actor, "events", query))
    places = _location({v.values.get("organization") for v in views
                        if v.values.get("organization")})
    for view in views:
        if view.values.get("starts_at") is None:
            continue
        cal.add_component(event_component(view, places.get(view.values.get("organization"),
                                                          "")))
    return cal.to_ical(), len(views)


def export_file(actor: Actor, path: str | Path, *, query: ListQuery | None = None,
                name: str = "") -> int:
    """Write a .ics file; returns the number of events."""
    actor.require("events", "view")
    data, count = calendar(actor, query, name=name)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise ValidationError({"output": str(exc.strerror or exc)}) from None
    return count
