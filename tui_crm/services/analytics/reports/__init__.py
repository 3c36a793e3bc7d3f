"""The report package of the seed: manager activity per day, department and manager reports,
meeting reports, the client-base audit by category, contact sources, field visits (table
5.10), payments by month, upcoming birthdays and the follow-up base.

Each report is a function returning a plain `Report` (columns, rows, totals, an optional
chart) that the TUI shows, the CLI prints and `export_xlsx` writes. Activity is counted from
logged events, deal stage moves (the audit trail) and payments — never typed in — except
lateness and "work journal sent", which a manager enters per day (`set_day_journal`).
Managers with "own" visibility see only their own figures; exporting needs the export right.

This module holds the registry (`REPORTS`, `build`), the .xlsx export and the period
parser; each report lives in its own module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tui_crm.db.database import read, write
from tui_crm.errors import ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.analytics.reports import activity, client_base, meetings
from tui_crm.services.analytics.reports.common import Report
from tui_crm.services.core import audit, server_files
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates

# --- the registry and export ------------------------------------------------------------------

REPORTS: dict[str, tuple[str, Callable[..., Report]]] = {
    "activity": (N_("Manager activity"), activity.activity),
    "department": (N_("Sales department"), activity.department),
    "manager": (N_("Manager report"), activity.manager_report),
    "meetings": (N_("Meeting reports"), meetings.meetings),
    "audit": (N_("Client-base audit"), client_base.client_audit),
    "sources": (N_("Contact sources"), client_base.sources),
    "visits": (N_("Field visits"), client_base.visits),
    "payments": (N_("Payments by month"), client_base.payments_by_month),
    "birthdays": (N_("Birthdays"), client_base.birthdays),
    "followups": (N_("Follow-up base"), client_base.followup_base),
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

