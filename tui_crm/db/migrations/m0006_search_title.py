"""Step 6: the search index weighs a record's name: its title column becomes indexed."""

from __future__ import annotations

from peewee import Database

from tui_crm.db import search_index


def apply(db: Database) -> None:
    search_index.index_title(db)
