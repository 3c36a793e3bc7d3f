"""Files out that people open elsewhere: CSV's formula guard (phones stay as they are) and
Windows-1251, .ics in the company's time zone whatever the process's TZ, tasks as VTODO,
.ods read by LibreOffice's format library."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from tests.unit.test_importing import run_cli
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import set_language
from tui_crm.services.core import records, settings, users
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.transfer import csv_export, exporting, importing
from tui_crm.services.transfer.importing import ImportOptions
from tui_crm.text.phones import format_phone

# --- the formula guard ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "+7 495 111-22-33", "+7 (495) 111-22-33", "-15", "+1.5", "-2-3", "+7 495 111-22-33 доб. 123",
    "+1 212 555-01-99 ext. 12", "+7 916 123-45-67; work: +7 495 111-22-33",
    "+7 916 123-45-67; рабочий: +7 495 111-22-33 доб. 5; fax: 8 495 000-00-00",
])
def test_numbers_and_phones_are_not_guarded(text: str) -> None:
    set_language("ru" if "рабочий" in text else "en")
    assert not csv_export.needs_guard(text)
    assert csv_export.neutralize(text) == text


@pytest.mark.parametrize("text", [
    "=1+1", "@SUM(A1)", "\tTAB", "\rCR", "-2+3", "+1+cmd|' /C calc'!A0", "+7 495; =1",
    "-A1", "+SUM(1)", "+7 495 111-22-33; HYPERLINK(1)", "+7 495 111-22-33 доб. x", "+", "-",
    "+7; cmd|' /C calc'!A0", "+7 495 111-22-33;work: +7",
])
def test_formulas_are_guarded(text: str) -> None:
    assert csv_export.needs_guard(text)
    assert csv_export.neutralize(text) == "'" + text


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_an_unguarded_signed_cell_can_call_nothing(text: str) -> None:
    """Whatever the text: a cell left as it is, starting with + or -, holds no way to call
    a function or another program — no "(" after a letter, no "|", "=", "!", "@" or "&"."""
    cell = "+" + text
    if csv_export.needs_guard(cell):
        return
    assert not set(cell) & set("|=!@&\"'$<>^*/\t\r\n")
    for i, ch in enumerate(cell[1:], start=1):
        if ch == "(":
            assert not cell[i - 1].isalpha()


@given(st.integers(min_value=1_000_000, max_value=9_999_999), st.sampled_from(["495", "916", "812"]),
       st.one_of(st.none(), st.integers(min_value=1, max_value=99999)))
def test_every_formatted_phone_passes_unguarded(number: int, code: str, ext: int | None) -> None:
    typed = f"8 {code} {number}" + (f" доб. {ext}" if ext else "")
    shown = format_phone(typed)
    assert shown.startswith("+7")
    assert not csv_export.needs_guard(shown), shown


# --- CSV encodings ----------------------------------------------------------------------------


@pytest.fixture
def orgs(db, actor: Actor) -> dict[str, int]:
    made = {}
    for name, city in (("ООО Ромашка", "Москва"), ("Łódź Trading 😀", "Łódź"),
                       ("АО «Лютик» №1 — €", "Тверь")):
        made[name] = records.create(actor, "organizations", {
            "name": name, "city": city, "source": "Website", "phones": ["+7 495 111-22-33 доб. 12"]}).id
    return made


def test_cp1251_csv_names_what_it_cannot_hold(tmp_path: Path, orgs, actor: Actor) -> None:
    path = tmp_path / "old_excel.csv"
    result = exporting.export(actor, "organizations", path, encoding="cp1251",
                              query=ListQuery(sort="name"))
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # a BOM would show as "п»ї" in cp1251
    text = raw.decode("cp1251")
    assert "АО «Лютик» №1 — €" in text and "ООО Ромашка" in text
    assert "+7 495 111-22-33 доб. 12" in text  # no apostrophe before a phone
    assert "?d? Trading ?" in text
    assert result.encoding == "cp1251" and len(result.warnings) == 1
    warning = result.warnings[0]
    # the sort is by name: Łódź comes last, the header is row 1, so it is row 4
    assert "'Ł'" in warning and "'ó'" in warning and "'😀'" in warning and "4" in warning
    assert "'«'" not in warning and "'€'" not in warning

    back = importing.import_file(actor, path, ImportOptions(on_duplicate="merge"),
                                 encoding="cp1251")
    assert not back.errors
    assert records.get(actor, "organizations", orgs["ООО Ромашка"]).values["city"] == "Москва"


def test_utf8_csv_has_a_bom_and_no_warnings(tmp_path: Path, orgs, actor: Actor) -> None:
    path = tmp_path / "all.csv"
    result = exporting.export(actor, "organizations", path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Łódź Trading 😀" in path.read_text(encoding="utf-8-sig")
    assert result.warnings == [] and result.encoding == "utf-8"


def test_cli_encoding_and_its_mistakes(tmp_path: Path, orgs, actor: Actor, capsys) -> None:
    out = tmp_path / "o.csv"
    code, text = run_cli(["export", "organizations", "-o", str(out), "--encoding", "cp1251"],
                         actor, capsys)
    assert code == 0 and "Warning: Windows-1251 has no" in text and "'😀'" in text
    code, text = run_cli(["export", "organizations", "-o", str(out), "--encoding",
                          "windows-1251", "--json"], actor, capsys)
    data = json.loads(text)
    assert data["encoding"] == "cp1251" and len(data["warnings"]) == 1
    before = out.read_bytes()
    with pytest.raises(ValidationError, match="UTF-8 or cp1251"):
        exporting.export(actor, "organizations", out, encoding="koi8-r")
    with pytest.raises(ValidationError, match="Only CSV"):
        exporting.export(actor, "organizations", tmp_path / "o.xlsx", encoding="cp1251")
    assert out.read_bytes() == before and not (tmp_path / "o.xlsx").exists()


# --- .ics and the company's time zone ---------------------------------------------------------


@pytest.fixture
def process_tz() -> Iterator[object]:
    """Set the process's TZ variable (as a shell, cron or a service would) and restore it."""
    old = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def meeting(db, actor: Actor) -> records.RecordView:
    org = records.create(actor, "organizations", {"name": "ООО Ромашка", "city": "Москва", "status": "client",
                                                   "address": "ул. Ленина, 1"})
    records.create(actor, "tasks", {"title": "Выставить счёт", "due_at": dt.datetime(
        2026, 3, 3, 18, 0), "priority": "high", "organization": org.id,
        "description": "Счёт на 50 000"})
    records.create(actor, "tasks", {"title": "Отправить КП", "status": "done"})
    return records.create(actor, "events", {
        "event_type": "meeting", "title": "Встреча", "starts_at": dt.datetime(2026, 3, 2, 10, 0),
        "organization": org.id, "rrule": "FREQ=WEEKLY;COUNT=3"})


