"""Importing organizations and contacts from .xlsx, .xls, .ods, .csv and vCard files.

The path of a file through here: `read_table` (format told by the bytes, not the name;
CSV encoding and delimiter detected; the header row found even under a title) →
`auto_mapping` (columns → fields from Russian / English headers and the Google and
Outlook export formats) → `analyze` (every row validated and normalized in Python, per-row
problems, duplicates against the database and inside the file) → `run_import` (one
transaction: bulk inserts through the driver, the search index for the new ids, one audit
entry and an import log that `undo_import` uses). A failure, a cancel or Ctrl-C inside the
transaction leaves the database as it was.

Duplicate detection for large files never queries per row: the existing normalized phones,
e-mails, tax ids and names are read once into dictionaries; close (fuzzy) names are only
compared for files of fewer than FUZZY_ROWS rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import operator
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from peewee import JOIN
from rapidfuzz import fuzz

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.database import current, is_postgres, write
from tui_crm.db.import_models import ImportItem, ImportRun
from tui_crm.errors import CrmError, NotFound, ValidationError
from tui_crm.i18n import _, catalog
from tui_crm.services.core import (
    audit,
    lookups,
    records,
    search_docs,
    server_files,
    settings,
    values,
    visibility,
)
from tui_crm.services.core.kinds import KINDS, POINT_TYPE_CHOICES, POINT_TYPES, REFERRERS, FieldSpec
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates
from tui_crm.text.identity import (
    InvalidValue,
    email_key,
    messenger_key,
    normalize_url,
    validate_email,
    validate_inn,
)
from tui_crm.text.names import fuzzy_key, normalize_text, org_key, person_key, split_full_name
from tui_crm.text.phones import Phone, parse_phone

IMPORT_KINDS = ("organizations", "contacts")
POLICIES = ("skip", "merge", "create")
MAX_FILE_BYTES = 40 * 1024 * 1024  # larger files are refused with a message, not read
MAX_ROWS = 500_000
HEADER_SCAN = 20  # rows searched for the header
FUZZY_ROWS = 5000  # close-name matching only below this many rows
FUZZY_CANDIDATES = 300
NAME_THRESHOLD = 90
CHUNK = 2000
UNDO_CHUNK = 900  # ids per statement when an import is undone (under SQLite's old 999)
DELIMITERS = (";", ",", "\t", "|")
_NEUTRALIZED = re.compile(r"^'[=+\-@\t\r]")


class ImportFileError(CrmError):
    """The file cannot be read as a table: named, with what to do about it."""

    exit_code = 2


class ImportCancelled(CrmError):
    exit_code = 130


# --- reading files ----------------------------------------------------------------------------


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


def file_kind(path: Path) -> str:
    """What the file holds, told by its first bytes: xlsx / ods / xls / encrypted / zip /
    ole / empty / text. Raises ImportFileError when it cannot be read at all."""
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
                if "word/document.xml" in names:
                    return "docx"
                return "zip"
        except (zipfile.BadZipFile, OSError, EOFError):
            return "damaged-zip"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
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
    if kind in ("zip", "odf", "docx", "ole", "binary"):
        raise ImportFileError(_(
            "{name} is not a spreadsheet or a CSV file (it looks like {what}). Save the table"
            " as .xlsx, .ods or .csv.").format(name=name, what={
                "docx": _("a Word document"), "odf": _("an OpenDocument text"),
                "zip": _("a ZIP archive"), "ole": _("an old Office document"),
                "binary": _("a binary file")}[kind]))
    if kind == "text":
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            raise ImportFileError(_(
                "{name} is named like a spreadsheet but holds plain text (probably CSV)."
                " Rename it to .csv and import it again.").format(name=name))
        data = path.read_bytes()
        if suffix in (".vcf", ".vcard") or data.lstrip()[:11].upper() == b"BEGIN:VCARD":
            from tui_crm.services.transfer import vcard

            return vcard.read_table(path, data, encoding=encoding)
        return _read_csv(path, data, encoding, delimiter)
    return _read_workbook(path, kind, sheet)


def _decode(data: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    """The text and the encoding used: BOM, strict UTF-8, Windows-1251, then a guess."""
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
        return text.lstrip("\ufeff"), encoding
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").lstrip("\ufeff"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        text = ""
    if text and _looks_russian(text):
        return text, "cp1251"
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        encoding = best.encoding
        return data.decode(encoding, errors="replace"), encoding
    return data.decode("cp1251", errors="replace"), "cp1251"


def _looks_russian(text: str) -> bool:
    """Whether Windows-1251 decoding gave mostly Cyrillic letters (not mojibake of another
    code page)."""
    high = [ch for ch in text[:100_000] if ord(ch) > 127]
    if not high:
        return True
    cyrillic = sum(1 for ch in high if "\u0400" <= ch <= "\u04ff")
    return cyrillic / len(high) > 0.85


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


def _read_csv(path: Path, data: bytes, encoding: str | None,
              delimiter: str | None) -> SourceTable:
    text, used = _decode(data, encoding, path.name)
    delim = delimiter or detect_delimiter(text)
    if delim == "\\t":
        delim = "\t"
    try:
        rows: list[list[Any]] = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    except csv.Error as exc:
        raise ImportFileError(_("{name} is not a valid CSV file: {reason}").format(
            name=path.name, reason=exc)) from None
    notes = [_("Encoding: {encoding}").format(encoding=used),
             _("Delimiter: {delimiter}").format(delimiter=delimiter_name(delim))]
    return _with_header(path, "csv", rows, encoding=used, delimiter=delim, notes=notes)


def delimiter_name(delim: str) -> str:
    return {"\t": _("tab"), ";": ";", ",": ",", "|": "|"}.get(delim, delim)


def _read_workbook(path: Path, kind: str, sheet: str | None) -> SourceTable:
    import python_calamine as pc

    suffixes = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",), "ods": (".ods",)}[kind]
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
    names = [s.name for s in workbook.sheets_metadata
             if str(s.typ).endswith("WorkSheet")] or list(workbook.sheet_names)
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
            chosen, rows = names[0], []
            for candidate in names:  # the first sheet that has something on it
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
    notes = [_("Sheet: {sheet}").format(sheet=chosen)] if len(names) > 1 else []
    if path.suffix.lower() not in suffixes:
        notes.append(_("The file is a .{kind} workbook named {name}; read as .{kind}.").format(
            kind=kind, name=path.name))
    return _with_header(path, kind, rows, sheet=chosen, sheets=names, notes=notes)


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


def header_key(text: str) -> str:
    """A header reduced for matching: case, ё, spaces and punctuation do not matter."""
    return re.sub(r"[\W_]+", "", str(text).casefold().replace("ё", "е"))


def _looks_like_data(text: str) -> bool:
    value = text.strip()
    if not value:
        return False
    if "@" in value or sum(ch.isdigit() for ch in value) >= max(3, len(value) // 2):
        return True
    return False


def _with_header(path: Path, fmt: str, rows: list[list[Any]], **extra: Any) -> SourceTable:
    """Find the header row (the best-known names among the first rows) and cut the table."""
    if len(rows) > MAX_ROWS + HEADER_SCAN:
        raise ImportFileError(_("{name} has {count} rows; at most {limit} are imported at"
                                " once. Split the file.").format(
            name=path.name, count=len(rows), limit=MAX_ROWS))
    known = _all_alias_keys()
    best_index, best_score = -1, 0
    for index, row in enumerate(rows[:HEADER_SCAN]):
        texts = [header_key(cell_text(c)) for c in row]
        score = sum(1 for t in texts if t and (t in known or _pattern_target(t)))
        if score > best_score:
            best_index, best_score = index, score
    if best_index < 0:
        # No known column name: the first non-empty row is the header if it reads like one.
        for index, row in enumerate(rows[:HEADER_SCAN]):
            texts = [cell_text(c).strip() for c in row]
            if not any(texts):
                continue
            filled = [t for t in texts if t]
            if len(filled) >= 1 and not any(_looks_like_data(t) for t in filled) \
                    and len(set(filled)) == len(filled) and len(rows) > index + 1:
                best_index = index
            break
    if best_index < 0:
        raise ImportFileError(_(
            "{name} has no header row: the first rows hold data, not column names. Add a row"
            " with names such as Name, Phone, E-mail, INN above the data.").format(
            name=path.name))
    header_row = rows[best_index]
    width = max((len(r) for r in rows[best_index:best_index + 1000]), default=0)
    headers = [cell_text(c).strip() for c in header_row] + [""] * (width - len(header_row))
    data = rows[best_index + 1:]
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


# --- mapping ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a column's values go: a field, a typed phone / e-mail, or a name to split."""

    key: str
    label: str


# Virtual targets, besides the fields.
FULL_NAME = "full_name"  # "Иванов Иван Иванович": last, first, middle
DISPLAY_NAME = "display_name"  # "Ivan Petrov": first … last (Google's "Name")
CONTACT_PERSON = "contact_person"  # an organization's contact: a linked contact is created

