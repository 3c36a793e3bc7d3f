"""The browser door's table (schema step 11): one password per user, as a slow salted hash.

Kept apart from `user` so that the rows every session reads (rights, preferences) never
carry a hash, and a backup's reader of `user` learns nothing to try offline.
"""

from __future__ import annotations

from peewee import AutoField, DateTimeField, ForeignKeyField, TextField

from tui_crm.db.models import BaseModel, User, now


class WebPassword(BaseModel):
    id = AutoField()
    user = ForeignKeyField(User, unique=True, on_delete="CASCADE", backref="+")
    hash = TextField()  # "scrypt$n$r$p$salt$digest", see tui_crm.services.core.passwords
    set_at = DateTimeField(default=now)

    class Meta:
        table_name = "web_password"
