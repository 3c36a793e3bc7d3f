"""Manager activity per day, the manager and the sales-department reports; the rules that say
which events count as what. Activity is counted from logged events, deal stage moves (the
audit trail) and payments — never typed in — except lateness and "work journal sent"
(`journal`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from peewee import fn

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.report_models import DayJournal
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import N_, _, get_language
from tui_crm.services.analytics import money
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
from tui_crm.services.core import audit, lookups
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates

# The activity figures, in the seed's order (table 5.2).
ACTIVITY_METRICS = {
    "cold_calls": N_("Cold calls"),
    "decision_makers": N_("Decision makers reached"),
    "proposals": N_("Proposals sent"),
    "repeat_calls": N_("Repeat calls"),
    "productive_calls": N_("Productive calls"),
    "meetings_set": N_("Meetings set"),
    "meetings_held": N_("Meetings held"),
    "invoices": N_("Invoices issued"),
    "payments": N_("Payments, sum"),
    "lateness": N_("Lateness, min"),
    "journal_sent": N_("Journal sent"),
}
_COUNTS = ("cold_calls", "decision_makers", "proposals", "repeat_calls", "productive_calls",
           "meetings_set", "meetings_held", "invoices")

# Which event types and results count as what (an admin can change them; codes as seeded).
ACTIVITY_RULES: dict[str, list[str]] = {
    # Done events of these types are calls: the first with a client is a cold call, later
    # ones are repeat calls.
    "call_types": ["call"],
    # A result flagged "reached the decision maker" on these types.
    "decision_maker_types": ["call", "meeting", "visit"],
    # Done events of these types are proposals sent (so are deals moved to "proposal").
    "proposal_types": ["proposal"],
    # A result flagged "productive" on these types.
    "productive_types": ["call"],
    # Results (codes, any type) that set a meeting.
    "meeting_set_results": ["meeting_set"],
    # Done events of these types are meetings held, unless their result is one of
    # "meeting_not_held_results".
    "meeting_types": ["meeting"],
    "meeting_not_held_results": ["postponed", "cancelled"],
    # Done events of these types are field visits (the representative's daily report).
    "visit_types": ["visit"],
}
RULES_KEY = "activity_rules"

# --- the activity rules (a setting) ----------------------------------------------------------


def activity_rules() -> dict[str, list[str]]:
    """The counting rules: the defaults with an admin's changes over them."""
    rules = {k: list(v) for k, v in ACTIVITY_RULES.items()}
    row = m.Setting.get_or_none(m.Setting.key == RULES_KEY)
    if row is not None:
        try:
            stored = json.loads(row.value)
        except ValueError:
            stored = {}
        if isinstance(stored, dict):
            for key, value in stored.items():
                if key in rules and isinstance(value, list):
                    rules[key] = [str(v) for v in value]
    return rules


@write
def set_activity_rules(actor: Actor, changes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Change which event types / result codes count as what (admin only)."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can change how activity is counted."))
    errors = {key: _("Unknown rule") for key in changes if key not in ACTIVITY_RULES}
    type_codes = {t.code for t in m.EventType.select(m.EventType.code)}
    result_codes = {r.code for r in m.EventResult.select(m.EventResult.code)}
    for key, codes in changes.items():
        if key in errors:
            continue
        known = result_codes if key.endswith("_results") else type_codes
        unknown = [c for c in codes if c not in known]
        if unknown:
            errors[key] = _("Unknown codes: {codes}").format(codes=", ".join(unknown))
    if errors:
        raise ValidationError(errors)
    rules = activity_rules()
    rules.update({k: list(v) for k, v in changes.items()})
    stored = {k: v for k, v in rules.items() if v != ACTIVITY_RULES[k]}
    row = m.Setting.get_or_none(m.Setting.key == RULES_KEY)
    text = json.dumps(stored, ensure_ascii=False)
    if row is None:
        m.Setting.create(key=RULES_KEY, value=text)
    else:
        m.Setting.update(value=text).where(m.Setting.key == RULES_KEY).execute()
    audit.log(actor, "update", "settings", None, {RULES_KEY: ("", text)})
    return rules


# --- activity ---------------------------------------------------------------------------------


def _empty() -> dict[str, Any]:
    row: dict[str, Any] = {k: 0 for k in _COUNTS}
    row.update(payments=Decimal("0.00"), lateness=0, journal_sent=False)
    return row


def activity_counts(user_ids: list[int], start: dt.date, end: dt.date
                    ) -> dict[tuple[int, dt.date], dict[str, Any]]:
    """(user id, day) → the activity figures, from events, stage moves, payments and the
    hand-entered day journal. Only (user, day) pairs with something in them appear."""
    tally = _Tally(user_ids, start, end)
    tally.events()
    tally.deal_moves()
    tally.proposals_counted()
    tally.payments()
    tally.journal()
    return tally.out


