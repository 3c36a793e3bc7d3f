"""Writing an analysed file in one transaction (the new records through the record
writer, the import log for undo) and the result that names every row's outcome.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui_crm.db import bulk, search_index
from tui_crm.db import models as m
from tui_crm.db.database import current, write
from tui_crm.db.import_models import ImportItem, ImportRun
from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import (
    audit,
    record_writer,
    records,
    server_files,
)
from tui_crm.services.core.kinds import KINDS, POINT_TYPES
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer.importing.mapping import parse_map_options
from tui_crm.services.transfer.importing.matching import Matcher
from tui_crm.services.transfer.importing.plan import (
    ImportOptions,
    ImportPlan,
    Progress,
    RowProblem,
    analyze,
    check_cancel,
    check_policies,
    named_lookups,
    prepare,
)
from tui_crm.services.transfer.importing.rows import Pending, PreparedRow, Resolver, RowCleaner
from tui_crm.services.transfer.readers.aliases import CONTACT_PERSON
from tui_crm.services.transfer.readers.files import read_table
from tui_crm.services.transfer.readers.table import SourceTable

_ITEM_COLUMNS = ["run", "kind", "record_id", "action", "before"]  # of an undo item
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

    def created_lookups(self, shown: int = 10) -> str:
        """The sources, groups and organizations the import created, as one line (the first
        `shown` named: a file of 5,000 new companies is not a wall of text); "" if none."""
        if not self.new_lookups:
            return ""
        items = ", ".join(self.new_lookups[:shown])
        if len(self.new_lookups) > shown:
            items += " " + _("…and {n} more").format(n=len(self.new_lookups) - shown)
        return _("Also created: {items}").format(items=items)

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
    if not dry_run and streams(table, options):
        return stream_import(actor, table, options, progress=progress, cancel=cancel)
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


def run_import(actor: Actor, plan: ImportPlan, *, progress: Progress | None = None,
               cancel: threading.Event | None = None) -> ImportResult:
    """Write an analysed plan in one transaction; a failure or cancel writes nothing."""
    started = time.monotonic()
    kind = plan.options.kind
    actor.require(kind, "edit")
    check_policies(plan.options)
    writer = _Writer(actor, plan, progress, cancel)
    result = writer.run()
    return _after(writer, result, started)


def streams(table: SourceTable, options: ImportOptions) -> bool:
    """Whether `import_file` writes the file's first part while it analyses the rest: a
    big file whose rows' fates depend only on the rows before them (no merge policy: a
    merge changes an earlier row; no rows a reader could not read). A file of a part or
    two gains nothing: its writing would wait for the analysis all the same."""
    return len(table.rows) >= 2 * record_writer.PART_ROWS and not table.problems \
        and "merge" not in (options.on_duplicate, options.on_possible)


def stream_import(actor: Actor, table: SourceTable, options: ImportOptions, *,
                  progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> ImportResult:
    """`import_file` for a file `streams` allows, part after part: each part is cleaned and
    matched (against the base and the rows before it), then written on the write-behind
    thread while the next part is cleaned. One transaction; the same rows, outcomes and
    result as analysing the whole file first."""
    started = time.monotonic()
    mapping, resolver, cleaner = prepare(actor, table, options)
    plan = ImportPlan(table, options, mapping, [], resolver.pending, fuzzy=False)
    writer = _Writer(actor, plan, progress, cancel)
    writer.total = len(table.rows)
    result = writer.stream(cleaner, Matcher(actor, options.kind, fuzzy=False))
    return _after(writer, result, started)


def _after(writer: _Writer, result: ImportResult, started: float) -> ImportResult:
    if result.created >= 1000:
        # Fresh statistics after a big load keep sorted table pages on their indexes. Only
        # the tables the import filled: a whole-base ANALYZE reads every table (events,
        # payments…), 2.7 s on the 100k-client benchmark base against 0.25 s for these.
        db = current()
        for table in sorted(writer.filled):
            db.execute_sql(f'ANALYZE "{table}"')
    result.seconds = time.monotonic() - started
    return result


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
        self.writers: dict[str, record_writer.RecordWriter] = {}  # by kind
        self.reserve_ahead = 0  # ids reserved at once for the kind's rows (a stream)
        self.items: list[tuple] = []  # the undo list's rows not written yet

    def tick(self, step: int = 1) -> None:
        check_cancel(self.cancel)
        before = self.done
        self.done += step
        if self.progress is not None and (self.done // 1000 != before // 1000
                                          or self.done >= self.total):
            self.progress(min(self.done, self.total), self.total)

    @write
    def run(self) -> ImportResult:
        plan = self.plan
        self._start(len(plan.rows))
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
        created_by_row = {row.row: new_id for row, new_id in
                          zip(to_create, created_ids, strict=True)}
        return self._finish(created_ids, merged, skipped, created_by_row)

    @write
    def stream(self, cleaner: RowCleaner, matcher: Matcher) -> ImportResult:
        """Clean, match and write the file part after part (see `stream_import`)."""
        plan, table = self.plan, self.plan.table
        self._start(len(table.rows))
        parts = bulk.pipeline_parts(len(table.rows), record_writer.PART_ROWS)
        self.reserve_ahead = len(table.rows)
        created_ids: list[int] = []
        created_by_row: dict[int, int] = {}
        skipped = 0

        with search_index.many_statements(), bulk.write_behind(len(parts)) as later:
            for start, end in parts:
                part = replace(table, rows=table.rows[start:end],
                               first_row=table.first_row + start)
                rows = cleaner.clean_table(part, plan.mapping,
                                           cancel=lambda: check_cancel(self.cancel))
                matcher.match(rows, len(plan.rows))
                plan.rows.extend(rows)
                to_create = []
                for row in rows:
                    action = plan.action(row)
                    if action == "create":
                        to_create.append(row)
                    elif action == "skip":
                        skipped += 1
                new = _new_lookups(to_create)
                if new:
                    bulk.drain()  # their rows are written here, with savepoints of their own
                    self._create_pending(new)
                ids = self._create(to_create)
                created_ids.extend(ids)
                created_by_row.update((row.row, new_id)
                                      for row, new_id in zip(to_create, ids, strict=True))
                if self.items:  # the part's undo items, written behind it too
                    later(functools.partial(bulk.insert_rows, ImportItem, _ITEM_COLUMNS,
                                            self.items, savepoint=False))
                    self.items = []
        matcher.name_hidden_owners(plan.rows)
        return self._finish(created_ids, 0, skipped, created_by_row)

    def _start(self, rows: int) -> None:
        """The import's run row (undo finds its items by it)."""
        table = self.plan.table
        self.run_row = ImportRun.create(
            user=self.actor.user_id, kind=self.kind, file_name=str(table.path),
            file_format=table.format, encoding=table.encoding, rows=rows)

    def _finish(self, created_ids: list[int], merged: int, skipped: int,
                created_by_row: dict[int, int]) -> ImportResult:
        """The undo list, the run's counts, the audit row and the result."""
        plan, run = self.plan, self.run_row
        policy = plan.options.on_duplicate
        if self.items:
            bulk.insert_rows(ImportItem, _ITEM_COLUMNS, self.items, savepoint=False)
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
        return result_of(plan, ImportResult(
            run.id, self.kind, str(plan.table.path), plan.table.format, plan.table.encoding,
            len(plan.rows), len(created_ids), merged, skipped, errors, warnings,
            created_ids=created_ids, new_lookups=pending_names(plan)), created_by_row)

    def _create_pending(self, pendings: Iterable[Pending] | None = None) -> None:
        """Create the sources, groups and organizations the rows name (all the plan's by
        default) and give each its id."""
        todo = list(self.plan.pending.values() if pendings is None else pendings)
        for pending in todo:
            if pending.kind == "source":
                pending.id = m.Source.get_or_create(name=pending.name)[0].id
            elif pending.kind == "group":
                pending.id = m.Group.create(section=self.kind, name=pending.name).id
        orgs = [p for p in todo if p.kind == "organization"]
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
            # Their organizations are this part's new ones (maybe not written yet).
            self._insert_records("contacts", contacts, given=[
                {"organization": row.values["name"]} for row, _org in people])
        return ids

    def _resolved(self, value: Any) -> Any:
        if isinstance(value, Pending):
            return value.id
        return value

    def _insert_records(self, kind: str, rows: list[PreparedRow], tick: bool = False,
                        given: list[dict[str, str]] | None = None) -> list[int]:
        """Insert records through the record writer; return the new ids (in row order).
        No audit row per record: the import logs itself once ("import", with its counts)
        and its items list what it created, for undo."""
        if not rows:
            return []
        # References to look-ups this import created are ids by now; their names are
        # known, and are given to the writer: in a stream such a record may not be written
        # yet when this part's search documents are made.
        data = [row.values for row in rows]
        names: list[dict[str, str]] = [dict(n) for n in given] if given else \
            [{} for _row in rows]
        if self.plan.named:  # any look-up the import may create (no walk over the rows)
            refs = [f.name for f in KINDS[kind].fields if f.is_reference]
            for i, values_ in enumerate(data):
                if any(isinstance(values_.get(name), Pending) for name in refs):
                    names[i].update((name, value.name) for name, value in values_.items()
                                    if isinstance(value, Pending) and value.kind == name)
                    data[i] = {name: self._resolved(value) for name, value in values_.items()}
        ids = self._record_writer(kind).write_many(data, audit_action=None, names=names,
                                                   tick=self.tick if tick else None)
        run_id = self.run_row.id
        self.items.extend((run_id, kind, new_id, "created", "") for new_id in ids)
        self.filled.add(KINDS[kind].model._meta.table_name)
        if KINDS[kind].has_points:
            self.filled.add(m.ContactPoint._meta.table_name)
        return ids

    def _record_writer(self, kind: str) -> record_writer.RecordWriter:
        """The import's writer of `kind`'s records (one per kind: its set-up is read once).
        In a stream, the import's own records and the people its rows name get ids for
        every row of the file at once: no part then waits to reserve its own."""
        writer = self.writers.get(kind)
        if writer is None:
            ahead = kind == self.kind or (kind == "contacts"
                                          and CONTACT_PERSON in self.plan.mapping.values())
            writer = self.writers[kind] = record_writer.RecordWriter(
                self.actor, kind, expected=self.reserve_ahead if ahead else 0)
        return writer

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


def _new_lookups(rows: list[PreparedRow]) -> list[Pending]:
    """The sources, groups and organizations these rows name that are not created yet."""
    return list({id(p): p for p in named_lookups(rows) if p.id is None}.values())


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
