"""Reports on the client base: the audit by category, contact sources, field visits (table
5.10), payments by month, upcoming birthdays and the follow-up base.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from peewee import fn

from tui_crm.db import models as m
from tui_crm.i18n import _
from tui_crm.services.analytics import client_values, money
from tui_crm.services.analytics.reports.common import (
    Chart,
    Column,
    Report,
    as_datetime,
    id_chunks,
    manager_scope,
    month_name,
    report_bounds,
    report_days,
    weekday_name,
)
from tui_crm.services.analytics.reports.meetings import events_of
from tui_crm.services.core import lookups, visibility
from tui_crm.services.core.kinds import CATEGORY_CHOICES, DEAL_STAGE_CHOICES, STATUS_CHOICES
from tui_crm.services.core.rights import Actor
from tui_crm.services.planning import followups
from tui_crm.text import dates

# --- the client base --------------------------------------------------------------------------


def _org_scope(actor: Actor, manager: str | int | None) -> list[int] | None:
    """Owner ids whose clients the report covers; None = everyone's."""
    if manager not in (None, ""):
        return [u.id for u in manager_scope(actor, manager)]
    if actor.sees_all:
        actor.require("reports", "view")
        return None
    return [u.id for u in manager_scope(actor, None)]


def _values_between(criterion: str, start: dt.date, end: dt.date) -> dict[int, Decimal]:
    """organization id → criterion value over [start, end] (dates)."""
    client_values.check_criterion(criterion)
    model: type[m.Payment | m.ServiceRendered]
    if criterion in ("payments", "count"):
        model = m.Payment
        agg = fn.SUM(model.amount) if criterion == "payments" else fn.COUNT(model.id)
    else:
        model = m.ServiceRendered
        agg = fn.SUM(model.amount) if criterion == "services" else \
            fn.SUM(m.ServiceRendered.units)
    query = (model.select(model.organization, agg).where(
        (model.date >= start) & (model.date <= end) & model.deleted_at.is_null()
        & model.organization.is_null(False)).group_by(model.organization))
    return {org_id: Decimal(str(v or 0)) for org_id, v in query.tuples()}


def categories_at(moment: dt.datetime) -> dict[int, str]:
    """Each organization's category as it was at `moment`, rebuilt from the audit trail
    (organizations created later or already deleted then are left out)."""
    org = m.Organization
    current_rows = list(org.select(org.id, org.category, org.created_at, org.deleted_at)
                        .tuples())
    later: dict[int, str] = {}
    log = m.AuditLog
    for record_id, old in log.select(log.record_id, log.old).where(
            (log.kind == "organizations") & (log.field == "category") & (log.action == "update")
            & (log.at > moment)).order_by(log.at.desc(), log.id.desc()).tuples():
        later[record_id] = old  # the earliest change after the moment wins (read last)
    out = {}
    for org_id, category, created_at, deleted_at in current_rows:
        if created_at is not None and as_datetime(created_at) > moment:
            continue
        if deleted_at is not None and as_datetime(deleted_at) <= moment:
            continue
        out[org_id] = later.get(org_id, category) or "none"
    return out


