"""Step 13: search documents keyed kind first (`code << 40 | id`, see search_keys), so that
a search within one section reads only that section's part of the index."""

from __future__ import annotations

from peewee import Database

from tui_crm.db import search_index


def apply(db: Database) -> None:
    search_index.rekey(db)
