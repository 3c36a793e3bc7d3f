"""The Textual application: one factory (`build_app`) for the CLI and the tests.

Start-up stays light: heavy modules (openpyxl, the forms, the settings screen, themes) are
imported when first used, and the first table page loads in a worker while the screen
paints. Changes by other sessions are noticed by polling a cheap marker once a second.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import App
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.timer import Timer

from tui_crm import paths
from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _, detect_language, get_language, set_language
from tui_crm.services.core.rights import Actor
from tui_crm.terminal_text import visible
from tui_crm.ui.messages import SettingsChanged
from tui_crm.ui.terminal_keys import read_esc_digit_as_alt
from tui_crm.ui.visible_controls import VisibleControls
from tui_crm.ui.widgets import translate_bindings

if TYPE_CHECKING:
    from tui_crm.ui.screens.main import MainScreen

DEFAULT_THEME = "textual-dark"
LIGHT_THEME = "textual-light"
POLL_SECONDS = 1.0
REST_SECONDS = 1.0  # after a section switch: the UI rests, freed memory goes back
# The start-up measurement (benchmarks, a smoke test): quit, headless, as soon as the first
# table page is on screen. It lives here because only the app itself sees that moment.
EXIT_WHEN_READY_ENV = "TUI_CRM_EXIT_WHEN_READY"
VISIBLE_CONTROLS = VisibleControls()  # one instance: Textual caches filtered lines per filter


def _crm_commands() -> type:
    """The palette's provider, imported when the palette first opens (not at start-up)."""
    from tui_crm.ui.commands import CrmCommands

    return CrmCommands


def load_keymap(path: Path) -> tuple[dict[str, str], list[str]]:
    """`[keymap]` binding-id = "key[,key]" from a TOML file; (keymap, one-line errors)."""
    if not path.exists():
        return {}, []
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {}, [_("Key map {path} not used: {reason}").format(path=path, reason=reason)]
    table = data.get("keymap", {})
    if not isinstance(table, dict):
        return {}, [_("Key map {path} not used: [keymap] must be a table").format(path=path)]
    keymap: dict[str, str] = {}
    errors: list[str] = []
    for binding_id, keys in table.items():
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            errors.append(_("Key map {path}: {id} needs a key like \"ctrl+k\"").format(
                path=path, id=binding_id))
            continue
        keymap[str(binding_id)] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return keymap, errors


# Keys a browser keeps for itself, never handing them to the page (Chrome and Firefox:
# ctrl+t a new tab, ctrl+n a new window, ctrl+w closes the tab): in a browser session their
# actions take these keys, and the footer and `?` show them.
BROWSER_KEYS = {"app.theme": "ctrl+g", "record_form.add_row": "ctrl+o"}


