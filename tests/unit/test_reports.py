"""The report package, on a scripted day of a manager's work: activity counted from logged
events, deal stage moves and payments; department and manager reports; meeting reports;
client-base audit; sources; field visits; birthdays; the follow-up base; rights, visibility
and the .xlsx export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tui_crm.db import models as m
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.services.analytics import money, reports
from tui_crm.services.analytics.reports import activity, client_base, journal, meetings
from tui_crm.services.core import audit, records, users
from tui_crm.services.core.rights import Actor

DAY = dt.date(2026, 3, 2)  # a Monday


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm))


def org(actor: Actor, name: str, **extra: object) -> int:
    data = {"name": name, "status": "client", "owner": actor.user_id}
    data.update(extra)
    return records.create(actor, "organizations", data).id


def done(actor: Actor, kind: str, when: dt.datetime, result: str | None, *,
         org_id: int | None = None, contact_id: int | None = None, status: str = "done",
         note: str = "") -> int:
    data = {"event_type": kind, "starts_at": when, "organization": org_id,
            "contact": contact_id, "assignee": actor.user_id, "status": status,
            "result_note": note}
    if result:
        data["result"] = result
        data["next_step"] = "перезвонить"  # a warm result needs one; harmless on the others
    return records.create(actor, "events", data).id


@pytest.fixture
def team(db, actor: Actor) -> tuple[Actor, Actor, Actor]:
    users.add_user(actor, "anna", role="manager", full_name="Анна Петрова")
    users.add_user(actor, "boris", role="manager", full_name="Борис Сидоров")
    return actor, users.actor_for("anna"), users.actor_for("boris")


@pytest.fixture
def scripted_day(team: tuple[Actor, Actor, Actor]) -> dict[str, int]:
    """Anna's Monday, 2 March 2026 (see the expected counts in the first test)."""
    admin, anna, boris = team
    o = {name: org(anna, name) for name in ("A", "B", "C", "D", "E", "F", "G", "H")}
    o["E"] = org(anna, "=SUM(1,2)")  # a name that must stay text in Excel
    person = records.create(anna, "contacts", {"last_name": "Кузнецов", "first_name": "Иван"}).id
    done(anna, "call", at(DAY - dt.timedelta(days=6), 10), "no_answer", org_id=o["B"])
    done(anna, "call", at(DAY, 9, 0), "reached_dm", org_id=o["A"])  # cold, DM
    done(anna, "call", at(DAY, 9, 15), "meeting_set", org_id=o["B"])  # repeat, DM, prod, set
    done(anna, "call", at(DAY, 9, 30), "no_answer", org_id=o["C"])  # cold
    done(anna, "call", at(DAY, 9, 45), "interested", contact_id=person)  # cold, DM, productive
    done(anna, "proposal", at(DAY, 10, 0), "sent", org_id=o["B"])  # proposal B
    meeting = done(anna, "meeting", at(DAY, 11, 0), "held_interested", org_id=o["E"],
                   note="Показали каталог")  # held, DM
    done(anna, "meeting", at(DAY, 12, 0), "postponed", org_id=o["F"])  # not held
    done(anna, "call", at(DAY, 13, 0), "call_back", org_id=o["A"])  # repeat
    done(anna, "call", at(DAY, 15, 0), None, org_id=o["G"], status="planned")  # not done
    boris_org = org(boris, "Boris's client")
    done(boris, "call", at(DAY, 9, 0), "reached_dm", org_id=boris_org)
    # Deals: B to "proposal" (same client as the proposal event: one proposal), D through to
    # "invoice", G created at "invoice", H won.
    for name in ("B", "D", "H"):
        o[f"deal_{name}"] = records.create(anna, "deals", {
            "title": f"Deal {name}", "organization": o[name], "amount": "10000",
            "owner": anna.user_id}).id
    money.move_stage(anna, o["deal_B"], "proposal")
    for stage in ("proposal", "negotiation", "invoice"):
        money.move_stage(anna, o["deal_D"], stage)
    o["deal_G"] = records.create(anna, "deals", {"title": "Deal G", "organization": o["G"],
                                                 "amount": "2500", "stage": "invoice",
                                                 "owner": anna.user_id}).id
    money.move_stage(anna, o["deal_H"], "won")
    # The moves happened "now"; put them on the scripted day.
    m.AuditLog.update(at=at(DAY, 14)).where(m.AuditLog.kind == "deals").execute()
    for name, amount in (("A", "15000"), ("C", "500")):
        records.create(anna, "payments", {"date": DAY, "amount": amount,
                                          "organization": o[name]})
    records.create(admin, "payments", {"date": DAY, "amount": "999",
                                       "organization": boris_org})
    journal.set_day_journal(anna, DAY, lateness_minutes=10, journal_sent=True)
    # The next day nothing was entered, but the work journal (plan) was exported.
    audit.log(anna, "export", "plan", None, details="plan")
    m.AuditLog.update(at=at(DAY + dt.timedelta(days=1), 18)).where(
        m.AuditLog.kind == "plan").execute()
    o["meeting"] = meeting
    o["person"] = person
    return o


