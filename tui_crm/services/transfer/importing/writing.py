"""Writing an analysed file in one transaction (bulk inserts through the driver, the
search index, the import log for undo) and the result that names every row's outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.database import current, is_postgres, write
from tui_crm.db.import_models import ImportItem, ImportRun
from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import (
    audit,
    lookups,
    records,
    search_docs,
    server_files,
    values,
)
from tui_crm.services.core.kinds import KINDS, POINT_TYPES
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer.importing.mapping import parse_map_options
from tui_crm.services.transfer.importing.plan import (
    ImportCancelled,
    ImportOptions,
    ImportPlan,
    Progress,
    RowProblem,
    analyze,
    check_policies,
)
from tui_crm.services.transfer.importing.rows import Pending, PreparedRow, Resolver
from tui_crm.services.transfer.readers.files import read_table

CHUNK = 2000


OUTCOMES = {"created": N_("created"), "merged": N_("merged"), "skipped": N_("skipped"),
            "error": N_("error")}


@dataclass
class RowOutcome:
    """What became of one row of the file, and why."""

    row: int
    outcome: str  # created / merged / skipped / error
    reason: str = ""
    record_id: int | None = None  # the record created or merged into (not another's hidden)

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "outcome": self.outcome, "reason": self.reason,
                "record_id": self.record_id}


def outcomes(plan: ImportPlan, created: dict[int, int] | None = None) -> list[RowOutcome]:
    """Every row's outcome; `created`: row number → the new record's id (after writing)."""
    result = []
    for r in plan.rows:
        outcome, reason = plan.outcome(r)
        record_id = None
        if outcome == "created" and created is not None:
            record_id = created.get(r.row)
        elif outcome == "skipped" and not r.hidden_owner and r.duplicate_of is not None:
            record_id = r.duplicate_of
        elif outcome == "merged" and not r.hidden_owner:
            record_id = r.duplicate_of if r.duplicate_of is not None else \
                (created or {}).get(plan.rows[r.duplicate_row].row) \
                if r.duplicate_row is not None else None
        result.append(RowOutcome(r.row, outcome, reason, record_id))
    return result


def result_of(plan: ImportPlan, result: ImportResult,
               created: dict[int, int] | None = None) -> ImportResult:
    """`result` with what the plan tells about the columns and every row."""
    result.mapping = plan.mapping_by_header()
    result.ignored_columns = plan.ignored_columns()
    result.outcomes = outcomes(plan, created)
    result.sheet = plan.table.sheet
    result.notes = list(plan.table.notes)
    return result


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
    mapping: dict[str, str] = field(default_factory=dict)  # column header → field
    ignored_columns: list[str] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)  # every row, in file order
    sheet: str = ""
    notes: list[str] = field(default_factory=list)  # what the reader detected or guessed

    def to_dict(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "section": self.kind, "file": self.file,
                "format": self.format, "encoding": self.encoding, "sheet": self.sheet,
                "notes": self.notes, "row_count": self.rows,
                "created": self.created, "merged": self.merged, "skipped": self.skipped,
                "mapping": self.mapping, "ignored_columns": self.ignored_columns,
                "rows": [o.to_dict() for o in self.outcomes],
                "errors": [e.to_dict() for e in self.errors],
                "warnings": [w.to_dict() for w in self.warnings[:1000]],
                "warning_count": len(self.warnings), "dry_run": self.dry_run,
                "seconds": round(self.seconds, 2), "new_lookups": self.new_lookups}

    def not_created(self) -> list[RowOutcome]:
        """The rows that did not simply become a new record: merged, skipped, errors and
        possible duplicates (created, with the reason)."""
        return [o for o in self.outcomes if o.outcome != "created" or o.reason]

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
        return result_of(plan, ImportResult(
            None, options.kind, str(table.path), table.format, table.encoding, counts["rows"],
            counts["created"], counts["merged"], counts["skipped"], plan.errors, plan.warnings,
            dry_run=True, new_lookups=pending_names(plan)))
    return run_import(actor, plan, progress=progress, cancel=cancel)


def pending_names(plan: ImportPlan) -> list[str]:
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
    check_policies(plan.options)
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
            action = plan.action(row)
            if action == "create":
                to_create.append(row)
            elif action == "merge" and row.duplicate_row is not None:
                merge_into_row.setdefault(row.duplicate_row, []).append(row)
            elif action == "merge":
                merge_into_db.append(row)
            elif action == "skip":
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
        created_by_row = {row.row: new_id for row, new_id in
                          zip(to_create, created_ids, strict=True)}
        return result_of(plan, ImportResult(
            run.id, self.kind, str(plan.table.path), plan.table.format, plan.table.encoding,
            len(plan.rows), len(created_ids), merged, skipped, errors, warnings,
            created_ids=created_ids, new_lookups=pending_names(plan)), created_by_row)

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
            if records.requires_source():
                source = Resolver(self.actor, "organizations", self.plan.options).import_source()
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