class _Tally:
    """The figures of `activity_counts`, source by source."""

    def __init__(self, user_ids: list[int], start: dt.date, end: dt.date) -> None:
        self.user_ids, self.start, self.end = user_ids, start, end
        self.rules = activity_rules()
        self.since, self.until = report_bounds(start, end)
        self.out: dict[tuple[int, dt.date], dict[str, Any]] = {}
        # (user, day) → the clients (or events, deals) a proposal went to: one per client.
        self.proposals: dict[tuple[int, dt.date], set] = {}

    def bucket(self, user_id: int, day: dt.date) -> dict[str, Any]:
        key = (user_id, day)
        if key not in self.out:
            self.out[key] = _empty()
        return self.out[key]

    def _first_calls(self, done: list[tuple], call_ids: list[int]
                     ) -> dict[tuple[str, int], tuple[dt.datetime, int]]:
        """Each client's first done call ever (its time and id): that one is a cold call,
        later ones are repeat calls."""
        ev = m.Event
        first_call: dict[tuple[str, int], tuple[dt.datetime, int]] = {}
        for column, tag in ((ev.organization, "o"), (ev.contact, "c")):
            wanted = sorted({(r[3] if tag == "o" else r[4]) for r in done
                             if r[1] in call_ids and (r[3] if tag == "o" else r[4])
                             and (tag == "o" or not r[3])})
            for chunk in id_chunks(wanted):
                for client_id, starts_at, event_id in ev.select(
                        column, ev.starts_at, ev.id).where(
                        column.in_(chunk) & (ev.status == "done") & ev.deleted_at.is_null()
                        & ev.event_type.in_(call_ids)).tuples():
                    key = (tag, client_id)
                    stamp = (as_datetime(starts_at), event_id)
                    if key not in first_call or stamp < first_call[key]:
                        first_call[key] = stamp
        return first_call

    def events(self) -> None:
        """Calls (cold / repeat), decision makers reached, productive calls, meetings set
        and held, proposals by event."""
        rules = self.rules
        types = {t.id: t.code for t in m.EventType.select(m.EventType.id, m.EventType.code)}
        results = {r.id: r for r in m.EventResult.select()}
        call_ids = [i for i, c in types.items() if c in rules["call_types"]]
        ev = m.Event
        done = list(ev.select(ev.id, ev.event_type, ev.starts_at, ev.organization, ev.contact,
                              ev.assignee, ev.result).where(
            (ev.status == "done") & ev.deleted_at.is_null() & (ev.starts_at >= self.since)
            & (ev.starts_at < self.until) & ev.assignee.in_(self.user_ids)).tuples())
        first_call = self._first_calls(done, call_ids)
        for event_id, type_id, starts_at, org_id, contact_id, user_id, result_id in done:
            code = types.get(type_id, "")
            result = results.get(result_id)
            day = as_datetime(starts_at).date()
            row = self.bucket(user_id, day)
            if code in rules["call_types"]:
                client = ("o", org_id) if org_id else (("c", contact_id) if contact_id
                                                       else None)
                first = first_call.get(client) if client else None
                if first is None or first[1] == event_id:
                    row["cold_calls"] += 1
                else:
                    row["repeat_calls"] += 1
            if result is not None:
                if code in rules["decision_maker_types"] and result.reached_decision_maker:
                    row["decision_makers"] += 1
                if code in rules["productive_types"] and result.productive:
                    row["productive_calls"] += 1
                if result.code in rules["meeting_set_results"]:
                    row["meetings_set"] += 1
            if code in rules["meeting_types"] and not (
                    result is not None and result.code in rules["meeting_not_held_results"]):
                row["meetings_held"] += 1
            if code in rules["proposal_types"]:
                self.proposals.setdefault((user_id, day), set()).add(
                    ("o", org_id) if org_id else ("e", event_id))

    def deal_moves(self) -> None:
        """Deal stage moves (audit trail): to "proposal" = a proposal sent, to "invoice" = an
        invoice issued; a deal created straight at "invoice issued" counts on its creation
        day."""
        moves = money.stage_moves(self.since, self.until, user_ids=self.user_ids)
        deal_orgs: dict[int, int | None] = {}
        for chunk in id_chunks(sorted({mv.deal_id for mv in moves})):
            deal_orgs.update(m.Deal.select(m.Deal.id, m.Deal.organization).where(
                m.Deal.id.in_(chunk)).tuples())
        for mv in moves:
            day = as_datetime(mv.at).date()
            if mv.user_id is None:
                continue
            if mv.new == "proposal":
                org_id = deal_orgs.get(mv.deal_id)
                self.bucket(mv.user_id, day)
                self.proposals.setdefault((mv.user_id, day), set()).add(
                    ("o", org_id) if org_id else ("d", mv.deal_id))
            elif mv.new == "invoice":
                self.bucket(mv.user_id, day)["invoices"] += 1
        log = m.AuditLog
        created = list(log.select(log.record_id, log.at, log.user).where(
            (log.kind == "deals") & (log.action == "create") & (log.at >= self.since)
            & (log.at < self.until) & log.user.in_(self.user_ids)).tuples())
        if not created:
            return
        first_stage: dict[int, str] = {}
        for chunk in id_chunks([r[0] for r in created]):
            for deal_id, old in log.select(log.record_id, log.old).where(
                    (log.kind == "deals") & (log.field == "stage") & (log.action == "update")
                    & log.record_id.in_(chunk)).order_by(log.id).tuples():
                first_stage.setdefault(deal_id, old)
            for deal_id, stage in m.Deal.select(m.Deal.id, m.Deal.stage).where(
                    m.Deal.id.in_(chunk)).tuples():
                first_stage.setdefault(deal_id, stage)
        for deal_id, at, creator in created:
            if first_stage.get(deal_id) == "invoice":
                self.bucket(creator, as_datetime(at).date())["invoices"] += 1

    def proposals_counted(self) -> None:
        for (proposer, day), clients in self.proposals.items():
            self.bucket(proposer, day)["proposals"] += len(clients)

    def payments(self) -> None:
        """Payments: by the client's responsible manager, on the payment's date."""
        pay, org = m.Payment, m.Organization
        for owner_id, day, total in (pay.select(org.owner, pay.date, fn.SUM(pay.amount))
                                     .join(org, on=(pay.organization == org.id))
                                     .where((pay.date >= self.start) & (pay.date <= self.end)
                                            & pay.deleted_at.is_null()
                                            & org.owner.in_(self.user_ids))
                                     .group_by(org.owner, pay.date).tuples()):
            self.bucket(owner_id, money.as_date(day))["payments"] += money.as_money(total)

    def journal(self) -> None:
        """Entered by hand; "journal sent" is also true when the plan was exported that
        day."""
        for entry in DayJournal.select().where(
                (DayJournal.day >= self.start) & (DayJournal.day <= self.end)
                & DayJournal.user.in_(self.user_ids)):
            row = self.bucket(entry.user_id, money.as_date(entry.day))
            row["lateness"] = entry.lateness_minutes
            row["journal_sent"] = row["journal_sent"] or entry.journal_sent
        log = m.AuditLog
        for user_id, at in log.select(log.user, log.at).where(
                (log.action == "export") & (log.kind == "plan") & (log.at >= self.since)
                & (log.at < self.until) & log.user.in_(self.user_ids)).tuples():
            self.bucket(user_id, as_datetime(at).date())["journal_sent"] = True


