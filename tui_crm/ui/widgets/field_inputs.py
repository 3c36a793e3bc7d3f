"""Form editors, one per field type, each with its label, a hint line and an error line.

`make_field_input(kind, spec, actor, value=..., display=...)` builds the editor for a
`FieldSpec` (built-in or custom). Every editor returns the value the record services accept:
text as typed (dates, numbers), ids for references, (type, value) tuples for phones /
e-mails / messengers, a list of names for tags, booleans for yes/no fields.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select, TextArea

from tui_crm.i18n import _
from tui_crm.services.core import lookups, settings, users, values
from tui_crm.services.core.kinds import FieldSpec
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates
from tui_crm.text.identity import InvalidValue
from tui_crm.ui.widgets.field_base import FieldInput, describe_when, value_text
from tui_crm.ui.widgets.point_inputs import PointsField
from tui_crm.ui.widgets.record_picker import RecordPicker


class TextField(FieldInput):
    def compose_editor(self) -> ComposeResult:
        yield Input(value_text(self._start), compact=True, id=f"input-{self.field_name}")

    @property
    def input(self) -> Input:
        return self.query_one(f"#input-{self.field_name}", Input)

    def get_value(self) -> Any:
        return self.input.value

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.input.value = value_text(value)


class MultilineField(FieldInput):
    def compose_editor(self) -> ComposeResult:
        yield TextArea(value_text(self._start), compact=True, soft_wrap=True, tab_behavior="focus",
                       show_line_numbers=False, id=f"input-{self.field_name}")

    def get_value(self) -> Any:
        return self.query_one(TextArea).text

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.query_one(TextArea).text = value_text(value)


class NumberField(TextField):
    """int / decimal: typed text, checked as you type with the services' own parser."""

    def compose_editor(self) -> ComposeResult:
        yield Input(_number_text(self._start), compact=True, id=f"input-{self.field_name}")

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.input.value = _number_text(value)

    def changed(self) -> None:
        text = self.input.value.strip()
        if not text:
            self.set_hint()
            return
        try:
            if self.spec.type == "int":
                values.parse_int(text)
            else:
                values.parse_decimal(text)
        except InvalidValue as exc:
            self.set_hint(str(exc), warning=True)
        else:
            self.set_hint()


