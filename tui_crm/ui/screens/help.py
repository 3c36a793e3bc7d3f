"""`?`: every key that works where the user is, grouped by where it is defined."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_crm import paths
from tui_crm.i18n import N_, _
from tui_crm.ui.textual_strings import place_name
from tui_crm.ui.widgets import translate_bindings

# Where a binding lives, as users think of it: by class name, a subclass taking its base's
# name (PlainTable → DataTable). The order is the order of the help's groups.
PLACES = {
    "RecordTable": N_("Table"),
    "DetailPane": N_("Card"),
    "FilterBar": N_("Filter box"),
    "Sidebar": N_("Sections"),
    "TodayPane": N_("Today"),
    "FollowupsPane": N_("Follow-ups"),
    "DealsBoard": N_("Deals board"),
    "CategoriesPane": N_("Categories"),
    "ReportsPane": N_("Reports"),
    "MailingsPane": N_("Mailings"),
    "UsersPane": N_("Users"),
    "SectionList": N_("Sections"),
    "MainScreen": N_("Everywhere in a section"),
    "CrmApp": N_("Everywhere"),
    "OptionList": N_("List"),
    "DataTable": N_("Table"),
    "Input": N_("Text box"),
    "TextArea": N_("Text editor"),
    "Select": N_("Dropdown"),
    "SelectCurrent": N_("Dropdown"),
    "SelectOverlay": N_("Dropdown"),
    "Button": N_("Button"),
    "Checkbox": N_("Checkbox"),
    "Tabs": N_("Tabs"),
    "ScrollableContainer": N_("Scrolling"),
    "Screen": N_("This window"),
}


# What differs in a browser (ui/app.py BROWSER_KEYS; the table below shows the keys).
BROWSER_NOTE = N_("In a browser, ctrl+t, ctrl+n and ctrl+w are the browser's: the theme is "
                  "ctrl+g, a new phone/e-mail row ctrl+o, a word back in a text box "
                  "alt+backspace.")

HelpRow = tuple[str, str, str, bool, str]  # place, keys, description, enabled, binding id


def help_rows(app: App, bindings: dict[str, ActiveBinding]) -> list[HelpRow]:
    """One row per action (its keys joined), grouped by where the binding lives."""
    grouped: dict[tuple[str, str], list] = {}
    for active in bindings.values():
        binding = active.binding
        if binding.system or not (binding.description or binding.id):
            continue
        place = place_name(active.node, PLACES)
        key = (place, binding.action)
        # Our descriptions are translated already; Textual's own ("Focus Next") are not.
        entry = grouped.setdefault(key, [place, [], _(binding.description or binding.action),
                                         active.enabled, binding.id or ""])
        shown = app.get_key_display(binding)
        if shown not in entry[1]:
            entry[1].append(shown)
    rows = []
    for place, keys, description, enabled, binding_id in grouped.values():
        rows.append((place, " / ".join(keys), description, enabled, binding_id))
    order = list(dict.fromkeys(_(p) for p in PLACES.values()))
    rows.sort(key=lambda r: order.index(r[0]) if r[0] in order else len(order))
    return rows


class HelpScreen(ModalScreen[None]):
    """The keys of the focused context."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 80;
        max-width: 100%;
        height: 100%;
        border: thick $primary;
        background: $surface;
    }
    HelpScreen #help-title { padding: 0 1; text-style: bold; background: $panel; }
    HelpScreen #help-keymap, HelpScreen #help-browser { padding: 0 1; color: $text-muted; }
    /* The list takes what the two title lines leave, so its last line can be scrolled to. */
    HelpScreen VerticalScroll { height: 1fr; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", N_("Close"), id="help.close"),
    ]

    def __init__(self, bindings: dict[str, ActiveBinding]) -> None:
        super().__init__()
        translate_bindings(self)
        self.bindings_shown = bindings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_("Keys (Esc closes)"), id="help-title", markup=False)
            if getattr(self.app, "keymap_is_foreign", False):
                yield Static(_("Your own keys (keymap.toml) work in the terminal UI on your "
                               "own account, not in a browser."), id="help-keymap",
                             markup=False)
            else:
                yield Static(_("Your own keys: {path} ([keymap] id = \"key\")").format(
                    path=paths.config_dir() / "keymap.toml"), id="help-keymap", markup=False)
            if self.app.is_web:
                yield Static(_(BROWSER_NOTE), id="help-browser", markup=False)
            with VerticalScroll():
                yield Static(self._table(), id="help-table", markup=False)

    def _table(self) -> Table:
        table = Table(box=None, expand=True, padding=(0, 1), show_header=False)
        table.add_column(no_wrap=True, style="bold")
        table.add_column(ratio=1)
        table.add_column(no_wrap=True, style="dim")
        last_place = None
        for place, keys, description, enabled, binding_id in help_rows(self.app,
                                                                         self.bindings_shown):
            if place != last_place:
                if last_place is not None:
                    table.add_row("", "", "")
                table.add_row(Text(place, style="underline"), "", "")
                last_place = place
            table.add_row(keys, Text(description, style="" if enabled else "dim"), binding_id)
        return table

    def action_close(self) -> None:
        self.dismiss(None)
