"""From the main screen: fill a .docx template from the record under the cursor (w), and find
likely duplicates and merge a pair side by side (D)."""

from __future__ import annotations

from pathlib import Path

from docx import Document

from tests.ui.conftest import CrmData, settle
from tui_crm.services.core import records
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.merge import MergeScreen
from tui_crm.ui.screens.pick import PickModal

SIZE = (120, 40)


def _with_contact(crm: CrmData) -> int:
    for contact_id in crm.contacts.values():
        org = records.get(crm.admin, "contacts", contact_id).values["organization"]
        if org:
            return org
    raise AssertionError("the fixed data has a contact in an organization")


async def test_document_from_the_record_under_the_cursor(crm: CrmData, tmp_path: Path,
                                                         monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HOME", str(tmp_path))  # documents are written to ~/Documents or ~
    org_id = _with_contact(crm)
    title = records.get(crm.admin, "organizations", org_id).title
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_record("organizations", org_id)
        await settle(pilot)
        assert app.main_screen.table.current_id == org_id
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, PickModal)
        names = [name for _key, name in app.screen.choices]
        assert {"contract", "invoice", "letter"} <= set(names)
        app.screen.dismiss(next(k for k, n in app.screen.choices if n == "letter"))
        await settle(pilot)
        messages = [n.message for n in app._notifications]
    [written] = list(tmp_path.glob("letter - *.docx"))
    assert any(str(written) in m for m in messages)
    text = "\n".join(p.text for p in Document(str(written)).paragraphs)
    assert title in text


async def test_duplicates_scan_then_merge(crm: CrmData) -> None:
    keep = records.create(crm.admin, "organizations", {"name": "Дубликат Трейд",
                                                       "source": "Website",
                                                       "phones": ["+7 916 555-44-33"]})
    other = records.create(crm.admin, "organizations", {"name": "Дубликат-Трейд",
                                                        "source": "Website",
                                                        "phones": ["8 (916) 555 44 33"],
                                                        "city": "Тверь"})
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, PickModal)
        keys = [key for key, _line in app.screen.choices]
        pair = next(k for k in keys if set(k.split(":")) == {str(keep.id), str(other.id)})
        app.screen.dismiss(pair)
        await settle(pilot)
        assert isinstance(app.screen, MergeScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
    kept_id, gone_id = (int(x) for x in pair.split(":"))
    assert records.get(crm.admin, "organizations", gone_id).deleted_at is not None
    kept = records.get(crm.admin, "organizations", kept_id)
    assert kept.deleted_at is None and kept.values["city"] == "Тверь"


async def test_the_card_shows_purchase_frequency_and_payments(crm: CrmData) -> None:
    org_id = _with_contact(crm)
    for day, amount in (("2026-01-10", "1000"), ("2026-02-10", "3000"), ("2026-03-10", "2000")):
        records.create(crm.admin, "payments", {"date": day, "amount": amount,
                                               "organization": org_id})
    app = build_app(crm.path, section="organizations")
    app.poll_seconds = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_record("organizations", org_id)
        await settle(pilot)
        detail = app.main_screen.detail
        detail.query_one("TabbedContent").active = "deals"
        await settle(pilot)
        listing = detail.query_one("#deals-list")
        text = "\n".join(str(listing.get_option_at_index(i).prompt)
                         for i in range(listing.option_count))
    # The fixed data already has one payment of 75,000.00 for this organization.
    assert "Purchases: rare  payments: 4, total 81,000.00" in text
    assert "Average payment: 20,250.00" in text and "Last payment: 2026-10-25" in text