def _metric_columns(include_journal: bool = True) -> list[Column]:
    cols = []
    for key, label in ACTIVITY_METRICS.items():
        if not include_journal and key in ("lateness", "journal_sent"):
            continue
        kind = "money" if key == "payments" else "bool" if key == "journal_sent" else "int"
        cols.append(Column(key, _(label), kind, 14 if key == "payments" else 8))
    return cols


def _sum_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    total = _empty()
    total["journal_sent"] = 0
    for row in rows:
        for key in _COUNTS:
            total[key] += row.get(key, 0)
        total["payments"] += row.get("payments", Decimal("0.00"))
        total["lateness"] += row.get("lateness", 0)
        total["journal_sent"] += 1 if row.get("journal_sent") else 0
    return total


def activity(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
             ) -> Report:
    """The seed's activity report (table 5.2): per manager per day with anything logged."""
    report_days(start, end)
    users = manager_scope(actor, manager)
    counts = activity_counts([u.id for u in users], start, end)
    by_id = {u.id: u for u in users}
    rows = []
    for (user_id, day), figures in sorted(counts.items(), key=lambda kv: (
            kv[0][1], lookups.user_name(by_id[kv[0][0]]))):
        row: dict[str, Any] = {"date": day, "weekday": weekday_name(day),
                               "manager": lookups.user_name(by_id[user_id]),
               "_user_id": user_id}
        row.update(figures)
        rows.append(row)
    by_user: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_user.setdefault(row["_user_id"], []).append(row)
    active = [u for u in users if u.id in by_user]
    per_manager = {u.id: _sum_rows(by_user[u.id]) for u in active}
    chart = Chart("bar", _("Calls and meetings per manager"),
                  [lookups.user_name(u) for u in active], {
                      _("Calls"): [float(per_manager[u.id]["cold_calls"]
                                         + per_manager[u.id]["repeat_calls"]) for u in active],
                      _("Meetings held"): [float(per_manager[u.id]["meetings_held"])
                                           for u in active]})
    totals = _sum_rows(rows)
    totals.update(date=None, weekday="", manager=_("Total"))
    return Report("activity", _("Manager activity"), start, end,
                  [Column("date", _("Date"), "date", 10), Column("weekday", _("Day"), "text", 4),
                   Column("manager", _("Manager"), "text", 16), *_metric_columns()],
                  rows, totals, manager=users[0].login if manager else "", chart=chart)


