"""Tables of imports (schema step 3): each import run and the records it created or merged,
so that a whole import can be undone afterwards."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from tui_crm.db.models import BaseModel, User, now


class ImportRun(BaseModel):
    """One import: who, when, which file, what came of it."""

    id = AutoField()
    at = DateTimeField(default=now, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    user_id: int | None
    kind = CharField()  # organizations / contacts
    file_name = CharField(default="")
    file_format = CharField(default="")  # csv / xlsx / xls / ods / vcf
    encoding = CharField(default="")
    rows = IntegerField(default=0)
    created = IntegerField(default=0)
    merged = IntegerField(default=0)
    skipped = IntegerField(default=0)
    errors = IntegerField(default=0)
    details = TextField(default="{}")  # JSON: options and the first problems
    undone_at = DateTimeField(null=True)
    undone_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    undone_by_id: int | None


class ImportItem(BaseModel):
    """A record an import created (deleted by undo) or merged into (restored by undo)."""

    id = AutoField()
    run = ForeignKeyField(ImportRun, on_delete="CASCADE", backref="items")
    run_id: int
    kind = CharField()
    record_id = IntegerField()
    action = CharField()  # created / merged
    before = TextField(default="")  # merged: JSON of the changed fields' earlier values

    class Meta:
        indexes = ((("run", "kind", "action"), False), (("kind", "record_id"), False))


IMPORT_MODELS = [ImportRun, ImportItem]
