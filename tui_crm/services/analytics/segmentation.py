"""Client categories by the seed's method: VIP = the top 20 % of the clients that paid in the
period (counted by clients, ranked by a criterion), a second tier by one of two schemes, or
classic ABC; month-by-month VIP tables, Pareto figures, fell-out and potential VIPs; and
applying the result to the organizations' category (recorded in their history).

Speed: one SQL `GROUP BY organization, month` over the period (plus the month before it)
reads the payments once; every tier, month and figure is then computed in Python on integer
values (kopecks, thousandths of a unit), so ties are exact and nothing is re-queried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import read, write
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import _, get_language
from tui_crm.services.analytics.client_values import (
    CRITERIA,
    SCALE,
    SummaryValues,
    check_criterion,
    client_names,
    values_source,
)
from tui_crm.services.analytics.tiers import (
    CATEGORY_OF_TIER,
    DEFAULT_ABC,
    DEFAULT_SHARE,
    TIER_LABELS,
    ParetoFigure,
    Tie,
    assign_tiers,
    check_scheme,
    curve,
    month_key,
    pareto,
    parse_period,
    period_text,
    rank,
    shift_month,
    vip_part,
)
from tui_crm.services.core import records, values
from tui_crm.services.core.rights import Actor

VIP_SILENCE_DAYS = 30
BULK_FROM = 300  # more category changes than this are written set-based (see _write_categories)

# --- results ----------------------------------------------------------------------------------


def _plain(value: int, scale: int) -> int | float:
    return value if scale == 1 else value / scale


class _NameBook:
    """Organization names fetched once, on first use (naming is presentation: a large base's
    tiers hold every paying client)."""

    def __init__(self) -> None:
        self.wanted: set[int] = set()
        self.names: dict[int, str] = {}

    def want(self, ids: Iterable[int]) -> None:
        self.wanted.update(ids)

    def get(self, org_id: int) -> str:
        if org_id not in self.names and self.wanted:
            self.wanted.add(org_id)
            self.names.update(client_names(self.wanted - set(self.names)))
            self.wanted = set()
        return self.names.get(org_id, "")


@dataclass(slots=True)
class Ranked:
    id: int
    name: str
    value: int | float  # in the criterion's units (roubles, payments, units)
    rank: int = 0
    previous: int | float | None = None  # fell out: the value in the month before

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "value": self.value}
        if self.previous is not None:
            data["previous"] = self.previous
        return data


@dataclass
class MonthVip:
    """One month of the VIP table; rows are (id, scaled value) until asked for by name."""

    month: str
    paying_clients: int
    total: int | float
    vip_value_pct: float
    vip_raw: list[tuple[int, int]]
    entered_raw: list[tuple[int, int]]
    dropped_raw: list[tuple[int, int, int]]  # id, value this month, value the month before
    scale: int = field(default=1, repr=False)
    book: _NameBook = field(default_factory=_NameBook, repr=False)

    @property
    def vip(self) -> list[Ranked]:
        return [Ranked(i, self.book.get(i), _plain(v, self.scale), n)
                for n, (i, v) in enumerate(self.vip_raw, start=1)]

    @property
    def entered(self) -> list[Ranked]:
        return [Ranked(i, self.book.get(i), _plain(v, self.scale)) for i, v in self.entered_raw]

    @property
    def dropped(self) -> list[Ranked]:
        return [Ranked(i, self.book.get(i), _plain(v, self.scale), 0, _plain(p, self.scale))
                for i, v, p in self.dropped_raw]

    def to_dict(self) -> dict[str, Any]:
        return {"month": self.month, "paying_clients": self.paying_clients, "total": self.total,
                "vip_value_pct": self.vip_value_pct,
                "vip": [r.to_dict() for r in self.vip],
                "entered": [r.to_dict() for r in self.entered],
                "dropped": [r.to_dict() for r in self.dropped]}


@dataclass(slots=True)
class UnionRow:
    id: int
    name: str
    months_vip: int
    value: int | float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "months_vip": self.months_vip,
                "value": self.value}


@dataclass
class Segmentation:
    criterion: str
    scheme: str
    months: list[str]
    paying_clients: int
    total: int | float
    tiers_raw: dict[str, list[tuple[int, int]]]  # tier → (id, scaled value), rank order
    ties: list[Tie]
    pareto: list[ParetoFigure]
    curve: list[tuple[float, float]]
    fell_out: list[Ranked]
    potential_vip: list[Ranked]
    vip_average: dict[str, float]  # per VIP client per month, for each criterion computed
    per_month: bool = False
    monthly: list[MonthVip] = field(default_factory=list)
    scale: int = 1
    union_raw: list[tuple[int, int, int]] = field(default_factory=list, repr=False)
    book: _NameBook = field(default_factory=_NameBook, repr=False)
    _tiers: dict[str, list[Ranked]] | None = field(default=None, repr=False)
    _union: list[UnionRow] | None = field(default=None, repr=False)

    @property
    def period(self) -> str:
        return period_text(self.months)

    @property
    def tiers(self) -> dict[str, list[Ranked]]:
        """Tier → ranked clients with names (built on first use: the tiers of a large base
        hold every paying client, and naming them is presentation, not computation)."""
        if self._tiers is None:
            self.book.want(i for rows in self.tiers_raw.values() for i, _v in rows)
            get = self.book.get
            self._tiers = {}
            position = 0  # tiers follow the ranking, so positions run on across them
            for tier, rows in self.tiers_raw.items():
                out = []
                for i, v in rows:
                    position += 1
                    out.append(Ranked(i, get(i), _plain(v, self.scale), position))
                self._tiers[tier] = out
        return self._tiers

    def top(self, limit: int) -> list[tuple[str, Ranked]]:
        """The first `limit` ranked clients with their tier, named: what a screen shows,
        without naming every paying client of a large base (`tiers` names them all)."""
        if self._tiers is not None:
            return [(tier, r) for tier, rows in self._tiers.items() for r in rows][:limit]
        picked: list[tuple[str, int, int, int]] = []
        position = 0
        for tier, rows in self.tiers_raw.items():
            for i, v in rows:
                if position >= limit:
                    break
                position += 1
                picked.append((tier, i, v, position))
        self.book.want(i for _t, i, _v, _p in picked)
        get = self.book.get
        return [(tier, Ranked(i, get(i), _plain(v, self.scale), n)) for tier, i, v, n in picked]

    @property
    def union(self) -> list[UnionRow]:
        """Everyone who was VIP in some month of the span: months as VIP, span value."""
        if self._union is None:
            self.book.want(i for i, _c, _v in self.union_raw)
            self._union = [UnionRow(i, self.book.get(i), c, _plain(v, self.scale))
                           for i, c, v in self.union_raw]
        return self._union

    def counts(self) -> dict[str, int]:
        return {tier: len(rows) for tier, rows in self.tiers_raw.items()}

    def tier_of(self, org_id: int) -> str | None:
        for name, rows in self.tiers_raw.items():
            if any(i == org_id for i, _v in rows):
                return name
        return None

    def assignments(self) -> dict[int, str]:
        """Organization id → tier."""
        return {i: name for name, rows in self.tiers_raw.items() for i, _v in rows}

    def tie_messages(self) -> list[str]:
        return [tie_message(t, self.scale) for t in self.ties]

    def pareto_messages(self) -> list[str]:
        what = _(CRITERIA[self.criterion]).lower()
        out = []
        for f in self.pareto:
            if f.key == "vip" and self.pareto and self.pareto[0].clients == f.clients:
                continue  # no ties at the cut: the VIP set is the top 20 % already
            out.append(_("{clients} % of clients ({n}) bring {value} % of the {what}").format(
                clients=values.format_number(f.clients_pct), n=f.clients,
                value=values.format_number(f.value_pct), what=what))
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "criterion": self.criterion, "scheme": self.scheme, "period": self.period,
            "paying_clients": self.paying_clients, "total": self.total,
            "tiers": {name: [r.to_dict() for r in rows] for name, rows in self.tiers.items()},
            "ties": [{"tier": t.tier, "value": _plain(t.value, self.scale),
                      "expected": t.expected, "actual": t.actual, "tied": t.tied,
                      "message": tie_message(t, self.scale)} for t in self.ties],
            "pareto": [f.to_dict() for f in self.pareto],
            "fell_out": [r.to_dict() for r in self.fell_out],
            "potential_vip": [r.to_dict() for r in self.potential_vip],
            "vip_average": self.vip_average,
        }
        if self.per_month:
            data["months"] = [mv.to_dict() for mv in self.monthly]
            data["union"] = [u.to_dict() for u in self.union]
        return data


def tie_message(tie: Tie, scale: int = 1) -> str:
    return _("{tied} clients tie at {value} on the cut of “{tier}”: it has {actual} clients"
             " instead of {expected}").format(
        tied=tie.tied, value=format_value(_plain(tie.value, scale), scale),
        tier=_(TIER_LABELS[tie.tier]), actual=tie.actual, expected=tie.expected)


def format_header(criterion: str) -> str:
    """The column header of a criterion's values."""
    return _(CRITERIA.get(criterion, criterion))


