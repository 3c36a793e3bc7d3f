"""Command-line subcommands of daily planning and team work: today, followups, plan, log,
reminders, backup, restore, reassign, serve, audit."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from tui_crm.cli import stdout as cli_stdout
from tui_crm.cli.output import emit_json, say, warn
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, events, reassign, users, visibility
from tui_crm.services.core.rights import Actor
from tui_crm.services.ops import backup
from tui_crm.services.planning import followups, planning, reminders
from tui_crm.text import dates


def _print(args: argparse.Namespace, data: Any, text: str) -> int:
    with cli_stdout.messages_aside(getattr(args, "output", None)):
        if getattr(args, "json", False):
            emit_json(data)
        else:
            say(text)
    return 0


def _day(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dates.parse_date(text)
    except ValueError as exc:
        raise ValidationError({"date": str(exc)}) from None


def _user_id(actor: Actor, login: str | None) -> int | None:
    if not login:
        return actor.user_id
    for u in users.list_users(actor):
        if u.login == login:
            if not visibility.sees_user(actor, u.id):
                raise ValidationError({"user": _("You can see only your own day")})
            return u.id
    raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=login))


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("today", parents=[common], help=_("the day in time blocks"))
    p.add_argument("--date", help=_("the day (default today): 31.12.2026, tomorrow, пятница"))
    p.add_argument("--for", dest="for_user", metavar="LOGIN", help=_("another user's day"))
    p.set_defaults(handler=handle_today)

    p = subparsers.add_parser("followups", parents=[common], help=_("the follow-up queue"))
    p.add_argument("--for", dest="for_user", metavar="LOGIN", help=_("one manager's clients"))
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(handler=handle_followups)

    p = subparsers.add_parser("plan", parents=[common], help=_("candidates for a day's calls"))
    p.add_argument("--date", help=_("the day to plan (default tomorrow)"))
    p.add_argument("--auto", action="store_true", help=_("fill the call blocks"))
    p.add_argument("-o", "--output", help=_("write the work journal to FILE.xlsx"))
    p.set_defaults(handler=handle_plan)

    p = subparsers.add_parser("log", parents=[common], help=_("log an event's result"))
    p.add_argument("event_id", type=int)
    p.add_argument("--result", required=True, help=_("result code or name"))
    p.add_argument("--note", default="")
    p.add_argument("--next", dest="next_when", help=_("next step: tomorrow 10:00, +3d, пятница"))
    p.add_argument("--next-type", help=_("type of the next step (call, meeting, …)"))
    p.set_defaults(handler=handle_log)

    p = subparsers.add_parser("reminders", parents=[common], help=_("your reminders"))
    p.add_argument("--due", action="store_true", help=_("only those due now"))
    p.set_defaults(handler=handle_reminders)

    p = subparsers.add_parser("backup", parents=[common], help=_("copy the live database"))
    p.add_argument("dest", help=_("a file, or a folder for a dated copy"))
    p.add_argument("--keep", type=int, help=_("keep the newest N dated copies in the folder"))
    p.set_defaults(handler=handle_backup)

    p = subparsers.add_parser("restore", parents=[common], help=_("restore a backup"))
    p.add_argument("source")
    p.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))
    p.set_defaults(handler=handle_restore)

    p = subparsers.add_parser("reassign", parents=[common],
                              help=_("hand one manager's clients to another"))
    p.add_argument("from_login")
    p.add_argument("to_login")
    p.add_argument("--org", type=int, action="append", dest="orgs",
                   help=_("only this organization (repeatable)"))
    p.set_defaults(handler=handle_reassign)


    p = subparsers.add_parser("audit", parents=[common], help=_("the audit log"))
    p.add_argument("--section")
    p.add_argument("--id", type=int)
    p.add_argument("--action")
    p.add_argument("--login")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=handle_audit)


def handle_today(args: argparse.Namespace, actor: Actor) -> int:
    day = _day(args.date)
    view = planning.day_view(actor, day, user_id=_user_id(actor, args.for_user))
    lines = [f"{dates.format_date(day)}"]
    if view.overdue:
        lines.append(_("Overdue:"))
        lines += [f"  #{i.event_id} {dates.format_datetime(i.starts_at)} {i.type_name} "
                  f"{i.organization or i.contact} {i.phone}".rstrip() for i in view.overdue]
    for b in view.blocks:
        label = b.block.label or _(planning.BLOCK_KINDS[b.block.kind])
        lines.append(f"{b.block.key}–{b.block.end:%H:%M} {label}" + (" ◀" if b.is_now else ""))
        lines += [f"  #{i.event_id} {i.starts_at:%H:%M} {i.type_name} "
                  f"{i.organization or i.contact} "
                  f"{planning.people_text(i.contact if i.organization else '', i.decision_maker)}"
                  f" {i.phone}".rstrip()
                  + (f" [{i.status}]" if i.status != "planned" else "") for i in b.items]
    if view.outside:
        lines.append(_("Outside the blocks:"))
        lines += [f"  #{i.event_id} {i.starts_at:%H:%M} {i.type_name} "
                  f"{i.organization or i.contact}" for i in view.outside]
    if view.tasks:
        lines.append(_("Tasks:"))
        lines += [f"  #{t.id} {t.title}" for t in view.tasks]
    if view.birthdays:
        lines.append(_("Birthdays:"))
        lines += [f"  {b.name} {b.phone}" for b in view.birthdays]
    return _print(args, view.to_dict(), "\n".join(lines))


def handle_followups(args: argparse.Namespace, actor: Actor) -> int:
    user_id = _user_id(actor, args.for_user) if args.for_user else None
    queue = followups.queue(actor, user_id=user_id, limit=args.limit)
    lines = []
    for f in queue:
        flag = _("NO NEXT STEP") if f.no_next_step else (
            _("overdue") if f.overdue else "")
        when = dates.format_datetime(f.next_contact_at) if f.next_contact_at else ""
        lines.append(f"#{f.id} {f.title} | {when} {flag} | {_(followups.REASONS[f.reason])}"
                     f" | {f.owner}")
    return _print(args, [f.to_dict() for f in queue], "\n".join(lines) or _("The queue is empty."))


def handle_plan(args: argparse.Namespace, actor: Actor) -> int:
    day = _day(args.date) if args.date else dt.date.today() + dt.timedelta(days=1)
    if args.auto:
        created = planning.auto_plan(actor, day)
        text = _("{count} calls planned for {day}").format(count=len(created),
                                                           day=dates.format_date(day))
        data: Any = {"planned": created}
    else:
        found = planning.candidates(actor, day)
        data = [c.to_dict() for c in found]
        text = "\n".join(f"{c.title} | {_(planning.CANDIDATE_REASONS[c.reason])} | "
                         f"{planning.people_text(c.contact, c.decision_maker)} | "
                         f"{c.phone} | {c.email} | {c.last_result} | "
                         f"{c.source}" for c in found) or _("Nobody to propose for that day.")
    if args.output:
        with cli_stdout.output_path(args.output, ".xlsx") as output:
            rows = planning.export_plan(actor, day, output)
        text += "\n" + _("{rows} rows written to {path}").format(
            rows=rows, path=cli_stdout.shown(args.output, args.output))
    return _print(args, data, text)


def handle_log(args: argparse.Namespace, actor: Actor) -> int:
    outcome = events.log_result(actor, args.event_id, args.result, note=args.note,
                                next_when=args.next_when, next_type=args.next_type)
    data = {"event": outcome.event.to_dict(),
            "next_event": outcome.next_event.to_dict() if outcome.next_event else None}
    text = _("Event #{id} logged: {result}").format(id=args.event_id,
                                                    result=outcome.event.display.get("result"))
    if outcome.next_event:
        text += "\n" + _("Next step #{id} at {when}").format(
            id=outcome.next_event.id, when=outcome.next_event.display.get("starts_at"))
    return _print(args, data, text)


def handle_reminders(args: argparse.Namespace, actor: Actor) -> int:
    found = reminders.pending(actor) if args.due else reminders.upcoming(actor)
    text = "\n".join(f"{dates.format_datetime(r.fire_at)} {r.title} {r.body}".rstrip()
                     for r in found) or _("No reminders.")
    return _print(args, [r.to_dict() for r in found], text)


def handle_backup(args: argparse.Namespace, actor: Actor) -> int:
    result = backup.backup(actor, args.dest, keep=args.keep)
    text = _("Backup written to {path} ({size} bytes), integrity ok").format(
        path=result.path, size=result.size)
    if result.removed:
        text += "\n" + _("Removed old copies: {names}").format(
            names=", ".join(p.name for p in result.removed))
    if result.warning:  # the copy is complete and good: a warning, not a failure
        warn(_("the backup is complete, but {problem}").format(problem=result.warning))
    return _print(args, result.to_dict(), text)


def handle_restore(args: argparse.Namespace, actor: Actor) -> int:
    backup.check_restorable(args.source)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ValidationError({"yes": _("Restoring replaces all data; confirm with --yes")})
        answer = input(_("Replace ALL data with {source}? Type yes: ").format(source=args.source))
        if answer.strip().lower() not in ("yes", "да"):
            say(_("Nothing changed."))
            return 1
    result = backup.restore(actor, args.source)
    if result.warning:
        warn(_("the database is restored, but {problem}").format(problem=result.warning))
    return _print(args, {"restored": str(result.path), "warning": result.warning},
                  _("Restored {source} into {path}").format(source=args.source,
                                                             path=result.path))


def handle_reassign(args: argparse.Namespace, actor: Actor) -> int:
    moved = reassign.reassign(actor, args.from_login, args.to_login,
                              organization_ids=args.orgs)
    text = _("Handed over: {orgs} organizations, {contacts} contacts, {deals} deals, "
             "{tasks} open tasks, {events} planned events").format(
        orgs=moved.organizations, contacts=moved.contacts, deals=moved.deals,
        tasks=moved.tasks, events=moved.events)
    return _print(args, moved.to_dict(), text)


def handle_audit(args: argparse.Namespace, actor: Actor) -> int:
    if not actor.is_admin and actor.role != "head":
        from tui_crm.errors import PermissionDenied

        raise PermissionDenied(_("Only an admin or the head of sales can read the audit log."))
    entries = audit.history(args.section, args.id, action=args.action, login=args.login,
                            limit=args.limit)
    text = "\n".join(
        f"{dates.format_datetime(e.at)} {e.login} {e.action} {e.kind}"
        + (f" #{e.record_id}" if e.record_id else "")
        + (f" {e.field}: {e.old!r} → {e.new!r}" if e.field else "")
        + (f" ({e.details})" if e.details else "") for e in entries) or _("No entries.")
    return _print(args, [e.__dict__ for e in entries], text)
