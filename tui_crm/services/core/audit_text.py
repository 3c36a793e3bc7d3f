"""The audit log in human terms: "Анна changed Организации «Ромашка»: Статус Лид → Клиент",
not "anna update organizations #226 status: 'lead' → 'client'". One place for the UI's
audit log and the CLI's `history`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tui_crm.i18n import N_, _
from tui_crm.services.core.audit import AuditEntry
from tui_crm.text import dates

ACTIONS = {  # what the person did: "anna changed …"
    "create": N_("created"), "update": N_("changed"), "delete": N_("deleted"),
    "restore": N_("restored"), "export": N_("exported"), "import": N_("imported"),
    "import_undo": N_("cancelled an import"), "mail": N_("mailed"),
    "meeting_report": N_("wrote a meeting report"), "merge": N_("merged a duplicate"),
    "reassign": N_("handed clients over"), "reschedule": N_("rescheduled"),
    "settings": N_("changed settings"), "snooze": N_("postponed"),
}


@dataclass(frozen=True)
class AuditLine:
    at: str
    who: str
    action: str
    section: str  # the section's name as the user sees it
    record: str  # the record's title, or #id when it is gone
    field: str  # the field's label
    change: str  # "old → new", values as shown in cards
    details: str

    def text(self) -> str:
        head = " ".join(p for p in (self.action, self.section, self.record) if p)
        if self.field:
            head += f": {self.field} {self.change}"
        if self.details:
            head += f" ({self.details})"
        return head


def action_name(action: str) -> str:
    return _(ACTIONS.get(action, action))


def describe(entries: Iterable[AuditEntry]) -> list[AuditLine]:
    """Each entry with names instead of codes: section, record title, field label, values."""
    entries = list(entries)
    titles = _titles(entries)
    return [AuditLine(dates.format_datetime(e.at) if e.at else "", e.login or "—",
                      action_name(e.action), _section(e.kind),
                      titles.get((e.kind, e.record_id), f"#{e.record_id}" if e.record_id else ""),
                      _field_label(e.kind, e.field) if e.field else "",
                      f"{_value(e.kind, e.field, e.old)} → {_value(e.kind, e.field, e.new)}"
                      if e.field else "", e.details)
            for e in entries]


def _section(kind: str) -> str:
    from tui_crm.services.core import settings
    from tui_crm.services.core.kinds import KINDS

    if not kind:
        return ""
    if kind in KINDS:
        return settings.section_name(kind)
    return _(kind.capitalize())  # users, settings: the English word is a msgid


def _titles(entries: list[AuditEntry]) -> dict[tuple[str, int | None], str]:
    """The records' titles, one query a section (deleted records keep theirs)."""
    from tui_crm.services.core import lookups, search_docs
    from tui_crm.services.core.kinds import KINDS

    wanted: dict[str, set[int]] = {}
    for e in entries:
        if (e.kind in KINDS or e.kind == "users") and e.record_id:
            wanted.setdefault(e.kind, set()).add(e.record_id)
    titles: dict[tuple[str, int | None], str] = {
        ("users", user_id): name
        for user_id, name in lookups.names("user", wanted.pop("users", ())).items()}
    for kind, ids in wanted.items():
        model = KINDS[kind].model
        for row in model.select().where(model.id.in_(ids)):
            title = search_docs.title_of(kind, row)
            if title:
                titles[(kind, row.id)] = f"«{title}»"
    return titles


def _field_label(kind: str, field: str) -> str:
    from tui_crm.services.core import settings
    from tui_crm.services.core.kinds import KINDS

    return settings.field_label(kind, field) if kind in KINDS else field


def _value(kind: str, field: str, text: str) -> str:
    """A stored audit value ("lead", "226", "2026-12-07 09:30") as a card shows it."""
    from tui_crm.services.core import lookups, records, values
    from tui_crm.services.core.kinds import KINDS

    if text in ("", None):
        return "—"
    spec = records.kind_spec(kind).field(field) if kind in KINDS else None
    if spec is None:
        return text
    try:
        if spec.type == "choice":
            return _(spec.choices[text]) if text in spec.choices else text
        if spec.type == "bool":
            return _("yes") if text.lower() in ("1", "true", "yes") else _("no")
        if spec.is_reference and text.isdigit():
            return lookups.names(spec.type, [int(text)]).get(int(text), f"#{text}")
        if spec.type == "datetime":
            return dates.format_datetime(dt.datetime.fromisoformat(text))
        if spec.type == "date":
            return dates.format_date(dt.date.fromisoformat(text[:10]))
        if spec.type in ("decimal", "money"):
            return values.format_amount(Decimal(text))
    except (ValueError, InvalidOperation, KeyError):
        return text
    return text
