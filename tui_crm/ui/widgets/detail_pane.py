"""The detail pane: the selected record's card and tabs for its history and linked records.

Phones, e-mails, messengers and websites are terminal hyperlinks (`tel:`, `mailto:`,
`skype:…?call`, `https://t.me/…`, `https://wa.me/…`), so a click or the terminal's link
key dials or writes from the desktop the SSH session runs on. Tabs load when shown: moving
the cursor through the table only redraws the card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import records, settings
from tui_crm.services.core.kinds import POINT_TYPE_CHOICES, POINT_TYPES
from tui_crm.services.core.records import ListQuery, PointView, RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.terminal_text import visible
from tui_crm.text import dates
from tui_crm.ui.widgets import TextLine, translate_bindings

HISTORY_LIMIT = 100
LIST_LIMIT = 100
ACTION_NAMES = {"create": N_("created"), "update": N_("changed"), "delete": N_("deleted"),
                "restore": N_("restored"), "export": N_("exported"), "import": N_("imported"),
                "mail": N_("mailed")}
# Tabs per kind: pane id → English label.
TABS: dict[str, tuple[tuple[str, str], ...]] = {
    "organizations": (("people", N_("People")), ("tasks", N_("Tasks")),
                      ("deals", N_("Deals & payments"))),
    "contacts": (("people", N_("Organization")), ("tasks", N_("Tasks")),
                 ("deals", N_("Deals"))),
}
DEFAULT_TABS = (("people", N_("Linked")),)


def point_link(point: PointView) -> str | None:
    """The URL a phone / e-mail / messenger opens, or None."""
    value = point.value.strip()
    if point.kind == "phone":
        number = point.normalized if point.normalized.startswith("+") else \
            "".join(ch for ch in value if ch.isdigit() or ch == "+")
        return f"tel:{number}" if number else None
    if point.kind == "email":
        return f"mailto:{value}" if "@" in value else None
    handle = value.lstrip("@")
    digits = "".join(ch for ch in value if ch.isdigit())
    phone_like = bool(digits) and len(digits) >= 10 and all(
        ch.isdigit() or ch in "+-() " for ch in value)
    if point.type == "telegram":
        if value.startswith(("http://", "https://")):
            return value
        return f"https://t.me/+{digits}" if phone_like else f"https://t.me/{quote(handle)}"
    if point.type == "whatsapp":
        return f"https://wa.me/{digits}" if digits else None
    if point.type == "skype":
        return f"skype:{quote(handle)}?call"
    if point.type == "viber":
        return f"viber://chat?number=%2B{digits}" if digits else None
    if point.type == "vk":
        return value if value.startswith("http") else f"https://vk.com/{quote(handle)}"
    return value if value.startswith(("http://", "https://")) else None


def linked_text(text: str, url: str | None) -> Text:
    if not url:
        return Text(text)
    return Text.assemble((text, Style(link=url, underline=True)))


def primary_contact_value(view: RecordView) -> str:
    """What `c` copies: the first phone, else e-mail, else the web address."""
    for kind in ("phone", "email"):
        points = view.points_of(kind)
        if points:
            return points[0].value
    for name in ("primary_phone", "primary_email", "url", "website"):
        value = view.values.get(name)
        if value:
            return str(value)
    return ""


def _when(value: dt.datetime | None) -> str:
    from tui_crm.services.core.values import display

    return display("datetime", value) if value else ""


class RecordTabs(Vertical):
    """The card and the tabs of linked records."""

    DEFAULT_CSS = """
    RecordTabs { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs"):
            with TabPane(_("Card"), id="card"), VerticalScroll():
                yield Static("", id="card-body", classes="tab-text", markup=False)
            with TabPane(_("History"), id="history"), VerticalScroll():
                yield Static("", id="history-body", classes="tab-text", markup=False)
            with TabPane(_("People"), id="people"):
                yield OptionList(id="people-list")
            with TabPane(_("Tasks"), id="tasks"):
                yield OptionList(id="tasks-list")
            with TabPane(_("Deals & payments"), id="deals"):
                yield OptionList(id="deals-list")


class DetailPane(Vertical):
    """Card and tabs of one record."""

    DEFAULT_CSS = """
    DetailPane {
        width: 38%;
        max-width: 72;
        min-width: 30;
        border-left: tall $panel;
        background: $surface;
    }
    DetailPane > #detail-title {
        height: 1;
        padding: 0 1;
        text-style: bold;
        background: $panel;
        color: $text-accent;
    }
    DetailPane TabbedContent { height: 1fr; }
    DetailPane TabPane { padding: 0; height: 1fr; }
    DetailPane VerticalScroll { height: 1fr; }
    DetailPane .tab-text { padding: 0 1; }
    DetailPane OptionList { height: 1fr; border: none; padding: 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "edit", N_("Edit"), id="card.edit"),
        Binding("a", "add_person", N_("Add person"), id="card.add_person"),
        Binding("[", "previous_tab", N_("Previous tab"), show=False, id="card.prev_tab"),
        Binding("]", "next_tab", N_("Next tab"), show=False, id="card.next_tab"),
    ]

    class EditRequested(Message):
        def __init__(self, kind: str, record_id: int) -> None:
            super().__init__()
            self.kind = kind
            self.record_id = record_id

    class AddPersonRequested(Message):
        """`a` on an organization's People tab: a new contact of that organization."""

        def __init__(self, organization_id: int) -> None:
            super().__init__()
            self.organization_id = organization_id

    class OpenRequested(Message):
        def __init__(self, kind: str, record_id: int) -> None:
            super().__init__()
            self.kind = kind
            self.record_id = record_id

    def __init__(self, actor: Actor, *, id: str | None = None) -> None:
        super().__init__(id=id)
        translate_bindings(self)
        self.actor = actor
        self.kind = ""
        self.record_id: int | None = None
        self.view: RecordView | None = None
        self._loaded_tabs: set[str] = set()
        self._tab_of: dict[str, str] = {}  # each section's tab, as it was left
        self.built = False  # the tabs are mounted
        self._building = False  # their mount is under way
        self._focus_wanted = False
        # The card's rows of the record shown: a resize only lays them out again.
        self._rows_of: tuple[RecordView, list[tuple[str, Text]]] | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(id="detail-title")

    def on_resize(self) -> None:
        if self.built and self.view is not None:
            self.query_one("#card-body", Static).update(self.card_renderable(self.view))

    def on_mount(self) -> None:
        # The tabs are a fifth of the start-up work: the screen builds them once the first
        # table page is on screen (`build_tabs`); this timer is only a fallback.
        self.set_timer(0.5, self.build_tabs)

    async def build_tabs(self) -> None:
        if self.built or self._building:
            # The fallback timer can fire while the screen's call still awaits the mount:
            # a second set of tabs would be mounted under the first.
            return
        self._building = True
        await self.mount(RecordTabs())
        self.built = True
        if self.kind:
            self.set_kind(self.kind)
            self.show_record(self.kind, self.record_id, force=True)
        if self._focus_wanted:
            self._focus_wanted = False
            self.focus_card()

    def focus_card(self) -> None:
        """Enter on a table row: the card takes the keys (Enter edits, [ ] switch tabs)."""
        if not self.built:
            self._focus_wanted = True
            return
        tabs = self.query_one(TabbedContent)
        pane = tabs.active_pane
        target = pane.query("OptionList, VerticalScroll").first() if pane else None
        (target or tabs).focus()

    def refresh_language(self) -> None:
        if not self.built:
            return
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("card").label = _("Card")
        tabs.get_tab("history").label = _("History")
        self.set_kind(self.kind)
        if self.kind:
            self.show_record(self.kind, self.record_id, force=True)

    # --- showing a record ------------------------------------------------------------------

    def set_kind(self, kind: str) -> None:
        """Relabel and show/hide the tabs for a section; each section keeps its own tab (a
        note must not open on the tab an organization was left on)."""
        previous, self.kind = self.kind, kind
        if not self.built:
            return
        tabs = self.query_one(TabbedContent)
        if previous and previous != kind:
            self._tab_of[previous] = tabs.active or "card"
        extra = TABS.get(kind, DEFAULT_TABS)
        wanted = {pane for pane, _label in extra}
        for pane, label in extra:
            tabs.get_tab(pane).label = _(label)
        if not kind:
            return
        for pane in ("people", "tasks", "deals"):
            if pane in wanted:
                tabs.show_tab(pane)
            else:
                tabs.hide_tab(pane)
        if previous != kind:
            tabs.active = self._tab_of.get(kind, "card")
        if tabs.active not in wanted | {"card", "history"}:
            tabs.active = "card"

    def carry_tab_to(self, kind: str) -> None:
        """A linked record opened from the card opens on the same tab (People ↔ its
        organization): browsing along links keeps one's place."""
        if self.built:
            self._tab_of[kind] = self.query_one(TabbedContent).active or "card"

    def show_record(self, kind: str, record_id: int | None, *, force: bool = False) -> None:
        """Show a record's card (None: nothing selected). Tabs reload when next shown."""
        if kind != self.kind:
            self.set_kind(kind)
        if record_id == self.record_id and not force and self.view is not None:
            return
        self.record_id = record_id
        self._loaded_tabs.clear()
        self.view = None
        if not self.built:
            return  # shown when the tabs are built
        if record_id is not None:
            try:
                self.view = records.get(self.actor, kind, record_id)
            except CrmError as exc:
                self.view = None
                self._set_title(str(exc))
        self._render_card()
        self._load_active_tab()

    def _set_title(self, text: str) -> None:
        self.query_one("#detail-title", TextLine).update(text)

    def _render_card(self) -> None:
        view = self.view
        body = self.query_one("#card-body", Static)
        if view is None:
            if self.record_id is None:
                self._set_title(_("Nothing selected"))
            body.update("")
            for target in ("#history-body",):
                self.query_one(target, Static).update("")
            for target in ("#people-list", "#tasks-list", "#deals-list"):
                self.query_one(target, OptionList).clear_options()
            return
        spec = records.kind_spec(view.kind)
        title = view.title or f"#{view.id}"
        if view.deleted_at is not None:
            title += "  " + _("(in the trash)")
        self._set_title(f"{_(spec.singular)}: {title}")
        body.update(self.card_renderable(view))
        self.query_one(VerticalScroll).scroll_home(animate=False)

    def card_rows(self, view: RecordView) -> list[tuple[str, Text]]:
        """(label, value) of every filled field, custom ones included, then who/when."""
        rows: list[tuple[str, Text]] = []
        # The admin's renames, read once (settings.field_label reads them per field).
        renamed = settings.field_labels(view.kind)
        for spec in records.field_specs(view.kind):
            if spec.custom:
                label = spec.label
            else:
                label = renamed[spec.name] if spec.name in renamed else _(spec.label)
            if spec.type in POINT_TYPES:
                points = view.points_of(POINT_TYPES[spec.type])
                if not points:
                    continue
                value = Text()
                for index, point in enumerate(points):
                    if index:
                        value.append("\n")
                    kind_names = POINT_TYPE_CHOICES[point.kind]
                    value.append_text(linked_text(visible(point.value), point_link(point)))
                    value.append(f" {_(kind_names.get(point.type, point.type))}", style="dim")
                rows.append((label, value))
                continue
            if spec.name in ("primary_phone", "primary_email") and view.points:
                continue  # shown in full above
            # Escaped before the card is wrapped, so that the escapes are measured too.
            text = visible(view.display.get(spec.name, ""), keep="\n")
            if not text or (spec.type == "bool" and not spec.custom
                            and not view.values.get(spec.name)):
                continue  # empty, or a "no" flag: noise on a card
            if spec.name in ("website", "url"):
                url = text if "://" in text else f"https://{text}"
                rows.append((label, linked_text(text, url)))
            elif spec.name == "birthday" and isinstance(view.values.get("birthday"), dt.date) \
                    and (years := dates.age(view.values["birthday"])) is not None:
                rows.append((label, Text(f"{text} ({_('age')} {years})")))
            else:
                rows.append((label, Text(text)))
        rows.append(("", Text()))
        created = _when(view.created_at)
        updated = _when(view.updated_at)
        rows.append((_("Created"), Text(f"{created} {view.created_by}".strip())))
        if updated and (updated != created or view.updated_by != view.created_by):
            rows.append((_("Updated"), Text(f"{updated} {view.updated_by}".strip())))
        if view.deleted_at is not None:
            rows.append((_("Deleted"), Text(_when(view.deleted_at))))
        rows.append((_("Number"), Text(f"#{view.id}")))
        return rows

    def card_renderable(self, view: RecordView) -> Text:
        """The card as one Text laid out in two columns (a Rich table re-measures itself on
        every repaint; this is built once per record)."""
        if self._rows_of is None or self._rows_of[0] is not view:
            self._rows_of = (view, self.card_rows(view))
        rows = self._rows_of[1]
        width = max(24, self.size.width - 4)
        label_width = min(18, max((cell_len(label) for label, _v in rows), default=0))
        value_width = max(10, width - label_width - 1)
        console = self.app.console
        out = Text()
        for label, value in rows:
            if cell_len(label) > label_width:
                label = set_cell_size(label, label_width - 1) + "…"
            lines = value.wrap(console, value_width) if value.plain else [Text()]
            for index, line in enumerate(lines):
                shown = label if index == 0 else ""
                out.append(shown + " " * (label_width - cell_len(shown) + 1), style="dim")
                out.append_text(line)
                out.append("\n")
        out.rstrip()
        return out

    # --- tabs --------------------------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._load_active_tab()

    def _load_active_tab(self) -> None:
        if not self.built:
            return
        tabs = self.query_one(TabbedContent)
        active = tabs.active
        if active in ("card", "") or active in self._loaded_tabs or self.view is None:
            return
        self._loaded_tabs.add(active)
        try:
            if active == "history":
                self.query_one("#history-body", Static).update(self.history_renderable())
            elif active == "people":
                self._fill("#people-list", self._people_options())
            elif active == "tasks":
                self._fill("#tasks-list", self._task_options())
            elif active == "deals":
                self._fill("#deals-list", self._deal_options())
        except CrmError as exc:
            self.notify(str(exc), severity="error", markup=False)

    def _fill(self, selector: str, options: Sequence[Option | None]) -> None:
        target = self.query_one(selector, OptionList)
        target.set_options(options or [Option(_("Nothing here"), disabled=True)])

    def _related_filter(self) -> dict[str, int] | None:
        view = self.view
        if view is None:
            return None
        if view.kind == "organizations":
            return {"organization": view.id}
        if view.kind == "contacts":
            return {"contact": view.id}
        return None

    def history_renderable(self) -> Text:
        view = self.view
        out = Text()
        if view is None:
            return out
        filters = self._related_filter()
        if filters is not None and self.actor.can("events", "view"):
            page = records.list_records(self.actor, "events", ListQuery(
                filters=filters, sort="starts_at", descending=True, limit=HISTORY_LIMIT))
            out.append(_("Events") + "\n", style="bold")
            if not page.rows:
                out.append(_("No events yet") + "\n", style="dim")
            for event in page.rows:
                d = event.display
                out.append(d.get("starts_at", ""), style="dim")
                out.append("  " + (d.get("event_type") or ""), style="bold")
                if d.get("status"):
                    out.append(f" [{d['status']}]")
                if event.values.get("title"):
                    out.append(f"  {event.values['title']}")
                if d.get("result"):
                    out.append(" → " + d["result"], style="green")
                if event.values.get("result_note"):
                    out.append(": " + str(event.values["result_note"]).replace("\n", " "))
                if event.values.get("next_step"):
                    out.append("  " + _("Next step") + ": " + str(event.values["next_step"]),
                               style="italic")
                who = d.get("assignee")
                if who:
                    out.append(f"  ({who})", style="dim")
                out.append("\n")
            if page.total > len(page.rows):
                out.append(_("… and {count} earlier").format(count=page.total - len(page.rows))
                           + "\n", style="dim")
            out.append("\n")
        from tui_crm.services.core import audit

        out.append(_("Changes") + "\n", style="bold")
        entries = audit.history(view.kind, view.id, limit=HISTORY_LIMIT)
        for entry in entries:
            out.append(_when(entry.at), style="dim")
            out.append(f"  {entry.login or '—'} ")
            out.append(_(ACTION_NAMES.get(entry.action, entry.action)))
            if entry.field:
                label = settings.field_label(view.kind, entry.field)
                out.append(f" {label}: ", style="bold")
                out.append(f"{entry.old or '∅'} → {entry.new or '∅'}")
            out.append("\n")
        if not entries:
            out.append(_("No changes recorded") + "\n", style="dim")
        return out

    def _people_options(self) -> list[Option]:
        view = self.view
        assert view is not None
        if view.kind == "organizations":
            page = records.list_records(self.actor, "contacts", ListQuery(
                filters={"organization": view.id}, limit=LIST_LIMIT))
            out = []
            for person in page.rows:
                line = Text(person.title or f"#{person.id}", style="bold")
                for name in ("position", "primary_phone", "primary_email"):
                    if person.display.get(name):
                        line.append("  " + person.display[name], style="" if name != "position"
                                    else "italic")
                if person.values.get("is_decision_maker"):
                    line.append("  ★ " + _("decision maker"), style="yellow")
                out.append(Option(line, id=f"contacts:{person.id}"))
            return out
        out = []
        for ref, kind in (("organization", "organizations"), ("contact", "contacts"),
                          ("deal", "deals")):
            ref_id = view.values.get(ref)
            if ref_id:
                label = settings.field_label(view.kind, ref)
                out.append(Option(Text.assemble((f"{label}: ", "dim"),
                                                (view.display.get(ref, ""), "bold")),
                                  id=f"{kind}:{ref_id}"))
        return out

    def _task_options(self) -> list[Option]:
        filters = self._related_filter()
        if filters is None:
            return []
        page = records.list_records(self.actor, "tasks", ListQuery(
            filters=filters, sort="due_at", descending=True, limit=LIST_LIMIT))
        out = []
        for task in page.rows:
            line = Text.assemble((task.display.get("due_at", ""), "dim"), "  ",
                                 (task.title, "bold"), "  ", task.display.get("status", ""))
            out.append(Option(line, id=f"tasks:{task.id}"))
        return out

    def _deal_options(self) -> list[Option | None]:
        filters = self._related_filter()
        if filters is None:
            return []
        out: list[Option | None] = []
        if "organization" in filters:
            out.extend(self._money_lines(filters["organization"]))
        page = records.list_records(self.actor, "deals", ListQuery(
            filters=filters, sort="id", descending=True, limit=LIST_LIMIT))
        for deal in page.rows:
            line = Text.assemble((deal.title, "bold"), "  ", deal.display.get("stage", ""),
                                 "  ", deal.display.get("amount", ""))
            out.append(Option(line, id=f"deals:{deal.id}"))
        if "organization" in filters and self.actor.can("payments", "view"):
            payments = records.list_records(self.actor, "payments", ListQuery(
                filters=filters, sort="date", descending=True, limit=LIST_LIMIT))
            if payments.rows and out:
                out.append(None)  # a separator line
            for pay in payments.rows:
                line = Text.assemble((pay.display.get("date", ""), "dim"), "  ",
                                     (_("Payment"), "bold"), "  ", pay.display.get("amount", ""),
                                     "  ", pay.display.get("description", ""))
                out.append(Option(line, id=f"payments:{pay.id}"))
        return out

    def _money_lines(self, organization_id: int) -> list[Option | None]:
        """Purchase frequency, average and last payment, category and its history."""
        from tui_crm.services.analytics import money
        from tui_crm.services.core import values

        try:
            summary = money.summary(self.actor, organization_id)
        except CrmError:
            return []
        amount = values.format_amount
        lines = [Text.assemble((_("Purchases") + ": ", "bold"), summary.frequency_text,
                               "  ", _("payments: {n}, total {total}").format(
                                   n=summary.payments_count,
                                   total=amount(summary.payments_total)))]
        if summary.payments_count:
            lines.append(Text.assemble(
                (_("Average payment") + ": ", "bold"), amount(summary.average_payment), "  ",
                (_("Last payment") + ": ", "bold"),
                f"{dates.format_date(summary.last_payment) if summary.last_payment else ''} "
                f"{amount(summary.last_amount)}"))
        category = Text.assemble((_("Category") + ": ", "bold"), summary.category_text)
        for change in summary.category_history[:3]:
            category.append(f"  ← {change.old or '—'} ({dates.format_date(change.at.date())})",
                            style="dim")
        lines.append(category)
        return [*(Option(line, disabled=True) for line in lines), None]

    @on(OptionList.OptionSelected)
    def _open_linked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if ":" in option_id:
            kind, record_id = option_id.split(":", 1)
            self.post_message(self.OpenRequested(kind, int(record_id)))

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "add_person":  # elsewhere `a` stays the section's "add"
            return self.kind == "organizations" and self.view is not None and self.built \
                and self.query_one(TabbedContent).active == "people"
        return True

    def action_add_person(self) -> None:
        if self.view is not None and self.kind == "organizations":
            self.post_message(self.AddPersonRequested(self.view.id))

    def action_edit(self) -> None:
        if self.view is not None:
            self.post_message(self.EditRequested(self.view.kind, self.view.id))

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        if not self.built:
            return
        tabs = self.query_one(TabbedContent)
        visible = ["card", "history"] + [pane for pane, _l in TABS.get(self.kind, DEFAULT_TABS)]
        if tabs.active in visible:
            tabs.active = visible[(visible.index(tabs.active) + step) % len(visible)]
            self.call_after_refresh(self.focus_card)
