"""Names of people and organizations: how they are split, written and compared.

* `sort_key`: how a name sorts (Ё with Е), the same rule the lists' ORDER BY uses.
* `normalize_text`: the search form of any text (casefolded, ё = е, whitespace collapsed).
* `org_key`: an organization's name for matching (quotes and legal forms dropped:
  «Ромашка», ООО "Ромашка" and Ромашка LLC are one name).
* `fuzzy_key`: a key for close-name matching (punctuation as spaces: Ромашка-Трейд is
  Ромашка Трейд).
* `person_key`: a person's name for matching (last, first, middle, normalized).
* `split_full_name`, `full_name`, `short_name`, `western_name`: one full name in a cell or a
  vCard into its parts, and the parts back into the forms lists, documents and vCards use.
"""

from __future__ import annotations

import re

_QUOTES_RE = re.compile(r"[«»\"'“”„‘’`]")
_LEGAL_FORMS_RE = re.compile(
    r"\b(?:ооо|оао|зао|пао|нао|ао|ип|llc|ltd|inc|corp|gmbh)\b\.?",
)
_PUNCTUATION = re.compile(r"[\W_]+")
# Russian patronymics, and the Turkic "оглы"/"кызы" written as a separate word.
_PATRONYMIC = re.compile(r"(вич|вна|ична|инична|ьич|оглы|кызы)$", re.IGNORECASE)


# Russian dictionaries sort Ё with Е: the one sort rule, applied by `sort_key` in Python
# and, letter for letter, by the database's ORDER BY (services.core.records.sort_column).
SORT_SAME_AS = (("Ё", "Е"), ("ё", "е"))


def sort_key(text: str) -> str:
    """A name as it sorts: Ё as Е (so "Ёлка" comes between "Елена" and "Жук", not first)."""
    for letter, same in SORT_SAME_AS:
        text = text.replace(letter, same)
    return text


def normalize_text(text: str) -> str:
    """Search form of a text: casefolded, ``ё`` → ``е``, whitespace collapsed and stripped."""
    return " ".join(text.casefold().replace("ё", "е").split())


def org_key(name: str) -> str:
    """An organization's name for duplicate matching: normalize_text without quotes and
    legal forms (ООО, АО, ИП, LLC, Ltd, Inc, ...)."""
    value = _QUOTES_RE.sub(" ", normalize_text(name))
    value = _LEGAL_FORMS_RE.sub(" ", value)
    return " ".join(value.split()).strip(" ,;-")


def fuzzy_key(name: str) -> str:
    """A (normalized) name with punctuation as spaces ("ромашка-трейд" = "ромашка трейд")."""
    return " ".join(_PUNCTUATION.sub(" ", name).split())


def person_key(last: str | None, first: str | None, middle: str | None = "") -> str:
    """A person's name for duplicate matching: last, first and middle name, normalized."""
    return normalize_text(" ".join(str(p or "") for p in (last, first, middle)))


def split_full_name(text: str, *, western: bool = False) -> tuple[str, str, str]:
    """(last, first, middle) of a full name. Russian order (Петров Иван Сергеевич) unless
    `western` (a vCard's or Outlook's display name: Ivan Petrov); a patronymic decides
    whatever the order: "Иван Сергеевич Петров" is Петров Иван Сергеевич."""
    words = text.split()
    if not words:
        return "", "", ""
    if len(words) == 1:
        return words[0], "", ""
    if len(words) >= 3 and _PATRONYMIC.search(words[2]):
        return words[0], words[1], " ".join(words[2:])
    if len(words) >= 3 and _PATRONYMIC.search(words[1]):
        return words[-1], words[0], words[1]
    if western:
        return words[-1], words[0], " ".join(words[1:-1])
    return words[0], words[1], " ".join(words[2:])


def full_name(last: str | None, first: str | None, middle: str | None = "") -> str:
    """The name as lists show it: last, first, middle (Петров Иван Сергеевич)."""
    return " ".join(p for p in (last, first, middle) if p)


def short_name(last: str | None, first: str | None, middle: str | None = "") -> str:
    """The last name with initials, as documents write it (Петров И. С.)."""
    initials = "".join(f" {p[0]}." for p in (first, middle) if p)
    return f"{last or ''}{initials}".strip()


def western_name(last: str | None, first: str | None, middle: str | None = "") -> str:
    """The name in the order of a vCard's FN: first, middle, last (Иван Сергеевич Петров)."""
    return " ".join(p for p in (first, middle, last) if p)
