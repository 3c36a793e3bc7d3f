"""Lossless round trips: a whole demo base (3,000 contacts with namesakes, extensions,
birthdays without a year and every field filled) exported to each format that can carry records back (.xlsx, .csv,
.ods, .vcf) and imported into a fresh base gives the same records, field by field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tui_crm.db import models as m
from tui_crm.db import open_database
from tui_crm.services.core import identity, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.ops import demo, demo_words
from tui_crm.services.transfer import export_views, exporting, importing
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.text.dates import NO_YEAR

ORGS, CONTACTS = 1000, 3000
# What a table export (.xlsx, .csv, .ods) carries: every field a user edits. Not compared:
# the last / next contact dates (made from the events, which are not exported), the
# primary phone and e-mail (the first of the lists, which are compared) and the photo.
TABLE_FIELDS = {
    "organizations": ["name", "legal_name", "inn", "industry", "city", "address", "website",
                      "status", "category", "owner", "group", "source", "cadence_days",
                      "opt_out", "notes"],
    "contacts": ["last_name", "first_name", "middle_name", "organization", "position", "role",
                 "is_decision_maker", "birthday", "hobbies", "registration_address",
                 "residence_address", "owner", "group", "source", "cadence_days", "opt_out",
                 "notes"],
}
# What a vCard carries (standard properties and vcard.X_PROPERTIES).
VCARD_FIELDS = {
    "organizations": ["name", "legal_name", "inn", "industry", "city", "address", "website",
                      "status", "category", "source", "opt_out", "notes"],
    "contacts": ["last_name", "first_name", "middle_name", "organization", "position", "role",
                 "is_decision_maker", "birthday", "hobbies", "registration_address",
                 "residence_address", "source", "opt_out", "notes"],
}


def snapshot(actor: Actor, kind: str, fields: list[str]) -> Counter:
    """The records of a section as a multiset of tuples: the fields (references by name),
    phones / e-mails / messengers with their types, tags."""
    out: Counter = Counter()
    for view in export_views.iter_views(actor, kind):
        row: list[Any] = []
        for name in fields:
            value = view.values.get(name)
            if name in ("organization", "owner", "group", "source"):
                value = view.display.get(name, "")
            row.append(value if value not in (None, "") else None)
        row.append(tuple((p.kind, p.type, p.normalized) for p in view.points))
        row.append(tuple(sorted(view.tags)))
        out[tuple(row)] += 1
    return out


def _differences(before: Counter, after: Counter, fields: list[str]) -> str:
    gone, new = before - after, after - before
    lines = [f"{sum(gone.values())} records differ; e.g."]
    for (old, _n), (made, _m) in zip(list(gone.items())[:3], list(new.items())[:3],
                                      strict=False):
        names = [*fields, "points", "tags"]
        lines.append("; ".join(f"{n}: {a!r} -> {b!r}" for n, a, b in
                               zip(names, old, made, strict=True) if a != b))
    return "\n".join(lines)


def _forget_some_years() -> None:
    """Every tenth contact's birthday without a year (as phones export them, "--0308")."""
    for contact in m.Contact.select(m.Contact.id, m.Contact.birthday):
        if contact.id % 10:
            continue
        m.Contact.update(birthday=contact.birthday.replace(year=NO_YEAR)).where(
            m.Contact.id == contact.id).execute()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["xlsx", "csv", "ods", "vcf"])
@pytest.mark.parametrize("on_duplicate", ["create", None])
def test_a_whole_demo_base_survives_export_and_import(tmp_path: Path, fmt: str,
                                                      on_duplicate: str | None) -> None:
    """`create`: every row made a record (what the export writes, compared). The default
    (None): the importer's duplicate rule must also tell namesakes from duplicates."""
    open_database(tmp_path / "a.sqlite")
    demo.generate(orgs=ORGS, contacts=CONTACTS, events=0, seed=16, complete=True)
    actor = users.actor_for(identity.os_login())
    _forget_some_years()
    fields = VCARD_FIELDS if fmt == "vcf" else TABLE_FIELDS
    before = {kind: snapshot(actor, kind, fields[kind]) for kind in fields}
    people = [key for key in before["contacts"].elements()]
    names = Counter(key[:3] for key in people)
    assert sum(before["contacts"].values()) == CONTACTS
    assert any(n > 1 for n in names.values()), "the demo has namesakes"
    assert any("ext=" in p[2] for key in people for p in key[-2]), "and extensions"
    assert any(key[7].year == NO_YEAR for key in people), "and birthdays without a year"
    assert all(None not in key[:len(fields["contacts"])] for key in people[:50]), \
        "every field filled"
    files = {kind: tmp_path / f"{kind}.{fmt}" for kind in fields}
    for kind, path in files.items():
        exporting.export(actor, kind, path)

    open_database(tmp_path / "b.sqlite")
    actor = users.resolve_actor()
    for login, full_name, role in demo_words.DEMO_USERS:
        users.add_user(actor, login, role=role, full_name=full_name)
    for kind, path in files.items():
        options = ImportOptions(kind=kind, **({"on_duplicate": on_duplicate} if on_duplicate
                                              else {}))
        result = importing.import_file(actor, path, options)
        assert not result.errors, result.errors[:5]
        after = snapshot(actor, kind, fields[kind])
        assert sum(after.values()) == sum(before[kind].values()), kind
        assert after == before[kind], _differences(before[kind], after, fields[kind])