EXPECTED = {"cold_calls": 3, "decision_makers": 4, "proposals": 2, "repeat_calls": 2,
            "productive_calls": 2, "meetings_set": 1, "meetings_held": 1, "invoices": 2,
            "payments": Decimal("15500.00"), "lateness": 10, "journal_sent": True}


def test_activity_is_counted_from_the_logged_day(scripted_day: dict[str, int],
                                                 team: tuple[Actor, Actor, Actor]) -> None:
    admin, anna, boris = team
    report = activity.activity(admin, DAY, DAY)
    by_manager = {r["manager"]: r for r in report.rows}
    assert set(by_manager) == {"Анна Петрова", "Борис Сидоров"}
    row = by_manager["Анна Петрова"]
    assert {k: row[k] for k in EXPECTED} == EXPECTED
    assert row["date"] == DAY and row["weekday"] == "Mon"
    assert by_manager["Борис Сидоров"]["cold_calls"] == 1
    assert by_manager["Борис Сидоров"]["payments"] == Decimal("999.00")
    assert report.totals["cold_calls"] == 4 and report.totals["journal_sent"] == 1
    assert report.chart.labels == ["Анна Петрова", "Борис Сидоров"]
    assert report.chart.series["Calls"] == [5.0, 1.0]
    # A manager sees only their own figures.
    own = activity.activity(anna, DAY, DAY)
    assert [r["manager"] for r in own.rows] == ["Анна Петрова"]
    with pytest.raises(PermissionDenied):
        activity.activity(boris, DAY, DAY, manager="anna")


def test_manager_report_lists_every_day(scripted_day: dict[str, int],
                                        team: tuple[Actor, Actor, Actor]) -> None:
    _admin, anna, _boris = team
    report = activity.manager_report(anna, DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1))
    assert [r["date"] for r in report.rows] == [DAY - dt.timedelta(days=1), DAY,
                                                DAY + dt.timedelta(days=1)]
    assert report.rows[0]["cold_calls"] == 0 and report.rows[0]["month"] == "March 2026"
    assert {k: report.rows[1][k] for k in EXPECTED} == EXPECTED
    assert report.rows[2]["journal_sent"] is True  # the plan was exported that day
    assert report.totals["journal_sent"] == 2 and report.totals["payments"] == Decimal("15500")
    assert report.manager == "anna"


def test_department_totals_per_manager(scripted_day: dict[str, int],
                                       team: tuple[Actor, Actor, Actor]) -> None:
    admin, _anna, _boris = team
    report = activity.department(admin, DAY, DAY)
    rows = {r["manager"]: r for r in report.rows}
    anna = rows["Анна Петрова"]
    assert (anna["cold_calls"], anna["repeat_calls"], anna["won_deals"], anna["won_amount"]) == (
        3, 2, 1, Decimal("10000.00"))
    assert anna["meeting_rate"] == 20.0  # 1 meeting set per 5 calls
    assert report.totals["won_deals"] == 1 and report.totals["payments"] == Decimal("16499.00")
    assert report.chart.labels == [r["manager"] for r in report.rows]


def test_activity_rules_are_configurable(scripted_day: dict[str, int],
                                         team: tuple[Actor, Actor, Actor]) -> None:
    admin, anna, _boris = team
    done(anna, "email", at(DAY, 16), "sent", org_id=scripted_day["H"])
    with pytest.raises(PermissionDenied):
        activity.set_activity_rules(anna, {"call_types": ["call", "email"]})
    with pytest.raises(ValidationError):
        activity.set_activity_rules(admin, {"call_types": ["telegram"]})
    with pytest.raises(ValidationError):
        activity.set_activity_rules(admin, {"nonsense": ["call"]})
    activity.set_activity_rules(admin, {"call_types": ["call", "email"]})
    row = activity.activity(anna, DAY, DAY).rows[0]
    assert row["cold_calls"] == 4
    assert activity.activity_rules()["call_types"] == ["call", "email"]


