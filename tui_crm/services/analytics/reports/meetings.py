"""Meeting reports: what was agreed at a meeting, and the report listing them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.report_models import MeetingReport
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.analytics.reports.activity import activity_rules
from tui_crm.services.analytics.reports.common import (
    Column,
    Report,
    json_row,
    manager_scope,
    report_bounds,
    report_days,
)
from tui_crm.services.core import audit, lookups, records
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates

# --- meetings ---------------------------------------------------------------------------------


@dataclass
class MeetingReportView:
    event_id: int
    starts_at: dt.datetime
    manager: str
    organization_id: int | None
    organization: str
    contact: str
    event_result: str
    subject: str = ""
    agreements: str = ""
    result: str = ""
    our_actions: str = ""
    client_actions: str = ""
    next_contact_date: dt.date | None = None
    saved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return json_row(dict(self.__dict__))


MEETING_FIELDS = ("subject", "agreements", "result", "our_actions", "client_actions",
                  "next_contact_date")


def _meeting_event(actor: Actor, event_id: int) -> tuple[m.Event, Any]:
    view = records.get(actor, "events", event_id)  # rights and visibility
    event = m.Event.get_by_id(event_id)
    rules = activity_rules()
    code = m.EventType.select(m.EventType.code).where(
        m.EventType.id == event.event_type_id).scalar()
    if code not in rules["meeting_types"] + rules["visit_types"]:
        raise ValidationError({"event": _("A meeting report is written for a meeting")})
    return event, view


def meeting_report(actor: Actor, event_id: int) -> MeetingReportView:
    """The meeting report of an event (blank fields when not written yet)."""
    event, view = _meeting_event(actor, event_id)
    saved = MeetingReport.get_or_none(MeetingReport.event == event_id)
    out = MeetingReportView(
        event_id, event.starts_at, view.display.get("assignee", ""), event.organization_id,
        view.display.get("organization", ""), view.display.get("contact", ""),
        view.display.get("result", ""))
    if saved is not None:
        for name in MEETING_FIELDS:
            setattr(out, name, getattr(saved, name))
        out.saved = True
    return out


@write
def save_meeting_report(actor: Actor, event_id: int, data: dict[str, Any], *,
                        now: dt.datetime | None = None) -> MeetingReportView:
    """Write the report after a meeting. The meeting is marked done; a next contact date puts
    a planned call on that day (unless one is already planned for the client then)."""
    event, view = _meeting_event(actor, event_id)
    actor.require("events", "edit")
    unknown = [k for k in data if k not in MEETING_FIELDS]
    if unknown:
        raise ValidationError({k: _("Unknown field") for k in unknown})
    cleaned: dict[str, Any] = {}
    for name in MEETING_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "next_contact_date":
            if value in (None, ""):
                cleaned[name] = None
            elif isinstance(value, dt.date):
                cleaned[name] = value
            else:
                try:
                    cleaned[name] = dates.parse_date(str(value), (now or m.now()).date())
                except dates.DateParseError as exc:
                    raise ValidationError({name: str(exc)}) from None
        else:
            cleaned[name] = (value or "").strip()
    row = MeetingReport.get_or_none(MeetingReport.event == event_id)
    if row is None and not (cleaned.get("subject") or cleaned.get("result")
                            or cleaned.get("agreements")):
        raise ValidationError({"subject": _("Write at least the subject or the result")})
    if row is None:
        row = MeetingReport.create(event=event_id, author=actor.user_id, **cleaned)
    else:
        for name, value in cleaned.items():
            setattr(row, name, value)
        row.updated_at = m.now()
        row.save()
    if event.status == "planned":
        records.update(actor, "events", event_id, {"status": "done"})
    audit.log(actor, "meeting_report", "events", event_id,
              details=cleaned.get("subject") or cleaned.get("result") or "")
    if event.organization_id:
        audit.log(actor, "meeting_report", "organizations", event.organization_id,
                  details=cleaned.get("subject") or cleaned.get("result") or "")
    when = cleaned.get("next_contact_date")
    if when is not None and (event.organization_id or event.contact_id):
        column = m.Event.organization if event.organization_id else m.Event.contact
        client = event.organization_id or event.contact_id
        day_start = dt.datetime.combine(when, dt.time())
        planned = m.Event.select().where(
            (column == client) & (m.Event.status == "planned") & m.Event.deleted_at.is_null()
            & (m.Event.starts_at >= day_start)
            & (m.Event.starts_at < day_start + dt.timedelta(days=1))).exists()
        if not planned:
            call = m.EventType.get_or_none(m.EventType.code == "call")
            records.create(actor, "events", {
                "event_type": call.id if call else event.event_type_id,
                "title": _("After the meeting: {subject}").format(
                    subject=cleaned.get("subject") or view.title),
                "starts_at": dt.datetime.combine(when, dt.time(10, 0)),
                "organization": event.organization_id, "contact": event.contact_id,
                "assignee": event.assignee_id or actor.user_id})
    return meeting_report(actor, event_id)


def events_of(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None,
               rule: str, statuses: tuple[str, ...]) -> tuple[list[m.User], list[m.Event]]:
    """The managers in scope and their events of the types `activity_rules()[rule]` names,
    with one of `statuses`, in the period, in time order (the meetings and visits reports)."""
    report_days(start, end)
    users = manager_scope(actor, manager)
    type_ids = [t.id for t in m.EventType.select().where(
        m.EventType.code.in_(activity_rules()[rule]))]
    since, until = report_bounds(start, end)
    ev = m.Event
    events = list(ev.select().where(
        ev.event_type.in_(type_ids) & ev.status.in_(statuses) & ev.deleted_at.is_null()
        & (ev.starts_at >= since) & (ev.starts_at < until)
        & ev.assignee.in_([u.id for u in users])).order_by(ev.starts_at, ev.id))
    return users, events


def meetings(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
             ) -> Report:
    """Meetings held in the period with their reports (the seed's meeting report form)."""
    users, events = events_of(actor, start, end, manager, "meeting_types", ("done",))
    saved = {r.event_id: r for r in MeetingReport.select().where(
        MeetingReport.event.in_([e.id for e in events]))} if events else {}
    orgs = lookups.names("organization", (e.organization_id for e in events), actor=actor)
    people = lookups.names("contact", (e.contact_id for e in events), actor=actor)
    managers = lookups.names("user", (e.assignee_id for e in events))
    result_names = lookups.names("event_result", (e.result_id for e in events))
    rows = []
    for e in events:
        r = saved.get(e.id)
        rows.append({
            "date": e.starts_at, "manager": managers.get(e.assignee_id, ""),
            "organization": orgs.get(e.organization_id, ""),
            "contact": people.get(e.contact_id, ""),
            "subject": r.subject if r else "", "agreements": r.agreements if r else "",
            "result": (r.result if r and r.result else result_names.get(e.result_id, "")),
            "our_actions": r.our_actions if r else "",
            "client_actions": r.client_actions if r else "",
            "next_contact": r.next_contact_date if r else None,
            "reported": r is not None, "_event_id": e.id})
    totals = {"date": None, "manager": _("Total"), "organization": str(len(rows)),
              "reported": sum(1 for r in rows if r["reported"])}
    return Report("meetings", _("Meeting reports"), start, end, [
        Column("date", _("Date"), "datetime", 16), Column("manager", _("Manager"), "text", 14),
        Column("organization", _("Company"), "text", 22),
        Column("contact", _("Contact person"), "text", 18),
        Column("subject", _("Subject"), "text", 20),
        Column("agreements", _("Agreements"), "text", 24),
        Column("result", _("Result"), "text", 18),
        Column("our_actions", _("Our next actions"), "text", 22),
        Column("client_actions", _("Client's next actions"), "text", 22),
        Column("next_contact", _("Next contact"), "date", 10),
        Column("reported", _("Report written"), "bool", 6)], rows, totals,
        manager=users[0].login if manager else "")


