"""Russian → Latin transliteration for machine names (custom field keys, file names)."""

from __future__ import annotations

import re

_TABLE = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
})


def slug(text: str) -> str:
    """`Дата договора` → `data_dogovora`."""
    latin = text.strip().lower().translate(_TABLE)
    key = re.sub(r"[^a-z0-9]+", "_", latin).strip("_")
    if not key or key[0].isdigit():
        key = f"f_{key}"
    return key
