"""OpenDocument spreadsheets (.ods) out, for LibreOffice and "МойОфис" users.

A writer of our own rather than odfpy: odfpy builds the whole document as a tree of Python
objects before it writes a byte (minutes and gigabytes for 100k rows); here content.xml is
streamed into the ZIP a row at a time. The file has what the OpenDocument 1.2 package
needs and no more: an uncompressed `mimetype` first, a manifest, and the one sheet.
Cells are typed (numbers, dates, date-times; text otherwise) so that a sheet sorts and sums
them; a text cell is never a formula in ODF (formulas live in their own attribute), so no
formula guard is needed. Line breaks become paragraphs and runs of spaces <text:s/>, as
the format requires for the text to read back exactly.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SPACES = re.compile(r"(?<= ) +|^ +")  # a run after the first space, or leading spaces

_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" \
manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" \
manifest:media-type="{MIMETYPE}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" \
xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" \
xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" \
xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" \
xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2">
<office:automatic-styles>
<style:style style:name="head" style:family="table-cell">\
<style:text-properties fo:font-weight="bold"/></style:style>
{columns}
</office:automatic-styles>
<office:body><office:spreadsheet><table:table table:name={name}>
"""
_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>\n"


def _paragraphs(text: str) -> str:
    """Text as <text:p> elements: one per line, spaces that XML would collapse kept."""
    out = []
    for line in _ILLEGAL_XML.sub("", text).replace("\r\n", "\n").split("\n"):
        # A tab stays a character (calamine, which the importer reads .ods with, drops
        # <text:tab/>); a lone CR a character reference (a parser reads a bare one as LF).
        body = escape(line).replace("\r", "&#13;")
        body = _SPACES.sub(lambda mt: f'<text:s text:c="{len(mt.group())}"/>', body)
        out.append(f"<text:p>{body}</text:p>")
    return "".join(out)


def cell(value: Any, style: str = "") -> str:
    """One <table:table-cell>: a number, date, date-time or text; None is an empty cell."""
    styled = f' table:style-name="{style}"' if style else ""
    if value is None or value == "":
        return f"<table:table-cell{styled}/>"
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int | float | Decimal):
        number = format(Decimal(value).normalize(), "f") if isinstance(value, Decimal) \
            else repr(value)
        return (f'<table:table-cell{styled} office:value-type="float" office:value="{number}">'
                f"<text:p>{number}</text:p></table:table-cell>")
    if isinstance(value, dt.datetime):
        stamp = value.replace(tzinfo=None).isoformat(timespec="seconds")
        return (f'<table:table-cell{styled} office:value-type="date" office:date-value='
                f'"{stamp}"><text:p>{stamp.replace("T", " ")}</text:p></table:table-cell>')
    if isinstance(value, dt.date):
        stamp = value.isoformat()
        return (f'<table:table-cell{styled} office:value-type="date" office:date-value='
                f'"{stamp}"><text:p>{stamp}</text:p></table:table-cell>')
    return (f'<table:table-cell{styled} office:value-type="string">'
            f"{_paragraphs(str(value))}</table:table-cell>")


def write(path: Path, header: list[str], rows: Iterator[list[Any]], title: str,
          widths: list[int]) -> int:
    """The header (bold) and the rows as a one-sheet .ods file; returns the rows written.
    `widths` are in characters, as for .xlsx."""
    columns = "\n".join(
        f'<style:style style:name="co{i}" style:family="table-column">'
        f'<style:table-column-properties style:column-width="{min(max(w, 8), 60) * 0.2:.2f}cm"/>'
        "</style:style>" for i, w in enumerate(widths))
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        with archive.open("content.xml", "w", force_zip64=True) as handle:
            handle.write(_HEAD.format(columns=columns,
                                      name=quoteattr(_ILLEGAL_XML.sub("", title) or "Sheet"))
                         .encode("utf-8"))
            handle.write("".join(f'<table:table-column table:style-name="co{i}"/>'
                                 for i in range(len(widths))).encode("utf-8"))
            handle.write(("<table:table-row>" + "".join(cell(h, "head") for h in header)
                          + "</table:table-row>\n").encode("utf-8"))
            buffer: list[str] = []
            for row in rows:
                buffer.append("<table:table-row>" + "".join(map(cell, row))
                              + "</table:table-row>\n")
                count += 1
                if len(buffer) >= 500:
                    handle.write("".join(buffer).encode("utf-8"))
                    buffer = []
            handle.write(("".join(buffer) + _TAIL).encode("utf-8"))
    return count