_COMMON_ALIASES: dict[str, list[str]] = {
    "phones": ["телефон", "телефоны", "тел", "phone", "phones", "telephone", "phone number",
               "номер телефона", "контактный телефон", "other phone", "primary phone",
               "phone 1 - value", "phone 2 - value", "phone 3 - value", "основной телефон",
               "телефон 1", "телефон 2", "business phone 2", "company main phone"],
    "phones:work": ["рабочий телефон", "business phone", "work phone", "служебный телефон",
                    "городской телефон"],
    "phones:mobile": ["мобильный", "мобильный телефон", "сотовый", "сотовый телефон",
                      "mobile", "mobile phone", "cell", "cell phone", "моб", "моб телефон"],
    "phones:home": ["домашний телефон", "home phone", "home phone 2"],
    "phones:fax": ["факс", "fax", "business fax", "home fax"],
    "emails": ["e-mail", "email", "эл. почта", "электронная почта", "почта", "e-mail address",
               "email address", "mail", "емейл", "имейл", "e-mail 1 - value",
               "e-mail 2 - value", "e-mail 3 - value", "e-mail 2 address", "e-mail 3 address",
               "адрес электронной почты", "эл почта", "e-mail адрес"],
    "emails:personal": ["личная почта", "личный e-mail", "personal e-mail", "home e-mail"],
    "messengers:telegram": ["telegram", "телеграм", "телеграмм", "tg"],
    "messengers:whatsapp": ["whatsapp", "ватсап", "вотсап"],
    "messengers:viber": ["viber", "вайбер"],
    "messengers:skype": ["skype", "скайп"],
    "owner": ["ответственный", "менеджер", "owner", "manager", "responsible",
              "ответственный менеджер", "account owner", "владелец"],
    "group": ["группа", "group"],
    "source": ["источник", "source", "lead source", "канал", "источник клиента"],
    "tags": ["теги", "метки", "tags", "ярлыки", "categories", "категории контакта"],
    "notes": ["примечание", "примечания", "комментарий", "комментарии", "заметки", "notes",
              "note", "comment", "comments", "описание", "description"],
    "opt_out": ["не рассылать", "отказ от рассылки", "opt out", "no mailings",
                "без рассылок"],
    "cadence_days": ["периодичность контакта", "stay in touch every n days"],
}

ALIASES: dict[str, dict[str, list[str]]] = {
    "organizations": {
        "name": ["наименование", "название", "наименование организации",
                 "название организации", "организация", "компания", "клиент", "контрагент",
                 "name", "company", "company name", "organization", "organisation",
                 "organization name", "account name", "account", "фирма", "наименование клиента",
                 "краткое наименование"],
        "legal_name": ["полное наименование", "юридическое название",
                       "юридическое наименование", "legal name", "полное название"],
        "inn": ["инн", "inn", "tax id", "taxid", "инн организации", "инн клиента", "vat"],
        "industry": ["отрасль", "сфера", "сфера деятельности", "вид деятельности", "industry"],
        "city": ["город", "city", "населенный пункт", "business city", "регион"],
        "address": ["адрес", "юридический адрес", "фактический адрес", "address",
                    "business street", "street", "адрес офиса", "почтовый адрес"],
        "website": ["сайт", "веб-сайт", "вебсайт", "website", "web site", "url", "web page",
                    "www", "сайт компании", "домен"],
        "status": ["статус", "status", "стадия клиента"],
        "category": ["категория", "category", "рейтинг"],
        CONTACT_PERSON: ["контактное лицо", "контакт", "contact", "contact person",
                         "contact name", "фио контакта", "фио", "ф.и.о."],
        **_COMMON_ALIASES,
    },
    "contacts": {
        "last_name": ["фамилия", "last name", "family name", "surname", "lastname"],
        "first_name": ["имя", "first name", "given name", "firstname"],
        "middle_name": ["отчество", "middle name", "additional name", "patronymic"],
        FULL_NAME: ["фио", "ф.и.о.", "контактное лицо", "полное имя", "full name",
                    "фамилия имя отчество", "сотрудник"],
        DISPLAY_NAME: ["name", "display name", "contact name"],
        "organization": ["организация", "компания", "company", "organization", "organisation",
                         "organization 1 - name", "organization name", "место работы",
                         "контрагент", "клиент"],
        "position": ["должность", "position", "job title", "organization 1 - title",
                     "organization title", "title"],
        "role": ["роль", "role", "роль в сделке"],
        "is_decision_maker": ["лпр", "decision maker", "принимает решения"],
        "birthday": ["день рождения", "дата рождения", "birthday", "birth date",
                     "date of birth", "др"],
        "hobbies": ["хобби", "увлечения", "hobbies", "interests"],
        "registration_address": ["адрес регистрации", "адрес прописки",
                                 "registration address"],
        "residence_address": ["адрес проживания", "адрес", "домашний адрес", "address",
                              "home address", "home street", "address 1 - formatted",
                              "business street"],
        **_COMMON_ALIASES,
    },
}
# Numbered Google / Outlook columns ("Phone 4 - Value", "E-mail 5 Address").
_PATTERNS = [
    (re.compile(r"^phone\d+value$"), "phones"),
    (re.compile(r"^email\d+(value|address)$"), "emails"),
    (re.compile(r"^телефон\d+$"), "phones"),
    (re.compile(r"^(email|почта)\d+$"), "emails"),
]


def _pattern_target(key: str) -> str | None:
    for pattern, target in _PATTERNS:
        if pattern.match(key):
            return target
    return None


def _all_alias_keys() -> set[str]:
    keys: set[str] = set()
    for aliases in ALIASES.values():
        for names in aliases.values():
            keys.update(header_key(n) for n in names)
    for spec in KINDS.values():
        keys.update(header_key(f.name) for f in spec.fields)
        keys.update(header_key(_(f.label)) for f in spec.fields)
        keys.update(header_key(f.label) for f in spec.fields)
    return keys


def targets(kind: str) -> list[Target]:
    """Every place a column can go, for the mapping screen and `--map`."""
    _check_kind(kind)
    result: list[Target] = []
    for f in records.field_specs(kind):
        if not f.editable:
            continue
        label = settings.field_label(kind, f.name) if not f.custom else f.label
        result.append(Target(f.name, label))
        if f.type in POINT_TYPES:
            point_kind = POINT_TYPES[f.type]
            for code, type_label in POINT_TYPE_CHOICES[point_kind].items():
                result.append(Target(f"{f.name}:{code}", f"{label}: {_(type_label)}"))
    if kind == "contacts":
        result.insert(0, Target(FULL_NAME, _("Full name (last first middle)")))
        result.insert(1, Target(DISPLAY_NAME, _("Name (first last)")))
    else:
        result.append(Target(CONTACT_PERSON, _("Contact person (a linked contact)")))
    return result


def auto_mapping(kind: str, headers: list[str]) -> dict[int, str]:
    """Column index → target key for the columns whose header is recognized.

    A field claimed by several columns goes to the best match; repeatable fields (phones,
    e-mails, tags) may take several columns.
    """
    _check_kind(kind)
    table: dict[str, tuple[str, int]] = {}  # header key → (target, priority)
    for target, names in ALIASES[kind].items():
        table.setdefault(header_key(target), (target, 5))
        for priority, alias in enumerate(names):
            table.setdefault(header_key(alias), (target, priority + 10))
    for f in records.field_specs(kind):
        if not f.editable:
            continue
        for text in (f.name, f.label, _(f.label), settings.field_label(kind, f.name)):
            table[header_key(text)] = (f.name, 0)
    chosen: dict[int, tuple[str, int]] = {}
    for index, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue
        hit = table.get(key)
        if hit is None:
            if pattern := _pattern_target(key):
                hit = (pattern, 50)
            elif ":" in header and header.split(":", 1)[0] in POINT_TYPES:
                hit = (header.strip(), 0)  # our own "phones:work" style headers
        if hit is not None:
            chosen[index] = hit
    best: dict[str, tuple[int, int]] = {}
    for index, (target, priority) in chosen.items():
        if _is_multi(kind, target):
            continue
        if target not in best or priority < best[target][1]:
            best[target] = (index, priority)
    mapping: dict[int, str] = {}
    for index, (target, _priority) in chosen.items():
        if _is_multi(kind, target) or best[target][0] == index:
            mapping[index] = target
    return mapping


def _is_multi(kind: str, target: str) -> bool:
    base = target.split(":", 1)[0]
    return base in POINT_TYPES or base in ("tags", "notes")


