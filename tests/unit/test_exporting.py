"""Export of tables as filtered (text, filters, sort, visibility) to .xlsx, .csv, .html,
.txt, .docx and .ics; headers as shown; formula neutralization checked in the written
files; round trips through import; rights and the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from icalendar import Calendar

from tests.unit.test_importing import run_cli
from tui_crm.db import models as m
from tui_crm.errors import PermissionDenied
from tui_crm.services.core import audit, records, settings, users
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import csv_export, exporting, importing
from tui_crm.services.transfer.importing import ImportOptions

EVIL = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
        "\tTAB", "\rCR"]


@pytest.fixture
def base(db, actor: Actor) -> dict[str, records.RecordView]:
    settings.add_custom_field(actor, "organizations", "Размер склада", "number",
                              name="warehouse")
    settings.rename_field(actor, "organizations", "city", "Населённый пункт")
    made = {}
    made["romashka"] = records.create(actor, "organizations", {
        "name": "ООО Ромашка", "source": "Website", "inn": "7707083893", "city": "Москва",
        "phones": ["+7 916 123-45-67", "work:+7 495 111-22-33"], "emails": ["info@romashka.ru"],
        "tags": ["опт", "vip"], "status": "client", "warehouse": "1500",
        "notes": "Первая строка\nВторая строка"})
    made["evil"] = records.create(actor, "organizations", {
        "name": EVIL[0], "source": "Website", "city": "Тверь", "address": EVIL[1],
        "industry": EVIL[2], "legal_name": EVIL[3], "website": "evil.example",
        "notes": EVIL[4] + EVIL[5]})
    made["lutik"] = records.create(actor, "organizations", {
        "name": "АО Лютик", "source": "Website", "city": "Москва", "status": "lead"})
    return made


def test_csv_export_respects_query_headers_and_neutralizes(tmp_path: Path, base,
                                                           actor: Actor) -> None:
    path = tmp_path / "orgs.csv"
    result = exporting.export(actor, "organizations", path,
                              query=ListQuery(filters={"city": "Москва"}, sort="name"))
    assert result.rows == 2
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads Cyrillic UTF-8 only with a BOM
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=","))
    header = rows[0]
    assert "Населённый пункт" in header and "Размер склада" in header
    assert "Phone" not in header and "Phones" in header
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert list(by_name) == ["АО Лютик", "ООО Ромашка"]
    romashka = by_name["ООО Ромашка"]
    # Phones are not formulas: they stay as they are (csv_export's rule), no apostrophe.
    assert romashka["Phones"] == "+7 916 123-45-67; work: +7 495 111-22-33"
    assert romashka["Tags"] == "vip, опт"
    assert romashka["Status"] == "Client"
    assert romashka["Размер склада"] == "1500"

    evil = tmp_path / "evil.csv"
    exporting.export(actor, "organizations", evil, query=ListQuery(text="Тверь"))
    text = evil.read_bytes().decode("utf-8-sig")
    cells = [c for row in csv.reader(text.splitlines(), delimiter=",") for c in row]
    for value in EVIL[:4]:
        assert "'" + value in cells
        assert value not in cells
    for row in csv.reader(text.splitlines(), delimiter=","):
        for cell in row:
            assert not csv_export.needs_guard(cell)


def test_xlsx_stores_formula_text_as_strings(tmp_path: Path, base, actor: Actor) -> None:
    path = tmp_path / "orgs.xlsx"
    exporting.export(actor, "organizations", path)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
        strings = archive.read("xl/sharedStrings.xml").decode("utf-8") \
            if "xl/sharedStrings.xml" in archive.namelist() else ""
    assert "<f>" not in sheet and "<f " not in sheet  # no formula cell anywhere
    assert "HYPERLINK" in sheet + strings
    book = openpyxl.load_workbook(path)
    ws = book.active
    header = [c.value for c in ws[1]]
    values = {(r[0].value): dict(zip(header, [c.value for c in r], strict=True))
              for r in ws.iter_rows(min_row=2)}
    evil = values[EVIL[0]]
    assert ws.cell(row=2, column=1).data_type == "s"
    assert evil["Legal name"] == EVIL[3] and evil["Industry"] == EVIL[2]
    romashka = values["ООО Ромашка"]
    assert romashka["Phones"].startswith("+7 916 123-45-67")  # a string, as written
    assert romashka["Размер склада"] == 1500
    assert isinstance(romashka["Last contact"], type(None))
    assert ws.freeze_panes == "A2"


def test_round_trip_xlsx_and_csv_give_the_same_records(tmp_path: Path, base, actor: Actor,
                                                       db_target: str) -> None:
    def snapshot() -> list[tuple]:
        out = []
        for row in records.list_records(actor, "organizations", ListQuery(sort="name")).rows:
            view = records.get(actor, "organizations", row.id)
            out.append((view.values["name"], view.values["inn"], view.values["city"],
                        view.values["address"], view.values["industry"],
                        view.values["legal_name"], view.values["status"],
                        view.values["website"], view.values["notes"],
                        [(p.kind, p.type, p.normalized) for p in view.points], view.tags,
                        str(view.custom.get("warehouse")), view.display["source"]))
        return out

    before = snapshot()
    for fmt in ("xlsx", "csv", "ods"):
        path = tmp_path / f"all.{fmt}"
        exporting.export(actor, "organizations", path)
        for row in records.list_records(actor, "organizations", ListQuery(limit=100)).rows:
            records.delete(actor, "organizations", row.id)
        result = importing.import_file(actor, path, ImportOptions())
        assert result.created == 3 and not result.errors, fmt
        assert snapshot() == before, fmt


def test_html_txt_and_docx(tmp_path: Path, base, actor: Actor) -> None:
    html_path = tmp_path / "o.html"
    exporting.export(actor, "organizations", html_path, fields=["name", "city", "phones"])
    page = html_path.read_text(encoding="utf-8")
    assert "<th>Населённый пункт</th>" in page
    assert "&lt;" not in page or "<script" not in page
    assert "ООО Ромашка" in page and "=HYPERLINK(&quot;" in page
    txt = tmp_path / "o.txt"
    exporting.export(actor, "organizations", txt, fields=["name", "city", "notes"],
                     query=ListQuery(sort="name"))
    lines = txt.read_text(encoding="utf-8").splitlines()
    assert lines[0].split() == ["Name", "Населённый", "пункт", "Notes"]
    assert lines[1].startswith("---")
    assert any("Первая строка / Вторая строка" in line for line in lines)
    docx_path = tmp_path / "o.docx"
    result = exporting.export(actor, "organizations", docx_path, fields=["name", "city"])
    from docx import Document

    table = Document(str(docx_path)).tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Name", "Населённый пункт"]
    assert len(table.rows) == 1 + result.rows == 4


def test_export_follows_visibility_rights_and_is_audited(tmp_path: Path, base,
                                                         actor: Actor) -> None:
    users.add_user(actor, "anna", role="manager")
    users.add_user(actor, "head1", role="head")
    anna = users.actor_for("anna")
    with pytest.raises(PermissionDenied):  # managers have no export right by default
        exporting.export(anna, "organizations", tmp_path / "a.csv")
    m.User.update(rights=json.dumps({"organizations": {"export": True}})).where(
        m.User.login == "anna").execute()
    anna = users.actor_for("anna")
    records.create(anna, "organizations", {"name": "Клиент Анны", "source": "Website"})
    result = exporting.export(anna, "organizations", tmp_path / "a.csv")
    assert result.rows == 1
    head = users.actor_for("head1")
    assert exporting.export(head, "organizations", tmp_path / "h.csv").rows == 4
    entries = audit.history("organizations", action="export")
    assert len(entries) == 2
    assert json.loads(entries[0].details)["rows"] == 4
    assert entries[1].login == "anna"


def test_unknown_format_and_missing_folder(tmp_path: Path, base, actor: Actor) -> None:
    from tui_crm.errors import CrmError, ValidationError

    with pytest.raises(ValidationError, match="Unknown format"):
        exporting.export(actor, "organizations", tmp_path / "x.pdf")
    with pytest.raises(CrmError, match="does not exist"):
        exporting.export(actor, "organizations", tmp_path / "no" / "x.csv")


def test_icalendar_export_of_a_users_events(tmp_path: Path, base, actor: Actor) -> None:
    start = dt.datetime(2026, 3, 2, 10, 0)
    records.create(actor, "events", {"event_type": "meeting", "title": "Встреча; обсуждение",
                                     "starts_at": start, "organization": base["romashka"].id,
                                     "reminder_minutes": "15",
                                     "rrule": "FREQ=WEEKLY;COUNT=3"})
    records.create(actor, "events", {"event_type": "call", "starts_at": start,
                                     "status": "cancelled", "organization": base["lutik"].id})
    path = tmp_path / "cal.ics"
    result = exporting.export(actor, "events", path,
                              query=ListQuery(filters={"assignee": actor.login}))
    assert result.rows == 2
    data = path.read_bytes()
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    calendar = Calendar.from_ical(data)
    items = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    meeting = items["Встреча; обсуждение: ООО Ромашка"]
    assert meeting["dtstart"].dt == start.astimezone(dt.UTC)
    assert meeting["dtend"].dt - meeting["dtstart"].dt == dt.timedelta(hours=1)
    assert "Москва" in str(meeting["location"])
    assert meeting["rrule"]["FREQ"] == ["WEEKLY"]
    assert meeting.walk("VALARM")[0]["trigger"].dt == dt.timedelta(minutes=-15)
    cancelled = next(e for name, e in items.items() if "Лютик" in name)
    assert str(cancelled["status"]) == "CANCELLED"
    assert re.match(r"event-\d+-\d{8}T\d{6}@tui-crm", str(meeting["uid"]))
    one_client = tmp_path / "client.ics"
    assert exporting.export(actor, "events", one_client, query=ListQuery(
        filters={"organization": base["lutik"].id})).rows == 1
    with pytest.raises(Exception, match="Only events"):
        exporting.export(actor, "organizations", tmp_path / "x.ics")


def test_cli_export(tmp_path: Path, base, actor: Actor, capsys) -> None:
    out = tmp_path / "moscow.xlsx"
    code, text = run_cli(["export", "orgs", "-o", str(out), "--query", "Москва", "--json"],
                         actor, capsys)
    assert code == 0 and json.loads(text)["rows"] == 2
    code, text = run_cli(["export", "organizations", "-o", str(tmp_path / "a.txt"),
                          "--fields", "name,inn", "--filter", "status=client"], actor, capsys)
    assert "1 records written" in text
    assert (tmp_path / "a.txt").read_text(encoding="utf-8").splitlines()[2].startswith(
        "ООО Ромашка")


def test_cli_vcard_version_goes_through_export(tmp_path: Path, base, actor: Actor,
                                               capsys) -> None:
    out = tmp_path / "orgs.vcf"
    code, text = run_cli(["export", "organizations", "-o", str(out), "--vcard-version", "4.0",
                          "--json"], actor, capsys)
    data = json.loads(text)
    assert code == 0 and data["format"] == "vcf" and data["rows"] >= 1
    assert "VERSION:4.0" in out.read_text(encoding="utf-8")
    entries = audit.history("organizations", action="export")
    assert any(json.loads(e.details)["file"] == str(out) for e in entries)
