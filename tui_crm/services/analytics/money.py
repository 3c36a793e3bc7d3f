"""Deals, payments and services rendered as the organization card and the deals board show
them: purchase frequency (one-off / rare / regular), average and last payment, the category
and its history; the board by stage, moving a deal to the next stage, and quick payments.

Every write goes through `records`, so stage moves and category changes land in the audit
trail (the activity report counts invoices from it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import fn

from tui_crm.db import models as m
from tui_crm.db.database import read, write
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import audit, lookups, records
from tui_crm.services.core.kinds import CATEGORY_CHOICES, DEAL_STAGE_CHOICES
from tui_crm.services.core.records import RecordView
from tui_crm.services.core.rights import Actor

STAGES = ("new", "proposal", "negotiation", "invoice", "won", "lost")
OPEN_STAGES = ("new", "proposal", "negotiation", "invoice")
FREQUENCIES = {"none": N_("never paid"), "one_off": N_("one-off"), "rare": N_("rare"),
               "regular": N_("regular")}
# A client who paid in at least half of the months since the first payment (looking back at
# most a year) is regular; one payment month ever is one-off; anything else is rare.
REGULAR_SHARE = Decimal("0.5")
LOOKBACK_MONTHS = 12


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def as_date(value: Any) -> dt.date:
    """A date column's value as a date (SQLite returns text, PostgreSQL a date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def frequency(payment_days: list[dt.date], today: dt.date) -> str:
    """one_off / rare / regular / none from the days of a client's payments."""
    if not payment_days:
        return "none"
    months = {_month_index(d) for d in payment_days}
    if len(months) == 1:
        return "one_off"
    now = _month_index(today)
    start = max(min(months), now - LOOKBACK_MONTHS + 1)
    span = now - start + 1
    recent = {i for i in months if start <= i <= now}
    if span > 0 and Decimal(len(recent)) >= REGULAR_SHARE * span:
        return "regular"
    return "rare"


@dataclass
class CategoryChange:
    at: dt.datetime
    login: str
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(timespec="minutes"), "login": self.login,
                "old": self.old, "new": self.new}


@dataclass
class MoneySummary:
    organization_id: int
    payments_count: int
    payments_total: Decimal
    average_payment: Decimal | None
    first_payment: dt.date | None
    last_payment: dt.date | None
    last_amount: Decimal | None
    frequency: str
    services_total: Decimal
    services_units: Decimal
    last_service: dt.date | None
    open_deals: int
    open_deals_amount: Decimal
    won_deals: int
    category: str
    category_history: list[CategoryChange] = field(default_factory=list)
    by_month: list[tuple[str, Decimal]] = field(default_factory=list)  # last 12 months

    @property
    def frequency_text(self) -> str:
        return _(FREQUENCIES[self.frequency])

    @property
    def category_text(self) -> str:
        return _(CATEGORY_CHOICES.get(self.category, self.category))

    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Decimal):
                return float(v)
            if isinstance(v, dt.date):
                return v.isoformat()
            return v

        data = {k: plain(v) for k, v in self.__dict__.items()
                if k not in ("category_history", "by_month")}
        data["category_history"] = [c.to_dict() for c in self.category_history]
        data["by_month"] = [[k, float(v)] for k, v in self.by_month]
        return data


def as_money(value: Any) -> Decimal:
    """An amount (or a SUM that may be NULL) rounded to kopecks."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"))


def category_history(organization_id: int, limit: int = 100) -> list[CategoryChange]:
    """Changes of an organization's category, newest first (from the audit trail)."""
    return [CategoryChange(e.at, e.login, e.old, e.new)
            for e in audit.history("organizations", organization_id, limit=1000)
            if e.field == "category"][:limit]


