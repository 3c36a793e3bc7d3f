"""Theme files: the shipped ones load, broken user files are reported and skipped, the app can
use them, and the wheel configuration ships them inside the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

import tui_crm
from tui_crm import paths
from tui_crm.ui.themes import (
    available_theme_names,
    load_theme_file,
    load_themes,
    packaged_themes_dir,
    register_themes,
)

REPO = Path(tui_crm.__file__).resolve().parent.parent
SHIPPED = {"office-light", "high-contrast", "dark-blue", "sepia"}

GOOD = """
name = "my-green"
primary = "#2E7D32"
accent = "#FFB300"
dark = false
[variables]
footer-key-foreground = "#2E7D32"
input-selection-background = "#2E7D32 30%"
block-cursor-text-style = "bold reverse"
"""


def test_packaged_themes_load() -> None:
    folder = packaged_themes_dir()
    assert folder.is_dir()
    themes, errors = load_themes([folder])
    assert errors == []
    by_name = {t.name: t for t in themes}
    assert len(themes) >= 4
    assert SHIPPED <= set(by_name)
    assert by_name["office-light"].dark is False
    assert by_name["sepia"].dark is False
    assert by_name["high-contrast"].dark is True
    assert by_name["high-contrast"].background == "#000000"
    assert by_name["dark-blue"].variables["footer-key-foreground"] == "#FFB347"


def test_default_folders_are_packaged_and_user(tmp_path: Path) -> None:
    # conftest points the config folder at a temporary one; the user's themes folder is absent.
    assert not paths.user_themes_dir().exists()
    themes, errors = load_themes()
    assert errors == []
    assert SHIPPED <= {t.name for t in themes}
    # A user's theme with a shipped name replaces the shipped one.
    user = paths.user_themes_dir()
    user.mkdir(parents=True)
    (user / "sepia.toml").write_text('name = "sepia"\nprimary = "#123456"\n', encoding="utf-8")
    (user / "mine.toml").write_text(GOOD, encoding="utf-8")
    themes, errors = load_themes()
    by_name = {t.name: t for t in themes}
    assert errors == []
    assert by_name["sepia"].primary == "#123456"
    assert "my-green" in by_name


def test_broken_user_files_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad-toml.toml").write_text('name = "x"\nprimary = \n', encoding="utf-8")
    (tmp_path / "no-primary.toml").write_text('name = "half"\ndark = true\n', encoding="utf-8")
    (tmp_path / "bad-colour.toml").write_text('name = "ugly"\nprimary = "#12345G"\n',
                                              encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a theme", encoding="utf-8")
    themes, errors = load_themes([tmp_path])
    assert [t.name for t in themes] == ["my-green"]
    assert themes[0].variables["input-selection-background"] == "#2E7D32 30%"
    assert len(errors) == 3
    joined = "\n".join(errors)
    for name in ("bad-toml.toml", "no-primary.toml", "bad-colour.toml"):
        assert f"theme file {tmp_path / name}:" in joined
    assert all("\n" not in e for e in errors)
    assert any("primary" in e for e in errors if "no-primary" in e)
    assert any("#12345G" in e for e in errors if "bad-colour" in e)


def test_every_kind_of_mistake_is_one_line(tmp_path: Path) -> None:
    cases = {
        "no-name.toml": 'primary = "#112233"',
        "empty-name.toml": 'name = "  "\nprimary = "#112233"',
        "dark-text.toml": 'name = "a"\nprimary = "#112233"\ndark = "yes"',
        "primary-number.toml": 'name = "b"\nprimary = 123',
        "spread.toml": 'name = "c"\nprimary = "#112233"\nluminosity_spread = "wide"',
        "typo.toml": 'name = "d"\nprimay = "#112233"\nprimary = "#112233"',
        "variables-list.toml": 'name = "e"\nprimary = "#112233"\nvariables = ["x"]',
        "bad-variable.toml": 'name = "f"\nprimary = "#112233"\n[variables]\nborder = "blurple"',
        "bad-style.toml": ('name = "g"\nprimary = "#112233"\n[variables]\n'
                           'block-cursor-text-style = "shiny"'),
        "variable-number.toml": 'name = "h"\nprimary = "#112233"\n[variables]\nborder = 5',
        "array.toml": "[[name]]\nx = 1",
    }
    for file, text in cases.items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00name")
    themes, errors = load_themes([tmp_path])
    assert themes == []
    assert len(errors) == len(cases) + 1
    for error in errors:
        assert error.startswith("theme file ") and "\n" not in error
        assert str(tmp_path) in error


def test_missing_folder_is_quietly_skipped(tmp_path: Path) -> None:
    assert load_themes([tmp_path / "nowhere"]) == ([], [])


def test_load_theme_file_reads_one(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(GOOD, encoding="utf-8")
    theme = load_theme_file(path)
    assert (theme.name, theme.primary, theme.accent, theme.dark) == (
        "my-green", "#2E7D32", "#FFB300", False)


class ThemedApp(App):
    def __init__(self, folders: list[Path]) -> None:
        super().__init__()
        self.errors = register_themes(self, folders)

    def compose(self) -> ComposeResult:
        yield Static("Hello")


async def test_registered_themes_can_be_used(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "broken.toml").write_text("name = ", encoding="utf-8")
    app = ThemedApp([packaged_themes_dir(), tmp_path])
    assert len(app.errors) == 1 and "broken.toml" in app.errors[0]
    async with app.run_test(size=(80, 24)) as pilot:
        names = available_theme_names(app)
        assert (SHIPPED | {"my-green", "textual-dark", "textual-light"}) <= set(names)
        assert names == sorted(names)
        for name in [*sorted(SHIPPED), "my-green"]:
            app.theme = name
            await pilot.pause()
            assert app.current_theme.name == name
        app.theme = "office-light"
        await pilot.pause()
        # The theme's colours reached the widgets.
        assert app.get_css_variables()["primary"].upper() == "#2B579A"


def test_wheel_configuration_ships_the_themes_inside_the_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert setuptools["package-dir"]["tui_crm._themes"] == "themes"
    assert "*.toml" in setuptools["package-data"]["tui_crm._themes"]
    assert "*.po" in setuptools["package-data"]["tui_crm.locale"]
    listed = set(setuptools["packages"])
    assert "tui_crm._themes" in listed
    # The packages are listed by hand (see pyproject.toml): a new sub-package must be added
    # there, or the wheel would silently miss it.
    on_disk = {
        ".".join(d.relative_to(REPO).parts)
        for d in [REPO / "tui_crm", *(REPO / "tui_crm").rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and not d.name.startswith(".")
        and any(f.suffix in (".py", ".po") for f in d.iterdir())
    }
    missing = sorted(on_disk - listed)
    assert not missing, (
        f"add {missing} to [tool.setuptools] packages in pyproject.toml so the wheel ships them")
    assert {p.name for p in (REPO / "themes").glob("*.toml")} >= {f"{n}.toml" for n in SHIPPED}
