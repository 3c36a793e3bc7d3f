"""iCalendar (.ics) export of events (VEVENT) and tasks (VTODO) — a manager's calendar or
one client's — that Google Calendar, Outlook and Thunderbird import.

Times are stored as wall-clock time of the company's time zone (`settings.time_zone_name`,
by default the server's configured zone — never the exporting process's TZ, so the same
base exports the same file on a laptop in Moscow and on a server set to UTC). They are
written with that zone's TZID and a VTIMEZONE block (a weekly meeting stays at 10:00 across
daylight-saving changes), or as UTC (…Z) when the zone is UTC. DTSTAMP is the record's last
change, so an unchanged base exports byte-identical files. The UID is stable per record,
so importing a newer export updates the entries instead of doubling them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Todo, vRecur

from tui_crm.db import models as m
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import recurrence, settings
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import export_views

PRODID = "-//tui-crm//tui-crm//EN"
DEFAULT_MINUTES = 60
KINDS = ("events", "tasks")
# VTODO's PRIORITY: 1 the highest, 9 the lowest (RFC 5545 3.8.1.9)
TASK_PRIORITY = {"high": 1, "normal": 5, "low": 9}
TASK_STATUS = {"open": "NEEDS-ACTION", "in_progress": "IN-PROCESS", "done": "COMPLETED",
               "cancelled": "CANCELLED"}


def _in_zone(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A stored time in the company's zone: naive = that zone's wall-clock time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _written(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """How a time is written: with the zone's TZID, or in UTC when the zone is UTC."""
    local = _in_zone(value, zone)
    return local.astimezone(dt.UTC) if _is_utc(zone) else local


def _is_utc(zone: ZoneInfo) -> bool:
    return zone.key in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
                        "Zulu", "Etc/Zulu", "GMT", "Etc/GMT")


def _utc(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return _in_zone(value, zone).astimezone(dt.UTC)


def _stamp(view: RecordView, zone: ZoneInfo) -> dt.datetime:
    """DTSTAMP: the record's last change (not the export's moment: same base, same file)."""
    when = view.updated_at or view.created_at or dt.datetime(2000, 1, 1)
    return _utc(when, zone).replace(microsecond=0)


def _uid(prefix: str, view: RecordView, fallback: dt.datetime | None) -> str:
    created = view.created_at or fallback or dt.datetime(2000, 1, 1)
    return f"{prefix}-{view.id}-{created.strftime('%Y%m%dT%H%M%S')}@tui-crm"


def _location(org_ids: set[int | None]) -> dict[int | None, str]:
    if not org_ids:
        return {}
    return {o.id: ", ".join(p for p in (o.address, o.city) if p)
            for o in m.Organization.select(m.Organization.id, m.Organization.address,
                                           m.Organization.city)
            .where(m.Organization.id.in_(list(org_ids)))}


def event_component(view: RecordView, location: str = "",
                    zone: ZoneInfo | None = None) -> Event:
    """One event as a VEVENT."""
    zone = zone or settings.time_zone()
    values = view.values
    start: dt.datetime = values["starts_at"]
    end: dt.datetime = values.get("ends_at") or start + dt.timedelta(minutes=DEFAULT_MINUTES)
    event = Event()
    event.add("uid", _uid("event", view, start))
    event.add("dtstamp", _stamp(view, zone))
    event.add("dtstart", _written(start, zone))
    event.add("dtend", _written(end, zone))
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
        event.add("last-modified", _utc(view.updated_at, zone))
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


def task_component(view: RecordView, location: str = "",
                   zone: ZoneInfo | None = None) -> Todo:
    """One task as a VTODO."""
    zone = zone or settings.time_zone()
    values = view.values
    todo = Todo()
    todo.add("uid", _uid("task", view, values.get("due_at")))
    todo.add("dtstamp", _stamp(view, zone))
    if values.get("due_at"):
        todo.add("due", _written(values["due_at"], zone))
    todo.add("summary", values.get("title") or view.title)
    description = []
    for name, label in (("organization", _("Organization")), ("contact", _("Contact")),
                        ("assignee", _("Assignee"))):
        if view.display.get(name):
            description.append(f"{label}: {view.display[name]}")
    if values.get("description"):
        description.append(values["description"])
    if description:
        todo.add("description", "\n".join(description))
    if location:
        todo.add("location", location)
    todo.add("priority", TASK_PRIORITY.get(values.get("priority") or "normal", 5))
    todo.add("status", TASK_STATUS.get(values.get("status") or "open", "NEEDS-ACTION"))
    if values.get("status") == "done":
        todo.add("percent-complete", 100)
    todo.add("sequence", max(0, view.version - 1))
    if view.updated_at:
        todo.add("last-modified", _utc(view.updated_at, zone))
    return todo


def calendar(actor: Actor, query: ListQuery | None = None, *, name: str = "",
             kind: str = "events", time_zone: str | None = None) -> tuple[bytes, int]:
    """The events (or tasks) `query` matches (e.g. filters {"assignee": login} or
    {"organization": id}) as .ics bytes, and how many there are. `time_zone` overrides the
    company's zone for this file."""
    if kind not in KINDS:
        raise ValidationError({"format": _("Only events and tasks can be exported to"
                                           " iCalendar.")})
    zone = settings.zone_named(time_zone) if time_zone else settings.time_zone()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name or (_("Events") if kind == "events" else _("Tasks")))
    if not _is_utc(zone):
        cal.add("x-wr-timezone", zone.key)
    order = "starts_at" if kind == "events" else "due_at"
    query = replace(query or ListQuery(), sort=(query.sort if query else "") or order)
    views = list(export_views.iter_views(actor, kind, query))
    places = _location({v.values.get("organization") for v in views
                        if v.values.get("organization")})
    for view in views:
        place = places.get(view.values.get("organization"), "")
        if kind == "tasks":
            cal.add_component(task_component(view, place, zone))
        elif view.values.get("starts_at") is not None:
            cal.add_component(event_component(view, place, zone))
    if not _is_utc(zone):
        cal.add_missing_timezones()  # the VTIMEZONE of the TZID the times are written with
    return cal.to_ical(), len(views)


def export_file(actor: Actor, path: str | Path, *, query: ListQuery | None = None,
                name: str = "", kind: str = "events", time_zone: str | None = None) -> int:
    """Write a .ics file; returns the number of events or tasks."""
    actor.require(kind, "view")
    data, count = calendar(actor, query, name=name, kind=kind, time_zone=time_zone)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise ValidationError({"output": str(exc.strerror or exc)}) from None
    return count
