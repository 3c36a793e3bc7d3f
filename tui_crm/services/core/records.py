"""Create, read, update, soft-delete, restore and list any record kind.

Every write is one transaction that also updates the search index and the audit log.
Updates check the record's `version` in the UPDATE itself, so a stale edit is refused
(ConflictError), never silently written over someone else's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import SQL, fn

from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import current, read, write
from tui_crm.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.search_keys import KIND_CODES
from tui_crm.services.core import (
    audit,
    contact_dates,
    lookups,
    record_writer,
    search_docs,
    search_match,
    values,
    visibility,
)
from tui_crm.services.core.kinds import KINDS, POINT_TYPES, FieldSpec, KindSpec
from tui_crm.services.core.rights import Actor
from tui_crm.text.dates import DateParseError
from tui_crm.text.identity import InvalidValue
from tui_crm.text.ids import is_storable_id
from tui_crm.text.names import SORT_SAME_AS
from tui_crm.text.phones import format_phone

MAX_PAGE = 1000


@dataclass
class PointView:
    kind: str  # phone / email / messenger
    type: str
    value: str
    normalized: str
    valid: bool = True


@dataclass
class RecordView:
    """A record as the UI and CLI see it: typed values plus their display text."""

    kind: str
    id: int
    version: int
    title: str
    values: dict[str, Any] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    points: list[PointView] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: str = ""
    updated_by: str = ""
    deleted_at: dt.datetime | None = None

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.values:
            return self.values[name]
        return self.custom.get(name, default)

    def points_of(self, kind: str) -> list[PointView]:
        return [p for p in self.points if p.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (for `--json`)."""

        def plain(v: Any) -> Any:
            if isinstance(v, dt.datetime | dt.date):
                return v.isoformat()
            if isinstance(v, list):
                return [plain(x) for x in v]
            if v is None or isinstance(v, bool | int | float | str):
                return v
            return str(v)

        data: dict[str, Any] = {"section": self.kind, "id": self.id, "version": self.version,
                                "title": self.title}
        data.update({k: plain(v) for k, v in self.values.items()})
        for ref in ("owner", "assignee", "organization", "contact", "group", "source",
                    "event_type", "result", "deal"):
            if ref in self.values and self.display.get(ref):
                data[f"{ref}_name"] = self.display[ref]
        data.update({k: plain(v) for k, v in self.custom.items()})
        if self.points:
            for kind, key in (("phone", "phones"), ("email", "emails"),
                              ("messenger", "messengers")):
                data[key] = [{"type": p.type, "value": p.value, "normalized": p.normalized,
                              "valid": p.valid} for p in self.points_of(kind)]
        if self.tags:
            data["tags"] = list(self.tags)
        data["created_at"] = plain(self.created_at)
        data["updated_at"] = plain(self.updated_at)
        data["created_by"] = self.created_by
        data["updated_by"] = self.updated_by
        data["deleted"] = self.deleted_at is not None
        return data


@dataclass
class ListQuery:
    text: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    offset: int = 0
    limit: int = 50
    trash: bool = False  # list deleted records instead


@dataclass
class Page:
    rows: list[RecordView]
    total: int
    offset: int


def kind_spec(kind: str) -> KindSpec:
    spec = KINDS.get(kind)
    if spec is None:
        raise NotFound(_("Unknown section {name!r}; known: {known}").format(
            name=kind, known=", ".join(KINDS)))
    return spec


# --- reading ----------------------------------------------------------------------------------


def _column(spec: KindSpec, name: str) -> str:
    """The model attribute of a field (references are stored as `<name>_id`)."""
    return name


def _load(spec: KindSpec, record_id: int) -> m.Record:
    # An id no column can hold (typed by a user) would be a driver error, not "not found".
    row = spec.model.get_or_none(spec.model.id == record_id) \
        if is_storable_id(record_id) else None
    if row is None:
        raise NotFound(_("{kind} #{id} does not exist.").format(kind=_(spec.singular),
                                                                 id=record_id))
    return row


