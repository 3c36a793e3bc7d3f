"""The report package of the seed: manager activity per day, department and manager reports,
meeting reports, the client-base audit by category, contact sources, field visits (table
5.10), payments by month, upcoming birthdays and the follow-up base.

Each report is a function returning a plain `Report` (columns, rows, totals, an optional
chart) that the TUI shows, the CLI prints and `export_xlsx` writes. Activity is counted from
logged events, deal stage moves (the audit trail) and payments — never typed in — except
lateness and "work journal sent", which a manager enters per day (`set_day_journal`).
Managers with "own" visibility see only their own figures; exporting needs the export right.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import fn

from tui_crm.db import models as m
from tui_crm.db.database import read, write
from tui_crm.db.report_models import DayJournal, MeetingReport
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import N_, _, get_language
from tui_crm.services.analytics import money, segmentation
from tui_crm.services.core import audit, lookups, records, server_files, values, visibility
from tui_crm.services.core.kinds import CATEGORY_CHOICES, DEAL_STAGE_CHOICES, STATUS_CHOICES
from tui_crm.services.core.rights import Actor
from tui_crm.services.planning import followups
from tui_crm.text import dates

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"),
          N_("July"), N_("August"), N_("September"), N_("October"), N_("November"),
          N_("December"))
MAX_DAYS = 370

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


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text / int / money / decimal / date / datetime / bool / percent
    width: int = 12


@dataclass
class Chart:
    """A picture of the report: bar (labels × series) or line (x → y)."""

    kind: str  # bar / line
    title: str
    labels: list[str]
    series: dict[str, list[float]]
    x: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "labels": self.labels,
                "series": self.series, "x": self.x}


@dataclass
class Report:
    name: str
    title: str
    start: dt.date
    end: dt.date
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    manager: str = ""
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def period_text(self) -> str:
        return f"{dates.format_date(self.start)} – {dates.format_date(self.end)}"

    def cell(self, row: dict[str, Any], key: str) -> str:
        """One cell as the table shows it."""
        column = next((c for c in self.columns if c.key == key), None)
        return display(row.get(key), column.kind if column else "text")

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.name, "title": self.title, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "manager": self.manager,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind}
                            for c in self.columns],
                "rows": [_json_row(r) for r in self.rows],
                "totals": _json_row(self.totals) if self.totals is not None else None,
                "chart": self.chart.to_dict() if self.chart else None, "notes": self.notes}


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, dt.datetime):
            value = value.isoformat(timespec="minutes")
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[key] = value
    return out


def display(value: Any, kind: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "money":
        return values.format_amount(value)
    if kind == "date" and isinstance(value, dt.date):
        return dates.format_date(value)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return dates.format_datetime(value)
    if kind == "bool":
        return "✓" if value else ""
    if kind == "percent":
        return f"{value:.1f} %"
    if kind == "decimal":
        text = f"{Decimal(str(value)).normalize():f}"
        return text.replace(".", ",") if get_language() == "ru" else text
    return str(value)


# --- settings and hand-entered figures --------------------------------------------------------


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


@dataclass
class DayEntry:
    user_id: int
    day: dt.date
    lateness_minutes: int
    journal_sent: bool
    note: str


def _user(ref: str | int | None) -> m.User:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        user = m.User.get_or_none(m.User.id == int(ref))
    else:
        user = m.User.get_or_none(m.User.login == str(ref).strip())
        if user is None:
            try:
                user = m.User.get_by_id(lookups.resolve("user", str(ref), {}))
            except (ValueError, m.User.DoesNotExist):
                user = None
    if user is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=ref))
    return user


def _may_see_user(actor: Actor, user: m.User) -> bool:
    return visibility.sees_user(actor, user.id)


@write
def set_day_journal(actor: Actor, day: dt.date | str, *, lateness_minutes: int | str | None = None,
                    journal_sent: bool | None = None, note: str | None = None,
                    user: str | int | None = None) -> DayEntry:
    """Enter a day's lateness (minutes) and "work journal sent" flag — one's own, or anyone's
    for the head of sales."""
    target = _user(user) if user is not None else _user(actor.user_id)
    if target.id != actor.user_id and not actor.sees_all:
        raise PermissionDenied(_("Only the head of sales can fill in another manager's day."))
    if isinstance(day, str):
        try:
            day = dates.parse_date(day)
        except dates.DateParseError as exc:
            raise ValidationError({"day": str(exc)}) from None
    errors: dict[str, str] = {}
    minutes = None
    if lateness_minutes is not None and lateness_minutes != "":
        try:
            minutes = int(str(lateness_minutes).strip())
        except ValueError:
            errors["lateness_minutes"] = _("Not a whole number: {text!r}").format(
                text=lateness_minutes)
        else:
            if not 0 <= minutes <= 24 * 60:
                errors["lateness_minutes"] = _("Between 0 and 1440 minutes")
    if errors:
        raise ValidationError(errors)
    row = DayJournal.get_or_none((DayJournal.user == target.id) & (DayJournal.day == day))
    before = (row.lateness_minutes, row.journal_sent) if row else (0, False)
    if row is None:
        row = DayJournal.create(user=target.id, day=day, updated_by=actor.user_id)
    if minutes is not None:
        row.lateness_minutes = minutes
    if journal_sent is not None:
        row.journal_sent = bool(journal_sent)
    if note is not None:
        row.note = note.strip()
    row.updated_at = m.now()
    row.updated_by = actor.user_id
    row.save()
    audit.log(actor, "update", "day_journal", row.id, {
        "lateness_minutes": (before[0], row.lateness_minutes),
        "journal_sent": (before[1], row.journal_sent)}, details=f"{target.login} {day}")
    return DayEntry(target.id, day, row.lateness_minutes, row.journal_sent, row.note)


def day_journal(actor: Actor, day: dt.date, user: str | int | None = None) -> DayEntry:
    target = _user(user) if user is not None else _user(actor.user_id)
    if not _may_see_user(actor, target):
        raise PermissionDenied(_("This record belongs to another manager."))
    row = DayJournal.get_or_none((DayJournal.user == target.id) & (DayJournal.day == day))
    if row is None:
        return DayEntry(target.id, day, 0, False, "")
    return DayEntry(target.id, day, row.lateness_minutes, row.journal_sent, row.note)


# --- scope: which managers, which days --------------------------------------------------------


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValidationError({"to": _("The period ends before it starts")})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"to": _("A report covers at most {n} days").format(n=MAX_DAYS)})
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.combine(start, dt.time()), dt.datetime.combine(
        end + dt.timedelta(days=1), dt.time())


def _scope(actor: Actor, manager: str | int | None) -> list[m.User]:
    """The managers the report covers: the one asked for (if the actor may see them), else
    everyone the actor sees (own / group / all), viewers left out."""
    actor.require("reports", "view")
    if manager not in (None, ""):
        user = _user(manager)
        if not _may_see_user(actor, user):
            raise PermissionDenied(_("You can only see your own figures."))
        return [user]
    query = m.User.select().where(m.User.role != "viewer").order_by(m.User.full_name,
                                                                     m.User.login)
    users = [u for u in query if _may_see_user(actor, u)]
    if not users and actor.user_id is not None:
        users = [_user(actor.user_id)]
    return users


def _weekday(day: dt.date) -> str:
    return _(WEEKDAYS[day.weekday()])


def _month(day: dt.date) -> str:
    return f"{_(MONTHS[day.month - 1])} {day.year}"


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value)[:19])


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for offset in range(0, len(ids), size):
        yield ids[offset:offset + size]


# --- activity ---------------------------------------------------------------------------------


def _empty() -> dict[str, Any]:
    row: dict[str, Any] = {k: 0 for k in _COUNTS}
    row.update(payments=Decimal("0.00"), lateness=0, journal_sent=False)
    return row


def activity_counts(user_ids: list[int], start: dt.date, end: dt.date
                    ) -> dict[tuple[int, dt.date], dict[str, Any]]:
    """(user id, day) → the activity figures, from events, stage moves, payments and the
    hand-entered day journal. Only (user, day) pairs with something in them appear."""
    rules = activity_rules()
    since, until = _bounds(start, end)
    types = {t.id: t.code for t in m.EventType.select(m.EventType.id, m.EventType.code)}
    results = {r.id: r for r in m.EventResult.select()}
    call_ids = [i for i, c in types.items() if c in rules["call_types"]]
    out: dict[tuple[int, dt.date], dict[str, Any]] = {}
    proposals: dict[tuple[int, dt.date], set] = {}

    def bucket(user_id: int, day: dt.date) -> dict[str, Any]:
        key = (user_id, day)
        if key not in out:
            out[key] = _empty()
        return out[key]

    ev = m.Event
    done = list(ev.select(ev.id, ev.event_type, ev.starts_at, ev.organization, ev.contact,
                          ev.assignee, ev.result).where(
        (ev.status == "done") & ev.deleted_at.is_null() & (ev.starts_at >= since)
        & (ev.starts_at < until) & ev.assignee.in_(user_ids)).tuples())
    # The first done call with a client is a cold call; later ones are repeat calls.
    first_call: dict[tuple[str, int], tuple[dt.datetime, int]] = {}
    for column, tag in ((ev.organization, "o"), (ev.contact, "c")):
        wanted = sorted({(r[3] if tag == "o" else r[4]) for r in done
                         if r[1] in call_ids and (r[3] if tag == "o" else r[4])
                         and (tag == "o" or not r[3])})
        for chunk in _chunks(wanted):
            for client_id, starts_at, event_id in ev.select(column, ev.starts_at, ev.id).where(
                    column.in_(chunk) & (ev.status == "done") & ev.deleted_at.is_null()
                    & ev.event_type.in_(call_ids)).tuples():
                key = (tag, client_id)
                stamp = (_as_datetime(starts_at), event_id)
                if key not in first_call or stamp < first_call[key]:
                    first_call[key] = stamp
    for event_id, type_id, starts_at, org_id, contact_id, user_id, result_id in done:
        code = types.get(type_id, "")
        result = results.get(result_id)
        day = _as_datetime(starts_at).date()
        row = bucket(user_id, day)
        if code in rules["call_types"]:
            client = ("o", org_id) if org_id else (("c", contact_id) if contact_id else None)
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
            proposals.setdefault((user_id, day), set()).add(
                ("o", org_id) if org_id else ("e", event_id))

    # Deal stage moves (audit trail): to "proposal" = a proposal sent, to "invoice" = an
    # invoice issued; a deal created straight at "invoice issued" counts on its creation day.
    moves = money.stage_moves(since, until, user_ids=user_ids)
    deal_orgs = {}
    deal_ids = sorted({mv.deal_id for mv in moves})
    for chunk in _chunks(deal_ids):
        deal_orgs.update(m.Deal.select(m.Deal.id, m.Deal.organization).where(
            m.Deal.id.in_(chunk)).tuples())
    for mv in moves:
        day = _as_datetime(mv.at).date()
        if mv.user_id is None:
            continue
        if mv.new == "proposal":
            org_id = deal_orgs.get(mv.deal_id)
            bucket(mv.user_id, day)
            proposals.setdefault((mv.user_id, day), set()).add(
                ("o", org_id) if org_id else ("d", mv.deal_id))
        elif mv.new == "invoice":
            bucket(mv.user_id, day)["invoices"] += 1
    log = m.AuditLog
    created = list(log.select(log.record_id, log.at, log.user).where(
        (log.kind == "deals") & (log.action == "create") & (log.at >= since) & (log.at < until)
        & log.user.in_(user_ids)).tuples())
    if created:
        ids = [r[0] for r in created]
        first_stage: dict[int, str] = {}
        for chunk in _chunks(ids):
            for deal_id, old in log.select(log.record_id, log.old).where(
                    (log.kind == "deals") & (log.field == "stage") & (log.action == "update")
                    & log.record_id.in_(chunk)).order_by(log.id).tuples():
                first_stage.setdefault(deal_id, old)
            for deal_id, stage in m.Deal.select(m.Deal.id, m.Deal.stage).where(
                    m.Deal.id.in_(chunk)).tuples():
                first_stage.setdefault(deal_id, stage)
        for deal_id, at, user_id in created:
            if first_stage.get(deal_id) == "invoice":
                bucket(user_id, _as_datetime(at).date())["invoices"] += 1
    for key, clients in proposals.items():
        bucket(*key)["proposals"] += len(clients)

    # Payments: by the client's responsible manager, on the payment's date.
    pay, org = m.Payment, m.Organization
    for owner_id, day, total in (pay.select(org.owner, pay.date, fn.SUM(pay.amount))
                                 .join(org, on=(pay.organization == org.id))
                                 .where((pay.date >= start) & (pay.date <= end)
                                        & pay.deleted_at.is_null() & org.owner.in_(user_ids))
                                 .group_by(org.owner, pay.date).tuples()):
        bucket(owner_id, money.as_date(day))["payments"] += money.as_money(total)

    # Entered by hand; "journal sent" is also true when the plan was exported that day.
    for entry in DayJournal.select().where((DayJournal.day >= start) & (DayJournal.day <= end)
                                           & DayJournal.user.in_(user_ids)):
        row = bucket(entry.user_id, money.as_date(entry.day))
        row["lateness"] = entry.lateness_minutes
        row["journal_sent"] = row["journal_sent"] or entry.journal_sent
    for user_id, at in log.select(log.user, log.at).where(
            (log.action == "export") & (log.kind == "plan") & (log.at >= since)
            & (log.at < until) & log.user.in_(user_ids)).tuples():
        bucket(user_id, _as_datetime(at).date())["journal_sent"] = True
    return out


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
    _days(start, end)
    users = _scope(actor, manager)
    counts = activity_counts([u.id for u in users], start, end)
    by_id = {u.id: u for u in users}
    rows = []
    for (user_id, day), figures in sorted(counts.items(), key=lambda kv: (
            kv[0][1], lookups.user_name(by_id[kv[0][0]]))):
        row = {"date": day, "weekday": _weekday(day), "manager": lookups.user_name(by_id[user_id]),
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
    days = _days(start, end)
    user = _scope(actor, manager if manager not in (None, "") else actor.user_id)[0]
    counts = activity_counts([user.id], start, end)
    rows = []
    for day in days:
        row = {"month": _month(day), "date": day, "weekday": _weekday(day)}
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
    _days(start, end)
    users = _scope(actor, manager)
    ids = [u.id for u in users]
    counts = activity_counts(ids, start, end)
    since, until = _bounds(start, end)
    won: dict[int, tuple[int, Decimal]] = {}
    moves = money.stage_moves(since, until, stage="won")
    deal_ids = sorted({mv.deal_id for mv in moves})
    owners: dict[int, tuple[int | None, Decimal]] = {}
    for chunk in _chunks(deal_ids):
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
        row = {"manager": lookups.user_name(user), "_user_id": user.id}
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
        return _json_row(dict(self.__dict__))


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


def _events_of(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None,
               rule: str, statuses: tuple[str, ...]) -> tuple[list[m.User], list[m.Event]]:
    """The managers in scope and their events of the types `activity_rules()[rule]` names,
    with one of `statuses`, in the period, in time order (the meetings and visits reports)."""
    _days(start, end)
    users = _scope(actor, manager)
    type_ids = [t.id for t in m.EventType.select().where(
        m.EventType.code.in_(activity_rules()[rule]))]
    since, until = _bounds(start, end)
    ev = m.Event
    events = list(ev.select().where(
        ev.event_type.in_(type_ids) & ev.status.in_(statuses) & ev.deleted_at.is_null()
        & (ev.starts_at >= since) & (ev.starts_at < until)
        & ev.assignee.in_([u.id for u in users])).order_by(ev.starts_at, ev.id))
    return users, events


def meetings(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None
             ) -> Report:
    """Meetings held in the period with their reports (the seed's meeting report form)."""
    users, events = _events_of(actor, start, end, manager, "meeting_types", ("done",))
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


# --- the client base --------------------------------------------------------------------------


def _org_scope(actor: Actor, manager: str | int | None) -> list[int] | None:
    """Owner ids whose clients the report covers; None = everyone's."""
    if manager not in (None, ""):
        return [u.id for u in _scope(actor, manager)]
    if actor.sees_all:
        actor.require("reports", "view")
        return None
    return [u.id for u in _scope(actor, None)]


def _values_between(criterion: str, start: dt.date, end: dt.date) -> dict[int, Decimal]:
    """organization id → criterion value over [start, end] (dates)."""
    segmentation.check_criterion(criterion)
    if criterion in ("payments", "count"):
        model = m.Payment
        agg = fn.SUM(model.amount) if criterion == "payments" else fn.COUNT(model.id)
    else:
        model = m.ServiceRendered
        agg = fn.SUM(model.amount) if criterion == "services" else fn.SUM(model.units)
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
        if created_at is not None and _as_datetime(created_at) > moment:
            continue
        if deleted_at is not None and _as_datetime(deleted_at) <= moment:
            continue
        out[org_id] = later.get(org_id, category) or "none"
    return out


def client_audit(actor: Actor, start: dt.date, end: dt.date, manager: str | int | None = None,
                 criterion: str = "payments") -> Report:
    """The client-base audit by category (table 5.9): clients and the criterion per category
    now, and the change since the previous period of the same length."""
    _days(start, end)
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
    rows = []
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
    what = _(segmentation.CRITERIA.get(criterion, criterion))
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
    _days(start, end)
    owners = _org_scope(actor, manager)
    since, until = _bounds(start, end)
    org = m.Organization
    query = org.select(org.id, org.source, org.status).where(
        org.deleted_at.is_null() & (org.created_at >= since) & (org.created_at < until))
    if owners is not None:
        query = query.where(org.owner.in_(owners))
    rows_raw = list(query.tuples())
    paid: dict[int, Decimal] = {}
    ids = [r[0] for r in rows_raw]
    for chunk in _chunks(ids):
        for org_id, total in m.Payment.select(m.Payment.organization, fn.SUM(m.Payment.amount))\
                .where(m.Payment.organization.in_(chunk) & m.Payment.deleted_at.is_null())\
                .group_by(m.Payment.organization).tuples():
            paid[org_id] = money.as_money(total)
    names = {s.id: s.name for s in m.Source.select()}
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
    users, events = _events_of(actor, start, end, manager, "visit_types", ("done", "missed"))
    # The outlets the actor sees (a visit on another manager's client is not named).
    seen = visibility.visible_subset(actor, "organizations",
                                     (e.organization_id for e in events))
    org_rows = {o.id: o for o in m.Organization.select(
        m.Organization.id, m.Organization.name, m.Organization.address, m.Organization.city)
        .where(m.Organization.id.in_(sorted(seen)))} if seen else {}
    reps = lookups.names("user", (e.assignee_id for e in events))
    results = {r.id: r for r in m.EventResult.select()}
    rows = []
    per_day: dict[tuple[int, dt.date], list[dict]] = {}
    for e in events:
        o = org_rows.get(e.organization_id)
        r = results.get(e.result_id)
        row = {"date": e.starts_at.date(), "representative": reps.get(e.assignee_id, ""),
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
    for r in rows:
        by_rep[r["representative"]] = by_rep.get(r["representative"], 0) + 1
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
    _days(start, end)
    owners = _org_scope(actor, manager)
    org = m.Organization
    out: dict[str, dict[str, Any]] = {}
    day = start.replace(day=1)
    while day <= end:
        out[f"{day.year:04d}-{day.month:02d}"] = {
            "month": _month(day), "payments": Decimal("0.00"), "count": 0, "clients": 0,
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
    days = _days(start, end)
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
        rows.append({"date": on_day, "weekday": _weekday(on_day),
                     "name": lookups.contact_name(p.last_name, p.first_name, p.middle_name),
                     "organization": orgs.get(p.organization_id, ""),
                     "age": on_day.year - money.as_date(p.birthday).year,
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
    users = _scope(actor, manager)
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


# --- the registry and export ------------------------------------------------------------------

REPORTS: dict[str, tuple[str, Callable[..., Report]]] = {
    "activity": (N_("Manager activity"), activity),
    "department": (N_("Sales department"), department),
    "manager": (N_("Manager report"), manager_report),
    "meetings": (N_("Meeting reports"), meetings),
    "audit": (N_("Client-base audit"), client_audit),
    "sources": (N_("Contact sources"), sources),
    "visits": (N_("Field visits"), visits),
    "payments": (N_("Payments by month"), payments_by_month),
    "birthdays": (N_("Birthdays"), birthdays),
    "followups": (N_("Follow-up base"), followup_base),
}


@read
def build(actor: Actor, name: str, start: dt.date, end: dt.date,
          manager: str | int | None = None, **options: Any) -> Report:
    """Any report by name (for the CLI and the Reports screen)."""
    if name not in REPORTS:
        raise ValidationError({"report": _("Unknown report {name!r}; choose one of: {known}")
                               .format(name=name, known=", ".join(REPORTS))})
    return REPORTS[name][1](actor, start, end, manager, **options)


def _excel_value(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None
    if kind in ("money", "decimal"):
        return float(value)
    if kind == "int":
        return int(value) if isinstance(value, int | Decimal) else value
    if kind == "percent":
        return float(value)
    if kind == "bool":
        return _("yes") if value else ""
    if kind in ("date", "datetime") and isinstance(value, dt.date):
        return value
    return str(value)


def export_xlsx(report: Report, path: str, actor: Actor | None = None) -> int:
    """Write the report to .xlsx (header, rows, totals; a second sheet names the report and
    period). Text cells are stored as strings, never formulas. Returns the number of rows."""
    if actor is not None:
        actor.require("reports", "export")
        server_files.check(actor, path)
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = report.title[:31].replace("/", "-").replace(":", " ") or "Report"
    sheet.append([c.label for c in report.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.data_type = "s"

    def put(row: dict[str, Any], bold: bool = False) -> None:
        sheet.append([_excel_value(row.get(c.key), c.kind) for c in report.columns])
        for column, cell in zip(report.columns, sheet[sheet.max_row], strict=True):
            if cell.value is None:
                continue
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text begins with
            elif column.kind == "money":
                cell.number_format = "#,##0.00"
            elif column.kind == "percent":
                cell.number_format = "0.0"
            elif column.kind == "date":
                cell.number_format = "DD.MM.YYYY"
            elif column.kind == "datetime":
                cell.number_format = "DD.MM.YYYY HH:MM"
            if bold:
                cell.font = Font(bold=True)

    for row in report.rows:
        put(row)
    if report.totals is not None:
        put(report.totals, bold=True)
    sheet.freeze_panes = "A2"
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(report.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(column.width,
                                                                      len(column.label) + 2)
    about = workbook.create_sheet(_("About")[:31])
    for label, value in ((_("Report"), report.title), (_("Period"), report.period_text),
                         (_("Manager"), report.manager), *((_("Note"), n) for n in report.notes)):
        about.append([label, value])
        for cell in about[about.max_row]:
            cell.data_type = "s"
    try:
        workbook.save(path)
    except OSError as exc:
        raise ValidationError({"output": _("Cannot write the report to {path}: {reason}").format(
            path=path, reason=exc.strerror)}) from None
    if actor is not None:
        _log_export(actor, report, path)
    return len(report.rows)


@write
def _log_export(actor: Actor, report: Report, path: str) -> None:
    audit.log(actor, "export", "reports", None,
              details=f"{report.name} {report.start.isoformat()}..{report.end.isoformat()}"
                      f" → {path}")


def period_of(text_from: str | dt.date | None, text_to: str | dt.date | None,
              today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Dates as typed (31.12.2026, 2026-12-31, "today", "-30d"); default: this month so far."""
    today = today or dt.date.today()
    errors: dict[str, str] = {}

    def parse(value: str | dt.date | None, default: dt.date, key: str) -> dt.date:
        if value is None or value == "":
            return default
        if isinstance(value, dt.date):
            return value
        try:
            return dates.parse_date(value, today)
        except dates.DateParseError as exc:
            errors[key] = str(exc)
            return default

    start = parse(text_from, today.replace(day=1), "from")
    end = parse(text_to, today, "to")
    if errors:
        raise ValidationError(errors)
    if end < start:
        raise ValidationError({"to": _("The period ends before it starts")})
    return start, end

