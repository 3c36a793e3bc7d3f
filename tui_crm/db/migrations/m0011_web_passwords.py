"""Step 11: passwords for the browser door (`tui-crm serve`), see tui_crm.db.web_models."""

from __future__ import annotations

from peewee import Database

from tui_crm.db.web_models import WebPassword


def apply(db: Database) -> None:
    db.create_tables([WebPassword], safe=True)
