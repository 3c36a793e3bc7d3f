"""The audit trail: who created, changed (field, old → new), deleted, restored, exported,
imported or mailed what and when. Written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peewee import JOIN

from tui_crm.db import bulk
from tui_crm.db.database import write
from tui_crm.db.models import AuditLog, User
from tui_crm.services.core.rights import Actor


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Decimal):
        # One text per number whatever the backend returned ("3", not "3.000" or "3.0").
        text = format(value.normalize(), "f")
        return "0" if text == "-0" else text
    return str(value)


def log(actor: Actor, action: str, kind: str = "", record_id: int | None = None,
        changes: dict[str, tuple[Any, Any]] | None = None, details: str = "") -> None:
    """Record an action; `changes` maps field → (old, new), one row per field."""
    if changes:
        AuditLog.insert_many(
            [
                {"user": actor.user_id, "action": action, "kind": kind, "record_id": record_id,
                 "field": name, "old": _text(old), "new": _text(new), "details": details}
                for name, (old, new) in changes.items()
            ]
        ).execute()
    else:
        AuditLog.create(user=actor.user_id, action=action, kind=kind, record_id=record_id,
                        details=details)


def log_many(actor: Actor, action: str, kind: str, record_ids: Iterable[int]) -> None:
    """`log(actor, action, kind, id)` for many records, in one bulk insert (the record
    writer's "create" rows)."""
    bulk.insert_dicts(AuditLog, [{"user": actor.user_id, "action": action, "kind": kind,
                                  "record_id": record_id} for record_id in record_ids],
                      with_ids=False)


@write
def log_alone(actor: Actor, action: str, kind: str = "", record_id: int | None = None,
              details: str = "") -> None:
    """`log` in a transaction of its own, for an action that changed nothing else (a plan
    exported, a backup made): it waits and retries for the write lock as every write does."""
    log(actor, action, kind, record_id, details=details)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    login: str
    action: str
    kind: str
    record_id: int | None
    field: str
    old: str
    new: str
    details: str


def history(kind: str | None = None, record_id: int | None = None, *, action: str | None = None,
            login: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """Audit entries, newest first, filtered by record, action or user."""
    query = AuditLog.select(AuditLog, User.login).join(User, on=(AuditLog.user == User.id),
                                                       join_type=JOIN.LEFT_OUTER)
    if kind:
        query = query.where(AuditLog.kind == kind)
    if record_id is not None:
        query = query.where(AuditLog.record_id == record_id)
    if action:
        query = query.where(AuditLog.action == action)
    if login:
        query = query.where(User.login == login)
    rows = query.order_by(AuditLog.id.desc()).limit(limit).objects()
    return [
        AuditEntry(r.id, r.at, getattr(r, "login", None) or "", r.action, r.kind, r.record_id,
                   r.field, r.old, r.new, r.details)
        for r in rows
    ]