def test_same_ics_whatever_the_process_tz(tmp_path: Path, meeting, actor: Actor,
                                          process_tz) -> None:
    settings.set_time_zone(actor, "Europe/Moscow")
    files = {}
    for tz in ("UTC", "Europe/Moscow", "America/New_York"):
        process_tz(tz)
        files[tz] = tmp_path / f"{tz.replace('/', '_')}.ics"
        exporting.export(actor, "events", files[tz])
    first = files["UTC"].read_bytes()
    assert all(path.read_bytes() == first for path in files.values())
    assert b"DTSTART;TZID=Europe/Moscow:20260302T100000" in first
    calendar = Calendar.from_ical(first)
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Moscow"]
    event = calendar.walk("VEVENT")[0]
    # the 10:00 Moscow meeting is 07:00 UTC in every calendar program
    assert event["dtstart"].dt.astimezone(dt.UTC) == dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
    assert all(len(line) <= 75 for line in first.split(b"\r\n"))


def test_utc_zone_writes_utc_times_and_a_per_file_zone(tmp_path: Path, meeting,
                                                       actor: Actor) -> None:
    settings.set_time_zone(actor, "UTC")
    path = tmp_path / "utc.ics"
    exporting.export(actor, "events", path)
    data = path.read_bytes()
    assert b"DTSTART:20260302T100000Z" in data and b"VTIMEZONE" not in data
    exporting.export(actor, "events", path, time_zone="Asia/Yekaterinburg")
    assert b"DTSTART;TZID=Asia/Yekaterinburg:20260302T100000" in path.read_bytes()
    with pytest.raises(ValidationError, match="Unknown time zone"):
        exporting.export(actor, "events", path, time_zone="Mars/Olympus")


def test_default_zone_is_the_servers_not_the_process(tmp_path: Path, db, actor: Actor,
                                                     process_tz) -> None:
    localtime = tmp_path / "localtime"
    localtime.symlink_to("/usr/share/zoneinfo/Asia/Novosibirsk")
    process_tz("America/New_York")
    assert settings.server_time_zone(localtime, tmp_path / "none") == "Asia/Novosibirsk"
    etc_timezone = tmp_path / "timezone"
    etc_timezone.write_text("Europe/Samara\n", encoding="utf-8")
    assert settings.server_time_zone(tmp_path / "missing", etc_timezone) == "Europe/Samara"
    assert settings.server_time_zone(tmp_path / "missing", tmp_path / "none") == "UTC"
    assert settings.time_zone_name() == settings.server_time_zone()
    settings.set_time_zone(actor, "Europe/Kaliningrad")
    assert settings.time_zone_name() == "Europe/Kaliningrad"
    settings.set_time_zone(actor, "")
    assert settings.time_zone_name() == settings.server_time_zone()


