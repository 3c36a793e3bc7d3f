"""Exporting a table as filtered on screen to .xlsx, .csv, .ods, .html, .txt and .docx (and,
through vcard_export / icalendar_export, to .vcf and .ics); every writer reads through
export_views.

The rows are the ones `records.list_records` gives for the same ListQuery (text, filters,
sort) and the actor's visibility, streamed from SQL by `export_rows` (cells as
`cell_value` makes them from a RecordView, without building views); the headers are the
labels as shown (renamed fields, custom fields). Text that a spreadsheet would run as a
formula is neutralized: prefixed with an apostrophe in CSV (the rule, which leaves phones
as they are, is csv_export's), stored as a string cell in .xlsx and .ods.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tui_crm.db.database import write
from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import _, get_language
from tui_crm.services.core import audit, records, server_files, settings, values
from tui_crm.services.core.kinds import POINT_TYPES
from tui_crm.services.core.records import ListQuery, RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import (
    csv_export,
    docx_export,
    export_rows,
    icalendar_export,
    ods_export,
    org_names,
    vcard_export,
)
from tui_crm.services.transfer.export_views import (  # part of this module's API
    Column,
    Progress,
    columns,
    points_text,
)

FORMATS = ("xlsx", "csv", "ods", "html", "txt", "docx", "vcf", "ics")
DOCX_MAX_ROWS = 5000  # a Word table of more rows takes minutes to write and to open
TXT_MAX_WIDTH = 40
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ExportError(CrmError):
    exit_code = 2


@dataclass
class ExportResult:
    path: Path
    format: str
    rows: int
    columns: list[str]
    warnings: list[str] = field(default_factory=list)
    encoding: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {"file": str(self.path), "format": self.format, "rows": self.rows,
               "columns": self.columns, "warnings": self.warnings}
        if self.encoding:
            out["encoding"] = self.encoding
        return out


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The export format: given, or told by the file name."""
    chosen = (fmt or Path(path).suffix.lstrip(".")).lower()
    if chosen in ("vcard",):
        chosen = "vcf"
    if chosen in ("ical", "icalendar"):
        chosen = "ics"
    if chosen not in FORMATS:
        raise ValidationError({"format": _("Unknown format {name!r}; choose one of: {known}")
                               .format(name=chosen, known=", ".join(FORMATS))})
    return chosen


def cell_value(view: RecordView, column: Column, *, typed: bool) -> Any:
    """A cell: display text, or (`typed`, for .xlsx) dates and numbers as such.

    The reference for a cell's form: `export_rows` makes the same from SQL rows, and the
    tests compare the two."""
    name, kind = column.name, column.type
    if kind in POINT_TYPES:
        return points_text(view.points, POINT_TYPES[kind])
    if kind == "tags":
        return ", ".join(view.tags)
    value = view.get(name)
    if typed and value is not None and not column.spec.is_reference:
        if kind in ("date", "datetime") and isinstance(value, dt.date):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "decimal" and isinstance(value, Decimal | int | float):
            return Decimal(value)
    if kind == "decimal" and isinstance(value, Decimal | int | float):
        return export_rows.decimal_text(value, get_language() == "ru")
    text = view.display.get(name)
    if kind == "organization" and text and value:  # a shared name with its INN (org_names)
        text = org_names.Namesakes().names([value]).get(value, text)
    if text is None:
        text = values.display(kind, value, choices=column.spec.choices)
    return text


# --- writers ----------------------------------------------------------------------------------


def _write_xlsx(path: Path, header: list[str], rows: Iterator[list[Any]], title: str,
                widths: list[int]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 60)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=_xml_text(text))
        cell.font = bold
        if text.startswith("="):
            cell.data_type = "s"
        head.append(cell)
    sheet.append(head)
    count = 0
    append = sheet.append
    for row in rows:
        out: list[Any] = []
        for value in row:
            if isinstance(value, str):
                if not value:
                    value = None  # no cell at all: an empty one reads back the same
                else:
                    if not value.isprintable():  # only then can it hold a control char
                        value = _xml_text(value)
                    if value[:1] == "=":
                        # openpyxl makes text beginning with "=" a formula: store a string.
                        cell = WriteOnlyCell(sheet, value=value)
                        cell.data_type = "s"
                        value = cell
            elif isinstance(value, Decimal):
                value = float(value)
            elif isinstance(value, dt.date) and value.year < 1900:
                # Excel's dates start in 1900 (a birthday stored without its year is in
                # 1604): written as the ISO text, which the importer reads back
                value = value.isoformat()
            out.append(value)
        append(out)
        count += 1
    workbook.save(path)
    return count


def _xml_text(text: str) -> str:
    return _ILLEGAL_XML.sub("", text)


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip() or "Sheet"
    return cleaned[:31]


def _write_html(path: Path, header: list[str], rows: Iterator[list[Any]], title: str) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                     f"<title>{html.escape(title)}</title>"
                     "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
                     "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}"
                     "th{background:#eee}</style></head><body>\n"
                     f"<h1>{html.escape(title)}</h1>\n<table>\n<thead><tr>")
        handle.write("".join(f"<th>{html.escape(h)}</th>" for h in header))
        handle.write("</tr></thead>\n<tbody>\n")
        for row in rows:
            cells = "".join(
                "<td>" + html.escape(str(v)).replace("\n", "<br>") + "</td>" for v in row)
            handle.write(f"<tr>{cells}</tr>\n")
            count += 1
        handle.write("</tbody></table>\n</body></html>\n")
    return count