def client_audit(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None,
                 criterion: str = "payments") -> Report:
    """The client-base audit by category (table 5.9): clients and the criterion per category
    now, and the change since the previous period of the same length."""
    report_days(start, end)
    owners = _org_scope(actor, manager)
    length = (end - start).days + 1
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=length - 1)
    org = m.Organization
    # One pass over the organizations: the owners of the deleted ones are needed too (they
    # may have been clients at the start of the period).
    owner_of: dict[int, int | None] = {}
    now_cat: dict[int, str] = {}
    for i, c, o, deleted_at in org.select(org.id, org.category, org.owner,
                                          org.deleted_at).tuples():
        owner_of[i] = o
        if deleted_at is None and (owners is None or o in owners):
            now_cat[i] = c or "none"
    then_all = categories_at(dt.datetime.combine(start, dt.time()))
    then_cat = {i: c for i, c in then_all.items() if owners is None or owner_of.get(i) in owners}
    value_now = _values_between(criterion, start, end)
    value_then = _values_between(criterion, prev_start, prev_end)
    scale_kind = "money" if criterion in ("payments", "services") else (
        "int" if criterion == "count" else "decimal")
    total_clients = len(now_cat) or 1
    total_value = sum((value_now.get(i, Decimal(0)) for i in now_cat), Decimal(0))
    rows: list[dict[str, Any]] = []
    for code, label in CATEGORY_CHOICES.items():
        members = [i for i, c in now_cat.items() if c == code]
        before = [i for i, c in then_cat.items() if c == code]
        v_now = sum((value_now.get(i, Decimal(0)) for i in members), Decimal(0))
        v_then = sum((value_then.get(i, Decimal(0)) for i in before), Decimal(0))
        paying = sum(1 for i in members if value_now.get(i, 0) > 0)
        rows.append({
            "category": _(label), "_code": code, "clients": len(members),
            "clients_pct": round(100 * len(members) / total_clients, 1),
            "paying": paying, "value": _norm(v_now, criterion),
            "value_pct": round(float(100 * v_now / total_value), 1) if total_value else 0.0,
            "average": _norm(v_now / len(members), criterion) if members else None,
            "clients_before": len(before), "clients_change": len(members) - len(before),
            "value_before": _norm(v_then, criterion),
            "value_change": _norm(v_now - v_then, criterion)})
    totals = {"category": _("Total"), "clients": sum(r["clients"] for r in rows),
              "clients_pct": 100.0 if now_cat else 0.0,
              "paying": sum(r["paying"] for r in rows),
              "value": _norm(sum((Decimal(str(r["value"])) for r in rows), Decimal(0)),
                             criterion),
              "value_pct": 100.0 if total_value else 0.0,
              "clients_before": sum(r["clients_before"] for r in rows),
              "clients_change": sum(r["clients_change"] for r in rows),
              "value_before": _norm(sum((Decimal(str(r["value_before"])) for r in rows),
                                        Decimal(0)), criterion),
              "value_change": _norm(sum((Decimal(str(r["value_change"])) for r in rows),
                                        Decimal(0)), criterion)}
    what = _(client_values.CRITERIA.get(criterion, criterion))
    chart = Chart("bar", _("Clients and {what} by category").format(what=what.lower()),
                  [r["category"] for r in rows],
                  {_("Clients, %"): [r["clients_pct"] for r in rows],
                   _("{what}, %").format(what=what): [r["value_pct"] for r in rows]})
    return Report("audit", _("Client-base audit"), start, end, [
        Column("category", _("Category"), "text", 12), Column("clients", _("Clients"), "int", 8),
        Column("clients_pct", _("Clients, %"), "percent", 8),
        Column("paying", _("Paying in the period"), "int", 8),
        Column("value", what, scale_kind, 14),
        Column("value_pct", _("Share, %"), "percent", 8),
        Column("average", _("Average per client"), scale_kind, 14),
        Column("clients_before", _("Clients before"), "int", 8),
        Column("clients_change", _("Change"), "int", 8),
        Column("value_before", _("Previous period"), scale_kind, 14),
        Column("value_change", _("Change of value"), scale_kind, 14)], rows, totals,
        manager=str(manager or ""), chart=chart,
        notes=[_("Previous period: {start} – {end}").format(
            start=dates.format_date(prev_start), end=dates.format_date(prev_end))])


def _norm(value: Decimal, criterion: str) -> Decimal | int:
    if criterion == "count":
        return int(value)
    if criterion == "units":
        return value.quantize(Decimal("0.001"))
    return value.quantize(Decimal("0.01"))


