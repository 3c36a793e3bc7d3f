"""vCard 2.1 / 3.0 / 4.0 import as phones, Google and Outlook write them, one bad card
among good ones, and export that reads back the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tui_crm.services.core import records
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search
from tui_crm.services.transfer import exporting, importing, vcard, vcard_export
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.text import dates

# An Android 2.1 export: quoted-printable UTF-8 with a soft line break inside a letter.
ANDROID = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD=D0=BE=D0=B2;"
    "=D0=98=D0=B2=D0=B0=D0=BD;=D0=\r\n"
    "=98=D0=B2=D0=B0=D0=BD=D0=BE=D0=B2=D0=B8=D1=87;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD =D0=98=D0=B2=D0=B0="
    "D0=BD=D0=BE=D0=B2\r\n"
    "TEL;CELL:+79161234567\r\n"
    "TEL;WORK;VOICE:8 (495) 123-45-67\r\n"
    "EMAIL;INTERNET;HOME:ivanov@mail.ru\r\n"
    "END:VCARD\r\n"
)
# Google's 3.0 export: folded lines, escaped commas, typed values, a group.
GOOGLE = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Anna Smirnova\r\n"
    "N:Smirnova;Anna;;;\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=WORK:anna@acme.example\r\n"
    "TEL;TYPE=CELL:+7 916 555-44-33\r\n"
    "ORG:Acme\\, Inc.;Sales\r\n"
    "TITLE:Head of sales\r\n"
    "BDAY:1990-05-17\r\n"
    "item1.ADR;TYPE=HOME:;;ул. Ленина\\, д. 1;Москва;;101000;Россия\r\n"
    "NOTE:Long note that Google folds at seventy-five octets so that the line goes o\r\n"
    " n and on\r\n"
    "CATEGORIES:myContacts,Клиенты\r\n"
    "END:VCARD\r\n"
)
OUTLOOK_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Олег Петров\r\n"
    "N:Петров;Олег;;;\r\n"
    "TEL;VALUE=uri;TYPE=\"work,voice\":tel:+7-495-765-43-21\r\n"
    "IMPP:skype:oleg.petrov\r\n"
    "BDAY:--0412\r\n"
    "END:VCARD\r\n"
)
BROKEN = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Never ends\r\n"


def test_android_quoted_printable_and_soft_breaks() -> None:
    card = vcard.parse(ANDROID)[0]
    values = vcard.card_values(card)
    assert (values["last_name"], values["first_name"], values["middle_name"]) == (
        "Иванов", "Иван", "Иванович")
    assert values["phones"] == [("mobile", "+79161234567"), ("work", "8 (495) 123-45-67")]
    assert values["emails"] == [("personal", "ivanov@mail.ru")]


def test_google_folded_lines_and_escapes() -> None:
    values = vcard.card_values(vcard.parse(GOOGLE)[0])
    assert values["organization"] == "Acme, Inc."
    assert values["notes"].endswith("goes on and on")
    assert values["birthday"] == dt.date(1990, 5, 17)
    assert values["residence_address"] == "ул. Ленина, д. 1, Москва, 101000, Россия"
    assert values["tags"] == "myContacts, Клиенты"


def test_windows_1251_charset_parameter() -> None:
    text = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=WINDOWS-1251;ENCODING=QUOTED-PRINTABLE:" \
           + "".join(f"={b:02X}" for b in "Сидоров".encode("cp1251")) + ";\r\nEND:VCARD\r\n"
    assert vcard.card_values(vcard.parse(text)[0])["last_name"] == "Сидоров"


def test_import_reports_a_bad_card_and_imports_the_others(tmp_path: Path, db,
                                                         actor: Actor) -> None:
    path = tmp_path / "contacts.vcf"
    path.write_bytes((ANDROID + GOOGLE + "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:no name\r\n"
                      "END:VCARD\r\n" + OUTLOOK_40 + BROKEN).encode("utf-8"))
    table = importing.read_table(path)
    assert table.format == "vcf"
    result = importing.import_file(actor, path, ImportOptions(kind="contacts"))
    assert result.created == 3
    assert [(e.row, "END:VCARD" in e.message or "no name" in e.message)
            for e in result.errors] == [(3, True), (5, True)]
    people = {r.title: r for r in records.list_records(actor, "contacts").rows}
    assert set(people) == {"Иванов Иван Иванович", "Smirnova Anna", "Петров Олег"}
    anna = records.get(actor, "contacts", people["Smirnova Anna"].id)
    assert anna.display["organization"] == "Acme, Inc."
    assert anna.values["position"] == "Head of sales"
    oleg = records.get(actor, "contacts", people["Петров Олег"].id)
    assert [(p.type, p.normalized) for p in oleg.points_of("phone")] == [("work",
                                                                          "+74957654321")]
    assert [(p.type, p.value) for p in oleg.points_of("messenger")] == [("skype",
                                                                         "oleg.petrov")]
    # --0412: a birthday without a year, kept as day and month, shown without an age.
    assert oleg.values["birthday"] == dt.date(dates.NO_YEAR, 4, 12)
    assert oleg.display["birthday"] == "--04-12"


def test_third_party_style_cards(tmp_path: Path, db, actor: Actor) -> None:
    """Shapes seen in real files: a one-word (Korean) name, a URI phone, a text birthday."""
    text = ("BEGIN:VCARD\nVERSION:4.0\nFN:최유림\nEND:VCARD\n"
            "BEGIN:VCARD\nVERSION:3.0\nFN:bug 195\nTEL;TYPE=cell;VALUE=URI:67545678\n"
            "END:VCARD\n"
            "BEGIN:VCARD\nVERSION:4.0\nFN:text birthday\nBDAY;VALUE=text:circa 1800\n"
            "END:VCARD\n")
    path = tmp_path / "x.vcf"
    path.write_text(text, encoding="utf-8")
    result = importing.import_file(actor, path, ImportOptions(kind="contacts"))
    assert result.created == 3 and not result.errors
    assert search.quick_search(actor, "최유림")


@pytest.mark.parametrize("version", ["2.1", "3.0", "4.0"])
def test_export_then_import_gives_the_same_contacts(tmp_path: Path, db, actor: Actor,
                                                    version: str) -> None:
    org = records.create(actor, "organizations", {"name": "ООО «Длинное название, с запятой;"
                                                          " и точкой с запятой»",
                                                  "source": "Website"})
    records.create(actor, "contacts", {
        "last_name": "Кузнецова", "first_name": "Мария", "middle_name": "Петровна",
        "organization": org.id, "position": "Главный бухгалтер", "birthday": "1985-02-28",
        "phones": ["+7 916 123-45-67", "work:+7 495 000-11-22"],
        "emails": ["maria@example.ru"], "messengers": ["telegram:@maria"],
        "notes": "Строка 1\nСтрока 2 — длинная, чтобы строка vCard точно сложилась пополам",
        "tags": ["бухгалтерия"], "residence_address": "Москва, ул. Тверская, 1"})
    path = tmp_path / "out.vcf"
    result = exporting.export(actor, "contacts", path) if version == "3.0" else None
    if result is None:
        vcard_export.export_file(actor, "contacts", path, version=version)
    data = path.read_bytes()
    if version != "2.1":
        assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    before = records.get(actor, "contacts", 1)
    records.delete(actor, "contacts", 1)
    imported = importing.import_file(actor, path, ImportOptions(kind="contacts"))
    assert imported.created == 1 and not imported.errors, imported.warnings
    after = records.get(actor, "contacts", imported.created_ids[0])
    for name in ("last_name", "first_name", "middle_name", "organization", "position",
                 "birthday", "notes", "residence_address"):
        assert after.values[name] == before.values[name], name
    assert sorted((p.kind, p.type, p.normalized) for p in after.points) == sorted(
        (p.kind, p.type, p.normalized) for p in before.points)
    assert after.tags == before.tags


def test_organizations_as_company_cards(tmp_path: Path, db, actor: Actor) -> None:
    records.create(actor, "organizations", {"name": "ООО Вектор", "source": "Website",
                                            "city": "Казань", "website": "vector.example",
                                            "phones": ["+7 843 200-00-00"]})
    path = tmp_path / "orgs.vcf"
    exporting.export(actor, "organizations", path, query=ListQuery())
    text = path.read_text(encoding="utf-8")
    assert "X-ABShowAs:COMPANY" in text and "ORG:ООО Вектор" in text
    records.delete(actor, "organizations", 1)
    result = importing.import_file(actor, path, ImportOptions(kind="organizations"))
    view = records.get(actor, "organizations", result.created_ids[0])
    assert (view.values["name"], view.values["city"], view.values["website"]) == (
        "ООО Вектор", "Казань", "https://vector.example")


def test_a_company_card_imported_as_a_contact_says_where_it_belongs(
        tmp_path: Path, db, actor: Actor, row_counts) -> None:
    """vCard 4.0 KIND:org (as Apple and Thunderbird write a company) into Contacts: the row
    is refused with where to import it, and nothing is written."""
    path = tmp_path / "acme.vcf"
    path.write_text("BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\nFN:ACME Inc.\r\n"
                    "ORG:ACME Inc.;\r\nEND:VCARD\r\n", encoding="utf-8")
    before = row_counts()
    result = importing.import_file(actor, path, ImportOptions(kind="contacts"))
    [error] = result.errors
    assert "only a company (import it into organizations)" in error.message
    assert row_counts()["contact"] == before["contact"]
    result = importing.import_file(actor, path, ImportOptions(kind="organizations"))
    assert records.get(actor, "organizations", result.created_ids[0]).title == "ACME Inc."


def test_fold_never_splits_a_character() -> None:
    line = "NOTE:" + "ж" * 100
    folded = vcard.fold(line)
    for piece in folded.split("\r\n"):
        assert len(piece.encode("utf-8")) <= 75
    assert folded.replace("\r\n ", "") == line
