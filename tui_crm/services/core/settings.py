"""Database-wide settings an admin changes for everyone: sections (order, hidden, renamed),
field labels, custom fields, event types and results, the company's time zone; and per-user
theme and language."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import audit
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.rights import Actor
from tui_crm.services.core.section_list import SECTIONS

CUSTOM_KINDS = {"text": N_("text"), "number": N_("number"), "date": N_("date"),
                "choice": N_("choice"), "bool": N_("yes/no")}


@dataclass(frozen=True)
class SectionInfo:
    key: str
    name: str  # as shown: the admin's name, or the translated default
    hidden: bool
    position: int


def _get(key: str, default: Any) -> Any:
    row = m.Setting.get_or_none(m.Setting.key == key)
    if row is None:
        return default
    try:
        return json.loads(row.value)
    except ValueError:
        return default


def _put(key: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    m.Setting.insert(key=key, value=text).on_conflict(
        conflict_target=[m.Setting.key], update={m.Setting.value: text}).execute()


def get_value(key: str, default: Any = None) -> Any:
    """A raw setting (JSON value)."""
    return _get(key, default)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can change settings."))


def sections(include_hidden: bool = False) -> list[SectionInfo]:
    """The sidebar's sections in order, with their shown names."""
    config = _get("sections", {})
    order = config.get("order", list(SECTIONS))
    order = [k for k in order if k in SECTIONS] + [k for k in SECTIONS if k not in order]
    names = config.get("names", {})
    hidden = set(config.get("hidden", []))
    result = []
    for position, key in enumerate(order):
        info = SectionInfo(key, names.get(key) or _(SECTIONS[key]), key in hidden, position)
        if include_hidden or not info.hidden:
            result.append(info)
    return result


def section_name(key: str) -> str:
    names = _get("sections", {}).get("names", {})
    return names.get(key) or _(SECTIONS.get(key, key))


@write
def configure_section(actor: Actor, key: str, *, name: str | None = None,
                      hidden: bool | None = None, position: int | None = None) -> SectionInfo:
    """Rename, hide/show or move a section for everyone."""
    _require_admin(actor)
    if key not in SECTIONS:
        raise NotFound(_("Unknown section {name!r}").format(name=key))
    if key == "settings" and hidden:
        raise ValidationError({"hidden": _("The Settings section cannot be hidden")})
    config = _get("sections", {})
    names = config.setdefault("names", {})
    hidden_list = config.setdefault("hidden", [])
    order = config.get("order", list(SECTIONS))
    order = [k for k in order if k in SECTIONS] + [k for k in SECTIONS if k not in order]
    if name is not None:
        if name.strip():
            names[key] = name.strip()
        else:
            names.pop(key, None)
    if hidden is not None:
        if hidden and key not in hidden_list:
            hidden_list.append(key)
        if not hidden and key in hidden_list:
            hidden_list.remove(key)
    if position is not None:
        order.remove(key)
        order.insert(max(0, min(position, len(order))), key)
    config["order"] = order
    _put("sections", config)
    audit.log(actor, "settings", "sections", None, details=json.dumps(
        {"section": key, "name": name, "hidden": hidden, "position": position},
        ensure_ascii=False))
    return next(s for s in sections(include_hidden=True) if s.key == key)


def field_label(kind: str, field_name: str, default: str | None = None) -> str:
    """A field's label as shown: the admin's rename, else the translated built-in label."""
    labels = _get("field_labels", {}).get(kind, {})
    if field_name in labels:
        return labels[field_name]
    if default is not None:
        return _(default)
    spec = KINDS.get(kind)
    f = spec.field(field_name) if spec else None
    if f is not None:
        return _(f.label)
    cf = m.CustomField.get_or_none((m.CustomField.section == kind)
                                   & (m.CustomField.name == field_name))
    return cf.label if cf else field_name


def field_labels(kind: str) -> dict[str, str]:
    return dict(_get("field_labels", {}).get(kind, {}))


@write
def rename_field(actor: Actor, kind: str, field_name: str, label: str) -> None:
    """Rename a built-in field's label for everyone (an empty label restores the default)."""
    _require_admin(actor)
    spec = KINDS.get(kind)
    if spec is None or spec.field(field_name) is None:
        raise NotFound(_("Unknown field {name!r}").format(name=field_name))
    labels = _get("field_labels", {})
    per_kind = labels.setdefault(kind, {})
    if label.strip():
        per_kind[field_name] = label.strip()
    else:
        per_kind.pop(field_name, None)
    _put("field_labels", labels)
    audit.log(actor, "settings", "field_labels", None, changes={f"{kind}.{field_name}": ("", label)})


@dataclass(frozen=True)
class CustomFieldInfo:
    id: int
    section: str
    name: str
    label: str
    kind: str
    choices: list[str]
    active: bool


