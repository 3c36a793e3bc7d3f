"""Tables of daily planning (schema step 2): reminder claims and call-block runs."""

from __future__ import annotations

from peewee import AutoField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField

from tui_crm.db.models import BaseModel, User, now


class ReminderState(BaseModel):
    """One reminder occurrence that a session has claimed, so it never fires twice.

    `key` names the occurrence: "event:<id>:<start ISO>" or "birthday:<contact>:<date>:<when>".
    The unique key makes the claim atomic across sessions and processes.
    """

    id = AutoField()
    key = CharField(unique=True)
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    user_id: int
    state = CharField(default="fired")  # fired / snoozed / dismissed
    snooze_until = DateTimeField(null=True, index=True)
    claimed_at = DateTimeField(default=now)


class CallBlockRun(BaseModel):
    """Where a user stopped in a call block, so leaving and coming back resumes there."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    user_id: int
    day = DateField()
    block_start = CharField()  # "09:00"
    position = IntegerField(default=0)
    started_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("user", "day", "block_start"), True),)


PLANNING_MODELS = [ReminderState, CallBlockRun]
