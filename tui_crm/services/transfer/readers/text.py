"""Text files: the encoding (text/encodings.py) and the delimiter detected, and CSV rows
read with an unclosed quote reported instead of swallowing the rows after it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tui_crm.i18n import _
from tui_crm.services.transfer.readers.table import ImportFileError, SourceTable, with_header
from tui_crm.text import encodings

DELIMITERS = (";", ",", "\t", "|")


def decode_text(data: bytes, encoding: str | None, name: str) -> tuple[str, str, str]:
    """The text, the encoding used and a note when that encoding is only a guess (see
    text/encodings.py: BOM, UTF-16, UTF-8, then cp1251 / KOI8-R / cp866 / Latin-1 scored)."""
    if encoding:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise ImportFileError(_("Unknown encoding {encoding!r}.").format(
                encoding=encoding)) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(_(
                "{name} is not in {encoding} (byte {position} does not fit). Choose another"
                " encoding.").format(name=name, encoding=encoding, position=exc.start)) from None
        return text.lstrip("\ufeff"), encoding, ""
    found = encodings.guess(data)
    text = data.decode(found.encoding, errors="replace").lstrip("\ufeff")
    note = "" if found.sure else _(
        "The encoding is a guess: {encoding} (or perhaps {other}). If the names look wrong,"
        " choose the encoding (--encoding).").format(encoding=found.encoding,
                                                     other=found.runner_up or "utf-8")
    return text, found.encoding, note


def detect_delimiter(text: str) -> str:
    """The delimiter giving the same (non-zero) number of columns on the first lines."""
    lines = [line for line in text.splitlines()[:30] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        try:
            counts = [len(row) - 1 for row in csv.reader(lines, delimiter=delim)]
        except csv.Error:
            continue
        if not counts or max(counts) == 0:
            continue
        common = max(set(counts), key=counts.count)
        if common == 0:
            continue
        score = counts.count(common) / len(counts) * 100 + min(common, 50)
        if score > best_score:
            best, best_score = delim, score
    return best


def read_csv(path: Path, data: bytes, encoding: str | None,
              delimiter: str | None) -> SourceTable:
    text, used, guessed = decode_text(data, encoding, path.name)
    delim = delimiter or detect_delimiter(text)
    if delim == "\\t":
        delim = "\t"
    try:
        rows, problems = csv_rows(text, delim)
    except csv.Error as exc:
        raise ImportFileError(_("{name} is not a valid CSV file: {reason}").format(
            name=path.name, reason=exc)) from None
    notes = [_("Encoding: {encoding}").format(encoding=used),
             _("Delimiter: {delimiter}").format(delimiter=delimiter_name(delim))]
    if guessed:
        notes.append(guessed)
    return with_header(path, "csv", rows, encoding=used, delimiter=delim, notes=notes,
                        problems=problems)


def _swallows(row: list[str], delim: str) -> bool:
    """Whether a row read across several lines took in whole rows: a quote left open
    ("ООО "Ромашка;…) makes the rest of the file one cell. A note with line breaks has
    lines of text, not lines of delimited cells."""
    width = max(2, len(row))
    for cell in row:
        if "\n" in cell or "\r" in cell:
            inner = cell.splitlines()[1:]
            if any(line.count(delim) >= max(1, width - 2) for line in inner):
                return True
    return False


def csv_rows(text: str, delim: str) -> tuple[list[list[Any]], dict[int, str]]:
    """The rows of a CSV text, and the rows (1-based) whose quote is never closed: such a
    row is kept as its one line, quote and all, with the problem; the rows after it are
    read as they stand."""
    rows: list[list[Any]] = []
    problems: dict[int, str] = {}
    lines: list[str] | None = None
    offset = 0  # the line of the text the reader started on (0-based)
    source = io.StringIO(text, newline="")
    while True:
        reader = csv.reader(source, delimiter=delim)
        previous = 0
        restart = None
        for row in reader:
            if reader.line_num - previous > 1 and _swallows(row, delim):
                restart = offset + previous
                break
            previous = reader.line_num
            rows.append(row)
        if restart is None:
            return rows, problems
        if lines is None:
            lines = io.StringIO(text, newline="").readlines()
        line = lines[restart]
        problems[len(rows) + 1] = _(
            "a quote (\") opened on line {line} is never closed, so the rows below would"
            " become one cell; this row is not imported — close or remove the quote").format(
            line=restart + 1)
        rows.append(next(csv.reader([line.rstrip("\r\n")], delimiter=delim,
                                    quoting=csv.QUOTE_NONE)))
        offset = restart + 1
        source = io.StringIO("".join(lines[offset:]), newline="")


def delimiter_name(delim: str) -> str:
    return {"\t": _("tab"), ";": ";", ",": ",", "|": "|"}.get(delim, delim)
