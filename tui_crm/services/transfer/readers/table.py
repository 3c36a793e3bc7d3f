"""A file read as a table: the SourceTable, the cells as text, and the header row found
(under a title, or two rows of merged cells flattened).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from tui_crm.errors import CrmError
from tui_crm.i18n import _
from tui_crm.services.transfer.readers.aliases import all_alias_keys, header_key, pattern_target
from tui_crm.text import dates

MAX_ROWS = 500_000


HEADER_SCAN = 20  # rows searched for the header


P = ParamSpec("P")


T = TypeVar("T")


class ImportFileError(CrmError):
    """The file cannot be read as a table: named, with what to do about it."""

    exit_code = 2


@dataclass
class SourceTable:
    """A file read as a table: the header, the data rows and what was detected."""

    path: Path
    format: str  # csv / xlsx / xls / ods / vcf
    headers: list[str]
    rows: list[list[Any]]
    first_row: int  # the file's row number of rows[0] (1-based, as a spreadsheet shows it)
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)  # row → a reader's problem (vCard)
    date_order: str = ""  # "mdy": dates like 2/1/1985 are month first (Outlook in English)
    used: dict[int, str] = field(default_factory=dict)  # column → what the reader took it for

    def samples(self, column: int, count: int = 3) -> list[str]:
        """The first non-empty values of a column, for the mapping screen."""
        found: list[str] = []
        for row in self.rows:
            if column < len(row):
                text = cell_text(row[column])
                if text.strip():
                    found.append(text.strip())
                    if len(found) >= count:
                        break
        return found


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ".0", dates as the user writes them."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return dates.format_date(value.date())
        return dates.format_datetime(value)
    if isinstance(value, dt.date):
        return dates.format_date(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


def looks_like_data(text: str) -> bool:
    value = text.strip()
    if not value:
        return False
    if "@" in value or sum(ch.isdigit() for ch in value) >= max(3, len(value) // 2):
        return True
    return False


def with_header(path: Path, fmt: str, rows: list[list[Any]], **extra: Any) -> SourceTable:
    """Find the header row (the best-known names among the first rows) and cut the table."""
    if len(rows) > MAX_ROWS + HEADER_SCAN:
        raise ImportFileError(_("{name} has {count} rows; at most {limit} are imported at"
                                " once. Split the file.").format(
            name=path.name, count=len(rows), limit=MAX_ROWS))
    known = all_alias_keys()  # the column names the importer knows
    best_index, best_score = -1, 0
    for index, row in enumerate(rows[:HEADER_SCAN]):
        texts = [header_key(cell_text(c)) for c in row]
        score = sum(1 for t in texts if t and (t in known or pattern_target(t)))
        if score > best_score:
            best_index, best_score = index, score
    if best_index < 0:
        # No known column name: the first non-empty row is the header if it reads like one.
        for index, row in enumerate(rows[:HEADER_SCAN]):
            texts = [cell_text(c).strip() for c in row]
            if not any(texts):
                continue
            filled = [t for t in texts if t]
            if len(filled) >= 1 and not any(looks_like_data(t) for t in filled) \
                    and len(set(filled)) == len(filled) and len(rows) > index + 1:
                best_index = index
            break
    if best_index < 0:
        raise ImportFileError(_(
            "{name} has no header row: the first rows hold data, not column names. Add a row"
            " with names such as Name, Phone, E-mail, INN above the data.").format(
            name=path.name))
    top, data_start = _two_row_header(rows, best_index, known)
    width = max((len(r) for r in rows[top:top + 1000]), default=0)
    if data_start - top == 2:
        headers = _flatten(rows[top], rows[top + 1], width)
        extra.setdefault("notes", []).append(_(
            "A header of two rows (rows {top} and {below}), read as “upper / lower”.").format(
            top=top + 1, below=top + 2))
    else:
        header_row = rows[top]
        headers = [cell_text(c).strip() for c in header_row] + [""] * (width - len(header_row))
    best_index = data_start - 1
    data = rows[data_start:]
    # Columns with neither a header nor any value are dropped (spreadsheets pad them).
    keep = [i for i, h in enumerate(headers)
            if h or any(i < len(r) and cell_text(r[i]).strip() for r in data[:2000])]
    if len(keep) != len(headers):
        headers = [headers[i] for i in keep]
        data = [[r[i] if i < len(r) else "" for i in keep] for r in data]
    for i, h in enumerate(headers):
        if not h:
            headers[i] = _("Column {n}").format(n=i + 1)
    first_row = best_index + 2
    # Trailing empty rows are not data.
    while data and not any(cell_text(c).strip() for c in data[-1]):
        data.pop()
    return SourceTable(path=path, format=fmt, headers=headers, rows=data, first_row=first_row,
                       **extra)


def _cells(row: list[Any], width: int) -> list[str]:
    return [cell_text(c).strip() for c in row] + [""] * (width - len(row))


def _two_row_header(rows: list[list[Any]], index: int, known: set[str]) -> tuple[int, int]:
    """(the header's first row, the first data row): a header of two rows when a row of
    known column names sits under (or over) the header row and fills cells the other
    leaves empty — a merged cell "Контакты" over "Телефон | E-mail"."""

    def sub_header(upper: list[Any], lower: list[Any]) -> bool:
        width = max(len(upper), len(lower))
        up, low = _cells(upper, width), _cells(lower, width)
        filled = [t for t in low if t]
        if not filled or any(looks_like_data(t) for t in filled):
            return False
        names = sum(1 for t in filled if header_key(t) in known or pattern_target(header_key(t)))
        # Cells merged across (upper empty over a name) and down (a name over nothing):
        # a title row over a header has neither shape.
        across = any(b and not a for a, b in zip(up, low, strict=True))
        down = any(a and not b for a, b in zip(up, low, strict=True))
        uppers = [t for t in up if t]
        return across and down and names >= max(1, len(filled) // 2) \
            and not any(looks_like_data(t) for t in uppers)

    if index + 1 < len(rows) and sub_header(rows[index], rows[index + 1]):
        return index, index + 2
    if index > 0 and sub_header(rows[index - 1], rows[index]):
        return index - 1, index + 1
    return index, index + 1


def _flatten(upper: list[Any], lower: list[Any], width: int) -> list[str]:
    """Two header rows as one: "Контакты / Телефон" under a merged cell (its text carried
    right over the empty cells it spans), the upper or the lower text alone elsewhere."""
    up, low = _cells(upper, width), _cells(lower, width)
    headers, carried = [], ""
    for a, b in zip(up, low, strict=True):
        if a:
            carried = a
        group = a or (carried if b else "")
        headers.append(f"{group} / {b}" if group and b else group or b)
    return headers
