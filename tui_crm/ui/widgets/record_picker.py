"""A form's field that refers to another record (an organization, a contact, a deal):
type a few letters, pick from the suggestions; the records offered are those the user
may see."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import lookups
from tui_crm.services.search import search
from tui_crm.ui.widgets import translate_bindings
from tui_crm.ui.widgets.field_base import FieldInput, value_text

PICKER_SECTIONS = {"organization": "organizations", "contact": "contacts", "deal": "deals"}
SUGGESTIONS = 8  # names offered as one types


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
        return None, value_text(value)

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