def category_label(tier: str) -> str:
    """The organization category a tier becomes when applied (English msgid)."""
    from tui_crm.services.core.kinds import CATEGORY_CHOICES

    return CATEGORY_CHOICES[CATEGORY_OF_TIER[tier]]


def format_value(value: int | float | Decimal | None, scale: int) -> str:
    if value is None:
        return ""
    if scale == 100:
        return values.format_amount(Decimal(str(value)))
    if scale == 1000:
        text = f"{Decimal(str(value)).normalize():f}"
        return text.replace(".", ",") if get_language() == "ru" else text
    return str(value)

# --- the whole computation --------------------------------------------------------------------


@read
def segment(actor: Actor, criterion: str, period: str | list[str], scheme: str = "lenient", *,
            per_month: bool = False, share: Decimal | float | str = DEFAULT_SHARE,
            abc: tuple[Any, Any] = DEFAULT_ABC, averages: bool = True,
            engine: str = "auto") -> Segmentation:
    """Tier the clients that have a value in the period; with `per_month` also the monthly
    VIP table (VIPs, who entered, who dropped out, and the union over the span); always the
    Pareto figures, who fell out of VIP in the last month, potential VIPs, and averages per
    VIP (`averages` reads every criterion for them, not only the chosen one).

    `engine` is "auto" (the trigger-kept summaries on SQLite, one GROUP BY elsewhere),
    "summary" or "python" — the last two for tests that compare them.
    """
    months = parse_period(period) if isinstance(period, str) else list(period)
    check_scheme(scheme)
    share = Decimal(str(share))
    if not (0 < share < 1):
        raise ValidationError({"share": _("The VIP share must be between 0 and 100 %")})
    check_criterion(criterion)
    scale = SCALE[criterion]
    before = shift_month(months[0], -1)
    last, previous = months[-1], shift_month(months[-1], -1)
    source = values_source(actor, criterion, [before, *months], engine)

    span = source.span(months)
    items = rank(span)
    grand_total = sum(span.values())
    tiers_raw, ties = assign_tiers(items, scheme, share=share, abc=abc)
    vip_end, _tie = vip_part(items, share)
    vip_items = items[:vip_end]

    # Monthly VIP lists: the table (per month) and "fell out" (last month vs the one before).
    wanted = [before, *months] if per_month else [previous, last]
    stats = source.month_stats(wanted)
    month_vips = {key: source.month_vip(key, stats[key][0], share) for key in wanted}
    prev_rows = dict(month_vips[previous])
    last_vip = {i for i, _v in month_vips[last]}
    fell_ids = sorted(set(prev_rows) - last_vip, key=lambda i: (-prev_rows[i], i))
    fell_now = source.values(last, fell_ids)

    vip_average, potential = _vip_averages(actor, source, criterion, months, last, vip_items,
                                           averages, engine)

    book = _NameBook()
    book.want(fell_ids)
    book.want(i for i, _v in potential)

    def named(rows: Iterable[tuple[int, int]]) -> list[Ranked]:
        return [Ranked(i, book.get(i), _plain(v, scale)) for i, v in rows]

    fell_out = [Ranked(i, book.get(i), _plain(fell_now.get(i, 0), scale), 0,
                       _plain(prev_rows[i], scale)) for i in fell_ids]
    monthly: list[MonthVip] = []
    union_raw: list[tuple[int, int, int]] = []
    if per_month:
        monthly, union_raw = _monthly(source, months, before, month_vips, stats, span, book,
                                      scale)
    return Segmentation(
        criterion=criterion, scheme=scheme, months=months, paying_clients=len(items),
        total=_plain(grand_total, scale), tiers_raw=tiers_raw, ties=ties,
        pareto=pareto(items, vip_end, share, grand_total), curve=curve(items, total=grand_total),
        fell_out=fell_out,
        potential_vip=named(potential), vip_average=vip_average, per_month=per_month,
        monthly=monthly, scale=scale, union_raw=union_raw, book=book)