def parse_map_options(kind: str, headers: list[str], pairs: Iterable[str],
                      base: dict[int, str] | None = None) -> dict[int, str]:
    """Apply `COL=FIELD` pairs (COL a header or a 1-based number; FIELD empty or "-" to skip)
    to a mapping; unknown columns or fields raise ValidationError."""
    mapping = dict(base if base is not None else auto_mapping(kind, headers))
    valid = {t.key for t in targets(kind)}
    errors: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            errors[pair] = _("Expected COLUMN=FIELD")
            continue
        column, target = (part.strip() for part in pair.rsplit("=", 1))
        index = _column_index(headers, column)
        if index is None:
            errors[column] = _("No such column; columns: {known}").format(
                known=", ".join(headers))
            continue
        if target in ("", "-"):
            mapping.pop(index, None)
            continue
        if target not in valid:
            errors[column] = _("Unknown field {name!r}; see `tui-crm fields {section}`").format(
                name=target, section=kind)
            continue
        if not _is_multi(kind, target):
            for other, existing in list(mapping.items()):
                if existing == target and other != index:
                    mapping.pop(other)
        mapping[index] = target
    if errors:
        raise ValidationError(errors)
    return mapping


def _column_index(headers: list[str], column: str) -> int | None:
    for index, header in enumerate(headers):
        if header == column:
            return index
    key = header_key(column)
    for index, header in enumerate(headers):
        if header_key(header) == key:
            return index
    if column.isdigit() and 1 <= int(column) <= len(headers):
        return int(column) - 1
    return None


def _check_kind(kind: str) -> None:
    if kind not in IMPORT_KINDS:
        raise ValidationError({"into": _("Only organizations and contacts can be imported"
                                         " from a table; got {name!r}").format(name=kind)})


# --- analysing rows ---------------------------------------------------------------------------


@dataclass
class Pending:
    """A source, group or organization that the import will create."""

    kind: str  # source / group / organization
    name: str
    id: int | None = None


@dataclass
class PreparedRow:
    row: int  # the file's row number
    values: dict[str, Any]
    contact_person: dict[str, str] | None = None
    problems: list[str] = field(default_factory=list)
    error: str = ""
    duplicate_of: int | None = None  # an existing record id
    duplicate_row: int | None = None  # index (in plan.rows) of an earlier row of the file
    duplicate_reason: str = ""
    hidden_owner: bool = False  # the existing duplicate belongs to someone the actor cannot see

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class RowProblem:
    row: int
    message: str
    error: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "message": self.message, "error": self.error}


@dataclass
class ImportOptions:
    kind: str = "organizations"
    mapping: dict[int, str] | None = None  # None: auto_mapping
    on_duplicate: str = "skip"  # skip / merge / create
    defaults: dict[str, Any] = field(default_factory=dict)  # for rows without the value
    create_missing: bool = True  # unknown sources, groups, contacts' organizations


@dataclass
class ImportPlan:
    """The analysed file: every row validated and matched, nothing written yet."""

    table: SourceTable
    options: ImportOptions
    mapping: dict[int, str]
    rows: list[PreparedRow]
    pending: dict[tuple[str, str], Pending]
    fuzzy: bool

    @property
    def errors(self) -> list[RowProblem]:
        return [RowProblem(r.row, r.error, True) for r in self.rows if r.error]

    @property
    def warnings(self) -> list[RowProblem]:
        return [RowProblem(r.row, p) for r in self.rows for p in r.problems]

    def counts(self) -> dict[str, int]:
        """What importing with the chosen policy would do."""
        created = merged = skipped = 0
        policy = self.options.on_duplicate
        for r in self.rows:
            if r.error:
                continue
            duplicate = r.duplicate_of is not None or r.duplicate_row is not None
            if r.hidden_owner:
                skipped += 1  # another manager's client: never imported a second time
            elif not duplicate or policy == "create":
                created += 1
            elif policy == "merge" and not r.hidden_owner:
                merged += 1
            else:
                skipped += 1
        return {"rows": len(self.rows), "created": created, "merged": merged,
                "skipped": skipped, "errors": len(self.errors),
                "duplicates_in_base": sum(1 for r in self.rows if r.duplicate_of is not None),
                "duplicates_in_file": sum(1 for r in self.rows if r.duplicate_row is not None),
                "warnings": sum(len(r.problems) for r in self.rows)}


class _Resolver:
    """References by name, resolved once per distinct text (never a query per row)."""

    def __init__(self, actor: Actor, kind: str, options: ImportOptions) -> None:
        self.actor = actor
        self.kind = kind
        self.options = options
        self.cache: dict[tuple[str, str], Any] = {}
        self.pending: dict[tuple[str, str], Pending] = {}
        self.org_names: dict[str, list[int]] | None = None
        self.hidden_orgs: dict[str, int | None] = {}  # name → owner, of clients not seen
        self.default_source: Any = None

    def resolve(self, ref_type: str, text: str) -> Any:
        key = (ref_type, normalize_text(text))
        if key in self.cache:
            hit = self.cache[key]
            if isinstance(hit, InvalidValue):
                # A new exception: raising the cached one again and again would grow its
                # traceback with every row.
                raise InvalidValue(str(hit))
            return hit
        try:
            value = self._resolve(ref_type, text)
        except InvalidValue as exc:
            self.cache[key] = exc
            raise
        self.cache[key] = value
        return value

    def _resolve(self, ref_type: str, text: str) -> Any:
        if ref_type == "organization":
            return self._organization(text)
        try:
            return lookups.resolve(ref_type, text, {"section": self.kind, "actor": self.actor})
        except InvalidValue:
            if ref_type in ("source", "group") and self.options.create_missing:
                return self._pending(ref_type, text.strip())
            raise

    def _pending(self, ref_type: str, name: str) -> Pending:
        key = (ref_type, normalize_text(name))
        if key not in self.pending:
            self.pending[key] = Pending(ref_type, name)
        return self.pending[key]

    def _organization(self, text: str) -> int | Pending:
        raw = text.strip()
        if raw.lstrip("#").isdigit():
            return lookups.resolve("organization", raw, {"actor": self.actor})
        if self.org_names is None:
            self.org_names = {}
            seen = visibility.visible_id_set(self.actor, "organizations")
            for org_id, name, owner in m.Organization.select(
                    m.Organization.id, m.Organization.name, m.Organization.owner).where(
                    m.Organization.deleted_at.is_null()).tuples():
                if seen is None or org_id in seen:
                    self.org_names.setdefault(normalize_text(name), []).append(org_id)
                else:
                    self.hidden_orgs.setdefault(normalize_text(name), owner)
        ids = self.org_names.get(normalize_text(raw), [])
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise InvalidValue(_("Several organizations are called {name!r}; give the id")
                               .format(name=raw))
        if normalize_text(raw) in self.hidden_orgs:
            # Another manager's client: neither attached to nor silently made twice.
            owner = self.hidden_orgs[normalize_text(raw)]
            raise InvalidValue(_("{name!r} is already a client of {owner}").format(
                name=raw, owner=lookups.names("user", [owner]).get(owner) or _("nobody")))
        if self.options.create_missing:
            return self._pending("organization", raw)
        raise InvalidValue(_("No organization called {name!r}").format(name=raw))

    def import_source(self) -> Any:
        """The source given to new leads that name none (a rule of the database)."""
        if self.default_source is None:
            name = _("Import")
            try:
                self.default_source = self.resolve("source", name)
            except InvalidValue:
                self.default_source = self._pending("source", name)
        return self.default_source


_POINT_SPLIT = re.compile(r"[;\n,]+")
_EMAIL_SPLIT = re.compile(r"[;,\s]+")


def _split_points(text: str, point_kind: str) -> list[str]:
    """Several phones / e-mails in one cell, separated by ; , or new lines; an extension
    ("доб. 12") stays with its number."""
    if point_kind == "email":
        return [p for p in _EMAIL_SPLIT.split(text) if p.strip()]
    if "," not in text and ";" not in text and "\n" not in text:  # one number (most cells)
        piece = text.strip()
        return [piece] if piece else []
    parts: list[str] = []
    for piece in _POINT_SPLIT.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if parts and sum(ch.isdigit() for ch in piece) < 5:
            parts[-1] = f"{parts[-1]}, {piece}"
        else:
            parts.append(piece)
    return parts


def _unneutralize(text: str) -> str:
    """Drop the apostrophe an export put before = + - @ (so round trips are exact)."""
    return text[1:] if text[:1] == "'" and _NEUTRALIZED.match(text) else text


# How a mapped target's cells are handled.
_POINT, _NAME, _VALUE = 0, 1, 2


