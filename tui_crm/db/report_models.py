"""Tables of the report package (schema step 4): what a manager enters per day for the
activity report (lateness, work journal sent) and the report written after a meeting."""

from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from tui_crm.db.models import BaseModel, Event, User, now


class DayJournal(BaseModel):
    """One manager's day as entered by hand: minutes late and "work journal sent"."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    user_id: int
    day = DateField()
    lateness_minutes = IntegerField(default=0)
    journal_sent = BooleanField(default=False)
    note = CharField(default="")
    updated_at = DateTimeField(default=now)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    updated_by_id: int | None

    class Meta:
        indexes = ((("user", "day"), True),)


class MeetingReport(BaseModel):
    """The seed's "meeting report": filled in after a meeting, one per meeting event."""

    id = AutoField()
    event = ForeignKeyField(Event, on_delete="CASCADE", backref="+", unique=True)
    event_id: int
    subject = CharField(default="")
    agreements = TextField(default="")
    result = TextField(default="")
    our_actions = TextField(default="")
    client_actions = TextField(default="")
    next_contact_date = DateField(null=True)
    author = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    author_id: int | None
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)


REPORT_MODELS = [DayJournal, MeetingReport]
