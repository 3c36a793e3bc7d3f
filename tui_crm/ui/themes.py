"""Theme files: the ones shipped with tui-crm and the user's own, loaded into Textual `Theme`s.

A theme file is TOML with the fields of `textual.theme.Theme`::

    name = "office-light"
    primary = "#2B579A"
    dark = false          # optional, like secondary, accent, foreground, background, …
    [variables]
    footer-key-foreground = "#2B579A"

Textual has no theme-file loader, so this module parses and checks the files itself. A broken
file never stops the app: it is skipped and described in one line (shown in a toast), the way
posting's `themes.py` collects failures instead of crashing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

from tui_crm import paths
from tui_crm.i18n import _

COLOR_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
              "boost", "warning", "error", "success")
FLOAT_KEYS = ("luminosity_spread", "text_alpha")
BOOL_KEYS = ("dark", "ansi")
# Free-form notes a theme author may add; not passed to Textual.
INFO_KEYS = ("description", "author")
KNOWN_KEYS = {"name", "variables", *COLOR_KEYS, *FLOAT_KEYS, *BOOL_KEYS, *INFO_KEYS}
# Variable values that are keywords rather than colours.
VARIABLE_KEYWORDS = {"transparent", "initial", "auto", "inherit", "none"}


class ThemeFileError(Exception):
    """One reason a theme file cannot be used (already translated)."""


def packaged_themes_dir() -> Path:
    """The folder of the themes shipped with tui-crm.

    In a wheel the top-level `themes/` folder is installed as `tui_crm/_themes/` (see the
    `[tool.setuptools]` tables of pyproject.toml); in a source checkout or an editable install
    it is the repository's own `themes/` beside the package.
    """
    package = Path(__file__).resolve().parent.parent
    installed = package / "_themes"
    if installed.is_dir():
        return installed
    return package.parent / "themes"


def default_theme_folders() -> list[Path]:
    """Packaged themes first, then the user's folder (a user theme may replace a packaged one)."""
    return [packaged_themes_dir(), paths.user_themes_dir()]


def _check_color(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(_("{key} must be a colour in quotes, like \"#2B579A\"").format(
            key=key))
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(_("{key}: {value!r} is not a colour").format(
            key=key, value=value)) from None
    return value


def _check_variable(key: str, value: Any) -> str:
    """A CSS variable: a text style for *-style keys, else a colour (with optional alpha %)."""
    if not isinstance(value, str) or not value.strip():
        raise ThemeFileError(_("variable {key} must be a non-empty text").format(key=key))
    words = value.split()
    if key.endswith("style"):
        bad = [w for w in words if w.lower() not in VALID_STYLE_FLAGS]
        if bad:
            raise ThemeFileError(_("variable {key}: {value!r} is not a text style").format(
                key=key, value=value))
        return value
    colour, *rest = words
    ok = colour.lower() in VARIABLE_KEYWORDS
    if not ok:
        try:
            Color.parse(colour)
            ok = True
        except ColorParseError:
            ok = False
    # "#81a1c1 35%": a colour with an alpha percentage.
    if ok and rest:
        ok = len(rest) == 1 and rest[0].endswith("%") and rest[0][:-1].replace(".", "", 1).isdigit()
    if not ok:
        raise ThemeFileError(_("variable {key}: {value!r} is not a colour").format(
            key=key, value=value))
    return value


def theme_from_data(data: dict[str, Any]) -> Theme:
    """Build a Theme from a parsed theme file; ThemeFileError says what is wrong."""
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise ThemeFileError(_("unknown key {key!r}").format(key=unknown[0]))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(_("the theme has no name (name = \"my-theme\")"))
    if "primary" not in data:
        raise ThemeFileError(_("the theme has no primary colour (primary = \"#2B579A\")"))
    kwargs: dict[str, Any] = {"name": name.strip()}
    for key in COLOR_KEYS:
        if key in data:
            kwargs[key] = _check_color(key, data[key])
    for key in BOOL_KEYS:
        if key in data:
            if not isinstance(data[key], bool):
                raise ThemeFileError(_("{key} must be true or false").format(key=key))
            kwargs[key] = data[key]
    for key in FLOAT_KEYS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 <= value <= 1):
                raise ThemeFileError(_("{key} must be a number from 0 to 1").format(key=key))
            kwargs[key] = float(value)
    for key in INFO_KEYS:
        if key in data and not isinstance(data[key], str):
            raise ThemeFileError(_("{key} must be a text").format(key=key))
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(_("[variables] must be a table of name = \"value\""))
    kwargs["variables"] = {str(k): _check_variable(str(k), v) for k, v in variables.items()}
    theme = Theme(**kwargs)
    try:
        # Textual derives every shade from these colours: make sure it can, now, not when
        # the user picks the theme.
        theme.to_color_system().generate()
    except Exception as exc:  # noqa: BLE001 - any failure here means an unusable theme
        raise ThemeFileError(_("Textual cannot use these colours: {reason}").format(
            reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)) from None
    return theme


def load_theme_file(path: Path) -> Theme:
    """Read one theme file; ThemeFileError (one line, without the file name) on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ThemeFileError(_("not a UTF-8 text file")) from None
    except OSError as exc:
        raise ThemeFileError(exc.strerror or str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(_("not valid TOML: {reason}").format(
            reason=str(exc).splitlines()[0])) from None
    return theme_from_data(data)


def load_themes(folders: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """Every `*.toml` theme in the folders (default: packaged + user's), and one-line errors.

    Never raises: a missing folder is skipped quietly, a broken file is skipped with a
    message "theme file X: reason". A later folder's theme replaces an earlier one of the
    same name, so a user can restyle a shipped theme.
    """
    if folders is None:
        folders = default_theme_folders()
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    for folder in folders:
        try:
            files = sorted(p for p in Path(folder).glob("*.toml") if p.is_file())
        except OSError:
            continue
        for path in files:
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                errors.append(_("theme file {file}: {reason}").format(file=path, reason=exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), errors


def register_themes(app: App, folders: list[Path] | None = None) -> list[str]:
    """Load the theme files and register them with the app; returns the error lines."""
    themes, errors = load_themes(folders)
    for theme in themes:
        app.register_theme(theme)
    return errors


def available_theme_names(app: App) -> list[str]:
    """Every theme the app can switch to (built-in and registered), sorted by name."""
    return sorted(app.available_themes)
