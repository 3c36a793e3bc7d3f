"""The analysed file (every row validated and matched, nothing written) and what importing
it would do with each row, and why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import (
    lookups,
    settings,
)
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer.importing.mapping import auto_mapping, check_kind
from tui_crm.services.transfer.importing.matching import match_duplicates
from tui_crm.services.transfer.importing.options import ImportOptions
from tui_crm.services.transfer.importing.rows import (
    Pending,
    PreparedRow,
    Resolver,
    RowCleaner,
)
from tui_crm.services.transfer.importing.undo import UNDO_CHUNK
from tui_crm.services.transfer.readers.aliases import DISPLAY_NAME, FULL_NAME
from tui_crm.services.transfer.readers.table import SourceTable

POLICIES = ("skip", "merge", "create")


FUZZY_ROWS = 5000  # close-name matching only below this many rows


class ImportCancelled(CrmError):
    exit_code = 130


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise ImportCancelled once the user has cancelled (`cancel` set)."""
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(_("The import was cancelled; nothing was changed."))


def named_lookups(rows: Iterable[PreparedRow]) -> Iterator[Pending]:
    """The sources, groups and organizations to be created that the rows' values (their
    contact person's too) name, each as often as it is named."""

    def walk(values: dict[str, Any]) -> Iterator[Pending]:
        for value in values.values():
            if isinstance(value, Pending):
                yield value
            elif isinstance(value, dict):
                yield from walk(value)

    for row in rows:
        yield from walk(row.values)
        if row.contact_person:
            yield from walk(row.contact_person)


@dataclass
class RowProblem:
    row: int
    message: str
    error: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "message": self.message, "error": self.error}


@dataclass
class ImportPlan:
    """The analysed file: every row validated and matched, nothing written yet."""

    table: SourceTable
    options: ImportOptions
    mapping: dict[int, str]
    rows: list[PreparedRow]
    named: dict[tuple[str, str], Pending]  # every new source, group, organization a row names
    fuzzy: bool
    _titles: dict[int | None, str] | None = field(default=None, repr=False)
    # `pending` and the policies, rows and names it was worked out for (the wizard may change
    # the policies; a file imported part after part adds rows and names)
    _pending: tuple[tuple[str, str, int, int], dict[tuple[str, str], Pending]] | None = field(
        default=None, repr=False)

    @property
    def errors(self) -> list[RowProblem]:
        return [RowProblem(r.row, r.error, True) for r in self.rows if r.error]

    @property
    def warnings(self) -> list[RowProblem]:
        return [RowProblem(r.row, p) for r in self.rows for p in r.problems]

    @property
    def pending(self) -> dict[tuple[str, str], Pending]:
        """The sources, groups and organizations the import creates: those named by a row
        it writes (created or merged), not by a row with an error or one it skips."""
        if not self.named:
            return {}
        state = (self.options.on_duplicate, self.options.on_possible, len(self.rows),
                 len(self.named))
        if self._pending is not None and self._pending[0] == state:
            return self._pending[1]
        used = {id(p) for p in named_lookups(
            r for r in self.rows if self.action(r) in ("create", "merge"))}
        found = {key: p for key, p in self.named.items() if id(p) in used}
        self._pending = (state, found)
        return found

    def action(self, r: PreparedRow) -> str:
        """What importing does with a row: error / create / merge / skip (one place for
        the preview, the dry run and the writer)."""
        if r.error:
            return "error"
        if r.duplicate_of is None and r.duplicate_row is None:
            return "create"
        if r.hidden_owner:
            return "skip"  # another manager's client: never imported a second time
        policy = self.options.on_duplicate if r.duplicate_sure else self.options.on_possible
        return policy if policy in ("merge", "skip") else "create"

    def target_name(self, r: PreparedRow) -> str:
        """The record or row a duplicate row matches, named for the user."""
        if r.duplicate_row is not None:
            return _("row {row}").format(row=self.rows[r.duplicate_row].row)
        if r.hidden_owner:
            return _("a client of another manager")
        if self._titles is None:
            wanted = [x.duplicate_of for x in self.rows if x.duplicate_of is not None]
            self._titles = {}
            ref = "organization" if self.options.kind == "organizations" else "contact"
            for start in range(0, len(wanted), UNDO_CHUNK):
                self._titles.update(lookups.names(ref, wanted[start:start + UNDO_CHUNK]))
        return f"#{r.duplicate_of} {self._titles.get(r.duplicate_of or 0, '')}".strip()

    def outcome(self, r: PreparedRow) -> tuple[str, str]:
        """(created / merged / skipped / error, why) of a row, as the user is told it."""
        action = self.action(r)
        if action == "error":
            return "error", r.error
        if r.duplicate_of is None and r.duplicate_row is None:
            return "created", ""
        target, reason = self.target_name(r), r.duplicate_reason
        if r.hidden_owner:
            return "skipped", _("already a client of another manager (same {reason})").format(
                reason=reason)
        if action == "merge":
            return "merged", _("merged into {target} (same {reason})").format(
                target=target, reason=reason)
        if action == "skip":
            if r.duplicate_sure:
                return "skipped", _("same {reason} as {target}").format(
                    reason=reason, target=target)
            return "skipped", _("possibly the same as {target} (same {reason} only)").format(
                target=target, reason=reason)
        if r.duplicate_sure:
            return "created", _("same {reason} as {target}; created anyway").format(
                reason=reason, target=target)
        return "created", _("possible duplicate of {target} (same {reason} only)").format(
            target=target, reason=reason)

    def counts(self) -> dict[str, int]:
        """What importing with the chosen policies would do."""
        done = {"create": 0, "merge": 0, "skip": 0, "error": 0}
        for r in self.rows:
            done[self.action(r)] += 1
        return {"rows": len(self.rows), "created": done["create"], "merged": done["merge"],
                "skipped": done["skip"], "errors": done["error"],
                "duplicates_in_base": sum(1 for r in self.rows if r.duplicate_of is not None),
                "duplicates_in_file": sum(1 for r in self.rows if r.duplicate_row is not None),
                "possible_duplicates": sum(1 for r in self.rows if not r.error and not
                                           r.duplicate_sure),
                "warnings": sum(len(r.problems) for r in self.rows)}

    def ignored_columns(self) -> list[str]:
        """The file's columns that go nowhere (named, so nothing is dropped unsaid)."""
        return [h for i, h in enumerate(self.table.headers)
                if not self.mapping.get(i) and i not in self.table.used]

    def mapping_by_header(self) -> dict[str, str]:
        found = {i: t for i, t in self.mapping.items() if t and i < len(self.table.headers)}
        found.update((i, f"({what})") for i, what in self.table.used.items()
                     if i not in found)
        return {self.table.headers[i]: t for i, t in sorted(found.items())}