@read
def summary(actor: Actor, organization_id: int, *, today: dt.date | None = None) -> MoneySummary:
    """What the organization card shows about money (respects the actor's visibility)."""
    view = records.get(actor, "organizations", organization_id)
    today = today or dt.date.today()
    pay = m.Payment
    alive = (pay.organization == organization_id) & pay.deleted_at.is_null()
    rows = list(pay.select(pay.date, pay.amount).where(alive).order_by(pay.date, pay.id)
                .tuples())
    days = [as_date(d) for d, _a in rows]
    amounts = [as_money(a) for _d, a in rows]
    total = sum(amounts, Decimal("0.00"))
    srv = m.ServiceRendered
    s_total, s_units, s_last = srv.select(
        fn.SUM(srv.amount), fn.SUM(srv.units), fn.MAX(srv.date)).where(
        (srv.organization == organization_id) & srv.deleted_at.is_null()).tuples().get()
    deal = m.Deal
    deal_alive = (deal.organization == organization_id) & deal.deleted_at.is_null()
    open_count, open_sum = deal.select(fn.COUNT(deal.id), fn.SUM(deal.amount)).where(
        deal_alive & deal.stage.in_(OPEN_STAGES)).tuples().get()
    won = deal.select().where(deal_alive & (deal.stage == "won")).count()
    months: dict[str, Decimal] = {}
    start_index = _month_index(today) - 11
    for day, amount in zip(days, amounts, strict=True):
        if _month_index(day) >= start_index:
            key = f"{day.year:04d}-{day.month:02d}"
            months[key] = months.get(key, Decimal("0.00")) + amount
    by_month = []
    for i in range(12):
        index = start_index + i
        key = f"{index // 12:04d}-{index % 12 + 1:02d}"
        by_month.append((key, months.get(key, Decimal("0.00"))))
    return MoneySummary(
        organization_id=organization_id, payments_count=len(rows), payments_total=total,
        average_payment=(total / len(rows)).quantize(Decimal("0.01")) if rows else None,
        first_payment=days[0] if days else None, last_payment=days[-1] if days else None,
        last_amount=amounts[-1] if amounts else None, frequency=frequency(days, today),
        services_total=as_money(s_total),
        services_units=Decimal(str(s_units or 0)).quantize(Decimal("0.001")),
        last_service=as_date(s_last) if s_last else None,
        open_deals=open_count or 0, open_deals_amount=as_money(open_sum), won_deals=won,
        category=view.values.get("category") or "none",
        category_history=category_history(organization_id), by_month=by_month)


def frequencies(organization_ids: list[int], today: dt.date | None = None) -> dict[int, str]:
    """Purchase frequency of many organizations at once (one query), for tables."""
    today = today or dt.date.today()
    days: dict[int, list[dt.date]] = {i: [] for i in organization_ids}
    for offset in range(0, len(organization_ids), 900):
        chunk = organization_ids[offset:offset + 900]
        for org_id, day in m.Payment.select(m.Payment.organization, m.Payment.date).where(
                m.Payment.organization.in_(chunk) & m.Payment.deleted_at.is_null()).tuples():
            days[org_id].append(as_date(day))
    return {i: frequency(d, today) for i, d in days.items()}


# --- deals board ------------------------------------------------------------------------------


@dataclass
class DealCard:
    id: int
    title: str
    organization_id: int | None
    organization: str
    stage: str
    amount: Decimal
    expected_close: dt.date | None
    owner: str
    paid: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "organization_id": self.organization_id,
                "organization": self.organization, "stage": self.stage,
                "amount": float(self.amount), "paid": float(self.paid),
                "expected_close": self.expected_close.isoformat()
                if self.expected_close else None, "owner": self.owner}


def board(actor: Actor, *, owner_id: int | None = None, include_closed: bool = True,
          limit_per_stage: int = 200) -> dict[str, list[DealCard]]:
    """Deals by stage (visible to the actor), newest first; won/lost optional."""
    stages = STAGES if include_closed else OPEN_STAGES
    out: dict[str, list[DealCard]] = {}
    for stage in stages:
        filters: dict[str, Any] = {"stage": stage}
        if owner_id is not None:
            filters["owner"] = owner_id
        page = records.list_records(actor, "deals", records.ListQuery(
            filters=filters, sort="id", descending=True, limit=limit_per_stage))
        ids = [r.id for r in page.rows]
        paid: dict[int, Decimal] = {}
        if ids:
            paid = {d: as_money(s) for d, s in m.Payment.select(
                m.Payment.deal, fn.SUM(m.Payment.amount)).where(
                m.Payment.deal.in_(ids) & m.Payment.deleted_at.is_null()).group_by(
                m.Payment.deal).tuples()}
        out[stage] = [DealCard(
            r.id, r.title, r.values.get("organization"), r.display.get("organization", ""),
            stage, as_money(r.values.get("amount")), r.values.get("expected_close"),
            r.display.get("owner", ""), paid.get(r.id, Decimal("0.00"))) for r in page.rows]
    return out


