"""`tui-crm find` on a SQLite file, read with the `sqlite3` module alone.

Importing the database layer (peewee and the models) costs ~30 ms, three times the search
itself, and a one-shot `find` pays it on every call. This path reads the same index with
the same queries and ranking (`search_rank`), the acting user and their rights from the
same rows (`rights.actor_from_user`), and writes nothing. Whenever it cannot answer exactly
as `search.quick_search` would — a PostgreSQL URL, a schema that is not the current one,
an unknown or disabled user, a user who sees only some records — it returns None and the
caller takes the full path.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from tui_crm.i18n import _
from tui_crm.schema_steps import step_names
from tui_crm.search_keys import KIND_CODES
from tui_crm.services.core.rights import Actor, actor_from_user
from tui_crm.services.core.search_rank import Hit, query_terms, rank, sqlite_candidates
from tui_crm.services.core.section_list import SECTIONS

_MIGRATIONS = Path(__file__).resolve().parents[2] / "db" / "migrations"  # tui_crm/db/migrations


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    renamed: dict[str, str]  # section key → the name an admin gave it
    language: str  # the user's own language preference ("" when none)

    def section_name(self, key: str) -> str:
        """As `settings.section_name` says it (in the language now in use)."""
        return self.renamed.get(key) or _(SECTIONS.get(key, key))


def latest_schema() -> int:
    """The newest migration step shipped, from the step files' names (as `migrate` reads
    them, without importing the migrations package and with it the database layer)."""
    steps = step_names(p.stem for p in _MIGRATIONS.glob("*.py"))
    return steps[-1][0] if steps else 0


def find_in_file(path: str, login: str, text: str, *, limit: int = 30) -> Found | None:
    """The hits `search.quick_search` would give `login` on this SQLite file, or None when
    only the full path can answer."""
    try:
        if "://" in path or not Path(path).is_file():
            return None
    except OSError:  # a folder this account may not enter: the full path says so
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True,
                               timeout=5)
    except sqlite3.Error:
        return None
    try:
        return _find(conn, login, text, limit)
    except sqlite3.Error:
        return None  # locked, damaged, an older layout: the full path explains it
    finally:
        conn.close()


def _find(conn: sqlite3.Connection, login: str, text: str, limit: int) -> Found | None:
    version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    if version != latest_schema():
        return None  # the full path migrates (or refuses a newer schema)
    row = conn.execute(
        'SELECT id, login, role, visibility, group_id, rights, full_name, active, language'
        ' FROM "user" WHERE login = ?', (login,)).fetchone()
    if row is None or not row[7]:
        return None  # a first user is registered, others get the full path's message
    actor: Actor = actor_from_user(SimpleNamespace(
        id=row[0], login=row[1], role=row[2], visibility=row[3], group_id=row[4],
        rights=row[5], full_name=row[6]))
    if not actor.sees_all:
        return None  # hits must be narrowed to this user's records
    names = _section_names(conn)
    terms = query_terms(text)
    kinds = [k for k in KIND_CODES if actor.can(k, "view")]
    if not terms or not kinds:
        return Found([], names, row[8] or "")

    def execute(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    rows = sqlite_candidates(execute, terms, kinds, enough=limit)
    return Found(rank(rows, terms)[:limit], names, row[8] or "")


def _section_names(conn: sqlite3.Connection) -> dict[str, str]:
    """The names an admin gave sections (settings' "sections" entry)."""
    row = conn.execute("SELECT value FROM setting WHERE key = 'sections'").fetchone()
    try:
        renamed = (json.loads(row[0]) or {}).get("names", {}) if row else {}
    except (ValueError, AttributeError):
        return {}
    return {k: v for k, v in renamed.items() if isinstance(v, str) and v}