Progress = Callable[[int, int], None]


def analyze(actor: Actor, table: SourceTable, options: ImportOptions, *,
            progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportPlan:
    """Validate and match every row; nothing is written."""
    kind = options.kind
    mapping, resolver, cleaner = prepare(actor, table, options)
    total = len(table.rows)
    rows = cleaner.clean_table(table, mapping, progress=progress,
                               cancel=lambda: check_cancel(cancel))
    if table.problems:
        for prepared in rows:
            if prepared.row in table.problems:
                prepared.error = table.problems[prepared.row]
    seen = {r.row for r in rows}
    for number, message in table.problems.items():  # vCard cards that did not parse
        if number not in seen:
            rows.append(PreparedRow(row=number, values={}, error=message))
    rows.sort(key=lambda r: r.row)
    fuzzy = len(rows) < FUZZY_ROWS
    match_duplicates(actor, kind, rows, fuzzy)
    if progress is not None:
        progress(total, total)
    return ImportPlan(table, options, mapping, rows, resolver.pending, fuzzy)


def prepare(actor: Actor, table: SourceTable, options: ImportOptions
            ) -> tuple[dict[int, str], Resolver, RowCleaner]:
    """The checks before any row is cleaned, and the mapping, resolver and cleaner the rows
    are cleaned with."""
    kind = options.kind
    check_kind(kind)
    actor.require(kind, "edit")
    check_policies(options)
    mapping = dict(options.mapping) if options.mapping is not None \
        else auto_mapping(kind, table.headers)
    if not any(mapping.values()):
        raise ValidationError({"map": _(
            "No column is mapped to a field; map at least the name column (--map"
            " COLUMN=FIELD). The columns: {columns}").format(
            columns=", ".join(table.headers[:30]))})
    check_name_mapped(kind, mapping)
    resolver = Resolver(actor, kind, options)
    cleaner = RowCleaner(actor, kind, options, resolver)
    cleaner.date_order = table.date_order
    return mapping, resolver, cleaner


def check_policies(options: ImportOptions) -> None:
    for name in ("on_duplicate", "on_possible"):
        if getattr(options, name) not in POLICIES:
            raise ValidationError({name: _("Choose one of: {known}").format(
                known=", ".join(POLICIES))})


def check_name_mapped(kind: str, mapping: dict[int, str]) -> None:
    wanted = {"name"} if kind == "organizations" else {"last_name", "first_name", FULL_NAME,
                                                        DISPLAY_NAME}
    if not wanted & set(mapping.values()):
        what = settings.field_label(kind, "name") if kind == "organizations" \
            else _("Last name, First name or Full name")
        raise ValidationError({"map": _("No column is mapped to {field}; map the column that"
                                        " holds it.").format(field=what)})