def next_stage(stage: str) -> str | None:
    """new → proposal → negotiation → invoice → won; None after won or lost."""
    if stage not in OPEN_STAGES:
        return None
    return STAGES[STAGES.index(stage) + 1]


def previous_stage(stage: str) -> str | None:
    if stage == "lost" or stage not in STAGES or stage == "new":
        return None
    return STAGES[STAGES.index(stage) - 1]


@write
def move_stage(actor: Actor, deal_id: int, stage: str | None = None, *, lost_reason: str = "",
               expected_version: int | None = None) -> RecordView:
    """Move a deal to `stage` (default: the next one); "lost" needs a reason. The move is in
    the audit trail with the user and time (the activity report counts invoices from it)."""
    view = records.get(actor, "deals", deal_id)
    current_stage = view.values.get("stage") or "new"
    target = stage or next_stage(current_stage)
    if target is None:
        raise ValidationError({"stage": _("The deal is closed ({stage}); it has no next stage")
                               .format(stage=_(DEAL_STAGE_CHOICES.get(current_stage,
                                                                      current_stage)))})
    if target not in STAGES:
        raise ValidationError({"stage": _("Unknown stage {name!r}; choose one of: {known}")
                               .format(name=target, known=", ".join(STAGES))})
    data: dict[str, Any] = {"stage": target}
    if target == "lost":
        if not lost_reason.strip() and not view.values.get("lost_reason"):
            raise ValidationError({"lost_reason": _("Say why the deal was lost")})
        if lost_reason.strip():
            data["lost_reason"] = lost_reason.strip()
    return records.update(actor, "deals", deal_id, data, expected_version=expected_version)


@write
def add_payment(actor: Actor, organization_id: int | None = None, amount: Any = None, *,
                date: Any = None, deal_id: int | None = None, description: str = "",
                today: dt.date | None = None) -> RecordView:
    """Record a payment (of a deal, or of an organization). A lead or warm organization that
    pays becomes a client; a deal at "invoice issued" paid in full moves to "won"."""
    deal_view = records.get(actor, "deals", deal_id) if deal_id else None
    if organization_id is None and deal_view is not None:
        organization_id = deal_view.values.get("organization")
    if organization_id is None:
        raise ValidationError({"organization": _("Required")})
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        raise ValidationError({"amount": _("Required")})
    payment = records.create(actor, "payments", {
        "date": date if date not in (None, "") else (today or dt.date.today()),
        "amount": amount, "organization": organization_id, "deal": deal_id,
        "description": description})
    org = m.Organization.get_or_none(m.Organization.id == organization_id)
    if org is not None and org.status in ("lead", "warm") and org.deleted_at is None:
        try:
            records.update(actor, "organizations", organization_id, {"status": "client"})
        except PermissionDenied:
            pass  # someone else's client: the payment stands, the status is theirs to change
    if deal_id and deal_view is not None and deal_view.values.get("stage") == "invoice":
        paid = as_money(m.Payment.select(fn.SUM(m.Payment.amount)).where(
            (m.Payment.deal == deal_id) & m.Payment.deleted_at.is_null()).scalar())
        if paid >= as_money(deal_view.values.get("amount")):
            records.update(actor, "deals", deal_id, {"stage": "won"})
    return payment


@dataclass
class StageMove:
    deal_id: int
    at: dt.datetime
    login: str
    user_id: int | None
    old: str
    new: str


def stage_moves(start: dt.datetime, end: dt.datetime, *, stage: str | None = None,
                user_ids: list[int] | None = None) -> list[StageMove]:
    """Deal stage changes in [start, end) from the audit trail, oldest first."""
    log = m.AuditLog
    query = (log.select(log.record_id, log.at, log.user, log.old, log.new)
             .where((log.kind == "deals") & (log.field == "stage") & (log.action == "update")
                    & (log.at >= start) & (log.at < end)))
    if stage:
        query = query.where(log.new == stage)
    if user_ids is not None:
        query = query.where(log.user.in_(user_ids))
    rows = list(query.order_by(log.at, log.id).tuples())
    logins = lookups.names("user", (r[2] for r in rows))
    return [StageMove(r[0], r[1], logins.get(r[2], ""), r[2], r[3], r[4]) for r in rows]
