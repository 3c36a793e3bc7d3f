"""The files people bring, each in its product's documented format (tests/fixtures/formats,
written by hand — see the README there — or built here): Outlook in Russian and English,
Google Contacts, amoCRM, Bitrix24's HTML "Excel", 1C lists, .xlsb, vCard 2.1 / 3.0 / 4.0
(UTF-16, grouped properties, soft line breaks, birthdays without a year) and text in every
encoding a Russian office meets. Nothing is lost without being named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from tests.xlsb_writer import write_xlsb
from tui_crm.services.core import records
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import importing
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.text.dates import NO_YEAR

FORMATS = Path(__file__).resolve().parent.parent / "fixtures" / "formats"


def run(actor: Actor, path: Path, kind: str = "contacts") -> importing.ImportResult:
    return importing.import_file(actor, path, ImportOptions(kind=kind))


def people(actor: Actor, kind: str = "contacts") -> dict[str, records.RecordView]:
    return {r.title: records.get(actor, kind, r.id)
            for r in records.list_records(actor, kind).rows}


def points(view: records.RecordView, kind: str) -> list[tuple[str, str]]:
    return [(p.type, p.value) for p in view.points_of(kind)]


def test_russian_outlook(db, actor: Actor) -> None:
    result = run(actor, FORMATS / "outlook_ru.csv")
    assert result.encoding == "cp1251" and "Recognized: Outlook (Russian) export" in result.notes
    assert result.mapping["Телефон переносной"] == "phones:mobile"
    assert result.mapping["Адрес 2 эл. почты"] == "emails"
    assert result.mapping["Веб-страница"] == "notes:Веб-страница"
    assert result.ignored_columns == ["Суффикс", "Улица (раб. адрес)", "Город (раб. адрес)",
                                      "Тип эл. почты", "Краткое имя эл. почты",
                                      "Тип эл. почты 2", "Краткое имя эл. почты 2"]
    olga = people(actor)["Островская Ольга Викторовна"]
    assert points(olga, "phone") == [("fax", "+7 482 211-22-34"),
                                     ("work", "+7 482 211-22-33 доб. 15"),
                                     ("mobile", "+7 916 555-44-33")]
    assert points(olga, "email") == [("work", "olga@ostrov.ru"), ("work", "o.ostrov@mail.ru")]
    assert olga.values["birthday"] == dt.date(1979, 2, 14)
    assert olga.values["hobbies"] == "теннис" and olga.tags == ["Ключевые", "Тверь"]
    assert olga.values["notes"] == ("Отдел: Продажи\nЗвонить после обеда\n"
                                    "Веб-страница: https://ostrov.ru")
    assert people(actor)["Петров Иван"].values["birthday"] is None  # "0.0.00": none


def test_english_outlook_dates_are_month_first(db, actor: Actor) -> None:
    result = run(actor, FORMATS / "outlook_en.csv")
    assert "Recognized: Outlook export" in result.notes and not result.warnings
    smith = people(actor)["Smith John"]
    assert smith.values["birthday"] == dt.date(1985, 2, 1)  # 2/1/1985: 1 February
    assert points(smith, "phone")[1] == ("work", "+1 617-555-0100 доб. 12")
    assert smith.tags == ["Clients", "VIP"] and smith.values["hobbies"] == "golf"
    assert "Web Page: http://acme.com" in smith.values["notes"]
    assert people(actor)["Doe Jane"].values["birthday"] is None  # 0/0/00


def test_google_contacts(db, actor: Actor) -> None:
    result = run(actor, FORMATS / "google_contacts.csv")
    assert result.mapping["Phone 1 - Label"] == "(the types of Phone 1 - Value)"
    assert result.ignored_columns == ["Address 1 - Label", "Website 1 - Label"]
    anna = people(actor)["Смирнова Анна"]
    # " ::: " holds two numbers; the labels give the types; the extension stays.
    assert points(anna, "phone") == [("mobile", "+7 916 111-22-33"),
                                     ("mobile", "+7 916 111-22-44"),
                                     ("work", "+7 495 222-33-44 доб. 5")]
    assert points(anna, "email") == [("work", "anna@vector.ru"), ("personal", "anna@gmail.com")]
    assert sorted(anna.tags) == ["starred", "Клиенты"]  # "* myContacts" is no label of theirs
    assert anna.values["birthday"] == dt.date(NO_YEAR, 3, 8)
    assert anna.display["organization"] == "ООО Вектор"
    assert "Nickname: Аня" in anna.values["notes"]
    assert people(actor)["Котов Борис"].tags == []


def test_amocrm_companies_and_contacts(db, actor: Actor) -> None:
    companies = run(actor, FORMATS / "amocrm_companies.csv", "organizations")
    assert companies.created == 1 and "Recognized: amoCRM export" in companies.notes
    assert companies.ignored_columns == ["ID", "Дата создания"]
    vector = people(actor, "organizations")["ООО «Вектор»"]
    assert vector.values["website"] == "https://vector.ru"
    assert points(vector, "phone") == [("work", "+7 495 333-44-55"), ("work", "+7 495 333-44-56"),
                                       ("fax", "+7 495 333-44-57")]
    assert points(vector, "email") == [("work", "info@vector.ru"), ("other", "buh@vector.ru")]
    assert vector.values["notes"] == "Первый звонок\nПрислали КП\nПерезвонить в мае"
    assert sorted(vector.tags) == ["Москва", "опт"]
    contacts = run(actor, FORMATS / "amocrm_contacts.csv")
    assert contacts.created == 1 and not contacts.new_lookups  # the company is found
    petr = people(actor)["Сидоров Пётр Алексеевич"]
    assert petr.values["organization"] == vector.id
    assert points(petr, "email") == [("work", "p.sidorov@vector.ru"), ("personal", "petr@mail.ru")]
    assert points(petr, "phone")[0] == ("work", "+7 495 333-44-55 доб. 12")


def test_bitrix24_html_table_saved_as_xls(db, actor: Actor) -> None:
    result = run(actor, FORMATS / "bitrix24_contacts.xls")
    assert result.format == "html" and "Recognized: Bitrix24 export" in result.notes
    assert result.ignored_columns == ["ID"]
    maria = people(actor)["Кузнецова Мария Ивановна"]
    assert maria.display["organization"] == 'АО "Лютик"'
    assert maria.values["birthday"] == dt.date(1980, 3, 8)
    assert points(maria, "email") == [("work", "m.kuz@lutik.ru"), ("personal", "maria@yandex.ru")]
    assert maria.values["notes"] == "Обращение: г-жа\nПервая строка\nвторая строка"
    # "Выставка" is the seeded source Exhibition, shown in the user's language (English here)
    assert maria.display["source"] == "Exhibition"


def test_1c_counterparty_list_with_a_title_a_hidden_sheet_and_a_merged_header(
        tmp_path: Path, db, actor: Actor) -> None:
    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "Настройки"
    hidden.append(["Наименование", "ИНН"])
    hidden.append(["Не импортировать", "7707083893"])
    hidden.sheet_state = "hidden"
    sheet = book.create_sheet("Контрагенты")
    sheet.append(["Контрагенты на 01.03.2024"])
    sheet.append([])
    sheet.append(["Наименование", "ИНН", "КПП", "Контакты", None, "Юридический адрес"])
    sheet.append([None, None, None, "Телефон", "E-mail", None])
    for column in "ABCF":
        sheet.merge_cells(f"{column}3:{column}4")
    sheet.merge_cells("D3:E3")
    sheet.append(["ООО «Ромашка»", "7707083893", "770701001", "+7 495 111-22-33",
                  "info@romashka.ru", "Москва, ул. Ленина, 1"])
    sheet.append(["АО Лютик", "7702070139", "", "8 916 000 11 22", "", "Тверь"])
    path = tmp_path / "contragents.xlsx"
    book.save(path)
    result = run(actor, path, "organizations")
    assert result.sheet == "Контрагенты" and "Other sheets, not read: Настройки (hidden)" \
        in result.notes
    assert result.mapping == {"Наименование": "name", "ИНН": "inn", "КПП": "notes:КПП",
                              "Контакты / Телефон": "phones", "Контакты / E-mail": "emails",
                              "Юридический адрес": "address"}
    assert [(o.row, o.outcome) for o in result.outcomes] == [(5, "created"), (6, "created")]
    romashka = people(actor, "organizations")["ООО «Ромашка»"]
    assert [v for _t, v in points(romashka, "phone")] == ["+7 495 111-22-33"]
    assert points(romashka, "email") == [("work", "info@romashka.ru")]
    assert romashka.values["notes"] == "КПП: 770701001"


def test_xlsb_reads_its_first_visible_sheet(tmp_path: Path, db, actor: Actor) -> None:
    path = write_xlsb(tmp_path / "clients.xlsb", [
        ("Списки", [["Статусы"], ["Клиент"]], True),
        ("Клиенты", [["Наименование", "ИНН", "Телефон"],
                     ["ООО «Ромашка»", "7707083893", "+7 495 111-22-33 доб. 123"]], False)])
    result = run(actor, path, "organizations")
    assert (result.format, result.sheet, result.created) == ("xlsb", "Клиенты", 1)
    romashka = people(actor, "organizations")["ООО «Ромашка»"]
    assert [v for _t, v in points(romashka, "phone")] == ["+7 495 111-22-33 доб. 123"]


def test_excel_serial_dates_become_dates(tmp_path: Path, db, actor: Actor) -> None:
    book = openpyxl.Workbook()
    book.active.append(["ФИО", "Дата рождения"])
    book.active.append(["Иванов Иван", 31048])  # a date column formatted as a number
    book.active.append(["Петров Пётр", "31049"])  # …that went through a CSV
    path = tmp_path / "serial.xlsx"
    book.save(path)
    run(actor, path)
    found = people(actor)
    assert found["Иванов Иван"].values["birthday"] == dt.date(1985, 1, 1)
    assert found["Петров Пётр"].values["birthday"] == dt.date(1985, 1, 2)


def test_an_unclosed_quote_is_reported_with_its_row_and_the_rest_imported(db,
                                                                          actor: Actor) -> None:
    result = run(actor, FORMATS / "unclosed_quote.csv", "organizations")
    assert [(o.row, o.outcome) for o in result.outcomes] == [
        (2, "created"), (3, "error"), (4, "created"), (5, "created")]
    assert "opened on line 3 is never closed" in result.outcomes[1].reason
    assert sorted(people(actor, "organizations")) == ["ООО Альфа", "ООО Гамма", "ООО Дельта"]


TEXT = "ФИО;Город\nЖуков Щукин Ёлкин;Тверь\nСъешь же ещё этих мягких булок;Москва\n"


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r", "cp866", "utf-16-le", "utf-16-be",
                                      "utf-8"])
def test_every_encoding_is_recognized(tmp_path: Path, db, actor: Actor, encoding: str) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(TEXT.encode(encoding))  # no byte order mark
    table = importing.read_table(path)
    assert table.encoding == encoding
    assert [row[0] for row in table.rows] == ["Жуков Щукин Ёлкин",
                                              "Съешь же ещё этих мягких булок"]
    assert not any("guess" in note for note in table.notes)


def test_latin1_is_not_read_as_cyrillic(tmp_path: Path, db, actor: Actor) -> None:
    path = tmp_path / "zurich.csv"
    path.write_bytes("Name;City\nMüller AG;Zürich\nGarçon SARL;Besançon\n".encode("latin-1"))
    table = importing.read_table(path)
    assert table.encoding in ("cp1252", "latin-1")
    assert [row[1] for row in table.rows] == ["Zürich", "Besançon"]


def test_an_unsure_guess_is_named_with_the_runner_up(tmp_path: Path, db,
                                                    actor: Actor) -> None:
    path = tmp_path / "short.csv"
    path.write_bytes("Name;Form\nООО;ИП\n".encode("koi8-r"))  # capitals only: ambiguous
    table = importing.read_table(path)
    note = next(n for n in table.notes if "guess" in n)
    assert "koi8-r" in note and "cp1251" in note and "--encoding" in note
    assert importing.read_table(path, encoding="koi8-r").rows == [["ООО", "ИП"]]


def vcf(actor: Actor, path: Path, kind: str = "contacts") -> dict[str, records.RecordView]:
    run(actor, path, kind)
    return people(actor, kind)


def test_android_vcard21_soft_line_breaks_keep_their_spaces(db, actor: Actor) -> None:
    result = run(actor, FORMATS / "android_21.vcf", "organizations")
    assert [(o.row, o.outcome) for o in result.outcomes][1] == (2, "created")
    assert "ИП Островская В. Н." in people(actor, "organizations")
    found = vcf(actor, FORMATS / "android_21.vcf")
    morozov = found["Морозов Алексей"]
    assert points(morozov, "phone") == [("mobile", "+7 916 123-45-67"),
                                        ("work", "+7 495 765-43-21 доб. 204")]


def test_iphone_vcard30_labels_and_a_birthday_without_a_year(db, actor: Actor) -> None:
    anna = vcf(actor, FORMATS / "iphone_30.vcf")["Смирнова Анна Сергеевна"]
    assert points(anna, "phone") == [("mobile", "+7 916 111-22-33"), ("work", "+7 495 222-33-44")]
    assert points(anna, "email") == [("personal", "anna@gmail.com")]
    assert anna.values["birthday"] == dt.date(NO_YEAR, 3, 8)  # 1604: Apple's "no year"
    assert anna.display["birthday"] == "--03-08"


def test_vcard40_birthdays_and_a_uri_phone_extension(db, actor: Actor) -> None:
    found = vcf(actor, FORMATS / "vcard_40.vcf")
    oleg, vera = found["Петров Олег"], found["Старая Вера"]
    assert oleg.values["birthday"] == dt.date(NO_YEAR, 4, 12)
    assert points(oleg, "phone") == [("work", "+7 495 765-43-21 доб. 12")]
    assert vera.values["birthday"] is None and vera.values["notes"] == "Birthday: около 1950"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16"])
def test_a_utf16_vcard_with_or_without_bom(tmp_path: Path, db, actor: Actor,
                                           encoding: str) -> None:
    path = tmp_path / "contacts.vcf"
    path.write_bytes((FORMATS / "iphone_30.vcf").read_text("utf-8").encode(encoding))
    assert "Смирнова Анна Сергеевна" in vcf(actor, path)


def test_grouped_begin_and_end(tmp_path: Path, db, actor: Actor) -> None:
    path = tmp_path / "groups"  # no suffix: told by its first line
    path.write_text("home.begin:vcard\r\nhome.version:3.0\r\nhome.n:Berger;Meister\r\n"
                    "home.tel;type=work:+49 3581 123456\r\nhome.end:vcard\r\n")
    assert "Berger Meister" in vcf(actor, path)

