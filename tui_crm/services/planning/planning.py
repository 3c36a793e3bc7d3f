"""The day in time blocks: schedule templates, the Today view, planning tomorrow's call
blocks (the evening work journal), and call-block runs that resume where they stopped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from peewee import fn

from tui_crm.db import models as m
from tui_crm.db.database import read, write
from tui_crm.db.planning_models import CallBlockRun
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import (
    audit,
    contact_dates,
    events,
    lookups,
    records,
    server_files,
    visibility,
)
from tui_crm.services.core.rights import Actor

BLOCK_KINDS = {"calls": N_("Calls"), "meetings": N_("Meetings"), "paperwork": N_("Paperwork"),
               "travel": N_("Travel"), "custom": N_("Other")}
CALL_SLOT_MINUTES = 10
VIP_SILENCE_DAYS = 30


@dataclass(frozen=True)
class Block:
    start: dt.time
    end: dt.time
    kind: str
    label: str

    @property
    def key(self) -> str:
        return self.start.strftime("%H:%M")

    def contains(self, t: dt.time) -> bool:
        return self.start <= t < self.end

    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.key, "end": self.end.strftime("%H:%M"), "kind": self.kind,
                "label": self.label}


def _time(text: str) -> dt.time:
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValidationError({"start": _("A time is HH:MM, got {text!r}").format(text=text)}
                              ) from None


def schedule_for(user_id: int | None, day: dt.date) -> list[Block]:
    """The blocks of a user's day: the most specific template wins (user+weekday, user,
    everyone+weekday, everyone)."""
    rows = list(m.ScheduleBlock.select().where(
        (m.ScheduleBlock.user.is_null() | (m.ScheduleBlock.user == user_id))
        & (m.ScheduleBlock.weekday.is_null() | (m.ScheduleBlock.weekday == day.weekday()))))
    for want_user, want_day in ((user_id, day.weekday()), (user_id, None),
                                (None, day.weekday()), (None, None)):
        chosen = [r for r in rows if r.user_id == want_user and r.weekday == want_day]
        if chosen:
            chosen.sort(key=lambda r: (r.start, r.position))
            return [Block(_time(r.start), _time(r.end), r.kind, lookups.seeded_name(r.label))
                    for r in chosen]
    return []


@write
def set_schedule(actor: Actor, blocks: list[dict[str, str]], *, user_id: int | None = None,
                 weekday: int | None = None) -> list[Block]:
    """Replace a template (everyone's when user_id is None; every day when weekday is None)."""
    if user_id is None and not actor.is_admin:
        raise ValidationError({"user": _("Only an admin can change everyone's schedule")})
    if user_id is not None and user_id != actor.user_id and not actor.is_admin:
        raise ValidationError({"user": _("You can change only your own schedule")})
    parsed = []
    for b in blocks:
        start, end = _time(b["start"]), _time(b["end"])
        if end <= start:
            raise ValidationError({"end": _("A block must end after it starts")})
        kind = b.get("kind", "calls")
        if kind not in BLOCK_KINDS:
            raise ValidationError({"kind": _("Unknown block kind; choose one of: {known}").format(
                known=", ".join(BLOCK_KINDS))})
        parsed.append((start, end, kind, b.get("label", "")))
    parsed.sort()
    for (_s1, e1, *_rest), (s2, _e2, *_rest2) in zip(parsed, parsed[1:], strict=False):
        if s2 < e1:
            raise ValidationError({"start": _("Blocks overlap at {time}").format(
                time=s2.strftime("%H:%M"))})
    m.ScheduleBlock.delete().where(
        (m.ScheduleBlock.user.is_null() if user_id is None else m.ScheduleBlock.user == user_id)
        & (m.ScheduleBlock.weekday.is_null() if weekday is None
           else m.ScheduleBlock.weekday == weekday)).execute()
    for position, (start, end, kind, label) in enumerate(parsed):
        m.ScheduleBlock.create(user=user_id, weekday=weekday, start=start.strftime("%H:%M"),
                               end=end.strftime("%H:%M"), kind=kind, label=label,
                               position=position)
    audit.log(actor, "settings", "schedule", user_id, details=f"weekday={weekday}")
    return [Block(s, e, k, lbl) for s, e, k, lbl in parsed]


# --- the day ----------------------------------------------------------------------------------


@dataclass
class DayItem:
    event_id: int
    starts_at: dt.datetime
    type_code: str
    type_name: str
    title: str
    status: str
    organization_id: int | None
    organization: str
    contact_id: int | None
    contact: str
    decision_maker: str
    phone: str
    email: str
    last_result: str
    source: str
    virtual: bool = False  # a repeat of a series not stored yet
    overdue: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["starts_at"] = self.starts_at.isoformat(timespec="minutes")
        return data


@dataclass
class BlockView:
    block: Block
    items: list[DayItem] = field(default_factory=list)
    is_now: bool = False


@dataclass
class TaskItem:
    id: int
    title: str
    due_at: dt.datetime | None
    priority: str
    organization: str
    overdue: bool


@dataclass
class BirthdayItem:
    contact_id: int
    name: str
    organization: str
    age: int | None
    phone: str


@dataclass
class DayView:
    day: dt.date
    blocks: list[BlockView]
    outside: list[DayItem]  # planned at times no block covers
    overdue: list[DayItem]
    tasks: list[TaskItem]
    birthdays: list[BirthdayItem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "blocks": [{**b.block.to_dict(), "now": b.is_now,
                        "events": [i.to_dict() for i in b.items]} for b in self.blocks],
            "outside_blocks": [i.to_dict() for i in self.outside],
            "overdue": [i.to_dict() for i in self.overdue],
            "tasks": [{"id": t.id, "title": t.title, "priority": t.priority,
                       "due_at": t.due_at.isoformat(timespec="minutes") if t.due_at else None,
                       "organization": t.organization, "overdue": t.overdue}
                      for t in self.tasks],
            "birthdays": [{"contact_id": b.contact_id, "name": b.name, "age": b.age,
                           "organization": b.organization, "phone": b.phone}
                          for b in self.birthdays],
        }


@dataclass(frozen=True)
class Person:
    """Whom a call is with: that person's own phone and e-mail (the organization's general
    ones when the person has none), and the decision maker named apart when someone else."""

    contact_id: int | None
    name: str
    decision_maker: str
    phone: str
    email: str


def person_for(org: m.Organization | None, contact: m.Contact | None,
               decision_maker: m.Contact | None) -> Person:
    """The one pairing of a client's person with a phone and e-mail, used by Today, the call
    block, Plan tomorrow and the CLI: the event's contact if it has one, else the
    organization's decision maker; never one person's name with another's number."""
    person = contact or decision_maker
    name = lookups.contact_name(person.last_name, person.first_name, person.middle_name) \
        if person is not None else ""
    other = ""
    if decision_maker is not None and (person is None or decision_maker.id != person.id):
        other = lookups.contact_name(decision_maker.last_name, decision_maker.first_name,
                                     decision_maker.middle_name)
    phone = (person.primary_phone if person is not None else "") \
        or (org.primary_phone if org is not None else "")
    email = (person.primary_email if person is not None else "") \
        or (org.primary_email if org is not None else "")
    return Person(person.id if person is not None else None, name, other, phone, email)


def people_text(contact: str, decision_maker: str) -> str:
    """How a person and, apart, the decision maker read on a line ("Иванов Пётр · ЛПР: …")."""
    parts = [contact] if contact else []
    if decision_maker and decision_maker != contact:
        parts.append(_("decision maker: {name}").format(name=decision_maker))
    return " · ".join(parts)


def _client_details(actor: Actor, org_ids: set[int], contact_ids: set[int]
                    ) -> dict[str, dict]:
    """Names, decision makers, phones, sources and last results of the clients on a list
    that the actor sees, in a fixed number of queries."""
    org_ids = visibility.visible_subset(actor, "organizations", org_ids)
    contact_ids = visibility.visible_subset(actor, "contacts", contact_ids)
    o, c_ = m.Organization, m.Contact
    org_cols = (o.id, o.name, o.source, o.primary_phone, o.primary_email, o.next_contact_at)
    contact_cols = (c_.id, c_.last_name, c_.first_name, c_.middle_name, c_.is_decision_maker,
                    c_.organization, c_.source, c_.primary_phone, c_.primary_email,
                    c_.next_contact_at)
    orgs = {r.id: r for r in o.select(*org_cols).where(o.id.in_(org_ids))} if org_ids else {}
    contacts = {r.id: r for r in c_.select(*contact_cols).where(c_.id.in_(contact_ids))} \
        if contact_ids else {}
    dms: dict[int | None, m.Contact] = {}  # each organization's decision maker, if it has one
    if org_ids:
        for c in m.Contact.select(*contact_cols).where(
                m.Contact.organization.in_(org_ids) & m.Contact.deleted_at.is_null()
                & (m.Contact.is_decision_maker == True)).order_by(m.Contact.id):  # noqa: E712
            dms.setdefault(c.organization_id, c)
    sources = lookups.names("source", [o.source_id for o in orgs.values()]
                            + [c.source_id for c in contacts.values()])
    last: dict[tuple[str, int], str] = {}
    for column, ids, key in ((m.Event.organization, org_ids, "org"),
                             (m.Event.contact, contact_ids, "contact")):
        if not ids:
            continue
        latest = (m.Event.select(column.alias("rid"), fn.MAX(m.Event.starts_at).alias("at"))
                  .where(column.in_(ids) & (m.Event.status == "done")
                         & m.Event.result.is_null(False) & m.Event.deleted_at.is_null())
                  .group_by(column))
        pairs = {(r["rid"], r["at"]) for r in latest.dicts()}
        if not pairs:
            continue
        rows = (m.Event.select(column.alias("rid"), m.Event.starts_at, m.Event.result)
                .where(column.in_([p[0] for p in pairs]) & (m.Event.status == "done")
                       & m.Event.starts_at.in_([p[1] for p in pairs])))
        result_names = lookups.names("event_result", [r.result_id for r in rows])
        from tui_crm.text.dates import format_date

        for rid, starts_at, result_id in rows.tuples():
            if (rid, starts_at) in pairs:
                last[(key, rid)] = f"{result_names.get(result_id, '')} " \
                                   f"({format_date(starts_at.date())})"
    return {"orgs": orgs, "contacts": contacts, "dms": dms, "sources": sources, "last": last}


def _item(event: m.Event, when: dt.datetime, details: dict, types: dict[int, m.EventType],
          virtual: bool) -> DayItem:
    org = details["orgs"].get(event.organization_id)
    contact = details["contacts"].get(event.contact_id)
    if event.contact_id and contact is None:  # someone the user may not see: hide, not swap
        who = person_for(org, None, None)
    else:
        who = person_for(org, contact, details["dms"].get(event.organization_id))
    et = types.get(event.event_type_id) if event.event_type_id is not None else None
    source_id = (org.source_id if org else None) or (contact.source_id if contact else None)
    last = details["last"].get(("org", event.organization_id)) if org else \
        details["last"].get(("contact", event.contact_id), "")
    return DayItem(
        event_id=event.id, starts_at=when, type_code=et.code if et else "",
        type_name=lookups.event_type_name(et) if et else "", title=event.title,
        status=event.status if not virtual else "planned",
        organization_id=event.organization_id,
        organization=org.name if org else _hidden_if(event.organization_id),
        contact_id=who.contact_id or event.contact_id,
        contact=who.name or _hidden_if(event.contact_id),
        decision_maker=who.decision_maker, phone=who.phone, email=who.email,
        last_result=last or "",
        source=details["sources"].get(source_id, "") if source_id else "", virtual=virtual)


def _hidden_if(ref_id: int | None) -> str:
    """The name shown for a client the user may not see ("" when there is no client)."""
    return visibility.hidden_name() if ref_id else ""


def _whose(actor: Actor, user_id: int | None) -> int | None:
    """The user whose day is asked for, if the actor sees their records; else the actor's
    own (a manager with "own" visibility sees only their own day)."""
    user_id = user_id if user_id is not None else actor.user_id
    return user_id if visibility.sees_user(actor, user_id) else actor.user_id


def _items(actor: Actor, occ: list[events.Occurrence]) -> list[DayItem]:
    if not occ:
        return []
    rows = {e.id: e for e in m.Event.select().where(m.Event.id.in_({o.event_id for o in occ}))}
    details = _client_details(actor, {e.organization_id for e in rows.values() if e.organization_id},
                              {e.contact_id for e in rows.values() if e.contact_id})
    types = {t.id: t for t in m.EventType.select()}
    return [_item(rows[o.event_id], o.starts_at, details, types, o.virtual) for o in occ
            if o.event_id in rows]


DAY_LIST_LIMIT = 200  # overdue events and tasks due in a day view (the oldest first)


@read
def day_view(actor: Actor, day: dt.date, *, user_id: int | None = None,
             now: dt.datetime | None = None, limit: int = DAY_LIST_LIMIT) -> DayView:
    """The user's day: blocks with their events, overdue items, tasks due, birthdays
    (at most `limit` overdue events and `limit` tasks)."""
    actor.require("events", "view")
    user_id = _whose(actor, user_id)
    now = now or m.now()
    start = dt.datetime.combine(day, dt.time())
    end = start + dt.timedelta(days=1)
    blocks = [BlockView(b, is_now=(now.date() == day and b.contains(now.time())))
              for b in schedule_for(user_id, day)]
    outside: list[DayItem] = []
    for item in _items(actor, events.occurrences(user_id, start, end)):
        if item.status in ("cancelled",):
            continue
        target = next((b for b in blocks if b.block.contains(item.starts_at.time())), None)
        (target.items if target else outside).append(item)
    today_start = dt.datetime.combine(now.date(), dt.time())
    overdue_rows = (m.Event.select(m.Event.id, m.Event.starts_at).where(
        (m.Event.assignee == user_id) & (m.Event.status == "planned")
        & m.Event.deleted_at.is_null() & (m.Event.rrule == "")
        & (m.Event.starts_at < min(start, today_start))).order_by(m.Event.starts_at).limit(limit))
    overdue = _items(actor, [events.Occurrence(e.id, e.starts_at) for e in overdue_rows])
    for item in overdue:
        item.overdue = True
    due = list(m.Task.select().where(
        (m.Task.assignee == user_id) & m.Task.deleted_at.is_null()
        & m.Task.status.in_(["open", "in_progress"])
        & (m.Task.due_at < end)).order_by(m.Task.due_at).limit(limit))
    # One query for the clients' names (one per task made Today ~200 queries slower).
    org_names = lookups.names("organization", [t.organization_id for t in due], actor=actor)
    tasks = [TaskItem(t.id, t.title, t.due_at, t.priority, org_names.get(t.organization_id, ""),
                      bool(t.due_at and t.due_at < now)) for t in due]
    return DayView(day, blocks, outside, overdue, tasks, birthdays_on(actor, day, user_id))


def birthday_clause(day: dt.date):  # noqa: ANN201 - a peewee expression
    """Contacts whose birthday (month and day) falls on `day`, in SQL (29 February counts
    on 28 February in other years)."""
    from tui_crm.db.backend import backend

    month_day = backend().month_day(m.Contact.birthday)
    wanted = [day.strftime("%m-%d")]
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        wanted.append("02-29")
    return m.Contact.birthday.is_null(False) & month_day.in_(wanted)


def birthdays_on(actor: Actor, day: dt.date, user_id: int | None = None) -> list[BirthdayItem]:
    """Contacts (of the user, or everyone's for a head) whose birthday falls on `day`."""
    from tui_crm.text.dates import age

    query = (m.Contact.select(m.Contact.id, m.Contact.last_name, m.Contact.first_name,
                              m.Contact.middle_name, m.Contact.birthday,
                              m.Contact.organization, m.Contact.primary_phone)
             .where(m.Contact.deleted_at.is_null() & birthday_clause(day)))
    seen = visibility.clause(actor, "contacts")
    if seen is not None:
        query = query.where(seen)
    if user_id is not None:
        query = query.where(m.Contact.owner == user_id)
    rows = list(query)
    orgs = lookups.names("organization", (c.organization_id for c in rows), actor=actor)
    return [BirthdayItem(c.id, lookups.contact_name(c.last_name, c.first_name, c.middle_name),
                         orgs.get(c.organization_id, ""), age(c.birthday, day), c.primary_phone)
            for c in rows if c.birthday is not None]  # all have one: the query asks for it


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- planning tomorrow ------------------------------------------------------------------------

CANDIDATE_REASONS = {"followup": N_("follow-up due"), "vip": N_("VIP, no contact for 30 days"),
                     "birthday": N_("birthday"), "new_lead": N_("new lead, never called")}


@dataclass
class Candidate:
    organization_id: int | None
    contact_id: int | None
    title: str
    reason: str  # followup / vip / birthday / new_lead
    contact: str  # the person the call is with (their phone and e-mail below)
    decision_maker: str  # named only when someone else
    phone: str
    email: str
    last_result: str
    source: str
    next_contact_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["next_contact_at"] = self.next_contact_at.isoformat(timespec="minutes") \
            if self.next_contact_at else None
        data["reason_text"] = _(CANDIDATE_REASONS[self.reason])
        return data


def candidates(actor: Actor, day: dt.date, *, user_id: int | None = None, limit: int = 200,
               now: dt.datetime | None = None) -> list[Candidate]:
    """Who to call on `day`: warm clients whose next step is due, VIPs silent for 30 days,
    birthdays, and new leads never called — each once, in that order."""
    from tui_crm.services.planning import followups

    user_id = _whose(actor, user_id)
    end = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=1)
    already = {e.organization_id for e in m.Event.select(m.Event.organization).where(
        (m.Event.assignee == user_id) & (m.Event.status == "planned")
        & (m.Event.starts_at >= end - dt.timedelta(days=1)) & (m.Event.starts_at < end)
        & m.Event.deleted_at.is_null())}
    picked: list[tuple[int | None, int | None, str]] = []
    seen: set[tuple[str, int]] = set()

    def add(org_id: int | None, contact_id: int | None, reason: str) -> None:
        key = ("o", org_id) if org_id else ("c", contact_id)
        if key in seen or (org_id and org_id in already):
            return
        seen.add(key)  # type: ignore[arg-type]
        picked.append((org_id, contact_id, reason))

    for f in followups.queue(actor, user_id=user_id, now=now):
        if f.no_next_step or (f.next_contact_at is not None and f.next_contact_at < end):
            reason = "vip" if f.reason == "vip" else "followup"
            add(f.id if f.kind == "organizations" else None,
                f.id if f.kind == "contacts" else None, reason)
    for b in birthdays_on(actor, day, user_id):
        add(None, b.contact_id, "birthday")
    called = m.Event.select(m.Event.organization).where(m.Event.organization.is_null(False)
                                                         & (m.Event.status == "done"))
    for o in (m.Organization.select(m.Organization.id).where(
            (m.Organization.owner == user_id) & (m.Organization.status == "lead")
            & m.Organization.deleted_at.is_null() & m.Organization.last_contact_at.is_null()
            & m.Organization.next_contact_at.is_null() & ~(m.Organization.id.in_(called)))
            .order_by(m.Organization.created_at.desc()).limit(limit)):
        add(o.id, None, "new_lead")
    picked = picked[:limit]
    details = _client_details(actor, {o for o, _c, _r in picked if o},
                              {c for _o, c, _r in picked if c})
    result = []
    for org_id, contact_id, reason in picked:
        org = details["orgs"].get(org_id)
        contact = details["contacts"].get(contact_id)
        record = org or contact
        if record is None:
            continue  # not visible to the actor
        who = person_for(org, contact, details["dms"].get(org_id))
        title = org.name if org else lookups.contact_name(record.last_name, record.first_name,
                                                          record.middle_name)
        source_id = record.source_id
        result.append(Candidate(
            org_id, who.contact_id, title, reason, who.name, who.decision_maker,
            who.phone, who.email,
            details["last"].get(("org", org_id) if org else ("contact", contact_id), ""),
            details["sources"].get(source_id, "") if source_id else "",
            record.next_contact_at))
    return result


