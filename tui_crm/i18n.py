"""Translation: `_()` for every user-facing string, English source, Russian catalogue.

The catalogue is a plain gettext .po file (tui_crm/locale/ru.po) read by a tiny parser,
so no compile step is needed and a test can check that every `_("...")` has a translation.
"""

from __future__ import annotations

import locale
import os
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "ru")
_LOCALE_DIR = Path(__file__).parent / "locale"
_current = "en"


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        s = s[1:-1]
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_po(text: str) -> dict[str, str]:
    """Parse the msgid/msgstr pairs of a .po file (no plurals, no contexts)."""
    catalog: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    target: list[str] | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            key = "".join(msgid)
            value = "".join(msgstr)
            if key and value:
                catalog[key] = value

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [_unquote(line[6:])], None
            target = msgid
        elif line.startswith("msgstr "):
            msgstr = [_unquote(line[7:])]
            target = msgstr
        elif line.startswith('"') and target is not None:
            target.append(_unquote(line))
    flush()
    return catalog


@cache
def catalog(language: str) -> dict[str, str]:
    """The translations of one language (empty for English, the source language)."""
    path = _LOCALE_DIR / f"{language}.po"
    if language == "en" or not path.exists():
        return {}
    return parse_po(path.read_text(encoding="utf-8"))


def detect_language() -> str:
    """The language from TUI_CRM_LANG or the locale environment; English otherwise."""
    for var in ("TUI_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            return code if code in LANGUAGES else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "ru" if loc.lower().startswith("ru") else "en"


def set_language(language: str) -> None:
    """Switch the language of every later `_()` call."""
    global _current
    _current = language if language in LANGUAGES else "en"


def get_language() -> str:
    return _current


def _(message: str) -> str:
    """Translate a message into the current language."""
    if _current == "en":
        return message
    return catalog(_current).get(message, message)


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (translated where shown)."""
    return message
