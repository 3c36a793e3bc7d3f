"""The import wizard and the merge screen in a tiny host app, on a real SQLite file: a file
is chosen, its columns mapped (one by hand), the preview read, the import run, undone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.i18n import set_language
from tui_crm.services.core import records, users
from tui_crm.services.core.rights import Actor
from tui_crm.ui.screens.import_wizard import ImportWizard
from tui_crm.ui.screens.merge import MergeScreen


@pytest.fixture
def actor(tmp_path: Path) -> Actor:
    set_language("en")
    db = open_database(tmp_path / "crm.db")
    acting = users.resolve_actor()
    yield acting
    db.close()
    database_proxy.initialize(None)


class Host(App[None]):
    def __init__(self, make: Callable[[], Screen]) -> None:
        super().__init__()
        self.make = make
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.make(), callback=self.results.append)


def run(make: Callable[[], Screen], scenario: Callable[[Pilot, Host], Awaitable[None]]) -> Host:
    app = Host(make)

    async def main() -> None:
        async with app.run_test(size=(120, 46)) as pilot:
            await pilot.pause()
            await scenario(pilot, app)

    asyncio.run(main())
    return app


async def settle(pilot: Pilot) -> None:
    """Wait for the wizard's workers (not the directory tree's loader, which never ends)."""
    for _round in range(3):
        await pilot.pause()
        mine = [w for w in pilot.app.workers if w.group.startswith("import")]
        await asyncio.gather(*(w.wait() for w in mine), return_exceptions=True)
    await pilot.pause()


def text(widget: Label | Static) -> str:
    return str(widget.render())


def test_wizard_from_file_choice_to_done_and_undo(tmp_path: Path, actor: Actor) -> None:
    records.create(actor, "organizations", {"name": "ООО Давний", "source": "Website",
                                            "phones": ["+7 916 000-00-01"]})
    path = tmp_path / "clients.csv"
    path.write_bytes("Клиенты на сегодня\n\nНазвание фирмы;Телефон;E-mail;Статус\n"
                     "ООО Новый;+7 916 000-00-02;new@firm.ru;Клиент\n"
                     "ООО Давний дубль;8 916 000 00 01;;\n"
                     "ООО Плохой;;плохой@;непонятно\n".encode("cp1251"))

    async def scenario(pilot: Pilot, app: Host) -> None:
        wizard = app.screen
        assert isinstance(wizard, ImportWizard) and wizard.step == "step-file"
        wizard.query_one("#file-path", Input).value = str(path)
        await pilot.click("#file-next")
        await settle(pilot)
        assert wizard.step == "step-map"
        assert "cp1251" in text(wizard.query_one("#source-info", Label))
        assert wizard.query_one("#encoding", Select).value == "cp1251"
        assert wizard.query_one("#delimiter", Select).value == ";"
        # "Название фирмы" is no known header: the user maps it by hand.
        assert wizard.query_one("#map-0", Select).value == ""
        assert wizard.query_one("#map-1", Select).value == "phones"
        wizard.query_one("#map-0", Select).value = "name"
        await pilot.click("#map-next")
        await settle(pilot)
        assert wizard.step == "step-preview"
        summary = text(wizard.query_one("#preview-summary", Label))
        assert "3 rows: 2 to create" in summary and "1 in the base" in summary
        table = wizard.query_one("#preview-table", DataTable)
        assert table.row_count == 3
        problems = [str(table.get_cell(str(row), "problems")) for row in (4, 5, 6)]
        outcomes = [str(table.get_cell(str(row), "outcome")) for row in (4, 5, 6)]
        assert problems[0] == "" and outcomes[0] == "created"
        # The row that duplicates a client is named with what happens to it and why.
        assert outcomes[1].startswith("skipped — same phone as #1")
        assert "e-mail" in problems[2].lower() and "Status" in problems[2]
        await pilot.click("#policy-merge")
        await pilot.pause()
        assert "1 to merge" in text(wizard.query_one("#preview-summary", Label))
        assert str(table.get_cell("5", "outcome")).startswith("merged — merged into #1")
        await pilot.click("#preview-import")
        await settle(pilot)
        assert wizard.step == "step-done"
        assert "2 created, 1 merged" in text(wizard.query_one("#done-summary", Label))
        assert "row 6" in text(wizard.query_one("#done-problems", Static))
        assert records.total("organizations") == 3
        await pilot.click("#done-undo")
        await settle(pilot)
        assert "undone" in text(wizard.query_one("#done-summary", Label))
        assert records.total("organizations") == 1
        assert wizard.query_one("#done-undo", Button).disabled
        await pilot.click("#done-close")
        await pilot.pause()

    app = run(lambda: ImportWizard(actor, "organizations", folder=tmp_path), scenario)
    assert app.results == [None]


def test_wizard_lets_the_user_decide_on_namesakes(tmp_path: Path, actor: Actor) -> None:
    first = records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван"})
    path = tmp_path / "people.csv"
    path.write_bytes("ФИО;Компания;Откуда\nИванов Иван;Лютик;реклама\nПетров Пётр;;\n"
                     .encode())

    async def scenario(pilot: Pilot, app: Host) -> None:
        wizard = app.screen
        assert isinstance(wizard, ImportWizard)
        wizard.query_one("#file-path", Input).value = str(path)
        await pilot.click("#file-next")
        await settle(pilot)
        await pilot.click("#map-next")
        await settle(pilot)
        assert wizard.step == "step-preview"
        summary = text(wizard.query_one("#preview-summary", Label))
        assert "2 to create" in summary and "1 rows only share a name" in summary
        assert "Ignored columns: Откуда" in summary
        table = wizard.query_one("#preview-table", DataTable)
        assert str(table.get_cell("2", "outcome")).startswith(
            f"created — possible duplicate of #{first.id} Иванов Иван")
        await pilot.click("#possible-skip")
        await pilot.pause()
        assert "1 to create" in text(wizard.query_one("#preview-summary", Label))
        assert str(table.get_cell("2", "outcome")).startswith("skipped — possibly the same")
        await pilot.click("#preview-import")
        await settle(pilot)
        assert "1 created" in text(wizard.query_one("#done-summary", Label))
        assert "row 2: skipped: possibly the same as" in text(
            wizard.query_one("#done-problems", Static))
        assert records.total("contacts") == 2

    run(lambda: ImportWizard(actor, "contacts", folder=tmp_path), scenario)


def test_wizard_reports_a_bad_file_and_rereads_another_encoding(tmp_path: Path,
                                                               actor: Actor) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 truncated")
    good = tmp_path / "people.csv"
    good.write_bytes("Фамилия,Имя\nИванов,Иван\n".encode("cp1251"))

    async def scenario(pilot: Pilot, app: Host) -> None:
        wizard = app.screen
        assert isinstance(wizard, ImportWizard)
        wizard.query_one("#file-path", Input).value = str(broken)
        await pilot.click("#file-next")
        await settle(pilot)
        assert wizard.step == "step-file"
        assert "damaged" in text(wizard.query_one("#file-error", Static))
        wizard.query_one("#file-path", Input).value = str(good)
        await pilot.click("#file-next")
        await settle(pilot)
        assert wizard.query_one("#delimiter", Select).value == ","
        wizard.query_one("#encoding", Select).value = "koi8-r"
        await settle(pilot)
        assert wizard.table is not None and wizard.table.encoding == "koi8-r"
        wizard.query_one("#encoding", Select).value = "cp1251"
        await settle(pilot)
        assert wizard.table.headers == ["Фамилия", "Имя"]
        await pilot.click("#map-next")
        await settle(pilot)
        await pilot.click("#preview-import")
        await settle(pilot)
        assert "1 created" in text(wizard.query_one("#done-summary", Label))
        await pilot.press("escape")
        await pilot.pause()

    app = run(lambda: ImportWizard(actor, "contacts", folder=tmp_path), scenario)
    assert app.results[0].created == 1
    assert records.list_records(actor, "contacts").rows[0].title == "Иванов Иван"


def test_merge_screen_chooses_fields_side_by_side(tmp_path: Path, actor: Actor) -> None:
    keep = records.create(actor, "organizations", {"name": "ООО Ромашка", "source": "Website",
                                                   "city": "Москва"})
    other = records.create(actor, "organizations", {"name": "Ромашка", "source": "Website",
                                                    "city": "Тверь", "inn": "7707083893"})
    records.create(actor, "events", {"event_type": "call", "starts_at": "2026-01-10 10:00",
                                     "organization": other.id})

    async def scenario(pilot: Pilot, app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, MergeScreen)
        table = screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        labels = [str(r[0]) for r in rows]
        city = labels.index("City")
        assert str(rows[labels.index("Tax id (INN)")][3]) == "→"  # empty here: theirs
        table.move_cursor(row=city)
        await pilot.press("right")
        await pilot.pause()
        assert str(table.get_cell_at((city, 3))) == "→"
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: MergeScreen(actor, "organizations", keep.id, other.id), scenario)
    result = app.results[0]
    assert result.record.values["city"] == "Тверь"
    assert result.record.values["inn"] == "7707083893"
    assert result.record.values["name"] == "ООО Ромашка"
    assert result.moved == {"events": 1}
