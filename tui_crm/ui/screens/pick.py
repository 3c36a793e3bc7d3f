"""A small modal that offers a list and returns the key of the chosen line."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui_crm.i18n import N_
from tui_crm.ui.widgets import translate_bindings


class PickModal(ModalScreen[str | None]):
    """Enter picks the highlighted line; Esc returns None."""

    DEFAULT_CSS = """
    PickModal { align: center middle; }
    PickModal > Vertical { width: 90; max-width: 100%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1; }
    PickModal OptionList { height: auto; max-height: 24; }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="pick.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]], empty: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices  # (key, line)
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, markup=False)
            options = [Option(line, id=key) for key, line in self.choices]
            if not options:
                options = [Option(self.empty or "—", disabled=True)]
            yield OptionList(*options, markup=False)  # record titles, file names

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
