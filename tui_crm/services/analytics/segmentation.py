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
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import current, is_postgres, read, write
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import N_, _, get_language
from tui_crm.services.core import records, values, visibility
from tui_crm.services.core.rights import Actor

CRITERIA = {
    "payments": N_("Payment sum"),
    "services": N_("Services rendered, sum"),
    "count": N_("Number of payments"),
    "units": N_("Units of services"),
}
SCHEMES = {
    "lenient": N_("Lenient: VIP, good, regular"),
    "strict": N_("Strict: VIP, regular, difficult"),
    "abc": N_("ABC by cumulative share"),
}
SCHEMES_SHORT = {"lenient": N_("Lenient (good)"), "strict": N_("Strict (difficult)"),
                 "abc": N_("ABC")}
TIERS = {
    "lenient": ("vip", "good", "regular"),
    "strict": ("vip", "regular", "difficult"),
    "abc": ("A", "B", "C"),
}
TIER_LABELS = {"vip": N_("VIP"), "good": N_("Good"), "regular": N_("Regular"),
               "difficult": N_("Difficult"), "A": "A", "B": "B", "C": "C"}
# What each tier becomes in the organization's category when applied.
CATEGORY_OF_TIER = {"vip": "vip", "good": "good", "regular": "regular",
                    "difficult": "difficult", "A": "vip", "B": "good", "C": "regular"}
DEFAULT_SHARE = Decimal("0.2")
DEFAULT_ABC = (Decimal("0.80"), Decimal("0.95"))
MAX_MONTHS = 120
VIP_SILENCE_DAYS = 30
BULK_FROM = 300  # more category changes than this are written set-based (see _write_categories)

# Values are integers in these units, so sums and ties are exact.
SCALE = {"payments": 100, "services": 100, "count": 1, "units": 1000}
# criterion -> (table, SQL aggregate)
_SOURCE = {
    "payments": ("payment", "SUM(amount)"),
    "count": ("payment", "COUNT(*)"),
    "services": ("service_rendered", "SUM(amount)"),
    "units": ("service_rendered", "SUM(units)"),
}


# --- periods ----------------------------------------------------------------------------------

_MONTH = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})|(\d{1,2})\.(\d{4}))\s*$")