def list_custom_fields(section: str | None = None) -> list[CustomFieldInfo]:
    query = m.CustomField.select().order_by(m.CustomField.section, m.CustomField.position,
                                            m.CustomField.id)
    if section:
        query = query.where(m.CustomField.section == section)
    return [CustomFieldInfo(c.id, c.section, c.name, c.label, c.kind,
                            json.loads(c.choices or "[]"), c.active) for c in query]


_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


def _field_key(label: str) -> str:
    from tui_crm.services.core.translit import slug

    return slug(label)


@write
def add_custom_field(actor: Actor, section: str, label: str, kind: str = "text",
                     choices: list[str] | None = None, name: str | None = None) -> CustomFieldInfo:
    """Add a field (text, number, date, choice, yes/no) to a record kind."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    if section not in KINDS:
        errors["section"] = _("Unknown section {name!r}").format(name=section)
    if not label.strip():
        errors["label"] = _("Required")
    if kind not in CUSTOM_KINDS:
        errors["kind"] = _("Unknown field type; choose one of: {known}").format(
            known=", ".join(CUSTOM_KINDS))
    key = (name or _field_key(label)).strip()
    if not _NAME_RE.match(key):
        errors["name"] = _("A field name is lower-case Latin letters, digits and _")
    elif section in KINDS and (KINDS[section].field(key) is not None or m.CustomField.select()
                               .where((m.CustomField.section == section)
                                      & (m.CustomField.name == key)).exists()):
        errors["name"] = _("The field {name!r} already exists").format(name=key)
    options = [c.strip() for c in (choices or []) if c.strip()]
    if kind == "choice" and not options:
        errors["choices"] = _("A choice field needs at least one option")
    if errors:
        raise ValidationError(errors)
    position = m.CustomField.select().where(m.CustomField.section == section).count()
    cf = m.CustomField.create(section=section, name=key, label=label.strip(), kind=kind,
                              choices=json.dumps(options, ensure_ascii=False), position=position)
    audit.log(actor, "settings", "custom_fields", cf.id, details=f"{section}.{key}")
    return list_custom_fields(section)[-1] if list_custom_fields(section) else None  # type: ignore[return-value]


@write
def remove_custom_field(actor: Actor, field_id: int) -> None:
    """Deactivate a custom field (its values stay, so it can come back)."""
    _require_admin(actor)
    updated = m.CustomField.update(active=False).where(m.CustomField.id == field_id).execute()
    if not updated:
        raise NotFound(_("No custom field #{id}").format(id=field_id))
    audit.log(actor, "settings", "custom_fields", field_id, details="removed")


@dataclass(frozen=True)
class ResultInfo:
    id: int
    code: str
    name: str
    warm: bool
    reached_decision_maker: bool
    productive: bool


@dataclass(frozen=True)
class EventTypeInfo:
    id: int
    code: str
    name: str
    results: list[ResultInfo]


def event_types(include_inactive: bool = False) -> list[EventTypeInfo]:
    from tui_crm.services.core.lookups import event_result_name, event_type_name

    query = m.EventType.select().order_by(m.EventType.position, m.EventType.id)
    if not include_inactive:
        query = query.where(m.EventType.active == True)  # noqa: E712
    out = []
    for et in query:
        results = [ResultInfo(r.id, r.code, event_result_name(r), r.warm,
                              r.reached_decision_maker, r.productive)
                   for r in m.EventResult.select().where(
                       (m.EventResult.event_type == et.id)
                       & (m.EventResult.active == True))  # noqa: E712
                   .order_by(m.EventResult.position, m.EventResult.id)]
        out.append(EventTypeInfo(et.id, et.code, event_type_name(et), results))
    return out


@write
def add_event_type(actor: Actor, code: str, name_en: str, name_ru: str = "") -> EventTypeInfo:
    _require_admin(actor)
    if not _NAME_RE.match(code or ""):
        raise ValidationError({"code": _("A code is lower-case Latin letters, digits and _")})
    if m.EventType.select().where(m.EventType.code == code).exists():
        raise ValidationError({"code": _("The event type {name!r} already exists").format(
            name=code)})
    position = m.EventType.select().count()
    et = m.EventType.create(code=code, name_en=name_en or code, name_ru=name_ru or name_en or code,
                            position=position)
    audit.log(actor, "settings", "event_types", et.id, details=code)
    return next(e for e in event_types() if e.id == et.id)


@write
def add_event_result(actor: Actor, event_type: str, code: str, name_en: str, name_ru: str = "",
                     *, warm: bool = False, reached_decision_maker: bool = False,
                     productive: bool = False) -> ResultInfo:
    _require_admin(actor)
    et = m.EventType.get_or_none(m.EventType.code == event_type)
    if et is None:
        raise NotFound(_("Unknown event type {name!r}").format(name=event_type))
    if not _NAME_RE.match(code or ""):
        raise ValidationError({"code": _("A code is lower-case Latin letters, digits and _")})
    if m.EventResult.select().where((m.EventResult.event_type == et)
                                    & (m.EventResult.code == code)).exists():
        raise ValidationError({"code": _("The result {name!r} already exists").format(name=code)})
    position = m.EventResult.select().where(m.EventResult.event_type == et).count()
    r = m.EventResult.create(event_type=et, code=code, name_en=name_en or code,
                             name_ru=name_ru or name_en or code, warm=warm,
                             reached_decision_maker=reached_decision_maker,
                             productive=productive, position=position)
    audit.log(actor, "settings", "event_results", r.id, details=f"{event_type}.{code}")
    from tui_crm.services.core.lookups import event_result_name

    return ResultInfo(r.id, r.code, event_result_name(r), r.warm, r.reached_decision_maker,
                      r.productive)


@write
def remove_event_result(actor: Actor, result_id: int) -> None:
    _require_admin(actor)
    if not m.EventResult.update(active=False).where(m.EventResult.id == result_id).execute():
        raise NotFound(_("No result #{id}").format(id=result_id))
    audit.log(actor, "settings", "event_results", result_id, details="removed")


@write
def set_user_preference(actor: Actor, key: str, value: str) -> None:
    """The acting user's own theme or language (remembered in the database)."""
    if key not in ("theme", "language"):
        raise ValidationError({key: _("Unknown setting")})
    if actor.user_id is None:
        return
    m.User.update(**{key: value}).where(m.User.id == actor.user_id).execute()


