"""Text from the database shown on a terminal without the terminal acting on it.

A record's fields may hold characters a terminal executes instead of showing: ESC starts
control sequences (retitle the window, clear the screen, write a fake prompt), C1 codes such
as CSI (U+009B) do the same on some terminals, DEL and backspace erase, a carriage return
overwrites the line, and the bidi embeddings, overrides and isolates reorder what follows so
that text reads as something else. `visible()` writes each of them as an escape a person can
see (`\\x1b`, `\\u202e`); everything else, Cyrillic and emoji included, is left as it is. The
stored data never changes: JSON output keeps it exact (`json_text`).
"""

from __future__ import annotations

import functools
import re

# C0 controls, DEL and C1 controls; bidi embeddings and overrides (U+202A–U+202E) and
# isolates (U+2066–U+2069).
UNSAFE = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"


@functools.lru_cache(maxsize=8)
def _pattern(keep: str) -> re.Pattern[str]:
    """The unsafe characters except those in `keep` (a newline where text is shown as lines)."""
    kept = "".join(f"\\x{ord(ch):02x}" for ch in keep)
    return re.compile(f"(?![{kept}])[{UNSAFE}]" if kept else f"[{UNSAFE}]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible(text: str, keep: str = "") -> str:
    """`text` with every character a terminal would act on written as a visible escape;
    `keep` names control characters to leave (e.g. "\\n\\t" where text is shown as lines)."""
    pattern = _pattern(keep)
    return pattern.sub(_escaped, text) if pattern.search(text) else text


def needs_escaping(text: str) -> bool:
    """Whether `visible(text)` differs from `text`."""
    return _pattern("").search(text) is not None


def json_text(dumped: str) -> str:
    """JSON from json.dumps(..., ensure_ascii=False) made safe for a terminal with the same
    meaning: json.dumps escapes C0 controls itself but not DEL, C1 or the bidi controls,
    which can only occur inside strings, where `\\uXXXX` stands for exactly that character.
    Newlines are kept: they are the indentation's, never a string's."""
    pattern = _pattern("\n")
    return pattern.sub(_json_escaped, dumped) if pattern.search(dumped) else dumped