def test_meeting_report(scripted_day: dict[str, int], team: tuple[Actor, Actor, Actor]) -> None:
    _admin, anna, boris = team
    meeting = scripted_day["meeting"]
    blank = meetings.meeting_report(anna, meeting)
    assert not blank.saved and blank.event_result == "Held, interested"
    with pytest.raises(ValidationError):
        meetings.save_meeting_report(anna, meeting, {"subject": " "})
    view = meetings.save_meeting_report(anna, meeting, {
        "subject": "Поставка бумаги", "agreements": "Скидка 5 % при оплате до 10.03",
        "result": "Готовы к пилоту", "our_actions": "Выслать договор",
        "client_actions": "Согласовать с юристом", "next_contact_date": "10.03.2026"},
        now=at(DAY, 12))
    assert view.saved and view.next_contact_date == dt.date(2026, 3, 10)
    planned = m.Event.select().where((m.Event.organization == scripted_day["E"])
                                     & (m.Event.status == "planned"))
    assert [e.starts_at for e in planned] == [at(dt.date(2026, 3, 10), 10)]
    meetings.save_meeting_report(anna, meeting, {"next_contact_date": "2026-03-10"})
    assert planned.count() == 1  # not planned twice
    report = meetings.meetings(anna, DAY, DAY)
    rows = {r["organization"]: r for r in report.rows}
    assert rows["=SUM(1,2)"]["subject"] == "Поставка бумаги" and rows["=SUM(1,2)"]["reported"]
    assert rows["F"]["result"] == "Postponed" and not rows["F"]["reported"]
    assert report.totals["reported"] == 1
    call = m.Event.get((m.Event.organization == scripted_day["A"]) & (m.Event.status == "done"))
    with pytest.raises(ValidationError):
        meetings.save_meeting_report(anna, call.id, {"subject": "x"})
    with pytest.raises(PermissionDenied):
        meetings.meeting_report(boris, meeting)
    assert any(e.action == "meeting_report"
               for e in audit.history("organizations", scripted_day["E"]))


def test_export_to_xlsx_keeps_text_as_text(scripted_day: dict[str, int], tmp_path,
                                           team: tuple[Actor, Actor, Actor]) -> None:
    admin, anna, _boris = team
    report = meetings.meetings(admin, DAY, DAY)
    path = tmp_path / "meetings.xlsx"
    assert reports.export_xlsx(report, str(path), admin) == 2
    sheet = load_workbook(path).active
    header = [c.value for c in sheet[1]]
    assert header == [c.label for c in report.columns]
    names = [row[2].value for row in sheet.iter_rows(min_row=2)]
    assert "=SUM(1,2)" in names
    cell = next(row[2] for row in sheet.iter_rows(min_row=2) if row[2].value == "=SUM(1,2)")
    assert cell.data_type == "s"
    assert any(e.action == "export" and e.kind == "reports" for e in audit.history(
        action="export"))
    day_report = activity.activity(admin, DAY, DAY)
    reports.export_xlsx(day_report, str(tmp_path / "activity.xlsx"), admin)
    sheet = load_workbook(tmp_path / "activity.xlsx").active
    first = [c.value for c in sheet[2]]
    assert first[2] == "Анна Петрова" and first[3] == 3 and first[11] == 15500
    assert [c.value for c in sheet[sheet.max_row]][2] == "Total"
    with pytest.raises(PermissionDenied):
        reports.export_xlsx(day_report, str(tmp_path / "no.xlsx"), anna)
    assert not (tmp_path / "no.xlsx").exists()
    with pytest.raises(ValidationError):
        reports.export_xlsx(day_report, str(tmp_path / "missing" / "x.xlsx"), admin)


