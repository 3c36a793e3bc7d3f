"""A manager with "own" visibility in the real app: the Notes and Payments sections list only
their own records, and quick search (ctrl+f) does not find a colleague's note."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import screen_text, settle, type_text
from tests.unit.team_base import Team, build, word
from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.services.core import users
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.main import MainScreen
from tui_crm.ui.screens.quick_search import QuickSearch

WIDE = (140, 40)


@pytest.fixture
def team_file(tmp_path: Path) -> Iterator[tuple[str, Team]]:
    path = tmp_path / "data" / "team.sqlite3"
    database = open_database(path)
    team = build(users.resolve_actor())
    yield str(path), team
    if not database.is_closed():
        database.close()
    database_proxy.initialize(None)


async def test_a_manager_sees_only_own_notes_and_payments(
        team_file: tuple[str, Team]) -> None:
    path, team = team_file
    app = build_app(path, user="anna", section="notes")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        table = main.table
        assert sorted(table.row_view(r).id for r in range(table.total)) == sorted(
            [team.id("anna", "notes"), team.id("anna", "free notes")])
        text = screen_text(app)
        assert word("anna", "notes") in text
        assert word("boris", "notes") not in text
        assert word("boris", "free notes") not in text

        app.go_to_section("payments")
        await settle(pilot)
        assert main.table.kind == "payments"
        assert [main.table.row_view(r).id for r in range(main.table.total)] == [
            team.id("anna", "payments")]
        text = screen_text(app)
        assert "qannaorg" in text and "qborisorg" not in text  # the clients' names

        await pilot.press("ctrl+f")
        await settle(pilot)
        assert isinstance(app.screen, QuickSearch)
        await type_text(pilot, word("boris", "notes"))
        await settle(pilot)
        assert app.screen.hits == []
        # The same search finds her own note.
        await pilot.press(*["backspace"] * len(word("boris", "notes")))
        await type_text(pilot, word("anna", "notes"))
        await settle(pilot)
        assert [(h.section, h.id) for h in app.screen.hits] == [
            ("notes", team.id("anna", "notes"))]