def sources(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
            ) -> Report:
    """Contact sources: clients that came in the period by source, how many turned warm,
    became paying clients, were lost, and what they paid."""
    report_days(start, end)
    owners = _org_scope(actor, manager)
    since, until = report_bounds(start, end)
    org = m.Organization
    query = org.select(org.id, org.source, org.status).where(
        org.deleted_at.is_null() & (org.created_at >= since) & (org.created_at < until))
    if owners is not None:
        query = query.where(org.owner.in_(owners))
    rows_raw = list(query.tuples())
    paid: dict[int, Decimal] = {}
    ids = [r[0] for r in rows_raw]
    for chunk in id_chunks(ids):
        for org_id, total in m.Payment.select(m.Payment.organization, fn.SUM(m.Payment.amount))\
                .where(m.Payment.organization.in_(chunk) & m.Payment.deleted_at.is_null())\
                .group_by(m.Payment.organization).tuples():
            paid[org_id] = money.as_money(total)
    names: dict[int | None, str] = {s.id: lookups.seeded_name(s.name) for s in m.Source.select()}
    groups: dict[int | None, dict[str, Any]] = {}
    for org_id, source_id, status in rows_raw:
        g = groups.setdefault(source_id, {"leads": 0, "warm": 0, "paying": 0, "lost": 0,
                                          "paid": Decimal("0.00")})
        g["leads"] += 1
        g["warm"] += 1 if status == "warm" else 0
        g["lost"] += 1 if status == "lost" else 0
        if paid.get(org_id, 0) > 0:
            g["paying"] += 1
            g["paid"] += paid[org_id]
    rows = []
    for source_id, g in sorted(groups.items(), key=lambda kv: (-kv[1]["leads"],
                                                              names.get(kv[0], ""))):
        rows.append({"source": names.get(source_id, _("(no source)")), **g,
                     "conversion": round(100 * g["paying"] / g["leads"], 1),
                     "average": (g["paid"] / g["paying"]).quantize(Decimal("0.01"))
                     if g["paying"] else None})
    leads = sum(r["leads"] for r in rows)
    paying = sum(r["paying"] for r in rows)
    totals = {"source": _("Total"), "leads": leads, "warm": sum(r["warm"] for r in rows),
              "paying": paying, "lost": sum(r["lost"] for r in rows),
              "paid": sum((r["paid"] for r in rows), Decimal("0.00")),
              "conversion": round(100 * paying / leads, 1) if leads else 0.0}
    chart = Chart("bar", _("New clients and paying clients by source"),
                  [r["source"] for r in rows],
                  {_("New clients"): [float(r["leads"]) for r in rows],
                   _("Became paying"): [float(r["paying"]) for r in rows]})
    return Report("sources", _("Contact sources"), start, end, [
        Column("source", _("Source"), "text", 20), Column("leads", _("New clients"), "int", 8),
        Column("warm", _(STATUS_CHOICES["warm"]), "int", 8),
        Column("paying", _("Became paying"), "int", 8),
        Column("lost", _(STATUS_CHOICES["lost"]), "int", 8),
        Column("conversion", _("Conversion"), "percent", 8),
        Column("paid", _("Paid, sum"), "money", 14),
        Column("average", _("Average per paying client"), "money", 14)], rows, totals,
        manager=str(manager or ""), chart=chart)


