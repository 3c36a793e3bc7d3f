"""The one phone rule and the birthday's two-digit year, through the product's three ways in:
the add form (driven with Textual's pilot), `tui-crm add` and `tui-crm import` of a CSV file.
The same typed values must give the same stored values in all three, and the stored phone
must be found by its digits (`tui-crm find 1112233`).

Only the product's entry points are used here (no `tui_crm.text`), so these tests also run
against the code from before the rule was one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tui_crm.cli.main import main
from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.i18n import get_language, set_language
from tui_crm.services.core import records, users

# As typed: an extension, a foreign number without its +, some fullwidth digits.
TYPED = ["+7 495 111-22-33 доб. 123", "375291234567", "8 916 １２３ ４５ 67"]
STORED = [
    {"value": "+7 495 111-22-33 доб. 123", "normalized": "+74951112233;ext=123", "valid": True},
    {"value": "+375 29 123-45-67", "normalized": "+375291234567", "valid": True},
    {"value": "+7 916 123-45-67", "normalized": "+79161234567", "valid": True},
]
BIRTHDAY = "12.05.85"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TUI_CRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUI_CRM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TUI_CRM_LANG", "en")
    monkeypatch.delenv("TUI_CRM_DB", raising=False)
    saved = get_language()
    yield tmp_path
    set_language(saved)
    database_proxy.initialize(None)


def cli(db: str, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main(["--db", db, *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def stored(db: str, capsys: pytest.CaptureFixture[str], contact_id: int) -> tuple[Any, Any]:
    """(phones, birthday) of a contact as `tui-crm show --json` gives them."""
    shown = cli(db, capsys, "show", "contacts", str(contact_id))
    return [{k: p[k] for k in ("value", "normalized", "valid")} for p in shown["phones"]], \
        shown["birthday"]


def found(db: str, capsys: pytest.CaptureFixture[str], text: str) -> list[tuple[str, int]]:
    return [(hit["section"], hit["id"]) for hit in cli(db, capsys, "find", text)]


def through_form(db: str) -> tuple[int, str]:
    """Type the contact into the add form; (its id, the birthday field's hint)."""
    from tests.ui.test_record_form import form_of, run, type_into
    from tui_crm.ui.screens.record_form import RecordForm

    open_database(db)
    actor = users.resolve_actor()
    hints: list[str] = []

    async def scenario(pilot: Pilot, app: Any) -> None:
        form = form_of(app)
        await type_into(pilot, form.query_one("#input-last_name"), "Петров")
        await type_into(pilot, form.query_one("#input-first_name"), "Иван")
        birthday = form.field("birthday")
        await type_into(pilot, form.query_one("#input-birthday"), BIRTHDAY)
        hints.append(birthday.hint)
        phones = form.field("phones")
        for text in TYPED:
            phones.focus_editor()
            await pilot.press("ctrl+n")  # a new phone row, focused
            await pilot.pause()
            await pilot.press(*text)
            await pilot.pause()
        assert [row.hint for row in phones.rows] == ["", "", ""]  # none "not a valid number"
        await pilot.press("ctrl+s")
        await pilot.pause()

    app = run(lambda: RecordForm("contacts", actor), scenario, size=(110, 50))
    [view] = app.results
    assert isinstance(view, records.RecordView)
    database_proxy.obj.close()
    return view.id, hints[0]


def through_cli(db: str, capsys: pytest.CaptureFixture[str]) -> int:
    added = cli(db, capsys, "add", "contacts", "last_name=Петров", "first_name=Иван",
                *(f"phone={text}" for text in TYPED), f"birthday={BIRTHDAY}")
    return added["id"]


def through_import(db: str, capsys: pytest.CaptureFixture[str], folder: Path) -> int:
    rows = [["Фамилия", "Имя", "Телефон 1", "Телефон 2", "Телефон 3", "Дата рождения"],
            ["Петров", "Иван", *TYPED, BIRTHDAY]]
    csv = folder / "contacts.csv"
    csv.write_text("\r\n".join(";".join(row) for row in rows) + "\r\n", encoding="utf-8")
    result = cli(db, capsys, "import", str(csv), "--into", "contacts",
                 "--map", "Телефон 1=phones", "--map", "Телефон 2=phones",
                 "--map", "Телефон 3=phones", "--map", "Дата рождения=birthday")
    assert (result["created"], result["errors"], result["warnings"]) == (1, [], [])
    [contact_id] = [row["id"] for row in cli(db, capsys, "list", "contacts")["rows"]]
    return contact_id


@pytest.mark.parametrize("way", ["form", "cli", "import"])
def test_the_form_the_cli_and_import_store_the_same_phones_and_birthday(
        way: str, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(env / "crm.sqlite3")
    assert main(["--db", db, "init"]) == 0
    capsys.readouterr()
    if way == "form":
        contact_id, hint = through_form(db)
        assert "1985-05-12" in hint  # what the field says it read, as you type
    elif way == "cli":
        contact_id = through_cli(db, capsys)
    else:
        contact_id = through_import(db, capsys, env)

    phones, birthday = stored(db, capsys, contact_id)
    assert phones == STORED  # the same in all three ways
    assert birthday == "1985-05-12"  # never 2085
    # Found by the digits of the number, those of the foreign one, in another notation.
    for query in ("1112233", "291234567", "8 916 123 45 67"):
        assert found(db, capsys, query) == [("contacts", contact_id)], query
    assert main(["--db", db, "show", "contacts", str(contact_id)]) == 0
    card = capsys.readouterr().out
    assert "1985-05-12 (age 4" in card


def test_a_phone_with_an_extension_is_a_duplicate_only_with_the_same_extension(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(env / "crm.sqlite3")
    assert main(["--db", db, "init"]) == 0
    capsys.readouterr()
    first = cli(db, capsys, "add", "contacts", "last_name=Петров",
                "phone=+7 495 111-22-33 доб. 123")
    open_database(db)
    from tui_crm.services.duplicates import duplicates

    actor = users.resolve_actor()
    same = duplicates.find(actor, "contacts", {"last_name": "Сидоров",
                                               "phones": ["8 (495) 111 22 33 ext. 123"]})
    assert [(d.id, d.reasons) for d in same] == [(first["id"], ["phone"])]
    other = duplicates.find(actor, "contacts", {"last_name": "Сидоров",
                                                "phones": ["+7 495 111-22-33 доб. 124"]})
    assert other == []  # another extension of the same switchboard: another person
