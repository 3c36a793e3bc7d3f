"""Reading any file the importer takes: the kind told by the bytes (xlsx, xlsb, xls, ods,
CSV, HTML, vCard; refused with a reason: empty, damaged, encrypted, a Word document…),
the first visible sheet of a workbook.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from tui_crm.i18n import _
from tui_crm.services.transfer.readers import vcf
from tui_crm.services.transfer.readers.html import looks_like_html, read_html
from tui_crm.services.transfer.readers.programs import recognize
from tui_crm.services.transfer.readers.table import (
    ImportFileError,
    SourceTable,
    with_header,
)
from tui_crm.services.transfer.readers.text import read_csv
from tui_crm.text import encodings

MAX_FILE_BYTES = 40 * 1024 * 1024  # larger files are refused with a message, not read


# The first record of an Excel 2.x, 3.0 and 4.0 worksheet (BOF, before the OLE container of
# Excel 5 and later): no reader in use takes these, but the user can resave them.
OLD_EXCEL_BOF = (b"\x09\x00", b"\x09\x02", b"\x09\x04")


def file_kind(path: Path) -> str:
    """What the file holds, told by its first bytes: xlsx / xlsb / ods / xls / encrypted / zip /
    ole / old-xls / empty / text. Raises ImportFileError when it cannot be read at all."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFileError(_("The file {path} does not exist.").format(path=path)) from None
    except OSError as exc:
        raise ImportFileError(_("Cannot read {path}: {reason}").format(
            path=path, reason=exc.strerror or exc)) from None
    if path.is_dir():
        raise ImportFileError(_("{path} is a folder, not a file.").format(path=path))
    if size > MAX_FILE_BYTES:
        raise ImportFileError(_(
            "{name} is {size} MB; files over {limit} MB are not imported. Split it into"
            " several files or save it as .csv without unused columns.").format(
            name=path.name, size=f"{size / 1024 / 1024:.1f}",
            limit=MAX_FILE_BYTES // 1024 // 1024))
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        raise ImportFileError(_("Cannot read {path}: {reason}").format(
            path=path, reason=exc.strerror or exc)) from None
    if not head.strip():
        return "empty"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        data = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in data:
            return "encrypted"
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
            return "xls"
        return "ole"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "mimetype" in names:
                    mime = archive.read("mimetype").decode("ascii", "replace")
                    if "opendocument.spreadsheet" in mime:
                        return "ods"
                    return "odf"
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "xl/workbook.bin" in names:
                    return "xlsb"  # Excel's binary workbook: calamine reads it too
                if "word/document.xml" in names:
                    return "docx"
                return "zip"
        except (zipfile.BadZipFile, OSError, EOFError):
            return "damaged-zip"
    if head[:2] in OLD_EXCEL_BOF and head[3:4] == b"\x00":
        return "old-xls"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) \
            and not encodings.looks_like_utf16(head):
        return "binary"
    return "text"


def read_table(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None,
               sheet: str | None = None) -> SourceTable:
    """Read a spreadsheet, CSV or vCard file into a SourceTable; ImportFileError explains
    a file that cannot be read (empty, damaged, password-protected, not a table)."""
    path = Path(path).expanduser()
    kind = file_kind(path)
    suffix = path.suffix.lower()
    name = path.name
    if kind == "empty":
        raise ImportFileError(_("{name} is empty: there is nothing to import.").format(name=name))
    if kind == "encrypted":
        raise ImportFileError(_(
            "{name} is protected with a password. Open it in Excel, remove the password"
            " (File → Info → Protect Workbook) and save it again.").format(name=name))
    if kind == "damaged-zip":
        raise ImportFileError(_(
            "{name} is damaged or was not copied completely (the archive inside is cut"
            " short). Save it again from Excel or copy it once more.").format(name=name))
    if kind == "old-xls":
        raise ImportFileError(_(
            "{name} is a worksheet of Excel 2–4 (before 1997), which is not read here. Open"
            " it in Excel or LibreOffice and save it as .xlsx.").format(name=name))
    if kind in ("zip", "odf", "docx", "ole", "binary"):
        raise ImportFileError(_(
            "{name} is not a spreadsheet or a CSV file (it looks like {what}). Save the table"
            " as .xlsx, .ods or .csv.").format(name=name, what={
                "docx": _("a Word document"), "odf": _("an OpenDocument text"),
                "zip": _("a ZIP archive"), "ole": _("an old Office document"),
                "binary": _("a binary file")}[kind]))
    if kind == "text":
        data = path.read_bytes()
        if suffix in (".vcf", ".vcard") or _looks_like_vcard(data):
            return vcf.read_table(path, data, encoding=encoding)
        if looks_like_html(data):  # Bitrix24's "Export to Excel": an HTML table as .xls
            return recognize(read_html(path, data, encoding))
        table = read_csv(path, data, encoding, delimiter)
        if suffix in (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"):
            table.notes.append(_("{name} is named like a spreadsheet but holds CSV text;"
                                 " read as CSV.").format(name=name))
        return recognize(table)
    return recognize(read_workbook(path, kind, sheet))


def _looks_like_vcard(data: bytes) -> bool:
    """A vCard by its first line, whatever the name: BEGIN:VCARD, maybe grouped
    ("home.begin:vcard") or in UTF-16."""
    head = data[:512].replace(b"\x00", b"").lower()
    return re.match(rb"\s*(\xef\xbb\xbf|\xff\xfe|\xfe\xff)?([\w-]+\.)?begin:vcard", head) is not None


def read_workbook(path: Path, kind: str, sheet: str | None) -> SourceTable:
    import python_calamine as pc

    suffixes = {"xlsx": (".xlsx", ".xlsm"), "xlsb": (".xlsb",), "xls": (".xls",),
                "ods": (".ods",)}[kind]
    try:
        if path.suffix.lower() in suffixes:
            workbook = pc.CalamineWorkbook.from_path(str(path))
        else:  # named wrongly (an .xls saved as .xlsx): calamine then goes by the content
            workbook = pc.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    except pc.PasswordError:
        raise ImportFileError(_(
            "{name} is protected with a password. Open it in Excel, remove the password"
            " and save it again.").format(name=path.name)) from None
    except (pc.CalamineError, pc.ZipError, pc.XmlError, ValueError, OSError) as exc:
        raise ImportFileError(_(
            "{name} is damaged and cannot be read ({reason}). Open it in Excel or"
            " LibreOffice and save it again.").format(
            name=path.name, reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        ) from None
    sheets = [s for s in workbook.sheets_metadata if str(s.typ).endswith("WorkSheet")]
    names = [s.name for s in sheets] or list(workbook.sheet_names)
    # Hidden sheets (lists for drop-downs, old data) are read only when asked for by name.
    shown = [s.name for s in sheets if str(s.visible).endswith(".Visible")] or names
    if not names:
        raise ImportFileError(_("{name} has no sheets.").format(name=path.name))
    try:
        if sheet:
            if sheet not in names:
                raise ImportFileError(_("{name} has no sheet {sheet!r}; sheets: {known}").format(
                    name=path.name, sheet=sheet, known=", ".join(names)))
            chosen = sheet
            rows = workbook.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
        else:
            chosen, rows = shown[0], []
            for candidate in shown:  # the first visible sheet that has something on it
                rows = workbook.get_sheet_by_name(candidate).to_python(skip_empty_area=False)
                if any(any(cell not in ("", None) for cell in row) for row in rows[:50]):
                    chosen = candidate
                    break
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises several kinds on bad XML
        raise ImportFileError(_(
            "{name} is damaged and cannot be read ({reason}). Open it in Excel or"
            " LibreOffice and save it again.").format(
            name=path.name, reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        ) from None
    finally:
        workbook.close()
    notes = [_("Sheet: {sheet}").format(sheet=chosen)]
    if len(names) > 1:
        others = [n for n in names if n != chosen]
        hidden = [n for n in others if n not in shown]
        notes.append(_("Other sheets, not read: {names}").format(names=", ".join(
            f"{n} ({_('hidden')})" if n in hidden else n for n in others)))
    if path.suffix.lower() not in suffixes:
        notes.append(_("The file is a .{kind} workbook named {name}; read as .{kind}.").format(
            kind=kind, name=path.name))
    return with_header(path, kind, rows, sheet=chosen, sheets=names, notes=notes)
