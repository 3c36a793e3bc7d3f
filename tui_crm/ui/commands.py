"""The command palette (Ctrl+P): go to a section (by its shown name), add a record, quick
search, theme, language, help. Section names are read when the palette opens, so an
admin's rename shows here too."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui_crm.i18n import _


class CrmCommands(Provider):
    """Commands of tui-crm."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: Any = self.app  # a CrmApp
        out: list[tuple[str, Callable[[], object], str]] = []
        main = getattr(app, "main_screen", None)
        if main is not None:
            for key, name in app.section_names():
                out.append((_("Go to: {section}").format(section=name),
                            partial(app.go_to_section, key),
                            _("Open the section")))
            if main.is_record_section:
                out.append((_("Add a record to {section}").format(section=main.section_name()),
                            main.action_add, _("Open an empty form")))
        out.append((_("Quick search"), app.action_quick_search,
                    _("Find in every section")))
        out.append((_("Toggle light / dark theme"), app.action_toggle_theme,
                    _("Switch between a light and a dark theme")))
        out.append((_("Switch language (English / Русский)"),
                    app.action_switch_language,
                    _("Show the interface in the other language")))
        out.append((_("Keys (help)"), app.action_help,
                    _("Every key of the current place")))
        return out

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
