"""The filter box above the table, its chips, and the dialog that sets the chips.

Typing narrows the table as you type (the search service's rules: Cyrillic case, ё = е,
phone digits); chips filter by owner, status, category, group, source, tag and custom
fields. Esc clears the text, a second Esc goes back to the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from tui_crm.i18n import N_, _
from tui_crm.services.core import lookups, records, settings
from tui_crm.services.core.rights import Actor
from tui_crm.ui.widgets import translate_bindings

CHIP_TYPES = {"choice", "user", "group", "source", "event_type", "event_result", "bool"}


@dataclass(frozen=True)
class FilterField:
    name: str
    label: str
    options: tuple[tuple[str, Any], ...] = ()  # (shown label, value); empty: typed text

    def label_of(self, value: Any) -> str:
        for label, option in self.options:
            if option == value:
                return label
        return str(value)


def filter_fields(actor: Actor, kind: str) -> list[FilterField]:
    """The chips a section offers: its choice/reference fields, tags and custom fields."""
    from tui_crm.services.core import users

    out: list[FilterField] = []
    for spec in records.field_specs(kind):
        label = settings.field_label(kind, spec.name) if not spec.custom else spec.label
        options: list[tuple[str, Any]] = []
        if spec.custom:
            if spec.type == "choice":
                options = [(c, c) for c in spec.choices]
            elif spec.type == "bool":
                options = [(_("yes"), "yes"), (_("no"), "no")]
            out.append(FilterField(spec.name, label, tuple(options)))
            continue
        if spec.type == "tags":
            out.append(FilterField("tag", label))
            continue
        if spec.type not in CHIP_TYPES or not spec.editable:
            continue
        if spec.type == "choice":
            options = [(_(text), code) for code, text in spec.choices.items()]
        elif spec.type == "bool":
            options = [(_("yes"), "yes"), (_("no"), "no")]
        elif spec.type == "user":
            options = [(u.full_name or u.login, u.id) for u in users.list_users(actor)
                       if u.active]
        elif spec.type == "group":
            options = [(name, gid) for gid, name, _parent in settings.groups(kind)]
        elif spec.type == "source":
            options = [(lookups.seeded_name(name), name) for name in settings.sources()]
        elif spec.type == "event_type":
            options = [(et.name, et.id) for et in settings.event_types()]
        elif spec.type == "event_result":
            options = [(f"{et.name}: {r.name}", r.id) for et in settings.event_types()
                       for r in et.results]
        if options:
            out.append(FilterField(spec.name, label, tuple(options)))
    return out


def describe_filters(fields: list[FilterField], filters: dict[str, Any]) -> str:
    """ "Status: Warm · Owner: Ivan" for the chips line."""
    by_name = {f.name: f for f in fields}
    parts = []
    for name, value in filters.items():
        if value in (None, ""):
            continue
        field = by_name.get(name)
        label = field.label if field else name
        shown = field.label_of(value) if field else str(value)
        parts.append(f"{label}: {shown}")
    return " · ".join(parts)


class FilterInput(Input):
    """The filter's input: a letter typed repaints the input alone. Textual's Input sets its
    virtual size (a layout property) on every change of its text, which reflows and repaints
    the whole screen — about 10 ms of each keystroke on the main screen, taken from the
    query the keystroke starts. The same size is set here first, without the reflow; a
    one-line input without a scroll bar needs none (tests/ui/test_filter_input.py)."""

    # Told the text at once when the user changes it (not when it is set under
    # `prevent(Input.Changed)`): the filter's query starts in the key's own handling, not
    # after two messages and the screen's repaint between them (~10 ms of a keystroke).
    typed: Callable[[str], None] | None = None

    def _watch_value(self, value: str) -> None:
        self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)

    def post_message(self, message: Message) -> bool:
        posted = super().post_message(message)
        if posted and self.typed is not None and isinstance(message, Input.Changed):
            self.typed(message.value)
        return posted


class FilterBar(Horizontal):
    """The filter input and the active chips."""

    DEFAULT_CSS = """
    FilterBar {
        height: 1;
        width: 1fr;
    }
    FilterBar > Input {
        width: 1fr;
        min-width: 16;
    }
    FilterBar > #chips {
        width: auto;
        max-width: 60%;
        height: 1;
        padding: 0 1;
        color: $text-accent;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Clear / back"), id="filter.back"),
        Binding("down", "to_table", N_("To the table"), show=False, id="filter.down"),
    ]

    class Done(Message):
        """The user left the filter box (Enter, Esc on an empty box, Down)."""

    class ChipsClicked(Message):
        """The chips line was clicked: open the filter dialog."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder=_("Filter: type to narrow (/)"), compact=True,
                          id="filter-input")
        yield Static("", id="chips", markup=False)

    def refresh_language(self) -> None:
        self.input.placeholder = _("Filter: type to narrow (/)")

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    @property
    def text(self) -> str:
        return self.input.value

    def set_text(self, text: str) -> None:
        """Set the box without announcing a change (restoring a section's state)."""
        with self.input.prevent(Input.Changed):
            self.input.value = text

    def set_chips(self, text: str) -> None:
        chips = self.query_one("#chips", Static)
        chips.update(("⧩ " + text) if text else "")
        chips.display = bool(text)

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()  # the screen was told at once (`tell_typing`)

    def tell_typing(self, typed: Callable[[str], None] | None) -> None:
        """Call `typed(text)` at once for each change the user makes to the text."""
        self.query_one(FilterInput).typed = typed

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Done())

    def action_back(self) -> None:
        if self.input.value:
            self.input.value = ""  # Input.Changed reloads the table
        else:
            self.post_message(self.Done())

    def action_to_table(self) -> None:
        self.post_message(self.Done())

    def on_click(self, event) -> None:  # noqa: ANN001 - textual Click
        if event.widget is not None and event.widget.id == "chips":
            self.post_message(self.ChipsClicked())


