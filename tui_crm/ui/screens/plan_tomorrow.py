"""Plan tomorrow (the evening work journal): candidates for tomorrow's call blocks, picked
with the keyboard into a block; the plan exports to .xlsx for the head of sales."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.planning import planning
from tui_crm.services.planning.planning import Candidate
from tui_crm.text import dates
from tui_crm.ui.screens.log_result import now_of
from tui_crm.ui.widgets import FooterScreen, translate_bindings


class PlanTomorrowScreen(FooterScreen[None]):
    """Space picks a candidate into the current block; Tab changes the block; ctrl+s plans."""

    DEFAULT_CSS = """
    PlanTomorrowScreen #plan-title { text-style: bold; padding: 0 1; }
    PlanTomorrowScreen #block { padding: 0 1; height: 1; }
    PlanTomorrowScreen OptionList { height: 1fr; }
    PlanTomorrowScreen #export { display: none; }
    PlanTomorrowScreen #export.-shown { display: block; }
    """
    BINDINGS = [
        Binding("escape", "leave", N_("Close"), id="plan.close"),
        Binding("space", "pick", N_("Pick / unpick"), id="plan.pick"),
        Binding("tab", "next_block", N_("Next block"), id="plan.block", priority=True),
        Binding("a", "pick_all", N_("Fill blocks"), id="plan.auto"),
        Binding("ctrl+s", "save", N_("Plan picked"), id="plan.save"),
        Binding("ctrl+e", "export", N_("Export .xlsx"), id="plan.export"),
    ]

    def __init__(self, actor, day: dt.date) -> None:  # noqa: ANN001
        super().__init__()
        translate_bindings(self)
        self.actor = actor
        self.day = day
        self.blocks = [b for b in planning.schedule_for(actor.user_id, day) if b.kind == "calls"]
        self.block_index = 0
        self.candidates: list[Candidate] = []
        self.picked: dict[int, str] = {}  # candidate index → block key
        self.free: dict[str, int] = {}  # block key → calls it still holds

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Plan for {day}").format(day=dates.format_date(self.day)),
                        id="plan-title")
            yield Label("", id="block", markup=False)
            yield OptionList(id="candidates")
            yield Input(placeholder=_("Export to file (.xlsx), Enter to write"), id="export")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.candidates = planning.candidates(self.actor, self.day, now=now_of(self.app))
            self.free = planning.free_slots(self.actor, self.day)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
        self._redraw()
        self.query_one(OptionList).focus()

    def _block_label(self) -> str:
        if not self.blocks:
            return _("No call blocks on that day — change the schedule in Settings.")
        block = self.blocks[self.block_index]
        count = sum(1 for key in self.picked.values() if key == block.key)
        capacity = self.free.get(block.key, 0)
        return _("Picking into block {start}–{end} ({count}/{capacity}); Tab: next block").format(
            start=block.key, end=block.end.strftime("%H:%M"), count=count, capacity=capacity)

    def _times(self) -> dict[int, str]:
        """The time each pick gets when planned — the same slots `plan` will use."""
        order = sorted(self.picked)
        try:
            times = planning.slot_times(self.actor, self.day, [self.picked[i] for i in order])
        except CrmError:
            return {}
        return {i: t.strftime("%H:%M") if t else _("full") for i, t in zip(order, times,
                                                                          strict=True)}

    def _line(self, index: int, c: Candidate, times: dict[int, str]) -> Text:
        block = self.picked.get(index)
        shown = times.get(index, block) if block else "  :  "
        line = Text(f"[{shown}] ", style="bold green" if block else "dim")
        line.append(f"{c.title}", style="bold")
        line.append(f"  ({_(planning.CANDIDATE_REASONS[c.reason])})", style="yellow")
        people = planning.people_text(c.contact if c.organization_id else "", c.decision_maker)
        for part in (people, c.phone, c.email, c.last_result, c.source):
            if part:
                line.append(f" · {part}")
        return line

    def _redraw(self) -> None:
        self.query_one("#block", Label).update(self._block_label())
        listing = self.query_one(OptionList)
        keep = listing.highlighted
        listing.clear_options()
        if not self.candidates:
            listing.add_option(Option(_("Nobody to propose for that day."), disabled=True))
            return
        times = self._times()
        listing.add_options([Option(self._line(i, c, times), id=str(i))
                             for i, c in enumerate(self.candidates)])
        listing.highlighted = min(keep or 0, len(self.candidates) - 1)

    def action_pick(self) -> None:  # not action_toggle: DOMNode's, for toggling attributes
        listing = self.query_one(OptionList)
        if listing.highlighted is None or not self.candidates or not self.blocks:
            return
        index = listing.highlighted
        if index in self.picked:
            del self.picked[index]
        else:
            self.picked[index] = self.blocks[self.block_index].key
        self._redraw()
        if index + 1 < len(self.candidates):
            listing.highlighted = index + 1

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick()

    def action_next_block(self) -> None:
        if self.blocks:
            self.block_index = (self.block_index + 1) % len(self.blocks)
            self._redraw()

    def action_pick_all(self) -> None:
        """Fill the call blocks' free slots with the candidates in order; picks made by
        hand stay."""
        self.picked = planning.fill_picks(self.picked, len(self.candidates), self.free)
        self._redraw()

    def action_save(self) -> None:
        if not self.picked:
            self.app.notify(_("Pick someone first (Space)"), severity="warning")
            return
        picks = [(self.candidates[i], key) for i, key in sorted(self.picked.items())]
        try:
            created = planning.plan(self.actor, self.day, picks)
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.app.notify(_("{count} calls planned for {day}").format(
            count=len(created), day=dates.format_date(self.day)), markup=False)
        self.candidates = [c for i, c in enumerate(self.candidates) if i not in self.picked]
        self.picked.clear()
        self.free = planning.free_slots(self.actor, self.day)
        self._redraw()

    def action_export(self) -> None:
        box = self.query_one("#export", Input)
        box.set_class(True, "-shown")
        if not box.value:
            box.value = f"plan-{self.day.isoformat()}.xlsx"
        box.focus()

    @on(Input.Submitted, "#export")
    def _export(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path.lower().endswith(".xlsx"):
            self.app.notify(_("The file name must end with .xlsx"), severity="error")
            return
        from tui_crm.ui.delivery import make_file

        try:
            rows, path = make_file(self.app, path, lambda out: planning.export_plan(
                self.actor, self.day, out))
        except CrmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.app.notify(_("{rows} rows written to {path}").format(rows=rows, path=path),
                        markup=False)
        event.input.set_class(False, "-shown")
        self.query_one(OptionList).focus()

    def action_leave(self) -> None:
        self.dismiss(None)
