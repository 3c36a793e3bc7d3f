"""Which index documents match a text: the WHERE clause on the index table and the
sub-select of matching ids that section filters use. No ranking (see search_rank)."""

from __future__ import annotations

from typing import Any

from tui_crm.db import search_index
from tui_crm.db.database import current, is_postgres
from tui_crm.services.core.search_rank import like_pattern, query_terms, sqlite_where


def where_terms(terms: list[str], kinds: list[str]) -> tuple[str, list[Any]]:
    """The WHERE clause (and parameters) matching every term, for the index table."""
    if not is_postgres(current()):
        return sqlite_where(terms, kinds)
    clauses = ["body LIKE %s ESCAPE '\\'" for _t in terms]
    params: list[Any] = [like_pattern(t) for t in terms]
    if kinds and len(kinds) < len(search_index.KIND_CODES):
        # The stored kind (a literal % for the key's low bits would clash with psycopg2's %s).
        clauses.append(f"kind IN ({', '.join('%s' for _k in kinds)})")
        params.extend(kinds)
    return " AND ".join(clauses), params


def match_ids_sql(kind: str, text: str) -> tuple[str, list[Any]] | None:
    """A sub-select of the ids of `kind` matching `text` (for filtering a table), or None
    when the text has no searchable terms."""
    terms = query_terms(text)
    if not terms or kind not in search_index.KIND_CODES:
        return None
    where, params = where_terms(terms, [kind])
    return (f"SELECT {search_index.record_id_sql()} FROM search_doc"
            f" WHERE {where}", params)