class FilterDialog(ModalScreen[dict | None]):
    """Choose the chips: one selector per filterable field."""

    DEFAULT_CSS = """
    FilterDialog { align: center middle; }
    FilterDialog > Vertical {
        width: 64;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    FilterDialog VerticalScroll { height: auto; max-height: 20; }
    FilterDialog .row { height: auto; }
    FilterDialog .row > Label { width: 18; padding: 0 1 0 0; }
    FilterDialog .row > Select, FilterDialog .row > Input { width: 1fr; }
    FilterDialog #buttons { height: auto; align-horizontal: right; }
    FilterDialog #buttons Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="filters.cancel"),
        Binding("ctrl+s", "apply", N_("Apply"), id="filters.apply"),
    ]

    def __init__(self, title: str, fields: list[FilterField], current: dict[str, Any]) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.fields = fields
        self.current = dict(current)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", markup=False)
            with VerticalScroll():
                for index, field in enumerate(self.fields):
                    with Horizontal(classes="row"):
                        yield Label(field.label, markup=False)
                        value = self.current.get(field.name)
                        if field.options:
                            values = [v for _l, v in field.options]
                            yield Select(
                                [(label, v) for label, v in field.options],
                                prompt=_("any"), compact=True, id=f"f{index}",
                                value=value if value in values else Select.NULL)
                        else:
                            yield Input(str(value or ""), placeholder=_("any"), compact=True,
                                        id=f"f{index}")
            with Horizontal(id="buttons"):
                yield Button(_("Clear all"), id="clear", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("Apply"), id="apply", variant="primary", compact=True)

    def on_mount(self) -> None:
        if self.fields:
            self.query_one("#f0").focus()

    def _collect(self) -> dict[str, Any]:
        chosen: dict[str, Any] = {}
        for index, field in enumerate(self.fields):
            widget = self.query_one(f"#f{index}")
            if isinstance(widget, Select):
                if widget.value is not Select.NULL:
                    chosen[field.name] = widget.value
            elif isinstance(widget, Input) and widget.value.strip():
                chosen[field.name] = widget.value.strip()
        return chosen

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        self.dismiss(self._collect())

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss({})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()
