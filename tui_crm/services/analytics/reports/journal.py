"""The hand-entered figures of a manager's day: lateness and "work journal sent" — one's
own, or anyone's for the head of sales.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.report_models import DayJournal
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.analytics.reports.common import (
    may_see_user,
    user_by_ref,
)
from tui_crm.services.core import audit
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates


@dataclass
class DayEntry:
    user_id: int
    day: dt.date
    lateness_minutes: int
    journal_sent: bool
    note: str


@write
def set_day_journal(actor: Actor, day: dt.date | str, *, lateness_minutes: int | str | None = None,
                    journal_sent: bool | None = None, note: str | None = None,
                    user: str | int | None = None) -> DayEntry:
    """Enter a day's lateness (minutes) and "work journal sent" flag — one's own, or anyone's
    for the head of sales."""
    target = user_by_ref(user) if user is not None else user_by_ref(actor.user_id)
    if target.id != actor.user_id and not actor.sees_all:
        raise PermissionDenied(_("Only the head of sales can fill in another manager's day."))
    if isinstance(day, str):
        try:
            day = dates.parse_date(day)
        except dates.DateParseError as exc:
            raise ValidationError({"day": str(exc)}) from None
    errors: dict[str, str] = {}
    minutes = None
    if lateness_minutes is not None and lateness_minutes != "":
        try:
            minutes = int(str(lateness_minutes).strip())
        except ValueError:
            errors["lateness_minutes"] = _("Not a whole number: {text!r}").format(
                text=lateness_minutes)
        else:
            if not 0 <= minutes <= 24 * 60:
                errors["lateness_minutes"] = _("Between 0 and 1440 minutes")
    if errors:
        raise ValidationError(errors)
    row = DayJournal.get_or_none((DayJournal.user == target.id) & (DayJournal.day == day))
    before = (row.lateness_minutes, row.journal_sent) if row else (0, False)
    if row is None:
        row = DayJournal.create(user=target.id, day=day, updated_by=actor.user_id)
    if minutes is not None:
        row.lateness_minutes = minutes
    if journal_sent is not None:
        row.journal_sent = bool(journal_sent)
    if note is not None:
        row.note = note.strip()
    row.updated_at = m.now()
    row.updated_by_id = actor.user_id
    row.save()
    audit.log(actor, "update", "day_journal", row.id, {
        "lateness_minutes": (before[0], row.lateness_minutes),
        "journal_sent": (before[1], row.journal_sent)}, details=f"{target.login} {day}")
    return DayEntry(target.id, day, row.lateness_minutes, row.journal_sent, row.note)


def day_journal(actor: Actor, day: dt.date, user: str | int | None = None) -> DayEntry:
    target = user_by_ref(user) if user is not None else user_by_ref(actor.user_id)
    if not may_see_user(actor, target):
        raise PermissionDenied(_("This record belongs to another manager."))
    row = DayJournal.get_or_none((DayJournal.user == target.id) & (DayJournal.day == day))
    if row is None:
        return DayEntry(target.id, day, 0, False, "")
    return DayEntry(target.id, day, row.lateness_minutes, row.journal_sent, row.note)


