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

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, TextArea
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import lookups, settings, users, values
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, POINT_TYPES, FieldSpec
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search
from tui_crm.text import dates
from tui_crm.text.identity import InvalidValue, validate_email
from tui_crm.text.phones import parse_phone
from tui_crm.ui.widgets import translate_bindings  # also imported from here by other screens

ADD_ROW_LABELS = {"phone": N_("+ Add phone"), "email": N_("+ Add e-mail"),
                  "messenger": N_("+ Add messenger")}
POINT_PLACEHOLDERS = {"phone": N_("+7 916 123-45-67"), "email": N_("name@example.com"),
                      "messenger": N_("@username or number")}
PICKER_SECTIONS = {"organization": "organizations", "contact": "contacts", "deal": "deals"}
SUGGESTIONS = 8


def describe_when(text: str, *, with_time: bool, now: dt.datetime | None = None,
                  past: bool = False) -> str:
    """What a date input understood, e.g. "→ Fri 04.12.2026 10:00"; DateParseError if nothing.
    `past`: the field's dates lie in the past (a birthday, `FieldSpec.past_only`)."""
    if with_time:
        when = dates.parse_when(text, now, past=past)
        return f"→ {dates.weekday_name(when)} {dates.format_datetime(when)}"
    day = dates.parse_date(text, now.date() if now else None, past=past)
    return f"→ {dates.weekday_name(day)} {dates.format_date(day)}"


