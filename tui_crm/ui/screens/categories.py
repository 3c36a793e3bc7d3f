"""The Categories pane: client tiers by the seed's method — choose the criterion, the period and
the scheme; see the ranked clients, the month-by-month VIP table, who fell out of VIP and
who could become one, the Pareto curve; apply the result to the organizations' category.

Computing and applying run in a thread worker (a large base takes a second), and only the
first rows of a tier list are put in the table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.analytics import client_values
from tui_crm.services.analytics import segmentation as seg
from tui_crm.services.analytics import tiers as tier_rules
from tui_crm.services.core import values
from tui_crm.services.core.kinds import CATEGORY_CHOICES
from tui_crm.services.core.rights import Actor
from tui_crm.ui.messages import RecordChanged
from tui_crm.ui.widgets import (
    PlainTable,
    control_grid_css,
    fit_controls,
    modal_css,
    translate_bindings,
)
from tui_crm.ui.workers import forgets_worker

SHOWN_ROWS = 500
SPANS = (3, 6, 12)


def _month_label(key: str) -> str:
    from tui_crm.services.analytics.reports.common import MONTHS

    return f"{_(MONTHS[int(key[5:7]) - 1])} {key[:4]}"


def period_label(period: str) -> str:
    """"2026-07..2026-12" as people say it: "Июль 2026 – Декабрь 2026"."""
    first, _sep, last = period.partition("..")
    return _month_label(first) + (f" – {_month_label(last)}" if last else "")


def period_options(latest: str) -> list[tuple[str, str]]:
    """The last 12 single months and spans of 3, 6 and 12 months ending with `latest`."""
    options = []
    for n in SPANS:
        first = tier_rules.shift_month(latest, -(n - 1))
        options.append((_("Last {n} months ({first} – {last})").format(
            n=n, first=_month_label(first), last=_month_label(latest)), f"{first}..{latest}"))
    for i in range(12):
        key = tier_rules.shift_month(latest, -i)
        options.append((_month_label(key), key))
    return options


def default_period(latest: str) -> str:
    """The last 12 months up to the newest payment's month (README: Categories)."""
    return f"{tier_rules.shift_month(latest, -11)}..{latest}"


