"""The base of a form's field widgets: a label, the input, its error line, and reading a
date as the user typed it ("завтра 10:00" → the date it means)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, TextArea

from tui_crm.i18n import N_
from tui_crm.services.core.kinds import FieldSpec
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates

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


def value_text(value: Any) -> str:
    return "" if value is None else str(value)