class CrmApp(App[int]):
    """tui-crm."""

    CSS_PATH = "app.tcss"
    TITLE = "tui-crm"
    COMMANDS: ClassVar = App.COMMANDS | {lambda: _crm_commands()}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+f", "quick_search", N_("Search"), id="app.search"),
        Binding("question_mark", "help", N_("Keys"), id="app.help"),
        Binding("ctrl+t", "toggle_theme", N_("Theme"), show=False, id="app.theme"),
        Binding("ctrl+l", "switch_language", N_("Language"), show=False, id="app.language"),
        Binding("ctrl+r", "reminders", N_("Reminders"), show=False, id="app.reminders"),
        Binding("ctrl+q", "quit", N_("Quit"), priority=True, id="app.quit"),
    ]

    def __init__(self, actor: Actor, *, database_name: str = "", theme: str = "",
                 section: str | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        read_esc_digit_as_alt()  # alt+digit as terminals and browsers send it
        translate_bindings(self)
        self.actor = actor
        self.database_name = database_name
        self.wanted_theme = theme or DEFAULT_THEME
        self.start_section = section
        self.poll_seconds = poll_seconds
        self.main_screen: MainScreen | None = None  # once mounted
        self.exit_when_ready = bool(os.environ.get(EXIT_WHEN_READY_ENV))
        self._marker: tuple | None = None
        self._language_pref = ""
        self.language_on_screen = get_language()
        self.started_at = dt.datetime.now()
        self.startup_problems: list[str] = []  # shared-folder modes, shown at start
        self.reminders_shown: list = []  # this session's reminders, to snooze or dismiss
        self._rest_timer: Timer | None = None

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then ours: record data never drives the terminal."""
        return [*super().get_line_filters(), VISIBLE_CONTROLS]

    def notify(self, message: str, *, title: str = "", **options: Any) -> None:
        """A toast, its text escaped before it is laid out (so the escapes are measured too;
        the line filter would catch them anyway, cutting the end of the line)."""
        super().notify(visible(message, keep="\n"), title=visible(title), **options)

    # --- start ---------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.set_timer(2, self.collector_back)  # when the first screen is not a table
        self._load_themes()
        self._load_keymap()
        from tui_crm.services.core import settings
        from tui_crm.ui.screens.main import MainScreen

        self._language_pref = settings.user_preference(self.actor, "language")
        self.main_screen = MainScreen(self.actor, self.start_section)
        self.push_screen(self.main_screen)
        for problem in self.startup_problems:
            self.notify(problem, title=_("Shared database"), severity="error", timeout=30,
                        markup=False)
        self._marker = self._change_marker()
        if self.poll_seconds > 0:
            self.set_interval(self.poll_seconds, self._poll_changes)

    def on_unmount(self) -> None:
        from tui_crm.ui.workers import release_query_connection

        release_query_connection()

    def _load_themes(self) -> None:
        if self.wanted_theme in self.available_themes:
            # A built-in theme: the theme files (TOML read and parsed, ~7 ms) can wait until
            # the first screen is up.
            self.apply_theme(self.wanted_theme)
            self.call_after_refresh(self._register_theme_files, apply=False)
            return
        self._register_theme_files()

    def _register_theme_files(self, apply: bool = True) -> None:
        errors: list[str] = []
        try:
            from tui_crm.ui.themes import register_themes
        except ImportError:
            pass
        else:
            errors = register_themes(self)
        for error in errors:
            self.notify(error, title=_("Theme"), severity="error", markup=False, timeout=10)
        if apply:
            self.apply_theme(self.wanted_theme)

    def apply_theme(self, name: str) -> bool:
        """Use a theme by name (falls back to the default quietly when it is gone)."""
        if name and name in self.available_themes:
            self.theme = name
            return True
        self.theme = DEFAULT_THEME
        return False

    @property
    def keymap_is_foreign(self) -> bool:
        """A browser session of another person than the account running it: that account's
        keymap.toml is not this person's (see `tui-crm serve`)."""
        return bool(self.is_web and self.actor.on_behalf)

    def _load_keymap(self) -> None:
        """In a browser its keys first (the person's own keymap.toml may change them), then
        keymap.toml unless it is another person's."""
        keymap = dict(BROWSER_KEYS) if self.is_web else {}
        if not self.keymap_is_foreign:
            own, errors = load_keymap(paths.config_dir() / "keymap.toml")
            for error in errors:
                self.notify(error, title=_("Keys"), severity="error", markup=False, timeout=10)
            keymap.update(own)
        if keymap:
            self.set_keymap(keymap)

    @staticmethod
    def collector_back() -> None:
        """The start-up's objects live as long as the app: moved out of the collector's
        sight (`gc.freeze`), and collecting resumes for what comes after."""
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    def rest_soon(self) -> None:
        """Once nothing has happened for a moment, collect what the section just left (its
        rows, a report) and hand the freed heap back to the system: without it the process
        only ever grows, ~300 MB after visiting every section of a 100k base."""
        if self._rest_timer is not None:
            self._rest_timer.stop()
        self._rest_timer = self.set_timer(REST_SECONDS, self._rest)

    def _rest(self) -> None:
        from tui_crm.ui.workers import shrink_connections

        self._rest_timer = None
        gc.collect()
        shrink_connections()  # and hands the freed heap back

    def first_page_shown(self) -> None:
        """The first table page is on screen."""
        self.collector_back()
        if self.exit_when_ready:
            self.exit()
            return
        if self.poll_seconds <= 0:  # polling is off (tests, snapshots): no reminders either
            return
        # Reminders that came due while the app was closed show now, then every few seconds.
        self.call_after_refresh(self.check_reminders)
        from tui_crm.ui.screens.reminders import CHECK_SECONDS

        self.set_interval(CHECK_SECONDS, self.check_reminders)

    def check_reminders(self) -> None:
        from tui_crm.ui.screens.reminders import check_reminders

        check_reminders(self, self.actor, self.reminders_shown, self.started_at)

    def action_reminders(self) -> None:
        from tui_crm.ui.screens.reminders import RemindersModal

        self.push_screen(RemindersModal(self.actor, self.reminders_shown))

    def clock(self) -> dt.datetime:
        """Now (the planning panes ask the app, so tests can fix the time)."""
        return dt.datetime.now()

    # --- other sessions ------------------------------------------------------------------------

    @staticmethod
    def _change_marker() -> tuple | None:
        from tui_crm.services.core.changes import change_marker

        try:
            return change_marker()
        except Exception:  # noqa: BLE001 - a lost connection must not kill the UI
            return None

    def _poll_changes(self) -> None:
        marker = self._change_marker()
        if marker is None or marker == self._marker:
            return
        self._marker = marker
        if self.main_screen is not None:
            self.main_screen.external_change()

    # --- sections and records ------------------------------------------------------------------

    def section_names(self) -> list[tuple[str, str]]:
        from tui_crm.ui.widgets.sidebar import visible_sections

        return [(s.key, s.name) for s in visible_sections()]

    def go_to_section(self, key: str) -> None:
        if self.main_screen is None:
            return
        while self.screen is not self.main_screen and len(self.screen_stack) > 1:
            self.pop_screen()
        self.main_screen.show_section(key)

    def open_record(self, kind: str, record_id: int) -> None:
        """Switch to the record's section and put the cursor and the card on it."""
        if self.main_screen is None:
            return
        while self.screen is not self.main_screen and len(self.screen_stack) > 1:
            self.pop_screen()
        self.main_screen.open_record(kind, record_id)

    def on_record_changed(self, event: object) -> None:
        """A record changed on another screen (the deals board, a dialog): the sidebar's
        counts and the table behind it follow at once."""
        if self.main_screen is not None:
            self.main_screen.refresh_data()
            self.main_screen.refresh_counts()

    def on_settings_changed(self, event: SettingsChanged) -> None:
        """Sections, labels, theme or language changed (the Settings section says so)."""
        from tui_crm.services.core import settings

        theme = settings.user_preference(self.actor, "theme")
        if theme and theme != self.theme:
            self.apply_theme(theme)
        if self.main_screen is not None:
            self.main_screen.apply_settings()
        language = settings.user_preference(self.actor, "language")
        if language and language != self._language_pref:
            self._language_pref = language
            if language != get_language():
                set_language(language)
        if get_language() != self.language_on_screen:
            self._after_language_change(settings_too=False)  # the pane redrew itself

    def _after_language_change(self, *, settings_too: bool = True) -> None:
        self.language_on_screen = get_language()
        translate_bindings(self)
        if self.main_screen is not None:
            self.main_screen.apply_language(settings_too=settings_too)
        self.refresh_bindings()

    # --- Textual's own screens, in the user's language -------------------------------------------

    def get_system_commands(self, screen):  # noqa: ANN001, ANN201 - Textual's signature
        from tui_crm.ui.textual_strings import translated_system_commands

        return translated_system_commands(super().get_system_commands(screen))

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        from tui_crm.ui.textual_strings import PALETTE_PLACEHOLDER

        # is_open takes App[object]; App is invariant in its result type (ours is int)
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(CommandPalette(id="--command-palette",
                                            placeholder=_(PALETTE_PLACEHOLDER)))

    def search_themes(self) -> None:
        from textual.command import CommandPalette
        from textual.theme import ThemeProvider

        from tui_crm.ui.textual_strings import THEMES_PLACEHOLDER

        self.push_screen(CommandPalette(providers=[ThemeProvider],
                                        placeholder=_(THEMES_PLACEHOLDER)))

    # --- actions --------------------------------------------------------------------------------

    def action_quick_search(self) -> None:
        from tui_crm.ui.screens.quick_search import QuickSearch

        def chosen(hit) -> None:  # noqa: ANN001 - a search.Hit or None
            if hit is not None:
                self.open_record(hit.section, hit.id)

        self.push_screen(QuickSearch(self.actor), chosen)

    def action_help(self) -> None:
        from tui_crm.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen.active_bindings))

    def action_toggle_theme(self) -> None:
        from tui_crm.services.core import settings

        dark = self.current_theme.dark
        name = LIGHT_THEME if dark else DEFAULT_THEME
        self.apply_theme(name)
        try:
            settings.set_user_preference(self.actor, "theme", self.theme)
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)

    def action_switch_language(self) -> None:
        from tui_crm.services.core import settings

        language = "en" if get_language() == "ru" else "ru"
        set_language(language)
        try:
            settings.set_user_preference(self.actor, "language", language)
            self._language_pref = language
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)
        self._after_language_change()
        self.notify(_("Language: English") if language == "en" else _("Language: Russian"))


