"""Record ids as people type them: `7` or `#7`, ASCII digits only ("²" and "٣" are digits to
`str.isdigit`), and never beyond what an id column holds (a larger number would be a
driver error, not "no such record")."""

from __future__ import annotations

LARGEST_ID = 2**63 - 1  # a signed 64-bit integer column


def is_storable_id(value: object) -> bool:
    """Whether `value` is an int an id column can hold (1 … 2**63 − 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= LARGEST_ID


def parse_id(text: str) -> int | None:
    """The id written in `text` (`7`, `#7`, with spaces around), or None."""
    raw = str(text).strip().removeprefix("#")
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if is_storable_id(value) else None
