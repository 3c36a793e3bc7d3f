"""CSV files out: the formula guard and the two encodings (UTF-8 with a BOM, Windows-1251).

The formula guard — the one rule, documented in README ("Export"):

* a text cell that starts with `=`, `@`, a tab or a carriage return gets an apostrophe in
  front (a spreadsheet would run it as a formula; the importer takes the apostrophe off);
* a cell that starts with `+` or `-` gets one too, unless it is a number or a list of
  phones: after the sign only digits, spaces, `( ) - .`, an extension (` доб. 12`,
  ` ext. 12`) and, between phones, `; ` with an optional type label (`; work: +7 …`).
  Such a cell can at worst be read as arithmetic, never call a function (no letters but
  the labels and extension words, never followed by "(") nor reach another program (no
  `|`), so `+7 495 111-22-33` stays as it is and `-2+3`, `+1+cmd|' /C calc'!A0` are
  guarded.

Windows-1251 (for old Excel and 1C) cannot hold every character; a cell that has others
is written with `?` in their place and the export's warnings name the characters and the
rows (never a silent replacement).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from tui_crm.errors import ValidationError
from tui_crm.i18n import _, get_language
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES

ALWAYS_FORMULA = ("=", "@", "\t", "\r")
SIGNS = ("+", "-")
FORMULA_START = ALWAYS_FORMULA + SIGNS
_FORMULA_FIRST = frozenset(FORMULA_START)
# name as given on the command line / in the dialog → Python codec
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "cp1251": "cp1251",
             "windows-1251": "cp1251", "win1251": "cp1251"}
MAX_NAMED_ROWS = 10

_DIGITS = r"[\d ().\-]*\d[\d ().\-]*"  # digits, spaces, ( ) - . and at least one digit
_EXTENSION = r"(?: (?:доб\.|ext\.) ?\d+)?"


@cache
def _phone_list(language: str) -> re.Pattern[str]:
    """A number, or phones as `exporting.points_text` writes them in `language`
    ("+7 916 …; work: +7 495 … доб. 12")."""
    labels = {label for choices in POINT_TYPE_CHOICES.values() for label in choices.values()}
    words = sorted({w for label in labels for w in (label, _(label))}, key=len, reverse=True)
    label = "(?:" + "|".join(re.escape(w) for w in words) + "): "
    return re.compile(rf"[+-]{_DIGITS}{_EXTENSION}(?:; (?:{label})?\+?{_DIGITS}{_EXTENSION})*",
                      re.IGNORECASE)


def needs_guard(text: str) -> bool:
    """Whether a spreadsheet could run `text` as a formula (see the module's rule)."""
    if not text or text[0] not in _FORMULA_FIRST:
        return False
    if text[0] in SIGNS:
        return _phone_list(get_language()).fullmatch(text) is None
    return True


def neutralize(text: str) -> str:
    """`text` as a cell no spreadsheet runs: an apostrophe in front when `needs_guard`."""
    return "'" + text if needs_guard(text) else text


def neutralized(column: Sequence[Any]) -> Sequence[Any]:
    """A column with `neutralize` applied: as it is where no text in it starts like a
    formula, which is most columns, told at C speed from the lowest and highest first
    character (the formula characters sort below "A", digits between "-" and "=")."""
    try:
        texts = list(filter(None, column))
        if not texts:
            return column
        low = min(texts)[0]
        if low > "@" or (low > "-" and max(texts)[0] < "="):
            return column
        if _FORMULA_FIRST.isdisjoint([v[:1] for v in texts]):
            return column
    except TypeError:  # not all text: check cell by cell
        pass
    return [neutralize(v) if isinstance(v, str) else v for v in column]


def codec(encoding: str | None) -> str:
    """The codec of an encoding name (default UTF-8); a clear message for others."""
    name = (encoding or "utf-8").strip().lower()
    if name not in ENCODINGS:
        raise ValidationError({"encoding": _("CSV can be written in UTF-8 or cp1251"
                                             " (Windows-1251), not {name!r}").format(
            name=encoding)})
    return ENCODINGS[name]


class _Lossy:
    """Characters the encoding lacks, and the rows (numbered as in the file) that had them."""

    def __init__(self) -> None:
        self.chars: dict[str, None] = {}
        self.rows: list[int] = []

    def warning(self, codec_name: str) -> str | None:
        if not self.rows:
            return None
        chars = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in list(self.chars)[:20])
        rows = ", ".join(str(r) for r in self.rows[:MAX_NAMED_ROWS])
        if len(self.rows) > MAX_NAMED_ROWS:
            rows += " " + _("and {count} more").format(count=len(self.rows) - MAX_NAMED_ROWS)
        return _("{encoding} has no {chars}; written as \"?\" in rows {rows}. Export in"
                 " UTF-8 to keep them.").format(encoding=codec_name, chars=chars, rows=rows)


def write(path: Path, header: list[str], pages: Iterator[Sequence[Sequence[Any]]], *,
          delimiter: str | None = None, encoding: str | None = None) -> tuple[int, list[str]]:
    """Pages of columns (export_rows.stream_pages) to a CSV file: (rows, warnings)."""
    delim = delimiter or (";" if get_language() == "ru" else ",")
    name = codec(encoding)
    lossy = _Lossy()
    count = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delim, lineterminator="\r\n")
    with path.open("wb") as handle:
        if name == "utf-8":
            handle.write(b"\xef\xbb\xbf")  # Excel then reads Cyrillic right without asking
        head = [neutralize(h) for h in header]
        writer.writerow(head)
        handle.write(_encoded(buffer, [head], name, lossy, 1))
        for columns in pages:
            rows = list(zip(*[neutralized(c) for c in columns], strict=True))
            writer.writerows(rows)
            handle.write(_encoded(buffer, rows, name, lossy, count + 2))
            count += len(rows)
    warning = lossy.warning("Windows-1251" if name == "cp1251" else name)
    return count, [warning] if warning else []


def _encoded(buffer: io.StringIO, rows: Sequence[Sequence[Any]], name: str, lossy: _Lossy,
             first_row: int) -> bytes:
    """The buffered text (the rows just written) as bytes, the buffer emptied; when the
    encoding lacks a character, the rows and characters are looked up to be named."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    try:
        return text.encode(name)
    except UnicodeEncodeError:
        pass
    for number, row in enumerate(rows, start=first_row):
        bad = [ch for cell in row if isinstance(cell, str) and not _fits(cell, name)
               for ch in cell if not _fits(ch, name)]
        if bad:
            lossy.rows.append(number)
            lossy.chars.update(dict.fromkeys(bad))
    return text.encode(name, errors="replace")


def _fits(text: str, name: str) -> bool:
    try:
        text.encode(name)
    except UnicodeEncodeError:
        return False
    return True
