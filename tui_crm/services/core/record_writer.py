"""The one writer of new records: `write_many` (and `records.create` for one record).

Every way a record comes into being — a form or the CLI (`records.create`), an import, a
mailing's history — writes the same things through here, in the caller's transaction:

- the record's row: ids reserved up front (`db.bulk.reserve_ids`), the model's defaults,
  created/updated at and by, version 1, the owner field (the actor, unless given);
- its phones, e-mails and messengers (ContactPoint rows) and the primary_phone /
  primary_email columns (the first of each);
- its tags and custom field values;
- its search document (`search_docs.document`, as `search_docs.reindex` would make it);
- an audit row per record (`audit_action`, "create" by default; None for an import, which
  logs itself once as "import" and keeps the list of what it created for undo);
- for events: the clients' last and next contact dates (`contact_dates.refresh_many`).

Rows hold values already cleaned and checked (`values.clean` or the importer's analysis);
rights beyond "may edit this kind" and visibility are the callers'. All rows of a kind go
in with one bulk insert per table (`db.bulk.insert_rows`), so one record and 100 000 take
the same path.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import SimpleNamespace
from typing import Any

import peewee

from tui_crm.db import bulk, search_index
from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.services.core import audit, contact_dates, lookups, search_docs, values
from tui_crm.services.core.kinds import KINDS, POINT_TYPES
from tui_crm.services.core.rights import Actor
from tui_crm.text.identity import email_key, messenger_key
from tui_crm.text.phones import parse_phone

# The references a search document names (search_docs._names_for reads the same three).
_NAMED_REFS = ("organization", "contact", "event_type")

# How a row's value is stored.
_PLAIN, _CUSTOM, _POINTS, _TAGS = range(4)

# The one class of value each kind of column takes unconverted (peewee's db_value returns
# it unchanged); a Decimal is not among them (peewee stores a zero as "0").
_AS_IS: dict[type[peewee.Field], type] = {
    peewee.CharField: str, peewee.TextField: str, peewee.IntegerField: int,
    peewee.BigIntegerField: int, peewee.ForeignKeyField: int, peewee.BooleanField: bool,
    peewee.DateTimeField: dt.datetime, peewee.DateField: dt.date}

_POINT_COLUMNS = ["organization", "contact", "kind", "type", "value", "normalized", "valid",
                  "position"]


def parse_point(point_kind: str, text: str, region: str) -> tuple[str, str, bool]:
    """A phone, e-mail or messenger as typed → the value shown, the normalized form
    duplicates are found by, and whether it parsed."""
    if point_kind == "phone":
        shown, normalized, valid, _extension = parse_phone(text, region)
        return shown, normalized, valid
    if point_kind == "email":
        return text, email_key(text), True
    return text, messenger_key(text), True


def stored_value(field: peewee.Field, value: Any) -> Any:
    """What a column stores for a cleaned value: an empty value of a column that cannot be
    NULL is its default ("" for text without one)."""
    if value is None and not field.null and not isinstance(field, peewee.ForeignKeyField):
        value = field.default if not callable(field.default) else None
        if value is None:
            value = ""
    return value


# Rows per part of a big write: on SQLite each part is written on the write-behind thread
# while the next is built (bulk.write_behind), and its rows are freed once written.
PART_ROWS = 10_000


def write_many(actor: Actor, kind: str, rows: Sequence[Mapping[str, Any]], *,
               audit_action: str | None = "create",
               names: Sequence[Mapping[str, str]] | None = None,
               tick: Callable[[], None] | None = None) -> list[int]:
    """Insert new records of `kind` from cleaned field values ({field name: value}; phones,
    e-mails, messengers as [(type, text)] or parsed [(type, shown, normalized, valid)], tags
    as names, custom fields by name; other keys are ignored); return their ids in row order.

    `audit_action`: the audit row written per record (None: the caller logs the write as a
    whole, as an import does). `names`: per row, names of its references the caller knows
    already ({"organization": …}) for the search document; the others are looked up. `tick`
    is called once per row (an import's progress and cancel).

    Inside the caller's transaction, which must roll back as a whole when this raises (a
    failure leaves the rows written before it)."""
    if not rows:
        return []
    return RecordWriter(actor, kind).write_many(rows, audit_action=audit_action, names=names,
                                                tick=tick)


class RecordWriter:
    """`write_many` for a caller that writes records of one kind in several calls inside
    one transaction (an import, part after part): the kind's shape is read once, and ids
    for `expected` records are reserved at once, so that a call runs no statement of its
    own before its rows are built (on SQLite one would wait for the part the write-behind
    thread is writing). Ids left over when the transaction ends are never used."""

    def __init__(self, actor: Actor, kind: str, *, expected: int = 0) -> None:
        actor.require(kind, "edit")
        self.actor, self.kind = actor, kind
        self.shape = _Shape(actor, kind)
        self.ids = bulk.reserve_ids(self.shape.model, expected)
        self.used = 0
        # Names of the references its records' documents show, looked up once each: a later
        # call (part) naming the same ones runs no query.
        self.found: dict[str, dict[int | None, str]] = {}

    def _take_ids(self, count: int) -> list[int]:
        if self.used + count > len(self.ids):  # more than expected: reserved now
            return bulk.reserve_ids(self.shape.model, count)
        self.used += count
        return self.ids[self.used - count:self.used]

    def _ref_names(self, rows: Sequence[Mapping[str, Any]],
                   known: Sequence[Mapping[str, str]] | None
                   ) -> dict[str, dict[int | None, str]]:
        """The names of the references the rows' documents show (organization, contact,
        event type): one look-up per kind of reference for those neither the caller gave
        (`known`, per row) nor an earlier call looked up."""
        found = self.found
        for ref in self.shape.refs:
            field = self.shape.by_name[ref]
            have = found.setdefault(ref, {})
            wanted = set()
            for i, row in enumerate(rows):
                value = row.get(ref)
                if value and not (known and ref in known[i]):
                    value = value if value.__class__ is int else field.db_value(value)
                    if value not in have:
                        wanted.add(value)
            if wanted:
                have.update(lookups.names(ref, wanted))
        return found

    def write_many(self, rows: Sequence[Mapping[str, Any]], *,
                   audit_action: str | None = "create",
                   names: Sequence[Mapping[str, str]] | None = None,
                   tick: Callable[[], None] | None = None) -> list[int]:
        """The module's `write_many` with this writer's shape and ids."""
        if not rows:
            return []
        actor, kind = self.actor, self.kind
        batch = _Batch(self.shape)
        ids = self._take_ids(len(rows))
        found = self._ref_names(rows, names)
        with bulk.write_behind(-(-len(rows) // PART_ROWS)) as later:
            for start in range(0, len(rows), PART_ROWS):
                end = start + PART_ROWS
                batch.build(rows[start:end], ids[start:end],
                            names[start:end] if names else None, found, tick)
                later(batch.take().insert)
            # Once all parts are in: one statement (FTS5 writes its buffer out at the start
            # of each). In an import that writes part after part, once per part, on the
            # write-behind thread while the next part is cleaned (search_index.
            # many_statements).
            later(search_index.index_staged)
            later(batch.insert_tags)
            if audit_action is not None:
                later(partial(audit.log_many, actor, audit_action, kind, ids))
            if kind == "events":
                # The new events move their clients' last contact or next step.
                later(partial(contact_dates.refresh_many, batch.event_orgs,
                              batch.event_people))
        return ids


class _Part:
    """The table rows of a part of a write, inserted in one go (on the write-behind thread
    for a big write). No savepoint per table: the caller's transaction is all or nothing."""

    def __init__(self, batch: _Batch) -> None:
        self.model, self.columns = batch.model, batch.columns
        self.record_rows, self.point_rows = batch.record_rows, batch.point_rows
        self.custom_rows, self.docs = batch.custom_rows, batch.docs

    def insert(self) -> None:
        bulk.insert_rows(self.model, self.columns, self.record_rows, savepoint=False)
        if self.point_rows:
            bulk.insert_rows(m.ContactPoint, _POINT_COLUMNS, self.point_rows, savepoint=False)
        if self.custom_rows:
            bulk.insert_rows(m.CustomValue, ["field", "record_id", "value"], self.custom_rows,
                             savepoint=False)
        if self.docs:
            search_index.stage_new(self.docs)  # indexed once all parts are in (write_many)


