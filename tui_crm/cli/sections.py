"""Section names as a user types them, and FIELD=VALUE arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui_crm.cli.output import UsageError
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import _

# Section names a user may type besides the canonical ones and kinds.ALIASES.
RU_SECTION_ALIASES = {
    "организации": "organizations", "организация": "organizations", "клиенты": "organizations",
    "клиент": "organizations", "контакты": "contacts", "контакт": "contacts",
    "люди": "contacts", "задачи": "tasks", "задача": "tasks", "события": "events",
    "событие": "events", "заметки": "notes", "заметка": "notes", "ссылки": "links",
    "ссылка": "links", "сделки": "deals", "сделка": "deals", "платежи": "payments",
    "платёж": "payments", "платеж": "payments", "услуги": "services", "услуга": "services",
}
# FIELD=VALUE keys that add to a list instead of setting a value.
POINT_KEYS = {"phone": "phones", "phones": "phones", "email": "emails", "emails": "emails",
              "e-mail": "emails", "messenger": "messengers", "messengers": "messengers"}
TAG_KEYS = {"tag", "tags"}


def resolve_section(name: str) -> str:
    """A section key from what the user typed: `organizations`, `orgs`, `клиенты`, or the
    name an admin gave the section."""
    from tui_crm.services.core.kinds import ALIASES, KINDS

    key = name.strip().casefold()
    if key in KINDS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    if key in RU_SECTION_ALIASES:
        return RU_SECTION_ALIASES[key]
    from tui_crm.services.core import settings

    for info in settings.sections(include_hidden=True):
        if info.key in KINDS and info.name.casefold() == key:
            return info.key
    for kind, spec in KINDS.items():
        if key in {spec.label.casefold(), _(spec.label).casefold(),
                   spec.singular.casefold(), _(spec.singular).casefold()}:
            return kind
    raise NotFound(_("Unknown section {name!r}; known: {known}").format(
        name=name, known=", ".join(KINDS)))


def parse_assignments(items: Sequence[str], *, lists_for_points: bool = True) -> dict[str, Any]:
    """FIELD=VALUE arguments as the services take them.

    `phone=`, `email=`, `messenger=` (repeatable) fill the list fields phones / emails /
    messengers; `phone:mobile=…` gives the type; `tag=` (repeatable, or comma-separated)
    fills tags. An empty `phone=` clears the list.
    """
    data: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().casefold()
        if not sep or not key:
            raise UsageError(_("Expected FIELD=VALUE, got {text!r}").format(text=item))
        base, _colon, point_type = key.partition(":")
        if base in POINT_KEYS:
            values = data.setdefault(POINT_KEYS[base], [])
            if value.strip():
                values.append((point_type.strip(), value) if point_type.strip() else value)
            continue
        if point_type:
            raise ValidationError({key: _("Only phone, email and messenger take a :type")})
        if base in TAG_KEYS:
            data.setdefault("tags", []).extend(t.strip() for t in value.split(",") if t.strip())
            continue
        if base in data:
            raise ValidationError({base: _("Given more than once")})
        data[base] = value
    return data


def check_fields(kind: str, data: dict[str, Any]) -> None:
    """Unknown field names, all at once (for commands that do not validate values)."""
    from tui_crm.services.core import records

    known = {f.name for f in records.field_specs(kind)}
    unknown = {name: _("Unknown field; see `tui-crm fields {section}`").format(section=kind)
               for name in data if name not in known}
    if unknown:
        raise ValidationError(unknown)
