"""Importing organizations and contacts from files the tests write: CSV in every encoding,
.xlsx, .ods, .xls; the header under a title; automatic and manual mapping; per-row
problems; duplicates in the file and in the base; bad files; all-or-nothing (an error,
Ctrl-C and kill -9 in the middle change nothing); undo; the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.conftest import count_rows
from tui_crm.cli import transfer as cli_transfer
from tui_crm.db import models as m
from tui_crm.db import open_database
from tui_crm.db.import_models import ImportRun
from tui_crm.db.models import database_proxy
from tui_crm.errors import CrmError, PermissionDenied, ValidationError
from tui_crm.services.core import audit, records, settings, users
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search
from tui_crm.services.transfer import importing
from tui_crm.services.transfer.importing import ImportFileError, ImportOptions
from tui_crm.text.identity import make_inn10

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "transfer"
INN = "7707083893"
HEADER = ["Наименование", "ИНН", "Телефон", "E-mail", "Город", "Статус"]
ROWS = [
    ["ООО «Ромашка»", INN, "8 (916) 123-45-67", "info@romashka.ru", "Москва", "Клиент"],
    ["АО Лютик", "", "+7 495 111-22-33, 8 916 000 11 22", "", "Тверь", ""],
    ["ИП Васильков", "", "", "vas@mail.ru", "Казань", "lead"],
]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8",
              delimiter: str = ";", title: str | None = None) -> Path:
    lines = []
    if title:
        lines += [title, ""]
    lines += [delimiter.join(row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[Any]], title: str | None = None) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
        sheet.append([])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_ods(path: Path, rows: list[list[str]]) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Клиенты")
    for row in rows:
        tr = TableRow()
        for value in row:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def org_names(actor: Actor) -> list[str]:
    return sorted(r.title for r in records.list_records(
        actor, "organizations", records.ListQuery(limit=1000)).rows)


def do_import(actor: Actor, path: Path, **kwargs: Any) -> importing.ImportResult:
    options = ImportOptions(kind=kwargs.pop("kind", "organizations"),
                            on_duplicate=kwargs.pop("on_duplicate", "skip"),
                            defaults=kwargs.pop("defaults", {}))
    return importing.import_file(actor, path, options, **kwargs)


# --- reading and mapping ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding,expected", [
    ("cp1251", "cp1251"), ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")])
def test_csv_encoding_delimiter_and_header_under_title(tmp_path: Path, db, encoding: str,
                                                       expected: str) -> None:
    path = write_csv(tmp_path / "clients.csv", [HEADER, *ROWS], encoding=encoding,
                     title="Список клиентов на 01.01.2026")
    table = importing.read_table(path)
    assert table.encoding == expected
    assert table.delimiter == ";"
    assert table.headers == HEADER
    assert table.first_row == 4  # title, empty line, header
    assert table.rows[0][0] == "ООО «Ромашка»"
    assert importing.auto_mapping("organizations", table.headers) == {
        0: "name", 1: "inn", 2: "phones", 3: "emails", 4: "city", 5: "status"}


def test_comma_and_tab_delimiters_are_detected(tmp_path: Path, db) -> None:
    for delimiter in (",", "\t"):
        path = write_csv(tmp_path / "c.csv", [["Name", "Phone", "City"],
                                              ["Acme", "+7 916 123-45-67", "Moscow"]],
                         delimiter=delimiter)
        table = importing.read_table(path)
        assert table.delimiter == delimiter
        assert table.rows == [["Acme", "+7 916 123-45-67", "Moscow"]]


def test_wrong_encoding_given_by_the_user_is_a_clear_message(tmp_path: Path, db) -> None:
    path = write_csv(tmp_path / "c.csv", [HEADER, *ROWS], encoding="cp1251")
    with pytest.raises(ImportFileError, match="not in utf-8"):
        importing.read_table(path, encoding="utf-8")
    table = importing.read_table(path, encoding="cp1251")
    assert table.rows[0][0] == "ООО «Ромашка»"


def test_import_csv_creates_normalized_records(tmp_path: Path, db, actor: Actor) -> None:
    path = write_csv(tmp_path / "clients.csv", [HEADER, *ROWS], encoding="cp1251")
    result = do_import(actor, path)
    assert (result.created, result.merged, result.skipped, result.errors) == (3, 0, 0, [])
    assert org_names(actor) == ["АО Лютик", "ИП Васильков", "ООО «Ромашка»"]
    found = search.quick_search(actor, "9161234567")
    assert found and found[0].title == "ООО «Ромашка»"
    view = records.get(actor, "organizations", found[0].id)
    assert view.values["inn"] == INN
    assert view.values["status"] == "client"
    assert view.values["owner"] == actor.user_id
    assert view.values["primary_phone"] == "+7 916 123-45-67"
    assert [p.normalized for p in view.points_of("email")] == ["info@romashka.ru"]
    lutik = records.get(actor, "organizations", search.quick_search(actor, "Лютик")[0].id)
    assert [p.normalized for p in lutik.points_of("phone")] == ["+74951112233", "+79160001122"]
    # A new lead names where it came from (a rule of the base): the import says "Import".
    assert lutik.display["source"] == "Import"
    entries = audit.history("organizations", action="import")
    assert len(entries) == 1 and json.loads(entries[0].details)["created"] == 3
    run = ImportRun.get_by_id(result.import_id)
    assert (run.created, run.user_id, run.file_format) == (3, actor.user_id, "csv")


def test_xlsx_with_numbers_dates_and_a_title_row(tmp_path: Path, db, actor: Actor) -> None:
    path = write_xlsx(tmp_path / "c.xlsx", [
        ["Фамилия", "Имя", "Отчество", "Телефон", "Дата рождения", "Компания"],
        ["Иванов", "Иван", "Иванович", 79161234567, dt.date(1980, 5, 17), "ООО Ромашка"],
        ["Петрова", "Анна", "", "+7 916 222-33-44", "31.12.1990", "ООО Ромашка"],
    ], title="Контакты")
    result = do_import(actor, path, kind="contacts")
    assert result.created == 2 and not result.errors
    people = records.list_records(actor, "contacts", records.ListQuery(sort="last_name")).rows
    ivanov = records.get(actor, "contacts", people[0].id)
    assert ivanov.values["birthday"] == dt.date(1980, 5, 17)
    assert ivanov.points_of("phone")[0].normalized == "+79161234567"
    assert people[1].values["birthday"] == dt.date(1990, 12, 31)
    # The missing organization was created once, in the same import, and both point at it.
    assert people[0].values["organization"] == people[1].values["organization"]
    assert org_names(actor) == ["ООО Ромашка"]
    assert result.new_lookups == ["organization: ООО Ромашка"]


def test_a_row_not_imported_creates_no_organization(tmp_path: Path, db, actor: Actor) -> None:
    """The companies a file names are created for the rows written, not for a row with an
    error (no name) nor one skipped as a duplicate."""
    records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван",
                                       "phones": ["+7 916 123-45-67"]})
    path = write_xlsx(tmp_path / "c.xlsx", [
        ["Фамилия", "Имя", "Телефон", "Организация"],
        ["", "", "+7 916 000-00-01", "ООО Без имени"],  # no name: an error
        ["Иванов", "Иван", "+7 916 123-45-67", "ООО Дубль"],  # the same person: skipped
        ["Петрова", "Анна", "+7 916 222-33-44", "ООО Ромашка"],
    ])
    plan = importing.analyze(actor, importing.read_table(path), ImportOptions(kind="contacts"))
    assert [p.name for p in plan.pending.values()] == ["ООО Ромашка"]
    result = importing.run_import(actor, plan)
    assert (result.created, result.skipped, len(result.errors)) == (1, 1, 1)
    assert result.new_lookups == ["organization: ООО Ромашка"]
    assert org_names(actor) == ["ООО Ромашка"]
    # With duplicates merged the same person's company is needed after all.
    plan.options.on_duplicate = "merge"
    assert sorted(p.name for p in plan.pending.values()) == ["ООО Дубль", "ООО Ромашка"]


def test_ods_and_xls_files(tmp_path: Path, db, actor: Actor) -> None:
    ods = write_ods(tmp_path / "c.ods", [["Название", "Телефон"], ["Open Office Ltd",
                                                                   "+7 916 555-66-77"]])
    assert importing.read_table(ods).format == "ods"
    assert do_import(actor, ods).created == 1
    xls = importing.read_table(FIXTURES / "clients.xls")
    assert xls.format == "xls"
    assert do_import(actor, FIXTURES / "clients.xls").created == 2
    assert org_names(actor) == ["Open Office Ltd", "ИП Петров", "ООО «Старый Excel»"]
    # An .xls saved under an .xlsx name is read by its content, and the preview says so.
    renamed = tmp_path / "old.xlsx"
    renamed.write_bytes((FIXTURES / "clients.xls").read_bytes())
    table = importing.read_table(renamed)
    assert table.format == "xls" and "named old.xlsx" in table.notes[-1]


def test_google_and_outlook_contact_exports_map_automatically(tmp_path: Path, db,
                                                             actor: Actor) -> None:
    google = ["Name", "Given Name", "Family Name", "Birthday", "Group Membership",
              "E-mail 1 - Type", "E-mail 1 - Value", "Phone 1 - Type", "Phone 1 - Value",
              "Organization 1 - Name", "Organization 1 - Title"]
    path = write_csv(tmp_path / "google.csv", [
        google, ["Ivan Petrov", "Ivan", "Petrov", "1985-03-04", "* myContacts", "* Work",
                 "ivan@petrov.com", "Mobile", "+7 916 111-00-00", "Acme", "CEO"]],
        delimiter=",")
    table = importing.read_table(path)
    mapping = importing.auto_mapping("contacts", table.headers)
    assert {table.headers[i]: t for i, t in mapping.items()} == {
        "Name": "display_name", "Given Name": "first_name", "Family Name": "last_name",
        "Birthday": "birthday", "E-mail 1 - Value": "emails", "Phone 1 - Value": "phones",
        "Organization 1 - Name": "organization", "Organization 1 - Title": "position",
        "Group Membership": "tags"}
    outlook = ["Title", "First Name", "Middle Name", "Last Name", "Company", "Job Title",
               "Business Phone", "Mobile Phone", "E-mail Address", "Notes"]
    path2 = write_csv(tmp_path / "outlook.csv", [
        outlook, ["Mr.", "John", "", "Smith", "Acme", "Buyer", "+7 495 100-20-30",
                  "+7 916 100-20-30", "john@acme.com", "met at the fair"]], delimiter=",")
    table2 = importing.read_table(path2)
    mapping2 = {table2.headers[i]: t for i, t in
                importing.auto_mapping("contacts", table2.headers).items()}
    assert mapping2["Job Title"] == "position" and "Title" not in mapping2
    assert mapping2["Business Phone"] == "phones:work"
    assert mapping2["Mobile Phone"] == "phones:mobile"
    do_import(actor, path, kind="contacts")
    do_import(actor, path2, kind="contacts")
    smith = records.get(actor, "contacts", search.quick_search(actor, "Smith")[0].id)
    assert [(p.type, p.normalized) for p in smith.points_of("phone")] == [
        ("work", "+74951002030"), ("mobile", "+79161002030")]
    assert smith.values["position"] == "Buyer"
    petrov = records.get(actor, "contacts", search.quick_search(actor, "Petrov")[0].id)
    assert (petrov.values["first_name"], petrov.values["birthday"]) == ("Ivan",
                                                                        dt.date(1985, 3, 4))
    # Google's labels type the phone and the e-mail; "* myContacts" is no tag.
    assert [(p.type, p.value) for p in petrov.points_of("phone")] == [("mobile",
                                                                       "+7 916 111-00-00")]
    assert [p.type for p in petrov.points_of("email")] == ["work"] and petrov.tags == []
    assert org_names(actor) == ["Acme"]


def test_full_name_column_is_split_in_russian_order(tmp_path: Path, db, actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [["ФИО", "Должность"],
                                          ["Сидоров Пётр Алексеевич", "Директор"],
                                          ["Мария Ивановна Кузнецова", "Бухгалтер"]])
    do_import(actor, path, kind="contacts")
    people = {r.values["last_name"]: r for r in records.list_records(actor, "contacts").rows}
    assert (people["Сидоров"].values["first_name"],
            people["Сидоров"].values["middle_name"]) == ("Пётр", "Алексеевич")
    assert people["Кузнецова"].values["first_name"] == "Мария"


def test_map_option_custom_field_and_unknown_targets(tmp_path: Path, db, actor: Actor) -> None:
    settings.add_custom_field(actor, "organizations", "Размер склада", "number",
                              name="warehouse")
    path = write_csv(tmp_path / "c.csv", [["Клиент X", "Склад м2", "Мусор"],
                                          ["ООО Склад", "1 500,5", "xx"]])
    table = importing.read_table(path)
    mapping = importing.parse_map_options("organizations", table.headers,
                                          ["Клиент X=name", "2=warehouse", "Мусор=-"])
    assert mapping == {0: "name", 1: "warehouse"}
    with pytest.raises(ValidationError) as caught:
        importing.parse_map_options("organizations", table.headers, ["Нет такой=name",
                                                                     "Мусор=nonsense"])
    assert set(caught.value.errors) == {"Нет такой", "Мусор"}
    do_import(actor, path, map_pairs=["Клиент X=name", "Склад м2=warehouse"])
    view = records.get(actor, "organizations", search.quick_search(actor, "Склад")[0].id)
    assert str(view.custom["warehouse"]) == "1500.5"
    targets = {t.key for t in importing.targets("organizations")}
    assert {"warehouse", "phones:fax", "contact_person", "name"} <= targets


def test_contact_person_column_creates_a_linked_contact(tmp_path: Path, db,
                                                        actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [["Наименование", "Контактное лицо"],
                                          ["ООО Вектор", "Смирнов Олег Петрович"]])
    do_import(actor, path)
    contact = records.list_records(actor, "contacts").rows[0]
    assert contact.title == "Смирнов Олег Петрович"
    assert contact.display["organization"] == "ООО Вектор"


def test_preview_lists_problems_per_row(tmp_path: Path, db, actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [
        ["Фамилия", "Имя", "E-mail", "Дата рождения", "Источник"],
        ["Иванов", "Иван", "ivan@", "31.02.1990", "Website"],
        ["", "", "x@y.ru", "", ""],
        ["Петров", "Пётр", "p@p.ru", "не помню", ""],
    ])
    table = importing.read_table(path)
    plan = importing.analyze(actor, table, ImportOptions(kind="contacts"))
    by_row = {r.row: r for r in plan.rows}
    assert by_row[2].ok and len(by_row[2].problems) == 2
    assert "e-mail" in by_row[2].problems[0].lower()
    assert "Birthday" in by_row[2].problems[1]
    assert by_row[3].error and "name" in by_row[3].error
    assert [p.row for p in plan.errors] == [3]
    assert plan.counts()["created"] == 2
    result = importing.run_import(actor, plan)
    assert [e.row for e in result.errors] == [3]
    ivanov = records.get(actor, "contacts", search.quick_search(actor, "Иванов")[0].id)
    # What could not be stored is kept in the notes, not lost.
    assert "ivan@" in ivanov.values["notes"] and "31.02.1990" in ivanov.values["notes"]


def test_unknown_choice_is_a_problem_and_russian_labels_are_known(tmp_path: Path, db,
                                                                  actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [["Название", "Статус", "Категория"],
                                          ["A1", "Клиент", "VIP"], ["A2", "друг", "Хорошие"]])
    plan = importing.analyze(actor, importing.read_table(path), ImportOptions())
    assert plan.rows[0].values["status"] == "client" and not plan.rows[0].problems
    assert "Status" in plan.rows[1].problems[0]


# --- duplicates -------------------------------------------------------------------------------


def test_duplicates_inside_the_file_and_in_the_base(tmp_path: Path, db, actor: Actor) -> None:
    records.create(actor, "organizations", {"name": "ООО Старый клиент", "source": "Website",
                                            "phones": ["+7 916 999-88-77"], "inn": INN})
    path = write_csv(tmp_path / "c.csv", [
        ["Наименование", "Телефон", "ИНН", "E-mail", "Город"],
        ["Новый 1", "+7 916 999 88 77", "", "", ""],  # phone of the existing one
        ["Другое имя", "", INN, "", ""],  # its tax id
        ["Ромашка", "", "", "r@r.ru", "Москва"],
        ["Ромашка", "8 916 100 00 00", "", "R@R.ru", "Москва"],  # e-mail of row 4
        ["ООО Старый  клиент", "", "", "", ""],  # the same name
    ])
    table = importing.read_table(path)
    plan = importing.analyze(actor, table, ImportOptions(on_duplicate="skip"))
    reasons = {r.row: (r.duplicate_of, r.duplicate_row, r.duplicate_reason) for r in plan.rows}
    assert reasons[2][0] == 1 and reasons[2][2] == "phone"
    assert reasons[3][0] == 1 and reasons[3][2] == "tax id"
    assert reasons[4] == (None, None, "")
    assert reasons[5][1] == 2 and reasons[5][2] == "e-mail"  # index of row 4 in the plan
    assert reasons[6][0] == 1 and reasons[6][2] == "name"
    assert plan.counts()["skipped"] == 4 and plan.counts()["created"] == 1

    merged = importing.run_import(actor, importing.analyze(
        actor, table, ImportOptions(on_duplicate="merge")))
    assert (merged.created, merged.merged) == (1, 4)
    old = records.get(actor, "organizations", 1)
    assert old.values["name"] == "ООО Старый клиент"  # filled, never overwritten
    romashka = records.get(actor, "organizations", search.quick_search(actor, "Ромашка")[0].id)
    assert sorted(p.normalized for p in romashka.points_of("phone")) == ["+79161000000"]
    assert records.total("organizations") == 2


def test_create_policy_creates_duplicates(tmp_path: Path, db, actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [["Наименование", "Телефон"], ["A", "+7 916 1"],
                                          ["A", "+7 916 1"]])
    result = do_import(actor, path, on_duplicate="create")
    assert result.created == 2 and result.warnings  # the short phone is flagged, kept as typed


def test_close_names_match_for_small_files(tmp_path: Path, db, actor: Actor) -> None:
    records.create(actor, "organizations", {"name": "Торговый дом Ромашка-Трейд",
                                            "source": "Website", "city": "Москва"})
    path = write_csv(tmp_path / "c.csv", [["Наименование", "Город"],
                                          ["Торговый дом Ромашка Трейд", "Москва"],
                                          ["Торговый дом Ромашка Трейд", "Казань"]])
    plan = importing.analyze(actor, importing.read_table(path), ImportOptions())
    assert plan.fuzzy
    assert plan.rows[0].duplicate_of == 1 and plan.rows[0].duplicate_reason == "similar name"
    assert plan.rows[1].duplicate_of is None  # another city: another client


# --- bad files --------------------------------------------------------------------------------


def test_bad_files_have_clear_messages_and_import_nothing(tmp_path: Path, db, actor: Actor,
                                                         row_counts) -> None:
    before = row_counts()
    good = write_xlsx(tmp_path / "good.xlsx", [["Наименование"], ["X"]])
    cases = {
        "empty": (tmp_path / "empty.csv", b"", "is empty"),
        "truncated": (tmp_path / "cut.xlsx", good.read_bytes()[:1500], "damaged"),
        "word": (tmp_path / "doc.xlsx", None, "Word document"),
        "no header": (tmp_path / "nohead.csv",
                      "ООО Ромашка;7707083893;+7 916 123-45-67\n".encode(), "no header"),
        # A worksheet of Excel 4 (its BOF record, then cells), before the OLE container of
        # Excel 5: named as what it is and how to resave it, not "a binary file".
        "excel 4": (tmp_path / "old.xls", b"\x09\x04\x06\x00\x00\x00\x10\x00\x00\x00"
                    + b"\x00" * 64, "Excel 2–4.*save it as"),
    }
    with zipfile.ZipFile(tmp_path / "doc.xlsx", "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    for _name, (path, data, message) in cases.items():
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(ImportFileError, match=message):
            do_import(actor, path)
    with pytest.raises(ImportFileError, match="password"):
        do_import(actor, FIXTURES / "protected.xlsx")
    # CSV text named .xlsx is read as what it is, and said so.
    renamed = tmp_path / "csv.xlsx"
    renamed.write_bytes("Наименование;Телефон\nX;1\n".encode())
    assert any("holds CSV text" in n for n in importing.read_table(renamed).notes)
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB (sparse: written in no time)
    with pytest.raises(ImportFileError, match="50.0 MB"):
        do_import(actor, huge)
    with pytest.raises(ImportFileError, match="does not exist"):
        do_import(actor, tmp_path / "missing.csv")
    assert row_counts() == before


def test_a_table_without_a_name_column_is_refused(tmp_path: Path, db, actor: Actor) -> None:
    path = write_csv(tmp_path / "c.csv", [["Телефон", "Город"], ["+7 916 123-45-67", "Тверь"]])
    with pytest.raises(ValidationError, match="Name"):
        do_import(actor, path)


# --- all or nothing ---------------------------------------------------------------------------


def big_csv(path: Path, count: int) -> Path:
    rows = [["Наименование", "ИНН", "Телефон", "E-mail", "Город"]]
    for i in range(count):
        rows.append([f"ООО Фирма {i}", make_inn10(f"{100000000 + i}"),
                     f"+7 916 {i // 10000 % 1000:03d}-{i // 100 % 100:02d}-{i % 100:02d}",
                     f"info{i}@firm{i}.ru", "Москва"])
    return write_csv(path, rows)


def test_failure_or_ctrl_c_in_the_middle_changes_nothing(tmp_path: Path, db, actor: Actor,
                                                         row_counts) -> None:
    path = big_csv(tmp_path / "big.csv", 3000)
    table = importing.read_table(path)
    before = row_counts()

    def interrupt(done: int, total: int) -> None:
        if done >= 2000:
            raise KeyboardInterrupt

    plan = importing.analyze(actor, table, ImportOptions())
    with pytest.raises(KeyboardInterrupt):
        importing.run_import(actor, plan, progress=interrupt)
    assert row_counts() == before
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CrmError, match="cancelled"):
        importing.run_import(actor, importing.analyze(actor, table, ImportOptions()),
                             cancel=cancel)
    assert row_counts() == before
    result = importing.run_import(actor, importing.analyze(actor, table, ImportOptions()))
    assert result.created == 3000
    assert len(search.quick_search(actor, "Фирма 2999")) == 1


KILL_SCRIPT = """
import sys, time
from tui_crm.db import open_database
from tui_crm.services.core import users
from tui_crm.services.transfer import importing
open_database(sys.argv[1])
actor = users.resolve_actor()
calls = []
def progress(done, total):
    if done >= total:
        calls.append(done)
        if len(calls) == 2:  # every row written, the audit entry too; not yet committed
            open(sys.argv[3], "w").close()
            time.sleep(120)
