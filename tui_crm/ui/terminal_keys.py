"""Keys as terminals send them, where Textual reads the bytes otherwise.

alt+digit: xterm, GNOME Terminal, Konsole, PuTTY, tmux, ssh, and a browser's terminal
(xterm.js, under `tui-crm serve`) send alt+3 as Esc then "3". Textual 8 reads Esc+digit as
what WezTerm on macOS sends for Option+digit and reports the character that key types there
("£"), so alt+1…alt+9 never reached a binding. Without those entries its parser reads
Esc+digit as it reads Esc+any other character: alt+digit.

And a typed character Option+digit gives on a Mac (a browser on macOS hands the page "™"
for Option+2): outside a text box it stands for alt+digit too (`mac_option_digit`).
"""

from __future__ import annotations

from textual import _ansi_sequences

DIGITS = "0123456789"
# What Option+1…Option+9 type with a Mac's US and British layouts.
_MAC_OPTION = {"¡": "1", "™": "2", "£": "3", "¢": "4", "∞": "5", "§": "6", "¶": "7",
               "•": "8", "ª": "9"}


def read_esc_digit_as_alt() -> None:
    """Esc+digit is alt+digit (idempotent; the table is read at every key)."""
    table = _ansi_sequences.ANSI_SEQUENCES_KEYS
    if isinstance(table, dict):  # typed as a Mapping; a dict in every Textual 8 release
        for digit in DIGITS:
            table.pop("\x1b" + digit, None)


def mac_option_digit(character: str | None) -> str:
    """The digit whose Option key types `character` on a Mac, else ""."""
    return _MAC_OPTION.get(character or "", "")
