"""Columns → fields: the automatic mapping from the headers and `--map COLUMN=FIELD`.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import (
    records,
    settings,
)
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, POINT_TYPES
from tui_crm.services.transfer.readers.aliases import (
    ALIASES,
    CONTACT_PERSON,
    DISPLAY_NAME,
    FULL_NAME,
    IN_NOTES,
    NOTES_LABELLED,
    Target,
    header_key,
    pattern_target,
)

IMPORT_KINDS = ("organizations", "contacts")


def targets(kind: str) -> list[Target]:
    """Every place a column can go, for the mapping screen and `--map`."""
    check_kind(kind)
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
    check_kind(kind)
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
    in_notes = {header_key(name) for name in IN_NOTES[kind]}
    chosen: dict[int, tuple[str, int]] = {}
    for index, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue
        hit = table.get(key)
        if hit is None and " / " in header:  # a flattened two-row header: "Контакты / Телефон"
            hit = table.get(header_key(header.rsplit(" / ", 1)[1]))
        if hit is None:
            if pattern := pattern_target(key):
                hit = (pattern, 50)
            elif ":" in header and header.split(":", 1)[0] in POINT_TYPES:
                hit = (header.strip(), 0)  # our own "phones:work" style headers
            elif key in in_notes:
                hit = (f"{NOTES_LABELLED}{header.strip()}", 60)
        if hit is not None:
            chosen[index] = hit
    best: dict[str, tuple[int, int]] = {}
    for index, (target, priority) in chosen.items():
        if is_multi(kind, target):
            continue
        if target not in best or priority < best[target][1]:
            best[target] = (index, priority)
    mapping: dict[int, str] = {}
    for index, (target, _priority) in chosen.items():
        if is_multi(kind, target) or best[target][0] == index:
            mapping[index] = target
    return mapping


def is_multi(kind: str, target: str) -> bool:
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
        if target == NOTES_LABELLED:  # "notes:": the notes, labelled with the header
            target = f"{NOTES_LABELLED}{headers[index]}"
        if target not in valid and not target.startswith(NOTES_LABELLED):
            errors[column] = _("Unknown field {name!r}; see `tui-crm fields {section}`").format(
                name=target, section=kind)
            continue
        if not is_multi(kind, target):
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


def check_kind(kind: str) -> None:
    if kind not in IMPORT_KINDS:
        raise ValidationError({"into": _("Only organizations and contacts can be imported"
                                         " from a table; got {name!r}").format(name=kind)})