importing.import_file(actor, sys.argv[2], importing.ImportOptions(), progress=progress)
"""


def test_kill_9_during_a_large_import_leaves_the_database_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "kill.sqlite3"
    database = open_database(target)
    users.resolve_actor()
    before = count_rows(database)
    database.close()
    database_proxy.initialize(None)
    path = big_csv(tmp_path / "big.csv", 20000)
    marker = tmp_path / "written"
    script = tmp_path / "kill_import.py"
    script.write_text(KILL_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen([sys.executable, str(script), str(target), str(path), str(marker)],
                             env=env)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert child.poll() is None, "the import process ended early"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    database = open_database(target)
    try:
        assert count_rows(database) == before
    finally:
        database.close()
        database_proxy.initialize(None)


# --- undo -------------------------------------------------------------------------------------


def test_undo_removes_created_and_restores_merged(tmp_path: Path, db, actor: Actor,
                                                  row_counts) -> None:
    existing = records.create(actor, "organizations", {"name": "ООО Давний", "source": "Website",
                                                       "phones": ["+7 916 321-00-00"]})
    before = row_counts()
    path = write_csv(tmp_path / "c.csv", [["Наименование", "Телефон", "Город", "Теги"],
                                          ["Давний дубль", "+7 916 321 00 00", "Омск", "опт"],
                                          ["Новый", "+7 916 321 00 01", "Омск", "опт"],
                                          ["Ещё новый", "", "", ""]])
    result = do_import(actor, path, on_duplicate="merge")
    assert (result.created, result.merged) == (2, 1)
    assert records.get(actor, "organizations", existing.id).values["city"] == "Омск"
    # Someone works with one new record after the import: undo keeps it, in the trash.
    touched = next(r for r in records.list_records(actor, "organizations").rows
                   if r.title == "Ещё новый")
    records.create(actor, "events", {"event_type": "call", "starts_at": "2026-01-10 10:00",
                                     "organization": touched.id})
    undone = importing.undo_import(actor, result.import_id)
    assert (undone.deleted, undone.trashed, undone.restored) == (1, 1, 1)
    assert undone.summary() == (f"Import #{result.import_id} undone: 1 records deleted, 1 moved"
                                " to the trash (changed since), 1 merged records restored.")
    view = records.get(actor, "organizations", existing.id)
    assert view.values["city"] == "" and view.tags == []
    assert org_names(actor) == ["ООО Давний"]
    assert records.get(actor, "organizations", touched.id).deleted_at is not None
    assert not search.quick_search(actor, "Новый", sections=["organizations"])
    with pytest.raises(CrmError, match="already undone"):
        importing.undo_import(actor, result.import_id)
    after = row_counts()
    assert after["contact_point"] == before["contact_point"]
    assert after["tag_link"] == before["tag_link"]
    assert importing.list_imports(actor)[0].undone


def test_dry_run_writes_nothing_and_rights_are_checked(tmp_path: Path, db, actor: Actor,
                                                       row_counts) -> None:
    path = write_csv(tmp_path / "c.csv", [HEADER, *ROWS])
    before = row_counts()
    result = do_import(actor, path, dry_run=True)
    assert result.dry_run and result.created == 3 and result.import_id is None
    assert row_counts() == before
    users.add_user(actor, "viewer1", role="viewer")
    with pytest.raises(PermissionDenied):
        do_import(users.actor_for("viewer1"), path)


def test_a_manager_imports_own_clients_only(tmp_path: Path, db, actor: Actor) -> None:
    users.add_user(actor, "anna", role="manager")
    users.add_user(actor, "boris", role="manager")
    anna = users.actor_for("anna")
    path = write_csv(tmp_path / "c.csv", [["Наименование", "Ответственный"], ["X", "boris"]])
    result = do_import(anna, path)
    assert result.created == 1 and "own" in result.warnings[0].message
    assert records.list_records(anna, "organizations").rows[0].display["owner"] == "anna"


# --- command line -----------------------------------------------------------------------------


def run_cli(argv: list[str], actor: Actor, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Parse with a parser holding only these subcommands, run the handler, return output."""
    parser = argparse.ArgumentParser(prog="tui-crm")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    sub = parser.add_subparsers(dest="command")
    cli_transfer.register(sub, common)
    args = parser.parse_args(argv)
    code = args.handler(args, actor)
    return code, capsys.readouterr().out


