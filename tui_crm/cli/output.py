"""What the command line prints: plain aligned text or JSON, escaped for the terminal, and
one-line warnings and errors on stderr."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tui_crm.errors import CrmError
from tui_crm.i18n import _
from tui_crm.terminal_text import json_text, visible

PROG = "tui-crm"

class UsageError(CrmError):
    """The command line itself is wrong (unknown option, missing argument, FIELD without =)."""

    exit_code = 2


MAX_CELL = 40  # widest table cell; longer text is cut with "…" (use --json for everything)


def say(text: object = "", *, err: bool = False) -> None:
    """Print text output (stdout, or stderr with `err`). Every command prints through here
    (JSON too, through `emit_json`), so a record's name holding terminal control codes is
    shown escaped instead of acted on by the terminal of whoever lists it; lines and tabs
    are kept (see terminal_text)."""
    print(visible(str(text), keep="\n\t"), file=sys.stderr if err else sys.stdout)


def progress_line(text: str, *, done: bool = False) -> None:
    """Rewrite the progress line on stderr (a terminal's: the caller checks isatty)."""
    sys.stderr.write("\r" + visible(text) + "\033[K" + ("\n" if done else ""))
    sys.stderr.flush()


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def warn(message: str) -> None:
    """`tui-crm: warning: …` on stderr, one line."""
    say(f"{PROG}: " + _("warning: {message}").format(message=one_line(message)), err=True)


def fail(message: str) -> None:
    say(f"{PROG}: {one_line(message)}", err=True)


def emit_json(data: Any, default: Callable[[Any], Any] = str) -> None:
    """`data` as indented JSON with its text exact (escaped the JSON way where needed)."""
    say(json_text(json.dumps(data, ensure_ascii=False, indent=2, default=default)))


def display_width(text: str) -> int:
    """Columns a text takes in a terminal (wide East Asian characters and emoji take two)."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, limit: int) -> str:
    text = one_line(visible(text, keep="\n\t"))  # measured as shown
    if display_width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
           right: Sequence[int] = ()) -> str:
    """Aligned plain-text columns with a dashed rule under the headers."""
    cells = [[fit("" if v is None else str(v), MAX_CELL) for v in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], display_width(value))
    lines = ["  ".join(pad(h, widths[i]) for i, h in enumerate(headers)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join(pad(v, widths[i], i in right)
                               for i, v in enumerate(row)).rstrip())
    return "\n".join(lines)


def card(pairs: Iterable[tuple[str, str]]) -> str:
    """`Label:  value` lines with the values aligned; multi-line values are indented."""
    pairs = [(label, value) for label, value in pairs if value not in (None, "")]
    width = max((display_width(label) for label, _v in pairs), default=0) + 1
    lines = []
    for label, value in pairs:
        first, *rest = visible(str(value), keep="\n\t").splitlines() or [""]
        lines.append(f"{pad(label + ':', width)}  {first}")
        lines.extend(" " * (width + 2) + line for line in rest)
    return "\n".join(lines)