class FieldInput(Vertical):
    """One labelled field of a form: the label, the editor, a hint line and an error line."""

    DEFAULT_CSS = """
    FieldInput {
        height: auto;
        width: 1fr;
    }
    FieldInput > .field-line {
        height: auto;
    }
    FieldInput .field-label {
        width: 22;
        padding-right: 1;
        color: $text-muted;
    }
    FieldInput:focus-within .field-label {
        color: $text-accent;
        text-style: bold;
    }
    FieldInput .field-editor {
        width: 1fr;
        height: auto;
    }
    FieldInput .field-hint, FieldInput .field-error {
        width: 1fr;
    }
    FieldInput .field-hint {
        color: $text-muted;
        display: none;
    }
    FieldInput .field-hint.-shown {
        display: block;
    }
    FieldInput .field-hint.-warning {
        color: $text-warning;
    }
    FieldInput .field-error {
        color: $text-error;
        text-style: bold;
        display: none;
    }
    FieldInput.-invalid .field-error {
        display: block;
    }
    FieldInput.-invalid .field-label {
        color: $text-error;
    }
    FieldInput Input.-textual-compact:focus,
    FieldInput TextArea.-textual-compact:focus {
        background-tint: $primary 25%;
    }
    FieldInput TextArea {
        height: 4;
    }
    """

    class Edited(Message):
        """The value of a field changed (typed, picked, or set by the form)."""

        def __init__(self, field_input: FieldInput) -> None:
            super().__init__()
            self.field_input = field_input

        @property
        def control(self) -> FieldInput:
            return self.field_input

    def __init__(self, kind: str, spec: FieldSpec, actor: Actor, *, label: str,
                 value: Any = None, display: str | None = None) -> None:
        super().__init__(id=f"field-{spec.name}", classes="field-input")
        self.kind = kind
        self.spec = spec
        self.actor = actor
        self.label = label
        self._start = value
        self._start_display = display
        self._clean: Any = None
        self._has_clean = False

    @property
    def field_name(self) -> str:
        return self.spec.name

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            mark = " *" if self.spec.required else ""
            yield Label(f"{self.label}{mark}", classes="field-label", markup=False)
            with Vertical(classes="field-editor"):
                yield from self.compose_editor()
                yield Label("", classes="field-hint", markup=False)
                yield Label("", classes="field-error", markup=False)

    # --- what each type implements ------------------------------------------------------------

    def compose_editor(self) -> ComposeResult:
        raise NotImplementedError

    def get_value(self) -> Any:
        """The value for the record services."""
        raise NotImplementedError

    def set_value(self, value: Any, display: str | None = None) -> None:
        """Put a stored value (typed, or text) into the mounted editor."""
        raise NotImplementedError

    @property
    def editor(self) -> Widget:
        """The widget that takes the focus for this field."""
        return self.query(".field-editor > *").first()

    def changed(self) -> None:
        """Called after the user (or the form) changed the editor: refresh the hint."""

    # --- shared behaviour ---------------------------------------------------------------------

    def mark_clean(self) -> None:
        """Remember the current value as unchanged (after loading the record)."""
        self._clean = self.get_value()
        self._has_clean = True

    @property
    def is_dirty(self) -> bool:
        return self._has_clean and self.get_value() != self._clean

    def show_error(self, message: str | None) -> None:
        self.query_one(".field-error", Label).update(message or "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return str(self.query_one(".field-error", Label).content) if \
            self.has_class("-invalid") else ""

    def set_hint(self, text: str = "", *, warning: bool = False) -> None:
        hint = self.query_one(".field-hint", Label)
        hint.update(text)
        hint.set_class(bool(text), "-shown")
        hint.set_class(warning, "-warning")

    @property
    def hint(self) -> str:
        hint = self.query_one(".field-hint", Label)
        return str(hint.content) if hint.has_class("-shown") else ""

    def focus_editor(self) -> None:
        self.editor.focus()

    def _edited(self) -> None:
        self.changed()
        self.post_message(self.Edited(self))

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    def _on_editor_changed(self, event: Message) -> None:
        event.stop()
        self._edited()

    @on(Input.Submitted)
    def _on_submitted(self, event: Input.Submitted) -> None:
        # Enter moves on to the next field, as in most forms.
        event.stop()
        self.screen.focus_next()


# --- plain values --------------------------------------------------------------------------


class TextField(FieldInput):
    def compose_editor(self) -> ComposeResult:
        yield Input(_text(self._start), compact=True, id=f"input-{self.field_name}")

    @property
    def input(self) -> Input:
        return self.query_one(f"#input-{self.field_name}", Input)

    def get_value(self) -> Any:
        return self.input.value

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.input.value = _text(value)


class MultilineField(FieldInput):
    def compose_editor(self) -> ComposeResult:
        yield TextArea(_text(self._start), compact=True, soft_wrap=True, tab_behavior="focus",
                       show_line_numbers=False, id=f"input-{self.field_name}")

    def get_value(self) -> Any:
        return self.query_one(TextArea).text

    def set_value(self, value: Any, display: str | None = None) -> None:
        self.query_one(TextArea).text = _text(value)


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
        return _text(value)

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


class RecordPicker(FieldInput):
    """An organization, contact or deal: type part of a name or phone, pick a suggestion.

    The value is the picked record's id; text typed without picking is passed on as is
    (the service accepts an exact name or `#id` and says so when there is no such record).
    """

    DEFAULT_CSS = """
    RecordPicker OptionList {
        display: none;
        max-height: 8;
        height: auto;
        border: none;
        background: $boost;
    }
    RecordPicker OptionList.-shown {
        display: block;
    }
    """
    BINDINGS = [
        Binding("down", "suggestions", N_("Suggestions"), show=False,
                id="record_form.suggestions"),
        Binding("escape", "hide_suggestions", N_("Hide suggestions"),
                id="record_form.hide_suggestions"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)
        self.section = PICKER_SECTIONS[self.spec.type]
        self._chosen_id: int | None = None
        self._chosen_title = ""
        self._shown_text = ""

    def _resolve(self, value: Any, display: str | None) -> tuple[int | None, str]:
        if isinstance(value, str) and value.strip().lstrip("#").isdigit():
            value = int(value.strip().lstrip("#"))
        if isinstance(value, int):
            title = display or lookups.names(self.spec.type, [value], actor=self.actor).get(
                value) or f"#{value}"
            return value, title
        return None, _text(value)

    def compose_editor(self) -> ComposeResult:
        self._chosen_id, text = self._resolve(self._start, self._start_display)
        self._chosen_title = self._shown_text = text
        yield Input(text, compact=True, id=f"input-{self.field_name}",
                    placeholder=_("type a name, phone or #id"))
        yield OptionList(id=f"suggestions-{self.field_name}", classes="suggestions",
                         markup=False)  # record titles

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def suggestions(self) -> OptionList:
        return self.query_one(OptionList)

    def get_value(self) -> Any:
        text = self.input.value.strip()
        if not text:
            return None
        if self._chosen_id is not None and text == self._chosen_title.strip():
            return self._chosen_id
        return text

    def set_value(self, value: Any, display: str | None = None) -> None:
        self._chosen_id, text = self._resolve(value, display)
        self._chosen_title = self._shown_text = text
        self.input.value = text
        self._hide()

    def changed(self) -> None:
        text = self.input.value
        if text == self._shown_text:
            return  # set by the form or by picking a suggestion, not typed
        self._shown_text = ""
        self._chosen_id = None
        self._suggest(text)

    def _suggest(self, text: str) -> None:
        if len(text.strip()) < 2:
            self._hide()
            self.set_hint()
            return
        try:
            hits = search.quick_search(self.actor, text, sections=[self.section],
                                       limit=SUGGESTIONS)
        except CrmError:
            hits = []
        option_list = self.suggestions
        option_list.clear_options()
        option_list.add_options([Option(h.title or f"#{h.id}", id=str(h.id)) for h in hits])
        option_list.set_class(bool(hits), "-shown")
        self.refresh_bindings()
        if hits:
            option_list.highlighted = 0
            self.set_hint()
        else:
            self.set_hint(_("Nothing found; type an exact name or #id"), warning=True)

    def _hide(self) -> None:
        self.suggestions.remove_class("-shown")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without suggestions on screen, Down and Esc keep their usual meaning (Esc closes
        # the form, and the footer says so).
        if action in ("suggestions", "hide_suggestions"):
            return self.suggestions_shown
        return True

    @property
    def suggestions_shown(self) -> bool:
        return self.suggestions.has_class("-shown")

    def choose(self, record_id: int, title: str) -> None:
        self._chosen_id = record_id
        self._chosen_title = self._shown_text = title
        self.input.value = title
        self.input.cursor_position = len(title)
        self._hide()
        self.set_hint()
        self.input.focus()
        self.post_message(self.Edited(self))

    def action_suggestions(self) -> None:
        if not self.suggestions_shown:
            raise SkipAction()
        self.suggestions.focus()

    def action_hide_suggestions(self) -> None:
        if not self.suggestions_shown:
            raise SkipAction()  # let Esc close the form instead
        self._hide()
        self.input.focus()

    @on(Input.Submitted)
    def _pick_first(self, event: Input.Submitted) -> None:
        if self.suggestions_shown and self.suggestions.option_count:
            event.stop()
            event.prevent_default()  # pick, rather than move on to the next field
            option = self.suggestions.get_option_at_index(self.suggestions.highlighted or 0)
            self.choose(int(option.id or 0), str(option.prompt))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.choose(int(event.option.id or 0), str(event.option.prompt))

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._hide_if_left)

    def _hide_if_left(self) -> None:
        focused = self.screen.focused if self.is_attached else None
        if focused is None or self not in focused.ancestors_with_self:
            self._hide()


# --- phones, e-mails, messengers -----------------------------------------------------------


class PointRow(Vertical):
    """One phone / e-mail / messenger: its type, the value and a remove button."""

    DEFAULT_CSS = """
    PointRow {
        height: auto;
    }
    PointRow > .point-line {
        height: auto;
    }
    PointRow .point-type {
        width: 16;
        margin-right: 1;
    }
    PointRow .point-value {
        width: 1fr;
    }
    PointRow .point-value:focus {
        background-tint: $primary 25%;
    }
    PointRow .point-remove {
        min-width: 3;
        width: 3;
        margin-left: 1;
    }
    PointRow .point-hint {
        width: 1fr;
        color: $text-warning;
        display: none;
    }
    PointRow .point-hint.-shown {
        display: block;
    }
    """

    def __init__(self, point_kind: str, point_type: str = "", value: str = "",
                 phone_region: str = "RU") -> None:
        super().__init__(classes="point-row")
        self.point_kind = point_kind
        self._type = point_type if point_type in POINT_TYPE_CHOICES[point_kind] else \
            next(iter(POINT_TYPE_CHOICES[point_kind]))
        self._value = value
        self.phone_region = phone_region
        self.removed = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="point-line"):
            yield Select([(_(label), code) for code, label
                          in POINT_TYPE_CHOICES[self.point_kind].items()],
                         value=self._type, allow_blank=False, compact=True,
                         classes="point-type")
            yield Input(self._value, compact=True, classes="point-value",
                        placeholder=_(POINT_PLACEHOLDERS[self.point_kind]))
            yield Button("✕", compact=True, classes="point-remove",
                         tooltip=_("Remove this row"))
        yield Label("", classes="point-hint", markup=False)

    @property
    def value_input(self) -> Input:
        return self.query_one(".point-value", Input)

    @property
    def type_select(self) -> Select:
        return self.query_one(".point-type", Select)

    def get(self) -> tuple[str, str]:
        try:
            kind = self.type_select.value
        except NoMatches:  # not composed yet
            return self._type, self._value.strip()
        if kind is Select.NULL:  # only before the select is mounted
            kind = self._type
        return str(kind), self.value_input.value.strip()

    def put(self, point_type: str, value: str) -> None:
        if point_type in POINT_TYPE_CHOICES[self.point_kind]:
            self.type_select.value = point_type
        self.value_input.value = value

    @property
    def hint(self) -> str:
        hint = self.query_one(".point-hint", Label)
        return str(hint.content) if hint.has_class("-shown") else ""

    @on(Input.Changed, ".point-value")
    def _check(self, event: Input.Changed) -> None:
        text = event.value.strip()
        message = ""
        if text and self.point_kind == "phone" and not parse_phone(text, self.phone_region).valid:
            message = _("not a valid number, kept as typed")
        elif text and self.point_kind == "email":
            try:
                validate_email(text)
            except InvalidValue as exc:
                message = str(exc)
        hint = self.query_one(".point-hint", Label)
        hint.update(message)
        hint.set_class(bool(message), "-shown")


class PointsField(FieldInput):
    """Phones, e-mails or messengers as repeatable rows; an empty value row is ignored."""

    DEFAULT_CSS = """
    PointsField .point-rows {
        height: auto;
    }
    PointsField .point-add {
        width: auto;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.point_kind = POINT_TYPES[self.spec.type]
        self.phone_region = values.phone_region()

    def compose_editor(self) -> ComposeResult:
        with Vertical(classes="point-rows"):
            for point_type, value in _points(self._start, self.point_kind):
                yield PointRow(self.point_kind, point_type, value, self.phone_region)
        yield Button(_(ADD_ROW_LABELS[self.point_kind]), compact=True, classes="point-add")

    @property
    def editor(self) -> Widget:
        rows = self.rows
        return rows[0].value_input if rows else self.query_one(".point-add", Button)

    @property
    def rows(self) -> list[PointRow]:
        return [r for r in self.query(PointRow) if not r.removed]

    def get_value(self) -> Any:
        return [row.get() for row in self.rows if row.get()[1]]

    def set_value(self, value: Any, display: str | None = None) -> None:
        wanted = _points(value, self.point_kind)
        rows = self.rows
        for row, (point_type, text) in zip(rows, wanted, strict=False):
            row.put(point_type, text)
        for row in rows[len(wanted):]:
            row.removed = True
            row.remove()
        if len(wanted) > len(rows):
            self.query_one(".point-rows").mount_all(
                PointRow(self.point_kind, t, v, self.phone_region) for t, v in wanted[len(rows):])

    async def add_row(self) -> PointRow:
        """A new empty row, mounted and focused. Until it is, no field has the focus: keys
        typed at once (a browser sends them in a burst) must not land in the field that had
        it — its text selected, they replaced the organization's name."""
        row = PointRow(self.point_kind, phone_region=self.phone_region)
        self.screen.set_focus(None)
        await self.query_one(".point-rows").mount(row)
        self.screen.set_focus(row.value_input)
        self._edited()
        return row

    @on(Button.Pressed, ".point-add")
    async def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.add_row()

    @on(Button.Pressed, ".point-remove")
    def _remove_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        row = next(a for a in event.button.ancestors if isinstance(a, PointRow))
        rows = self.rows
        index = rows.index(row)
        row.removed = True
        row.remove()
        rest = self.rows
        if rest:
            rest[min(index, len(rest) - 1)].value_input.focus()
        else:
            self.query_one(".point-add", Button).focus()
        self._edited()


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


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return _text(value)


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
    return _text(value)


def _points(value: Any, point_kind: str) -> list[tuple[str, str]]:
    """(type, value) pairs from PointViews, tuples or "type:value" strings."""
    if not value:
        return []
    items = [value] if isinstance(value, str | tuple) else list(value)
    out: list[tuple[str, str]] = []
    for item in items:
        if hasattr(item, "kind") and hasattr(item, "value"):
            point: Any = item  # a PointView, or anything shaped like one
            if point.kind == point_kind:
                out.append((point.type, point.value))
        elif isinstance(item, tuple | list):
            out.append((str(item[0]), str(item[1])))
        else:
            out.append(values.split_point(str(item), point_kind))
    return out
