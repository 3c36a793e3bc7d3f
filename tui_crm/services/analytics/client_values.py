"""What each client paid per month, read from the database for the categories: one SQL
`GROUP BY organization, month` over the period (or the monthly summary tables where the
backend keeps them), as integers (kopecks, thousandths of a unit) so ties are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import current
from tui_crm.errors import ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.analytics.tiers import (
    month_bounds,
    rank,
    top_count,
    vip_part,
)
from tui_crm.services.core import visibility
from tui_crm.services.core.rights import Actor

CRITERIA = {
    "payments": N_("Payment sum"),
    "services": N_("Services rendered, sum"),
    "count": N_("Number of payments"),
    "units": N_("Units of services"),
}

# Values are integers in these units, so sums and ties are exact.
SCALE = {"payments": 100, "services": 100, "count": 1, "units": 1000}
# criterion -> (table, SQL aggregate)
_SOURCE = {
    "payments": ("payment", "SUM(amount)"),
    "count": ("payment", "COUNT(*)"),
    "services": ("service_rendered", "SUM(amount)"),
    "units": ("service_rendered", "SUM(units)"),
}


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
    return backend(db or current()).has_monthly_summary()


class Values:
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


class PythonValues(Values):
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


class SummaryValues(Values):
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


def values_source(actor: Actor, criterion: str, months: list[str], engine: str = "auto") -> Values:
    """The values of a criterion over `months` (rights checked here)."""
    check_criterion(criterion)
    actor.require("payments" if _SOURCE[criterion][0] == "payment" else "services", "view")
    if engine == "summary" or (engine == "auto" and _uses_summary()):
        return SummaryValues(actor, criterion)
    return PythonValues(monthly_values(actor, criterion, months))


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
    month_expr = backend(db).month_expr("date")
    owner_sql, owner_params = _visible_owner_sql(actor)
    sql = (f"SELECT organization_id, {month_expr} AS month, {aggregate} FROM {table}"
           f" WHERE date >= {p} AND date < {p} AND deleted_at IS NULL"
           f" AND organization_id IS NOT NULL{owner_sql} GROUP BY organization_id, month")
    params: list[Any] = [backend(db).date_param(start), backend(db).date_param(end),
                         *owner_params]
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


def client_names(ids: Iterable[int]) -> dict[int, str]:
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


