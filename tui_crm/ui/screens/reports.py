"""The Reports pane: choose a report, the period and a manager; read the table (with a chart
where a picture reads faster); export it to .xlsx. Also the forms a report needs filled in:
the meeting report (on a meeting event) and a manager's day (lateness, journal sent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static, TextArea

from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.analytics import reports
from tui_crm.services.analytics.reports import journal, meetings
from tui_crm.services.analytics.reports.common import Report
from tui_crm.services.analytics.reports.journal import DayEntry
from tui_crm.services.analytics.reports.meetings import MeetingReportView
from tui_crm.services.core import users
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates
from tui_crm.ui.screens.log_result import now_of as _now
from tui_crm.ui.widgets import (
    PlainTable,
    control_grid_css,
    fit_controls,
    modal_css,
    translate_bindings,
    typed_actions,
    typing_in_field,
)

EVERYONE = "*"
NUMERIC = ("int", "money", "decimal", "percent")


class ExportModal(ModalScreen[str | None]):
    """Where to write the file (and, when CSV is offered, in which encoding: `encoding`)."""

    DEFAULT_CSS = modal_css("ExportModal")
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="reports.export.cancel")]

    def __init__(self, default_path: str, formats: tuple[str, ...] = ("xlsx",)) -> None:
        super().__init__()
        self.default_path = default_path
        self.formats = formats
        self.encoding = "utf-8"  # a CSV file's, chosen below when CSV is offered

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.formats == ("xlsx",):
                yield Label(_("Export to Excel (.xlsx)"), classes="title")
            else:
                yield Label(_("Export to a file; the name's ending picks the format: {formats}")
                            .format(formats=", ".join(f".{f}" for f in self.formats)),
                            classes="title", markup=False)
            yield Input(self.default_path, id="path")
            if self.app.is_web:
                yield Label(_("The file is sent to your browser as a download."),
                            classes="note", markup=False)
            if "csv" in self.formats:
                yield Select([(_("CSV in UTF-8 (Excel, Google Sheets, LibreOffice)"), "utf-8"),
                              (_("CSV in Windows-1251 (old Excel, 1C)"), "cp1251")],
                             value="utf-8", allow_blank=False, id="encoding")
            yield Label("", classes="error", id="error", markup=False)
            with Horizontal():
                yield Button(_("Export"), variant="primary", id="export")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#path", Input).focus()

    def _done(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.query_one("#error", Label).update(_("Give a file name"))
            return
        if not any(path.lower().endswith(f".{f}") for f in self.formats):
            path += f".{self.formats[0]}"
        if "csv" in self.formats:
            self.encoding = str(self.query_one("#encoding", Select).value)
        self.dismiss(str(Path(path).expanduser()))

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#export")
    def _submitted(self) -> None:
        self._done()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class MeetingReportForm(ModalScreen[MeetingReportView | None]):
    """The seed's meeting report: subject, agreements, result, our and the client's next
    actions, the next contact date (a call is planned on it)."""

    DEFAULT_CSS = modal_css("MeetingReportForm")
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="meeting.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="meeting.save"),
    ]

    def __init__(self, actor: Actor, event_id: int) -> None:
        super().__init__()
        self.actor = actor
        self.event_id = event_id
        self.view = meetings.meeting_report(actor, event_id)

    def compose(self) -> ComposeResult:
        v = self.view
        with Vertical():
            yield Label(_("Meeting report"), classes="title")
            yield Static(" · ".join(p for p in (dates.format_datetime(v.starts_at), v.manager,
                                                v.organization, v.contact) if p), markup=False)
            with VerticalScroll():
                yield Label(_("Subject"))
                yield Input(v.subject, id="subject")
                yield Label(_("Agreements"))
                yield TextArea(v.agreements, id="agreements")
                yield Label(_("Result"))
                yield Input(v.result or v.event_result, id="result")
                yield Label(_("Our next actions"))
                yield Input(v.our_actions, id="our_actions")
                yield Label(_("Client's next actions"))
                yield Input(v.client_actions, id="client_actions")
                yield Label(_("Next contact (a call is planned then)"))
                yield Input(dates.format_date(v.next_contact_date) if v.next_contact_date
                            else "", placeholder=_("e.g. 31.12.2026, +7d, пятница"),
                            id="next_contact_date")
            yield Label("", classes="error", id="error", markup=False)
            with Horizontal():
                yield Button(_("Save"), variant="primary", id="save")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#subject", Input).focus()

    def action_save(self) -> None:
        data = {name: self.query_one(f"#{name}", Input).value
                for name in ("subject", "result", "our_actions", "client_actions",
                             "next_contact_date")}
        data["agreements"] = self.query_one("#agreements", TextArea).text
        try:
            view = meetings.save_meeting_report(self.actor, self.event_id, data,
                                               now=_now(self.app))
        except ValidationError as exc:
            self.query_one("#error", Label).update("; ".join(exc.errors.values()))
            return
        except CrmError as exc:
            self.query_one("#error", Label).update(str(exc))
            return
        self.dismiss(view)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class DayJournalModal(ModalScreen[DayEntry | None]):
    """A manager's day as entered by hand: minutes late and "work journal sent"."""

    DEFAULT_CSS = modal_css("DayJournalModal")
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="journal.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="journal.save"),
    ]

    def __init__(self, actor: Actor, day: dt.date, user: str | int | None = None) -> None:
        super().__init__()
        self.actor = actor
        self.day = day
        self.user = user
        self.entry = journal.day_journal(actor, day, user)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("The day {day}").format(day=dates.format_date(self.day)),
                        classes="title")
            yield Label(_("Minutes late"))
            yield Input(str(self.entry.lateness_minutes), id="late", type="integer")
            yield Checkbox(_("Work journal for the next day sent"), self.entry.journal_sent,
                           id="sent")
            yield Label("", classes="error", id="error", markup=False)
            with Horizontal():
                yield Button(_("Save"), variant="primary", id="save")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#late", Input).focus()

    def action_save(self) -> None:
        try:
            entry = journal.set_day_journal(
                self.actor, self.day, lateness_minutes=self.query_one("#late", Input).value,
                journal_sent=self.query_one("#sent", Checkbox).value, user=self.user)
        except CrmError as exc:
            self.query_one("#error", Label).update(str(exc))
            return
        self.dismiss(entry)

    @on(Input.Submitted, "#late")
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ReportsPane(Vertical):
    """The body of the Reports section."""

    DEFAULT_CSS = """
    ReportsPane { height: 1fr; }
    ReportsPane #rep-title { height: auto; padding: 0 1; text-style: bold; }
    ReportsPane #rep-table { height: 1fr; }
    ReportsPane #rep-chart { height: 12; display: none; }
    ReportsPane #rep-chart.-shown { display: block; }
    """ + control_grid_css("ReportsPane", row_height=1, wide_columns=5)
    BINDINGS = [
        Binding("e", "export", N_("Export to Excel"), id="reports.export"),
        Binding("c", "chart", N_("Chart"), id="reports.chart"),
        Binding("m", "meeting", N_("Meeting report"), id="reports.meeting"),
        Binding("j", "journal", N_("Lateness / journal"), id="reports.journal"),
        Binding("r", "refresh", N_("Refresh"), id="reports.refresh"),
        Binding("right_square_bracket", "step_report(1)", N_("Next report"),
                id="reports.next"),
        Binding("left_square_bracket", "step_report(-1)", N_("Previous report"),
                id="reports.previous"),
    ]

    def __init__(self, actor: Actor, *, report: str = "activity", start: dt.date | None = None,
                 end: dt.date | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.actor = actor
        self._initial = report
        self._start = start
        self._end = end
        self.report: Report | None = None
        self.last_export: str | None = None

    def compose(self) -> ComposeResult:
        today = self._end or _now(self.app).date()
        start = self._start or today.replace(day=1)
        with Horizontal(id="rep-bar", classes="controls"):
            yield Select([(_(label), name) for name, (label, _fn) in reports.REPORTS.items()],
                         value=self._initial, allow_blank=False, compact=True, id="rep-name")
            yield Input(dates.format_date(start), placeholder=_("from"), compact=True,
                        id="rep-from")
            yield Input(dates.format_date(today), placeholder=_("to"), compact=True,
                        id="rep-to")
            managers = self._manager_options()
            yield Select(managers, value=managers[0][1], allow_blank=False, compact=True,
                         id="rep-manager")
            yield Button(_("Export…"), compact=True, id="rep-export")
        yield Static("", id="rep-title", markup=False)
        yield PlainTable(cursor_type="row", zebra_stripes=True, id="rep-table")
        from textual_plotext import PlotextPlot

        yield PlotextPlot(id="rep-chart")

    def _manager_options(self) -> list[tuple[str, str]]:
        options = [(_("Everyone I can see"), EVERYONE)] if self.actor.sees_all or \
            self.actor.visibility == "group" else []
        for u in users.list_users(self.actor, include_disabled=False):
            if u.role == "viewer":
                continue
            if self.actor.sees_all or u.id == self.actor.user_id:
                options.append((u.full_name or u.login, u.login))
        if not options:
            options.append((self.actor.login, self.actor.login))
        return options

    def on_resize(self) -> None:
        fit_controls(self)

    def on_mount(self) -> None:
        translate_bindings(self)
        self.action_refresh()

    # --- the controls ---

    @property
    def report_name(self) -> str:
        return str(self.query_one("#rep-name", Select).value)

    @property
    def manager(self) -> str | None:
        value = self.query_one("#rep-manager", Select).value
        return None if value in (EVERYONE, Select.NULL) else str(value)

    def period(self) -> tuple[dt.date, dt.date]:
        return reports.period_of(self.query_one("#rep-from", Input).value,
                                 self.query_one("#rep-to", Input).value, _now(self.app).date())

    def set_period(self, start: dt.date, end: dt.date) -> None:
        self.query_one("#rep-from", Input).value = dates.format_date(start)
        self.query_one("#rep-to", Input).value = dates.format_date(end)
        self.action_refresh()

    def choose(self, name: str) -> None:
        self.query_one("#rep-name", Select).value = name

    @on(Select.Changed)
    def _select_changed(self) -> None:
        if self.is_mounted:
            self.action_refresh()

    @on(Input.Submitted, "#rep-from, #rep-to")
    def _period_typed(self) -> None:
        self.action_refresh()

    # --- building ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a date is typed, its letters go into the field: the footer does not
        # offer them (issue 15: "e" typed into the date, not Export).
        if action in typed_actions(self.BINDINGS) and typing_in_field(self):
            return False
        return True

    def action_step_report(self, step: int) -> None:
        """`[` / `]`: the previous / next report, without reaching for the list."""
        select = self.query_one("#rep-name", Select)
        names = list(reports.REPORTS)
        current = names.index(select.value) if select.value in names else 0
        select.value = names[(current + step) % len(names)]

    def action_refresh(self) -> None:
        try:
            start, end = self.period()
            report = reports.build(self.actor, self.report_name, start, end, self.manager)
        except CrmError as exc:
            self.query_one("#rep-title", Static).update(str(exc))
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.show(report)

    def show(self, report: Report) -> None:
        self.report = report
        title = f"{report.title} · {report.period_text}"
        if not report.rows:
            title += " · " + _("Nothing in this period.")
        for note in report.notes:
            title += f" · {note}"
        self.query_one("#rep-title", Static).update(title)
        table = self.query_one("#rep-table", DataTable)
        table.clear(columns=True)
        for column in report.columns:
            table.add_column(column.label, key=column.key,
                             width=max(column.width, min(len(column.label), 16)))

        def cells(row: dict) -> list:
            return [Text(report.cell(row, c.key), justify="right")
                    if c.kind in NUMERIC else report.cell(row, c.key) for c in report.columns]

        for index, row in enumerate(report.rows):
            table.add_row(*cells(row), key=str(index))
        if report.totals is not None:
            table.add_row(*cells(report.totals), key="totals")
        self._draw_chart(report)

    def _draw_chart(self, report: Report) -> None:
        from textual_plotext import PlotextPlot

        plot = self.query_one("#rep-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        chart = report.chart
        if chart is None or not chart.labels:
            plot.remove_class("-shown")
            return
        names = list(chart.series)
        if len(names) == 1:
            plt.bar(chart.labels, chart.series[names[0]], label=names[0])
        else:
            # plotext takes labels= here; textual-plotext's stub names it label=
            plt.multiple_bar(chart.labels, [chart.series[n] for n in names],
                             labels=names)  # type: ignore[call-arg]
        plt.title(chart.title)
        plot.refresh()

    def action_chart(self) -> None:
        from textual_plotext import PlotextPlot

        plot = self.query_one("#rep-chart", PlotextPlot)
        if self.report is None or self.report.chart is None:
            self.app.notify(_("This report has no chart."), markup=False)
            return
        plot.toggle_class("-shown")

    # --- rows ---

    def current_row(self) -> dict | None:
        table = self.query_one("#rep-table", DataTable)
        if self.report is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None or not key.isdigit():
            return None
        return self.report.rows[int(key)]

    @on(DataTable.RowSelected, "#rep-table")
    def _row_selected(self) -> None:
        row = self.current_row()
        if row is None or self.report is None:
            return
        if self.report.name == "meetings":
            self.action_meeting()
            return
        if self.report.name in ("activity", "manager"):
            self.action_journal()
            return
        opener = getattr(self.app, "open_record", None)
        if opener is None:
            return
        if "_org_id" in row:
            opener("organizations", row["_org_id"])
        elif "_contact_id" in row:
            opener("contacts", row["_contact_id"])
        elif "_event_id" in row:
            opener("events", row["_event_id"])

    def action_meeting(self) -> None:
        row = self.current_row()
        if row is None or "_event_id" not in row or self.report is None \
                or self.report.name != "meetings":
            self.app.notify(_("Choose a meeting in the meeting reports."), markup=False)
            return
        try:
            form = MeetingReportForm(self.actor, row["_event_id"])
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return

        def saved(view: MeetingReportView | None) -> None:
            if view is not None:
                self.app.notify(_("Meeting report saved."), markup=False)
                self.action_refresh()

        self.app.push_screen(form, saved)

    def action_journal(self) -> None:
        if self.report is None or self.report.name not in ("activity", "manager"):
            self.app.notify(_("Lateness and the journal are entered in the activity or manager"
                              " report."), markup=False)
            return
        row = self.current_row()
        day = row.get("date") if row else None
        if not isinstance(day, dt.date):
            day = _now(self.app).date()
        user = row.get("_user_id") if row else None
        if user is None:
            user = self.report.manager or None
        try:
            modal = DayJournalModal(self.actor, day, user)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return

        def saved(entry: DayEntry | None) -> None:
            if entry is not None:
                self.action_refresh()

        self.app.push_screen(modal, saved)

    # --- export ---

    @on(Button.Pressed, "#rep-export")
    def _export_pressed(self) -> None:
        self.action_export()

    def action_export(self) -> None:
        report = self.report
        if report is None:
            return
        if not self.actor.can("reports", "export"):
            self.app.notify(_("You have no right to export reports."), severity="error",
                            markup=False)
            return
        default = f"{report.name}-{report.start.isoformat()}-{report.end.isoformat()}.xlsx"

        def chosen(path: str | None) -> None:
            if path:
                self._export(report, path)

        self.app.push_screen(ExportModal(default), chosen)

    def _export(self, report: Report, path: str) -> None:
        from tui_crm.ui.delivery import make_file

        try:
            rows, path = make_file(self.app, path, lambda out: reports.export_xlsx(
                report, out, self.actor))
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.last_export = path
        self.app.notify(_("{title}: {n} rows written to {path}").format(
            title=report.title, n=rows, path=path), markup=False)