def visits(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
           ) -> Report:
    """The field representative's daily report (table 5.10): outlets visited per day with the
    result of each visit, from done events of type "visit"."""
    users, events = events_of(actor, start, end, manager, "visit_types", ("done", "missed"))
    # The outlets the actor sees (a visit on another manager's client is not named).
    seen = visibility.visible_subset(actor, "organizations",
                                     (e.organization_id for e in events))
    org_rows: dict[int | None, m.Organization] = {o.id: o for o in m.Organization.select(
        m.Organization.id, m.Organization.name, m.Organization.address, m.Organization.city)
        .where(m.Organization.id.in_(sorted(seen)))} if seen else {}
    reps = lookups.names("user", (e.assignee_id for e in events))
    results: dict[int | None, m.EventResult] = {r.id: r for r in m.EventResult.select()}
    rows = []
    per_day: dict[tuple[int | None, dt.date], list[dict[str, Any]]] = {}
    for e in events:
        o = org_rows.get(e.organization_id)
        r = results.get(e.result_id)
        row: dict[str, Any] = {
            "date": e.starts_at.date(), "representative": reps.get(e.assignee_id, ""),
            "time": e.starts_at.strftime("%H:%M"),
            "outlet": o.name if o else (visibility.hidden_name() if e.organization_id
                                         else e.title),
            "address": ", ".join(p for p in ((o.city, o.address) if o else ()) if p),
            "result": lookups.event_result_name(r) if r else (
                _("Missed") if e.status == "missed" else ""),
            "order": bool(r and r.productive), "note": e.result_note,
            "_event_id": e.id}
        rows.append(row)
        per_day.setdefault((e.assignee_id, row["date"]), []).append(row)
    totals = {"date": None, "representative": _("Total"), "time": "",
              "outlet": str(len(rows)), "order": sum(1 for r in rows if r["order"])}
    by_rep: dict[str, int] = {}
    for shown in rows:
        by_rep[shown["representative"]] = by_rep.get(shown["representative"], 0) + 1
    chart = Chart("bar", _("Visits per representative"), list(by_rep),
                  {_("Visits"): [float(v) for v in by_rep.values()]}) if by_rep else None
    return Report("visits", _("Field visits"), start, end, [
        Column("date", _("Date"), "date", 10),
        Column("representative", _("Representative"), "text", 16),
        Column("time", _("Time"), "text", 5), Column("outlet", _("Outlet"), "text", 24),
        Column("address", _("Address"), "text", 24), Column("result", _("Result"), "text", 18),
        Column("order", _("Order"), "bool", 5), Column("note", _("Note"), "text", 24)],
        rows, totals, manager=users[0].login if manager else "", chart=chart,
        notes=[_("{days} days, {n} visits").format(days=len({d for _u, d in per_day}),
                                                  n=len(rows))])


def payments_by_month(actor: Actor, start: dt.date, end: dt.date,
                      manager: str | int | None = None) -> Report:
    """Payments and services rendered by month, with the number of paying clients."""
    report_days(start, end)
    owners = _org_scope(actor, manager)
    org = m.Organization
    out: dict[str, dict[str, Any]] = {}
    day = start.replace(day=1)
    while day <= end:
        out[f"{day.year:04d}-{day.month:02d}"] = {
            "month": month_name(day), "payments": Decimal("0.00"), "count": 0, "clients": 0,
            "services": Decimal("0.00")}
        day = (day + dt.timedelta(days=32)).replace(day=1)
    for model, key in ((m.Payment, "payments"), (m.ServiceRendered, "services")):
        query = (model.select(model.organization, model.date, model.amount)
                 .where((model.date >= start) & (model.date <= end)
                        & model.deleted_at.is_null()))
        if owners is not None:
            query = query.join(org, on=(model.organization == org.id)).where(
                org.owner.in_(owners))
        clients: dict[str, set[int]] = {}
        for org_id, on_day, amount in query.tuples():
            d = money.as_date(on_day)
            month = f"{d.year:04d}-{d.month:02d}"
            row = out[month]
            row[key] += money.as_money(amount)
            if key == "payments":
                row["count"] += 1
                clients.setdefault(month, set()).add(org_id)
        for month, ids in clients.items():
            out[month]["clients"] = len(ids)
    rows = list(out.values())
    totals = {"month": _("Total"), "payments": sum((r["payments"] for r in rows),
                                                   Decimal("0.00")),
              "count": sum(r["count"] for r in rows),
              "services": sum((r["services"] for r in rows), Decimal("0.00"))}
    chart = Chart("bar", _("Payments by month"), [r["month"][:3] + r["month"][-2:]
                                                 for r in rows],
                  {_("Payments, sum"): [float(r["payments"]) for r in rows]})
    return Report("payments", _("Payments by month"), start, end, [
        Column("month", _("Month"), "text", 14), Column("payments", _("Payments, sum"), "money",
                                                        14),
        Column("count", _("Payments"), "int", 8), Column("clients", _("Paying clients"), "int", 8),
        Column("services", _("Services rendered, sum"), "money", 14)], rows, totals,
        manager=str(manager or ""), chart=chart)