def user_preference(actor: Actor, key: str) -> str:
    if actor.user_id is None:
        return ""
    user = m.User.get_or_none(m.User.id == actor.user_id)
    return getattr(user, key, "") if user else ""


def sources() -> list[str]:
    return [s.name for s in m.Source.select().where(m.Source.active == True)  # noqa: E712
            .order_by(m.Source.id)]


@write
def add_source(actor: Actor, name: str) -> None:
    _require_admin(actor)
    if not name.strip():
        raise ValidationError({"name": _("Required")})
    m.Source.get_or_create(name=name.strip())


def groups(section: str) -> list[tuple[int, str, int | None]]:
    """(id, name, parent id) of a section's group tree."""
    return [(g.id, g.name, g.parent_id) for g in m.Group.select().where(
        m.Group.section == section).order_by(m.Group.position, m.Group.name)]


@write
def add_group(actor: Actor, section: str, name: str, parent: int | None = None) -> int:
    if not actor.can(section, "edit"):
        raise PermissionDenied(_("You have no right to change groups here."))
    if not name.strip():
        raise ValidationError({"name": _("Required")})
    return m.Group.create(section=section, name=name.strip(), parent=parent).id


# --- the company's time zone ------------------------------------------------------------------
# Times are stored as wall-clock time of the company's zone. Exports that must name a zone
# (.ics) use this setting; its default is the server's zone as the system configures it
# (/etc/localtime), never the exporting process's TZ variable, which differs between a
# manager's shell, cron and a service.

TIME_ZONE_KEY = "time_zone"
LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")


def server_time_zone(localtime: Path = LOCALTIME, timezone_file: Path = TIMEZONE_FILE) -> str:
    """The server's configured zone name ("Europe/Moscow"), "UTC" when none is found."""
    try:
        target = localtime.resolve(strict=True)
        parts = target.parts
        if "zoneinfo" in parts:
            name = "/".join(parts[parts.index("zoneinfo") + 1:])
            if _zone_or_none(name) is not None:
                return name
    except OSError:
        pass  # no /etc/localtime (a container): the other file, or UTC
    try:
        name = timezone_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    return name if name and _zone_or_none(name) is not None else "UTC"


def _zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def time_zone_name() -> str:
    """The company's time zone: the admin's setting, else the server's."""
    name = _get(TIME_ZONE_KEY, "")
    if isinstance(name, str) and name and _zone_or_none(name) is not None:
        return name
    return server_time_zone()


def time_zone() -> ZoneInfo:
    return ZoneInfo(time_zone_name())


def zone_named(name: str) -> ZoneInfo:
    """A zone by its IANA name, or a clear message."""
    zone = _zone_or_none(name.strip()) if name and name.strip() else None
    if zone is None:
        raise ValidationError({"time_zone": _("Unknown time zone {name!r}; use a name such as"
                                              " Europe/Moscow or Asia/Yekaterinburg").format(
            name=name)})
    return zone


@write
def set_time_zone(actor: Actor, name: str) -> str:
    """Set the company's time zone (an empty name: back to the server's)."""
    _require_admin(actor)
    old = _get(TIME_ZONE_KEY, "")
    if name.strip():
        zone_named(name)
        name = name.strip()
    _put(TIME_ZONE_KEY, name)
    audit.log(actor, "settings", TIME_ZONE_KEY, None, changes={TIME_ZONE_KEY: (old, name)})
    return time_zone_name()


def put_value(key: str, value: Any) -> None:
    """Store a raw setting (JSON value), inside the caller's transaction; the caller checks
    the rights (saved mail lists: the mail right)."""
    _put(key, value)