class _RowCleaner:
    """Validates and normalizes one row's raw values into field values, with caches."""

    def __init__(self, actor: Actor, kind: str, options: ImportOptions,
                 resolver: _Resolver) -> None:
        self.actor = actor
        self.kind = kind
        self.spec = KINDS[kind]
        self.options = options
        self.resolver = resolver
        self.customs = {cf.name: cf for cf in values.custom_fields(kind)}
        self.fields: dict[str, FieldSpec] = {f.name: f for f in self.spec.fields}
        self.region = values.phone_region()
        self.choice_maps: dict[str, dict[str, str]] = {}
        self.labels: dict[str, str] = {}
        self.require_source = kind == "organizations" and records._require_source()
        self.handlers: dict[str, tuple[str, str, int]] = {}
        self.phones: dict[str, Phone] = {}  # raw text → parse_phone()
        self.converters: dict[str, Callable[[Any], Any]] = {}

    def label(self, name: str) -> str:
        base = name.partition(":")[0]
        if base not in self.labels:
            if base in self.customs:
                self.labels[base] = self.customs[base].label
            else:
                self.labels[base] = settings.field_label(self.kind, base) \
                    if base in self.fields else name
        return self.labels[base]

    def _handler(self, target: str) -> tuple[str, str, int]:
        """(base field, point type, how) of a target, worked out once per import."""
        hit = self.handlers.get(target)
        if hit is None:
            base, _sep, sub = target.partition(":")
            how = _POINT if base in POINT_TYPES else _NAME \
                if base in (FULL_NAME, DISPLAY_NAME, CONTACT_PERSON) else _VALUE
            hit = self.handlers[target] = (base, sub, how)
        return hit

    def clean(self, raw: dict[str, list[Any]] | Iterable[tuple[str, Sequence[Any]]],
              row_number: int) -> PreparedRow:
        """A row's values: `raw` holds each mapped target's non-empty cells, targets in
        the order of the file's columns."""
        out: dict[str, Any] = {}
        problems: list[str] = []
        leftovers: list[str] = []  # values that could not be stored, kept in the notes
        points: dict[str, list[tuple[str, str, str, bool]]] = {}
        names = {}
        handlers = self.handlers
        converters = self.converters
        for target, cells in (raw.items() if isinstance(raw, dict) else raw):
            base, sub, how = handlers.get(target) or self._handler(target)
            if len(cells) == 1:  # the usual case, without a list comprehension
                cell = cells[0]
                texts: Sequence[Any] = (_unneutralize(cell) if isinstance(cell, str)
                                        and cell[:1] == "'"
                         else cell,)
            else:
                texts = [_unneutralize(c) if isinstance(c, str) else c for c in cells]
            if how == _POINT:
                self._points(base, sub, texts, points, problems, leftovers)
                continue
            if how == _NAME:
                text = " ".join(cell_text(t).strip() for t in texts if cell_text(t).strip())
                if text:
                    names[base] = text
                continue
            value: Any = None
            for cell in texts:
                if cell is None or (isinstance(cell, str) and not cell.strip()):
                    continue
                if base in ("notes", "tags") and value is not None:
                    value = self._join(base, value, cell)
                    continue
                if value is None:
                    value = cell
            if value is None:
                continue
            try:
                convert = converters.get(base) or self._converter_of(base)
                out[base] = convert(value)
            except (InvalidValue, dates.DateParseError, ValueError) as exc:
                shown = cell_text(value).strip()
                problems.append(_("{field}: {message}").format(field=self.label(base),
                                                               message=str(exc)))
                leftovers.append(f"{self.label(base)}: {shown}")
        for field_name, items in points.items():
            out[field_name] = items
        if names:
            self._names(out, names)
        for name, default in self.options.defaults.items():
            if out.get(name) in (None, "", []):
                try:
                    out[name] = self._value(name, default)
                except (InvalidValue, dates.DateParseError, ValueError) as exc:
                    problems.append(_("{field}: {message}").format(field=self.label(name),
                                                                   message=str(exc)))
        prepared = PreparedRow(row=row_number, values=out, problems=problems)
        if CONTACT_PERSON in names:
            last, first, middle = split_full_name(names[CONTACT_PERSON])
            prepared.contact_person = {"last_name": last, "first_name": first,
                                       "middle_name": middle}
        if leftovers:
            note = _("Not imported: {values}").format(values="; ".join(leftovers))
            out["notes"] = f"{out['notes']}\n{note}" if out.get("notes") else note
        self._rules(prepared)
        return prepared

    def _choices(self, name: str, choices: dict[str, str]) -> dict[str, str]:
        """Codes by code, English label and translated label, in both languages (files
        from Russian and English users alike)."""
        if name not in self.choice_maps:
            russian = catalog("ru")
            table: dict[str, str] = {}
            for code, label in choices.items():
                for text in (code, label, _(label), russian.get(label, "")):
                    if text:
                        table.setdefault(text.casefold(), code)
            self.choice_maps[name] = table
        return self.choice_maps[name]

    @staticmethod
    def _join(base: str, value: Any, cell: Any) -> Any:
        if base == "notes":
            return f"{cell_text(value)}\n{cell_text(cell)}"
        return f"{cell_text(value)}, {cell_text(cell)}"

    def _names(self, out: dict[str, Any], names: dict[str, str]) -> None:
        if self.kind != "contacts":
            return
        for key, western in ((FULL_NAME, False), (DISPLAY_NAME, True)):
            if key in names and not (out.get("last_name") or out.get("first_name")):
                last, first, middle = split_full_name(names[key], western=western)
                out["last_name"], out["first_name"] = last, first
                if middle and not out.get("middle_name"):
                    out["middle_name"] = middle

    def _phone(self, text: str) -> Phone:
        """`parse_phone`, once per distinct text (a file repeats a company's switchboard)."""
        hit = self.phones.get(text)
        if hit is None:
            hit = parse_phone(text, self.region)
            if len(self.phones) < 200_000:
                self.phones[text] = hit
        return hit

    def _points(self, base: str, sub: str, texts: Sequence[Any],
                points: dict[str, list[tuple[str, str, str, bool]]], problems: list[str],
                leftovers: list[str]) -> None:
        point_kind = POINT_TYPES[base]
        choices = POINT_TYPE_CHOICES[point_kind]
        separators = _EMAIL_SPLIT if point_kind == "email" else _POINT_SPLIT
        for cell in texts:
            if isinstance(cell, str) and ":" not in cell and separators.search(cell) is None:
                items = [(sub, cell)]  # one value without a type (most cells)
            elif isinstance(cell, list | tuple) and cell and isinstance(cell[0], tuple | list):
                items = [(str(t), str(v)) for t, v in cell]  # vCard: (type, value) pairs
            else:
                items = []
                for piece in _split_points(cell_text(cell), point_kind):
                    ptype, text = sub, piece
                    if ":" in piece:
                        head, _colon, tail = piece.partition(":")
                        code = self._choices(f"{point_kind}:types", choices).get(
                            head.strip().casefold())
                        if code is not None:
                            ptype, text = code, tail
                    items.append((ptype, text.strip()))
            for ptype, text in items:
                text = _unneutralize(text.strip())
                if not text:
                    continue
                ptype = ptype if ptype in choices else next(iter(choices))
                if point_kind == "phone":
                    shown, normalized, valid, _extension = self._phone(text)
                    if not valid:
                        problems.append(_("{field}: not a valid phone number: {value}").format(
                            field=self.label(base), value=text))
                elif point_kind == "email":
                    try:
                        shown = validate_email(text)
                    except InvalidValue as exc:
                        problems.append(_("{field}: {message}").format(
                            field=self.label(base), message=str(exc)))
                        leftovers.append(f"{self.label(base)}: {text}")
                        continue
                    normalized, valid = email_key(shown), True
                else:
                    shown, normalized, valid = text, messenger_key(text), True
                bucket = points.get(base)
                if bucket is None:
                    bucket = points[base] = []
                elif normalized and any(p[2] == normalized for p in bucket):
                    continue
                bucket.append((ptype, shown, normalized, valid))

    def _value(self, name: str, value: Any) -> Any:
        return (self.converters.get(name) or self._converter_of(name))(value)

    def _converter_of(self, name: str) -> Callable[[Any], Any]:
        convert = self.converters[name] = self._converter(name)
        return convert

    def _converter(self, name: str) -> Callable[[Any], Any]:
        """The function that turns a cell into the field's value (raising InvalidValue),
        chosen once per field instead of once per cell."""
        if name in self.customs:
            custom_field = self.customs[name]

            def custom(value: Any) -> Any:
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                return values.parse_custom(custom_field, value)
            return custom
        spec = self.fields.get(name)
        if spec is None or not spec.editable:
            def unknown(value: Any) -> Any:
                raise InvalidValue(_("Unknown field {name!r}").format(name=name))
            return unknown
        kind = spec.type
        if kind == "multiline":
            return cell_text
        if kind == "text":
            check = {"inn": validate_inn, "website": normalize_url}.get(name)

            def text_value(value: Any) -> str:
                text = value.strip() if value.__class__ is str else cell_text(value).strip()
                return check(text) if check is not None and text else text
            return text_value
        if kind == "tags":
            return lambda value: [t.strip() for t in re.split(r"[,;\n]", cell_text(value))
                                  if t.strip()]
        if spec.is_reference or kind == "choice":
            # Few distinct texts (statuses, sources, owners): each one is resolved once.
            known: dict[str, Any] = {}
            codes = self._choices(name, spec.choices) if kind == "choice" else {}

            def resolve(value: Any) -> Any:
                if spec.is_reference:
                    return self.resolver.resolve(kind, cell_text(value))
                text = cell_text(value).strip()
                code = codes.get(text.casefold())
                if code is None:
                    return values.parse_choice(text, spec.choices)  # raises with the codes
                return code

            def reference_or_choice(value: Any) -> Any:
                if value.__class__ is not str:
                    return resolve(value)
                hit = known.get(value)
                if hit is None:
                    hit = resolve(value)  # an unknown text raises and is not remembered
                    if len(known) < 10_000:
                        known[value] = hit
                return hit
            return reference_or_choice

        def typed(value: Any) -> Any:
            if kind == "int" and isinstance(value, float) and value.is_integer():
                return values.check_int(int(value))
            if kind == "decimal" and isinstance(value, float | int):
                return Decimal(str(value))
            if kind in ("date", "datetime") and isinstance(value, dt.date | dt.datetime):
                return values.parse_field(kind, value)
            if kind == "bool" and isinstance(value, bool | int | float):
                return bool(value)
            return values.parse_field(kind, cell_text(value), past=spec.past_only)

        def number(value: Any) -> Any:
            return values.check_range(spec, typed(value))
        return number if kind in ("int", "decimal") else typed

    def _rules(self, row: PreparedRow) -> None:
        out = row.values
        if self.kind == "organizations":
            if not out.get("name"):
                row.error = _("No name: an organization needs one")
                return
        elif not (out.get("last_name") or out.get("first_name")):
            row.error = _("No name: a contact needs a last or a first name")
            return
        owner = out.get("owner")
        if owner is not None and not isinstance(owner, Pending) and not self.actor.sees_all \
                and owner != self.actor.user_id and not self.actor.is_admin:
            row.problems.append(_("Owner: you can only import clients of your own"))
            out.pop("owner")
        if self.require_source and out.get("status", "lead") == "lead" and not out.get("source"):
            out["source"] = self.resolver.import_source()


