"""Quick search over organizations, contacts, tasks, events, notes, links and deals.

Rules: case-insensitive for Cyrillic and Latin, ё = е, substrings match, and a phone is
found by any run of its digits whatever the formatting ("8 916 123 45 67" and
"9161234567" find "+7 (916) 123-45-67"). Any text a user can type is safe: every term
is quoted for FTS5 (or escaped for LIKE), so nothing raises; nonsense finds nothing.
The index itself is kept by `core.search_docs`; matching is `core.search_match`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from peewee import SQL

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.database import current, is_postgres, read
from tui_crm.services.core import lookups, visibility
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.rights import Actor
from tui_crm.services.core.search_docs import SEARCH_KINDS, title_of
from tui_crm.services.core.search_match import where_terms
from tui_crm.services.core.search_rank import (  # noqa: F401 - Hit and query_terms are this API
    Hit,
    query_terms,
    rank,
    sqlite_candidates,
)


@read
def quick_search(actor: Actor, text: str, *, sections: Iterable[str] | None = None,
                 limit: int = 30) -> list[Hit]:
    """Ranked hits across sections, best first, among the records the actor sees; never
    raises on odd input."""
    terms = query_terms(text)
    if not terms:
        return []
    kinds = [k for k in (sections or SEARCH_KINDS) if k in search_index.KIND_CODES
             and actor.can(k, "view")]
    if not kinds:
        return []
    db = current()
    seen = _seen_keys(actor, kinds)
    if is_postgres(db):
        where, params = where_terms(terms, kinds)
        if seen is not None:
            where, params = f"{where} AND {seen[0]}", [*params, *seen[1]]
        sql = (f"SELECT id, title, similarity(title, %s) AS score FROM search_doc "
               f"WHERE {where} ORDER BY score DESC LIMIT {max(limit * 4, 100)}")
        rows = [(k, t) for k, t, _s in db.execute_sql(sql, [" ".join(terms), *params])]
    else:
        # Names that match outrank any match elsewhere on a card, so when they alone fill
        # the list the rest is not read.
        rows = sqlite_candidates(lambda sql, params: db.execute_sql(sql, params).fetchall(),
                                 terms, kinds, enough=limit, extra=seen)
    hits = rank(rows, terms)[:limit]
    return hits if seen is None else _retitled(actor, hits)


def _seen_keys(actor: Actor, kinds: list[str]) -> tuple[str, list[Any]] | None:
    """A condition on an index row keeping the documents of records the actor sees, in SQL,
    so that the candidates' LIMIT counts only those (None when they see all). Each match is
    looked up by its id — the set of everything a manager sees (a million events) is never
    built."""
    if actor.sees_all:
        return None
    code = search_index.kind_code_sql()
    parts: list[str] = []
    params: list[Any] = []
    for kind in kinds:
        model = KINDS[kind].model
        this = model.select(model.id).where(
            (model.id == SQL(search_index.record_id_sql()))
            & visibility.clause(actor, kind, visibility.ROW))
        sql, sub_params = this.sql()
        parts.append(f"WHEN {search_index.KIND_CODES[kind]} THEN EXISTS ({sql})")
        params.extend(sub_params)
    return f"CASE {code} {' '.join(parts)} ELSE FALSE END", params


def _retitled(actor: Actor, hits: list[Hit]) -> list[Hit]:
    """An event's title names its client (stored for everyone in the index): a client the
    actor may not see is not named."""
    events = [h.id for h in hits if h.section == "events"]
    if not events:
        return hits
    rows = {e.id: e for e in m.Event.select().where(m.Event.id.in_(events))}
    names = {name: lookups.names(name, (getattr(r, f"{name}_id") for r in rows.values()),
                                 actor=actor)
             for name in ("organization", "contact", "event_type")}
    return [Hit(h.section, h.id, title_of("events", rows[h.id], names), h.score)
            if h.section == "events" and h.id in rows else h for h in hits]
