"""The follow-up queue ("база по дожиму"): warm clients who got a proposal or a meeting but
have not bought, ordered by next contact — no next step first, then overdue, today, later —
plus VIPs nobody has contacted for 30 days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import SQL, Case, fn

from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import read, write
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import audit, contact_dates, events, lookups, records, visibility
from tui_crm.services.core.rights import Actor

WARM_STAGES = ("proposal", "negotiation", "invoice")
VIP_SILENCE_DAYS = 30
REASONS = {"deal": N_("open deal"), "meeting": N_("meeting without a sale"),
           "warm": N_("warm client"), "vip": N_("VIP, no contact for 30 days")}


@dataclass
class FollowUp:
    kind: str  # organizations / contacts
    id: int
    title: str
    reason: str
    next_contact_at: dt.datetime | None
    last_contact_at: dt.datetime | None
    overdue: bool
    no_next_step: bool
    owner: str
    phone: str
    stage: str

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.kind, "id": self.id, "title": self.title, "reason": self.reason,
                "next_contact_at": self.next_contact_at.isoformat(timespec="minutes")
                if self.next_contact_at else None,
                "last_contact_at": self.last_contact_at.isoformat(timespec="minutes")
                if self.last_contact_at else None,
                "overdue": self.overdue, "no_next_step": self.no_next_step,
                "owner": self.owner, "phone": self.phone, "stage": self.stage}


def _members(actor: Actor, user_id: int | None, now: dt.datetime):  # noqa: ANN202 - a clause
    """What puts an organization into the queue, as a condition on its own row: the counts of
    held meetings and warm deals are kept on the row by triggers (migration 7)."""
    actor.require("organizations", "view")
    if not actor.sees_all and (user_id is None or not visibility.sees_user(actor, user_id)):
        user_id = actor.user_id  # one's own queue, or a colleague's one may see
    org = m.Organization
    alive = org.deleted_at.is_null() & (org.status != "lost")
    if user_id is not None:
        alive &= org.owner == user_id
    warm_clause = ((org.status == "warm") | (SQL("followup_deals") > 0)
                   | ((SQL("followup_meetings") > 0) & (org.status != "client")))
    silence = now - dt.timedelta(days=VIP_SILENCE_DAYS)
    vip_clause = (org.category == "vip") & (org.last_contact_at.is_null()
                                            | (org.last_contact_at < silence))
    return alive & (warm_clause | vip_clause)


def _page(members: Any, limit: int | None) -> list[int]:
    """The ids of the queue's first `limit` (all when None), in its order: no next step
    first (never contacted first, then the longest silence), then by next contact — which
    puts overdue before today before later. Two ordered reads instead of one sort of the
    whole queue: the head of a big base has tens of thousands in it (44k on the benchmark
    base: 53 → 16 ms), and each read here walks an index in its order and stops at the
    page's end."""
    org = m.Organization
    no_step = (org.select(org.id).where(members & org.next_contact_at.is_null())
               .order_by(org.last_contact_at.asc(nulls="FIRST"), org.id))
    if limit:
        no_step = no_step.limit(limit)
    ids = [i for (i,) in no_step.tuples()]
    if limit and len(ids) >= limit:
        return ids
    planned = (org.select(org.id).where(members & org.next_contact_at.is_null(False))
               .order_by(org.next_contact_at, org.id))
    if limit:
        planned = planned.limit(limit - len(ids))
    return ids + [i for (i,) in planned.tuples()]


