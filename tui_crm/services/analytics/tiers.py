"""The category rules on plain numbers, with no database: periods of months, the VIP share,
the tiers of each scheme (lenient, strict, ABC), ties at a boundary, Pareto figures and the
curve. Tested on hand-computed sets; `segmentation` applies them to what clients paid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tui_crm.errors import ValidationError
from tui_crm.i18n import N_, _

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


