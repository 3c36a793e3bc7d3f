"""An HTML table saved as .xls (Bitrix24's "Export to Excel" and many web CRMs).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tui_crm.i18n import _
from tui_crm.services.transfer.readers.table import ImportFileError, SourceTable, with_header
from tui_crm.services.transfer.readers.text import decode_text


def looks_like_html(data: bytes) -> bool:
    head = data[:4096].replace(b"\x00", b"").lower()
    return b"<table" in data[:200_000].lower() and re.match(
        rb"\s*(\xef\xbb\xbf)?\s*<(!doctype|html|meta|head|table|\?xml|body)", head) is not None


class _HtmlTables(HTMLParser):
    """The cells of every <table> of an HTML page (<br> as a line break, a colspan as
    empty cells after the value, as a spreadsheet shows a merged cell)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.depth = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.depth += 1
            self.tables.append([])
        elif tag == "tr" and self.depth:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            span = dict(attrs).get("colspan") or "1"
            self.span = int(span) if span.isdigit() and 0 < int(span) < 100 else 1
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            text = "".join(self.cell)
            lines = [" ".join(line.split()) for line in text.split("\n")]
            self.row.append("\n".join(line for line in lines if line))
            self.row.extend([""] * (self.span - 1))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.tables:
                self.tables[-1].append(self.row)
            self.row = None
        elif tag == "table" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def read_html(path: Path, data: bytes, encoding: str | None) -> SourceTable:
    """An HTML table saved as .xls (Bitrix24 "Export to Excel", many web CRMs): the
    largest table of the page."""
    declared = re.search(rb"charset=[\"']?([\w-]+)", data[:4096], re.IGNORECASE)
    if encoding is None and declared is not None:
        try:
            "".encode(declared.group(1).decode("ascii"))
            encoding = declared.group(1).decode("ascii")
        except LookupError:
            encoding = None
    text, used, guessed = decode_text(data, encoding, path.name)
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    tables = [t for t in parser.tables if t]
    if not tables:
        raise ImportFileError(_("{name} is a web page without a table: there is nothing to"
                                " import.").format(name=path.name))
    rows: list[list[Any]] = max(tables, key=len)
    notes = [_("An HTML table saved as {suffix} (a web export); encoding: {encoding}").format(
        suffix=path.suffix or "HTML", encoding=used)]
    if guessed:
        notes.append(guessed)
    return with_header(path, "html", rows, encoding=used, notes=notes)
