"""The Russian catalogue is complete and consistent with the strings in the code.

Every string literal passed to `_()` or `N_()` anywhere under tui_crm/ must have a
non-empty Russian translation in tui_crm/locale/ru.po, with the same `{placeholders}`.
"""

from __future__ import annotations

import ast
import string
from collections import Counter
from pathlib import Path

import pytest

import tui_crm
from tui_crm import i18n

PACKAGE = Path(tui_crm.__file__).parent
RU_PO = PACKAGE / "locale" / "ru.po"


def _marked_strings() -> dict[str, list[str]]:
    """msgid -> ["path:line", ...] for every `_("...")` / `N_("...")` in the package."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_") and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                found.setdefault(first.value, []).append(where)
    return found


def _po_msgids(text: str) -> list[str]:
    """Every msgid of a .po file in order, duplicates kept (parse_po keeps only the last)."""
    ids: list[str] = []
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("msgid "):
            if current is not None:
                ids.append("".join(current))
            current = [i18n._unquote(line[6:])]
        elif line.startswith("msgstr "):
            if current is not None:
                ids.append("".join(current))
            current = None
        elif line.startswith('"') and current is not None:
            current.append(i18n._unquote(line))
    return ids


def _placeholders(text: str) -> Counter[str]:
    """The `{field!conv:spec}` replacement fields of a format string."""
    fields: Counter[str] = Counter()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields[f"{{{name}{'!' + conversion if conversion else ''}"
                   f"{':' + spec if spec else ''}}}"] += 1
    return fields


@pytest.fixture()
def english():
    yield
    i18n.set_language("en")


def test_every_marked_string_has_a_russian_translation() -> None:
    catalog = i18n.parse_po(RU_PO.read_text(encoding="utf-8"))
    marked = _marked_strings()
    assert len(marked) > 50, "the AST walk found suspiciously few marked strings"
    missing = {msgid: where for msgid, where in marked.items()
               if not catalog.get(msgid, "").strip()}
    report = "\n".join(f"  {msgid!r}  ({', '.join(where[:2])})"
                       for msgid, where in sorted(missing.items()))
    assert not missing, f"{len(missing)} strings have no Russian translation in ru.po:\n{report}"


def test_placeholders_match_between_msgid_and_msgstr() -> None:
    catalog = i18n.parse_po(RU_PO.read_text(encoding="utf-8"))
    broken = []
    for msgid, msgstr in catalog.items():
        try:
            if _placeholders(msgid) != _placeholders(msgstr):
                broken.append(f"  {msgid!r} -> {msgstr!r}")
        except ValueError as exc:  # unbalanced braces
            broken.append(f"  {msgid!r} -> {msgstr!r}: {exc}")
    assert not broken, "placeholders differ:\n" + "\n".join(broken)


def test_catalogue_has_no_duplicate_msgids() -> None:
    ids = _po_msgids(RU_PO.read_text(encoding="utf-8"))
    duplicates = sorted(msgid for msgid, n in Counter(ids).items() if n > 1 and msgid)
    assert not duplicates, "duplicate msgids in ru.po:\n" + "\n".join(
        f"  {d!r}" for d in duplicates)


def test_marked_strings_are_valid_format_strings() -> None:
    bad = []
    for msgid, where in _marked_strings().items():
        try:
            _placeholders(msgid)
        except ValueError as exc:
            bad.append(f"  {msgid!r} ({where[0]}): {exc}")
    assert not bad, "\n".join(bad)


def test_parse_po_basics() -> None:
    text = (
        '# a comment\n'
        'msgid ""\n'
        'msgstr ""\n'
        '"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '\n'
        'msgid "Organizations"\n'
        'msgstr "Организации"\n'
        '\n'
        'msgid "Say \\"hi\\"\\n"\n'
        'msgstr "Скажи \\"привет\\"\\n"\n'
        '\n'
        'msgid ""\n'
        '"Long text, "\n'
        '"second part"\n'
        'msgstr ""\n'
        '"Длинный текст, "\n'
        '"вторая часть"\n'
        '\n'
        'msgid "Untranslated"\n'
        'msgstr ""\n'
        '\n'
        'msgid "Back\\\\slash\\tTab"\n'
        'msgstr "Обратная\\\\черта\\tТаб"\n'
    )
    catalog = i18n.parse_po(text)
    assert catalog == {
        "Organizations": "Организации",
        'Say "hi"\n': 'Скажи "привет"\n',
        "Long text, second part": "Длинный текст, вторая часть",
        "Back\\slash\tTab": "Обратная\\черта\tТаб",
    }
    # The header entry and untranslated entries are left out, so `_()` falls back to English.
    assert "" not in catalog and "Untranslated" not in catalog
    assert _po_msgids(text) == ["", "Organizations", 'Say "hi"\n', "Long text, second part",
                                "Untranslated", "Back\\slash\tTab"]


def test_the_real_catalogue_parses_and_translates(english) -> None:
    catalog = i18n.catalog("ru")
    assert catalog["Organizations"] == "Организации"
    i18n.set_language("ru")
    assert i18n.get_language() == "ru"
    assert i18n._("Organizations") == "Организации"
    assert i18n._("A message nobody translated") == "A message nobody translated"
    assert i18n.N_("Organizations") == "Organizations"
    i18n.set_language("xx")
    assert i18n.get_language() == "en"
    assert i18n._("Organizations") == "Organizations"


# --- what reaches the screen ------------------------------------------------------------------

SNAPSHOTS = Path(__file__).parents[1] / "ui" / "__snapshots__" / "test_screens"


def _svg_lines(path: Path) -> list[str]:
    """The text lines of a screen snapshot (Rich's SVG: one <text> per run of a style, each
    clipped to its line)."""
    import html
    import re

    lines: dict[int, list[str]] = {}
    for line_no, text in re.findall(
            r'<text [^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>([^<]*)</text>',
            path.read_text(encoding="utf-8")):
        lines.setdefault(int(line_no), []).append(html.unescape(text).replace("\xa0", " "))
    return ["".join(parts) for _n, parts in sorted(lines.items())]


# Keys are drawn by their names in every language ("tab", "home" in the help and footer);
# the same words as messages (a "home" phone) are not told apart on screen.
KEY_NAMES = {"tab", "home", "end", "enter", "space", "delete", "insert", "escape"}


def _untranslated_on(lines: list[str], catalog: dict[str, str]) -> set[str]:
    """English messages of the catalogue drawn as they are (not in Russian) on these lines."""
    import re

    drawn = "\n".join(lines)
    found = set()
    for msgid, msgstr in catalog.items():
        if msgid == msgstr or "{" in msgid or len(msgid) < 3 or not re.search("[A-Za-z]", msgid):
            continue
        if msgid in KEY_NAMES:
            continue
        if re.search(r"(?<![\w.@/-])" + re.escape(msgid) + r"(?![\w@/-])", drawn):
            found.add(msgid)
    return found


def test_russian_screens_show_no_english_message() -> None:
    """Every Russian snapshot of tests/ui/test_screens.py (every section, dialog and report
    at 80×24), read as drawn: no message of the catalogue is left in English."""
    catalog = i18n.parse_po(RU_PO.read_text(encoding="utf-8"))
    shots = sorted(SNAPSHOTS.glob("*-ru].svg"))
    assert len(shots) > 40, "the Russian screen snapshots are missing"
    found = {}
    for shot in shots:
        untranslated = _untranslated_on(_svg_lines(shot), catalog)
        if untranslated:
            found[shot.name] = sorted(untranslated)
    assert not found, "English on a Russian screen:\n" + "\n".join(
        f"  {name}: {', '.join(ids)}" for name, ids in sorted(found.items()))


def test_the_screen_check_reads_snapshots_and_finds_english() -> None:
    catalog = {"Focus Next": "Следующее поле", "Organizations": "Организации"}
    assert _untranslated_on(["│ tab  Focus Next   │"], catalog) == {"Focus Next"}
    assert _untranslated_on(["│ tab  Следующее поле │", "organizations.csv"], catalog) == set()
    shot = next(SNAPSHOTS.glob("*help-ru].svg"))
    assert any("Клавиши" in line for line in _svg_lines(shot))


def test_textual_strings_of_the_widgets_we_use_are_listed() -> None:
    """A Textual upgrade that adds a key description to a widget we use fails here, so the
    description gets a translation before it reaches the help screen in English."""
    import textual.widgets as widgets
    from textual.command import CommandPalette
    from textual.containers import ScrollableContainer
    from textual.screen import Screen
    from textual.widgets._select import SelectCurrent, SelectOverlay

    from tui_crm.ui import textual_strings

    classes = [getattr(widgets, name) for name in textual_strings.USED_WIDGETS]
    classes += [CommandPalette, ScrollableContainer, Screen, SelectCurrent, SelectOverlay]
    described = set()
    for cls in classes:
        for base in cls.__mro__:
            for binding in base.__dict__.get("BINDINGS", []):
                description = getattr(binding, "description", None)
                if description is None and isinstance(binding, tuple) and len(binding) > 2:
                    description = binding[2]
                if description:
                    described.add(description)
    listed = set(textual_strings.BINDING_DESCRIPTIONS) | {"Up", "Down", "End", "Page up",
                                                          "Page down", "Next tab",
                                                          "Previous tab"}
    assert described - listed == set()
