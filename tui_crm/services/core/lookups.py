"""References between records: from a typed name or id to a row id, and back to a name.

Names are resolved in batches (one query per referenced kind and page), never per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tui_crm.db import models as m
from tui_crm.i18n import _, get_language
from tui_crm.services.core import search_match, visibility
from tui_crm.services.core.rights import Actor
from tui_crm.text.identity import InvalidValue
from tui_crm.text.names import full_name as contact_name  # noqa: F401 - this module's API
from tui_crm.text.names import normalize_text


def user_name(user: m.User) -> str:
    return user.full_name or user.login


def event_type_name(et: m.EventType) -> str:
    return et.name_ru if get_language() == "ru" else et.name_en


def event_result_name(er: m.EventResult) -> str:
    return er.name_ru if get_language() == "ru" else er.name_en


def _seen(kind: str, context: dict[str, Any]) -> Any:  # a peewee expression, or None
    """The condition keeping the records of `kind` that the acting user (`context["actor"]`,
    when given) sees: a reference to a record they may not see is refused exactly as one to
    a record that does not exist, so the refusal tells nothing about it."""
    actor = context.get("actor")
    return visibility.clause(actor, kind) if actor is not None else None


def _by_id_or_none(model: type[m.BaseModel], text: str, seen: Any = None) -> int | None:
    raw = text.strip().lstrip("#")
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:  # longer is a name, not an id
        query = model.select().where(model._meta.primary_key == int(raw))
        if seen is not None:
            query = query.where(seen)
        if query.exists():
            return int(raw)
        raise InvalidValue(_("No record with id {id}").format(id=raw))
    return None


def _resolve_user(text: str, context: dict[str, Any]) -> int:
    raw = text.strip()
    found = _by_id_or_none(m.User, raw)
    if found is not None:
        return found
    want = normalize_text(raw)
    for user in m.User.select():
        if want in (user.login.casefold(), normalize_text(user.full_name)):
            return user.id
    raise InvalidValue(_("No user {name!r}; see `tui-crm user list`").format(name=raw))


def _resolve_named(model: type[m.BaseModel], column: str, text: str, what: str,
                   extra: Any = None, seen: Any = None) -> int:
    found = _by_id_or_none(model, text, seen)
    if found is not None:
        return found
    want = normalize_text(text)
    query = model.select(model._meta.primary_key, getattr(model, column))
    for condition in (extra, seen):
        if condition is not None:
            query = query.where(condition)
    exact = [r for r in query if normalize_text(getattr(r, column)) == want]
    if len(exact) == 1:
        return exact[0].get_id()
    if len(exact) > 1:
        raise InvalidValue(_("Several {what} are called {name!r}; give the id").format(
            what=what, name=text))
    raise InvalidValue(_("No {what} called {name!r}").format(what=what, name=text))


def _resolve_organization(text: str, context: dict[str, Any]) -> int:
    seen = _seen("organizations", context)
    found = _by_id_or_none(m.Organization, text, seen)
    if found is not None:
        return found
    want = " ".join(text.split())
    query = m.Organization.select(m.Organization.id).where(
        m.Organization.name.in_(_spellings(want)) & m.Organization.deleted_at.is_null())
    rows = list((query if seen is None else query.where(seen)).limit(2))
    if len(rows) == 1:
        return rows[0].id
    if len(rows) > 1:
        raise InvalidValue(_("Several organizations are called {name!r}; give the id").format(
            name=text))
    # Case- and ё-insensitive fallback: candidates from the search index (SQL LIKE does
    # not fold Cyrillic case on SQLite), then an exact comparison of normalized names.
    norm = normalize_text(want)
    exact = [org.id for org in _indexed("organizations", m.Organization, text, seen)
             if normalize_text(org.name) == norm]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise InvalidValue(_("Several organizations are called {name!r}; give the id").format(
            name=text))
    raise InvalidValue(_("No organization called {name!r}").format(name=text))


def _spellings(text: str) -> list[str]:
    """The usual ways of writing a name (as typed, Capitalized, Title Case, lower, UPPER):
    an indexed IN finds them even where SQL cannot fold Cyrillic case (SQLite)."""
    return list(dict.fromkeys([text, text.capitalize(), text.title(), text.lower(),
                               text.upper()]))


def _indexed(kind: str, model: type[m.Record], text: str, seen: Any = None) -> list:
    """Live records of `kind` whose search document contains every word of `text` (of
    those `seen` keeps)."""
    from peewee import SQL


    found = search_match.match_ids_sql(kind, text)
    if found is None:
        return []
    sql, params = found
    query = model.select().where(model.deleted_at.is_null()
                                 & model.id.in_(SQL(f"({sql})", params)))
    return list((query if seen is None else query.where(seen)).limit(200))


def _resolve_contact(text: str, context: dict[str, Any]) -> int:
    seen = _seen("contacts", context)
    found = _by_id_or_none(m.Contact, text, seen)
    if found is not None:
        return found
    norm = normalize_text(text)
    parts = norm.split()
    if not parts:
        raise InvalidValue(_("No contact called {name!r}").format(name=text))
    # Same-named people are common: first those whose last name is spelled as typed (an
    # indexed lookup, however many there are), then the search index for ё and odd case.
    last = " ".join(text.split()).split(" ")[0]
    query = m.Contact.select().where(
        m.Contact.last_name.in_(_spellings(last)) & m.Contact.deleted_at.is_null())
    candidates = list(query if seen is None else query.where(seen))
    if not candidates:
        candidates = _indexed("contacts", m.Contact, text, seen)
    exact = [c for c in candidates
             if normalize_text(contact_name(c.last_name, c.first_name, c.middle_name)) == norm
             or normalize_text(contact_name(c.last_name, c.first_name)) == norm]
    if len(exact) == 1:
        return exact[0].id
    if len(exact) > 1:
        raise InvalidValue(_("Several contacts are called {name!r}; give the id").format(
            name=text))
    raise InvalidValue(_("No contact called {name!r}").format(name=text))


def _resolve_event_type(text: str, context: dict[str, Any]) -> int:
    found = _by_id_or_none(m.EventType, text)
    if found is not None:
        return found
    want = normalize_text(text)
    for et in m.EventType.select():
        if want in (et.code.casefold(), normalize_text(et.name_en), normalize_text(et.name_ru)):
            return et.id
    known = ", ".join(et.code for et in m.EventType.select().order_by(m.EventType.position))
    raise InvalidValue(_("Unknown event type {name!r}; known: {known}").format(
        name=text, known=known))


def _resolve_event_result(text: str, context: dict[str, Any]) -> int:
    found = _by_id_or_none(m.EventResult, text)
    if found is not None:
        return found
    want = normalize_text(text)
    query = m.EventResult.select()
    if context.get("event_type"):
        query = query.where(m.EventResult.event_type == context["event_type"])
    matches = [r for r in query
               if want in (r.code.casefold(), normalize_text(r.name_en), normalize_text(r.name_ru))]
    if matches:
        return matches[0].id
    known = ", ".join(r.code for r in query.order_by(m.EventResult.position))
    raise InvalidValue(_("Unknown result {name!r}; known: {known}").format(name=text, known=known))


def _resolve_group(text: str, context: dict[str, Any]) -> int:
    # Group trees are per section: "Moscow" may exist under organizations and contacts.
    section = context.get("section")
    return _resolve_named(m.Group, "name", text, _("groups"),
                          extra=(m.Group.section == section) if section else None)


def _resolve_source(text: str, context: dict[str, Any]) -> int:
    text = stored_seeded_name(text.strip(), (s.name for s in m.Source.select(m.Source.name)))
    try:
        return _resolve_named(m.Source, "name", text, _("sources"))
    except InvalidValue:
        known = ", ".join(s.name for s in m.Source.select().where(m.Source.active == True))  # noqa: E712
        raise InvalidValue(_("Unknown source {name!r}; known: {known}").format(
            name=text, known=known)) from None


def _resolve_deal(text: str, context: dict[str, Any]) -> int:
    return _resolve_named(m.Deal, "title", text, _("deals"), seen=_seen("deals", context))


RESOLVERS = {
    "user": _resolve_user,
    "organization": _resolve_organization,
    "contact": _resolve_contact,
    "group": _resolve_group,
    "source": _resolve_source,
    "event_type": _resolve_event_type,
    "event_result": _resolve_event_result,
    "deal": _resolve_deal,
}


def resolve(ref_type: str, text: str, context: dict[str, Any]) -> int:
    """The id a typed reference (name or id) points to; InvalidValue when there is none.
    With `context["actor"]`, organizations, contacts and deals are looked for only among
    the records that user sees."""
    return RESOLVERS[ref_type](text, context)


def _seeded_lists() -> list[dict[str, str]]:
    """Each seeded default (a source, a schedule block's label) as {language: name}."""
    from tui_crm.db.migrations.m0001_initial import DEFAULT_BLOCKS, DEFAULT_SOURCES

    pairs = [dict(en=en, ru=ru) for en, ru in zip(DEFAULT_SOURCES["en"], DEFAULT_SOURCES["ru"],
                                                  strict=True)]
    pairs += [dict(en=en, ru=ru) for _s, _e, _k, en, ru in DEFAULT_BLOCKS]
    return pairs


def seeded_name(name: str) -> str:
    """A name the database was seeded with (in the language of whoever created it), shown
    in the current language: "Website" reads "Сайт" in Russian. Names people typed stay."""
    for names in _seeded_lists():
        if name in names.values():
            return names[get_language()]
    return name


def stored_seeded_name(text: str, stored: Iterable[str]) -> str:
    """`text` as the database has it: a seeded name typed in another language than the
    one it was stored in ("Сайт" for a stored "Website") becomes the stored one."""
    stored = set(stored)
    if text in stored:
        return text
    for names in _seeded_lists():
        if text in names.values():
            return next((n for n in names.values() if n in stored), text)
    return text


def names(ref_type: str, ids: Iterable[int | None], *, actor: Actor | None = None
          ) -> dict[int | None, str]:
    """Display names for a batch of referenced ids (one query). With `actor`, an
    organization, contact or deal they may not see is named `visibility.hidden_name()`.
    Keyed `int | None` so a nullable reference can be looked up as it is (None: no name)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    found = _names(ref_type, wanted)
    kind = visibility.REFERENCE_KINDS.get(ref_type)
    if actor is None or kind is None or actor.sees_all:
        return found
    seen = visibility.visible_subset(actor, kind, found)
    hidden = visibility.hidden_name()
    return {i: (name if i in seen else hidden) for i, name in found.items()}


def _names(ref_type: str, wanted: set[int]) -> dict[int | None, str]:
    if ref_type == "user":
        return {u.id: user_name(u) for u in m.User.select().where(m.User.id.in_(wanted))}
    if ref_type == "organization":
        return {o.id: o.name for o in m.Organization.select(
            m.Organization.id, m.Organization.name).where(m.Organization.id.in_(wanted))}
    if ref_type == "contact":
        return {c.id: contact_name(c.last_name, c.first_name, c.middle_name)
                for c in m.Contact.select(m.Contact.id, m.Contact.last_name, m.Contact.first_name,
                                          m.Contact.middle_name).where(m.Contact.id.in_(wanted))}
    if ref_type == "group":
        return {g.id: g.name for g in m.Group.select().where(m.Group.id.in_(wanted))}
    if ref_type == "source":
        return {s.id: seeded_name(s.name)
                for s in m.Source.select().where(m.Source.id.in_(wanted))}
    if ref_type == "event_type":
        return {e.id: event_type_name(e) for e in
                m.EventType.select().where(m.EventType.id.in_(wanted))}
    if ref_type == "event_result":
        return {r.id: event_result_name(r) for r in
                m.EventResult.select().where(m.EventResult.id.in_(wanted))}
    if ref_type == "deal":
        return {d.id: d.title for d in m.Deal.select(m.Deal.id, m.Deal.title).where(
            m.Deal.id.in_(wanted))}
    return {}