@write
def plan(actor: Actor, day: dt.date, picks: list[tuple[Candidate, str]],
         *, user_id: int | None = None) -> list[int]:
    """Turn picked candidates into planned calls in the chosen blocks (by block start),
    one slot after another from the block's first free time."""
    user_id = user_id if user_id is not None else actor.user_id
    call_type = m.EventType.get_or_none(m.EventType.code == "call")
    created = []
    times = slot_times(actor, day, [key for _c, key in picks], user_id=user_id)
    for (candidate, block_key), when in zip(picks, times, strict=True):
        if when is None:
            raise ValidationError({"block": _("The block {time} is full").format(time=block_key)})
        title = _("Birthday call") if candidate.reason == "birthday" else ""
        event_type = call_type.id if call_type else None
        view = records.create(actor, "events", {
            "event_type": event_type, "title": title, "starts_at": when,
            "ends_at": when + dt.timedelta(minutes=CALL_SLOT_MINUTES),
            "organization": candidate.organization_id, "contact": candidate.contact_id,
            "assignee": user_id,
        })
        contact_dates.refresh_contact_dates(candidate.organization_id, candidate.contact_id)
        created.append(view.id)
    return created


def slot_times(actor: Actor, day: dt.date, block_keys: list[str], *,
               user_id: int | None = None) -> list[dt.datetime | None]:
    """The times picks into these blocks (in this order) get when planned: one slot after
    another from each block's first free time; None where the block is full. Plan tomorrow
    shows them, and `plan` uses them, so the screen and the saved plan agree."""
    user_id = user_id if user_id is not None else actor.user_id
    blocks = {b.key: b for b in schedule_for(user_id, day)}
    taken: dict[str, set[dt.datetime]] = {}
    result: list[dt.datetime | None] = []
    for key in block_keys:
        block = blocks.get(key)
        if block is None:
            raise ValidationError({"block": _("No block starts at {time} on that day").format(
                time=key)})
        if key not in taken:
            taken[key] = _taken_slots(user_id, day, block)
        when = _next_free_slot(day, block, taken[key])
        if when is not None:
            taken[key].add(when)
        result.append(when)
    return result