def test_time_zone_is_an_admins_setting(db, actor: Actor, capsys) -> None:
    with pytest.raises(ValidationError, match="Unknown time zone"):
        settings.set_time_zone(actor, "Moscow")
    users.add_user(actor, "manager", role="manager")
    manager = users.actor_for("manager")
    with pytest.raises(PermissionDenied):
        settings.set_time_zone(manager, "Europe/Moscow")
    code, text = run_cli(["time-zone", "Europe/Moscow"], actor, capsys)
    assert code == 0 and "Europe/Moscow" in text
    code, text = run_cli(["time-zone", "-", "--json"], actor, capsys)
    assert json.loads(text)["time_zone"] == settings.server_time_zone()


def test_tasks_as_vtodo(tmp_path: Path, meeting, actor: Actor) -> None:
    settings.set_time_zone(actor, "Europe/Moscow")
    path = tmp_path / "tasks.ics"
    result = exporting.export(actor, "tasks", path)
    assert result.rows == 2
    calendar = Calendar.from_ical(path.read_bytes())
    todos = {str(t["summary"]): t for t in calendar.walk("VTODO")}
    bill = todos["Выставить счёт"]
    assert bill["due"].dt == dt.datetime(2026, 3, 3, 18, 0, tzinfo=bill["due"].dt.tzinfo)
    assert str(bill["due"].dt.tzinfo) == "Europe/Moscow"
    assert int(bill["priority"]) == 1 and str(bill["status"]) == "NEEDS-ACTION"
    assert "ООО Ромашка" in str(bill["description"]) and "Счёт на 50 000" in str(
        bill["description"])
    assert "ул. Ленина, 1" in str(bill["location"])
    done = todos["Отправить КП"]
    assert str(done["status"]) == "COMPLETED" and "due" not in done
    with pytest.raises(ValidationError, match="events and tasks"):
        exporting.export(actor, "deals", tmp_path / "d.ics")


# --- .ods -------------------------------------------------------------------------------------


def test_ods_opens_in_odfpy_with_typed_cells(tmp_path: Path, db, actor: Actor) -> None:
    from odf import opendocument, table, text

    records.create(actor, "contacts", {
        "last_name": "Иванов  Младший", "cadence_days": "14", "notes": "Первая\nВторая",
        "phones": ["+7 495 111-22-33"], "birthday": dt.date(1980, 5, 4)})
    path = tmp_path / "c.ods"
    exporting.export(actor, "contacts", path, fields=["last_name", "cadence_days", "notes",
                                                      "phones", "birthday"])
    document = opendocument.load(str(path))
    assert document.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
    rows = document.spreadsheet.getElementsByType(table.TableRow)
    cells = rows[1].getElementsByType(table.TableCell)
    assert cells[1].getAttribute("valuetype") == "float" and cells[1].getAttribute(
        "value") == "14"
    assert [str(p) for p in cells[2].getElementsByType(text.P)] == ["Первая", "Вторая"]
    assert cells[4].getAttribute("valuetype") == "date"
    assert cells[4].getAttribute("datevalue") == "1980-05-04"
    assert str(cells[3]) == "+7 495 111-22-33"
    with __import__("zipfile").ZipFile(path) as archive:
        assert archive.namelist()[0] == "mimetype"
        assert archive.getinfo("mimetype").compress_type == 0


# --- .docx ------------------------------------------------------------------------------------


