"""Turning what a user typed into typed field values, and typed values into display text.

Used by the CLI (FIELD=VALUE), the forms and the importer, so that every entry path
accepts the same forms and rejects bad input with the same one-line messages.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from peewee import CharField, DecimalField

from tui_crm.db import models as m
from tui_crm.errors import ValidationError
from tui_crm.i18n import _, get_language
from tui_crm.services.core import lookups, visibility
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, POINT_TYPES, FieldSpec, KindSpec
from tui_crm.text import dates
from tui_crm.text.identity import InvalidValue, normalize_url, validate_email, validate_inn

TRUE_WORDS = {"1", "yes", "y", "true", "on", "да", "д", "истина", "+"}
FALSE_WORDS = {"0", "no", "n", "false", "off", "нет", "н", "ложь", "-", ""}


# The field type a custom field of each kind is edited, shown and sorted as.
CUSTOM_FIELD_TYPES = {"text": "text", "number": "decimal", "date": "date", "bool": "bool",
                      "choice": "choice"}


def custom_field_type(kind: str) -> str:
    return CUSTOM_FIELD_TYPES.get(kind, "text")


def custom_fields(section: str) -> list[m.CustomField]:
    """The active custom field definitions of a section, in order."""
    return list(
        m.CustomField.select()
        .where((m.CustomField.section == section) & (m.CustomField.active == True))  # noqa: E712
        .order_by(m.CustomField.position, m.CustomField.id)
    )


def phone_region() -> str:
    """The region phones without a country code belong to (setting `phone_region`, RU)."""
    setting = m.Setting.get_or_none(m.Setting.key == "phone_region")
    if setting is None:
        return "RU"
    try:
        value = json.loads(setting.value)
    except ValueError:
        value = setting.value
    return str(value or "RU").strip().upper() or "RU"


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValue(_("Expected yes or no, got {text!r}").format(text=text))


def parse_decimal(text: str) -> Decimal:
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("₽", "")
    cleaned = cleaned.replace("руб.", "").replace("руб", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidValue(_("Not a number: {text!r}").format(text=text)) from None
    if not value.is_finite():
        raise InvalidValue(_("Not a number: {text!r}").format(text=text))
    return value


INT_LIMIT = 2**31  # INTEGER columns are 32-bit on PostgreSQL


def parse_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidValue(_("Not a whole number: {text!r}").format(text=text)) from None
    return check_int(value)


def check_int(value: int) -> int:
    if not -INT_LIMIT <= value < INT_LIMIT:
        raise _out_of_range(-INT_LIMIT, INT_LIMIT - 1)
    return value


def _out_of_range(low: int | Decimal, high: int | Decimal) -> InvalidValue:
    """What a column (or a custom number) can hold, said with its bounds."""
    return InvalidValue(_("Out of range: the number must be from {low} to {high}").format(
        low=low, high=high))


def parse_choice(text: str, choices: dict[str, str]) -> str:
    word = text.strip()
    low = word.casefold()
    for code, label in choices.items():
        if low in (code.casefold(), label.casefold(), _(label).casefold()):
            return code
    known = ", ".join(choices)
    raise InvalidValue(_("Unknown value {text!r}; choose one of: {known}").format(
        text=text, known=known))


def split_point(text: str, point_kind: str) -> tuple[str, str]:
    """`mobile:+7 916…` → ("mobile", "+7 916…"); a bare value gets the first type."""
    choices = POINT_TYPE_CHOICES[point_kind]
    if ":" in text:
        head, tail = text.split(":", 1)
        if head.strip().lower() in choices:
            return head.strip().lower(), tail.strip()
    default = {"phone": "mobile", "email": "work", "messenger": "telegram"}[point_kind]
    return default, text.strip()


def _parse_points(value: Any, point_kind: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    items = [value] if isinstance(value, str | tuple) else list(value)
    result: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, tuple):
            kind, text = item
            if kind not in POINT_TYPE_CHOICES[point_kind]:
                kind = parse_choice(kind, POINT_TYPE_CHOICES[point_kind])
        else:
            kind, text = split_point(str(item), point_kind)
        text = text.strip()
        if not text:
            continue
        if point_kind == "email":
            text = validate_email(text)
        result.append((kind, text))
    return result


def parse_field(spec_type: str, value: Any, *, choices: dict[str, str] | None = None,
                context: dict[str, Any] | None = None, past: bool = False) -> Any:
    """Convert one value (text or already typed) to the field's type. `past`: a date that
    lies in the past by its nature (`FieldSpec.past_only`, a birthday)."""
    if isinstance(value, str):
        value = value.replace("\x00", "")  # PostgreSQL cannot store NUL; it is never meant
        text = value.strip()
        if spec_type in ("text", "multiline"):
            return value.strip() if spec_type == "text" else value
        if text == "" and spec_type not in POINT_TYPES and spec_type != "tags":
            return None
        if spec_type == "int":
            return parse_int(text)
        if spec_type == "decimal":
            return parse_decimal(text)
        if spec_type == "bool":
            return parse_bool(text)
        if spec_type == "date":
            return dates.parse_date(text, past=past)
        if spec_type == "datetime":
            return dates.parse_when(text)
        if spec_type == "choice":
            return parse_choice(text, choices or {})
        if spec_type == "tags":
            return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
        if spec_type in POINT_TYPES:
            return _parse_points(text, POINT_TYPES[spec_type])
        return lookups.resolve(spec_type, text, context or {})
    if value is None:
        return [] if spec_type in POINT_TYPES or spec_type == "tags" else None
    if spec_type in POINT_TYPES:
        return _parse_points(value, POINT_TYPES[spec_type])
    if spec_type == "tags":
        return [str(t).strip() for t in value if str(t).strip()]
    if spec_type == "decimal":
        return parse_decimal(str(value))
    if spec_type in ("date", "datetime") and isinstance(value, dt.date):
        dates.check_year(value)
    if spec_type == "datetime" and isinstance(value, dt.date) and not isinstance(
            value, dt.datetime):
        return dt.datetime.combine(value, dt.time(9, 0))
    if spec_type == "date" and isinstance(value, dt.datetime):
        return value.date()
    if spec_type == "choice" and value not in (choices or {}):
        return parse_choice(str(value), choices or {})
    if spec_type in lookups.RESOLVERS and not isinstance(value, int):
        return lookups.resolve(spec_type, str(value), context or {})
    if isinstance(value, int) and not isinstance(value, bool) \
            and spec_type in visibility.REFERENCE_KINDS and (context or {}).get("actor"):
        # An id given as a number is an attach like a typed one: among what the user sees.
        return lookups.resolve(spec_type, str(value), context or {})
    return value


def clean(spec: KindSpec, values: dict[str, Any], *, partial: bool,
          context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate and convert a dict of field values; all problems in one ValidationError.

    `partial` (an edit) checks only the given fields; otherwise required fields must be there.
    `context` gives what references are resolved within (an edited event's type).
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    customs = {cf.name: cf for cf in custom_fields(spec.name)}
    context = {"section": spec.name, **(context or {})}
    # Resolve the event type first: an event's result is looked up within its type.
    order = sorted(values, key=lambda k: 0 if k in ("event_type", "organization") else 1)
    for name in order:
        value = values[name]
        field_spec = spec.field(name)
        try:
            if field_spec is not None:
                if not field_spec.editable:
                    raise InvalidValue(_("This field is filled in automatically"))
                parsed = parse_field(field_spec.type, value, choices=field_spec.choices,
                                     context=context, past=field_spec.past_only)
                if name == "inn" and parsed:
                    parsed = validate_inn(parsed)
                if name in ("website", "url") and parsed:
                    parsed = normalize_url(parsed)
                if field_spec.required and parsed in (None, "", []):
                    raise InvalidValue(_("Required"))
                parsed = _fit_column(spec, name, field_spec.type,
                                     check_range(field_spec, parsed))
                cleaned[name] = parsed
                if name in ("event_type", "organization"):
                    context[name] = parsed
            elif name in customs:
                cleaned[name] = parse_custom(customs[name], value)
            else:
                raise InvalidValue(_("Unknown field; see `tui-crm fields {section}`").format(
                    section=spec.name))
        except (InvalidValue, dates.DateParseError, ValueError) as exc:
            errors[name] = str(exc)
    if not partial:
        for field_spec in spec.fields:
            if field_spec.required and cleaned.get(field_spec.name) in (None, "", []) \
                    and field_spec.name not in errors:
                errors[field_spec.name] = _("Required")
    if errors:
        raise ValidationError(errors)
    return cleaned


CUSTOM_NUMBER_LIMIT = Decimal(10) ** 15
MAX_CHARS = 255  # VARCHAR columns: PostgreSQL refuses longer text, SQLite would keep it


def _too_long() -> InvalidValue:
    return InvalidValue(_("Too long: at most {n} characters").format(n=MAX_CHARS))


def _fit_column(spec: KindSpec, name: str, field_type: str, value: Any) -> Any:
    """Refuse what the column cannot hold on every backend (long text, huge numbers) and
    round decimals to the column's places, so SQLite and PostgreSQL store the same."""
    if value is None:
        return value
    if field_type in POINT_TYPES:
        if any(len(text) > MAX_CHARS for _kind, text in value):
            raise _too_long()
        return value
    if field_type == "tags":
        if any(len(tag) > MAX_CHARS for tag in value):
            raise _too_long()
        return value
    column = spec.model._meta.fields.get(name)
    if isinstance(value, str) and isinstance(column, CharField) and len(value) > MAX_CHARS:
        raise _too_long()
    if field_type == "int" and isinstance(value, int) and not isinstance(value, bool):
        return check_int(value)
    if field_type == "decimal" and isinstance(column, DecimalField):
        limit = Decimal(10) ** (column.max_digits - column.decimal_places)
        step = Decimal(1).scaleb(-column.decimal_places)
        value = Decimal(value)
        # Checked before rounding (which fails on huge numbers) and after it (…999.999).
        if abs(value) >= limit or abs(value.quantize(step, rounding=ROUND_HALF_UP)) >= limit:
            raise _out_of_range(-(limit - step), limit - step)
        value = value.quantize(step, rounding=ROUND_HALF_UP)
    return value