def _views(actor: Actor, spec: KindSpec, rows: list[m.Record], *,
           full: bool) -> list[RecordView]:
    """Build views for rows, naming references in one query per referenced kind (a client
    the actor may not see is not named)."""
    if not rows:
        return []
    ref_names: dict[str, dict[int | None, str]] = {}
    for f in spec.fields:
        if f.is_reference:
            ref_names[f.name] = lookups.names(f.type, (getattr(row, f"{f.name}_id")
                                                       for row in rows), actor=actor)
    user_ids = {r.created_by_id for r in rows} | {r.updated_by_id for r in rows}
    users = lookups.names("user", user_ids)
    ids = [r.id for r in rows]
    tags: dict[int, list[str]] = {}
    if spec.has_tags and (full or any(f.name == "tags" and f.column for f in spec.fields)):
        for record_id, tag_name in (
                m.TagLink.select(m.TagLink.record_id, m.Tag.name).join(m.Tag)
                .where((m.TagLink.kind == spec.name) & m.TagLink.record_id.in_(ids))
                .order_by(m.Tag.name).tuples()):
            tags.setdefault(record_id, []).append(tag_name)
    points: dict[int | None, list[PointView]] = {}
    custom: dict[int, dict[str, Any]] = {}
    if full:
        if spec.has_points:
            owner_col = getattr(m.ContactPoint, "organization" if spec.name == "organizations"
                                else "contact")
            for p in (m.ContactPoint.select().where(owner_col.in_(ids))
                      .order_by(m.ContactPoint.position, m.ContactPoint.id)):
                rid = p.organization_id if spec.name == "organizations" else p.contact_id
                points.setdefault(rid, []).append(
                    PointView(p.kind, p.type, p.value, p.normalized, p.valid))
    customs = {c.id: c for c in values.custom_fields(spec.name)}
    if customs:
        for cv in m.CustomValue.select().where(
                m.CustomValue.field.in_(list(customs))
                & m.CustomValue.record_id.in_(ids)):
            cf = customs[cv.field_id]
            custom.setdefault(cv.record_id, {})[cf.name] = values.custom_from_text(cf, cv.value)
    views = []
    for row in rows:
        vals: dict[str, Any] = {}
        disp: dict[str, str] = {}
        for f in spec.fields:
            if f.is_repeatable:
                continue
            if f.is_reference:
                ref_id = getattr(row, f"{f.name}_id")
                vals[f.name] = ref_id
                disp[f.name] = ref_names[f.name].get(ref_id, "") if ref_id else ""
            else:
                value = getattr(row, f.name)
                if f.type == "decimal" and value is not None:
                    value = _to_places(spec, f.name, value)
                vals[f.name] = value
                disp[f.name] = values.display(f.type, value, choices=f.choices)
        row_tags = tags.get(row.id, [])
        disp["tags"] = ", ".join(row_tags)
        row_custom = custom.get(row.id, {})
        for cf in customs.values():
            disp[cf.name] = values.display(values.custom_field_type(cf.kind),
                                           row_custom.get(cf.name))
        row_points = points.get(row.id, [])
        for pv in row_points:
            if pv.kind == "phone" and pv.valid and pv.normalized:
                pv.value = pv.value or format_phone(pv.normalized)
        views.append(RecordView(
            kind=spec.name, id=row.id, version=row.version,
            title=search_docs.title_of(spec.name, row, ref_names),
            values=vals, display=disp, points=row_points, tags=row_tags, custom=row_custom,
            created_at=row.created_at, updated_at=row.updated_at,
            created_by=users.get(row.created_by_id, ""),
            updated_by=users.get(row.updated_by_id, ""), deleted_at=row.deleted_at,
        ))
    return views


def _to_places(spec: KindSpec, name: str, value: Any) -> Any:
    """A stored decimal with its column's places: SQLite gives back 1234.5 where PostgreSQL
    gives 1234.50; both mean the same and should print the same."""
    column = spec.model._meta.fields.get(name)
    places = getattr(column, "decimal_places", None)
    if places is None:
        return value
    return Decimal(value).quantize(Decimal(1).scaleb(-places))


@read
def get(actor: Actor, kind: str, record_id: int, *, include_deleted: bool = True) -> RecordView:
    """One record with everything on its card."""
    spec = kind_spec(kind)
    actor.require(kind, "view")
    row = _load(spec, record_id)
    if row.deleted_at is not None and not include_deleted:
        raise NotFound(_("{kind} #{id} is in the trash.").format(kind=_(spec.singular),
                                                                  id=record_id))
    visibility.check(actor, kind, row)
    return _views(actor, spec, [row], full=True)[0]