class _Shape:
    """How the rows of one kind are stored, decided once per writer: the table's columns
    and defaults, how each field's value goes in, the custom fields and the phone region.
    Read when the writer is made, so that no statement runs between parts (one would wait
    for the part being written on the write-behind thread)."""

    def __init__(self, actor: Actor, kind: str) -> None:
        spec = KINDS[kind]
        self.kind = kind
        self.model = spec.model
        fields = [f for f in self.model._meta.sorted_fields if f.name != "id"]
        self.columns = ["id", *(f.name for f in fields)]
        self.by_name = {f.name: f for f in fields}
        now = backend().datetime_value(m.now())
        self.defaults: dict[str, Any] = {
            f.name: bulk.db_value(f, f.default() if callable(f.default) else f.default)
            for f in fields}
        self.defaults.update(created_at=now, updated_at=now, created_by=actor.user_id,
                             updated_by=actor.user_id, version=1, deleted_at=None)
        self.owner = spec.owner_field
        if self.owner:
            self.defaults[self.owner] = actor.user_id
        self.customs = {cf.name: cf for cf in values.custom_fields(kind)}
        # How each value is stored, decided once per field name instead of once per cell.
        self.handling: dict[str, int] = {name: _CUSTOM for name in self.customs}
        for spec_field in spec.fields:
            self.handling[spec_field.name] = (
                _POINTS if spec_field.type in POINT_TYPES else
                _TAGS if spec_field.type == "tags" else _PLAIN)
        # A value of the column's own type goes to the driver as it is (peewee would hand
        # it over unchanged); any other through the field's conversion, as peewee does.
        self.as_is = {name: _AS_IS.get(type(f)) for name, f in self.by_name.items()}
        self.indexed = kind in search_index.KIND_CODES
        self.region = values.phone_region() if spec.has_points else "RU"
        self.refs = [n for n in _NAMED_REFS if n in self.by_name] if self.indexed else []


