"""Step 5: e-mail mailings (accounts, templates, mailings, recipients)."""

from __future__ import annotations

from peewee import Database

from tui_crm.db.mail_models import MAIL_MODELS


def apply(db: Database) -> None:
    db.create_tables(MAIL_MODELS, safe=True)
