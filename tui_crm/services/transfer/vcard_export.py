"""Contacts and organizations written as vCards: the records a query matches as one .vcf
file, or one record's card (to share a single contact). The cards are written by the
codec, transfer/vcard.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import records
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import export_views, org_names, vcard


def export_file(actor: Actor, kind: str, path: Path, *, query: ListQuery | None = None,
                version: str = "3.0", progress: Callable[[int, int], None] | None = None) -> int:
    """Write the contacts or organizations `query` matches as one .vcf file."""
    if kind not in ("contacts", "organizations"):
        raise ValidationError({"format": _("Only contacts and organizations can be exported"
                                           " as vCards.")})
    count = 0
    namesakes = org_names.Namesakes()
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        for view in export_views.iter_views(actor, kind, query, progress):
            handle.write(vcard.card_text(view, version, namesakes))
            count += 1
    return count


def record_card(actor: Actor, kind: str, record_id: int, version: str = "3.0") -> str:
    """One record's vCard (to share a single contact)."""
    return vcard.card_text(records.get(actor, kind, record_id), version)
