"""Who sees which record, and who may change it: the one rule every service asks.

A record follows the client it belongs to. An organization is seen by those who see its
owner. A contact: its owner, or its organization. A task or an event: its assignee, or
its organization or contact. A deal: its owner, or its organization. A note, link, payment
or service rendered (no person of its own) follows its first parent — its organization;
without one, its contact (a note) or deal (a payment); with no parent at all, its author. Whose records a user sees is their visibility:
everyone's ("all"), their own ("own"), or their group's and their own ("group").

Changing a record (edit, delete, restore) needs seeing it and, for a record attached to a
client, the right to change that client: payments and services feed categories and
reports, so they change only with the client. Attaching a record to an organization,
contact or deal needs seeing the target — `lookups` resolves references only among the
records the actor sees, so a hidden target reads exactly like one that does not exist.

Every form of the rule is built here: a peewee expression for a kind's model (`clause`),
an IN-subquery of visible ids (`visible_ids_select`), and the same subquery as SQL text
(`visible_ids_sql`) for the places that write raw SQL.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from functools import reduce
from typing import Any

from peewee import SQL, BaseModelSelect, NodeList, Select, fn

from tui_crm.db import models as m
from tui_crm.errors import PermissionDenied
from tui_crm.i18n import _
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.rights import Actor

# The records a record belongs to (its "parents"), by reference field, first parent first.
PARENTS: dict[str, tuple[str, ...]] = {
    "organizations": (),
    "contacts": ("organization",),
    "tasks": ("organization", "contact"),
    "events": ("organization", "contact"),
    "deals": ("organization",),
    "notes": ("organization", "contact"),
    "links": ("organization",),
    "payments": ("organization", "deal"),
    "services": ("organization",),
}
# The kind a reference field points to (the references that have visibility of their own).
REFERENCE_KINDS = {"organization": "organizations", "contact": "contacts", "deal": "deals"}
# Parents that are clients: changing a record attached to one needs the right to change it.
CLIENT_FIELDS = ("organization", "contact")
# Kinds whose records change with their client (see `check_write`).
CLIENT_BOUND = frozenset({"tasks", "events", "deals", "notes", "links", "payments",
                          "services"})
_CHUNK = 500


def visible_user_ids(actor: Actor) -> list[int] | Select | None:
    """The users whose own records the actor sees: None for everyone's, else their ids
    (a list, or a sub-select of the actor's group)."""
    if actor.sees_all:
        return None
    own = [actor.user_id] if actor.user_id is not None else []
    if actor.visibility == "group" and actor.group_id is not None:
        return m.User.select(m.User.id).where((m.User.group_id == actor.group_id)
                                              | m.User.id.in_(own))
    return own


def sees_user(actor: Actor, user_id: int | None) -> bool:
    """Whether the actor sees the records of this user (their day, their reports, …)."""
    if actor.sees_all:
        return True
    if user_id is None:
        return False
    if user_id == actor.user_id:
        return True
    if actor.visibility == "group" and actor.group_id is not None:
        return m.User.select().where((m.User.id == user_id)
                                     & (m.User.group_id == actor.group_id)).exists()
    return False


def _by_user(actor: Actor, column: Any) -> Any:  # a peewee expression
    users = visible_user_ids(actor)
    # `in_` of an empty list is false; `column == None` would match every ownerless record.
    return column.in_(users)


def _unindexed(column: Any) -> Any:
    """`+column`: the same value, which the database does not look up by its index."""
    return NodeList((SQL("+"), column), glue="")


def _branches(actor: Actor, kind: str, column: Callable[[str], Any],
              parent_visible: Callable[[str], Any]) -> list[Any]:
    """The ways a record of `kind` is visible (any one is enough): its person, or one of its
    parents; a record with no parent, by its author. `column(name)` is the record's column,
    `parent_visible(name)` the condition that the parent in that column is visible."""
    spec = KINDS[kind]
    names = PARENTS[kind]
    if spec.owner_field:  # its person, or any of its parents
        return [_by_user(actor, column(spec.owner_field)),
                *(parent_visible(name) for name in names)]
    # Its first parent (a payment's organization before its deal); with none, its author.
    branches = []
    for i, name in enumerate(names):
        before = [column(earlier).is_null() for earlier in names[:i]]
        branches.append(reduce(operator.and_, [*before, parent_visible(name)]))
    orphan = [column(name).is_null() for name in names]
    return [*branches, reduce(operator.and_, [*orphan, _by_user(actor, column("created_by"))])]


def _set_branches(actor: Actor, kind: str, *, scan: bool = False) -> list[Any]:
    """`_branches` with each parent compared with the set of visible parents (`scan`: the
    record's columns not looked up by their indexes)."""
    model = KINDS[kind].model

    def column(name: str) -> Any:
        return _unindexed(getattr(model, name)) if scan else getattr(model, name)

    return _branches(actor, kind, column, lambda name: column(name).in_(
        visible_ids_select(actor, REFERENCE_KINDS[name])))


def _row_branches(actor: Actor, kind: str, model: Any) -> list[Any]:
    """`_branches` for one record at a time: each parent looked up by its own id (a
    correlated EXISTS) instead of compared with the set of every visible parent, which the
    database would build first — tens of milliseconds for a manager's 40k contacts, for a
    condition asked of a few hundred records."""
    def parent_visible(name: str) -> Any:
        parent_kind = REFERENCE_KINDS[name]
        parent = KINDS[parent_kind].model.alias()
        inner = reduce(operator.or_, _row_branches(actor, parent_kind, parent))
        return fn.EXISTS(parent.select(SQL("1")).where(
            (parent.id == getattr(model, name)) & inner))

    return _branches(actor, kind, lambda name: getattr(model, name), parent_visible)


# The shapes of the one rule (`clause`), for the way a query reads the table.
PLAIN, UNION, SCAN, ROW = "plain", "union", "scan", "row"


def clause(actor: Actor, kind: str, shape: str = PLAIN) -> Any:  # an expression, or None
    """The condition on `kind`'s model that keeps the records the actor sees; None when
    they see every record. The shapes say the same and differ only in how SQLite reads
    (measured on a manager's share of 100k events / payments):

    - PLAIN, an OR of IN-lists: the planner picks — for a few records by id, checks and
      sub-selects.
    - UNION, one IN over a union of index searches: reads every visible record through
      indexes alone; for counts and whole ordered lists (events: count 280 → 105 ms, the
      ordered ids 720 → 190 ms).
    - SCAN, the OR with its columns not looked up by index: a page in the table's order
      walks the order's index and stops at the page's end instead of gathering and sorting
      every visible record (the first page of payments: 117 → 3 ms) — when the visible
      records are many; with few, UNION finds them faster.
    - ROW, the OR with each parent looked up by its id: for a few records picked otherwise
      (search candidates, records named by id), checked one by one without building the set
      of every visible parent first (a manager's quick search on the benchmark base:
      80–96 → 27–51 ms per query).
    """
    if actor.sees_all:
        return None
    if shape == ROW:
        return reduce(operator.or_, _row_branches(actor, kind, KINDS[kind].model))
    if shape == SCAN:
        return reduce(operator.or_, _set_branches(actor, kind, scan=True))
    branches = _set_branches(actor, kind)
    if shape != UNION:
        return reduce(operator.or_, branches)
    model = KINDS[kind].model
    ids: BaseModelSelect = model.select(model.id).where(branches[0])
    for branch in branches[1:]:
        ids = ids.union_all(model.select(model.id).where(branch))
    return model.id.in_(ids)


def visible_ids_select(actor: Actor, kind: str) -> Select:
    """A sub-select of the ids of `kind` the actor sees (for `column.in_(...)`)."""
    model = KINDS[kind].model
    query = model.select(model.id)
    where = clause(actor, kind)
    return query if where is None else query.where(where)


def visible_ids_sql(actor: Actor, kind: str) -> tuple[str, list[Any]]:
    """The same sub-select as SQL text and parameters (in the database's parameter style),
    for queries written as SQL."""
    sql, params = visible_ids_select(actor, kind).sql()
    return sql, list(params)


def visible_subset(actor: Actor, kind: str, ids: Iterable[int | None]) -> set[int]:
    """Which of these ids the actor sees (existing records only when some are hidden)."""
    wanted = sorted({i for i in ids if i})
    if actor.sees_all or not wanted:
        return set(wanted)
    model = KINDS[kind].model
    where = clause(actor, kind, ROW)
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        found.update(r for (r,) in model.select(model.id).where(
            model.id.in_(chunk) & where).tuples())
    return found


def visible_id_set(actor: Actor, kind: str) -> set[int] | None:
    """Every id of `kind` the actor sees (None: all of them) — for matching many rows."""
    if actor.sees_all:
        return None
    return {r for (r,) in visible_ids_select(actor, kind).tuples()}


def can_see(actor: Actor, kind: str, row_or_id: m.Record | int) -> bool:
    if actor.sees_all:
        return True
    spec = KINDS[kind]
    if isinstance(row_or_id, m.Record):
        if spec.owner_field and getattr(row_or_id, f"{spec.owner_field}_id") == actor.user_id \
                and actor.user_id is not None:
            return True  # the common case without a query
        record_id = row_or_id.id
    else:
        record_id = row_or_id
    return bool(visible_subset(actor, kind, [record_id]))


def refusal() -> PermissionDenied:
    """What an actor hears about a record they may not see (it does not name it)."""
    return PermissionDenied(_("This record belongs to another manager."))


def check(actor: Actor, kind: str, row_or_id: m.Record | int) -> None:
    """PermissionDenied unless the actor sees the record."""
    if not can_see(actor, kind, row_or_id):
        raise refusal()


def check_clients(actor: Actor, kind: str, parents: dict[str, int | None]) -> None:
    """PermissionDenied unless the actor may change each client (organization, contact)
    a record of `kind` is attached to, by their ids."""
    if kind not in CLIENT_BOUND:
        return
    for name in CLIENT_FIELDS:
        client_id = parents.get(name)
        if not client_id:
            continue
        client_kind = REFERENCE_KINDS[name]
        if not actor.can(client_kind, "edit") or not can_see(actor, client_kind, client_id):
            raise PermissionDenied(_("Only whoever may change the client may change its "
                                     "records."))


def check_write(actor: Actor, kind: str, row: m.Record) -> None:
    """PermissionDenied unless the actor may edit, delete or restore this record: they see
    it and may change the client it is attached to. The assignee of a task or an event may
    always work on it (a head may give a call on a colleague's client to someone else)."""
    check(actor, kind, row)
    assignee = getattr(row, "assignee_id", None)  # tasks and events have one
    if kind in ("tasks", "events") and assignee is not None and assignee == actor.user_id:
        return
    check_clients(actor, kind, {name: getattr(row, f"{name}_id", None)
                                for name in CLIENT_FIELDS})


def hidden_name() -> str:
    """How the name of a record the actor may not see is shown in its place."""
    return _("(another manager's)")