MANY = 1000  # visible records from which a page walks the table's order (visibility.SCAN)


def _seen(actor: Actor, spec: KindSpec, select,  # noqa: ANN001, ANN202 - peewee selects
          shape: str = visibility.PLAIN):
    """The select narrowed to the records the actor sees, in the shape that reads fastest
    for what the query does (visibility.clause)."""
    visible = visibility.clause(actor, spec.name, shape)
    return select if visible is None else select.where(visible)


def filtered_select(actor: Actor, spec: KindSpec, query: ListQuery, *,  # noqa: ANN202
                    shape: str | None = visibility.UNION):
    """The query's records (None when its text has nothing to look for); `shape`: how the
    visibility rule is written for this read (visibility.clause), None: not applied."""
    model = spec.model
    select = model.select()
    select = select.where(model.deleted_at.is_null(False) if query.trash
                          else model.deleted_at.is_null())
    if shape is not None:
        select = _seen(actor, spec, select, shape)
    if query.text.strip():
        column = model.id
        ids_sql = search_match.match_ids_sql(spec.name, query.text)
        if ids_sql is None and spec.name not in KIND_CODES and hasattr(model, "organization"):
            # Payments and services have no documents of their own: they are found by
            # their client's name (or INN, phone — whatever finds the organization).
            column = model.organization
            ids_sql = search_match.match_ids_sql("organizations", query.text)
        if ids_sql is None:
            return None
        sql, params = ids_sql
        # On SQLite the index is read once here, not once for the count and again for the
        # page (the backend's ids_matching).
        select = select.where(backend().ids_matching(column, sql, params))
    # The custom fields are read only when some filter may name one (not per keystroke).
    wanted_any = any(v is not None and v != "" for v in query.filters.values())
    customs = {cf.name: cf for cf in values.custom_fields(spec.name)} if wanted_any else {}
    context = {"section": spec.name, "actor": actor}
    errors: dict[str, str] = {}
    for name, wanted in query.filters.items():
        if wanted is None or wanted == "":
            continue
        try:
            if name == "tags" or name == "tag":
                tagged = (m.TagLink.select(m.TagLink.record_id).join(m.Tag)
                          .where((m.TagLink.kind == spec.name) & (m.Tag.name == str(wanted))))
                select = select.where(model.id.in_(tagged))
                continue
            if name in customs:
                text = values.custom_to_text(values.parse_custom(customs[name], wanted))
                having = m.CustomValue.select(m.CustomValue.record_id).where(
                    (m.CustomValue.field == customs[name].id) & (m.CustomValue.value == text))
                select = select.where(model.id.in_(having))
                continue
            f = spec.field(name)
            if f is None or f.is_repeatable:
                raise InvalidValue(_("Cannot filter by this field"))
            column = getattr(model, name)
            if name == "group":
                group_id = values.parse_field("group", wanted, context=context)
                select = select.where(column.in_(_group_subtree(group_id)))
                continue
            if isinstance(wanted, list | tuple | set):
                parsed = [values.parse_field(f.type, w, choices=f.choices, context=context,
                                             past=f.past_only) for w in wanted]
                select = select.where(column.in_(parsed))
            else:
                parsed = values.parse_field(f.type, wanted, choices=f.choices, context=context,
                                            past=f.past_only)
                select = select.where(column.is_null() if parsed is None else column == parsed)
        except (InvalidValue, DateParseError, ValueError) as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)
    return select


def _group_subtree(group_id: int) -> list[int]:
    ids = [group_id]
    frontier = [group_id]
    while frontier:
        children = [g.id for g in m.Group.select(m.Group.id).where(m.Group.parent.in_(frontier))]
        ids.extend(children)
        frontier = children
    return ids


def sort_column(column: Any) -> Any:  # a peewee expression
    """A text column as it sorts (text.names.sort_key in SQL). The replacements are literals,
    not parameters, so the expression indexes of migration 10 serve it."""
    for letter, same in SORT_SAME_AS:
        column = fn.REPLACE(column, SQL(f"'{letter}'"), SQL(f"'{same}'"))
    return column