def build_app(db_target: str, *, user: str | None = None, language: str | None = None,
              demo: bool = False, section: str | None = None) -> CrmApp:
    """Open the database, find who is acting, choose the language and theme: the app.

    Raises CrmError (a one-line message) when the database or the user is not usable.
    """
    from tui_crm.db import open_database
    from tui_crm.db.database import is_url
    from tui_crm.services.core import settings, shared_files, users

    database = open_database(db_target)
    if demo:
        from tui_crm.services.core import records

        if records.total("organizations") == 0:
            from tui_crm.services.ops import demo as demo_data

            demo_data.generate()
    actor = users.resolve_actor(user)
    # Wrong folder modes: someone could open the file around the rights, or a teammate's
    # write fails later; say so at once.
    problems = [] if is_url(str(db_target)) else shared_files.problems(
        db_target, service_account=actor.on_behalf)
    chosen = language or settings.user_preference(actor, "language") or detect_language()
    set_language(chosen)
    theme = settings.user_preference(actor, "theme") or DEFAULT_THEME
    name = getattr(database, "database", "") or str(db_target)
    app = CrmApp(actor, database_name=str(name), theme=theme, section=section)
    app.startup_problems = problems
    return app


def run_app(db_target: str, *, user: str | None = None, language: str | None = None,
            section: str | None = None) -> int:
    """Run the UI until the user quits; expected errors print one line and return non-zero."""
    # The cyclic collector would re-scan everything the start-up builds, again and again
    # (~10 ms); it is back on once the first screen is up (see `collector_back`).
    gc.disable()
    try:
        try:
            app = build_app(db_target, user=user, language=language, section=section)
        except CrmError as exc:
            print(f"tui-crm: {exc}", file=sys.stderr)
            return exc.exit_code or 1
        # A start-up measurement runs headless, as its baseline (a bare Textual app) does:
        # the terminal driver's input thread alone takes ~100 ms to stop.
        from tui_crm.ui.terminal_guard import guarded

        with guarded():
            app.run(headless=app.exit_when_ready)
        return app.return_code or 0
    finally:
        gc.enable()
