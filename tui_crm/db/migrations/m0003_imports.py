"""Step 3: the import log (runs and the records each one created or merged), for undo."""

from __future__ import annotations

from peewee import Database

from tui_crm.db.import_models import IMPORT_MODELS


def apply(db: Database) -> None:
    db.create_tables(IMPORT_MODELS, safe=True)
