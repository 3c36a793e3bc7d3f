"""A yes/no question before an action the user may not mean (y or Enter: yes; n or Esc: no)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui_crm.i18n import N_, _
from tui_crm.ui.widgets import translate_bindings


class AskModal(ModalScreen[bool]):
    """Dismisses with True for yes, False for no."""

    DEFAULT_CSS = """
    AskModal { align: center middle; }
    AskModal > Vertical {
        width: auto; max-width: 70; height: auto;
        border: round $warning; background: $panel; padding: 0 1;
    }
    AskModal Horizontal { height: auto; margin-top: 1; }
    AskModal Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", N_("Yes"), id="ask.yes"),
        Binding("n,escape", "answer(False)", N_("No"), id="ask.no"),
    ]
    AUTO_FOCUS = "#ask-yes"

    def __init__(self, question: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, markup=False)
            with Horizontal():
                yield Button(_("Yes"), id="ask-yes", variant="primary", compact=True)
                yield Button(_("No"), id="ask-no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "ask-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