def _taken_slots(user_id: int | None, day: dt.date, block: Block) -> set[dt.datetime]:
    start = dt.datetime.combine(day, block.start)
    end = dt.datetime.combine(day, block.end)
    return {e.starts_at for e in m.Event.select(m.Event.starts_at).where(
        (m.Event.assignee == user_id) & (m.Event.starts_at >= start) & (m.Event.starts_at < end)
        & m.Event.deleted_at.is_null() & (m.Event.status != "cancelled"))}


def _next_free_slot(day: dt.date, block: Block, taken: set[dt.datetime]) -> dt.datetime | None:
    t = dt.datetime.combine(day, block.start)
    end = dt.datetime.combine(day, block.end)
    while t < end:
        if t not in taken:
            return t
        t += dt.timedelta(minutes=CALL_SLOT_MINUTES)
    return None


def auto_plan(actor: Actor, day: dt.date, *, user_id: int | None = None,
              now: dt.datetime | None = None) -> list[int]:
    """Fill the day's call blocks with the best candidates, in order."""
    user_id = _whose(actor, user_id)
    free = free_slots(actor, day, user_id=user_id)
    capacity = sum(free.values())
    if not capacity:
        return []
    pool = candidates(actor, day, user_id=user_id, limit=capacity, now=now)
    picked = fill_picks({}, len(pool), free)
    return plan(actor, day, [(pool[i], key) for i, key in sorted(picked.items())],
                user_id=user_id)