def _parse_month(text: str) -> tuple[int, int]:
    found = _MONTH.match(text)
    if found:
        year, month = (found.group(1), found.group(2)) if found.group(1) else (
            found.group(4), found.group(3))
        if 1 <= int(month) <= 12:
            return int(year), int(month)
    raise ValidationError({"period": _(
        "Not a month: {text!r}; write YYYY-MM or YYYY-MM..YYYY-MM").format(text=text)})


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift_month(key: str, delta: int) -> str:
    year, month = int(key[:4]), int(key[5:7])
    index = year * 12 + (month - 1) + delta
    return month_key(index // 12, index % 12 + 1)


def parse_period(text: str) -> list[str]:
    """"2026-01" or "2026-01..2026-06" (also "01.2026") → the months as "YYYY-MM"."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"period": _("Give a month or a span of months")})
    first_text, sep, last_text = text.partition("..")
    first = _parse_month(first_text)
    last = _parse_month(last_text) if sep else first
    if last < first:
        raise ValidationError({"period": _("The period ends before it starts")})
    count = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    if count > MAX_MONTHS:
        raise ValidationError({"period": _("A period can span at most {n} months").format(
            n=MAX_MONTHS)})
    start = month_key(*first)
    return [shift_month(start, i) for i in range(count)]


def period_text(months: list[str]) -> str:
    return months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"


def month_bounds(months: list[str]) -> tuple[dt.date, dt.date]:
    """The first day of the first month and the first day after the last month."""
    first = dt.date(int(months[0][:4]), int(months[0][5:7]), 1)
    after = shift_month(months[-1], 1)
    return first, dt.date(int(after[:4]), int(after[5:7]), 1)


# --- the rules on plain numbers (tested on hand-computed sets) --------------------------------


def check_scheme(scheme: str) -> None:
    """A ValidationError naming the schemes when `scheme` is not one of them."""
    if scheme not in SCHEMES:
        raise ValidationError({"scheme": _("Unknown scheme {name!r}; choose one of: {known}")
                               .format(name=scheme, known=", ".join(SCHEMES))})


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def top_count(n: int, share: Decimal = DEFAULT_SHARE) -> int:
    """20 % of n rounded to the nearest whole number (halves up), at least 1 (0 for none)."""
    if n <= 0:
        return 0
    return max(1, round_half_up(Decimal(n) * Decimal(share)))


@dataclass(frozen=True)
class Tie:
    """Clients tied at a cut all went to the upper tier, so the tier is bigger than 20 %."""

    tier: str
    value: int  # in scaled units
    expected: int
    actual: int
    tied: int  # clients with the value at the cut


def _take_top(items: list[tuple[int, int]], start: int, k: int) -> int:
    """End index of the k items from `start`, extended over everyone tied with the last."""
    end = min(start + k, len(items))
    if end <= start:
        return start
    cut = items[end - 1][1]
    while end < len(items) and items[end][1] == cut:
        end += 1
    return end


def rank(values_by_id: dict[int, int]) -> list[tuple[int, int]]:
    """Clients with a value, best first (ties by id, so the order is stable)."""
    return sorted(((i, v) for i, v in values_by_id.items() if v > 0),
                  key=lambda item: (-item[1], item[0]))


def vip_part(items: list[tuple[int, int]], share: Decimal = DEFAULT_SHARE
             ) -> tuple[int, Tie | None]:
    """How many of the ranked items are VIP, and the tie that widened the cut."""
    k = top_count(len(items), share)
    end = _take_top(items, 0, k)
    return end, (Tie("vip", items[end - 1][1], k, end, _count(items, items[end - 1][1]))
                 if end > k else None)


def _count(items: list[tuple[int, int]], value: int) -> int:
    return sum(1 for _i, v in items if v == value)


def assign_tiers(items: list[tuple[int, int]], scheme: str, *, share: Decimal = DEFAULT_SHARE,
                 abc: tuple[Decimal, Decimal] = DEFAULT_ABC
                 ) -> tuple[dict[str, list[tuple[int, int]]], list[Tie]]:
    """Split ranked (id, value) items into the scheme's tiers, in rank order."""
    check_scheme(scheme)
    n = len(items)
    tiers: dict[str, list[tuple[int, int]]] = {name: [] for name in TIERS[scheme]}
    ties: list[Tie] = []
    if scheme == "abc":
        a_limit, b_limit = (Decimal(str(x)) for x in abc)
        if not (0 < a_limit <= b_limit <= 1):
            raise ValidationError({"abc": _("ABC thresholds must be 0 < A ≤ B ≤ 100 %")})
        total = sum(v for _i, v in items)
        # Exact integer comparisons: before / total < a  ⇔  before · den < num · total.
        a_num, a_den = a_limit.as_integer_ratio()
        b_num, b_den = b_limit.as_integer_ratio()
        a_cut, b_cut = a_num * total, b_num * total
        before = 0
        previous: tuple[int, str] | None = None
        for item in items:
            if previous is not None and previous[0] == item[1]:
                tier = previous[1]  # equal values stay together, in the upper class
            elif before * a_den < a_cut:
                tier = "A"
            elif before * b_den < b_cut:
                tier = "B"
            else:
                tier = "C"
            tiers[tier].append(item)
            previous = (item[1], tier)
            before += item[1]
        return tiers, ties
    vip_end, tie = vip_part(items, share)
    if tie:
        ties.append(tie)
    tiers["vip"] = items[:vip_end]
    if scheme == "lenient":
        rest = n - vip_end
        k = top_count(rest, share)
        good_end = _take_top(items, vip_end, k)
        if good_end - vip_end > k:
            ties.append(Tie("good", items[good_end - 1][1], k, good_end - vip_end,
                            _count(items, items[good_end - 1][1])))
        tiers["good"] = items[vip_end:good_end]
        tiers["regular"] = items[good_end:]
    else:
        k = top_count(n, share)
        start = max(n - k, vip_end)
        moved = start
        while 0 < moved < n and items[moved][1] == items[moved - 1][1]:
            moved += 1  # tied with the client above the cut: stays "regular"
        if moved != start:
            ties.append(Tie("difficult", items[start][1], k, n - moved,
                            _count(items, items[start][1])))
        tiers["regular"] = items[vip_end:moved]
        tiers["difficult"] = items[moved:]
    return tiers, ties


@dataclass(frozen=True)
class ParetoFigure:
    """"x % of clients bring y % of the criterion"."""

    key: str  # top20 / vip / to80
    clients: int
    clients_pct: float
    value_pct: float

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "clients": self.clients, "clients_pct": self.clients_pct,
                "value_pct": self.value_pct}