def birthdays(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
              ) -> Report:
    """Contacts whose birthday falls in the period (29 February counts on 28 February in
    other years), with the age they turn."""
    days = report_days(start, end)
    owners = _org_scope(actor, manager)
    wanted: dict[tuple[int, int], list[dt.date]] = {}
    for d in days:
        wanted.setdefault((d.month, d.day), []).append(d)
        if d.month == 2 and d.day == 28 and not calendar.isleap(d.year):
            wanted.setdefault((2, 29), []).append(d)
    c = m.Contact
    query = c.select().where(c.deleted_at.is_null() & c.birthday.is_null(False))
    if owners is not None:
        query = query.where(c.owner.in_(owners))
    found = []
    for person in query:
        bday = money.as_date(person.birthday)
        for on_day in wanted.get((bday.month, bday.day), []):
            found.append((on_day, person))
    orgs = lookups.names("organization", (p.organization_id for _d, p in found), actor=actor)
    owners_names = lookups.names("user", (p.owner_id for _d, p in found))
    rows = []
    for on_day, p in sorted(found, key=lambda x: (x[0], x[1].last_name, x[1].id)):
        rows.append({"date": on_day, "weekday": weekday_name(on_day),
                     "name": lookups.contact_name(p.last_name, p.first_name, p.middle_name),
                     "organization": orgs.get(p.organization_id, ""),
                     "age": on_day.year - money.as_date(p.birthday).year
                     if dates.has_year(money.as_date(p.birthday)) else None,
                     "phone": p.primary_phone, "owner": owners_names.get(p.owner_id, ""),
                     "_contact_id": p.id})
    return Report("birthdays", _("Birthdays"), start, end, [
        Column("date", _("Date"), "date", 10), Column("weekday", _("Day"), "text", 4),
        Column("name", _("Name"), "text", 26), Column("organization", _("Organization"), "text",
                                                      22),
        Column("age", _("Turns"), "int", 5), Column("phone", _("Phone"), "text", 18),
        Column("owner", _("Owner"), "text", 14)], rows,
        {"date": None, "name": _("Total"), "organization": str(len(rows))},
        manager=str(manager or ""))


def followup_base(actor: Actor, start: dt.date, end: dt.date,
                  manager: str | int | None = None, now: dt.datetime | None = None) -> Report:
    """The warm-client base (table 5.6): everyone to follow up, with the next step; the period
    marks which next steps fall in it."""
    users = manager_scope(actor, manager)
    user_id = users[0].id if manager not in (None, "") else None
    items = followups.queue(actor, user_id=user_id, now=now)
    rows = []
    for f in items:
        in_period = f.next_contact_at is not None and start <= f.next_contact_at.date() <= end
        rows.append({"organization": f.title, "reason": _(followups.REASONS[f.reason]),
                     "stage": _(DEAL_STAGE_CHOICES[f.stage]) if f.stage else "",
                     "last_contact": f.last_contact_at, "next_contact": f.next_contact_at,
                     "overdue": f.overdue, "no_next_step": f.no_next_step,
                     "in_period": in_period, "phone": f.phone, "owner": f.owner,
                     "_org_id": f.id})
    totals = {"organization": _("Total"), "reason": str(len(rows)),
              "overdue": sum(1 for r in rows if r["overdue"]),
              "no_next_step": sum(1 for r in rows if r["no_next_step"]),
              "in_period": sum(1 for r in rows if r["in_period"])}
    return Report("followups", _("Follow-up base"), start, end, [
        Column("organization", _("Organization"), "text", 24),
        Column("reason", _("Why"), "text", 18), Column("stage", _("Stage"), "text", 12),
        Column("last_contact", _("Last contact"), "datetime", 16),
        Column("next_contact", _("Next step"), "datetime", 16),
        Column("overdue", _("Overdue"), "bool", 5),
        Column("no_next_step", _("No next step"), "bool", 5),
        Column("in_period", _("Due in the period"), "bool", 5),
        Column("phone", _("Phone"), "text", 18), Column("owner", _("Owner"), "text", 14)],
        rows, totals, manager=str(manager or ""))