def free_slots(actor: Actor, day: dt.date, *, user_id: int | None = None) -> dict[str, int]:
    """How many more calls each of the day's call blocks holds (by block start, in order)."""
    user_id = user_id if user_id is not None else actor.user_id
    free = {}
    for b in schedule_for(user_id, day):
        if b.kind == "calls":
            taken = _taken_slots(user_id, day, b)
            free[b.key] = sum(1 for i in range(b.minutes() // CALL_SLOT_MINUTES)
                              if dt.datetime.combine(day, b.start)
                              + dt.timedelta(minutes=i * CALL_SLOT_MINUTES) not in taken)
    return free


def fill_picks(picked: dict[int, str], count: int, free: dict[str, int]) -> dict[int, str]:
    """Fill the blocks' free slots with the candidates not yet picked, in order; the picks
    made by hand stay where they are and use up their blocks' slots first."""
    left = dict(free)
    for key in picked.values():
        left[key] = left.get(key, 0) - 1
    result = dict(picked)
    blocks = [key for key in left]
    for index in range(count):
        if index in result:
            continue
        block = next((k for k in blocks if left[k] > 0), None)
        if block is None:
            break
        result[index] = block
        left[block] -= 1
    return result


def export_plan(actor: Actor, day: dt.date, path: str, *, user_id: int | None = None) -> int:
    """The work journal for `day` as .xlsx (organization, contact, decision maker, phone, e-mail,
    last result, source) for the head of sales; returns the number of rows."""
    from openpyxl import Workbook

    server_files.check(actor, path)
    view = day_view(actor, day, user_id=user_id)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Work journal")[:31]
    headers = [_("Time"), _("Block"), _("Type"), _("Organization"), _("Contact"),
               _("Decision maker"), _("Phone"), _("E-mail"), _("Last result"), _("Source")]
    sheet.append(headers)
    rows = 0
    for block in view.blocks:
        for item in block.items:
            values = [item.starts_at.strftime("%H:%M"), block.block.label, item.type_name,
                      item.organization or item.contact,
                      item.contact if item.organization else "", item.decision_maker, item.phone,
                      item.email, item.last_result, item.source]
            sheet.append(values)
            for cell in sheet[sheet.max_row]:
                cell.data_type = "s"  # never a formula, whatever a name begins with
            rows += 1
    for column, width in zip("ABCDEFGHIJ", (7, 14, 10, 32, 26, 26, 18, 26, 26, 18),
                             strict=True):
        sheet.column_dimensions[column].width = width
    try:
        workbook.save(path)
    except OSError as exc:
        raise ValidationError({"output": _("Cannot write {path}: {reason}").format(
            path=path, reason=exc.strerror)}) from None
    audit.log_alone(actor, "export", "plan", None, details=f"{day.isoformat()} → {path}")
    return rows


# --- call-block mode --------------------------------------------------------------------------


@dataclass
class BlockRunView:
    day: dt.date
    block: Block
    items: list[DayItem]
    position: int
    calls_made: int
    decision_makers: int
    meetings_set: int
    minutes_left: int

    @property
    def current(self) -> DayItem | None:
        return self.items[self.position] if 0 <= self.position < len(self.items) else None

    @property
    def finished(self) -> bool:
        return self.position >= len(self.items)


def _block(user_id: int | None, day: dt.date, block_key: str) -> Block:
    for b in schedule_for(user_id, day):
        if b.key == block_key:
            return b
    raise NotFound(_("No block starts at {time} on that day").format(time=block_key))


def block_run(actor: Actor, day: dt.date, block_key: str, *, now: dt.datetime | None = None
              ) -> BlockRunView:
    """The state of a call block: its list, where the user stopped, and live counts
    (computed from the logged events, so they never drift)."""
    now = now or m.now()
    block = _block(actor.user_id, day, block_key)
    view = day_view(actor, day, now=now)
    items = next((b.items for b in view.blocks if b.block.key == block_key), [])
    run = CallBlockRun.get_or_none((CallBlockRun.user == actor.user_id) & (CallBlockRun.day == day)
                                   & (CallBlockRun.block_start == block_key))
    position = run.position if run else 0
    done = [i for i in items if i.status == "done"]
    done_ids = [i.event_id for i in done]
    dm = meetings = 0
    if done_ids:
        for e in m.Event.select(m.Event.result).where(m.Event.id.in_(done_ids)):
            r = m.EventResult.get_or_none(m.EventResult.id == e.result_id)
            if r is not None:
                dm += int(r.reached_decision_maker)
                meetings += int(r.code == "meeting_set")
    end = dt.datetime.combine(day, block.end)
    start = dt.datetime.combine(day, block.start)
    left = int((end - max(now, start)).total_seconds() // 60) if now < end else 0
    return BlockRunView(day, block, items, min(position, len(items)), len(done), dm, meetings,
                        max(0, left))


@write
def set_block_position(actor: Actor, day: dt.date, block_key: str, position: int) -> None:
    """Remember where the user is in a block (resume later)."""
    updated = CallBlockRun.update(position=position, updated_at=m.now()).where(
        (CallBlockRun.user == actor.user_id) & (CallBlockRun.day == day)
        & (CallBlockRun.block_start == block_key)).execute()
    if not updated:
        CallBlockRun.create(user=actor.user_id, day=day, block_start=block_key, position=position)


def log_in_block(actor: Actor, day: dt.date, block_key: str, item: DayItem, result: str, *,
                 note: str = "", next_when: str | dt.datetime | None = None,
                 next_type: str | None = None, now: dt.datetime | None = None
                 ) -> events.LogOutcome:
    """Log the current client's call and move the block on to the next client."""
    before = block_run(actor, day, block_key, now=now)
    index = next((i for i, it in enumerate(before.items) if it.event_id == item.event_id
                  and it.starts_at == item.starts_at), before.position)
    event_id = item.event_id
    if item.virtual:
        event_id = events.materialize(actor, item.event_id, item.starts_at)
    outcome = events.log_result(actor, event_id, result, note=note, next_when=next_when,
                                next_type=next_type, now=now)
    # Logged on another day than planned, the call moves to today and leaves this list:
    # the next client then takes its place.
    after = block_run(actor, day, block_key, now=now)
    stayed = any(it.event_id == event_id for it in after.items)
    set_block_position(actor, day, block_key, index + 1 if stayed else index)
    return outcome


def week(actor: Actor, start: dt.date, *, user_id: int | None = None) -> list[tuple[dt.date, int]]:
    """Planned-event counts for seven days from `start` (the week strip)."""
    user_id = _whose(actor, user_id)
    begin = dt.datetime.combine(start, dt.time())
    result = []
    occ = events.occurrences(user_id, begin, begin + dt.timedelta(days=7))
    for offset in range(7):
        day = start + dt.timedelta(days=offset)
        result.append((day, sum(1 for o in occ if o.starts_at.date() == day)))
    return result


__all__ = ["Block", "DayView", "day_view", "schedule_for", "set_schedule", "candidates", "plan",
           "auto_plan", "export_plan", "slot_times", "free_slots", "fill_picks", "person_for",
           "people_text", "block_run", "log_in_block", "week", "records"]