@dataclass
class Overlap:
    criterion_a: str
    criterion_b: str
    a: list[int]
    b: list[int]
    common: list[int]

    @property
    def pct_of_a(self) -> float:
        return round(100 * len(self.common) / len(self.a), 1) if self.a else 0.0

    @property
    def pct_of_b(self) -> float:
        return round(100 * len(self.common) / len(self.b), 1) if self.b else 0.0

    @property
    def jaccard_pct(self) -> float:
        union = len(set(self.a) | set(self.b))
        return round(100 * len(self.common) / union, 1) if union else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"criteria": [self.criterion_a, self.criterion_b], "a": len(self.a),
                "b": len(self.b), "common": len(self.common), "pct_of_a": self.pct_of_a,
                "pct_of_b": self.pct_of_b, "jaccard_pct": self.jaccard_pct}


def overlap(actor: Actor, period: str | list[str], criterion_a: str = "payments",
            criterion_b: str = "services", share: Decimal | float | str = DEFAULT_SHARE
            ) -> Overlap:
    """The VIP lists of the period by two criteria and how much they share (the seed: ~60 %)."""
    months = parse_period(period) if isinstance(period, str) else list(period)
    share = Decimal(str(share))
    lists = []
    for criterion in (criterion_a, criterion_b):
        items = rank(values_source(actor, criterion, months).span(months))
        end, _tie = vip_part(items, share)
        lists.append([i for i, _v in items[:end]])
    common_set = set(lists[0]) & set(lists[1])
    return Overlap(criterion_a, criterion_b, lists[0], lists[1],
                   [i for i in lists[0] if i in common_set])