def manager_report(actor: Actor, start: dt.date, end: dt.date,
                   manager: str | int | None = None) -> Report:
    """One manager by day (table 5.8): every day of the period, zeros included."""
    days = report_days(start, end)
    user = manager_scope(actor, manager if manager not in (None, "") else actor.user_id)[0]
    counts = activity_counts([user.id], start, end)
    rows = []
    for day in days:
        row: dict[str, Any] = {"month": month_name(day), "date": day,
                               "weekday": weekday_name(day)}
        row.update(counts.get((user.id, day), _empty()))
        rows.append(row)
    totals = _sum_rows(rows)
    totals.update(month=_("Total"), date=None, weekday="")
    chart = Chart("bar", _("Calls per day"), [dates.format_date(d)[:5] if get_language()
                                              == "ru" else d.isoformat()[5:] for d in days],
                  {_("Calls"): [float(r["cold_calls"] + r["repeat_calls"]) for r in rows],
                   _("Meetings held"): [float(r["meetings_held"]) for r in rows]})
    return Report("manager", _("Manager report: {name}").format(name=lookups.user_name(user)),
                  start, end,
                  [Column("month", _("Month"), "text", 14), Column("date", _("Date"), "date", 10),
                   Column("weekday", _("Day"), "text", 4), *_metric_columns()],
                  rows, totals, manager=user.login, chart=chart)


def department(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
               ) -> Report:
    """The sales department over a period (table 5.7): totals per manager, with deals won."""
    report_days(start, end)
    users = manager_scope(actor, manager)
    ids = [u.id for u in users]
    counts = activity_counts(ids, start, end)
    since, until = report_bounds(start, end)
    won: dict[int, tuple[int, Decimal]] = {}
    moves = money.stage_moves(since, until, stage="won")
    deal_ids = sorted({mv.deal_id for mv in moves})
    owners: dict[int, tuple[int | None, Decimal]] = {}
    for chunk in id_chunks(deal_ids):
        for deal_id, owner_id, amount in m.Deal.select(m.Deal.id, m.Deal.owner,
                                                       m.Deal.amount).where(
                m.Deal.id.in_(chunk)).tuples():
            owners[deal_id] = (owner_id, money.as_money(amount))
    for deal_id in deal_ids:
        owner_id, amount = owners.get(deal_id, (None, Decimal("0")))
        if owner_id in ids:
            n, s = won.get(owner_id, (0, Decimal("0.00")))
            won[owner_id] = (n + 1, s + amount)
    rows = []
    for user in users:
        row: dict[str, Any] = {"manager": lookups.user_name(user), "_user_id": user.id}
        row.update(_sum_rows(v for (u, _d), v in counts.items() if u == user.id))
        row["days_journal"] = row.pop("journal_sent")
        n, s = won.get(user.id, (0, Decimal("0.00")))
        row["won_deals"], row["won_amount"] = n, s
        calls = row["cold_calls"] + row["repeat_calls"]
        row["meeting_rate"] = round(100 * row["meetings_set"] / calls, 1) if calls else 0.0
        rows.append(row)
    totals = _sum_rows(rows)
    totals["days_journal"] = sum(r["days_journal"] for r in rows)
    totals.pop("journal_sent", None)
    totals["won_deals"] = sum(r["won_deals"] for r in rows)
    totals["won_amount"] = sum((r["won_amount"] for r in rows), Decimal("0.00"))
    calls = totals["cold_calls"] + totals["repeat_calls"]
    totals["meeting_rate"] = round(100 * totals["meetings_set"] / calls, 1) if calls else 0.0
    totals["manager"] = _("Total")
    columns = [Column("manager", _("Manager"), "text", 18)]
    columns += [c for c in _metric_columns() if c.key != "journal_sent"]
    columns += [Column("days_journal", _("Days with journal sent"), "int", 8),
                Column("won_deals", _("Deals won"), "int", 8),
                Column("won_amount", _("Won, sum"), "money", 14),
                Column("meeting_rate", _("Meetings per call"), "percent", 8)]
    chart = Chart("bar", _("Payments per manager"), [r["manager"] for r in rows],
                  {_("Payments, sum"): [float(r["payments"]) for r in rows]})
    return Report("department", _("Sales department"), start, end, columns, rows, totals,
                  manager=users[0].login if manager else "", chart=chart)