def list_order(spec: KindSpec, query: ListQuery) -> list:
    """The ORDER BY of a list (sort column with Ё as Е for text, then id)."""
    model = spec.model
    name = query.sort or spec.default_sort
    f = spec.field(name)
    if name == "id" or f is None or f.is_repeatable:
        column = model.id
    else:
        column = getattr(model, name)
        if f.type == "text" and not f.custom:
            column = sort_column(column)
    if query.descending:
        return [column.desc(nulls="LAST"), model.id.desc()]
    return [column.asc(nulls="LAST"), model.id.asc()]


@read
def list_records(actor: Actor, kind: str, query: ListQuery | None = None) -> Page:
    """A page of records with the filters, text and sort applied, and the total count."""
    spec = kind_spec(kind)
    actor.require(kind, "view")
    query = query or ListQuery()
    every = filtered_select(actor, spec, query, shape=None)
    if every is None:
        return Page([], 0, query.offset)
    total = _seen(actor, spec, every, visibility.UNION).count()
    select = _seen(actor, spec, every, visibility.SCAN if total > MANY else visibility.UNION)
    limit = max(1, min(query.limit, MAX_PAGE))
    rows = list(select.order_by(*list_order(spec, query)).offset(max(0, query.offset)).limit(limit))
    return Page(_views(actor, spec, rows, full=False), total, query.offset)


def count(actor: Actor, kind: str, query: ListQuery | None = None) -> int:
    spec = kind_spec(kind)
    actor.require(kind, "view")
    select = filtered_select(actor, spec, query or ListQuery())
    return 0 if select is None else select.count()


def row_ids(actor: Actor, kind: str, query: ListQuery) -> list[int]:
    """Every id the query matches, in order (next/previous through a filtered list)."""
    spec = kind_spec(kind)
    actor.require(kind, "view")
    select = filtered_select(actor, spec, query)
    if select is None:
        return []
    sql, params = select.select(spec.model.id).order_by(*list_order(spec, query)).sql()
    # Straight from the cursor: peewee's row wrapping costs more than the query for 100k ids.
    return [row[0] for row in current().execute_sql(sql, params)]


def views_of(actor: Actor, kind: str, ids: list[int]) -> list[RecordView]:
    """The table rows of these records, in the order given (those the actor may see and that
    still exist): a page of a list whose order is already known."""
    spec = kind_spec(kind)
    actor.require(kind, "view")
    if not ids:
        return []
    select = filtered_select(actor, spec, ListQuery(), shape=visibility.PLAIN)
    if select is None:
        return []
    found = {r.id: r for r in select.where(spec.model.id.in_(ids))}
    return _views(actor, spec, [found[i] for i in ids if i in found], full=False)


def position_of(actor: Actor, kind: str, query: ListQuery, record_id: int) -> int | None:
    """The row number of a record in the filtered, sorted list (to keep one's place)."""
    ids = row_ids(actor, kind, query)
    try:
        return ids.index(record_id)
    except ValueError:
        return None


# --- writing ----------------------------------------------------------------------------------


def _phone_region() -> str:
    return values.phone_region()


def _save_points(spec: KindSpec, record_id: int, cleaned: dict[str, Any]) -> dict[str, str]:
    """Replace the record's phones / e-mails / messengers given in `cleaned`; return the
    new primary phone and e-mail for the denormalized columns."""
    owner_field = "organization" if spec.name == "organizations" else "contact"
    owner_col = getattr(m.ContactPoint, owner_field)
    primary: dict[str, str] = {}
    if not any(name in cleaned for name in POINT_TYPES):
        return primary
    region = _phone_region()
    for field_name, point_kind in POINT_TYPES.items():
        if field_name not in cleaned:
            continue
        m.ContactPoint.delete().where((owner_col == record_id)
                                      & (m.ContactPoint.kind == point_kind)).execute()
        for position, (ptype, text) in enumerate(cleaned[field_name]):
            shown, normalized, valid = record_writer.parse_point(point_kind, text, region)
            m.ContactPoint.create(**{owner_field: record_id}, kind=point_kind, type=ptype,
                                  value=shown, normalized=normalized, valid=valid,
                                  position=position)
            if position == 0 and point_kind in ("phone", "email"):
                primary[f"primary_{point_kind}"] = shown
        if not cleaned[field_name] and point_kind in ("phone", "email"):
            primary[f"primary_{point_kind}"] = ""
    return primary