def latest_month(today: dt.date | None = None) -> str:
    """The month of the newest payment (or this month), to default the period to."""
    newest = m.Payment.select(m.Payment.date).where(m.Payment.deleted_at.is_null()).order_by(
        m.Payment.date.desc()).limit(1).scalar()
    day = newest if isinstance(newest, dt.date) else (
        dt.date.fromisoformat(str(newest)[:10]) if newest else (today or dt.date.today()))
    return month_key(day.year, day.month)


# --- applying ---------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    changed: int
    unchanged: int
    cleared: int
    by_category: dict[str, int]
    silent_vips: int  # VIPs not contacted for 30 days: now in the follow-up queue

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@write
def apply(actor: Actor, result: Segmentation, *, clear_missing: bool = False,
          now: dt.datetime | None = None,
          progress: Callable[[int, int], None] | None = None) -> ApplyResult:
    """Write the tiers to the organizations' category (each change in the audit trail, all in
    one transaction). `clear_missing` sets "none" on categorized clients with no value in
    the period; otherwise they keep their category (a silent VIP stays in the queue)."""
    actor.require("organizations", "edit")
    if not actor.sees_all:
        raise PermissionDenied(_("Only the head of sales can apply categories to the whole base."))
    org = m.Organization
    wanted, current_category, todo = _changes(result, clear_missing)
    by_category = changes_by_category(todo)
    if len(todo) <= BULK_FROM:
        for done, (org_id, category) in enumerate(todo, start=1):
            records.update(actor, "organizations", org_id, {"category": category})
            if progress is not None and (done % 50 == 0 or done == len(todo)):
                progress(done, len(todo))
    else:
        _write_categories(actor, [(i, current_category[i], c) for i, c in todo], progress)
    now = now or m.now()
    silence = now - dt.timedelta(days=VIP_SILENCE_DAYS)
    vip_ids = [i for i, c in wanted.items() if c == "vip"]
    silent = 0
    for offset in range(0, len(vip_ids), 900):
        chunk = vip_ids[offset:offset + 900]
        silent += org.select().where(org.id.in_(chunk) & (
            org.last_contact_at.is_null() | (org.last_contact_at < silence))).count()
    return ApplyResult(len(todo), len(wanted) - len(todo), by_category.get("none", 0),
                       by_category, silent)


