"""The import log and undoing a whole import.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from peewee import JOIN

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.backend import backend
from tui_crm.db.database import current, write
from tui_crm.db.import_models import ImportItem, ImportRun
from tui_crm.errors import CrmError, NotFound, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import (
    audit,
    records,
    search_docs,
)
from tui_crm.services.core.kinds import KINDS, REFERRERS
from tui_crm.services.core.rights import Actor

UNDO_CHUNK = 900  # ids per statement when an import is undone (under SQLite's old 999)


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
    mark = backend(db).param
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
