"""A minimal Excel binary workbook (.xlsb) writer for tests: text cells only, sheets that
may be hidden. The project reads .xlsb with python-calamine but nothing installed writes
one, so the tests build theirs from the format's published records ([MS-XLSB]: BrtBundleSh,
BrtWsDim, BrtRowHdr, BrtCellSt…), the records Excel itself writes."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '{sheets}</Types>')
_SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{n}.bin" '
               'ContentType="application/vnd.ms-excel.worksheet"/>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>')
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '{sheets}</Relationships>')
_BOOK_REL = ('<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/'
             'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.bin"/>')


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _record(kind: int, payload: bytes = b"") -> bytes:
    return _varint(kind) + _varint(len(payload)) + payload


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text.encode("utf-16-le")) // 2) + text.encode("utf-16-le")


def _sheet(rows: list[list[str]]) -> bytes:
    width = max((len(r) for r in rows), default=1)
    out = [_record(0x81), _record(0x94, struct.pack("<4I", 0, max(len(rows) - 1, 0), 0,
                                                    width - 1)), _record(0x91)]
    for number, row in enumerate(rows):
        out.append(_record(0x00, struct.pack("<IIH", number, 0, 0x0140) + b"\x00\x00\x00"
                           + struct.pack("<III", 1, 0, width - 1)))
        for column, text in enumerate(row):
            if text != "":
                out.append(_record(0x06, struct.pack("<II", column, 0) + _wide(text)))
    out += [_record(0x92), _record(0x82)]
    return b"".join(out)


def write_xlsb(path: Path, sheets: list[tuple[str, list[list[str]], bool]]) -> Path:
    """Write `sheets` — (name, rows of text, hidden) — as an .xlsb workbook."""
    book = [_record(0x83), _record(0x8F)]
    for n, (name, _rows, hidden) in enumerate(sheets, start=1):
        book.append(_record(0x9C, struct.pack("<II", 1 if hidden else 0, n)
                            + _wide(f"rId{n}") + _wide(name)))
    book += [_record(0x90), _record(0x84)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheets="".join(
            _SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.bin", b"".join(book))
        archive.writestr("xl/_rels/workbook.bin.rels", _BOOK_RELS.format(sheets="".join(
            _BOOK_REL.format(n=n) for n in range(1, len(sheets) + 1))))
        for n, (_name, rows, _hidden) in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{n}.bin", _sheet(rows))
    return path
