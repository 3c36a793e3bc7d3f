"""A .vcf file read as a table for the importer: one row per card, its columns the target
fields (so the mapping is automatic); a card that cannot be read is a row with its problem,
so the others still import. The cards are parsed by the codec, transfer/vcard.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_crm.i18n import _
from tui_crm.services.transfer.readers.table import ImportFileError, SourceTable
from tui_crm.services.transfer.readers.text import decode_text
from tui_crm.services.transfer.vcard import HEADERS, card_values, parse


def read_table(path: Path, data: bytes, *, encoding: str | None = None) -> SourceTable:
    """A .vcf file as an importer SourceTable: one row per card; a bad card is a row with
    its problem, so the others still import."""
    text, used, guessed = decode_text(data, encoding, path.name)
    cards = parse(text)
    if not cards:
        raise ImportFileError(_("{name} holds no vCard (no BEGIN:VCARD line).").format(
            name=path.name))
    rows: list[list[Any]] = []
    problems: dict[int, str] = {}
    versions = set()
    for card in cards:
        values = {} if card.error else card_values(card)
        versions.add(card.version or "?")
        if card.error:
            problems[card.number] = card.error
        elif not any(values.get(k) for k in ("last_name", "first_name", "organization")):
            problems[card.number] = _("card {n} (line {line}) has no name").format(
                n=card.number, line=card.line)
        rows.append([values.get(h, "") for h in HEADERS])
    table = SourceTable(path=path, format="vcf", headers=list(HEADERS), rows=rows, first_row=1,
                        encoding=used,
                        notes=[_("vCard {versions}: {count} cards; row numbers are card"
                                 " numbers").format(versions=", ".join(sorted(versions)),
                                                    count=len(cards))],
                        problems=problems)
    if guessed:
        table.notes.append(guessed)
    for card in cards:
        for problem in card.problems:
            table.notes.append(_("card {n}: {problem}").format(n=card.number, problem=problem))
    return table
