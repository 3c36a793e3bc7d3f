"""The deals board: one column per stage (new → proposal sent → negotiation → invoice issued →
won / lost). Keys move the highlighted deal to the next or previous stage, mark it lost with
a reason, or add a payment; each move is written to the deal's history (the activity report
counts invoices and proposals from it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.analytics import money
from tui_crm.services.analytics.money import DealCard
from tui_crm.services.core import values
from tui_crm.services.core.kinds import DEAL_STAGE_CHOICES
from tui_crm.services.core.rights import Actor
from tui_crm.text import dates
from tui_crm.ui.messages import RecordChanged
from tui_crm.ui.screens.log_result import now_of as _now
from tui_crm.ui.widgets import FooterScreen, modal_css, translate_bindings


class PaymentModal(ModalScreen[dict | None]):
    """Amount, date and a note of a payment for a deal."""

    DEFAULT_CSS = modal_css("PaymentModal", 64)
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="payment.cancel"),
        Binding("ctrl+s", "save", N_("Save"), id="payment.save"),
    ]

    def __init__(self, heading: str, amount: Decimal | None, today: dt.date) -> None:
        super().__init__()
        self.heading = heading
        self.amount = amount
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading, classes="title", markup=False)
            yield Label(_("Amount"))
            yield Input(values.format_prefill(self.amount) if self.amount else "", id="amount")
            yield Label(_("Date"))
            yield Input(dates.format_date(self.today), id="date")
            yield Label(_("Description"))
            yield Input("", id="description")
            yield Label("", classes="error", id="error", markup=False)
            with Horizontal():
                yield Button(_("Save"), variant="primary", id="save")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#amount", Input).focus()

    def action_save(self) -> None:
        amount = self.query_one("#amount", Input).value.strip()
        if not amount:
            self.query_one("#error", Label).update(_("Give the amount"))
            return
        self.dismiss({"amount": amount, "date": self.query_one("#date", Input).value.strip(),
                      "description": self.query_one("#description", Input).value.strip()})

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonModal(ModalScreen[str | None]):
    """Why the deal was lost."""

    DEFAULT_CSS = modal_css("ReasonModal", 64)
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="lost.cancel")]

    def __init__(self, heading: str) -> None:
        super().__init__()
        self.heading = heading

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading, classes="title", markup=False)
            yield Input(placeholder=_("Why was the deal lost?"), id="reason")
            yield Label("", classes="error", id="error", markup=False)

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _done(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#error", Label).update(_("Say why the deal was lost"))
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


COLUMN_MIN = 26  # a deal's title and client readable in a column


class StageColumn(Vertical):
    DEFAULT_CSS = """
    StageColumn { width: 1fr; height: 1fr; border-right: solid $panel; }
    StageColumn .stage-title, StageColumn .stage-sum { width: 1fr; height: 1; background: $boost;
        text-wrap: nowrap; text-overflow: ellipsis; }
    StageColumn .stage-title { text-style: bold; }
    StageColumn OptionList { height: 1fr; border: none; text-wrap: nowrap;
        text-overflow: ellipsis; }
    StageColumn OptionList:focus { background: $boost; }
    """

    def __init__(self, stage: str) -> None:
        super().__init__(id=f"stage-{stage}")
        self.stage = stage
        self.cards: list[DealCard] = []

    def compose(self) -> ComposeResult:
        yield Label(_(DEAL_STAGE_CHOICES[self.stage]), classes="stage-title")
        yield Label("", classes="stage-sum", markup=False)
        yield OptionList(id=f"list-{self.stage}")

    @property
    def listing(self) -> OptionList:
        return self.query_one(OptionList)

    def fill(self, cards: list[DealCard], keep_id: int | None = None) -> None:
        self.cards = cards
        total = sum((c.amount for c in cards), Decimal("0"))
        self.query_one(".stage-sum", Label).update(f"{len(cards)} · {values.format_amount(total)}")
        listing = self.listing
        listing.clear_options()
        options = []
        for c in cards:
            line = Text(c.title, style="bold")
            line.append("\n" + (c.organization or "—"), style="dim")
            line.append("\n" + values.format_amount(c.amount))
            if c.paid:
                line.append("  " + _("paid {amount}").format(
                    amount=values.format_amount(c.paid)), style="green")
            options.append(Option(line, id=str(c.id)))
        listing.add_options(options)
        if cards:
            index = next((i for i, c in enumerate(cards) if c.id == keep_id), 0)
            listing.highlighted = min(index, len(cards) - 1)

    def current(self) -> DealCard | None:
        index = self.listing.highlighted
        if index is None or index >= len(self.cards):
            return None
        return self.cards[index]


class DealsBoard(Horizontal):
    """Deals in columns by stage."""

    # Six columns do not fit 80 columns with readable titles: then a column keeps
    # COLUMN_MIN cells and the board scrolls sideways to the focused one.
    DEFAULT_CSS = """
    DealsBoard { height: 1fr; overflow-x: auto; overflow-y: hidden; }
    """
    BINDINGS = [
        Binding("left,h", "column(-1)", N_("Previous column"), show=False, id="deals.left"),
        Binding("right,l", "column(1)", N_("Next column"), show=False, id="deals.right"),
        Binding("n,greater_than_sign", "next_stage", N_("Next stage"), id="deals.next"),
        Binding("b,less_than_sign", "previous_stage", N_("Stage back"), id="deals.back"),
        Binding("x", "lost", N_("Lost"), id="deals.lost"),
        Binding("p", "payment", N_("Add payment"), id="deals.payment"),
        Binding("o", "open_deal", N_("Open"), id="deals.open"),
        Binding("r", "reload", N_("Refresh"), id="deals.refresh"),
    ]

    def __init__(self, actor: Actor, *, owner_id: int | None = None, id: str | None = None
                 ) -> None:
        super().__init__(id=id)
        self.actor = actor
        self.owner_id = owner_id

    def compose(self) -> ComposeResult:
        for stage in money.STAGES:
            yield StageColumn(stage)

    def on_mount(self) -> None:
        translate_bindings(self)
        self.reload()
        self.columns[0].listing.focus()

    def on_resize(self) -> None:
        """Equal columns when they fit, else COLUMN_MIN cells each and a sideways scroll."""
        columns = self.columns
        fits = bool(columns) and self.size.width >= COLUMN_MIN * len(columns)
        for column in columns:
            column.styles.width = "1fr" if fits else COLUMN_MIN

    @property
    def columns(self) -> list[StageColumn]:
        return list(self.query(StageColumn))

    def column_of(self, stage: str) -> StageColumn:
        return self.query_one(f"#stage-{stage}", StageColumn)

    def reload(self, keep: dict[str, int | None] | None = None) -> None:
        try:
            board = money.board(self.actor, owner_id=self.owner_id)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        keep = keep or {}
        for column in self.columns:
            current = column.current()
            column.fill(board.get(column.stage, []),
                        keep.get(column.stage, current.id if current else None))

    def focused_column(self) -> StageColumn:
        for column in self.columns:
            if column.listing.has_focus:
                return column
        return self.columns[0]

    def current(self) -> DealCard | None:
        return self.focused_column().current()

    def action_column(self, step: int) -> None:
        columns = self.columns
        index = columns.index(self.focused_column())
        columns[(index + step) % len(columns)].listing.focus()

    def action_reload(self) -> None:
        self.reload()

    def _move(self, card: DealCard, stage: str | None, reason: str = "") -> None:
        try:
            view = money.move_stage(self.actor, card.id, stage, lost_reason=reason)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        new_stage = str(view.values.get("stage") or "")
        self.app.notify(_("{title} → {stage}").format(
            title=view.title, stage=_(DEAL_STAGE_CHOICES.get(new_stage, new_stage))),
            markup=False)
        self.reload({new_stage: card.id})
        self.post_message(RecordChanged("deals", card.id))

    def action_next_stage(self) -> None:
        card = self.current()
        if card is not None:
            self._move(card, None)

    def action_previous_stage(self) -> None:
        card = self.current()
        if card is None:
            return
        back = money.previous_stage(card.stage)
        if back is None:
            self.app.notify(_("The deal is at its first stage."), markup=False)
            return
        self._move(card, back)

    def action_lost(self) -> None:
        card = self.current()
        if card is None or card.stage == "lost":
            return

        def chosen(reason: str | None) -> None:
            if reason:
                self._move(card, "lost", reason)

        self.app.push_screen(ReasonModal(_("Deal lost: {title}").format(title=card.title)),
                             chosen)

    def action_payment(self) -> None:
        card = self.current()
        if card is None:
            return
        due = card.amount - card.paid if card.amount > card.paid else None

        def chosen(data: dict | None) -> None:
            if data is None:
                return
            try:
                money.add_payment(self.actor, card.organization_id, data["amount"],
                                  date=data["date"] or None, deal_id=card.id,
                                  description=data["description"],
                                  today=_now(self.app).date())
            except ValidationError as exc:
                self.app.notify("; ".join(exc.errors.values()), severity="error",
                                markup=False)
                return
            except CrmError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
                return
            self.app.notify(_("Payment added: {title}").format(title=card.title), markup=False)
            self.reload()
            self.post_message(RecordChanged("payments", card.id))

        self.app.push_screen(PaymentModal(_("Payment for {title}").format(title=card.title),
                                          due, _now(self.app).date()), chosen)

    def action_open_deal(self) -> None:
        card = self.current()
        opener = getattr(self.app, "open_record", None)
        if card is not None and opener is not None:
            opener("deals", card.id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open_deal()


class DealsBoardScreen(FooterScreen[None]):
    """The deals board over the whole screen (from the Deals section, key b)."""

    BINDINGS = [Binding("escape", "close", N_("Back"), id="deals.board.close")]

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        yield DealsBoard(self.actor)
        yield Footer()

    def on_mount(self) -> None:
        translate_bindings(self)

    def action_close(self) -> None:
        self.dismiss(None)
