"""Widgets of the main screen, and helpers they share.

Binding descriptions are declared in English (`N_`) at class level, but the footer and
the help screen show them in the user's language, which can change while the app runs:
`translate_bindings` rewrites a node's own copy of its bindings in the current language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from rich.markup import escape
from rich.text import Text
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable

from tui_crm.i18n import _

T = TypeVar("T")


def modal_css(name: str, width: int = 76, extra: str = "") -> str:
    """The look every small dialog shares: centred, bordered, a bold title, an error line,
    a row of buttons. `extra` adds rules of the dialog's own."""
    return f"""
    {name} {{ align: center middle; }}
    {name} > Vertical {{ width: {width}; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }}
    {name} .title {{ text-style: bold; }}
    {name} .error {{ color: $error; height: auto; }}
    {name} Horizontal {{ height: auto; }}
    {name} Button {{ min-width: 10; margin-right: 1; }}
    {name} TextArea {{ height: 4; }}
    {extra}
    """
_executor: ThreadPoolExecutor | None = None


def _query_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(1, thread_name_prefix="tui-crm-query")
    return _executor


async def in_query_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a service call on the one query thread and await its result.

    One long-lived thread keeps one SQLite connection open (peewee connections are per
    thread), so its page cache stays warm: a new thread per keystroke would start every
    query on a cold cache. Queries run one at a time, in order.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_query_executor(), partial(fn, *args))


def release_query_connection() -> None:
    """Close the query thread's connection (the app is closing or the database changes)."""
    if _executor is None:
        return

    def close() -> None:
        from tui_crm.db.models import database_proxy

        db = database_proxy.obj
        if db is not None and not db.is_closed():
            db.close()

    _executor.submit(close).result()


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


def translate_bindings(node: DOMNode) -> None:
    """Show `node`'s binding descriptions in the current language (English kept as source)."""
    merged = type(node)._merged_bindings
    english: dict[str, str] = {}
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