def test_client_base_audit_by_category(db, actor: Actor) -> None:
    today = dt.date.today()
    start, end = today - dt.timedelta(days=29), today
    x, y, z = org(actor, "X"), org(actor, "Y"), org(actor, "Z")
    # They were in the base before the period; a client added today was not.
    m.Organization.update(created_at=dt.datetime.combine(start, dt.time()) - dt.timedelta(
        days=40)).execute()
    late = org(actor, "Added today", category="regular")
    for oid, amount, day in ((x, "1000", end), (y, "300", end),
                             (x, "500", start - dt.timedelta(days=5))):
        records.create(actor, "payments", {"date": day, "amount": amount, "organization": oid})
    records.update(actor, "organizations", x, {"category": "vip"})
    records.update(actor, "organizations", y, {"category": "good"})
    report = client_base.client_audit(actor, start, end)
    rows = {r["_code"]: r for r in report.rows}
    assert (rows["vip"]["clients"], rows["vip"]["clients_before"],
            rows["vip"]["clients_change"]) == (1, 0, 1)
    assert rows["vip"]["value"] == Decimal("1000.00") and rows["vip"]["value_pct"] == 76.9
    assert rows["none"]["clients"] == 1 and rows["none"]["clients_before"] == 3
    # Before the period X was not VIP yet: its earlier 500 counts for "none" then.
    assert rows["none"]["value_before"] == Decimal("500.00")
    assert rows["vip"]["value_before"] == Decimal("0.00")
    assert (rows["regular"]["clients"], rows["regular"]["clients_before"]) == (1, 0)
    assert report.totals["clients"] == 4 and report.totals["value"] == Decimal("1300.00")
    assert rows["good"]["average"] == Decimal("300.00")
    assert client_base.categories_at(dt.datetime.combine(start, dt.time()))[x] == "none"
    assert client_base.categories_at(dt.datetime.combine(start, dt.time())).get(late) is None
    assert z in client_base.categories_at(dt.datetime.combine(start, dt.time()))
    by_count = client_base.client_audit(actor, start, end, criterion="count")
    assert {r["_code"]: r["value"] for r in by_count.rows}["vip"] == 1


def test_client_base_audit_names_an_unknown_criterion(db, actor: Actor) -> None:
    today = dt.date.today()
    with pytest.raises(ValidationError) as caught:
        client_base.client_audit(actor, today, today, criterion="profit")
    assert "payments" in caught.value.errors["criterion"]


def test_sources_report(db, actor: Actor) -> None:
    today = dt.date.today()
    web1 = org(actor, "W1", status="lead", source="Website")
    org(actor, "W2", status="lead", source="Website")
    ref = org(actor, "R1", status="warm", source="Referral")
    for oid in (web1, ref):
        records.create(actor, "payments", {"date": today, "amount": "100",
                                           "organization": oid})
    report = client_base.sources(actor, today, today)
    rows = {r["source"]: r for r in report.rows}
    assert (rows["Website"]["leads"], rows["Website"]["paying"],
            rows["Website"]["conversion"]) == (2, 1, 50.0)
    assert (rows["Referral"]["leads"], rows["Referral"]["warm"], rows["Referral"]["paid"]) == (
        1, 1, Decimal("100.00"))
    assert report.totals["leads"] == 3 and report.totals["paying"] == 2


def test_field_visits(team: tuple[Actor, Actor, Actor]) -> None:
    _admin, anna, _boris = team
    shop = org(anna, "Магазин у дома", city="Тула", address="ул. Ленина, 1")
    kiosk = org(anna, "Киоск")
    done(anna, "visit", at(DAY, 10), "order", org_id=shop, note="Заказ 20 коробок")
    done(anna, "visit", at(DAY, 11), "no_order", org_id=kiosk)
    done(anna, "visit", at(DAY, 12), None, org_id=kiosk, status="missed")
    done(anna, "visit", at(DAY, 13), None, org_id=kiosk, status="planned")
    report = client_base.visits(anna, DAY, DAY)
    assert [(r["time"], r["outlet"], r["result"], r["order"]) for r in report.rows] == [
        ("10:00", "Магазин у дома", "Order taken", True), ("11:00", "Киоск", "No order", False),
        ("12:00", "Киоск", "Missed", False)]
    assert report.rows[0]["address"] == "Тула, ул. Ленина, 1"
    assert report.rows[0]["note"] == "Заказ 20 коробок"
    assert report.totals["order"] == 1


def test_birthdays_across_the_new_year_and_29_february(db, actor: Actor) -> None:
    for last, day in (("Новогодний", dt.date(1980, 12, 31)), ("Январский", dt.date(1990, 1, 2)),
                      ("Летний", dt.date(1985, 6, 15)), ("Високосный", dt.date(2000, 2, 29))):
        records.create(actor, "contacts", {"last_name": last, "first_name": "Иван",
                                           "birthday": day})
    report = client_base.birthdays(actor, dt.date(2026, 12, 30), dt.date(2027, 1, 3))
    assert [(r["name"], r["date"], r["age"]) for r in report.rows] == [
        ("Новогодний Иван", dt.date(2026, 12, 31), 46), ("Январский Иван", dt.date(2027, 1, 2), 37)]
    leap = client_base.birthdays(actor, dt.date(2027, 2, 27), dt.date(2027, 3, 1))
    assert [(r["name"], r["date"]) for r in leap.rows] == [("Високосный Иван",
                                                            dt.date(2027, 2, 28))]


