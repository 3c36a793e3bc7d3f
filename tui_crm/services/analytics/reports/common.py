"""What every report is made of: the `Report` (columns, rows, totals, chart), how a cell is
shown, and the scope helpers (which managers, which days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import DoesNotExist

from tui_crm.db import models as m
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import N_, _, get_language
from tui_crm.services.core import lookups, values, visibility
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"),
          N_("July"), N_("August"), N_("September"), N_("October"), N_("November"),
          N_("December"))
MAX_DAYS = 370


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
                "rows": [json_row(r) for r in self.rows],
                "totals": json_row(self.totals) if self.totals is not None else None,
                "chart": self.chart.to_dict() if self.chart else None, "notes": self.notes}


def json_row(row: dict[str, Any]) -> dict[str, Any]:
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
        return values.format_percent(value)
    if kind == "decimal":
        text = f"{Decimal(str(value)).normalize():f}"
        return text.replace(".", ",") if get_language() == "ru" else text
    return str(value)


# --- scope: which managers, which days --------------------------------------------------------


def user_by_ref(ref: str | int | None) -> m.User:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        user = m.User.get_or_none(m.User.id == int(ref))
    else:
        user = m.User.get_or_none(m.User.login == str(ref).strip())
        if user is None:
            try:
                user = m.User.get_by_id(lookups.resolve("user", str(ref), {}))
            except (ValueError, DoesNotExist):  # peewee's base of User.DoesNotExist
                user = None
    if user is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=ref))
    return user


def may_see_user(actor: Actor, user: m.User) -> bool:
    return visibility.sees_user(actor, user.id)


def report_days(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValidationError({"to": _("The period ends before it starts")})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"to": _("A report covers at most {n} days").format(n=MAX_DAYS)})
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def report_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.combine(start, dt.time()), dt.datetime.combine(
        end + dt.timedelta(days=1), dt.time())


def manager_scope(actor: Actor, manager: str | int | None) -> list[m.User]:
    """The managers the report covers: the one asked for (if the actor may see them), else
    everyone the actor sees (own / group / all), viewers left out."""
    actor.require("reports", "view")
    if manager not in (None, ""):
        user = user_by_ref(manager)
        if not may_see_user(actor, user):
            raise PermissionDenied(_("You can only see your own figures."))
        return [user]
    query = m.User.select().where(m.User.role != "viewer").order_by(m.User.full_name,
                                                                     m.User.login)
    users = [u for u in query if may_see_user(actor, u)]
    if not users and actor.user_id is not None:
        users = [user_by_ref(actor.user_id)]
    return users


def weekday_name(day: dt.date) -> str:
    return _(WEEKDAYS[day.weekday()])


def month_name(day: dt.date) -> str:
    return f"{_(MONTHS[day.month - 1])} {day.year}"


def as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value)[:19])


def id_chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for offset in range(0, len(ids), size):
        yield ids[offset:offset + size]


