"""Snapshots of the main screen at 80×24 and 160×50: fixed data, a fixed clock, a fixed user.

Run `pytest tests/ui/test_snapshots.py --snapshot-update` after an intended change of the
layout and look at the SVGs in tests/ui/__snapshots__/ before committing them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import CrmData, fill, settle
from tui_crm.db import models, open_database
from tui_crm.db.models import database_proxy
from tui_crm.services.core import users
from tui_crm.services.core.identity import Invocation
from tui_crm.ui.app import build_app

FIXED_NOW = dt.datetime(2026, 11, 27, 9, 30)


@pytest.fixture
def fixed_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CrmData:
    """The fixed data set, every record stamped with the same time."""
    monkeypatch.setattr(models, "now", lambda: FIXED_NOW)
    # The fixed user: the seam for another identity than the process's real uid.
    monkeypatch.setattr("tui_crm.services.core.users.current_invocation",
                        lambda: Invocation("tester"))
    path = tmp_path / "data" / "snap.sqlite3"
    database = open_database(path)
    data = fill(users.resolve_actor())
    data.path = str(path)
    database.close()
    database_proxy.initialize(None)
    return data


async def _settle(pilot: Pilot) -> None:
    await settle(pilot)
    pilot.app.screen.table.focus()
    await settle(pilot)


def test_main_screen_80x24(fixed_crm: CrmData, snap_compare) -> None:  # noqa: ANN001
    app = build_app(fixed_crm.path, language="en", section="organizations")
    app.poll_seconds = 0
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)


def test_main_screen_80x24_with_the_card_open(fixed_crm: CrmData, snap_compare) -> None:  # noqa: ANN001
    app = build_app(fixed_crm.path, language="ru", section="organizations")
    app.poll_seconds = 0

    async def open_card(pilot: Pilot) -> None:
        await _settle(pilot)
        await pilot.press("G", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_card)


def test_main_screen_160x50(fixed_crm: CrmData, snap_compare) -> None:  # noqa: ANN001
    app = build_app(fixed_crm.path, language="en", section="organizations")
    app.poll_seconds = 0

    async def go_to_romashka(pilot: Pilot) -> None:
        await _settle(pilot)
        await pilot.press("G")  # Ромашка sorts last by name
        await settle(pilot)

    assert snap_compare(app, terminal_size=(160, 50), run_before=go_to_romashka)
