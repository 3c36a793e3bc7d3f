"""The one rule for "is this the same client": used by the record form's warning
(`duplicates.find`), the base scan (`merging.scan`) and the importer.

Sure — the same client:
  * organizations: the same tax id; a shared phone or e-mail; the same name (quotes and
    legal forms aside) where neither the tax ids, the cities nor the legal names disagree;
  * contacts: a shared phone or e-mail; the same full name and the same company; the same
    full name and the same birthday (a birthday without a year agrees on day and month).
Possible — shown to the user, never acted on by itself:
  * contacts: the same full name with nothing else agreeing (namesakes are common);
  * organizations: the same name under two different legal names ("Blue Software" LLC and
    Corp. in one city);
  * both: a similar name (rapidfuzz token_sort_ratio ≥ NAME_THRESHOLD).
Not the same: contacts of one name whose birthdays differ; organizations of one name with
different tax ids or in different cities.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from tui_crm.i18n import _
from tui_crm.text.names import fuzzy_key, normalize_text

NAME_THRESHOLD = 90  # similar names: token_sort_ratio of their fuzzy keys, 0–100
FUZZY_CANDIDATES = 300  # names sharing a word compared with one name, at most


class Keys(NamedTuple):
    """What the rule compares, normalized by the caller: phones (stored form with the
    extension), e-mails (email_key), the tax id, the name (org_key / person_key), the
    contact's company (an id or a normalized name), the birthday ("YYYY-MM-DD"; a year-less
    one carries the NO_YEAR year) and the organization's city (normalized)."""

    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    inn: str = ""
    name: str = ""
    company: str = ""
    birthday: str = ""
    city: str = ""
    legal: str = ""  # an organization's legal name (legal_key)


@dataclass(frozen=True)
class Verdict:
    reason: str  # translated: "phone", "name and company", …
    sure: bool


def _birthdays_agree(a: str, b: str) -> bool:
    from tui_crm.text.dates import NO_YEAR

    if a == b:
        return True
    unknown = f"{NO_YEAR:04d}"
    if a[:4] == unknown or b[:4] == unknown:
        return a[5:] == b[5:]
    return False


def names_verdict(kind: str, a: Keys, b: Keys, *, similar: bool = False) -> Verdict | None:
    """The rule for two records whose names are equal (or, `similar`, close)."""
    if kind == "organizations":
        if a.inn and b.inn and a.inn != b.inn:
            return None  # two legal entities of one name (branches, namesakes)
        if a.city and b.city and a.city != b.city:
            return None
        if similar:
            return Verdict(_("similar name"), False)
        if a.legal and b.legal and a.legal != b.legal:
            return Verdict(_("name"), False)  # two companies of one trade name
        return Verdict(_("name"), True)
    if a.birthday and b.birthday:
        if not _birthdays_agree(a.birthday, b.birthday):
            return None  # namesakes born on different days
        if not similar:
            return Verdict(_("name and birthday"), True)
    if not similar and a.company and a.company == b.company:
        return Verdict(_("name and company"), True)
    return Verdict(_("similar name") if similar else _("name"), False)


def similar(a: str, b: str) -> float:
    """How close two (normalized) names are, 0–100."""
    return fuzz.token_sort_ratio(fuzzy_key(a), fuzzy_key(b))


def verdict(kind: str, a: Keys, b: Keys, *, fuzzy: bool = False) -> Verdict | None:
    """Whether two records are the same client, surely or possibly, and why."""
    if kind == "organizations" and a.inn and a.inn == b.inn:
        return Verdict(_("tax id"), True)
    if set(a.phones) & set(b.phones):
        return Verdict(_("phone"), True)
    if set(a.emails) & set(b.emails):
        return Verdict(_("e-mail"), True)
    if not a.name or not b.name:
        return None
    if a.name == b.name:
        return names_verdict(kind, a, b)
    if fuzzy and len(a.name) >= 4 and similar(a.name, b.name) >= NAME_THRESHOLD:
        return names_verdict(kind, a, b, similar=True)
    return None