def check_range(field_spec: FieldSpec, value: Any) -> Any:
    """A number within the field's range (FieldSpec.min_value / max_value), or InvalidValue
    naming the bound; the one place every entry path (form, CLI, import) checks it."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | Decimal):
        return value
    if field_spec.min_value is not None and value < field_spec.min_value:
        raise InvalidValue(_("Must be at least {n}").format(n=field_spec.min_value))
    if field_spec.max_value is not None and value > field_spec.max_value:
        raise InvalidValue(_("Must be at most {n}").format(n=field_spec.max_value))
    return value


def parse_custom(cf: m.CustomField, value: Any) -> Any:
    """A custom field value, typed; stored as text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value) if not isinstance(value, str) else value
    if cf.kind == "number":
        typed = isinstance(value, Decimal | int | float) and not isinstance(value, bool)
        number = parse_decimal(str(value) if typed else text)
        if abs(number) >= CUSTOM_NUMBER_LIMIT:
            raise _out_of_range(1 - CUSTOM_NUMBER_LIMIT, CUSTOM_NUMBER_LIMIT - 1)
        # Six places are plenty for a custom number and keep its stored text short.
        exponent = number.as_tuple().exponent  # a str only for NaN / infinity
        return number.quantize(Decimal("1e-6"), rounding=ROUND_HALF_UP).normalize() \
            if isinstance(exponent, int) and exponent < -6 else number
    if cf.kind == "date":
        return dates.check_year(value) if isinstance(value, dt.date) else dates.parse_date(text)
    if cf.kind == "bool":
        return value if isinstance(value, bool) else parse_bool(text)
    if cf.kind == "choice":
        options = json.loads(cf.choices or "[]")
        return parse_choice(text, {o: o for o in options})
    return text.strip()