def _changes(result: Segmentation, clear_missing: bool
             ) -> tuple[dict[int, str], dict[int, str], list[tuple[int, str]]]:
    """(category wanted per organization, its category now, the (id, category) writes
    `apply` makes) — the one computation behind the confirmation's counts and the writes."""
    wanted = {org_id: CATEGORY_OF_TIER[tier] for org_id, tier in result.assignments().items()}
    org = m.Organization
    current_category = dict(org.select(org.id, org.category).where(
        org.deleted_at.is_null()).tuples())
    if clear_missing:
        for org_id, category in current_category.items():
            if org_id not in wanted and category not in ("none", "", None):
                wanted[org_id] = "none"
    todo = sorted((i, c) for i, c in wanted.items() if i in current_category
                  and current_category[i] != c)
    return wanted, current_category, todo


def changes_by_category(todo: list[tuple[int, str]]) -> dict[str, int]:
    by_category: dict[str, int] = {}
    for _i, category in todo:
        by_category[category] = by_category.get(category, 0) + 1
    return by_category


def planned_changes(result: Segmentation, *, clear_missing: bool = False
                    ) -> tuple[dict[str, int], int]:
    """What `apply` would do: organizations that get each category, and how many keep
    theirs — the confirmation shows exactly these."""
    wanted, _current, todo = _changes(result, clear_missing)
    return changes_by_category(todo), len(wanted) - len(todo)


def _write_categories(actor: Actor, changes: list[tuple[int, str, str]],
                      progress: Callable[[int, int], None] | None = None) -> None:
    """Many category changes at once, with exactly what `records.update` leaves behind for a
    category edit — the version bumped, updated at/by, one audit row per organization (the
    category is not in the search document, so the index is untouched) — in set-based SQL:
    `records.update` costs milliseconds per row, which is minutes for a large base.
    `WHERE category = old` skips a row someone changed meanwhile (their value stands)."""
    org = m.Organization
    stamp = m.now()
    groups: dict[tuple[str, str], list[int]] = {}
    for org_id, old, new in changes:
        groups.setdefault((old, new), []).append(org_id)
    done = 0
    for (old, new), ids in groups.items():
        for offset in range(0, len(ids), 500):
            chunk = ids[offset:offset + 500]
            written = [i for (i,) in org.select(org.id).where(
                org.id.in_(chunk) & (org.category == old) & org.deleted_at.is_null()).tuples()]
            if written:
                org.update(category=new, version=org.version + 1, updated_at=stamp,
                           updated_by=actor.user_id).where(org.id.in_(written)).execute()
                m.AuditLog.insert_many([
                    {"at": stamp, "user": actor.user_id, "action": "update",
                     "kind": "organizations", "record_id": i, "field": "category",
                     "old": old, "new": new, "details": ""} for i in written]).execute()
            done += len(chunk)
            if progress is not None:
                progress(done, len(changes))


