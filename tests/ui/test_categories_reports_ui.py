"""Categories, Reports and the deals board in the UI, driven by the pilot on a real SQLite
file: open Categories, change criterion and period, apply with confirmation; open each report
and export it to .xlsx; write a meeting report and a day's lateness; move deals by stage and
add a payment with keys."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, Select

from tui_crm.db import models as m
from tui_crm.db import open_database
from tui_crm.services.analytics import reports
from tui_crm.services.analytics import segmentation as seg
from tui_crm.services.analytics.reports import journal, meetings
from tui_crm.services.core import audit, records, users
from tui_crm.ui.screens.categories import CategoriesPane, ConfirmApply
from tui_crm.ui.screens.deals_board import DealsBoard, PaymentModal, ReasonModal
from tui_crm.ui.screens.reports import (
    DayJournalModal,
    ExportModal,
    MeetingReportForm,
    ReportsPane,
)

NOW = dt.datetime(2026, 3, 3, 10, 0)
DAY = dt.date(2026, 3, 2)


class Host(App):
    """A tiny app hosting one pane, with a fixed clock and a record opener."""

    def __init__(self, make) -> None:  # noqa: ANN001 - a pane factory
        super().__init__()
        self.make = make
        self.opened: list[tuple[str, int]] = []

    def clock(self) -> dt.datetime:
        return NOW

    def open_record(self, kind: str, record_id: int) -> None:
        self.opened.append((kind, record_id))

    def compose(self) -> ComposeResult:
        yield self.make()


async def settle(pilot) -> None:  # noqa: ANN001 - a textual Pilot
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def base(tmp_path):
    open_database(tmp_path / "ui-money.sqlite3")
    admin = users.resolve_actor()
    users.add_user(admin, "anna", role="manager", full_name="Анна")
    anna = users.actor_for("anna")
    ids = []
    for i in range(10):
        oid = records.create(admin, "organizations", {"name": f"Клиент {i}", "status": "client",
                                                      "owner": anna.user_id}).id
        ids.append(oid)
        records.create(admin, "payments", {"date": "2026-01-15", "amount": str(1000 - 50 * i),
                                           "organization": oid})
        records.create(admin, "payments", {"date": "2026-02-15", "amount": str(100 + 10 * i),
                                           "organization": oid})
        if i < 3:
            records.create(admin, "payments", {"date": "2026-02-16", "amount": "5",
                                               "organization": oid})
    return admin, anna, ids


async def test_categories_change_criterion_and_period_then_apply(base) -> None:
    admin, _anna, ids = base
    app = Host(lambda: CategoriesPane(admin))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(CategoriesPane)
        result = pane.result
        # By default the last 12 months up to the newest payment's month (issue 15: one
        # month, maybe days old, gave "VIP 1").
        assert result is not None and result.period == "2025-03..2026-02"
        assert len(result.months) == 12
        assert result.paying_clients == 10
        pane.query_one("#cat-period", Select).value = "2026-02"  # the newest month alone
        await settle(pilot)
        result = pane.result
        assert result.counts() == {"vip": 2, "good": 2, "regular": 6}
        # February ranks the last clients first (100 + 10 i): Клиент 9 is on top.
        table = pane.query_one("#cat-clients", DataTable)
        assert table.row_count == 10
        assert table.get_row_at(0)[2] == "Клиент 9"
        # Criterion: number of payments — the three who paid twice are all VIP (a tie).
        pane.query_one("#cat-criterion", Select).value = "count"
        await settle(pilot)
        assert pane.result.criterion == "count"
        assert len(pane.result.tiers["vip"]) == 3 and pane.result.ties
        # Period: January (a single month).
        pane.query_one("#cat-criterion", Select).value = "payments"
        pane.query_one("#cat-period", Select).value = "2026-01"
        await settle(pilot)
        assert pane.result.months == ["2026-01"]
        assert [r.name for r in pane.result.tiers["vip"]] == ["Клиент 0", "Клиент 1"]
        months = pane.query_one("#cat-months", DataTable)
        assert months.row_count == 2  # January and the span row
        # Apply: confirm with the key, then the categories are in the database and history.
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmApply)
        await pilot.press("y")
        await settle(pilot)
        assert pane.applied is not None and pane.applied.changed == 10
        assert m.Organization.get_by_id(ids[0]).category == "vip"
        assert m.Organization.get_by_id(ids[2]).category == "good"
        assert any(e.field == "category" for e in audit.history("organizations", ids[0]))
        # Enter on a client opens it.
        pane.query_one("#cat-tabs").active = "tab-clients"
        table.focus()
        await pilot.press("enter")
        assert app.opened and app.opened[-1][0] == "organizations"


async def test_categories_apply_is_refused_to_a_manager(base) -> None:
    _admin, anna, ids = base
    app = Host(lambda: CategoriesPane(anna))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(CategoriesPane)
        assert pane.query_one("#cat-apply").disabled
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmApply)
        assert m.Organization.get_by_id(ids[0]).category == "none"
        assert pane.result.paying_clients == 10  # all ten are Anna's


@pytest.fixture
def reporting(base):
    admin, anna, ids = base
    meeting = records.create(anna, "events", {
        "event_type": "meeting", "starts_at": dt.datetime.combine(DAY, dt.time(11)),
        "organization": ids[0], "assignee": anna.user_id, "status": "done",
        "result": "held_interested", "next_step": "КП в пятницу"}).id
    records.create(anna, "events", {
        "event_type": "call", "starts_at": dt.datetime.combine(DAY, dt.time(9)),
        "organization": ids[1], "assignee": anna.user_id, "status": "done",
        "result": "reached_dm"})
    records.create(anna, "events", {
        "event_type": "visit", "starts_at": dt.datetime.combine(DAY, dt.time(15)),
        "organization": ids[2], "assignee": anna.user_id, "status": "done", "result": "order"})
    records.create(admin, "contacts", {"last_name": "Иванов", "first_name": "Пётр",
                                       "birthday": dt.date(1970, 3, 2)})
    return admin, anna, ids, meeting


async def test_every_report_opens_and_exports(reporting, tmp_path) -> None:
    admin, _anna, _ids, _meeting = reporting
    app = Host(lambda: ReportsPane(admin, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(ReportsPane)
        for name in reports.REPORTS:
            pane.choose(name)
            await settle(pilot)
            assert pane.report is not None and pane.report.name == name
            table = pane.query_one("#rep-table", DataTable)
            assert table.row_count == len(pane.report.rows) + 1  # with the totals row
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, ExportModal)
            target = tmp_path / f"{name}.xlsx"
            app.screen.query_one("#path", Input).value = str(target)
            await pilot.press("enter")
            await pilot.pause()
            assert pane.last_export == str(target) and target.exists(), name
            sheet = load_workbook(target).active
            assert [c.value for c in sheet[1]] == [c.label for c in pane.report.columns]
            assert sheet.max_row == len(pane.report.rows) + 2
        pane.choose("activity")
        await settle(pilot)
        assert [r["cold_calls"] for r in pane.report.rows if r["date"] == DAY] == [1]
        assert pane.report.chart is not None
        await pilot.press("c")
        await pilot.pause()
        assert pane.query_one("#rep-chart").has_class("-shown")


async def test_meeting_report_and_day_journal_from_the_reports(reporting) -> None:
    _admin, anna, _ids, meeting = reporting
    app = Host(lambda: ReportsPane(anna, report="meetings", start=DAY, end=DAY))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(ReportsPane)
        assert pane.report.name == "meetings" and len(pane.report.rows) == 1
        pane.query_one("#rep-table", DataTable).focus()
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, MeetingReportForm)
        form.query_one("#subject", Input).value = "Пилотный заказ"
        form.query_one("#our_actions", Input).value = "Выслать договор"
        form.query_one("#next_contact_date", Input).value = "10.03.2026"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, MeetingReportForm)
        saved = meetings.meeting_report(anna, meeting)
        assert (saved.subject, saved.our_actions, saved.next_contact_date) == (
            "Пилотный заказ", "Выслать договор", dt.date(2026, 3, 10))
        assert pane.report.rows[0]["subject"] == "Пилотный заказ"
        # The manager's own day: lateness and journal from the activity report.
        pane.choose("activity")
        await settle(pilot)
        pane.query_one("#rep-table", DataTable).focus()
        await pilot.press("j")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, DayJournalModal) and modal.day == DAY
        modal.query_one("#late", Input).value = "12"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert journal.day_journal(anna, DAY).lateness_minutes == 12
        assert pane.report.rows[0]["lateness"] == 12
        # A manager may not export.
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, ExportModal)


async def test_deals_board_moves_and_takes_payments(base) -> None:
    admin, _anna, ids = base
    deal = records.create(admin, "deals", {"title": "Поставка", "organization": ids[0],
                                           "amount": "5000", "stage": "negotiation"}).id
    other = records.create(admin, "deals", {"title": "Сервис", "organization": ids[1],
                                            "amount": "800", "stage": "new"}).id
    app = Host(lambda: DealsBoard(admin))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        board = app.query_one(DealsBoard)
        assert [len(c.cards) for c in board.columns] == [1, 0, 1, 0, 0, 0]
        await pilot.press("right", "right")  # to "negotiation"
        assert board.focused_column().stage == "negotiation"
        await pilot.press("n")
        await pilot.pause()
        assert m.Deal.get_by_id(deal).stage == "invoice"
        assert [len(c.cards) for c in board.columns] == [1, 0, 0, 1, 0, 0]
        await pilot.press("right", "p")
        await pilot.pause()
        assert isinstance(app.screen, PaymentModal)
        assert app.screen.query_one("#amount", Input).value == "5000.00"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert m.Payment.select().where(m.Payment.deal == deal).count() == 1
        assert m.Deal.get_by_id(deal).stage == "won"  # paid in full
        await pilot.press("left", "left", "left", "x")  # back to "new": lose "Сервис"
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"price")
        await pilot.press("enter")
        await pilot.pause()
        lost = m.Deal.get_by_id(other)
        assert (lost.stage, lost.lost_reason) == ("lost", "price")
        await pilot.press("o")
        assert app.opened == [] or app.opened[-1][0] == "deals"


async def test_the_apply_dialog_counts_what_changes(base) -> None:
    """Issue 15: the dialog said "VIP → VIP: 20" while 35 records changed."""
    admin, _anna, ids = base
    for oid in ids[:2]:  # already VIP: applying February changes only the other eight
        records.update(admin, "organizations", oid, {"category": "regular"})
    records.update(admin, "organizations", ids[9], {"category": "vip"})
    app = Host(lambda: CategoriesPane(admin))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(CategoriesPane)
        pane.query_one("#cat-period", Select).value = "2026-02"
        await settle(pilot)
        expected, same = seg.planned_changes(pane.result)
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmApply)
        text = str(dialog.query_one("#apply-text").content)
        assert f"{sum(expected.values())} organizations change, {same} keep theirs" in text
        await pilot.press("y")
        await settle(pilot)
        assert pane.applied.changed == sum(expected.values())