def test_docx_is_a4_landscape_with_the_columns_that_fit(tmp_path: Path, db, actor: Actor) -> None:
    from docx import Document
    from docx.shared import Cm, Pt

    for n in range(3):
        records.create(actor, "contacts", {
            "last_name": f"Константинопольская-{n}", "first_name": "Мария",
            "middle_name": "Петровна", "position": "Главный бухгалтер",
            "role": "согласует договор", "hobbies": "горные лыжи", "birthday": "1985-02-28",
            "phones": ["+7 916 123-45-67"], "emails": [f"maria{n}@example.ru"],
            "residence_address": "Москва, ул. Тверская, д. 1, кв. 5",
            "registration_address": "Тверь, ул. Советская, д. 10",
            "notes": "Любит, когда звонят утром. " * 5})
    path = tmp_path / "c.docx"
    exporting.export(actor, "contacts", path)
    document = Document(str(path))
    section = document.sections[0]
    assert abs(section.page_width - Cm(29.7)) < Cm(0.05)
    assert abs(section.page_height - Cm(21.0)) < Cm(0.05)
    table = document.tables[0]
    heads = [c.text for c in table.rows[0].cells]
    # the columns empty in every row (photo, group, …) are not there at all
    assert "Photo" not in heads and "Group" not in heads
    assert heads[0] == "Last name" and heads[-1] == "Other fields"
    widths = [col.width for col in table.columns]
    assert sum(widths) <= Cm(29.7 - 3) + Cm(0.05)
    assert min(widths) >= Cm(1.6)
    rest = table.rows[1].cells[-1].text
    assert "Notes: Любит, когда звонят утром." in rest
    for paragraph in (p for row in table.rows for c in row.cells for p in c.paragraphs):
        for run in paragraph.runs:
            assert run.font.size is None or run.font.size >= Pt(9)
    assert document.styles["Normal"].font.size == Pt(9)
    # every value is somewhere: in its column or in "Other fields"
    text = "\n".join(c.text for c in table.rows[1].cells)
    for value in ("Константинопольская-0", "maria0@example.ru", "горные лыжи",
                  "Тверь, ул. Советская, д. 10", "+7 916 123-45-67"):
        assert value in text


def test_docx_of_few_columns_has_no_other_fields(tmp_path: Path, db, actor: Actor) -> None:
    from docx import Document

    records.create(actor, "contacts", {"last_name": "Иванов", "first_name": "Иван"})
    path = tmp_path / "c.docx"
    exporting.export(actor, "contacts", path, fields=["last_name", "first_name"])
    table = Document(str(path)).tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Last name", "First name"]
    assert [c.text for c in table.rows[1].cells] == ["Иванов", "Иван"]


# --- organizations that share a name ---------------------------------------------------------


def test_a_shared_company_name_goes_out_with_its_inn_and_comes_back(tmp_path: Path, db,
                                                                    actor: Actor) -> None:
    from tui_crm.services.transfer import org_names

    assert org_names.split("Альфа (ИНН 7707083893)") == ("Альфа", "7707083893")
    assert org_names.split("Альфа (INN 500100732259)") == ("Альфа", "500100732259")
    assert org_names.split("Альфа (Казань)") == ("Альфа (Казань)", "")
    alfa1 = records.create(actor, "organizations", {"name": "Альфа", "inn": "7707083893",
                                                     "status": "client"})
    alfa2 = records.create(actor, "organizations", {"name": "альфа", "inn": "500100732259",
                                                     "status": "client"})
    solo = records.create(actor, "organizations", {"name": "Бета", "inn": "7736207543",
                                                    "status": "client"})
    for org in (alfa1, alfa2, solo):
        records.create(actor, "contacts", {"last_name": f"Сотрудник {org.id}",
                                           "organization": org.id})
    for fmt in ("csv", "vcf"):
        path = tmp_path / f"people.{fmt}"
        exporting.export(actor, "contacts", path, fields=["last_name", "organization"]
                         if fmt == "csv" else None)
        text = path.read_bytes().decode("utf-8-sig")
        assert "Альфа (ИНН 7707083893)" in text and "альфа (ИНН 500100732259)" in text
        assert "Бета (ИНН" not in text  # a name no one else has stays as it is
        for row in records.list_records(actor, "contacts", ListQuery()).rows:
            records.delete(actor, "contacts", row.id)
        result = importing.import_file(actor, path, ImportOptions(kind="contacts",
                                                                  on_duplicate="create"))
        assert result.created == 3 and not result.errors
        links = {records.get(actor, "contacts", i).values["last_name"]:
                 records.get(actor, "contacts", i).values["organization"]
                 for i in result.created_ids}
        assert links == {f"Сотрудник {o.id}": o.id for o in (alfa1, alfa2, solo)}, fmt


def test_a_date_before_1900_goes_to_xlsx_as_text(tmp_path: Path, db, actor: Actor) -> None:
    import openpyxl

    records.create(actor, "contacts", {"last_name": "Безгодов",
                                       "birthday": dt.date(1604, 3, 8)})
    path = tmp_path / "c.xlsx"
    exporting.export(actor, "contacts", path, fields=["last_name", "birthday"])
    sheet = openpyxl.load_workbook(path).active
    assert sheet["B2"].value == "1604-03-08"  # Excel's dates start in 1900
    for row in records.list_records(actor, "contacts", ListQuery()).rows:
        records.delete(actor, "contacts", row.id)
    result = importing.import_file(actor, path, ImportOptions(kind="contacts"))
    assert records.get(actor, "contacts", result.created_ids[0]).values["birthday"] == \
        dt.date(1604, 3, 8)