@read
def queue(actor: Actor, *, user_id: int | None = None, now: dt.datetime | None = None,
          limit: int | None = None) -> list[FollowUp]:
    """The queue in its order (the first `limit` of it). `user_id` narrows it to one
    manager's clients (a manager with "own" visibility always sees only their own)."""
    now = now or m.now()
    org = m.Organization
    ids = _page(_members(actor, user_id, now), limit)
    # Only the page's rows are read whole.
    found = {r.id: r for r in org.select(
        org.id, org.name, org.status, org.category, org.owner, org.primary_phone,
        org.next_contact_at, org.last_contact_at, SQL("followup_meetings").alias("meetings"))
        .where(backend().ids_in(org.id, ids))}
    rows = [found[i] for i in ids if i in found]
    ids = [r.id for r in rows]
    deal_stage: dict[int | None, str] = {}
    if ids:
        for d in m.Deal.select(m.Deal.organization, m.Deal.stage).where(
                m.Deal.organization.in_(ids) & m.Deal.stage.in_(WARM_STAGES)
                & m.Deal.deleted_at.is_null()):
            deal_stage.setdefault(d.organization_id, d.stage)
    owners = lookups.names("user", (r.owner_id for r in rows))
    today_start = dt.datetime.combine(now.date(), dt.time())
    items = []
    for r in rows:
        if r.status == "warm":
            reason = "warm"
        elif r.id in deal_stage:
            reason = "deal"
        elif r.meetings and r.status != "client":  # type: ignore[attr-defined]  # the aliased column
            reason = "meeting"
        else:
            reason = "vip"
        nxt = r.next_contact_at
        items.append(FollowUp(
            "organizations", r.id, r.name, reason, nxt, r.last_contact_at,
            overdue=nxt is not None and nxt < today_start, no_next_step=nxt is None,
            owner=owners.get(r.owner_id, ""), phone=r.primary_phone,
            stage=deal_stage.get(r.id, "")))
    return items


def counts(actor: Actor, *, user_id: int | None = None, now: dt.datetime | None = None
           ) -> dict[str, int]:
    """How many are in the queue, how many have no next step, how many are overdue."""
    now = now or m.now()
    org = m.Organization
    today_start = dt.datetime.combine(now.date(), dt.time())
    total, flagged, overdue = (org.select(
        fn.COUNT(org.id),
        fn.SUM(Case(None, [(org.next_contact_at.is_null(), 1)], 0)),
        fn.SUM(Case(None, [(org.next_contact_at < today_start, 1)], 0)))
        .where(_members(actor, user_id, now)).tuples().get())
    return {"total": total or 0, "no_next_step": int(flagged or 0),
            "overdue": int(overdue or 0)}


@write
def snooze(actor: Actor, kind: str, record_id: int, until: str | dt.datetime, reason: str,
           now: dt.datetime | None = None) -> dt.datetime:
    """Put off the next contact with a client; the reason goes into the client's history."""
    if kind not in ("organizations", "contacts"):
        raise ValidationError({"section": _("Only clients can be snoozed")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say briefly why it moves")})
    view = records.get(actor, kind, record_id)
    try:
        when = events.parse_when(until, now)
    except ValueError as exc:
        raise ValidationError({"until": str(exc)}) from None
    if when is None:
        raise ValidationError({"until": _("Required")})
    column = m.Event.organization if kind == "organizations" else m.Event.contact
    nxt = (m.Event.select().where((column == record_id) & (m.Event.status == "planned")
                                  & m.Event.deleted_at.is_null())
           .order_by(m.Event.starts_at).first())
    if nxt is not None:
        events.reschedule(actor, nxt.id, when, reason, now=now)
    else:
        call = m.EventType.get_or_none(m.EventType.code == "call")
        created = records.create(actor, "events", {
            "event_type": call.id if call else None, "starts_at": when,
            kind[:-1] if kind == "contacts" else "organization": record_id,
            "assignee": view.values.get("owner") or actor.user_id,
            "title": _("Follow-up call"),
        })
        audit.log(actor, "snooze", kind, record_id, details=reason.strip())
        audit.log(actor, "snooze", "events", created.id, details=reason.strip())
        contact_dates.refresh_contact_dates(record_id if kind == "organizations" else None,
                                     record_id if kind == "contacts" else None)
    return when


def get(actor: Actor, record_id: int) -> FollowUp:
    for f in queue(actor):
        if f.id == record_id:
            return f
    raise NotFound(_("Organization #{id} is not in the follow-up queue.").format(id=record_id))
