"""Each row's cells validated and normalized into field values (phones by the phone rule
with their extensions, dates by the file's conventions, references resolved once per
distinct text).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tui_crm.db import models as m
from tui_crm.i18n import _, catalog
from tui_crm.services.core import (
    lookups,
    records,
    settings,
    values,
    visibility,
)
from tui_crm.services.core.kinds import KINDS, POINT_TYPE_CHOICES, POINT_TYPES, FieldSpec
from tui_crm.services.core.record_writer import parse_point
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import org_names
from tui_crm.services.transfer.importing.options import ImportOptions
from tui_crm.services.transfer.readers.aliases import CONTACT_PERSON, DISPLAY_NAME, FULL_NAME
from tui_crm.services.transfer.readers.table import SourceTable, cell_text
from tui_crm.text import dates
from tui_crm.text.identity import (
    InvalidValue,
    normalize_url,
    validate_email,
    validate_inn,
)
from tui_crm.text.names import normalize_text, split_full_name
from tui_crm.text.phones import Phone, parse_phone

_NEUTRALIZED = re.compile(r"^'[=+\-@\t\r]")


@dataclass
class Pending:
    """A source, group or organization that the import will create."""

    kind: str  # source / group / organization
    name: str
    id: int | None = None


@dataclass(slots=True)  # no __dict__ per row: a big file has 100k of them
class PreparedRow:
    row: int  # the file's row number
    values: dict[str, Any]
    contact_person: dict[str, str] | None = None
    problems: list[str] = field(default_factory=list)
    error: str = ""
    duplicate_of: int | None = None  # an existing record id
    duplicate_row: int | None = None  # index (in plan.rows) of an earlier row of the file
    duplicate_reason: str = ""
    duplicate_sure: bool = True  # False: only possibly the same (a namesake: see duplicates/rule.py)
    hidden_owner: bool = False  # the existing duplicate belongs to someone the actor cannot see

    @property
    def ok(self) -> bool:
        return not self.error


class Resolver:
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
        if not ids:  # "Альфа (ИНН 7707083893)": a shared name as exports write it
            name, inn = org_names.split(raw)
            if inn:
                ids = [i for i in self.org_names.get(normalize_text(name), [])
                       if i in self._org_ids_with_inn(inn)]
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

    def _org_ids_with_inn(self, inn: str) -> set[int]:
        return {i for (i,) in m.Organization.select(m.Organization.id).where(
            (m.Organization.inn == inn) & m.Organization.deleted_at.is_null()).tuples()}

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
_LABEL_SPACE = re.compile(r":\s+")


def _split_points(text: str, point_kind: str) -> list[str]:
    """Several phones / e-mails in one cell, separated by ; , or new lines; an extension
    ("доб. 12") stays with its number."""
    if point_kind == "email":
        # "personal: a@b.ru" (a typed e-mail, as exports write it) stays one piece
        return [p for p in _EMAIL_SPLIT.split(_LABEL_SPACE.sub(":", text)) if p.strip()]
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


def unneutralize(text: str) -> str:
    """Drop the apostrophe an export put before = + - @ (so round trips are exact)."""
    return text[1:] if text[:1] == "'" and _NEUTRALIZED.match(text) else text


_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")


# Excel's day numbers: 1900-03-01 is 61 (Excel counts a 29 February 1900 that never was);
# serials from 10000 (1927) to 80000 (2119) are taken for dates.
EXCEL_EPOCH = dt.date(1899, 12, 30)


EXCEL_FIRST_SERIAL, EXCEL_LAST_SERIAL = 10_000, 80_000


# What Outlook writes for a birthday it does not know.
_NO_DATE = {"0/0/00", "0.0.00", "00.00.0000", "0/0/0000"}


# How a mapped target's cells are handled.
_POINT, _NAME, _VALUE = 0, 1, 2


class RowCleaner:
    """Validates and normalizes one row's raw values into field values, with caches."""

    def __init__(self, actor: Actor, kind: str, options: ImportOptions,
                 resolver: Resolver) -> None:
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
        self.require_source = kind == "organizations" and records.requires_source()
        self.handlers: dict[str, tuple[str, str, int]] = {}
        self.phones: dict[str, Phone] = {}  # raw text → parse_phone()
        self.converters: dict[str, Callable[[Any], Any]] = {}
        self.date_order = ""  # "mdy": the file writes dates month first (Outlook in English)

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
            texts: Sequence[Any]
            if len(cells) == 1:  # the usual case, without a list comprehension
                cell = cells[0]
                texts = (unneutralize(cell) if isinstance(cell, str) and cell[:1] == "'"
                         else cell,)
            else:
                texts = [unneutralize(c) if isinstance(c, str) else c for c in cells]
            if how == _POINT:
                self._points(base, sub, texts, points, problems, leftovers)
                continue
            if how == _NAME:
                text = " ".join(cell_text(t).strip() for t in texts if cell_text(t).strip())
                if text:
                    names[base] = text
                continue
            if sub and base == "notes":  # kept in the notes under the column's header
                texts = [f"{sub}: {cell_text(c).strip()}" for c in texts if not blank(c)]
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
            convert = converters.get(base) or self._converter_of(base)
            left = self._store(base, convert, value, out, problems)
            if left is not None:
                leftovers.append(left)
        return self._finish(row_number, out, problems, leftovers, points, names)

    def clean_table(self, table: SourceTable, mapping: dict[int, str], *,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], None] | None = None) -> list[PreparedRow]:
        """`clean` of every row `raw_rows` gives, in the file's order. A table with one
        column per target (the usual one) is cleaned column by column, each column's
        converter called in one tight loop; the rows come out as `clean` makes them (each
        row's cells still go in column order). `cancel` raises to stop; `progress` gets
        (rows done, rows)."""
        items = [(index, target) for index, target in sorted(mapping.items()) if target]
        total = len(table.rows)
        if len({target for _i, target in items}) != len(items):  # columns grouped per row
            cleaned = []
            for count, (number, raw) in enumerate(raw_rows(table, mapping)):
                if cancel is not None:
                    cancel()
                cleaned.append(self.clean(raw, number))
                if progress is not None and count % 1000 == 0:
                    progress(count, total)
            return cleaned
        rows = table.rows
        width = min(map(len, rows), default=0)  # columns below it are in every row
        # Each column's filled cells as two lists (positions, cells): no tuple per cell.
        columns = [(target, *_filled(rows, index, index < width)) for index, target in items]
        mapped = bytearray(total)  # 1: the row has a filled mapped cell
        for _target, positions, _cells in columns:
            for pos in positions:
                mapped[pos] = 1
        kept = [pos for pos in range(total)
                if mapped[pos] or any(cell_text(c).strip() for c in rows[pos])]
        state = _Columns(total)
        for done, (target, positions, cells) in enumerate(columns):
            if cancel is not None:
                cancel()
            self._clean_column(target, positions, cells, state)
            if progress is not None:
                progress(total * (done + 1) // (len(columns) + 1), total)
        first = table.first_row
        return [self._finish(first + pos, state.outs[pos], state.problems[pos],
                             state.leftovers.get(pos, []), state.points[pos],
                             state.names.get(pos, {})) for pos in kept]

    def _clean_column(self, target: str, positions: list[int], cells: list[Any],
                      state: _Columns) -> None:
        """One target's filled cells (and their rows' positions) into the rows' values, as
        `clean` does for a target with one cell."""
        if not cells:
            return
        base, sub, how = self.handlers.get(target) or self._handler(target)
        outs, problems, points = state.outs, state.problems, state.points
        if how == _POINT:
            spare: list[str] = []  # a row's values that could not be stored (rare)
            for pos, cell in zip(positions, cells, strict=True):
                if cell.__class__ is str and cell[:1] == "'":
                    cell = unneutralize(cell)
                self._points(base, sub, (cell,), points[pos], problems[pos], spare)
                if spare:
                    state.leftovers.setdefault(pos, []).extend(spare)
                    spare.clear()
            return
        if how == _NAME:
            for pos, cell in zip(positions, cells, strict=True):
                if cell.__class__ is str and cell[:1] == "'":
                    cell = unneutralize(cell)
                text = cell_text(cell).strip()
                if text:
                    state.names.setdefault(pos, {})[base] = text
            return
        convert = self.converters.get(base) or self._converter_of(base)
        notes = base == "notes"
        for pos, cell in zip(positions, cells, strict=True):
            if cell.__class__ is str:
                if cell[:1] == "'":
                    cell = unneutralize(cell)
                    if not cell.strip():
                        continue
            if notes and sub:  # kept in the notes under the column's header
                cell = f"{sub}: {cell_text(cell).strip()}"
            left = self._store(base, convert, cell, outs[pos], problems[pos])
            if left is not None:
                state.leftovers.setdefault(pos, []).append(left)

    def _store(self, base: str, convert: Callable[[Any], Any], value: Any,
               out: dict[str, Any], problems: list[str]) -> str | None:
        """A target's value converted into the row's values (a second notes column added
        to the first); when it does not convert, its problem named and the text to keep in
        the notes returned."""
        try:
            converted = convert(value)
        except (InvalidValue, dates.DateParseError, ValueError) as exc:
            label = self.label(base)
            problems.append(_("{field}: {message}").format(field=label, message=str(exc)))
            return f"{label}: {cell_text(value).strip()}"
        if base == "notes" and out.get("notes") and converted:
            converted = f"{out['notes']}\n{converted}"  # several notes columns
        out[base] = converted
        return None

    def _finish(self, row_number: int, out: dict[str, Any], problems: list[str],
                leftovers: list[str], points: dict[str, list[tuple[str, str, str, bool]]],
                names: dict[str, str]) -> PreparedRow:
        """A row whose cells are converted: its points and names folded in, the import's
        defaults, the leftovers kept in the notes and the rules of a record checked."""
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
                text = unneutralize(text.strip())
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
                    shown, normalized, valid = parse_point("email", shown, self.region)
                else:
                    shown, normalized, valid = parse_point(point_kind, text, self.region)
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
            if kind == "date":
                value = self._date_cell(value)
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

    def _date_cell(self, value: Any) -> Any:
        """A date cell as the file meant it: an Excel serial number (a date column saved
        as a number) as its date, a month-first date of Outlook in English (2/1/1985 is
        1 February) as a date; other values as they are."""
        if isinstance(value, str):
            text = value.strip()
            if text in _NO_DATE:
                return ""
            if text.isdigit() and len(text) == 5:
                value = int(text)  # "31048": a serial number that went through a CSV
            elif self.date_order == "mdy" and (found := _MDY.match(text)):
                month, day, year = (int(g) for g in found.groups())
                if year < 100:
                    year += 1900 if year > dt.date.today().year % 100 else 2000
                try:
                    return dt.date(year, month, day)
                except ValueError:
                    return value  # reported as not a date by the usual parser
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and EXCEL_FIRST_SERIAL <= value <= EXCEL_LAST_SERIAL:
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        return value

    def _rules(self, row: PreparedRow) -> None:
        out = row.values
        if self.kind == "organizations":
            if not out.get("name"):
                row.error = _("No name: an organization needs one")
                return
        elif not (out.get("last_name") or out.get("first_name")):
            row.error = _("No name: a contact needs a last or a first name")
            if out.get("organization"):  # a company's own card or row, not a person's
                row.error = _("No name: a contact needs a last or a first name; this row"
                              " names only a company (import it into organizations)")
            return
        owner = out.get("owner")
        if owner is not None and not isinstance(owner, Pending) and not self.actor.sees_all \
                and owner != self.actor.user_id and not self.actor.is_admin:
            row.problems.append(_("Owner: you can only import clients of your own"))
            out.pop("owner")
        if self.require_source and out.get("status", "lead") == "lead" and not out.get("source"):
            out["source"] = self.resolver.import_source()


def blank(cell: Any) -> bool:
    return cell is None or cell == "" or (isinstance(cell, str) and not cell.strip())


def _filled(rows: list[list[Any]], index: int, everywhere: bool
            ) -> tuple[list[int], list[Any]]:
    """The column's cells that are not blank and their rows' positions (`everywhere`: no
    row is too short to have the column)."""
    if everywhere:
        column = [row[index] for row in rows]
    else:
        column = [row[index] if index < len(row) else None for row in rows]
    positions = [pos for pos, cell in enumerate(column)
                 if ((cell and not cell.isspace()) if cell.__class__ is str
                     else not blank(cell))]
    return positions, [column[pos] for pos in positions]


class _Columns:
    """What cleaning a table column by column builds for each row: its values, problems and
    points (one each per row), the values it could not store and its names (only for the
    rows that have some: few containers for the collector to walk on a big file)."""

    def __init__(self, total: int) -> None:
        self.outs: list[dict[str, Any]] = [{} for _pos in range(total)]
        self.problems: list[list[str]] = [[] for _pos in range(total)]
        self.points: list[dict[str, list[tuple[str, str, str, bool]]]] = [
            {} for _pos in range(total)]
        self.leftovers: dict[int, list[str]] = {}
        self.names: dict[int, dict[str, str]] = {}


def raw_rows(table: SourceTable, mapping: dict[int, str]
             ) -> Iterable[tuple[int, list[tuple[str, Sequence[Any]]]]]:
    """(row number, [(target, its non-empty cells)]) of the rows that are not blank;
    targets in the order their first filled column comes."""
    items = [(index, target) for index, target in sorted(mapping.items()) if target]
    first = table.first_row
    for offset, row in enumerate(table.rows):
        grouped: dict[str, list[Any]] = {}
        width = len(row)
        for index, target in items:
            if index < width and not blank(cell := row[index]):
                grouped.setdefault(target, []).append(cell)
        if grouped or any(cell_text(c).strip() for c in row):
            yield first + offset, list(grouped.items())
