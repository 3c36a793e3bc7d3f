"""Every line the UI draws shows control codes in its text as escapes (see terminal_text).

Textual drops only BEL, BS, VT, FF and CR from text; ESC, the C1 codes and the bidi
overrides in a record's name would reach the terminal of whoever looks at it and be acted
on there (retitle the window, clear the screen, reorder what follows). A line filter sees
every widget's lines, the table, the card, the quick search, the toasts and dialogs alike,
so no screen can forget it. Links are checked too: a URL is written inside an escape
sequence, where an ESC in it would end the sequence early.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

from tui_crm.terminal_text import needs_escaping, visible


class VisibleControls(LineFilter):
    """Shows control characters in the text of drawn lines as visible escapes."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not any(needs_escaping(text) or (style is not None and style.link
                                            and needs_escaping(style.link))
                   for text, style, _control in segments):
            return segments
        length = Segment.get_line_length(segments)
        out = []
        for segment in segments:
            text, style, control = segment
            if control:
                out.append(segment)
                continue
            if style is not None and style.link and needs_escaping(style.link):
                style = style + Style(link=visible(style.link))
            out.append(Segment(visible(text), style))
        # Escapes are wider than the characters they show: keep the line's width, so the
        # layout stays as it was (the end of such a line is cut).
        return Segment.adjust_line_length(out, length)