def _blank(cell: Any) -> bool:
    return cell is None or cell == "" or (isinstance(cell, str) and not cell.strip())


def _raw_rows(table: SourceTable, mapping: dict[int, str]
              ) -> Iterable[tuple[int, list[tuple[str, Sequence[Any]]]]]:
    """(row number, [(target, its non-empty cells)]) of the rows that are not blank;
    targets in the order their first filled column comes."""
    items = [(index, target) for index, target in sorted(mapping.items()) if target]
    first = table.first_row
    if len({target for _i, target in items}) == len(items):
        # One column per target (the usual mapping): no grouping needed.
        for offset, row in enumerate(table.rows):
            width = len(row)
            raw: list[tuple[str, Sequence[Any]]] = []
            for index, target in items:
                if index < width:
                    cell = row[index]
                    if cell.__class__ is str:
                        if not cell or cell.isspace():
                            continue
                    elif _blank(cell):
                        continue
                    raw.append((target, (cell,)))
            if raw or any(cell_text(c).strip() for c in row):
                yield first + offset, raw
        return
    for offset, row in enumerate(table.rows):
        grouped: dict[str, list[Any]] = {}
        width = len(row)
        for index, target in items:
            if index < width and not _blank(cell := row[index]):
                grouped.setdefault(target, []).append(cell)
        if grouped or any(cell_text(c).strip() for c in row):
            yield first + offset, list(grouped.items())


Progress = Callable[[int, int], None]


