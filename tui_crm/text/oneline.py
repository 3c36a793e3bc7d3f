"""A user's text as one short line, for a message that quotes it."""

from __future__ import annotations


def one_line(text: str, limit: int = 60) -> str:
    """`text` with its whitespace (new lines too) collapsed, cut to `limit` characters with
    an ellipsis: a pasted paragraph must not turn a one-line message into several."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line