class _Batch:
    """The rows of one `write_many` call as the rows of each table, built from the values
    as the writer's shape says."""

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        self.kind, self.model, self.columns = shape.kind, shape.model, shape.columns
        self.record_rows: list[tuple] = []
        self.point_rows: list[tuple] = []
        self.custom_rows: list[tuple[int, int, str]] = []
        self.tag_links: list[tuple[int, str]] = []
        self.docs: list[tuple[str, int, str, str]] = []  # (kind, id, title, body)
        self.event_orgs: list[int | None] = []  # events: whose contact dates move
        self.event_people: list[int | None] = []

    def build(self, rows: Sequence[Mapping[str, Any]], ids: Sequence[int],
              known: Sequence[Mapping[str, str]] | None,
              found: dict[str, dict[int | None, str]],
              tick: Callable[[], None] | None) -> None:
        """Each row's values into its record row, points, custom values, tag links and
        search document (locals for the loop: it runs per record). `known`: per row, names
        of its references the caller has ({"organization": …}); `found`: the others'
        (`RecordWriter._ref_names`). No statement runs here: the part before may be being
        written."""
        shape = self.shape
        defaults, handling, by_name, as_is = shape.defaults, shape.handling, shape.by_name, \
            shape.as_is
        owner, indexed, customs = shape.owner, shape.indexed, shape.customs
        of_contact = self.kind == "contacts"  # else the points are an organization's
        record_of = operator.itemgetter(*self.columns)
        region = shape.region
        record_rows, point_rows = self.record_rows, self.point_rows
        for row, new_id in zip(rows, ids, strict=True):
            data = dict(defaults)
            data["id"] = new_id
            terms: list[str] = []
            tags: list[str] = []
            for name, value in row.items():
                how = handling.get(name)
                if how is None:
                    continue
                if how == _PLAIN:
                    field = by_name[name]
                    if value is None:
                        value = stored_value(field, value)
                        if value is None and name == owner:
                            continue  # no owner given: the actor's record
                    elif value.__class__ is not as_is[name]:
                        value = field.db_value(value)
                    data[name] = value
                elif how == _POINTS:
                    point_kind = POINT_TYPES[name]
                    parsed = value if value and len(value[0]) == 4 else \
                        [(ptype, *parse_point(point_kind, text, region))
                         for ptype, text in value or ()]
                    for position, (ptype, shown, normalized, valid) in enumerate(parsed):
                        if indexed:
                            terms.extend(search_docs.point_terms(point_kind, shown,
                                                                 normalized, valid))
                        point_rows.append((None if of_contact else new_id,
                                           new_id if of_contact else None, point_kind,
                                           ptype, shown, normalized, valid, position))
                    if point_kind != "messenger":
                        data[f"primary_{point_kind}"] = parsed[0][1] if parsed else ""
                elif how == _TAGS:
                    tags = list(dict.fromkeys(value or ()))
                    self.tag_links.extend((new_id, t) for t in tags)
                else:
                    text = values.custom_to_text(value)
                    if text != "":
                        self.custom_rows.append((customs[name].id, new_id, text))
            record_rows.append(record_of(data))
            if indexed:  # the document made now: the row's values are not kept for it
                self._document(data, [*terms, *tags], known[len(record_rows) - 1]
                               if known else None, found)
            if tick is not None:
                tick()

    def _document(self, data: dict[str, Any], terms: list[str],
                  known: Mapping[str, str] | None,
                  found: dict[str, dict[int | None, str]]) -> None:
        """A new record's search document: the fields, then the phones, e-mails and
        messengers, then the tags — the document `search_docs.reindex` makes."""
        ref_names: dict[str, str] = {}
        for ref in self.shape.refs:
            ref_id = data[ref]
            data[f"{ref}_id"] = ref_id  # as a model row has it (search_docs.title_of)
            if ref_id:
                given = known.get(ref) if known else None
                ref_names[ref] = given if given is not None else found[ref].get(ref_id, "")
        title, body = search_docs.document(self.kind, SimpleNamespace(**data), tags=terms,
                                           names=ref_names)
        self.docs.append((self.kind, data["id"], title, body))

    def take(self) -> _Part:
        """The rows built so far, as a part to insert; the batch starts the next part."""
        part = _Part(self)
        if self.kind == "events":
            org, person = self.columns.index("organization"), self.columns.index("contact")
            self.event_orgs.extend(r[org] for r in self.record_rows)
            self.event_people.extend(r[person] for r in self.record_rows)
        self.record_rows, self.point_rows, self.custom_rows, self.docs = [], [], [], []
        return part

    def insert_tags(self) -> None:
        """The tag links of all parts (a tag named for the first time is created)."""
        if self.tag_links:
            tag_ids = {name: m.Tag.get_or_create(name=name)[0].id
                       for name in dict.fromkeys(t for _rid, t in self.tag_links)}
            bulk.insert_rows(m.TagLink, ["tag", "kind", "record_id"],
                             [(tag_ids[t], self.kind, rid) for rid, t in self.tag_links],
                             savepoint=False)
