"""The search index's side of records: each record's one-line title and its document.

Every writer of records calls `reindex`/`unindex` (or `document` for bulk writes) so that
quick search and the section filters find what is stored. Matching lives in
`search_match`, ranking and the quick search itself in `tui_crm.services.search.search`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.services.core import lookups, values
from tui_crm.text.names import normalize_text
from tui_crm.text.phones import phone_digit_forms

SEARCH_KINDS = tuple(search_index.KIND_CODES)


# --- documents --------------------------------------------------------------------------------


def title_of(kind: str, row: Any,
             ref_names: dict[str, dict[int | None, str]] | None = None) -> str:
    """The one-line name of a record, as lists and search results show it."""
    refs = ref_names or {}

    def ref(name: str, ref_type: str) -> str:
        ref_id = getattr(row, f"{name}_id", None)
        if not ref_id:
            return ""
        if name in refs:
            return refs[name].get(ref_id, "")
        return lookups.names(ref_type, [ref_id]).get(ref_id, "")

    if kind == "organizations":
        return row.name
    if kind == "contacts":
        return lookups.contact_name(row.last_name, row.first_name, row.middle_name)
    if kind == "events":
        who = ref("organization", "organization") or ref("contact", "contact")
        kind_name = ref("event_type", "event_type")
        head = row.title or kind_name
        return f"{head}: {who}" if who and head else (head or who or f"#{row.id}")
    if kind == "links":
        return row.title or row.url
    if kind in ("payments", "services"):
        when = values.display("date", row.date)
        amount = values.display("decimal", row.amount)
        return " ".join(p for p in (when, amount, ref("organization", "organization")) if p)
    return getattr(row, "title", "") or f"#{row.id}"


def phone_terms(value: str, normalized: str, valid: bool) -> list[str]:
    """The digit runs a phone is found by (`phones.phone_digit_forms` of what is stored)."""
    return phone_digit_forms(normalized, stored=True) if valid else phone_digit_forms(value)


def point_terms(kind: str, value: str, normalized: str, valid: bool = True) -> list[str]:
    """What a phone, e-mail or messenger adds to its record's document."""
    if kind == "phone":
        return [value, *phone_terms(value, normalized, valid)]
    if normalized and normalized != value.casefold():
        return [value, normalized]
    return [value]


def _point_terms(points: Iterable[m.ContactPoint]) -> list[str]:
    terms: list[str] = []
    for p in points:
        terms.extend(point_terms(p.kind, p.value, p.normalized or "", bool(p.valid)))
    return terms


def document(kind: str, row: Any, *, points: Iterable[m.ContactPoint] = (),
             tags: Iterable[str] = (), names: dict[str, str] | None = None) -> tuple[str, str]:
    """(title, normalized body) of a record for the index."""
    names = names or {}
    parts: list[str]
    if kind == "organizations":
        parts = [row.name, row.legal_name, row.inn, row.industry, row.city, row.address,
                 row.website, row.notes]
    elif kind == "contacts":
        parts = [row.last_name, row.first_name, row.middle_name, row.position, row.role,
                 row.hobbies, row.registration_address, row.residence_address, row.notes,
                 names.get("organization", "")]
    elif kind == "tasks":
        parts = [row.title, row.description, names.get("organization", ""),
                 names.get("contact", "")]
    elif kind == "events":
        parts = [row.title, names.get("event_type", ""), names.get("organization", ""),
                 names.get("contact", ""), row.result_note, row.next_step]
    elif kind == "notes":
        parts = [row.title, row.body]
    elif kind == "links":
        parts = [row.title, row.url, row.description, row.login]
    elif kind == "deals":
        parts = [row.title, names.get("organization", ""), row.lost_reason]
    else:
        parts = []
    parts.extend(_point_terms(points))
    parts.extend(tags)
    title = title_of(kind, row, {k: {getattr(row, f"{k}_id", 0): v} for k, v in names.items()})
    return title, normalize_text(" ".join(p for p in parts if p))


def _names_for(kind: str, row: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for name, ref_type in (("organization", "organization"), ("contact", "contact"),
                           ("event_type", "event_type")):
        ref_id = getattr(row, f"{name}_id", None)
        if ref_id:
            names[name] = lookups.names(ref_type, [ref_id]).get(ref_id, "")
    return names


def reindex(kind: str, record_id: int) -> None:
    """Bring one record's document up to date (inside the caller's transaction)."""
    if kind not in search_index.KIND_CODES:
        return
    model = m.RECORD_MODELS[kind]
    row = model.get_or_none(model.id == record_id)
    if row is None or row.deleted_at is not None:
        search_index.remove(kind, record_id)
        return
    # Points and tags in the order they were stored: the document the record writer made.
    points: list[m.ContactPoint] = []
    if kind == "organizations":
        points = list(m.ContactPoint.select().where(m.ContactPoint.organization == record_id)
                      .order_by(m.ContactPoint.id))
    elif kind == "contacts":
        points = list(m.ContactPoint.select().where(m.ContactPoint.contact == record_id)
                      .order_by(m.ContactPoint.id))
    tags = [t.name for t in m.Tag.select(m.Tag.name).join(m.TagLink).where(
        (m.TagLink.kind == kind) & (m.TagLink.record_id == record_id)).order_by(m.TagLink.id)]
    title, body = document(kind, row, points=points, tags=tags, names=_names_for(kind, row))
    search_index.put(kind, record_id, title, body)


def unindex(kind: str, record_id: int) -> None:
    if kind in search_index.KIND_CODES:
        search_index.remove(kind, record_id)


def rebuild(kinds: Iterable[str] | None = None, batch: int = 5000) -> int:
    """Rebuild the index of whole kinds (after bulk inserts); returns documents written."""
    written = 0
    for kind in kinds or SEARCH_KINDS:
        search_index.clear(kind)
        model = m.RECORD_MODELS[kind]
        last_id = 0
        while True:
            rows = list(model.select().where((model.id > last_id) & model.deleted_at.is_null())
                        .order_by(model.id).limit(batch))
            if not rows:
                break
            last_id = rows[-1].id
            ids = [r.id for r in rows]
            points: dict[int | None, list[m.ContactPoint]] = {}
            if kind in ("organizations", "contacts"):
                col = m.ContactPoint.organization if kind == "organizations" \
                    else m.ContactPoint.contact
                for p in m.ContactPoint.select().where(col.in_(ids)).order_by(m.ContactPoint.id):
                    points.setdefault(p.organization_id if kind == "organizations"
                                      else p.contact_id, []).append(p)
            tags: dict[int, list[str]] = {}
            for record_id, tag_name in (
                    m.TagLink.select(m.TagLink.record_id, m.Tag.name).join(m.Tag)
                    .where((m.TagLink.kind == kind) & m.TagLink.record_id.in_(ids))
                    .order_by(m.TagLink.id).tuples()):
                tags.setdefault(record_id, []).append(tag_name)
            ref_cache: dict[str, dict[int | None, str]] = {}
            for name in ("organization", "contact", "event_type"):
                if hasattr(model, name):
                    ref_cache[name] = lookups.names(name, (getattr(r, f"{name}_id")
                                                           for r in rows))
            docs = []
            for r in rows:
                names = {k: v.get(getattr(r, f"{k}_id"), "") for k, v in ref_cache.items()
                         if getattr(r, f"{k}_id")}
                title, body = document(kind, r, points=points.get(r.id, []),
                                       tags=tags.get(r.id, []), names=names)
                docs.append((kind, r.id, title, body))
            search_index.put_many(docs)
            written += len(docs)
    search_index.optimize()
    return written