def test_follow_up_base_and_payments_by_month(db, actor: Actor) -> None:
    warm = org(actor, "Тёплый", status="warm")
    records.create(actor, "payments", {"date": dt.date(2026, 2, 3), "amount": "700",
                                       "organization": warm})
    report = client_base.followup_base(actor, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert [(r["organization"], r["no_next_step"]) for r in report.rows] == [("Тёплый", True)]
    by_month = client_base.payments_by_month(actor, dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert [(r["month"], r["payments"], r["clients"]) for r in by_month.rows] == [
        ("January 2026", Decimal("0.00"), 0), ("February 2026", Decimal("700.00"), 1),
        ("March 2026", Decimal("0.00"), 0)]
    assert by_month.chart.series["Payments, sum"] == [0.0, 700.0, 0.0]


def test_every_report_builds_and_bad_input_is_refused(db, actor: Actor) -> None:
    for name in reports.REPORTS:
        report = reports.build(actor, name, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
        assert report.name == name and report.to_dict()["report"] == name
    with pytest.raises(ValidationError):
        reports.build(actor, "profit", dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    with pytest.raises(ValidationError):
        activity.activity(actor, dt.date(2026, 2, 1), dt.date(2026, 1, 1))
    with pytest.raises(ValidationError):
        reports.period_of("вчера-позавчера", None)
    assert reports.period_of("01.01.2026", "2026-01-31") == (dt.date(2026, 1, 1),
                                                              dt.date(2026, 1, 31))
    assert reports.period_of(None, None, dt.date(2026, 5, 20)) == (dt.date(2026, 5, 1),
                                                                   dt.date(2026, 5, 20))


def test_day_journal_rights(team: tuple[Actor, Actor, Actor]) -> None:
    admin, anna, boris = team
    entry = journal.set_day_journal(anna, "02.03.2026", lateness_minutes="15")
    assert (entry.lateness_minutes, entry.journal_sent) == (15, False)
    with pytest.raises(PermissionDenied):
        journal.set_day_journal(boris, DAY, journal_sent=True, user="anna")
    with pytest.raises(ValidationError):
        journal.set_day_journal(anna, DAY, lateness_minutes="late")
    with pytest.raises(ValidationError):
        journal.set_day_journal(anna, DAY, lateness_minutes=5000)
    journal.set_day_journal(admin, DAY, journal_sent=True, user="anna")
    assert journal.day_journal(anna, DAY) == journal.DayEntry(anna.user_id, DAY, 15, True, "")


def test_reports_on_the_command_line(scripted_day: dict[str, int], tmp_path, capsys,
                                     team: tuple[Actor, Actor, Actor]) -> None:
    import json

    from tests.unit.test_segmentation import run_cli

    admin, anna, _boris = team
    assert run_cli(admin, "report", "activity", "--from", "02.03.2026", "--to", "2026-03-02",
                   "--manager", "anna", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][0]["cold_calls"] == 3 and data["rows"][0]["payments"] == 15500.0
    assert run_cli(admin, "report", "department", "--from", "2026-03-02", "--to",
                   "2026-03-02") == 0
    text = capsys.readouterr().out
    assert "Sales department" in text and "Анна Петрова" in text and "Total" in text
    target = tmp_path / "audit.xlsx"
    assert run_cli(admin, "report", "audit", "--from", "2026-03-01", "--to", "2026-03-31",
                   "--criterion", "count", "-o", str(target)) == 0
    assert target.exists() and "5 rows written" in capsys.readouterr().out
    with pytest.raises(PermissionDenied):
        run_cli(anna, "report", "activity", "-o", str(tmp_path / "no.xlsx"))
    assert run_cli(anna, "journal", "--date", "2026-03-03", "--late", "7", "--sent", "yes") == 0
    assert "late 7 min, work journal sent" in capsys.readouterr().out
    assert run_cli(anna, "meeting-report", str(scripted_day["meeting"]), "--subject", "Итоги",
                   "--json") == 0
    assert json.loads(capsys.readouterr().out)["subject"] == "Итоги"
    assert run_cli(anna, "deal-move", str(scripted_day["deal_D"])) == 0
    assert "Deal D: Won" in capsys.readouterr().out
    assert run_cli(anna, "money", str(scripted_day["A"])) == 0
    assert "Purchase frequency" in capsys.readouterr().out
