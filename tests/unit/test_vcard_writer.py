"""The vCard writer: lines within RFC limits (75 octets folded; 2.1's quoted-printable
lines of 76 characters whose soft breaks keep spaces), and the fields no standard property
holds carried as X- properties and read back."""

from __future__ import annotations

import quopri
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tui_crm.services.core import records
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import exporting, importing, vcard, vcard_export
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.text.dates import NO_YEAR


def _unfold_qp(card: str) -> dict[str, str]:
    """The QP values of a 2.1 card decoded the strict way: soft breaks joined as RFC 2045
    says, nothing else trimmed."""
    out, lines, i = {}, card.split("\r\n"), 0
    while i < len(lines):
        line = lines[i]
        if "ENCODING=QUOTED-PRINTABLE" in line:
            head, value = line.split(":", 1)
            while value.endswith("=") and i + 1 < len(lines):
                i += 1
                value = value[:-1] + lines[i]
            out[head.split(";")[0]] = quopri.decodestring(value.encode("ascii")).decode()
        i += 1
    return out


@given(st.text(alphabet=st.sampled_from(list("ИП Островская В. Н.ab =,;\\\n")), min_size=1,
               max_size=300), st.integers(min_value=0, max_value=60))
@example("a" * 40 + "  ", 33)  # two spaces at the end of a full line
def test_quoted_printable_lines_and_spaces(text: str, first: int) -> None:
    encoded = vcard._qp(text, first)
    lines = encoded.split("\r\n")
    assert len(lines[0]) + first <= 76
    assert all(len(line) <= 76 for line in lines)
    for line in lines[:-1]:
        assert line.endswith("=") and not line[:-1].endswith((" ", "\t"))
    assert not lines[-1].endswith(" ")
    assert not any(line.startswith((" ", "\t")) for line in lines[1:])  # not a folded line
    # a reader that trims every line (as many do) still gets every space back
    trimmed = "\r\n".join(line.rstrip() for line in lines)
    expected = text.replace("\r\n", "\n").replace("\n", "\r\n")
    assert quopri.decodestring(trimmed.encode("ascii")).decode() == expected


def test_vcard_21_lines_stay_within_76_characters(tmp_path: Path, db, actor: Actor) -> None:
    org = records.create(actor, "organizations", {
        "name": "ИП Островская В. Н.", "source": "Website", "status": "client",
        "legal_name": "Индивидуальный предприниматель Островская Валентина Николаевна",
        "inn": "500100732259", "industry": "Оптовая торговля строительными материалами"})
    path = tmp_path / "c.vcf"
    vcard_export.export_file(actor, "organizations", path, version="2.1")
    text = path.read_bytes().decode("utf-8")
    assert [line for line in text.split("\r\n") if len(line) > 76] == []
    decoded = _unfold_qp(text)
    assert decoded["FN"] == "ИП Островская В. Н."
    assert decoded["X-LEGAL-NAME"] == org.values["legal_name"]
    records.delete(actor, "organizations", org.id)
    result = importing.import_file(actor, path, ImportOptions(kind="organizations"))
    view = records.get(actor, "organizations", result.created_ids[0])
    assert view.values["name"] == "ИП Островская В. Н."
    assert view.values["legal_name"] == org.values["legal_name"]


@pytest.mark.parametrize("version", ["2.1", "3.0", "4.0"])
def test_x_properties_round_trip(tmp_path: Path, db, actor: Actor, version: str) -> None:
    org = records.create(actor, "organizations", {
        "name": "ООО Вектор", "legal_name": "ООО «Вектор»", "inn": "7707083893",
        "industry": "Логистика", "status": "client", "category": "vip", "source": "Website",
        "opt_out": True, "city": "Казань"})
    person = records.create(actor, "contacts", {
        "last_name": "Кузнецова", "first_name": "Мария", "organization": org.id,
        "is_decision_maker": True, "hobbies": "горные лыжи, шахматы", "opt_out": True,
        "registration_address": "Казань, ул. Баумана, 5", "source": "Website",
        "phones": ["+7 495 111-22-33 доб. 123"]})
    orgs_file, people_file = tmp_path / "o.vcf", tmp_path / "p.vcf"
    exporting.export(actor, "organizations", orgs_file, vcard_version=version)
    exporting.export(actor, "contacts", people_file, vcard_version=version)
    text = (orgs_file.read_bytes() + people_file.read_bytes()).decode("utf-8")
    for name in ("X-INN", "X-STATUS", "X-DECISION-MAKER", "X-HOBBIES", "X-OPT-OUT"):
        assert name in text
    if version != "2.1":
        assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    records.delete(actor, "contacts", person.id)
    records.delete(actor, "organizations", org.id)
    importing.import_file(actor, orgs_file, ImportOptions(kind="organizations"))
    importing.import_file(actor, people_file, ImportOptions(kind="contacts"))
    new_org = records.list_records(actor, "organizations", ListQuery()).rows[0]
    org_after = records.get(actor, "organizations", new_org.id)
    for name in ("name", "legal_name", "inn", "industry", "status", "category", "opt_out",
                 "city"):
        assert org_after.values[name] == org.values[name], name
    assert org_after.display["source"] == "Website"
    new_person = records.list_records(actor, "contacts", ListQuery()).rows[0]
    after = records.get(actor, "contacts", new_person.id)
    for name in ("last_name", "first_name", "is_decision_maker", "hobbies", "opt_out",
                 "registration_address"):
        assert after.values[name] == person.values[name], name
    assert after.values["organization"] == org_after.id
    assert [p.normalized for p in after.points] == ["+74951112233;ext=123"]


def test_a_card_without_the_extras_reads_them_as_empty(tmp_path: Path, db, actor: Actor) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Петров;Иван;;;\r\nFN:Иван Петров\r\nEND:VCARD\r\n"
    path = tmp_path / "plain.vcf"
    path.write_text(card, encoding="utf-8")
    result = importing.import_file(actor, path, ImportOptions(kind="contacts"))
    view = records.get(actor, "contacts", result.created_ids[0])
    assert (view.values["is_decision_maker"], view.values["opt_out"],
            view.values["hobbies"]) == (False, False, "")


@pytest.mark.parametrize("version", ["2.1", "3.0", "4.0"])
def test_birthdays_with_and_without_a_year(db, actor: Actor, version: str) -> None:
    import datetime as dt

    with_year = records.create(actor, "contacts", {"last_name": "Годов",
                                                   "birthday": dt.date(1985, 3, 8)})
    without = records.create(actor, "contacts", {"last_name": "Безгодов",
                                                 "birthday": dt.date(NO_YEAR, 2, 29)})
    expected = "19850308" if version == "4.0" else "1985-03-08"
    assert f"BDAY:{expected}\r\n" in vcard_export.record_card(actor, "contacts", with_year.id, version)
    assert "BDAY:--0229\r\n" in vcard_export.record_card(actor, "contacts", without.id, version)