def _vip_averages(actor: Actor, source: Any, criterion: str, months: list[str], last: str,
                  vip_items: list[tuple[int, int]], averages: bool, engine: str
                  ) -> tuple[dict[str, float], list[tuple[int, int]]]:
    """Averages per VIP per month (of every criterion the actor may read, with `averages`)
    and the potential VIPs: not VIP, the latest month at least the VIP average."""
    vip_average: dict[str, float] = {}
    if not vip_items:
        return vip_average, []
    scale = SCALE[criterion]
    n_months = len(months)
    vip_set = {i for i, _v in vip_items}
    vip_avg_scaled = sum(v for _i, v in vip_items) / len(vip_items) / n_months
    vip_average[criterion] = round(vip_avg_scaled / scale, 3)
    threshold = int(vip_avg_scaled) + (0 if vip_avg_scaled == int(vip_avg_scaled) else 1)
    potential = sorted(((i, v) for i, v in source.at_least(last, threshold).items()
                        if i not in vip_set), key=lambda item: (-item[1], item[0]))
    totals: dict[str, int] = {}
    if isinstance(source, SummaryValues) and source.sibling_span is not None:
        sibling = source.sibling_span[2]
        totals[source.sibling] = sum(sibling.get(i, 0) for i in vip_set)
    if averages:
        for other in CRITERIA:
            if other == criterion or other in totals:
                continue
            try:
                other_source = values_source(actor, other, months, engine)
            except PermissionDenied:
                continue
            if isinstance(other_source, SummaryValues):
                both = other_source.totals_for(months, vip_set)
                totals[other] = both[other_source.column]
                totals[other_source.sibling] = both[other_source.sibling_column]
            else:
                totals[other] = other_source.total_for(months, vip_set)
    for other, total in totals.items():
        vip_average[other] = round(total / len(vip_set) / n_months / SCALE[other], 3)
    return vip_average, potential


def _monthly(source: Any, months: list[str], before: str,
             month_vips: dict[str, list[tuple[int, int]]], stats: dict[str, Any],
             span: dict[int, int], book: _NameBook, scale: int
             ) -> tuple[list[MonthVip], list[tuple[int, int, int]]]:
    """The monthly VIP table (VIPs, who entered, who dropped out) and the union over the
    span: (client, months as VIP, value over the span)."""
    monthly: list[MonthVip] = []
    previous_rows = dict(month_vips[before])
    counts: dict[int, int] = {}
    for key in months:
        vip_rows = month_vips[key]
        current_rows = dict(vip_rows)
        dropped = sorted(set(previous_rows) - set(current_rows),
                         key=lambda i: (-previous_rows[i], i))
        dropped_now = source.values(key, dropped)
        paying, total = stats[key]
        book.want(current_rows)
        book.want(dropped)
        monthly.append(MonthVip(
            key, paying, _plain(total, scale),
            round(100 * sum(current_rows.values()) / total, 1) if total else 0.0,
            vip_rows, [(i, v) for i, v in vip_rows if i not in previous_rows],
            [(i, dropped_now.get(i, 0), previous_rows[i]) for i in dropped], scale, book))
        for i in current_rows:
            counts[i] = counts.get(i, 0) + 1
        previous_rows = current_rows
    union_raw = [(i, c, span.get(i, 0)) for i, c in sorted(
        counts.items(), key=lambda kv: (-kv[1], -span.get(kv[0], 0), kv[0]))]
    return monthly, union_raw