def analyze(actor: Actor, table: SourceTable, options: ImportOptions, *,
            progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportPlan:
    """Validate and match every row; nothing is written."""
    kind = options.kind
    _check_kind(kind)
    actor.require(kind, "edit")
    if options.on_duplicate not in POLICIES:
        raise ValidationError({"on_duplicate": _("Choose one of: {known}").format(
            known=", ".join(POLICIES))})
    mapping = dict(options.mapping) if options.mapping is not None \
        else auto_mapping(kind, table.headers)
    if not any(mapping.values()):
        raise ValidationError({"map": _("No column is mapped to a field; map at least the"
                                        " name column.")})
    _check_name_mapped(kind, mapping)
    resolver = _Resolver(actor, kind, options)
    cleaner = _RowCleaner(actor, kind, options, resolver)
    rows: list[PreparedRow] = []
    total = len(table.rows)
    for count, (number, raw) in enumerate(_raw_rows(table, mapping)):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(_("The import was cancelled; nothing was changed."))
        prepared = cleaner.clean(raw, number)
        if number in table.problems:
            prepared.error = table.problems[number]
        rows.append(prepared)
        if progress is not None and count % 1000 == 0:
            progress(count, total)
    seen = {r.row for r in rows}
    for number, message in table.problems.items():  # vCard cards that did not parse
        if number not in seen:
            rows.append(PreparedRow(row=number, values={}, error=message))
    rows.sort(key=lambda r: r.row)
    fuzzy = len(rows) < FUZZY_ROWS
    _match_duplicates(actor, kind, rows, fuzzy)
    if progress is not None:
        progress(total, total)
    return ImportPlan(table, options, mapping, rows, resolver.pending, fuzzy)


def _check_name_mapped(kind: str, mapping: dict[int, str]) -> None:
    wanted = {"name"} if kind == "organizations" else {"last_name", "first_name", FULL_NAME,
                                                        DISPLAY_NAME}
    if not wanted & set(mapping.values()):
        what = settings.field_label(kind, "name") if kind == "organizations" \
            else _("Last name, First name or Full name")
        raise ValidationError({"map": _("No column is mapped to {field}; map the column that"
                                        " holds it.").format(field=what)})


# --- duplicates -------------------------------------------------------------------------------


def _point_keys(values_: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    for field_name, point_kind in (("phones", "phone"), ("emails", "email")):
        for _t, _shown, normalized, valid in values_.get(field_name, []):
            if valid and normalized:
                keys.append((point_kind, normalized))
    return keys


def contact_key(values_: dict[str, Any]) -> str:
    return person_key(values_.get("last_name"), values_.get("first_name"),
                      values_.get("middle_name"))


def _match_duplicates(actor: Actor, kind: str, rows: list[PreparedRow], fuzzy: bool) -> None:
    model = m.Organization if kind == "organizations" else m.Contact
    owner_col = "organization_id" if kind == "organizations" else "contact_id"
    table_name = model._meta.table_name
    db = current()
    # Normalized phones, e-mails and tax ids → ("db", an existing id) or ("row", an earlier
    # row's position).
    keys: dict[tuple[str, str], tuple[str, int]] = {}
    visible = visibility.visible_id_set(actor, kind)
    sql = (f"SELECT p.kind, p.normalized, p.{owner_col} FROM contact_point p "
           f"JOIN \"{table_name}\" r ON r.id = p.{owner_col} "
           f"WHERE p.kind IN ('phone', 'email') AND p.valid AND p.normalized <> '' "
           f"AND r.deleted_at IS NULL")
    if is_postgres(db):
        sql = sql.replace("p.valid", "p.valid = TRUE")
    # The base is read once, through the driver (no model objects: a 100k-client base has
    # 700k phones and e-mails), whatever the size of the file.
    for point_kind, normalized, record_id in db.execute_sql(sql):
        keys.setdefault((point_kind, normalized), ("db", record_id))
    names: dict[str, list[tuple[int, str, str]]] = {}
    if kind == "organizations":
        cities: dict[str, str] = {}  # few distinct cities: normalized once each
        for record_id, name, city, inn in db.execute_sql(
                f'SELECT id, name, city, inn FROM "{table_name}" WHERE deleted_at IS NULL'):
            if inn:
                keys.setdefault(("inn", inn), ("db", record_id))
            city = city or ""
            city_key = cities.get(city)
            if city_key is None:
                city_key = cities[city] = normalize_text(city)
            names.setdefault(org_key(name), []).append((record_id, city_key, inn or ""))
    else:
        for record_id, last, first, middle, org in db.execute_sql(
                f'SELECT id, last_name, first_name, middle_name, organization_id'
                f' FROM "{table_name}" WHERE deleted_at IS NULL'):
            key = contact_key({"last_name": last, "first_name": first, "middle_name": middle})
            names.setdefault(key, []).append((record_id, str(org or ""), ""))
    tokens: dict[str, list[tuple[str, str]]] = {}  # word → (name, its fuzzy_key)
    if fuzzy and kind == "organizations":
        for name in names:
            name_fuzzy = fuzzy_key(name)
            for word in name_fuzzy.split():
                if len(word) >= 3:
                    tokens.setdefault(word, []).append((name, name_fuzzy))
    row_names: dict[str, list[tuple[int, str, str]]] = {}
    organizations = kind == "organizations"
    for position, row in enumerate(rows):
        if row.error:
            continue
        values_ = row.values
        point_keys = _point_keys(values_)
        # The row's keys, worked out once for the look-up and for the rows after it.
        if organizations:
            inn = values_.get("inn") or ""
            name_key = org_key(values_["name"])
            city = normalize_text(values_.get("city") or "")
        else:
            inn, name_key, city = "", contact_key(values_), ""
        found, reason = _find(kind, row, keys, names, row_names, tokens, fuzzy,
                              point_keys, name_key, city)
        if found is not None:
            where, target = found
            if where == "db":
                row.duplicate_of = target
                row.hidden_owner = visible is not None and target not in visible
            else:
                row.duplicate_row = target
            row.duplicate_reason = reason
            root: tuple[str, int] = found
        else:
            root = ("row", position)
        for point_key in point_keys:
            keys.setdefault(point_key, root)
        if organizations:
            if inn:
                keys.setdefault(("inn", inn), root)
            if root[0] == "row":
                row_names.setdefault(name_key, []).append((root[1], city, inn))
        elif root[0] == "row":
            org = values_.get("organization")
            row_names.setdefault(name_key, []).append(
                (root[1], str(org) if isinstance(org, int) else "", ""))
    _name_hidden_owners(model, [row for row in rows if row.hidden_owner])


def _name_hidden_owners(model: type[m.Organization | m.Contact], rows: list[PreparedRow]
                        ) -> None:
    """Tell whose client each row already is when the actor may not see it (SPEC: the user
    is told whose client it is), without its name or id; such a row is never imported."""
    targets = sorted({row.duplicate_of for row in rows if row.duplicate_of is not None})
    owners: dict[int, int | None] = {}
    for start in range(0, len(targets), 900):
        owners.update(model.select(model.id, model.owner).where(
            model.id.in_(targets[start:start + 900])).tuples())
    logins = lookups.names("user", owners.values())
    for row in rows:
        owner = logins.get(owners.get(row.duplicate_of or 0) or 0) or _("nobody")
        row.problems.append(_("Already a client of {owner} (same {reason}): not imported")
                            .format(owner=owner, reason=row.duplicate_reason))


def _find(kind: str, row: PreparedRow, keys: dict[tuple[str, str], tuple[str, int]],
          names: dict, row_names: dict,
          tokens: dict[str, list[tuple[str, str]]], fuzzy: bool, point_keys: list[tuple[str, str]],
          name_key: str, city: str) -> tuple[tuple[str, int] | None, str]:
    """The record or earlier row this row duplicates, and why. `point_keys`, `name_key`
    (org_key of an organization, contact_key of a contact) and `city` (normalized)
    are the row's, computed by the caller."""
    values_ = row.values
    if kind == "organizations" and values_.get("inn"):
        hit = keys.get(("inn", values_["inn"]))
        if hit:
            return hit, _("tax id")
    for point_key in point_keys:
        hit = keys.get(point_key)
        if hit:
            return hit, _("phone") if point_key[0] == "phone" else _("e-mail")
    if kind == "organizations":
        norm = name_key
        inn = values_.get("inn") or ""

        def compatible(other_city: str, other_inn: str) -> bool:
            if inn and other_inn and inn != other_inn:
                return False  # two legal entities of one name (branches, namesakes)
            return not (city and other_city and city != other_city)

        for source, where in ((names, "db"), (row_names, "row")):
            for target, other_city, other_inn in source.get(norm, []):
                if compatible(other_city, other_inn):
                    return (where, target), _("name")
        if fuzzy and len(norm) >= 4:
            words = sorted((w for w in fuzzy_key(norm).split() if len(w) >= 3), key=len,
                           reverse=True)
            candidates = tokens.get(words[0], [])[:FUZZY_CANDIDATES] if words else []
            key = fuzzy_key(norm)
            for candidate, candidate_key in candidates:
                if candidate != norm and fuzz.token_sort_ratio(
                        key, candidate_key) >= NAME_THRESHOLD:
                    for target, other_city, other_inn in names[candidate]:
                        if compatible(other_city, other_inn):
                            return ("db", target), _("similar name")
        return None, ""
    key = name_key
    org = values_.get("organization")
    org_text = str(org) if isinstance(org, int) else ""
    for source, where in ((names, "db"), (row_names, "row")):
        for target, other_org, _x in source.get(key, []):
            if not org_text or not other_org or org_text == other_org:
                return (where, target), _("name")
    return None, ""


# --- writing ----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    import_id: int | None
    kind: str
    file: str
    format: str
    encoding: str
    rows: int
    created: int
    merged: int
    skipped: int
    errors: list[RowProblem]
    warnings: list[RowProblem]
    dry_run: bool = False
    seconds: float = 0.0
    created_ids: list[int] = field(default_factory=list)
    new_lookups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "section": self.kind, "file": self.file,
                "format": self.format, "encoding": self.encoding, "rows": self.rows,
                "created": self.created, "merged": self.merged, "skipped": self.skipped,
                "errors": [e.to_dict() for e in self.errors],
                "warnings": [w.to_dict() for w in self.warnings[:1000]],
                "warning_count": len(self.warnings), "dry_run": self.dry_run,
                "seconds": round(self.seconds, 2), "new_lookups": self.new_lookups}

    def summary(self) -> str:
        return _("{rows} rows: {created} created, {merged} merged, {skipped} skipped,"
                 " {errors} with errors").format(rows=self.rows, created=self.created,
                                                 merged=self.merged, skipped=self.skipped,
                                                 errors=len(self.errors))


def import_file(actor: Actor, path: str | Path, options: ImportOptions, *,
                encoding: str | None = None, delimiter: str | None = None,
                sheet: str | None = None, map_pairs: Iterable[str] = (),
                dry_run: bool = False, progress: Progress | None = None,
                cancel: threading.Event | None = None) -> ImportResult:
    """Read, analyse and import a file in one call (the CLI's path)."""
    server_files.check(actor, path)
    table = read_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    pairs = list(map_pairs)
    if pairs:
        options.mapping = parse_map_options(options.kind, table.headers, pairs, options.mapping)
    plan = analyze(actor, table, options, cancel=cancel)
    if dry_run:
        counts = plan.counts()
        return ImportResult(None, options.kind, str(table.path), table.format, table.encoding,
                            counts["rows"], counts["created"], counts["merged"],
                            counts["skipped"], plan.errors, plan.warnings, dry_run=True,
                            new_lookups=_pending_names(plan))
    return run_import(actor, plan, progress=progress, cancel=cancel)


def _pending_names(plan: ImportPlan) -> list[str]:
    kinds = {"source": _("source"), "group": _("group"), "organization": _("organization")}
    return [f"{kinds[p.kind]}: {p.name}" for p in plan.pending.values()]


class _Bulk:
    """Inserts with ids chosen up front, through the driver (SQLite or PostgreSQL)."""

    def __init__(self) -> None:
        self.db = current()
        self.pg = is_postgres(self.db)

    def reserve(self, model: type[m.BaseModel], count: int) -> list[int]:
        table = model._meta.table_name
        if count <= 0:
            return []
        if self.pg:
            rows = self.db.execute_sql(
                f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id'))"
                f" FROM generate_series(1, {int(count)})").fetchall()
            return [int(r[0]) for r in rows]
        # The transaction holds SQLite's write lock, so nobody takes these ids meanwhile.
        start = int(self.db.execute_sql(f'SELECT MAX(id) FROM "{table}"').fetchone()[0] or 0)
        return list(range(start + 1, start + 1 + count))

    def insert(self, model: type[m.BaseModel], names: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        fields = model._meta.fields
        table = model._meta.table_name
        columns = ", ".join(f'"{fields[n].column_name}"' for n in names)
        if self.pg:
            # Many rows per statement: psycopg2's executemany is one round trip per row.
            per_statement = max(1, 5000 // len(names))
            row_marks = f"({', '.join('%s' for _n in names)})"
            cursor = self.db.cursor()
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                cursor.execute(f'INSERT INTO "{table}" ({columns}) VALUES '
                               + ", ".join([row_marks] * len(chunk)),
                               [value for row in chunk for value in row])
            return
        sql = f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" for _n in names)})'
        conn = self.db.connection()
        for start in range(0, len(rows), CHUNK):
            conn.executemany(sql, rows[start:start + CHUNK])


def _db_value(value: Any) -> Any:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def run_import(actor: Actor, plan: ImportPlan, *, progress: Progress | None = None,
               cancel: threading.Event | None = None) -> ImportResult:
    """Write an analysed plan in one transaction; a failure or cancel writes nothing."""
    started = time.monotonic()
    kind = plan.options.kind
    actor.require(kind, "edit")
    if plan.options.on_duplicate not in POLICIES:
        raise ValidationError({"on_duplicate": _("Choose one of: {known}").format(
            known=", ".join(POLICIES))})
    writer = _Writer(actor, plan, progress, cancel)
    result = writer.run()
    if result.created >= 1000:
        # Fresh statistics after a big load keep sorted table pages on their indexes. Only
        # the tables the import filled: a whole-base ANALYZE reads every table (events,
        # payments…), 2.7 s on the 100k-client benchmark base against 0.25 s for these.
        db = current()
        for table in sorted(writer.filled):
            db.execute_sql(f'ANALYZE "{table}"')
    result.seconds = time.monotonic() - started
    return result


# How `_Writer._insert_records` stores a value.
_STORE_PLAIN, _STORE_CUSTOM, _STORE_POINTS, _STORE_TAGS = range(4)


class _Writer:
    def __init__(self, actor: Actor, plan: ImportPlan, progress: Progress | None,
                 cancel: threading.Event | None) -> None:
        self.actor = actor
        self.plan = plan
        self.kind = plan.options.kind
        self.spec = KINDS[self.kind]
        self.progress = progress
        self.cancel = cancel
        self.total = len(plan.rows)
        self.done = 0
        self.filled: set[str] = set()  # the record tables an import added rows to

    def tick(self, step: int = 1) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise ImportCancelled(_("The import was cancelled; nothing was changed."))
        before = self.done
        self.done += step
        if self.progress is not None and (self.done // 1000 != before // 1000
                                          or self.done >= self.total):
            self.progress(min(self.done, self.total), self.total)

    @write
    def run(self) -> ImportResult:
        plan = self.plan
        policy = plan.options.on_duplicate
        self.bulk = _Bulk()
        run = ImportRun.create(user=self.actor.user_id, kind=self.kind,
                               file_name=str(plan.table.path), file_format=plan.table.format,
                               encoding=plan.table.encoding, rows=len(plan.rows))
        self.run_row = run
        self.items: list[tuple] = []
        self._create_pending()
        to_create: list[PreparedRow] = []
        merge_into_row: dict[int, list[PreparedRow]] = {}
        merge_into_db: list[PreparedRow] = []
        skipped = 0
        for row in plan.rows:
            if row.error:
                continue
            if row.hidden_owner:
                skipped += 1  # another manager's client: never imported a second time
            elif row.duplicate_of is None and row.duplicate_row is None or policy == "create":
                to_create.append(row)
            elif policy == "merge" and row.duplicate_row is not None:
                merge_into_row.setdefault(row.duplicate_row, []).append(row)
            elif policy == "merge" and not row.hidden_owner:
                merge_into_db.append(row)
            else:
                skipped += 1
        merged = 0
        for target_index, extra in merge_into_row.items():
            target = plan.rows[target_index]
            for row in extra:
                _merge_values(target.values, row.values)
                merged += 1
        created_ids = self._create(to_create)
        merged_db = self._merge_db(merge_into_db)
        merged += merged_db
        self.bulk.insert(ImportItem, ["run", "kind", "record_id", "action", "before"],
                         self.items)
        errors = plan.errors
        warnings = plan.warnings
        details = {"policy": policy, "mapping": {plan.table.headers[i]: t
                                                 for i, t in plan.mapping.items()
                                                 if i < len(plan.table.headers)},
                   "errors": [e.to_dict() for e in errors[:200]],
                   "warnings": len(warnings)}
        ImportRun.update(created=len(created_ids), merged=merged, skipped=skipped,
                         errors=len(errors), details=json.dumps(details, ensure_ascii=False)
                         ).where(ImportRun.id == run.id).execute()
        audit.log(self.actor, "import", self.kind, None, details=json.dumps(
            {"import_id": run.id, "file": Path(plan.table.path).name, "created": len(created_ids),
             "merged": merged, "skipped": skipped, "errors": len(errors)}, ensure_ascii=False))
        if self.progress is not None:
            self.progress(self.total, self.total)
        return ImportResult(run.id, self.kind, str(plan.table.path), plan.table.format,
                            plan.table.encoding, len(plan.rows), len(created_ids), merged,
                            skipped, errors, warnings, created_ids=created_ids,
                            new_lookups=_pending_names(plan))

    def _create_pending(self) -> None:
        for pending in self.plan.pending.values():
            if pending.kind == "source":
                pending.id = m.Source.get_or_create(name=pending.name)[0].id
            elif pending.kind == "group":
                pending.id = m.Group.create(section=self.kind, name=pending.name).id
        orgs = [p for p in self.plan.pending.values() if p.kind == "organization"]
        if orgs:
            self.actor.require("organizations", "edit")
            source = None
            if records._require_source():
                source = _Resolver(self.actor, "organizations", self.plan.options).import_source()
                if isinstance(source, Pending):
                    source = m.Source.get_or_create(name=source.name)[0].id
            rows = [PreparedRow(row=0, values={"name": p.name, "source": source}) for p in orgs]
            ids = self._insert_records("organizations", rows)
            for pending, new_id in zip(orgs, ids, strict=True):
                pending.id = new_id

    def _create(self, rows: list[PreparedRow]) -> list[int]:
        ids = self._insert_records(self.kind, rows, tick=True)
        people = [(row, new_id) for row, new_id in zip(rows, ids, strict=True)
                  if row.contact_person]
        if people:
            contacts = []
            for row, org_id in people:
                values_: dict[str, Any] = dict(row.contact_person or {})
                values_["organization"] = org_id
                if row.values.get("owner"):
                    values_["owner"] = row.values["owner"]
                contacts.append(PreparedRow(row=row.row, values=values_))
            self._insert_records("contacts", contacts)
        return ids

    def _resolved(self, value: Any) -> Any:
        if isinstance(value, Pending):
            return value.id
        return value

    def _insert_records(self, kind: str, rows: list[PreparedRow], tick: bool = False
                        ) -> list[int]:
        """Insert records with their phones, e-mails, tags, custom values and search
        documents; return the new ids (in row order)."""
        if not rows:
            return []
        spec = KINDS[kind]
        model = spec.model
        bulk = self.bulk
        ids = bulk.reserve(model, len(rows))
        now = m.now()
        fields = [f for f in model._meta.sorted_fields if f.name != "id"]
        names = ["id"] + [f.name for f in fields]
        defaults = {}
        for f in fields:
            default = f.default() if callable(f.default) else f.default
            defaults[f.name] = default
        defaults.update(created_at=now, updated_at=now, created_by=self.actor.user_id,
                        updated_by=self.actor.user_id, version=1, deleted_at=None)
        if spec.owner_field:
            defaults[spec.owner_field] = self.actor.user_id
        customs = {cf.name: cf for cf in values.custom_fields(kind)}
        # How each value is stored, decided once per field name instead of once per cell.
        handling: dict[str, int] = {}
        for f in spec.fields:
            handling[f.name] = _STORE_POINTS if f.type in POINT_TYPES else _STORE_TAGS \
                if f.type == "tags" else _STORE_PLAIN
        handling.update({name: _STORE_CUSTOM for name in customs})
        record_rows: list[tuple] = []
        point_rows: list[tuple] = []
        custom_rows: list[tuple] = []
        tag_links: list[tuple[int, str]] = []
        docs: list[tuple[str, int, str, str]] = []
        items = self.items
        run_id = self.run_row.id
        org_names: dict[int | None, str] = {}
        contacts = kind == "contacts"
        if contacts:
            wanted = {self._resolved(r.values.get("organization")) for r in rows}
            org_names = lookups.names("organization", wanted)
        indexed = kind in search_index.KIND_CODES
        defaults = {k: _db_value(v) for k, v in defaults.items()}
        record_of = operator.itemgetter(*names)
        for row, new_id in zip(rows, ids, strict=True):
            data = dict(defaults)
            data["id"] = new_id
            terms: list[str] = []
            tags: list[str] = []
            for name, value in row.values.items():
                how = handling.get(name)
                if how is None:
                    continue
                if how == _STORE_PLAIN:
                    if value is None:
                        continue
                    if value.__class__ is not str:
                        value = value.id if isinstance(value, Pending) else _db_value(value)
                    data[name] = value
                elif how == _STORE_POINTS:
                    point_kind = POINT_TYPES[name]
                    for position, (ptype, shown, normalized, valid) in enumerate(value):
                        terms.extend(search_docs.point_terms(point_kind, shown, normalized, valid))
                        point_rows.append((
                            None if contacts else new_id, new_id if contacts else None,
                            point_kind, ptype, shown, normalized, valid, position))
                        if position == 0 and point_kind != "messenger":
                            data[f"primary_{point_kind}"] = shown
                elif how == _STORE_TAGS:
                    tags = list(dict.fromkeys(value))
                    tag_links.extend((new_id, t) for t in tags)
                else:
                    text = values.custom_to_text(value)
                    if text != "":
                        custom_rows.append((customs[name].id, new_id, text))
            record_rows.append(record_of(data))
            if indexed:
                refs = {}
                if contacts:
                    data["organization_id"] = data.get("organization")
                    if data["organization_id"]:
                        refs["organization"] = org_names.get(data["organization_id"], "")
                # The document `search_docs.reindex` would make: the fields, then the phones and
                # e-mails, then the tags.
                title, body = search_docs.document(kind, SimpleNamespace(**data),
                                              tags=[*terms, *tags], names=refs)
                docs.append((kind, new_id, title, body))
            items.append((run_id, kind, new_id, "created", ""))
            if tick:
                self.tick()
        bulk.insert(model, names, record_rows)
        bulk.insert(m.ContactPoint, ["organization", "contact", "kind", "type", "value",
                                     "normalized", "valid", "position"], point_rows)
        bulk.insert(m.CustomValue, ["field", "record_id", "value"], custom_rows)
        if tag_links:
            tag_ids = {}
            for name in dict.fromkeys(t for _rid, t in tag_links):
                tag_ids[name] = m.Tag.get_or_create(name=name)[0].id
            bulk.insert(m.TagLink, ["tag", "kind", "record_id"],
                        [(tag_ids[t], kind, rid) for rid, t in tag_links])
        search_index.insert_new(docs)
        self.filled.add(model._meta.table_name)
        if point_rows:
            self.filled.add(m.ContactPoint._meta.table_name)
        return ids

    def _merge_db(self, rows: list[PreparedRow]) -> int:
        merged = 0
        for row in rows:
            self.tick()
            assert row.duplicate_of is not None
            try:
                current_view = records.get(self.actor, self.kind, row.duplicate_of)
            except CrmError:
                continue
            data, before = _fill_in(self.kind, current_view, row.values, self._resolved)
            if data:
                records.update(self.actor, self.kind, row.duplicate_of, data)
                self.items.append((self.run_row.id, self.kind, row.duplicate_of, "merged",
                                   json.dumps(before, ensure_ascii=False, default=str)))
            merged += 1
        return merged


def _merge_values(target: dict[str, Any], extra: dict[str, Any]) -> None:
    """Fold a duplicate row of the file into the earlier one: empty fields filled, phones,
    e-mails and tags added."""
    for name, value in extra.items():
        current_value = target.get(name)
        if name in POINT_TYPES:
            have = {p[2] for p in current_value or []}
            target[name] = list(current_value or []) + [p for p in value if p[2] not in have]
        elif name == "tags":
            target[name] = list(dict.fromkeys(list(current_value or []) + list(value)))
        elif name == "notes" and current_value and value and value not in current_value:
            target[name] = f"{current_value}\n{value}"
        elif current_value in (None, "", []):
            target[name] = value


def _fill_in(kind: str, view: records.RecordView, new: dict[str, Any],
             resolved: Callable[[Any], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changes that merging a row into an existing record makes (empty fields filled,
    new phones / e-mails / tags added) and the earlier values, for undo."""
    data: dict[str, Any] = {}
    before: dict[str, Any] = {}
    for name, value in new.items():
        if name in POINT_TYPES:
            existing = view.points_of(POINT_TYPES[name])
            have = {p.normalized for p in existing}
            added = [(p[0], p[1]) for p in value if p[2] not in have]
            if added:
                old = [(p.type, p.value) for p in existing]
                data[name] = old + added
                before[name] = [f"{t}:{v}" for t, v in old]
            continue
        if name == "tags":
            added = [t for t in value if t not in view.tags]
            if added:
                data[name] = view.tags + added
                before[name] = list(view.tags)
            continue
        old_value = view.get(name)
        if name == "notes" and old_value and value and value not in old_value:
            data[name] = f"{old_value}\n{value}"
            before[name] = old_value
            continue
        if old_value in (None, "", []) and value not in (None, "", []):
            data[name] = resolved(value)
            before[name] = old_value
    return data, before


# --- the import log and undo ------------------------------------------------------------------


@dataclass
class ImportInfo:
    id: int
    at: dt.datetime
    login: str
    kind: str
    file: str
    rows: int
    created: int
    merged: int
    skipped: int
    errors: int
    undone: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "login": self.login,
                "section": self.kind, "file": self.file, "rows": self.rows,
                "created": self.created, "merged": self.merged, "skipped": self.skipped,
                "errors": self.errors, "undone": self.undone}


def list_imports(actor: Actor, limit: int = 50) -> list[ImportInfo]:
    """The latest imports, newest first."""
    query = (ImportRun.select(ImportRun, m.User.login)
             .join(m.User, on=(ImportRun.user == m.User.id), join_type=JOIN.LEFT_OUTER)
             .order_by(ImportRun.id.desc()).limit(limit))
    result = []
    for run in query.objects():
        if not actor.can(run.kind, "view"):
            continue
        result.append(ImportInfo(run.id, run.at, getattr(run, "login", "") or "", run.kind,
                                 run.file_name, run.rows, run.created, run.merged, run.skipped,
                                 run.errors, run.undone_at is not None))
    return result


@dataclass
class UndoResult:
    import_id: int
    deleted: int
    trashed: int  # records changed or linked to since the import: moved to the trash
    restored: int  # merged records given their earlier values back

    def to_dict(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "deleted": self.deleted, "trashed": self.trashed,
                "restored": self.restored}

    def summary(self) -> str:
        return _("Import #{id} undone: {deleted} records deleted, {trashed} moved to the trash"
                 " (changed since), {restored} merged records restored.").format(
            id=self.import_id, deleted=self.deleted, trashed=self.trashed,
            restored=self.restored)


@write
def undo_import(actor: Actor, import_id: int) -> UndoResult:
    """Undo a whole import: created records are deleted (moved to the trash if someone
    changed them or linked anything to them since), merged records get their earlier
    values back."""
    run = ImportRun.get_or_none(ImportRun.id == import_id)
    if run is None:
        raise NotFound(_("There is no import #{id}.").format(id=import_id))
    if run.undone_at is not None:
        raise CrmError(_("Import #{id} was already undone.").format(id=import_id))
    actor.require(run.kind, "edit")
    if not actor.is_admin and run.user_id != actor.user_id:
        raise CrmError(_("Only the admin or the person who imported can undo import #{id}.")
                       .format(id=import_id))
    deleted = trashed = restored = 0
    items = list(ImportItem.select(ImportItem.kind, ImportItem.record_id, ImportItem.action,
                                   ImportItem.before)
                 .where(ImportItem.run == run.id).order_by(ImportItem.id).tuples())
    for kind in ("contacts", "organizations"):  # contacts first: they point at organizations
        ids = [record_id for item_kind, record_id, action, _b in items
               if item_kind == kind and action == "created"]
        d, t = _remove_created(actor, kind, ids)
        deleted += d
        trashed += t
    for item_kind, record_id, action, before_text in items:
        if action != "merged":
            continue
        before = json.loads(before_text or "{}")
        try:
            records.update(actor, item_kind, record_id, before)
            restored += 1
        except (NotFound, ValidationError):
            continue
    ImportRun.update(undone_at=m.now(), undone_by=actor.user_id).where(
        ImportRun.id == run.id).execute()
    audit.log(actor, "import_undo", run.kind, None, details=json.dumps(
        {"import_id": run.id, "deleted": deleted, "trashed": trashed, "restored": restored}))
    return UndoResult(run.id, deleted, trashed, restored)


def _remove_created(actor: Actor, kind: str, ids: list[int]) -> tuple[int, int]:
    if not ids:
        return 0, 0
    model = KINDS[kind].model
    db = current()
    mark = "%s" if is_postgres(db) else "?"
    table = model._meta.table_name

    def rows(sql: str, params: list[Any]) -> list[tuple]:
        return db.execute_sql(sql, params).fetchall()

    def among(column: str, values_: list[int]) -> str:
        # Plain SQL: peewee spends seconds building IN lists of 100k ids.
        return f'"{column}" IN ({", ".join([mark] * len(values_))})'

    custom_fields = [cf.id for cf in m.CustomField.select(m.CustomField.id).where(
        m.CustomField.section == kind)]
    point_owner = "organization_id" if kind == "organizations" else "contact_id"
    deleted = trashed = 0
    for start in range(0, len(ids), UNDO_CHUNK):
        chunk = ids[start:start + UNDO_CHUNK]
        live = dict(rows(f'SELECT id, version FROM "{table}" WHERE deleted_at IS NULL'
                         f' AND {among("id", chunk)}', chunk))
        if not live:
            continue
        live_ids = list(live)
        linked: set[int] = set()
        for other, column in REFERRERS[kind]:
            name = getattr(other, column).column_name
            # Contacts this same import created (deleted just before) do not count.
            alive = " AND deleted_at IS NULL" if other is m.Contact else ""
            linked.update(r[0] for r in rows(
                f'SELECT "{name}" FROM "{other._meta.table_name}"'
                f' WHERE {among(name, live_ids)}{alive}', live_ids))
        touched = [i for i, version in live.items() if version > 1 or i in linked]
        touched_set = set(touched)
        free = [i for i in live_ids if i not in touched_set]
        if touched:
            model.update(deleted_at=m.now(), updated_by=actor.user_id, updated_at=m.now(),
                         version=model.version + 1).where(model.id.in_(touched)).execute()
            for i in touched:
                search_docs.unindex(kind, i)
                audit.log(actor, "delete", kind, i, details="import undo")
            trashed += len(touched)
        if free:
            db.execute_sql(f'DELETE FROM "{m.ContactPoint._meta.table_name}"'
                           f' WHERE {among(point_owner, free)}', free)
            db.execute_sql(f'DELETE FROM "{m.TagLink._meta.table_name}" WHERE kind = {mark}'
                           f' AND {among("record_id", free)}', [kind, *free])
            if custom_fields:
                db.execute_sql(f'DELETE FROM "{m.CustomValue._meta.table_name}"'
                               f' WHERE {among("field_id", custom_fields)}'
                               f' AND {among("record_id", free)}', [*custom_fields, *free])
            if kind in search_index.KIND_CODES:
                search_index.remove_many(kind, free)
            db.execute_sql(f'DELETE FROM "{table}" WHERE {among("id", free)}', free)
            deleted += len(free)
    return deleted, trashed