def pareto(items: list[tuple[int, int]], vip_size: int, share: Decimal = DEFAULT_SHARE,
           total: int | None = None) -> list[ParetoFigure]:
    """The top 20 % (exactly, ties not widened), the VIP set, and the fewest clients that
    bring 80 % of the criterion."""
    n = len(items)
    total = sum(v for _i, v in items) if total is None else total
    if n == 0 or total <= 0:
        return []

    def figure(key: str, count: int) -> ParetoFigure:
        part = sum(v for _i, v in items[:count])
        return ParetoFigure(key, count, round(100 * count / n, 1), round(100 * part / total, 1))

    running, to80 = 0, n
    for index, (_i, v) in enumerate(items, start=1):
        running += v
        if running * 10 >= total * 8:
            to80 = index
            break
    return [figure("top20", top_count(n, share)), figure("vip", vip_size), figure("to80", to80)]


def curve(items: list[tuple[int, int]], points: int = 50, total: int | None = None
          ) -> list[tuple[float, float]]:
    """The Pareto curve: (share of clients %, cumulative share of the criterion %)."""
    n = len(items)
    total = sum(v for _i, v in items) if total is None else total
    if n == 0 or total <= 0:
        return []
    out = [(0.0, 0.0)]
    running = 0
    step = max(1, n // points)
    for index, (_i, v) in enumerate(items, start=1):
        running += v
        if index % step == 0 or index == n:
            out.append((round(100 * index / n, 2), round(100 * running / total, 2)))
    return out


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
            self.names.update(_names(self.wanted - set(self.names)))
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


# --- reading the database ---------------------------------------------------------------------


def _visible_owner_sql(actor: Actor) -> tuple[str, list[Any]]:
    """A SQL condition on `organization_id` keeping the clients the actor sees (a client's
    money follows the client)."""
    if actor.sees_all:
        return "", []
    sql, params = visibility.visible_ids_sql(actor, "organizations")
    return f" AND organization_id IN ({sql})", params


def check_criterion(criterion: str) -> None:
    """A ValidationError naming the criteria when `criterion` is not one of them."""
    if criterion not in CRITERIA:
        raise ValidationError({"criterion": _(
            "Unknown criterion {name!r}; choose one of: {known}").format(
                name=criterion, known=", ".join(CRITERIA))})


_SUMMARY = {"payment": "payment_month", "service_rendered": "service_month"}
_SUMMARY_COLUMN = {"payments": "cents", "count": "n", "services": "cents", "units": "milli"}
_SIBLING = {"payments": "count", "count": "payments", "services": "units", "units": "services"}


def _uses_summary(db: Any = None) -> bool:
    """SQLite keeps monthly summaries by trigger (schema step 4); PostgreSQL groups directly."""
    db = db or current()
    return not is_postgres(db) and "payment_month" in db.get_tables()


class _Values:
    """One criterion's values per organization and month, with the few questions the
    categories ask of them. Values are integers in the criterion's scaled units."""

    def span(self, months: list[str]) -> dict[int, int]:
        raise NotImplementedError

    def month_stats(self, months: list[str]) -> dict[str, tuple[int, int]]:
        """month → (clients with a value, total)."""
        raise NotImplementedError

    def month_vip(self, month: str, paying: int, share: Decimal) -> list[tuple[int, int]]:
        """The month's VIP rows, best first, widened over ties at the cut."""
        raise NotImplementedError

    def values(self, month: str, ids: Iterable[int]) -> dict[int, int]:
        raise NotImplementedError

    def at_least(self, month: str, threshold: int) -> dict[int, int]:
        raise NotImplementedError

    def total_for(self, months: list[str], ids: Iterable[int]) -> int:
        raise NotImplementedError


class _PythonValues(_Values):
    """Values fetched with one GROUP BY (organization, month) and answered in Python."""

    def __init__(self, data: dict[str, dict[int, int]]) -> None:
        self.data = data

    def span(self, months: list[str]) -> dict[int, int]:
        total: dict[int, int] = {}
        for key in months:
            for org_id, value in self.data.get(key, {}).items():
                total[org_id] = total.get(org_id, 0) + value
        return {i: v for i, v in total.items() if v > 0}

    def month_stats(self, months: list[str]) -> dict[str, tuple[int, int]]:
        out = {}
        for key in months:
            live = [v for v in self.data.get(key, {}).values() if v > 0]
            out[key] = (len(live), sum(live))
        return out

    def month_vip(self, month: str, paying: int, share: Decimal) -> list[tuple[int, int]]:
        items = rank(self.data.get(month, {}))
        end, _tie = vip_part(items, share)
        return items[:end]

    def values(self, month: str, ids: Iterable[int]) -> dict[int, int]:
        bucket = self.data.get(month, {})
        return {i: bucket[i] for i in ids if bucket.get(i, 0) > 0}

    def at_least(self, month: str, threshold: int) -> dict[int, int]:
        return {i: v for i, v in self.data.get(month, {}).items() if v >= threshold and v > 0}

    def total_for(self, months: list[str], ids: Iterable[int]) -> int:
        wanted = set(ids)
        return sum(v for key in months for i, v in self.data.get(key, {}).items()
                   if i in wanted)


class _SummaryValues(_Values):
    """Values read from the trigger-kept monthly summary (SQLite): the month cuts are found
    through the (month, value) index, so only VIP rows and span totals are ever fetched."""

    def __init__(self, actor: Actor, criterion: str) -> None:
        self.db = current()
        self.table = _SUMMARY[_SOURCE[criterion][0]]
        self.column = _SUMMARY_COLUMN[criterion]
        self.sibling = _SIBLING[criterion]
        self.sibling_column = _SUMMARY_COLUMN[self.sibling]
        self.sibling_span: tuple[str, str, dict[int, int]] | None = None
        owner_sql, owner_params = _visible_owner_sql(actor)
        # Deleted organizations' money does not rank anyone.
        self.filter = (" AND organization_id NOT IN (SELECT id FROM organization"
                       " WHERE deleted_at IS NOT NULL)" + owner_sql)
        self.params = owner_params

    def _rows(self, sql: str, params: list[Any]) -> list[tuple]:
        return self.db.execute_sql(sql, [*params, *self.params]).fetchall()

    def span(self, months: list[str]) -> dict[int, int]:
        # The sibling column (count beside the sum, units beside services) comes along for
        # free and answers the averages of that criterion without another pass.
        c, other = self.column, self.sibling_column
        out: dict[int, int] = {}
        sibling: dict[int, int] = {}
        # Over several months, walking the primary key (organization, month) groups as it
        # reads — 4× faster than the month index plus a sort; "+month" keeps SQLite off the
        # index. A single month reads its slice of the month index instead.
        month = "+month" if len(months) >= 3 else "month"
        for org_id, value, second in self._rows(
                f"SELECT organization_id, SUM({c}), SUM({other}) FROM {self.table}"
                f" WHERE {month} >= ? AND {month} <= ?{self.filter} GROUP BY organization_id"
                f" HAVING SUM({c}) > 0", [months[0], months[-1]]):
            out[org_id] = value
            sibling[org_id] = second
        self.sibling_span = (months[0], months[-1], sibling)
        return out

    def month_stats(self, months: list[str]) -> dict[str, tuple[int, int]]:
        c = self.column
        found = {month: (n, total or 0) for month, n, total in self._rows(
            f"SELECT month, COUNT(*), SUM({c}) FROM {self.table} WHERE month >= ?"
            f" AND month <= ? AND {c} > 0{self.filter} GROUP BY month", [months[0], months[-1]])}
        return {key: found.get(key, (0, 0)) for key in months}

    def month_vip(self, month: str, paying: int, share: Decimal) -> list[tuple[int, int]]:
        k = top_count(paying, share)
        if k == 0:
            return []
        c = self.column
        cut = self._rows(f"SELECT {c} FROM {self.table} WHERE month = ? AND {c} > 0{self.filter}"
                         f" ORDER BY {c} DESC LIMIT 1 OFFSET {k - 1}", [month])
        if not cut:
            return []
        rows = self._rows(f"SELECT organization_id, {c} FROM {self.table} WHERE month = ?"
                          f" AND {c} >= {int(cut[0][0])}{self.filter}", [month])
        return sorted(rows, key=lambda item: (-item[1], item[0]))

    def values(self, month: str, ids: Iterable[int]) -> dict[int, int]:
        ids = list(ids)
        out: dict[int, int] = {}
        c = self.column
        for offset in range(0, len(ids), 900):
            chunk = ids[offset:offset + 900]
            marks = ", ".join("?" * len(chunk))
            out.update(self._rows(
                f"SELECT organization_id, {c} FROM {self.table} WHERE month = ? AND {c} > 0"
                f" AND organization_id IN ({marks}){self.filter}", [month, *chunk]))
        return out

    def at_least(self, month: str, threshold: int) -> dict[int, int]:
        c = self.column
        return dict(self._rows(
            f"SELECT organization_id, {c} FROM {self.table} WHERE month = ?"
            f" AND {c} >= {max(1, int(threshold))}{self.filter}", [month]))

    def total_for(self, months: list[str], ids: Iterable[int]) -> int:
        return self.totals_for(months, ids)[self.column]

    def totals_for(self, months: list[str], ids: Iterable[int]) -> dict[str, int]:
        """Both columns of the table summed over `ids` (one pass for two criteria)."""
        ids = list(ids)
        totals = {self.column: 0, self.sibling_column: 0}
        c, other = self.column, self.sibling_column
        for offset in range(0, len(ids), 900):
            chunk = ids[offset:offset + 900]
            marks = ", ".join("?" * len(chunk))
            row = self._rows(
                f"SELECT SUM({c}), SUM({other}) FROM {self.table} WHERE organization_id IN"
                f" ({marks}) AND month >= ? AND month <= ?{self.filter}",
                [*chunk, months[0], months[-1]])
            totals[c] += int(row[0][0] or 0)
            totals[other] += int(row[0][1] or 0)
        return totals


def _values(actor: Actor, criterion: str, months: list[str], engine: str = "auto") -> _Values:
    """The values of a criterion over `months` (rights checked here)."""
    check_criterion(criterion)
    actor.require("payments" if _SOURCE[criterion][0] == "payment" else "services", "view")
    if engine == "summary" or (engine == "auto" and _uses_summary()):
        return _SummaryValues(actor, criterion)
    return _PythonValues(monthly_values(actor, criterion, months))


def monthly_values(actor: Actor, criterion: str, months: list[str]
                   ) -> dict[str, dict[int, int]]:
    """month → {organization id → value in scaled integer units}: one GROUP BY over the raw
    payments or services (PostgreSQL, and a check on the summaries)."""
    check_criterion(criterion)
    table, aggregate = _SOURCE[criterion]
    actor.require("payments" if table == "payment" else "services", "view")
    db = current()
    scale = SCALE[criterion]
    start, end = month_bounds(months)
    p = db.param
    month_expr = "to_char(date, 'YYYY-MM')" if is_postgres(db) else "substr(date, 1, 7)"
    owner_sql, owner_params = _visible_owner_sql(actor)
    sql = (f"SELECT organization_id, {month_expr} AS month, {aggregate} FROM {table}"
           f" WHERE date >= {p} AND date < {p} AND deleted_at IS NULL"
           f" AND organization_id IS NOT NULL{owner_sql} GROUP BY organization_id, month")
    params: list[Any] = [start, end, *owner_params]
    if not is_postgres(db):
        params[:2] = [start.isoformat(), end.isoformat()]
    out: dict[str, dict[int, int]] = {k: {} for k in months}
    for org_id, month, value in db.execute_sql(sql, params):
        bucket = out.get(month)
        if bucket is not None and value:
            bucket[org_id] = int(round(value * scale))
    gone = _deleted_organizations()
    if gone:
        for bucket in out.values():
            for org_id in gone.intersection(bucket):
                del bucket[org_id]
    return out


def _deleted_organizations() -> set[int]:
    return {row[0] for row in m.Organization.select(m.Organization.id).where(
        m.Organization.deleted_at.is_null(False)).tuples()}


def _names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    db = current()
    if len(wanted) > 5000:
        return {i: n for i, n in db.execute_sql("SELECT id, name FROM organization")
                if i in wanted}
    out: dict[int, str] = {}
    chunk = list(wanted)
    org = m.Organization
    for offset in range(0, len(chunk), 900):
        out.update(org.select(org.id, org.name).where(
            org.id.in_(chunk[offset:offset + 900])).tuples())
    return out


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
    source = _values(actor, criterion, [before, *months], engine)

    span = source.span(months)
    items = rank(span)
    grand_total = sum(span.values())
    tiers_raw, ties = assign_tiers(items, scheme, share=share, abc=abc)
    vip_end, _tie = vip_part(items, share)
    vip_items = items[:vip_end]
    vip_set = {i for i, _v in vip_items}

    # Monthly VIP lists: the table (per month) and "fell out" (last month vs the one before).
    wanted = [before, *months] if per_month else [previous, last]
    stats = source.month_stats(wanted)
    month_vips = {key: source.month_vip(key, stats[key][0], share) for key in wanted}
    prev_rows = dict(month_vips[previous])
    last_vip = {i for i, _v in month_vips[last]}
    fell_ids = sorted(set(prev_rows) - last_vip, key=lambda i: (-prev_rows[i], i))
    fell_now = source.values(last, fell_ids)

    # Averages per VIP per month; potential VIP = not VIP, latest month ≥ the VIP average.
    n_months = len(months)
    vip_average: dict[str, float] = {}
    potential: list[tuple[int, int]] = []
    if vip_items:
        vip_avg_scaled = sum(v for _i, v in vip_items) / len(vip_items) / n_months
        vip_average[criterion] = round(vip_avg_scaled / scale, 3)
        threshold = int(vip_avg_scaled) + (0 if vip_avg_scaled == int(vip_avg_scaled) else 1)
        potential = sorted(((i, v) for i, v in source.at_least(last, threshold).items()
                            if i not in vip_set), key=lambda item: (-item[1], item[0]))
        totals: dict[str, int] = {}
        if isinstance(source, _SummaryValues) and source.sibling_span is not None:
            sibling = source.sibling_span[2]
            totals[source.sibling] = sum(sibling.get(i, 0) for i in vip_set)
        if averages:
            for other in CRITERIA:
                if other == criterion or other in totals:
                    continue
                try:
                    other_source = _values(actor, other, months, engine)
                except PermissionDenied:
                    continue
                if isinstance(other_source, _SummaryValues):
                    both = other_source.totals_for(months, vip_set)
                    totals[other] = both[other_source.column]
                    totals[other_source.sibling] = both[other_source.sibling_column]
                else:
                    totals[other] = other_source.total_for(months, vip_set)
        for other, total in totals.items():
            vip_average[other] = round(total / len(vip_set) / n_months / SCALE[other], 3)

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
        items = rank(_values(actor, criterion, months).span(months))
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
