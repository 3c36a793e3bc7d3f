"""Importing payments, services rendered and deals (e.g. an accounting export), matched to
organizations by tax id, then by name. One transaction: a bad row changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, records, server_files, visibility
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer.importing import read_table
from tui_crm.text.names import normalize_text
from tui_crm.text.names import org_key as normalize_name

KINDS = ("payments", "services", "deals")

# Header words (normalized) → field, per kind; the organization columns are shared.
ORG_HEADERS = {"инн": "inn", "inn": "inn", "tax id": "inn", "tax id (inn)": "inn",
               "контрагент": "organization", "организация": "organization",
               "клиент": "organization", "покупатель": "organization",
               "наименование": "organization", "organization": "organization",
               "client": "organization", "customer": "organization", "company": "organization",
               "name": "organization"}
HEADERS = {
    "payments": {"дата": "date", "дата оплаты": "date", "date": "date", "сумма": "amount",
                 "сумма оплаты": "amount", "amount": "amount", "назначение": "description",
                 "назначение платежа": "description", "описание": "description",
                 "комментарий": "description", "description": "description",
                 "сделка": "deal", "deal": "deal"},
    "services": {"дата": "date", "date": "date", "сумма": "amount", "amount": "amount",
                 "количество": "units", "кол-во": "units", "units": "units",
                 "quantity": "units", "услуга": "description", "описание": "description",
                 "description": "description", "service": "description"},
    "deals": {"сделка": "title", "название": "title", "title": "title", "deal": "title",
              "стадия": "stage", "этап": "stage", "stage": "stage", "сумма": "amount",
              "amount": "amount", "дата закрытия": "expected_close",
              "expected close": "expected_close", "причина отказа": "lost_reason",
              "lost reason": "lost_reason"},
}


@dataclass
class MoneyImportResult:
    kind: str
    created: int
    rows: int
    dry_run: bool
    errors: list[tuple[int, str]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.kind, "created": self.created, "rows": self.rows,
                "dry_run": self.dry_run, "mapping": self.mapping,
                "errors": [{"row": r, "message": msg} for r, msg in self.errors]}

    def summary(self) -> str:
        return _("{created} of {rows} rows imported into {section}").format(
            created=self.created, rows=self.rows, section=_(records.kind_spec(self.kind).label))


def _mapping(kind: str, headers: list[str], pairs: list[str]) -> dict[int, str]:
    known = {**ORG_HEADERS, **HEADERS[kind]}
    mapping: dict[int, str] = {}
    index: int | None
    for index, header in enumerate(headers):
        target = known.get(normalize_text(str(header or "")))
        if target and target not in mapping.values():
            mapping[index] = target
    targets = set(known.values())
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep:
            raise ValidationError({"map": _("Expected COLUMN=FIELD, got {text!r}").format(
                text=pair)})
        wanted = normalize_text(column)
        index = next((i for i, h in enumerate(headers) if normalize_text(str(h)) == wanted),
                     int(column) - 1 if column.isdigit() else None)
        if index is None or not 0 <= index < len(headers):
            raise ValidationError({"map": _("No column {name!r} in the file").format(name=column)})
        if target == "-":
            mapping.pop(index, None)
        elif target not in targets:
            raise ValidationError({"map": _("Unknown field {name!r}; choose one of: {known}")
                                   .format(name=target, known=", ".join(sorted(targets)))})
        else:
            mapping[index] = target
    return mapping


class _Organizations:
    """Tax id and normalized name → organization id (one query), among the clients the
    actor sees: another manager's client reads as no client at all."""

    def __init__(self, actor: Actor) -> None:
        self.by_inn: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        query = m.Organization.select(m.Organization.id, m.Organization.inn,
                                      m.Organization.name).where(
            m.Organization.deleted_at.is_null())
        seen = visibility.clause(actor, "organizations")
        for org in (query if seen is None else query.where(seen)):
            if org.inn:
                self.by_inn.setdefault(org.inn, org.id)
            self.by_name.setdefault(normalize_name(org.name), []).append(org.id)

    def find(self, inn: str, name: str) -> int:
        digits = "".join(ch for ch in inn if ch.isdigit())
        if digits:
            if digits in self.by_inn:
                return self.by_inn[digits]
            if not name:
                raise ValueError(_("no organization with tax id {inn}").format(inn=digits))
        found = self.by_name.get(normalize_name(name), []) if name else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValueError(_("several organizations are called {name!r}; add the tax id")
                             .format(name=name))
        raise ValueError(_("no organization {name!r}").format(name=name or inn))


def import_money(actor: Actor, path: str | Path, kind: str, *, map_pairs: Sequence[str] = (),
                 dry_run: bool = False, encoding: str | None = None,
                 delimiter: str | None = None, sheet: str | None = None) -> MoneyImportResult:
    """Import every row or none: a row with a problem stops the whole import (the problems
    are all reported, with their row numbers)."""
    if kind not in KINDS:
        raise ValidationError({"into": _("Choose one of: {known}").format(known=", ".join(KINDS))})
    actor.require(kind, "edit")
    server_files.check(actor, path)
    table = read_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    mapping = _mapping(kind, table.headers, list(map_pairs))
    fields = set(mapping.values())
    if not fields & {"inn", "organization"}:
        raise ValidationError({"map": _("No column names the organization (tax id or name);"
                                        " map one with --map COLUMN=organization")})
    needed = {"payments": {"date", "amount"}, "services": {"date"}, "deals": {"title"}}[kind]
    if not needed <= fields:
        raise ValidationError({"map": _("Missing columns: {names}").format(
            names=", ".join(sorted(needed - fields)))})
    return _run(actor, table, kind, mapping, dry_run)


@write
def _run(actor: Actor, table: Any, kind: str, mapping: dict[int, str], dry_run: bool
         ) -> MoneyImportResult:
    orgs = _Organizations(actor)
    result = MoneyImportResult(kind, 0, len(table.rows), dry_run,
                               mapping={table.headers[i]: f for i, f in mapping.items()})
    prepared: list[tuple[int, dict[str, Any]]] = []
    for offset, row in enumerate(table.rows):
        number = table.first_row + offset
        cells = {f: row[i] if i < len(row) else None for i, f in mapping.items()}
        cells = {f: ("" if v is None else v) for f, v in cells.items()}
        if not any(str(v).strip() for v in cells.values()):
            result.rows -= 1
            continue
        try:
            org_id = orgs.find(str(cells.pop("inn", "")).strip(),
                               str(cells.pop("organization", "")).strip())
        except ValueError as exc:
            result.errors.append((number, str(exc)))
            continue
        data = {k: (v if not isinstance(v, float) else repr(v)) for k, v in cells.items()}
        data = {k: (str(v) if not isinstance(v, str | int) else v) for k, v in data.items()}
        data["organization"] = org_id
        prepared.append((number, data))
    for number, data in prepared:
        try:
            if not dry_run:
                records.create(actor, kind, data)
            result.created += 1
        except ValidationError as exc:
            result.errors.append((number, "; ".join(f"{k}: {v}" for k, v in exc.errors.items())))
    if result.errors:
        result.errors.sort()
        first = result.errors[0]
        raise ValidationError({"file": _("{count} rows have problems, nothing was imported;"
                                         " row {row}: {message}").format(
            count=len(result.errors), row=first[0], message=first[1])})
    if not dry_run:
        audit.log(actor, "import", kind, None, details=f"{table.path.name}: {result.created}")
    return result
