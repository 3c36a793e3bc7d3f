"""The sidebar: the sections the UI has screens for, in the admin's order and names."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui_crm.i18n import N_
from tui_crm.services.core import settings
from tui_crm.ui.widgets import translate_bindings
from tui_crm.ui.widgets.record_table import format_count

# Sections with a screen in this build (no empty placeholders for the rest).
AVAILABLE = ("today", "followups", "organizations", "contacts", "deals", "tasks", "events",
             "notes", "links", "payments", "services", "reports", "categories", "mailings",
             "users", "audit", "settings")


def visible_sections() -> list[settings.SectionInfo]:
    """The sections to show: not hidden by an admin, and with a screen."""
    return [s for s in settings.sections() if s.key in AVAILABLE]


class Sidebar(OptionList):
    """Section list with record counts; Enter or a click opens a section."""

    DEFAULT_CSS = """
    Sidebar {
        width: 22;
        height: 1fr;
        border: none;
        padding: 0;
        background: $panel;
    }
    Sidebar:focus { border: none; background-tint: $foreground 4%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", N_("Down"), show=False, id="sidebar.down"),
        Binding("k", "cursor_up", N_("Up"), show=False, id="sidebar.up"),
    ]

    class SectionChosen(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        translate_bindings(self)
        self.sections: list[settings.SectionInfo] = []
        self.counts: dict[str, int] = {}
        self.current = ""

    def rebuild(self, current: str | None = None) -> None:
        """Re-read section names, order and visibility (after a settings change)."""
        self.sections = visible_sections()
        if current is not None:
            self.current = current
        self._redraw()

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        self._redraw()

    def _prompt(self, info: settings.SectionInfo) -> Text:
        width = max(10, (self.scrollable_content_region.width or 24) - 1)
        count = self.counts.get(info.key)
        right = format_count(count) if count is not None else ""
        name = info.name
        room = width - len(right) - 2
        if len(name) > room:
            name = name[: max(1, room - 1)] + "…"
        text = Text(" " + name)
        if right:
            text.append(" " * max(1, width - len(name) - len(right) - 1))
            text.append(right, style="dim")
        return text

    def _redraw(self) -> None:
        highlighted = self.current
        self.set_options([Option(self._prompt(s), id=s.key) for s in self.sections])
        keys = [s.key for s in self.sections]
        if highlighted in keys:
            self.highlighted = keys.index(highlighted)

    def on_resize(self) -> None:
        if self.sections:
            self._redraw()

    def select_key(self, key: str) -> None:
        self.current = key
        keys = [s.key for s in self.sections]
        if key in keys:
            self.highlighted = keys.index(key)

    def name_of(self, key: str) -> str:
        for info in self.sections:
            if info.key == key:
                return info.name
        return settings.section_name(key)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.current = event.option.id
            self.post_message(self.SectionChosen(event.option.id))
