"""Textual's own words that reach the screen, in the user's language.

Textual writes its binding descriptions ("Focus Next", "Scroll Left"), the palette's
placeholder ("Search for commands…") and its system commands in English. They are marked
here (so the catalogue test sees them and ru.po has them) and translated where they are
shown: the help screen, the footer, the palette. tests/unit/test_i18n.py fails when a
Textual upgrade brings a description of the widgets we use that is not listed here.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.dom import DOMNode

from tui_crm.i18n import N_, _

# The widget classes whose built-in keys can show in help (tests read this list).
USED_WIDGETS = ("Button", "Checkbox", "DataTable", "Input", "OptionList", "Select",
                "TextArea", "Tabs", "TabbedContent")

BINDING_DESCRIPTIONS = (
    # Screen, scrolling containers, the command palette
    N_("Focus Next"), N_("Focus Previous"), N_("Copy selected text"), N_("Scroll Up"),
    N_("Scroll Down"), N_("Scroll Left"), N_("Scroll Right"), N_("Scroll Home"),
    N_("Scroll End"), N_("Page Up"), N_("Page Down"), N_("Page Left"), N_("Page Right"),
    N_("Exit the command palette"), N_("Go to bottom"), N_("Go to top"), N_("Next command"),
    N_("Previous command"), N_("Next page"), N_("Previous page"), N_("palette"),
    # lists, tables, tabs, buttons, dropdowns
    N_("Up"), N_("Down"), N_("First"), N_("Last"), N_("Select"), N_("Top"), N_("Bottom"),
    N_("Home"), N_("End"), N_("Page up"), N_("Page down"), N_("Cursor up"),
    N_("Cursor down"), N_("Cursor left"), N_("Cursor right"), N_("Next tab"),
    N_("Previous tab"), N_("Press button"), N_("Toggle"), N_("Show menu"),
    N_("Dismiss menu"),
    # text boxes
    N_("Submit"), N_("Select all"), N_("Go to start"), N_("Go to end"),
    N_("Move cursor left"), N_("Move cursor left a word"),
    N_("Move cursor left a word and select"), N_("Move cursor left and select"),
    N_("Move cursor right a word"), N_("Move cursor right a word and select"),
    N_("Move cursor right and select"),
    N_("Move cursor right or accept the completion suggestion"),
    N_("Delete all to the left"), N_("Delete all to the right"),
    N_("Delete character left"), N_("Delete character right"),
    N_("Delete left to start of word"), N_("Delete right to start of word"),
    N_("Select line end"), N_("Select line start"), N_("Cut selected text"),
    N_("Paste text from the clipboard"),
    # the multi-line editor
    N_("Copy"), N_("Cut"), N_("Paste"), N_("Undo"), N_("Redo"), N_("Select line"),
    N_("Delete line"), N_("Delete to line end"), N_("Delete to line start"),
    N_("Cursor down select"), N_("Cursor up select"), N_("Cursor left select"),
    N_("Cursor right select"), N_("Cursor left word select"),
    N_("Cursor right word select"), N_("Cursor line end"), N_("Cursor line end select"),
    N_("Cursor line start"), N_("Cursor line start select"), N_("Cursor page down"),
    N_("Cursor page up"), N_("Cursor word left"), N_("Cursor word right"),
)

PALETTE_PLACEHOLDER = N_("Search for commands…")
THEMES_PLACEHOLDER = N_("Search for themes…")

# Textual's system commands: (title, help) in English, as Textual yields them.
SYSTEM_COMMANDS = {
    "Theme": N_("Theme"), "Change the current theme": N_("Change the current theme"),
    "Quit": N_("Quit"),
    "Quit the application as soon as possible": N_("Quit the application as soon as possible"),
    "Keys": N_("Keys"),
    "Show help for the focused widget and a summary of available keys":
        N_("Show help for the focused widget and a summary of available keys"),
    "Hide the keys and widget help panel": N_("Hide the keys and widget help panel"),
    "Minimize": N_("Minimize"),
    "Minimize the widget and restore to normal size":
        N_("Minimize the widget and restore to normal size"),
    "Maximize": N_("Maximize"), "Maximize the focused widget": N_("Maximize the focused widget"),
    "Screenshot": N_("Screenshot"),
    "Save an SVG 'screenshot' of the current screen":
        N_("Save an SVG 'screenshot' of the current screen"),
}


def translated_system_commands(commands: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    """Textual's system commands with their title and help in the current language."""
    for command in commands:
        yield command._replace(title=_(command.title), help=_(command.help))


def place_name(node: DOMNode, places: dict[str, str]) -> str:
    """The help heading of the node a binding lives on: the first class of its ancestry
    (PlainTable → DataTable) with a name in `places`; Textual's class names never show."""
    for cls in type(node).__mro__:
        if cls.__name__ in places:
            return _(places[cls.__name__])
    return _("This window") if hasattr(node, "dismiss") else _("Other keys")
