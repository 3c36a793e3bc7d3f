"""An organization named in a file where its name alone does not tell which one it is.

Two clients may share a name ("Альфа", two "ИП Иванов"). A contact, deal or event exported
with its organization's bare name then cannot find it again on import (the importer asks
for an id, which means nothing in another base). So where a name is shared, an export
writes it with the tax number — "Альфа (ИНН 7707083893)" — and the importer, given such a
text, takes the organization of that name and INN. A name no other organization has is
written as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tui_crm.db import models as m
from tui_crm.text.names import normalize_text

_QUALIFIED = re.compile(r"^(?P<name>.*\S)\s+\((?:ИНН|INN)\s+(?P<inn>\d{10}|\d{12})\)$",
                        re.IGNORECASE)


def qualified(name: str, inn: str) -> str:
    """A name with its tax number ("Альфа (ИНН 7707083893)"), or the name when it has none."""
    return f"{name} (ИНН {inn})" if inn else name


def split(text: str) -> tuple[str, str]:
    """(name, INN) of a text `qualified` made; (text, "") for any other."""
    found = _QUALIFIED.match(text.strip())
    return (found["name"], found["inn"]) if found else (text, "")


class Namesakes:
    """The organizations whose name another one (not in the trash) has too, for one export:
    every name is read once, on first use, then each page asks only for its own ids."""

    def __init__(self) -> None:
        self._counts: dict[str, int] | None = None

    def _shared(self, name: str) -> bool:
        if self._counts is None:
            self._counts = {}
            Org = m.Organization
            for (other,) in Org.select(Org.name).where(Org.deleted_at.is_null()).tuples():
                key = normalize_text(other)  # compared as the importer compares names
                self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts.get(normalize_text(name), 0) > 1

    def names(self, ids: Iterable[int | None]) -> dict[int, str]:
        """`qualified` names of the organizations among `ids` whose name is shared and that
        have an INN (the others are not in the result)."""
        wanted = [i for i in set(ids) if i]
        if not wanted:
            return {}
        Org = m.Organization
        rows = Org.select(Org.id, Org.name, Org.inn).where(Org.id.in_(wanted)).tuples()
        return {i: qualified(name, inn) for i, name, inn in rows
                if inn and self._shared(name)}