class Index:
    """Records (or rows of a file) by their keys, to find the one a new record matches
    without comparing it with every other: exact keys by dictionary, close names (`fuzzy`)
    among the names that share their longest word."""

    def __init__(self, kind: str, *, fuzzy: bool = False) -> None:
        self.kind = kind
        self.fuzzy = fuzzy
        self.points: dict[tuple[str, str], Hashable] = {}
        self.names: dict[str, list[tuple[Hashable, Keys]]] = {}
        self.words: dict[str, list[str]] = {}  # fuzzy: word → names holding it
        # People: a common name ("Иванов Иван") is shared by hundreds of rows of a big file,
        # and comparing each new row with all of them made an import quadratic (60k people:
        # 10 s matching). These find the same record as comparing in order (`_scan`) with
        # dictionary look-ups; each entry is (its position among the name's records, ref,
        # keys), and only the earliest one of each kind counts.
        self.by_company: dict[tuple[str, str], _Entry] = {}  # earliest, any birthday
        self.undated_by_company: dict[tuple[str, str], _Entry] = {}  # earliest undated
        self.first_undated: dict[str, _Entry] = {}  # the name's earliest undated record
        self.by_day: dict[tuple[str, str], list[_Entry]] = {}  # dated, by month and day

    def add_point(self, point_kind: str, value: str, ref: Hashable) -> None:
        """A phone / e-mail / tax id known to belong to `ref` (the first owner stays)."""
        self.points.setdefault((point_kind, value), ref)

    def add(self, ref: Hashable, keys: Keys, *, points: bool = True) -> None:
        if points:
            for value in keys.phones:
                self.add_point("phone", value, ref)
            for value in keys.emails:
                self.add_point("email", value, ref)
            if keys.inn and self.kind == "organizations":
                self.add_point("inn", keys.inn, ref)
        if keys.name:
            known = self.names.get(keys.name)
            if known is None:
                known = self.names[keys.name] = []
                if self.fuzzy:
                    for word in fuzzy_key(keys.name).split():
                        if len(word) >= 3:
                            self.words.setdefault(word, []).append(keys.name)
            if self.kind == "contacts":
                self._add_person((len(known), ref, keys))
            known.append((ref, keys))

    def _add_person(self, entry: _Entry) -> None:
        keys = entry[2]
        if keys.company:
            self.by_company.setdefault((keys.name, keys.company), entry)
        if keys.birthday:
            self.by_day.setdefault((keys.name, keys.birthday[5:]), []).append(entry)
        else:
            self.first_undated.setdefault(keys.name, entry)
            if keys.company:
                self.undated_by_company.setdefault((keys.name, keys.company), entry)

    def _person(self, keys: Keys) -> tuple[Hashable, Verdict] | None:
        """`_scan` for a person, by look-ups: the earliest record that is surely the same
        (names_verdict), else the earliest that possibly is."""
        name = keys.name
        if name not in self.names:
            return None
        sure: list[_Entry] = []
        if not keys.birthday:  # the company decides, whatever the other's birthday
            if keys.company and (name, keys.company) in self.by_company:
                sure.append(self.by_company[name, keys.company])
            possible = self.names[name][0]  # every namesake possibly is
            chosen = min(sure) if sure else (0, *possible)
        else:
            if keys.company and (name, keys.company) in self.undated_by_company:
                sure.append(self.undated_by_company[name, keys.company])
            sure.extend(e for e in self.by_day.get((name, keys.birthday[5:]), ())
                        if _birthdays_agree(keys.birthday, e[2].birthday))
            if sure:
                chosen = min(sure)
            elif name in self.first_undated:  # a dated namesake born otherwise is not
                chosen = self.first_undated[name]
            else:
                return None
        found = names_verdict(self.kind, keys, chosen[2])
        return None if found is None else (chosen[1], found)

    def find(self, keys: Keys) -> tuple[Hashable, Verdict] | None:
        """The record `keys` is surely the same as, else the first it possibly is."""
        if self.kind == "organizations" and keys.inn:
            hit = self.points.get(("inn", keys.inn))
            if hit is not None:
                return hit, Verdict(_("tax id"), True)
        for point_kind, values, label in (("phone", keys.phones, "phone"),
                                          ("email", keys.emails, "e-mail")):
            for value in values:
                hit = self.points.get((point_kind, value))
                if hit is not None:
                    return hit, Verdict(_(label), True)
        if not keys.name:
            return None
        possible = self._person(keys) if self.kind == "contacts" else self._scan(keys)
        if possible is not None and possible[1].sure:
            return possible
        if possible is None and self.fuzzy and len(keys.name) >= 4:
            words = sorted((w for w in fuzzy_key(keys.name).split() if len(w) >= 3), key=len,
                           reverse=True)
            for candidate in self.words.get(words[0], [])[:FUZZY_CANDIDATES] if words else ():
                if candidate != keys.name and similar(keys.name, candidate) >= NAME_THRESHOLD:
                    for ref, other in self.names[candidate]:
                        found = names_verdict(self.kind, keys, other, similar=True)
                        if found is not None:
                            return ref, found
        return possible

    def _scan(self, keys: Keys) -> tuple[Hashable, Verdict] | None:
        """The records of the same name compared in order: the first one that is surely
        the same, else the first that possibly is (an organization's namesakes are few)."""
        possible: tuple[Hashable, Verdict] | None = None
        for ref, other in self.names.get(keys.name, ()):
            found = names_verdict(self.kind, keys, other)
            if found is not None:
                if found.sure:
                    return ref, found
                possible = possible or (ref, found)
        return possible


# A person in the index: (position among the records of their name, ref, keys).
_Entry = tuple[int, Hashable, Keys]


def legal_key(text: str) -> str:
    """A legal name as the rule compares it: case, quotes and punctuation aside, the legal
    form kept ("ООО «Blue Software»" ≠ "Blue Software Corp.")."""
    return fuzzy_key(normalize_text(text or ""))


def birthday_key(value: Any) -> str:
    """A stored or cleaned birthday as the rule compares it."""
    if value is None or value == "":
        return ""
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value)[:10]


def texts(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(v for v in values if v)
