"""A mailing's per-recipient status table, where it is sent with a progress bar (a thread
worker reporting back with messages) and resumed after a crash."""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DataTable,
    Label,
    ProgressBar,
    Static,
)

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import (
    common,
    context,
    mailings,
    runner,
)
from tui_crm.ui.screens.mail_common import (
    TABLE_LIMIT,
    db_context,
    status_style,
)
from tui_crm.ui.screens.settings import error_text
from tui_crm.ui.widgets import PlainTable, translate_bindings
from tui_crm.ui.workers import forgets_worker


class SendProgress(Message):
    """Posted by the sending thread after each recipient."""

    def __init__(self, progress: runner.Progress) -> None:
        super().__init__()
        self.progress = progress


class SendFinished(Message):
    """The sending thread ended: with a report, or with the reason it stopped."""

    def __init__(self, report: runner.SendReport | None, error: str = "") -> None:
        super().__init__()
        self.report = report
        self.error = error


class MailingStatusScreen(ModalScreen[None]):
    """A mailing's recipients with their status; send, stop, resume and decide on unknowns."""

    DEFAULT_CSS = """
    MailingStatusScreen { align: center middle; }
    MailingStatusScreen > Vertical { width: 100%; height: 100%; border: thick $primary;
        background: $surface; padding: 0 1; }
    MailingStatusScreen #ms-title { text-style: bold; }
    MailingStatusScreen Horizontal.row { height: auto; }
    MailingStatusScreen #ms-progress { width: 1fr; }
    MailingStatusScreen #ms-table { height: 1fr; }
    MailingStatusScreen Button { margin-right: 1; }
    MailingStatusScreen .error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="mailing.close"),
        Binding("s", "send", N_("Send / resume"), id="mailing.send"),
        Binding("x", "stop", N_("Stop"), id="mailing.stop"),
        Binding("t", "send_test", N_("Test to me"), id="mailing.test"),
        Binding("m", "mark_sent", N_("Unknown: mark sent"), id="mailing.mark_sent"),
        Binding("R", "resend", N_("Unknown: resend"), id="mailing.resend"),
        Binding("f", "cycle_filter", N_("Filter by status"), id="mailing.filter"),
    ]

    def __init__(self, actor: Actor, mailing_id: int, *, start: bool = False) -> None:
        super().__init__()
        self.actor = actor
        self.mailing_id = mailing_id
        self.start = start
        self.stop_event: threading.Event | None = None
        self.filter: str | None = None

    @property
    def sending(self) -> bool:
        return self.stop_event is not None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("", id="ms-title", markup=False)
            with Horizontal(classes="row"):
                yield ProgressBar(id="ms-progress", show_eta=False)
                yield Label("", id="ms-counts", markup=False)
            yield PlainTable(id="ms-table", cursor_type="row", zebra_stripes=True)
            yield Static("", classes="error", id="ms-error", markup=False)
            with Horizontal(classes="row"):
                yield Button(_("Send"), variant="primary", id="ms-send")
                yield Button(_("Stop"), id="ms-stop", disabled=True)
                yield Button(_("Test to me"), id="ms-test")
                yield Button(_("Close"), id="ms-close")

    def on_mount(self) -> None:
        translate_bindings(self)
        table = self.query_one(DataTable)
        for key, label in (("name", _("Name")), ("address", _("E-mail")),
                           ("status", _("Status")), ("attempts", _("Tries")),
                           ("reply", _("Server reply"))):
            table.add_column(label, key=key)
        self.refresh_all()
        table.focus()
        if self.start:
            self.action_send()
        else:
            self._check_problems()

    @work(thread=True, exclusive=True, group="mail-problems", exit_on_error=False)
    @forgets_worker
    def _check_problems(self) -> None:
        """Name the recipients whose message cannot be filled in, before anything is sent."""
        try:
            with db_context():
                found = context.problems(self.actor, self.mailing_id)
        except CrmError:
            return
        if found:
            first = found[0]
            text = _("{count} recipients' messages cannot be filled in:").format(
                count=len(found)) + f" {first.name} <{first.address}>: {first.message}"
            self.app.call_from_thread(self._warn, text)

    def _warn(self, text: str) -> None:
        if self.is_mounted and not self.sending:
            self.query_one("#ms-error", Static).update(text)

    def refresh_all(self) -> None:
        try:
            view = mailings.get_mailing(self.actor, self.mailing_id)
            rows = mailings.list_recipients(self.actor, self.mailing_id, status=self.filter,
                                           limit=TABLE_LIMIT)
        except CrmError as exc:
            self.query_one("#ms-error", Static).update(error_text(exc))
            return
        status = _(common.MAILING_STATUS_LABELS.get(view.status, view.status))
        shown = _(common.STATUS_LABELS[self.filter]) if self.filter else _("all")
        self.query_one("#ms-title", Label).update(
            _("Mailing #{id} {name} · {subject} · {status} · showing: {shown}").format(
                id=view.id, name=view.name, subject=view.subject, status=status, shown=shown))
        self.show_counts(view.counts)
        table = self.query_one(DataTable)
        table.clear()
        for r in rows:
            table.add_row(r.name, r.address,
                          Text(_(common.STATUS_LABELS[r.status]), style=status_style(r.status)),
                          str(r.attempts), r.reply, key=str(r.id))
        send = self.query_one("#ms-send", Button)
        send.label = _("Resume") if view.started_at else _("Send")

    def show_counts(self, counts: dict[str, int]) -> None:
        self.query_one("#ms-progress", ProgressBar).update(
            total=sum(counts.values()) or None, progress=mailings.handled(counts))
        self.query_one("#ms-counts", Label).update(" " + mailings.counts_line(counts))

    # sending
    def action_send(self) -> None:
        if self.sending:
            return
        self.query_one("#ms-error", Static).update("")
        self.stop_event = threading.Event()
        self.query_one("#ms-send", Button).disabled = True
        self.query_one("#ms-stop", Button).disabled = False
        self._send(self.stop_event)

    @work(thread=True, exclusive=True, group="mail-send", exit_on_error=False)
    @forgets_worker
    def _send(self, stop: threading.Event) -> None:
        report = None
        error = ""
        try:
            with db_context():
                report = runner.resume(self.actor, self.mailing_id, stop=stop,
                                        progress=lambda p: self.post_message(SendProgress(p)))
        except CrmError as exc:
            error = error_text(exc)
        self.post_message(SendFinished(report, error))

    @on(SendProgress)
    def _progressed(self, message: SendProgress) -> None:
        self.show_counts(message.progress.counts)

    @on(SendFinished)
    def _finished(self, message: SendFinished) -> None:
        self.stop_event = None
        self.query_one("#ms-send", Button).disabled = False
        self.query_one("#ms-stop", Button).disabled = True
        self.refresh_all()
        if message.error:
            self.query_one("#ms-error", Static).update(message.error)
            self.app.notify(message.error, severity="error", markup=False)
            return
        report = message.report
        if report is not None:
            note = _("Sent {sent}, failed {failed}.").format(sent=report.sent_now,
                                                             failed=report.failed_now)
            if report.became_unknown:
                note += " " + _("{count} were interrupted last time: decide on them (m / R)."
                                ).format(count=report.became_unknown)
            self.app.notify(note, markup=False)

    def action_stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
            self.query_one("#ms-error", Static).update(
                _("Stopping after the current message…"))

    def action_send_test(self) -> None:
        if self.sending:
            return
        try:
            reply = runner.send_test(self.actor, self.mailing_id)
        except CrmError as exc:
            self.query_one("#ms-error", Static).update(error_text(exc))
            return
        self.app.notify(_("Test message sent to you: {reply}").format(reply=reply),
                        markup=False)

    def _decide(self, resend: bool) -> None:
        if self.sending:
            return
        try:
            changed = runner.resolve_unknown(self.actor, self.mailing_id, resend=resend)
        except CrmError as exc:
            self.query_one("#ms-error", Static).update(error_text(exc))
            return
        self.app.notify(_("{count} unknown messages decided.").format(count=changed),
                        markup=False)
        self.refresh_all()

    def action_mark_sent(self) -> None:
        self._decide(resend=False)

    def action_resend(self) -> None:
        self._decide(resend=True)

    def action_cycle_filter(self) -> None:
        order = [None, "unknown", "failed", "pending", "sent", "skipped"]
        self.filter = order[(order.index(self.filter) + 1) % len(order)]
        self.refresh_all()

    def action_close(self) -> None:
        if self.sending:
            self.query_one("#ms-error", Static).update(
                _("Sending is in progress: stop it first (x)."))
            return
        self.dismiss(None)

    @on(Button.Pressed, "#ms-send")
    def _send_pressed(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#ms-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    @on(Button.Pressed, "#ms-test")
    def _test_pressed(self) -> None:
        self.action_send_test()

    @on(Button.Pressed, "#ms-close")
    def _close_pressed(self) -> None:
        self.action_close()
