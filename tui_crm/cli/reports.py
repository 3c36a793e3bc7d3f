"""Command-line subcommands of money, categories and reports: `segment`, `report`, `journal`
(a day's lateness and "journal sent"), `meeting-report`, `deal-move` and `money`.

`register(subparsers, common)` adds them; every handler is `handler(args, actor) -> int`,
prints aligned text or, with `--json`, JSON, and raises `CrmError` for the caller to report.
"""

from __future__ import annotations

import argparse
import datetime as dt
from decimal import Decimal
from typing import Any

from tui_crm.cli import stdout as cli_stdout
from tui_crm.cli.output import emit_json, say
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.analytics import client_values, money, reports, segmentation
from tui_crm.services.analytics import tiers as tier_rules
from tui_crm.services.analytics.reports import common, journal, meetings
from tui_crm.services.core import values
from tui_crm.services.core.kinds import CATEGORY_CHOICES, DEAL_STAGE_CHOICES
from tui_crm.services.core.rights import Actor
from tui_crm.terminal_text import visible
from tui_crm.text import dates

MAX_CELL = 30


def _json(data: Any) -> None:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dt.datetime):
            return value.isoformat(timespec="minutes")
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    emit_json(data, default=plain)


def _cut(text: str, width: int = MAX_CELL) -> str:
    text = visible(text.replace("\n", " "))  # measured as shown
    return text if len(text) <= width else text[:width - 1] + "…"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain aligned columns (numbers right-aligned)."""
    cells = [[_cut(h) for h in headers]] + [[_cut(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def numeric(text: str) -> bool:
        stripped = text.replace("\u00a0", "").replace(" ", "").replace(",", "").replace(".", "")
        return stripped.lstrip("-").rstrip("%").isdigit()

    lines = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if n and numeric(c) else c.ljust(w) for c, w in zip(row, widths,
                                                                              strict=True)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _date(text: str | None, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dates.parse_date(text)
    except dates.DateParseError as exc:
        raise ValidationError({what: str(exc)}) from None


def _percent(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().rstrip("%").replace(",", "."))
    except ArithmeticError:
        raise argparse.ArgumentTypeError(_("not a percentage: {text!r}").format(
            text=text)) from None
    return value / 100 if value > 1 else value


def _thresholds(text: str) -> tuple[Decimal, Decimal]:
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(_("give two percentages, e.g. 80,95"))
    return _percent(parts[0]), _percent(parts[1])


# --- registration -----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "segment", parents=[common],
        help=_("client categories: VIP = the top 20 % of paying clients, then a second tier"))
    p.add_argument("--criterion", choices=list(client_values.CRITERIA), default="payments",
                   help=_("what ranks the clients (default payments)"))
    p.add_argument("--period", metavar="YYYY-MM[..YYYY-MM]",
                   help=_("a month or a span of months (default: the month of the newest "
                          "payment)"))
    p.add_argument("--per-month", action="store_true",
                   help=_("also the VIP list of each month: who entered and who dropped out"))
    p.add_argument("--scheme", choices=list(tier_rules.SCHEMES), default="lenient",
                   help=_("second tier: lenient (good), strict (difficult) or abc"))
    p.add_argument("--abc", type=_thresholds, metavar="A,B",
                   help=_("ABC thresholds in percent (default 80,95)"))
    p.add_argument("--share", type=_percent, metavar="PERCENT",
                   help=_("the VIP share in percent (default 20)"))
    p.add_argument("--compare", choices=list(client_values.CRITERIA), metavar="CRITERION",
                   help=_("also the overlap with the VIP list by another criterion"))
    p.add_argument("--apply", action="store_true",
                   help=_("write the tiers to the organizations' category (kept in history)"))
    p.add_argument("--clear-missing", action="store_true",
                   help=_("with --apply: clients with no value in the period lose their "
                          "category"))
    p.add_argument("--limit", type=int, default=15, metavar="N",
                   help=_("clients shown per list in text output (default 15; 0 = all)"))
    p.set_defaults(handler=handle_segment)

    p = subparsers.add_parser("report", parents=[common], help=_("a report; -o writes .xlsx"))
    p.add_argument("name", choices=list(reports.REPORTS), metavar="NAME",
                   help=_("one of: {names}").format(names=", ".join(reports.REPORTS)))
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help=_("first day (default: the first of this month)"))
    p.add_argument("--to", dest="date_to", metavar="DATE", help=_("last day (default: today)"))
    p.add_argument("--manager", metavar="LOGIN", help=_("one manager only"))
    p.add_argument("--criterion", choices=list(client_values.CRITERIA),
                   help=_("the audit report's criterion (default payments)"))
    p.add_argument("-o", "--output", metavar="FILE.xlsx", help=_("write the report to .xlsx"))
    p.set_defaults(handler=handle_report)

    p = subparsers.add_parser("journal", parents=[common],
                              help=_("enter a day's lateness and whether the work journal was "
                                     "sent"))
    p.add_argument("--date", help=_("the day (default today)"))
    p.add_argument("--late", metavar="MINUTES", help=_("minutes late"))
    p.add_argument("--sent", choices=["yes", "no"], help=_("the work journal was sent"))
    p.add_argument("--for", dest="for_user", metavar="LOGIN",
                   help=_("another manager's day (head of sales)"))
    p.set_defaults(handler=handle_journal)

    p = subparsers.add_parser("meeting-report", parents=[common],
                              help=_("write or show the report of a meeting"))
    p.add_argument("event", type=int, metavar="EVENT_ID", help=_("the meeting (event id)"))
    p.add_argument("--subject")
    p.add_argument("--agreements")
    p.add_argument("--result")
    p.add_argument("--our", dest="our_actions", help=_("our next actions"))
    p.add_argument("--client", dest="client_actions", help=_("the client's next actions"))
    p.add_argument("--next", dest="next_contact_date", metavar="DATE",
                   help=_("next contact date (a call is planned then)"))
    p.set_defaults(handler=handle_meeting_report)

    p = subparsers.add_parser("deal-move", parents=[common],
                              help=_("move a deal to the next (or a given) stage"))
    p.add_argument("deal", type=int, metavar="DEAL_ID")
    p.add_argument("--stage", choices=list(DEAL_STAGE_CHOICES))
    p.add_argument("--reason", default="", help=_("why the deal was lost"))
    p.set_defaults(handler=handle_deal_move)

    p = subparsers.add_parser("money", parents=[common],
                              help=_("an organization's payments: frequency, average, last, "
                                     "category history"))
    p.add_argument("organization", type=int, metavar="ORG_ID")
    p.set_defaults(handler=handle_money)


# --- segment ----------------------------------------------------------------------------------


def _ranked_lines(rows: list[segmentation.Ranked], scale: int, limit: int,
                  previous: bool = False) -> list[str]:
    shown = rows if limit <= 0 else rows[:limit]
    out = []
    for r in shown:
        value = segmentation.format_value(r.value, scale)
        line = f"  {r.rank or '':>5} {_cut(r.name, 40):40} {value}"
        if previous and r.previous is not None:
            line += "  " + _("(before: {value})").format(
                value=segmentation.format_value(r.previous, scale))
        out.append(line.rstrip())
    if limit > 0 and len(rows) > limit:
        out.append("  " + _("… and {n} more (--limit 0 shows all)").format(n=len(rows) - limit))
    return out


def handle_segment(args: argparse.Namespace, actor: Actor) -> int:
    period = args.period or segmentation.latest_month()
    options: dict[str, Any] = {}
    if args.share is not None:
        options["share"] = args.share
    if args.abc is not None:
        options["abc"] = args.abc
    result = segmentation.segment(actor, args.criterion, period, args.scheme,
                                  per_month=args.per_month, **options)
    applied = segmentation.apply(actor, result, clear_missing=args.clear_missing) \
        if args.apply else None
    overlap = segmentation.overlap(actor, result.months, args.criterion, args.compare) \
        if args.compare else None
    if getattr(args, "json", False):
        data = result.to_dict()
        if applied is not None:
            data["applied"] = applied.to_dict()
        if overlap is not None:
            data["overlap"] = overlap.to_dict()
        _json(data)
        return 0
    scale = result.scale
    what = _(client_values.CRITERIA[result.criterion])
    lines = [_("Categories by {what}, {period}, scheme: {scheme}").format(
        what=what.lower(), period=result.period, scheme=_(tier_rules.SCHEMES[result.scheme])),
        _("Paying clients: {n}; total: {total}").format(
            n=result.paying_clients, total=segmentation.format_value(result.total, scale))]
    lines += [f"  {m}" for m in result.pareto_messages()]
    lines += [f"  ! {m}" for m in result.tie_messages()]
    averages = ", ".join(f"{_(client_values.CRITERIA[k]).lower()} "
                         f"{segmentation.format_value(v, client_values.SCALE[k])}"
                         for k, v in result.vip_average.items())
    if averages:
        lines.append(_("Average per VIP per month: {values}").format(values=averages))
    for tier, rows in result.tiers.items():
        lines.append("")
        lines.append(f"{_(tier_rules.TIER_LABELS[tier])}: {len(rows)}")
        lines += _ranked_lines(rows, scale, args.limit)
    if result.fell_out:
        lines += ["", _("Fell out of VIP in {month} (call them): {n}").format(
            month=result.months[-1], n=len(result.fell_out))]
        lines += _ranked_lines(result.fell_out, scale, args.limit, previous=True)
    if result.potential_vip:
        lines += ["", _("Potential VIP (the last month reaches the VIP average): {n}").format(
            n=len(result.potential_vip))]
        lines += _ranked_lines(result.potential_vip, scale, args.limit)
    if result.per_month:
        lines += ["", table(
            [_("Month"), _("Paying"), _("VIP"), _("Entered"), _("Dropped out"), _("VIP share")],
            [[mv.month, str(mv.paying_clients), str(len(mv.vip_raw)), str(len(mv.entered_raw)),
              str(len(mv.dropped_raw)), values.format_percent(mv.vip_value_pct)] for mv in result.monthly])]
        lines += ["", _("VIP in any month of the span: {n}").format(n=len(result.union))]
        for u in (result.union if args.limit <= 0 else result.union[:args.limit]):
            lines.append(f"  {_cut(u.name, 40):40} {u.months_vip:>3}  "
                         f"{segmentation.format_value(u.value, scale)}")
    if overlap is not None:
        lines += ["", _("VIP overlap of {a} and {b}: {common} of {na} and {nb} clients "
                        "({pct} % of the first list)").format(
            a=_(client_values.CRITERIA[overlap.criterion_a]).lower(),
            b=_(client_values.CRITERIA[overlap.criterion_b]).lower(), common=len(overlap.common),
            na=len(overlap.a), nb=len(overlap.b), pct=values.format_number(overlap.pct_of_a))]
    if applied is not None:
        lines += ["", _("Applied: {changed} categories changed, {unchanged} already right, "
                        "{cleared} cleared; {silent} VIPs without contact for 30 days are in "
                        "the follow-up queue").format(
            changed=applied.changed, unchanged=applied.unchanged, cleared=applied.cleared,
            silent=applied.silent_vips)]
    say("\n".join(lines))
    return 0


# --- reports ----------------------------------------------------------------------------------


def handle_report(args: argparse.Namespace, actor: Actor) -> int:
    start, end = reports.period_of(args.date_from, args.date_to)
    options = {"criterion": args.criterion} if args.criterion and args.name == "audit" else {}
    report = reports.build(actor, args.name, start, end, args.manager, **options)
    if args.output:
        with cli_stdout.output_path(args.output, ".xlsx") as output:
            rows = reports.export_xlsx(report, output, actor)
        with cli_stdout.messages_aside(args.output):
            if getattr(args, "json", False):
                _json({"report": report.name, "rows": rows, "output": args.output})
            else:
                say(_("{title}: {n} rows written to {path}").format(
                    title=report.title, n=rows, path=cli_stdout.shown(args.output, args.output)))
        return 0
    if getattr(args, "json", False):
        _json(report.to_dict())
        return 0
    say(render_report(report))
    return 0


def render_report(report: common.Report) -> str:
    """A report as text: title, period, the table with totals, notes."""
    columns = report.columns
    rows = [[report.cell(r, c.key) for c in columns] for r in report.rows]
    if report.totals is not None:
        rows.append([report.cell(report.totals, c.key) for c in columns])
    head = [f"{report.title} · {report.period_text}"]
    if report.manager:
        head[0] += f" · {report.manager}"
    if not report.rows:
        head.append(_("Nothing in this period."))
    text = "\n".join(head + ["", table([c.label for c in columns], rows)])
    if report.notes:
        text += "\n\n" + "\n".join(report.notes)
    return text


# --- the rest ---------------------------------------------------------------------------------


def handle_journal(args: argparse.Namespace, actor: Actor) -> int:
    day = _date(args.date, "date") or dt.date.today()
    if args.late is None and args.sent is None:
        entry = journal.day_journal(actor, day, args.for_user)
    else:
        entry = journal.set_day_journal(
            actor, day, lateness_minutes=args.late,
            journal_sent=None if args.sent is None else args.sent == "yes", user=args.for_user)
    if getattr(args, "json", False):
        _json({"day": entry.day, "user_id": entry.user_id,
               "lateness_minutes": entry.lateness_minutes, "journal_sent": entry.journal_sent})
        return 0
    say(_("{day}: late {minutes} min, work journal {sent}").format(
        day=dates.format_date(entry.day), minutes=entry.lateness_minutes,
        sent=_("sent") if entry.journal_sent else _("not sent")))
    return 0


def handle_meeting_report(args: argparse.Namespace, actor: Actor) -> int:
    data = {name: getattr(args, name) for name in meetings.MEETING_FIELDS
            if getattr(args, name) is not None}
    view = meetings.save_meeting_report(actor, args.event, data) if data \
        else meetings.meeting_report(actor, args.event)
    if getattr(args, "json", False):
        _json(view.to_dict())
        return 0
    labels = [(_("Date"), dates.format_datetime(view.starts_at)), (_("Manager"), view.manager),
              (_("Company"), view.organization), (_("Contact person"), view.contact),
              (_("Subject"), view.subject), (_("Agreements"), view.agreements),
              (_("Result"), view.result or view.event_result),
              (_("Our next actions"), view.our_actions),
              (_("Client's next actions"), view.client_actions),
              (_("Next contact"), dates.format_date(view.next_contact_date)
               if view.next_contact_date else "")]
    width = max(len(label) for label, _v in labels)
    say("\n".join(f"{label.ljust(width)}  {value}" for label, value in labels))
    return 0


def handle_deal_move(args: argparse.Namespace, actor: Actor) -> int:
    view = money.move_stage(actor, args.deal, args.stage, lost_reason=args.reason)
    if getattr(args, "json", False):
        _json(view.to_dict())
        return 0
    say(_("{title}: {stage}").format(title=view.title, stage=view.display.get("stage", "")))
    return 0


def handle_money(args: argparse.Namespace, actor: Actor) -> int:
    summary = money.summary(actor, args.organization)
    if getattr(args, "json", False):
        _json(summary.to_dict())
        return 0
    amount = values.format_amount
    lines = [
        (_("Category"), summary.category_text),
        (_("Purchase frequency"), summary.frequency_text),
        (_("Payments"), f"{summary.payments_count} · {amount(summary.payments_total)}"),
        (_("Average payment"), amount(summary.average_payment)),
        (_("Last payment"), f"{dates.format_date(summary.last_payment)} · "
                            f"{amount(summary.last_amount)}" if summary.last_payment else ""),
        (_("Services rendered"), f"{amount(summary.services_total)} · {summary.services_units}"),
        (_("Open deals"), f"{summary.open_deals} · {amount(summary.open_deals_amount)}"),
    ]
    width = max(len(label) for label, _v in lines)
    out = [f"{label.ljust(width)}  {value}" for label, value in lines]
    if summary.category_history:
        out += ["", _("Category history:")]
        out += [f"  {dates.format_datetime(c.at)}  {c.login}  "
                f"{_(CATEGORY_CHOICES.get(c.old, c.old))} → {_(CATEGORY_CHOICES.get(c.new, c.new))}"
                for c in summary.category_history]
    say("\n".join(out))
    return 0