def custom_to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        # One stored form per number ("5", "5.0" and "5,00" are equal), so filters match.
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def custom_from_text(cf: m.CustomField, text: str) -> Any:
    if text == "":
        return None
    try:
        if cf.kind == "number":
            return Decimal(text)
        if cf.kind == "date":
            return dt.date.fromisoformat(text)
        if cf.kind == "bool":
            return text == "1"
    except (ValueError, InvalidOperation):
        return text
    return text


def format_amount(value: Decimal | float | int | None, language: str | None = None) -> str:
    """Money for the locale: 1 234 567,50 in Russian, 1,234,567.50 in English."""
    return format_number(value, 2, language)


def format_number(value: Decimal | float | int | None, places: int = 1,
                  language: str | None = None) -> str:
    """A number for the locale with `places` decimals: 16,7 and 1 234,5 in Russian, 16.7
    and 1,234.5 in English. The one place numbers are formatted for people."""
    if value is None:
        return ""
    language = language or get_language()
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    text = f"{number:,.{places}f}"
    if language == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


def format_prefill(value: Decimal | float | int | None, language: str | None = None) -> str:
    """An amount put into a box to be edited: as shown, but in English without the
    thousands commas, which the number parser would not read back."""
    if value is None:
        return ""
    if (language or get_language()) == "ru":
        return format_amount(value, "ru")
    return f"{Decimal(str(value)) if isinstance(value, float) else Decimal(value):.2f}"


def format_percent(value: Decimal | float | int | None, places: int = 1,
                   language: str | None = None) -> str:
    """A percentage for the locale: "16,7 %" in Russian, "16.7 %" in English."""
    if value is None:
        return ""
    return f"{format_number(value, places, language)} %"


def display(spec_type: str, value: Any, *, choices: dict[str, str] | None = None) -> str:
    """A typed value as shown in tables and cards (references are named by the caller)."""
    if value is None or value == "":
        return ""
    if spec_type == "choice":
        label = (choices or {}).get(value)
        return _(label) if label else str(value)
    if spec_type == "bool":
        return _("yes") if value else _("no")
    if spec_type == "datetime" and isinstance(value, dt.datetime):
        return dates.format_datetime(value)
    if spec_type == "date" and isinstance(value, dt.date):
        return dates.format_date(value)
    if spec_type == "decimal":
        return format_amount(value)
    if spec_type == "tags":
        return ", ".join(value)
    return str(value)