def _save_tags(spec: KindSpec, record_id: int, names: list[str]) -> None:
    m.TagLink.delete().where((m.TagLink.kind == spec.name)
                             & (m.TagLink.record_id == record_id)).execute()
    for name in dict.fromkeys(names):
        tag, _created = m.Tag.get_or_create(name=name)
        m.TagLink.create(tag=tag, kind=spec.name, record_id=record_id)


def _save_custom(spec: KindSpec, record_id: int, cleaned: dict[str, Any]) -> None:
    for cf in values.custom_fields(spec.name):
        if cf.name not in cleaned:
            continue
        text = values.custom_to_text(cleaned[cf.name])
        m.CustomValue.delete().where((m.CustomValue.field == cf.id)
                                     & (m.CustomValue.record_id == record_id)).execute()
        if text != "":
            m.CustomValue.create(field=cf, record_id=record_id, value=text)


def _split(spec: KindSpec, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The plain column values of `cleaned` (no repeatable or custom fields)."""
    columns: dict[str, Any] = {}
    for name, value in cleaned.items():
        f = spec.field(name)
        if f is None or f.is_repeatable:
            continue
        column = f"{name}_id" if f.is_reference else name
        if value is None:
            value = record_writer.stored_value(spec.model._meta.fields[name], value)
        columns[column] = value
    return columns


def _check_next_step(event: dict[str, Any]) -> None:
    """A warm (★) result needs a next step — in a form as in the call block (events.log_result
    asks for its date); imports of past events do not come through here."""
    result = m.EventResult.get_or_none(m.EventResult.id == event.get("result"))
    if event.get("status") == "done" and result is not None and result.warm \
            and not str(event.get("next_step") or "").strip():
        raise ValidationError({"next_step": _(
            "A warm client needs a next step: when to contact again")})


def _check_rules(spec: KindSpec, merged: dict[str, Any], is_new: bool) -> None:
    """Rules across fields: titles present, leads need a source, ends after starts."""
    errors: dict[str, str] = {}
    if spec.name == "contacts" and not (merged.get("last_name") or merged.get("first_name")):
        errors["last_name"] = _("A contact needs a last or a first name")
    if spec.name == "organizations" and is_new and merged.get("status", "lead") == "lead" \
            and not merged.get("source") and requires_source():
        errors["source"] = _("Required for a new lead: where did the client come from?")
    if spec.name == "events" and merged.get("ends_at") and merged.get("starts_at") \
            and merged["ends_at"] < merged["starts_at"]:
        errors["ends_at"] = _("The end is before the start")
    if spec.name == "events" and merged.get("rrule"):
        from tui_crm.services.core import recurrence

        try:
            recurrence.check(merged["rrule"], merged.get("starts_at") or dt.datetime.now())
        except recurrence.RuleProblem as exc:
            errors["rrule"] = str(exc)
    if errors:
        raise ValidationError(errors)


def requires_source() -> bool:
    """Whether a new lead needs a source (the setting, on by default)."""
    setting = m.Setting.get_or_none(m.Setting.key == "require_source_for_leads")
    return setting is None or setting.value != "false"


def _reindex(spec: KindSpec, record_id: int) -> None:
    search_docs.reindex(spec.name, record_id)
    _after_write(spec.name, record_id)


def _after_write(kind: str, record_id: int) -> None:
    """Keep what depends on a record in step (an event moves its client's last/next contact)."""
    if kind == "events":
        contact_dates.on_event_changed(record_id)


@write
def create(actor: Actor, kind: str, data: dict[str, Any]) -> RecordView:
    """Create a record from field values (typed or as typed by a user)."""
    spec = kind_spec(kind)
    actor.require(kind, "edit")
    # References resolve only among the records the actor sees (attaching needs that).
    cleaned = values.clean(spec, data, partial=False, context={"actor": actor})
    _check_rules(spec, cleaned, is_new=True)
    if spec.name == "events" and cleaned.get("result"):
        _check_next_step(cleaned)
    visibility.check_clients(actor, kind, cleaned)
    owner = spec.owner_field
    if owner and not cleaned.get(owner):
        cleaned[owner] = actor.user_id
    elif owner and not actor.sees_all and cleaned.get(owner) != actor.user_id \
            and not actor.is_admin:
        raise PermissionDenied(_("You can only create records of your own."))
    # The row, its points, tags, custom values, search document, audit and contact dates.
    (record_id,) = record_writer.write_many(actor, kind, [cleaned])
    return _views(actor, spec, [_load(spec, record_id)], full=True)[0]


def _same_reference(spec: KindSpec, row: m.Record, name: str, value: Any) -> bool:
    f = spec.field(name)
    return f is not None and f.type in visibility.REFERENCE_KINDS \
        and isinstance(value, int) and not isinstance(value, bool) \
        and value == getattr(row, f"{name}_id")


def _current_values(view: RecordView, names: list[str]) -> dict[str, Any]:
    current: dict[str, Any] = {}
    for name in names:
        if name == "tags":
            current[name] = view.tags
        elif name in POINT_TYPES:
            current[name] = [(p.type, p.value) for p in view.points_of(POINT_TYPES[name])]
        else:
            current[name] = view.get(name)
    return current


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return [tuple(x) if isinstance(x, list | tuple) else x for x in a] == \
            [tuple(x) if isinstance(x, list | tuple) else x for x in b]
    return a == b


def revert(actor: Actor, before: RecordView, version: int) -> RecordView:
    """Undo an edit: put back the fields (phones, e-mails, tags, custom fields too) that
    differ from `before`, unless someone saved the record after `version` (a conflict)."""
    spec = kind_spec(before.kind)
    now = get(actor, before.kind, before.id)
    data: dict[str, Any] = {}
    for f in spec.fields:
        if f.is_repeatable or not f.editable:
            continue
        if f.name in before.values and before.values[f.name] != now.values.get(f.name):
            data[f.name] = before.values[f.name]
    for name, point_kind in POINT_TYPES.items():
        old = [(p.type, p.value) for p in before.points if p.kind == point_kind]
        if old != [(p.type, p.value) for p in now.points if p.kind == point_kind]:
            data[name] = old
    if sorted(before.tags) != sorted(now.tags):
        data["tags"] = list(before.tags)
    for name, value in before.custom.items():
        if now.custom.get(name) != value:
            data[name] = value
    if not data:
        return now
    return update(actor, before.kind, before.id, data, expected_version=version)


@write
def update(actor: Actor, kind: str, record_id: int, data: dict[str, Any],
           expected_version: int | None = None) -> RecordView:
    """Change some fields. With `expected_version`, refuse if someone saved in between."""
    spec = kind_spec(kind)
    actor.require(kind, "edit")
    row = _load(spec, record_id)
    visibility.check_write(actor, kind, row)
    if row.deleted_at is not None:
        raise ValidationError({"id": _("The record is in the trash; restore it first")})
    # An edited event's result is looked up within the event's type; references only among
    # the records the actor sees.
    context: dict[str, Any] = {"actor": actor}
    if spec.name == "events":
        context["event_type"] = getattr(row, "event_type_id", None)
    # A reference given back as it is attaches nothing (a form sends every field back).
    data = {name: value for name, value in data.items()
            if not _same_reference(spec, row, name, value)}
    cleaned = values.clean(spec, data, partial=True, context=context)
    before = _views(actor, spec, [row], full=True)[0]
    if expected_version is not None and row.version != expected_version:
        raise _conflict(spec, before, cleaned)
    merged = dict(before.values)
    merged.update({k: v for k, v in cleaned.items()})
    _check_rules(spec, merged, is_new=False)
    if isinstance(row, m.Event) and (("result" in cleaned and cleaned["result"] != row.result_id)
                                  or (cleaned.get("status") == "done" and row.status != "done")):
        _check_next_step(merged)
    visibility.check_clients(actor, kind, cleaned)
    if spec.owner_field and f"{spec.owner_field}" in cleaned and not actor.sees_all \
            and cleaned[spec.owner_field] != actor.user_id:
        raise PermissionDenied(_("Only the head of sales can hand a client to someone else."))
    old = _current_values(before, list(cleaned))
    changes = {name: (old[name], cleaned[name]) for name in cleaned
               if not _same(old[name], cleaned[name])}
    if not changes:
        return before
    columns = _split(spec, {k: cleaned[k] for k in changes})
    columns.update(updated_by_id=actor.user_id, updated_at=m.now())
    version = row.version if expected_version is None else expected_version
    updated = (spec.model.update(**columns, version=spec.model.version + 1)
               .where((spec.model.id == record_id) & (spec.model.version == version))
               .execute())
    if updated != 1:  # someone saved between our read and this write
        raise _conflict(spec, _views(actor, spec, [_load(spec, record_id)], full=True)[0],
                        cleaned)
    if spec.has_points:
        primary = _save_points(spec, record_id, {k: cleaned[k] for k in changes})
        if primary:
            spec.model.update(**primary).where(spec.model.id == record_id).execute()
    if spec.has_tags and "tags" in changes:
        _save_tags(spec, record_id, cleaned["tags"])
    _save_custom(spec, record_id, {k: cleaned[k] for k in changes})
    _reindex(spec, record_id)
    audit.log(actor, "update", kind, record_id, changes)
    return _views(actor, spec, [_load(spec, record_id)], full=True)[0]


def _conflict(spec: KindSpec, current: RecordView, mine: dict[str, Any]) -> ConflictError:
    theirs = _current_values(current, list(mine))
    changes = {name: (theirs[name], mine[name]) for name in mine
               if not _same(theirs[name], mine[name])}
    who = current.updated_by or _("someone else")
    when = values.display("datetime", current.updated_at)
    return ConflictError(
        _("{kind} #{id} was changed by {who} at {when} after you opened it; nothing was saved.")
        .format(kind=_(spec.singular), id=current.id, who=who, when=when),
        current=current, changes=changes,
    )


def _set_deleted(actor: Actor, spec: KindSpec, record_id: int,
                 deleted_at: dt.datetime | None) -> None:
    """Into the trash (a time) or out of it (None), as a change of the record."""
    spec.model.update(deleted_at=deleted_at, updated_by_id=actor.user_id, updated_at=m.now(),
                      version=spec.model.version + 1).where(spec.model.id == record_id).execute()


@write
def delete(actor: Actor, kind: str, record_id: int) -> None:
    """Move a record to the trash (restorable)."""
    spec = kind_spec(kind)
    actor.require(kind, "delete")
    row = _load(spec, record_id)
    visibility.check_write(actor, kind, row)
    if row.deleted_at is not None:
        return
    _set_deleted(actor, spec, record_id, m.now())
    search_docs.unindex(kind, record_id)
    _after_write(kind, record_id)
    audit.log(actor, "delete", kind, record_id)


@write
def restore(actor: Actor, kind: str, record_id: int) -> RecordView:
    """Bring a record back from the trash."""
    spec = kind_spec(kind)
    actor.require(kind, "delete")
    row = _load(spec, record_id)
    visibility.check_write(actor, kind, row)
    if row.deleted_at is not None:
        _set_deleted(actor, spec, record_id, None)
        _reindex(spec, record_id)
        audit.log(actor, "restore", kind, record_id)
    return _views(actor, spec, [_load(spec, record_id)], full=True)[0]


def field_specs(kind: str) -> list[FieldSpec]:
    """Built-in and custom fields of a kind, as forms and `tui-crm fields` show them."""
    spec = kind_spec(kind)
    out = list(spec.fields)
    for cf in values.custom_fields(kind):
        choices = {c: c for c in json.loads(cf.choices or "[]")}
        out.append(FieldSpec(cf.name, cf.label, values.custom_field_type(cf.kind),
                             choices=choices, custom=True))
    return out


def total(kind: str) -> int:
    """Records not in the trash (sidebar counts), without visibility rules."""
    spec = kind_spec(kind)
    return spec.model.select(fn.COUNT(spec.model.id)).where(
        spec.model.deleted_at.is_null()).scalar() or 0


def cards_of(actor: Actor, kind: str, rows: list[m.Record]) -> list[RecordView]:
    """Full views (as `get` gives them) of rows the caller has read and found visible to
    the actor: many cards at once, one query per referenced kind (mailings)."""
    return _views(actor, kind_spec(kind), rows, full=True)