def test_cli_import_json_and_undo(tmp_path: Path, db, actor: Actor, capsys) -> None:
    path = write_csv(tmp_path / "c.csv", [["Клиент", "Тел"], ["ООО Один", "+7 916 1"],
                                          ["", "+7 916 123-45-67"]])
    code, out = run_cli(["import", str(path), "--into", "orgs", "--map", "Клиент=name",
                         "--map", "Тел=phones", "--json"], actor, capsys)
    data = json.loads(out)
    assert code == 0
    assert (data["created"], data["skipped"], data["section"]) == (1, 0, "organizations")
    assert data["errors"] == [{"row": 3, "message": data["errors"][0]["message"], "error": True}]
    code, out = run_cli(["import-undo"], actor, capsys)
    assert f"#{data['import_id']}" in out
    code, out = run_cli(["import-undo", str(data["import_id"])], actor, capsys)
    assert "1 records deleted" in out
    assert records.total("organizations") == 0
    code, out = run_cli(["import", str(path), "--map", "Клиент=name", "--dry-run"], actor,
                        capsys)
    assert "Dry run" in out and records.total("organizations") == 0


def test_cli_import_report_names_fields_and_keeps_new_lookups_short(
        tmp_path: Path, db, actor: Actor, capsys) -> None:
    """The text report names each column's field by its key (what --map takes) and its
    label, a vCard's columns by their labels, and lists at most ten of the
    organizations it created, then how many more."""
    rows = [["Фамилия", "Организация", "Откуда"]]
    rows += [[f"Сидоров{i}", f"ООО Новая {i}", "реклама"] for i in range(14)]
    code, out = run_cli(["import", str(write_csv(tmp_path / "p.csv", rows)), "--into",
                         "contacts"], actor, capsys)
    assert code == 0
    assert "  Фамилия → last_name (Last name)" in out
    assert "  Организация → organization (Organization)" in out
    assert "Ignored columns: Откуда" in out
    created = next(line for line in out.splitlines() if line.startswith("Also created:"))
    assert created.count("organization: ООО Новая") == 10 and created.endswith("…and 4 more")
    card = tmp_path / "one.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Смирнова;Анна;;;\r\n"
                    "FN:Анна Смирнова\r\nEND:VCARD\r\n", encoding="utf-8")
    code, out = run_cli(["import", str(card), "--into", "contacts"], actor, capsys)
    assert "  Last name → last_name (Last name)" in out
    assert "  last_name →" not in out


def test_cli_import_sets_defaults_for_missing_values(tmp_path: Path, db, actor: Actor,
                                                     capsys) -> None:
    path = write_csv(tmp_path / "c.csv", [["Наименование"], ["ООО Два"]])
    run_cli(["import", str(path), "--set", "source=Exhibition", "--set", "category=vip"],
            actor, capsys)
    view = records.list_records(actor, "organizations").rows[0]
    assert (view.display["source"], view.values["category"]) == ("Exhibition", "vip")
    assert m.Source.select().where(m.Source.name == "Exhibition").exists()