def _fit(text: str, width: int) -> str:
    text = " / ".join(str(text).splitlines())
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


def _write_txt(path: Path, header: list[str], rows: list[list[Any]]) -> int:
    widths = [len(h) for h in header]
    for row in rows[:2000]:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(" / ".join(str(v).splitlines())))
    widths = [min(w, TXT_MAX_WIDTH) for w in widths]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("  ".join(_fit(h, w) for h, w in zip(header, widths, strict=True))
                     .rstrip() + "\n")
        handle.write("  ".join("-" * w for w in widths) + "\n")
        for row in rows:
            handle.write("  ".join(_fit(v, w) for v, w in zip(row, widths, strict=True))
                         .rstrip() + "\n")
    return len(rows)


# --- the service ------------------------------------------------------------------------------


def export(actor: Actor, kind: str, path: str | Path, fmt: str | None = None, *,
           query: ListQuery | None = None, fields: list[str] | None = None,
           delimiter: str | None = None, progress: Progress | None = None,
           vcard_version: str = "3.0", encoding: str | None = None,
           time_zone: str | None = None) -> ExportResult:
    """Write the records `query` matches (as the table shows them) to a file.

    `encoding` is the CSV's (UTF-8 with a BOM by default, or cp1251); `time_zone` the
    .ics file's (by default the company's, see icalendar_export)."""
    path = Path(path).expanduser()
    fmt = format_of(path, fmt)
    csv_codec = csv_export.codec(encoding)
    if csv_codec != "utf-8" and fmt != "csv":
        raise ValidationError({"encoding": _("Only CSV files are written in another encoding;"
                                             " .{format} is always UTF-8.").format(format=fmt)})
    records.kind_spec(kind)
    actor.require(kind, "view")
    actor.require(kind, "export")
    server_files.check(actor, path)
    if not path.parent.exists():
        raise ExportError(_("The folder {path} does not exist.").format(path=path.parent))
    if fmt == "vcf":
        count = vcard_export.export_file(actor, kind, path, query=query, version=vcard_version,
                                  progress=progress)
        _logged(actor, kind, fmt, path, count, query)
        return ExportResult(path, fmt, count, [])
    if fmt == "ics":
        if kind not in ("events", "tasks"):
            raise ValidationError({"format": _("Only events and tasks can be exported to"
                                               " iCalendar.")})
        count = icalendar_export.export_file(actor, path, query=query, kind=kind,
                                             time_zone=time_zone)
        _logged(actor, kind, fmt, path, count, query)
        return ExportResult(path, fmt, count, [])
    cols = columns(kind, fields)
    header = [c.label for c in cols]
    typed = fmt in ("xlsx", "ods")
    title = settings.section_name(kind)

    def rows() -> Iterator[list[Any]]:
        return export_rows.stream_rows(actor, kind, query, cols, typed=typed,
                                       progress=progress)

    def pages() -> Iterator[export_rows.Columns]:
        return export_rows.stream_pages(actor, kind, query, cols, typed=typed,
                                        progress=progress)

    if fmt == "docx":
        total = records.count(actor, kind, query or ListQuery())
        if total > DOCX_MAX_ROWS:
            raise ExportError(_("{count} rows are too many for a Word table (at most {limit});"
                                " export to .xlsx or narrow the filter.").format(
                count=total, limit=DOCX_MAX_ROWS))
    warnings: list[str] = []
    try:
        if fmt == "csv":
            count, warnings = csv_export.write(path, header, pages(), delimiter=delimiter,
                                               encoding=csv_codec)
        elif fmt in ("xlsx", "ods"):
            widths = [max(len(h) + 2, c.spec.width) for h, c in zip(header, cols, strict=True)]
            writer = _write_xlsx if fmt == "xlsx" else ods_export.write
            count = writer(path, header, rows(), title, widths)
        elif fmt == "html":
            count = _write_html(path, header, rows(), title)
        elif fmt == "txt":
            count = _write_txt(path, header, list(rows()))
        else:
            count = docx_export.write(path, header, list(rows()), title)
    except OSError as exc:
        raise ExportError(_("Cannot write {path}: {reason}").format(
            path=path, reason=exc.strerror or exc)) from None
    _logged(actor, kind, fmt, path, count, query)
    return ExportResult(path, fmt, count, header, warnings,
                        csv_codec if fmt == "csv" else "")


@write
def _logged(actor: Actor, kind: str, fmt: str, path: Path, count: int,
            query: ListQuery | None) -> None:
    details = {"format": fmt, "file": str(path), "rows": count}
    if query is not None and (query.text or query.filters):
        details["query"] = query.text
        details["filters"] = {k: str(v) for k, v in query.filters.items()}
    audit.log(actor, "export", kind, None, details=json.dumps(details, ensure_ascii=False))