class DateField(TextField):
    """date / datetime: natural text (`31.12.2026`, `завтра 10:00`, `+3d`, `пт`), with what
    it means shown under the input as you type."""

    def compose_editor(self) -> ComposeResult:
        yield Input(self._date_text(self._start), compact=True, id=f"input-{self.field_name}",
                    placeholder=_("e.g. 31.12.2026, tomorrow 10:00, +3d, friday"))

    def _date_text(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            if self.spec.type == "date":
                return dates.format_date(value.date())
            return dates.format_datetime(value)
        if isinstance(value, dt.date):
            return dates.format_date(value)
        return value_text(value)

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.input.value = self._date_text(value)

    def changed(self) -> None:
        text = self.input.value.strip()
        if not text:
            self.set_hint()
            return
        try:
            self.set_hint(describe_when(text, with_time=self.spec.type == "datetime",
                                        past=self.spec.past_only))
        except (dates.DateParseError, ValueError, OverflowError) as exc:
            self.set_hint(str(exc), warning=True)


class BoolField(FieldInput):
    def compose_editor(self) -> ComposeResult:
        # A label of its own: a compact checkbox shows focus on its label.
        yield Checkbox(_("yes"), _bool(self._start), compact=True, id=f"input-{self.field_name}")

    def get_value(self) -> Any:
        return self.query_one(Checkbox).value

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.query_one(Checkbox).value = _bool(value)


class TagsField(TextField):
    """Tags as one comma-separated line."""

    def compose_editor(self) -> ComposeResult:
        yield Input(_tags_text(self._start), compact=True, id=f"input-{self.field_name}",
                    placeholder=_("comma separated"))

    def get_value(self) -> Any:
        return [t.strip() for t in self.input.value.replace(";", ",").split(",") if t.strip()]

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.input.value = _tags_text(value)


# --- lists to choose from ------------------------------------------------------------------


class SelectField(FieldInput):
    """A field whose value is picked from a list (choices, users, groups, sources, types)."""

    DEFAULT_CSS = """
    SelectField Select {
        width: 1fr;
    }
    """

    def options(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def coerce(self, value: Any, display: str | None) -> tuple[Any, str | None]:
        """(option value, label to add if it is not among the options) for a stored value."""
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, str):
            low = value.strip().casefold()
            for label, option in self._options:
                if low in (str(label).casefold(), str(option).casefold()):
                    return option, None
            return (value.strip() or None), value.strip()
        return value, display

    def compose_editor(self) -> ComposeResult:
        self._options = list(self.options())
        value, label = self.coerce(self._start, self._start_display)
        if value is not None and value not in {v for _l, v in self._options}:
            self._options.append((label or str(value), value))
        yield Select(self._options, value=Select.NULL if value is None else value,
                     allow_blank=True, compact=True, prompt="—", id=f"input-{self.field_name}")

    @property
    def select(self) -> Select:
        return self.query_one(Select)

    @property
    def offered(self) -> list[tuple[str, Any]]:
        """The (label, value) options on offer now."""
        return list(self._options)

    def get_value(self) -> Any:
        value = self.select.value
        return None if value is Select.NULL else value

    def set_value(self, value: Any, display: str | None = None) -> None:
        option, label = self.coerce(value, display)
        if option is None:
            self.select.clear()
            return
        if option not in {v for _l, v in self._options}:
            self._options.append((label or str(option), option))
            self.select.set_options(self._options)
        self.select.value = option

    def replace_options(self, options: list[tuple[str, Any]]) -> None:
        """New options, keeping the current value when it is still among them."""
        current = self.get_value()
        self._options = list(options)
        self.select.set_options(self._options)
        if current is not None and current in {v for _l, v in self._options}:
            self.select.value = current


class ChoiceField(SelectField):
    def options(self) -> list[tuple[str, Any]]:
        # Custom fields' options are the admin's own words: shown as typed.
        return [(label if self.spec.custom else _(label), code)
                for code, label in self.spec.choices.items()]


class UserField(SelectField):
    def options(self) -> list[tuple[str, Any]]:
        return [(u.full_name or u.login, u.id)
                for u in users.list_users(self.actor, include_disabled=False)]

    def coerce(self, value: Any, display: str | None) -> tuple[Any, str | None]:
        if isinstance(value, int) and display is None:
            display = lookups.names("user", [value]).get(value)
        return super().coerce(value, display)


class GroupField(SelectField):
    def options(self) -> list[tuple[str, Any]]:
        rows = settings.groups(self.kind)
        children: dict[int | None, list[tuple[int, str]]] = {}
        for group_id, name, parent in rows:
            children.setdefault(parent, []).append((group_id, name))
        known = {group_id for group_id, _n, _p in rows}
        out: list[tuple[str, Any]] = []

        def walk(parent: int | None, depth: int) -> None:
            for group_id, name in children.get(parent, []):
                out.append(("  " * depth + name, group_id))
                walk(group_id, depth + 1)

        walk(None, 0)
        # Groups whose parent is gone still show, at the top level.
        for parent, items in children.items():
            if parent is not None and parent not in known:
                for group_id, name in items:
                    out.append((name, group_id))
        return out

    def coerce(self, value: Any, display: str | None) -> tuple[Any, str | None]:
        if isinstance(value, int) and display is None:
            display = lookups.names("group", [value]).get(value)
        return super().coerce(value, display)


class SourceField(SelectField):
    """Sources are stored by id but offered (and saved) by name, as the service resolves."""

    def options(self) -> list[tuple[str, Any]]:
        return [(lookups.seeded_name(name), name) for name in settings.sources()]

    def coerce(self, value: Any, display: str | None) -> tuple[Any, str | None]:
        if isinstance(value, int):
            value = display or lookups.names("source", [value]).get(value) or str(value)
        return super().coerce(value, display)


class EventTypeField(SelectField):
    def options(self) -> list[tuple[str, Any]]:
        return [(et.name, et.id) for et in settings.event_types()]

    def coerce(self, value: Any, display: str | None) -> tuple[Any, str | None]:
        if isinstance(value, str) and not value.strip().isdigit():
            found = _event_type_id(value)
            if found is not None:
                return found, None
        return super().coerce(value, display)


class EventResultField(SelectField):
    """Results of the chosen event type only (the form calls `filter_by_type`)."""

    def __init__(self, *args: Any, event_type: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event_type = _event_type_id(event_type)

    def options(self) -> list[tuple[str, Any]]:
        return [(r.name, r.id) for et in settings.event_types() if et.id == self.event_type
                for r in et.results]

    def coerce(self, value: Any, display: str | None) -> tuple[Any, str | None]:
        if isinstance(value, int) and display is None:
            display = lookups.names("event_result", [value]).get(value)
        return super().coerce(value, display)

    def filter_by_type(self, event_type: int | None) -> None:
        if event_type == self.event_type:
            return
        self.event_type = event_type
        self.replace_options(self.options())


# --- references found by typing ------------------------------------------------------------


# --- the factory ---------------------------------------------------------------------------

EDITORS: dict[str, type[FieldInput]] = {
    "text": TextField,
    "multiline": MultilineField,
    "int": NumberField,
    "decimal": NumberField,
    "date": DateField,
    "datetime": DateField,
    "bool": BoolField,
    "choice": ChoiceField,
    "user": UserField,
    "group": GroupField,
    "source": SourceField,
    "event_type": EventTypeField,
    "event_result": EventResultField,
    "organization": RecordPicker,
    "contact": RecordPicker,
    "deal": RecordPicker,
    "phones": PointsField,
    "emails": PointsField,
    "messengers": PointsField,
    "tags": TagsField,
}


def make_field_input(kind: str, spec: FieldSpec, actor: Actor, *, value: Any = None,
                     display: str | None = None,
                     context: dict[str, Any] | None = None) -> FieldInput:
    """The editor for one field, showing `value` (typed or text; `display` names a
    reference). `context` carries other fields' values (an event result needs its type)."""
    label = settings.field_label(kind, spec.name)
    cls = EDITORS.get(spec.type, TextField)
    if cls is EventResultField:
        return EventResultField(kind, spec, actor, label=label, value=value, display=display,
                                event_type=(context or {}).get("event_type"))
    return cls(kind, spec, actor, label=label, value=value, display=display)


# --- helpers -------------------------------------------------------------------------------


def _number_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return value_text(value)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        try:
            return values.parse_bool(value)
        except InvalidValue:
            return False
    return bool(value)


def _event_type_id(value: Any) -> int | None:
    """An event type id from an id, a code or a name (as `initial` values may give it)."""
    if isinstance(value, int) or value is None:
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    for et in settings.event_types():
        if text.casefold() in (et.code, et.name.casefold()):
            return et.id
    return None


def _tags_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value_text(value)