class ConfirmApply(ModalScreen[dict | None]):
    """Are you sure? Writes categories to many organizations (each change kept in history)."""

    # The shared dialog look, in the warning colour: it writes to many organizations.
    DEFAULT_CSS = modal_css("ConfirmApply", 70, extra="""
    ConfirmApply > Vertical { padding: 1 2; border: thick $warning; }
    ConfirmApply Horizontal { margin-top: 1; }
    ConfirmApply Button { margin-right: 2; }
    """)
    BINDINGS = [
        Binding("escape,n", "cancel", N_("Cancel"), id="categories.apply.cancel"),
        Binding("y", "confirm", N_("Apply"), id="categories.apply.confirm"),
    ]

    def __init__(self, text: Callable[[bool], str]) -> None:
        super().__init__()
        self.text = text  # the question, for "clear missing" off or on

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text(False), id="apply-text", markup=False)
            yield Checkbox(_("Clients with no value in the period lose their category"),
                           id="clear-missing")
            with Horizontal():
                yield Button(_("Apply"), variant="warning", id="apply-yes")
                yield Button(_("Cancel"), id="apply-no")

    def on_mount(self) -> None:
        translate_bindings(self)
        self.query_one("#apply-yes", Button).focus()

    @on(Checkbox.Changed, "#clear-missing")
    def _recount(self, event: Checkbox.Changed) -> None:
        self.query_one("#apply-text", Static).update(self.text(event.value))

    def action_confirm(self) -> None:
        self.dismiss({"clear_missing": self.query_one("#clear-missing", Checkbox).value})

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#apply-yes")
    def _yes(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#apply-no")
    def _no(self) -> None:
        self.action_cancel()


class CategoriesPane(Vertical):
    """The body of the Categories view (hosted by the app's Reports section or its own)."""

    DEFAULT_CSS = """
    CategoriesPane { height: 1fr; }
    CategoriesPane #cat-bar Checkbox { border: none; padding: 0 1; }
    CategoriesPane #cat-summary { height: auto; max-height: 6; padding: 0 1; }
    CategoriesPane TabbedContent { height: 1fr; }
    CategoriesPane DataTable { height: 1fr; }
    CategoriesPane #cat-pareto { height: 1fr; min-height: 8; }
    """ + control_grid_css("CategoriesPane", row_height=1, wide_columns=5)
    BINDINGS = [
        Binding("a", "apply", N_("Apply categories"), id="categories.apply"),
        Binding("r", "refresh", N_("Recompute"), id="categories.refresh"),
        Binding("o", "open_client", N_("Open client"), id="categories.open"),
    ]

    def __init__(self, actor: Actor, *, latest: str | None = None, id: str | None = None
                 ) -> None:
        super().__init__(id=id)
        self.actor = actor
        self._latest = latest
        self.result: seg.Segmentation | None = None
        self.applied: seg.ApplyResult | None = None
        self.error: str = ""
        self._computing = False

    # --- layout ---

    def compose(self) -> ComposeResult:
        latest = self._latest or seg.latest_month()
        with Horizontal(id="cat-bar", classes="controls"):
            yield Select([(_(label), code) for code, label in client_values.CRITERIA.items()],
                         value="payments", allow_blank=False, compact=True, id="cat-criterion")
            options = period_options(latest)
            # A tier is earned over a year: one month (maybe six days old) said "VIP 1".
            yield Select(options, value=default_period(latest), allow_blank=False,
                         compact=True, id="cat-period")
            yield Select([(_(label), code) for code, label in tier_rules.SCHEMES_SHORT.items()],
                         value="lenient", allow_blank=False, compact=True, id="cat-scheme")
            yield Checkbox(_("Each month"), value=True, compact=True, id="cat-per-month")
            yield Button(_("Apply…"), variant="warning", compact=True, id="cat-apply",
                         disabled=not (self.actor.sees_all
                                       and self.actor.can("organizations", "edit")))
        yield Static("", id="cat-summary", markup=False)
        with TabbedContent(id="cat-tabs"):
            with TabPane(_("Clients"), id="tab-clients"):
                yield PlainTable(cursor_type="row", zebra_stripes=True, id="cat-clients")
            with TabPane(_("By month"), id="tab-months"):
                yield PlainTable(cursor_type="row", id="cat-months")
            with TabPane(_("Attention"), id="tab-attention"):
                yield PlainTable(cursor_type="row", id="cat-attention")
            with TabPane(_("Pareto"), id="tab-pareto"):
                from textual_plotext import PlotextPlot

                yield PlotextPlot(id="cat-pareto")

    def on_resize(self) -> None:
        fit_controls(self)

    def on_mount(self) -> None:
        translate_bindings(self)
        self.action_refresh()

    # --- reading the controls ---

    @property
    def criterion(self) -> str:
        return str(self.query_one("#cat-criterion", Select).value)

    @property
    def period(self) -> str:
        return str(self.query_one("#cat-period", Select).value)

    @property
    def scheme(self) -> str:
        return str(self.query_one("#cat-scheme", Select).value)

    @property
    def per_month(self) -> bool:
        return self.query_one("#cat-per-month", Checkbox).value

    def set_period(self, period: str) -> None:
        """Choose a period, adding it to the list when it is not one of the defaults."""
        select = self.query_one("#cat-period", Select)
        options = period_options(self._latest or seg.latest_month())
        if period not in [value for _label, value in options]:
            options.insert(0, (period, period))
            select.set_options(options)
        select.value = period

    @on(Select.Changed)
    @on(Checkbox.Changed, "#cat-per-month")
    def _controls_changed(self) -> None:
        if self.is_mounted:
            self.action_refresh()

    # --- computing ---

    def release(self) -> None:
        """The section is left: the computed result (every client's values, month by month:
        ~35 MB on a 100k base) goes; the tables keep their first rows on screen."""
        self.result = None

    def shown_again(self) -> None:
        """Shown again: computed anew (also showing what changed meanwhile) if released."""
        if self.result is None and not self._computing:
            self.action_refresh()

    def action_refresh(self) -> None:
        self.query_one("#cat-summary", Static).update(_("Computing…"))
        self._computing = True
        self._compute(self.criterion, self.period, self.scheme, self.per_month)

    @work(thread=True, exclusive=True, group="categories", exit_on_error=False)
    @forgets_worker
    def _compute(self, criterion: str, period: str, scheme: str, per_month: bool) -> None:
        from tui_crm.db.database import current

        try:
            with current().connection_context():
                result = seg.segment(self.actor, criterion, period, scheme, per_month=per_month)
                # Name the rows shown here, off the UI thread (only those: naming every
                # paying client of a large base took ~150 MB the heap kept afterwards).
                top = result.top(SHOWN_ROWS)
                for month in result.monthly:
                    month.entered  # noqa: B018
                    month.dropped  # noqa: B018
                result.union  # noqa: B018
        except CrmError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show, result, top)

    def _failed(self, message: str) -> None:
        self._computing = False
        self.error = message
        self.result = None
        self.query_one("#cat-summary", Static).update(message)
        self.app.notify(message, severity="error", markup=False)

    def _show(self, result: seg.Segmentation, top: list[tuple[str, seg.Ranked]]) -> None:
        self._computing = False
        self.result = result
        self.error = ""
        scale = result.scale
        what = _(client_values.CRITERIA[result.criterion]).lower()
        counts = ", ".join(f"{_(tier_rules.TIER_LABELS[t])} {n}" for t, n in result.counts().items())
        lines = [_("{period}: {n} clients with a value ({what}, total {total}); {counts}")
                 .format(period=period_label(result.period), n=result.paying_clients, what=what,
                         total=seg.format_value(result.total, scale), counts=counts)]
        lines += ["! " + m for m in result.tie_messages()]
        lines += result.pareto_messages()
        if result.vip_average:
            lines.append(_("Average per VIP per month: {value}; fell out of VIP: {fell};"
                           " potential VIP: {potential}").format(
                value=seg.format_value(result.vip_average.get(result.criterion), scale),
                fell=len(result.fell_out), potential=len(result.potential_vip)))
        self.query_one("#cat-summary", Static).update("\n".join(lines))
        self._fill_clients(result, top)
        self._fill_months(result)
        self._fill_attention(result)
        self._draw_pareto(result)

    def _fill_clients(self, result: seg.Segmentation,
                      top: list[tuple[str, seg.Ranked]]) -> None:
        table = self.query_one("#cat-clients", DataTable)
        table.clear(columns=True)
        table.add_column("#", key="rank", width=6)
        table.add_column(_("Tier"), key="tier", width=9)
        table.add_column(_("Organization"), key="name", width=30)
        table.add_column(seg.format_header(result.criterion), key="value", width=14)
        table.add_column(_("Share, %"), key="share", width=8)
        table.add_column(_("Cumulative, %"), key="cumulative", width=12)
        total = result.total or 1
        running = 0.0
        for tier, r in top:  # in rank order, so the running share is the real one
            running += float(r.value)
            table.add_row(Text(str(r.rank), justify="right"), _(tier_rules.TIER_LABELS[tier]),
                          r.name, Text(seg.format_value(r.value, result.scale),
                                       justify="right"),
                          Text(values.format_number(100 * float(r.value) / float(total)),
                               justify="right"),
                          Text(values.format_number(100 * running / float(total)), justify="right"),
                          key=str(r.id))
        if result.paying_clients > SHOWN_ROWS:
            self.app.notify(_("The first {n} of {total} clients are shown; the CLI or the export"
                              " lists all").format(n=SHOWN_ROWS, total=result.paying_clients),
                            markup=False, timeout=4)

    def _fill_months(self, result: seg.Segmentation) -> None:
        table = self.query_one("#cat-months", DataTable)
        table.clear(columns=True)
        if not result.per_month:
            table.add_column(_("Turn on “Each month” for the monthly VIP table"), key="hint")
            return
        for key, label, width in (("month", _("Month"), 14), ("paying", _("Paying"), 7),
                                  ("vip", _("VIP"), 5), ("entered", _("Entered"), 24),
                                  ("dropped", _("Dropped out"), 24),
                                  ("share", _("VIP share"), 9)):
            table.add_column(label, key=key, width=width)

        def names(rows: list[seg.Ranked]) -> str:
            shown = ", ".join(r.name for r in rows[:3])
            return f"{len(rows)}: {shown}{'…' if len(rows) > 3 else ''}" if rows else "0"

        for mv in result.monthly:
            table.add_row(_month_label(mv.month), str(mv.paying_clients), str(len(mv.vip_raw)),
                          names(mv.entered), names(mv.dropped), values.format_percent(mv.vip_value_pct),
                          key=mv.month)
        table.add_row(_("Over the span"), "", str(len(result.union)), "", "", "", key="union")

    def _fill_attention(self, result: seg.Segmentation) -> None:
        table = self.query_one("#cat-attention", DataTable)
        table.clear(columns=True)
        table.add_column(_("Why"), key="why", width=18)
        table.add_column(_("Organization"), key="name", width=30)
        table.add_column(_("Last month"), key="value", width=14)
        table.add_column(_("Month before"), key="previous", width=14)
        for r in result.fell_out[:SHOWN_ROWS]:  # as the potential VIPs: the CLI lists all
            table.add_row(_("Fell out of VIP"), r.name, seg.format_value(r.value, result.scale),
                          seg.format_value(r.previous, result.scale), key=f"fell:{r.id}")
        for r in result.potential_vip[:SHOWN_ROWS]:
            table.add_row(_("Potential VIP"), r.name, seg.format_value(r.value, result.scale),
                          "", key=f"potential:{r.id}")

    def _draw_pareto(self, result: seg.Segmentation) -> None:
        from textual_plotext import PlotextPlot

        plot = self.query_one("#cat-pareto", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if result.curve:
            xs = [x for x, _y in result.curve]
            ys = [y for _x, y in result.curve]
            plt.plot(xs, ys, marker="braille", label=_(client_values.CRITERIA[result.criterion]))
            plt.vline(20)
            plt.hline(80)
        plt.title(_("Pareto: share of clients → share of the criterion, %"))
        plt.xlim(0, 100)
        plt.ylim(0, 100)
        plot.refresh()

    # --- acting ---

    def selected_org(self) -> int | None:
        tabs = self.query_one(TabbedContent)
        table_id = {"tab-clients": "#cat-clients", "tab-attention": "#cat-attention"}.get(
            tabs.active or "")
        if table_id is None:
            return None
        table = self.query_one(table_id, DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        tail = key.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def action_open_client(self) -> None:
        org_id = self.selected_org()
        opener = getattr(self.app, "open_record", None)
        if org_id is not None and opener is not None:
            opener("organizations", org_id)

    @on(DataTable.RowSelected, "#cat-clients, #cat-attention")
    def _row_selected(self) -> None:
        self.action_open_client()

    @on(Button.Pressed, "#cat-apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        result = self.result
        if result is None:
            return
        if not (self.actor.sees_all and self.actor.can("organizations", "edit")):
            self.app.notify(_("Only the head of sales can apply categories to the whole base."),
                            severity="error", markup=False)
            return
        def text(clear_missing: bool) -> str:
            # Exactly what apply() will write (not the tiers' sizes: most may not change).
            changes, unchanged = seg.planned_changes(result, clear_missing=clear_missing)
            counts = ", ".join(f"→ {_(CATEGORY_CHOICES.get(c, c))}: {n}" for c, n in sorted(
                changes.items())) or _("nothing to change")
            return _("Write the categories of {period} ({what}): {n} organizations change, "
                     "{same} keep theirs.\n{counts}\nEach change is kept in the client's "
                     "history; VIPs without a contact for 30 days go to the follow-up queue."
                     ).format(period=period_label(result.period),
                              what=_(client_values.CRITERIA[result.criterion]).lower(),
                              n=sum(changes.values()), same=unchanged, counts=counts)

        def confirmed(choice: dict | None) -> None:
            if choice is not None:
                self._apply(result, bool(choice.get("clear_missing")))

        self.app.push_screen(ConfirmApply(text), confirmed)

    @work(thread=True, exclusive=True, group="categories-apply", exit_on_error=False)
    @forgets_worker
    def _apply(self, result: seg.Segmentation, clear_missing: bool) -> None:
        from tui_crm.db.database import current

        try:
            with current().connection_context():
                outcome = seg.apply(self.actor, result, clear_missing=clear_missing,
                                    now=_now(self.app))
        except CrmError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self._applied, outcome)

    def _applied(self, outcome: seg.ApplyResult) -> None:
        self.applied = outcome
        self.app.notify(_("Categories applied: {changed} changed, {unchanged} already right;"
                          " {silent} VIPs without contact for 30 days are in the follow-up"
                          " queue").format(changed=outcome.changed, unchanged=outcome.unchanged,
                                           silent=outcome.silent_vips), markup=False)
        self.post_message(RecordChanged("organizations", 0))


def _now(app: object) -> dt.datetime:
    clock = getattr(app, "clock", None)
    return clock() if callable(clock) else dt.datetime.now().replace(microsecond=0)
