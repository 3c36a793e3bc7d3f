"""Widgets of the main screen, and helpers they share.

Binding descriptions are declared in English (`N_`) at class level, but the footer and
the help screen show them in the user's language, which can change while the app runs:
`translate_bindings` rewrites a node's own copy of its bindings in the current language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, TypeVar

from rich.markup import escape
from rich.text import Text
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen, ScreenResultType
from textual.widget import Widget
from textual.widgets import DataTable, Footer

from tui_crm.i18n import _

T = TypeVar("T")


def modal_css(name: str, width: int = 76, extra: str = "") -> str:
    """The look every small dialog shares: centred, bordered, a bold title, an error line,
    a row of buttons. `extra` adds rules of the dialog's own. Taller than the terminal
    (80×24), the dialog scrolls, and a focused field scrolls itself into view."""
    return f"""
    {name} {{ align: center middle; }}
    {name} > Vertical {{ width: {width}; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; overflow-y: auto; }}
    {name} .title {{ text-style: bold; }}
    {name} .error {{ color: $error; height: auto; }}
    {name} Horizontal {{ height: auto; }}
    {name} Button {{ min-width: 10; margin-right: 1; }}
    {name} TextArea {{ height: 4; }}
    {extra}
    """


def control_grid_css(pane: str, row_height: int = 3, wide_columns: int = 4) -> str:
    """Rows of inputs, dropdowns and buttons (`.controls`) as a grid: `wide_columns` cells a
    row when the pane is wide, two when it is not (at 80 columns four boxes in a row would
    be three letters wide each). Call `fit_controls` from the pane's on_resize."""
    columns = " ".join(["1fr"] * wide_columns)
    return f"""
    {pane} .controls {{ layout: grid; grid-size: 2; grid-columns: 1fr 1fr;
        grid-rows: {row_height}; grid-gutter: 0 1; height: auto; }}
    {pane}.-wide .controls {{ grid-size: {wide_columns}; grid-columns: {columns}; }}
    {pane} .controls > * {{ width: 100%; }}
    """


WIDE_PANE = 100  # cells: from here a pane's controls go four (or more) a row


def fit_controls(pane: Widget) -> None:
    """Many controls a row in a wide pane, two in a narrow one (call on resize)."""
    pane.set_class(pane.size.width >= WIDE_PANE, "-wide")


class FooterScreen(Screen[ScreenResultType]):
    """A full screen with a footer of its keys. While a dialog is on top, the footer (still
    drawn, dimmed, around the dialog) is hidden: none of its keys reach this screen then,
    and its letters — "n New mailing", "e Export" — would only type into the dialog's
    fields (issue 15)."""

    def on_screen_suspend(self) -> None:
        self.show_footer(False)

    def on_screen_resume(self) -> None:
        self.show_footer(True)

    def show_footer(self, shown: bool) -> None:
        for footer in self.query(Footer):
            footer.visible = shown


class TextLine(Widget):
    """One line of text that changes often (status, titles). Unlike `Static.update`, a new
    text only repaints this line: no layout pass of the whole screen per keystroke."""

    DEFAULT_CSS = """
    TextLine { height: 1; width: 1fr; }
    """

    text: reactive[str] = reactive("", layout=False)

    def __init__(self, text: str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = text

    def update(self, text: str) -> None:
        self.text = text

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="ellipsis")


# --- data shown as text, never as markup ---------------------------------------------------------
# Textual reads a plain str as markup in a DataTable cell or a Select choice: a "[/b]" in a
# client's name would stop the screen, an "[@click=…]" would run an action when clicked.


class PlainTable(DataTable):
    """A DataTable whose str cells and column labels are shown as the text they are."""

    def add_column(self, label: Any, *args: Any, **kwargs: Any) -> Any:
        return super().add_column(escape(label) if isinstance(label, str) else label,
                                  *args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        return super().add_row(*(escape(c) if isinstance(c, str) else c for c in cells),
                               **kwargs)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kwargs: Any) -> None:
        super().update_cell(row_key, column_key,
                            escape(value) if isinstance(value, str) else value, **kwargs)


def text_choices(choices: Iterable[tuple[str, T]]) -> list[tuple[Text, T]]:
    """Select choices whose labels are shown as the text they are."""
    return [(Text(label), value) for label, value in choices]


def _refresh_footer(node: DOMNode) -> None:
    from textual.dom import NoScreen

    try:
        node.refresh_bindings()
    except NoScreen:  # removed meanwhile
        pass


def translate_bindings(node: DOMNode) -> None:
    """Show `node`'s binding descriptions in the current language (English kept as source).

    The English text comes from the class's bindings, else from the node's own bindings as
    first seen (those Textual adds at run time, e.g. the palette's "palette")."""
    merged = type(node)._merged_bindings
    first_seen = node.__dict__.setdefault("_english_descriptions", {
        b.id or b.action: b.description
        for bindings in node._bindings.key_to_bindings.values() for b in bindings})
    english: dict[str, str] = dict(first_seen)
    if merged is not None:
        for bindings in merged.key_to_bindings.values():
            for b in bindings:
                english[b.id or b.action] = b.description
    for key, bindings in list(node._bindings.key_to_bindings.items()):
        node._bindings.key_to_bindings[key] = [
            replace(b, description=_(english.get(b.id or b.action, b.description)))
            if b.description else b
            for b in bindings
        ]
    if getattr(node, "is_attached", False):
        # A footer drawn before this (a pane mounted after a language switch) is redrawn.
        node.call_after_refresh(_refresh_footer, node)


# Keys that type a character into a text field (the footer must not offer them as actions
# while one has the focus: the letter would land in the field, not run the action).
_TYPED_KEYS = {"slash", "question_mark", "plus", "minus", "space", "full_stop", "comma"}


def typed_actions(bindings: Iterable[Any]) -> set[str]:
    """The actions of bindings some key of which is a character one types."""
    from textual.binding import Binding

    found = set()
    for b in bindings:
        if isinstance(b, Binding) and any(len(k.strip()) == 1 or k.strip() in _TYPED_KEYS
                                          for k in b.key.split(",")):
            found.add(b.action)
    return found


def typing_in_field(node: DOMNode) -> bool:
    """Whether the focus is in a text field (Input, TextArea) of the node's screen."""
    from textual.widgets import Input, TextArea

    try:
        focused = node.screen.focused
    except Exception:  # noqa: BLE001 - not mounted on a screen yet
        return False
    return isinstance(focused, Input | TextArea)
