"""`tui-crm mail …`: SMTP accounts, templates, creating, sending, resuming and checking mailings.

`register(subparsers, common_parent)` adds the `mail` command to the main parser; each leaf
command sets `handler=handle_x`, called as `handler(args, actor) -> exit code`. Errors a user
can cause are raised as CrmError for the main command to print as one line.

A password is never an argument (it would show in `ps` and the shell history): it is typed
at a prompt and kept in the keyring, or read from an environment variable named with
`--password-env`.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tui_crm.cli.output import emit_json, progress_line, say, warn
from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import server_files
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import (
    accounts,
    context,
    mail_files,
    mailings,
    recipients,
    runner,
    templates,
)
from tui_crm.services.mail.common import KINDS, MAILING_STATUS_LABELS, STATUS_LABELS, STATUSES
from tui_crm.services.mail.recipients import RecipientSource
from tui_crm.services.mail.runner import SendOptions


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return option in parser._option_string_actions  # noqa: SLF001 - argparse has no public API


def _add_json(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    if not _has_option(common, "--json"):
        parser.add_argument("--json", action="store_true", help=_("print JSON"))


def _leaf(sub: Any, name: str, common: argparse.ArgumentParser, help_text: str,
          handler: Any) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def register(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    """Add `mail` and its subcommands to the main command's subparsers."""
    common = common_parent
    mail = subparsers.add_parser("mail", help=_("e-mail mailings"),
                                 description=_("E-mail mailings: accounts, templates, sending."))
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="COMMAND")
    mail_sub.required = True
    _register_accounts(mail_sub, common)
    _register_templates(mail_sub, common)
    _register_mailings(mail_sub, common)


def _register_accounts(mail_sub: Any, common: argparse.ArgumentParser) -> None:
    account = mail_sub.add_parser("account", help=_("SMTP accounts"))
    account_sub = account.add_subparsers(dest="account_command", metavar="COMMAND")
    account_sub.required = True
    p = _leaf(account_sub, "add", common, _("add an SMTP account"), handle_account_add)
    p.add_argument("name")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=None,
                   help=_("default: 465 for ssl, 587 for starttls, 25 for none"))
    p.add_argument("--security", choices=list(accounts.SECURITY), default="starttls")
    p.add_argument("--from", dest="from_address", required=True, metavar="ADDR")
    p.add_argument("--from-name", default="", metavar="NAME")
    p.add_argument("--login", default="")
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("--password-env", metavar="VAR",
                        help=_("the environment variable that holds the password"))
    secret.add_argument("--password-prompt", action="store_true",
                        help=_("type the password; it is kept in the system keyring"))
    p = _leaf(account_sub, "list", common, _("list SMTP accounts"), handle_account_list)
    _add_json(p, common)
    p = _leaf(account_sub, "test", common, _("log in and send a test message to the sender"),
              handle_account_test)
    p.add_argument("name")
    p.add_argument("--to", metavar="ADDR", help=_("send the test here instead"))
    p = _leaf(account_sub, "remove", common, _("remove an SMTP account"), handle_account_remove)
    p.add_argument("name")


def _register_templates(mail_sub: Any, common: argparse.ArgumentParser) -> None:
    template = mail_sub.add_parser("template", help=_("message templates"))
    template_sub = template.add_subparsers(dest="template_command", metavar="COMMAND")
    template_sub.required = True
    p = _leaf(template_sub, "add", common, _("add a template (Jinja2: {{ contact.first_name }})"),
              handle_template_add)
    p.add_argument("name")
    p.add_argument("--subject", required=True)
    p.add_argument("--body-file", required=True, metavar="FILE", type=Path)
    p.add_argument("--html", action="store_true", help=_("the body is HTML"))
    p.add_argument("--attach", action="append", default=[], metavar="FILE",
                   help=_("attach a file, read now and kept with the template"
                          " (repeatable)"))
    p = _leaf(template_sub, "list", common, _("list templates"), handle_template_list)
    _add_json(p, common)
    p = _leaf(template_sub, "preview", common, _("show a template filled in for a recipient"),
              handle_template_preview)
    p.add_argument("name")
    p.add_argument("--to", type=int, metavar="ID", help=_("the recipient's record id"))
    p.add_argument("--section", choices=list(KINDS), default="contacts")
    p.add_argument("--account", default=None)
    _add_json(p, common)


def _register_mailings(mail_sub: Any, common: argparse.ArgumentParser) -> None:
    p = _leaf(mail_sub, "create", common, _("create a mailing; prints its id"), handle_create)
    p.add_argument("--template", required=True)
    p.add_argument("--account", required=True)
    p.add_argument("--section", choices=list(KINDS), default="contacts")
    chosen = p.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--query", metavar="TEXT", help=_("records found by this search"))
    chosen.add_argument("--group", metavar="GROUP")
    chosen.add_argument("--category", metavar="CATEGORY")
    chosen.add_argument("--all", action="store_true", help=_("every record you can see"))
    chosen.add_argument("--list", metavar="NAME", help=_("a saved list (see mail save-list)"))
    p.add_argument("--name", default="")
    p.add_argument("--rate", type=float, default=None, metavar="N",
                   help=_("messages per minute"))
    _add_json(p, common)

    p = _leaf(mail_sub, "list", common, _("list mailings with their progress"), handle_list)
    _add_json(p, common)

    p = _leaf(mail_sub, "save-list", common,
              _("save a recipient list (a search, group or category) under a name"),
              handle_save_list)
    p.add_argument("list_name", metavar="NAME")
    p.add_argument("--section", choices=list(KINDS), default="contacts")
    saved = p.add_mutually_exclusive_group(required=True)
    saved.add_argument("--query", metavar="TEXT")
    saved.add_argument("--group", metavar="GROUP")
    saved.add_argument("--category", metavar="CATEGORY")
    saved.add_argument("--all", action="store_true")

    for name, handler, help_text in (
            ("send", handle_send, _("send a mailing (a test to the sender first)")),
            ("resume", handle_resume, _("continue a mailing after a crash or a stop"))):
        p = _leaf(mail_sub, name, common, help_text, handler)
        p.add_argument("id", type=int)
        p.add_argument("--rate", type=float, default=None, metavar="N",
                       help=_("messages per minute"))
        p.add_argument("--no-wait", action="store_true",
                       help=_("leave temporary failures (4xx) for a later resume"))
        p.add_argument("--skip-problems", action="store_true",
                       help=_("send even if some recipients' messages cannot be filled in"))
        _add_json(p, common)

    p = _leaf(mail_sub, "status", common, _("counts per status"), handle_status)
    p.add_argument("id", type=int)
    p.add_argument("--list", dest="list_status", choices=list(STATUSES), default=None,
                   help=_("also list the recipients in this status"))
    _add_json(p, common)

    p = _leaf(mail_sub, "unknown", common,
              _("decide on messages whose delivery is unknown"), handle_unknown)
    p.add_argument("id", type=int)
    decision = p.add_mutually_exclusive_group(required=True)
    decision.add_argument("--resend", action="store_true", help=_("send them again"))
    decision.add_argument("--mark-sent", action="store_true", help=_("count them as sent"))
    p.add_argument("--recipient", type=int, action="append", default=None, metavar="ID",
                   help=_("only these recipients (repeatable)"))


# --- output ------------------------------------------------------------------------------------


def _json(data: Any) -> None:
    emit_json(data)


def _wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _err(text: str) -> None:
    say(text, err=True)


# --- accounts ----------------------------------------------------------------------------------


def handle_account_add(args: argparse.Namespace, actor: Actor) -> int:
    password = None
    if args.password_prompt:
        if not args.login:
            raise ValidationError({"login": _("A password needs a login")})
        password = getpass.getpass(_("Password for {login} at {host}: ").format(
            login=args.login, host=args.host))
    view = accounts.add_account(actor, args.name, host=args.host, port=args.port,
                               security=args.security, from_address=args.from_address,
                               from_name=args.from_name, login=args.login, password=password,
                               password_env=args.password_env)
    say(_("Account {name} added ({host}:{port}, {security}); password: {where}.").format(
        name=view.name, host=view.host, port=view.port, security=view.security,
        where=view.describe_password()))
    return 0


def handle_account_list(args: argparse.Namespace, actor: Actor) -> int:
    found = accounts.list_accounts(actor)
    if _wants_json(args):
        _json([a.to_dict() for a in found])
        return 0
    if not found:
        say(_("No mail accounts; add one with `tui-crm mail account add`."))
    for a in found:
        say(f"{a.name}\t{a.from_address}\t{a.host}:{a.port}\t{a.security}\t"
              f"{a.login or '-'}\t{a.describe_password()}")
    return 0


def handle_account_test(args: argparse.Namespace, actor: Actor) -> int:
    reply = accounts.test_account(actor, args.name, to=args.to)
    say(_("The test message was accepted: {reply}").format(reply=reply))
    return 0


def handle_account_remove(args: argparse.Namespace, actor: Actor) -> int:
    accounts.remove_account(actor, args.name)
    say(_("Account {name} removed.").format(name=args.name))
    return 0


# --- templates ---------------------------------------------------------------------------------


def handle_template_add(args: argparse.Namespace, actor: Actor) -> int:
    server_files.check(actor, args.body_file)
    try:
        body = args.body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError({"body_file": _("Cannot read {path}: {reason}").format(
            path=args.body_file, reason=getattr(exc, "strerror", None) or exc)}) from None
    view = templates.add_template(actor, args.name, subject=args.subject, body=body,
                                html=args.html, attachments=args.attach)
    say(_("Template {name} added (#{id}).").format(name=view.name, id=view.id))
    return 0


def handle_template_list(args: argparse.Namespace, actor: Actor) -> int:
    found = templates.list_templates(actor)
    if _wants_json(args):
        _json([t.to_dict() for t in found])
        return 0
    if not found:
        say(_("No templates; add one with `tui-crm mail template add`."))
    for t in found:
        kind = "html" if t.html else "text"
        files = ", ".join(a.label() for a in t.attachments if not a.problem)
        say(f"{t.id}\t{t.name}\t{kind}\t{t.subject}" + (f"\t{files}" if files else ""))
    for t in found:  # an attachment an upgrade could not keep: never silently dropped
        for problem in mail_files.problems(t.attachments):
            warn(_("template {name}: {problem}").format(name=t.name, problem=problem))
    return 0


def _first_with_email(actor: Actor, section: str) -> int:
    selection = recipients.select_recipients(actor, RecipientSource(section))
    if not selection.recipients:
        raise ValidationError({"to": _("Nobody in {section} has an e-mail; give --to ID")
                               .format(section=section)})
    return selection.recipients[0].record_id


def handle_template_preview(args: argparse.Namespace, actor: Actor) -> int:
    record_id = args.to if args.to is not None else _first_with_email(actor, args.section)
    shown = context.preview_template(actor, args.name, kind=args.section, record_id=record_id,
                                     account=args.account)
    if _wants_json(args):
        _json({"to_name": shown.to_name, "to": shown.to_address, "subject": shown.subject,
               "body": shown.body, "html": shown.html,
               "attachments": [a.to_dict() for a in shown.attachments]})
        return 0
    say(_("To: {name} <{address}>").format(name=shown.to_name, address=shown.to_address))
    say(_("Subject: {subject}").format(subject=shown.subject))
    for attachment in shown.attachments:
        say(_("Attachment: {path}").format(path=attachment.label()))
    for problem in mail_files.problems(shown.attachments):
        warn(problem)
    say()
    say(shown.body)
    return 0


# --- mailings ----------------------------------------------------------------------------------


def _source(args: argparse.Namespace) -> RecipientSource:
    """The recipients --query / --group / --category / --all choose."""
    return RecipientSource(args.section, text=args.query or "", group=args.group,
                           category=args.category)


def handle_save_list(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.mail import recipient_lists

    source = _source(args)
    recipient_lists.save(actor, args.list_name, source)
    count = len(recipients.select_recipients(actor, source).recipients)
    say(_("Saved list {name!r}: {source} ({count} recipients now)").format(
        name=args.list_name, source=source.describe(), count=count))
    return 0


def handle_create(args: argparse.Namespace, actor: Actor) -> int:
    if getattr(args, "list", None):
        from tui_crm.services.mail import recipient_lists

        source = recipient_lists.load(args.list)
    else:
        source = _source(args)
    selection = recipients.select_recipients(actor, source)  # its summary is printed below
    view = mailings.create_mailing(actor, template=args.template, account=args.account,
                                  source=source, name=args.name, rate_per_minute=args.rate,
                                  selection=selection)
    found = context.problems(actor, view.id)
    if _wants_json(args):
        data = view.to_dict()
        data.update(opted_out=selection.opted_out, without_email=selection.without_email,
                    duplicates=selection.duplicates,
                    problems=[{"recipient": p.recipient_id, "address": p.address,
                               "message": p.message} for p in found])
        _json(data)
        return 0
    say(view.id)
    _err(selection.summary())
    _print_problems(found)
    return 0


def _print_problems(found: list[context.RecipientProblem], limit: int = 20) -> None:
    if not found:
        return
    _err(_("{count} recipients' messages cannot be filled in:").format(count=len(found)))
    for p in found[:limit]:
        _err(f"  {p.name} <{p.address}>: {p.message}" if p.address else f"  {p.message}")
    if len(found) > limit:
        _err(_("  … and {count} more").format(count=len(found) - limit))


def handle_list(args: argparse.Namespace, actor: Actor) -> int:
    rows = mailings.list_mailings(actor)
    if _wants_json(args):
        _json([r.to_dict() for r in rows])
        return 0
    if not rows:
        say(_("No mailings yet."))
    for r in rows:
        say(f"{r.id}\t{r.name}\t{_(MAILING_STATUS_LABELS.get(r.status, r.status))}\t"
              f"{r.done}/{r.total}\t{mailings.counts_line(r.counts)}")
    return 0


class _Progress:
    """One updating line on a terminal; nothing when the output is not a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, p: runner.Progress) -> None:
        if self.tty:
            progress_line(_("{done} of {total}: {counts}").format(
                done=p.done, total=p.total, counts=mailings.counts_line(p.counts)))

    def end(self) -> None:
        if self.tty:
            say(err=True)


def _send(args: argparse.Namespace, actor: Actor, *, resume: bool) -> int:
    if not args.skip_problems:
        found = context.problems(actor, args.id)
        if found:
            _print_problems(found)
            _err(_("Nothing was sent. Fix the template or the records, or add "
                   "--skip-problems to send the rest."))
            return 2
    stop = threading.Event()

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():  # a second Ctrl-C: give up at once (resume knows what to do)
            raise KeyboardInterrupt
        stop.set()
        _err("\n" + _("Stopping after the current message (Ctrl-C again to quit now)…"))

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_interrupt)
    progress = _Progress()
    options = SendOptions(rate_per_minute=args.rate, wait_for_retries=not args.no_wait)
    try:
        call = runner.resume if resume else runner.send
        report = call(actor, args.id, options=options, progress=progress, stop=stop)
    finally:
        progress.end()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if _wants_json(args):
        _json(report.to_dict())
    else:
        if report.became_unknown:
            _err(_("{count} messages were interrupted while sending last time; they are "
                   "'unknown' (see `tui-crm mail unknown {id}`).").format(
                count=report.became_unknown, id=args.id))
        say(_("Mailing #{id}: {counts}").format(id=args.id,
                                                   counts=mailings.counts_line(report.counts)))
        if report.stopped or report.counts.get("pending"):
            say(_("Not finished; continue with `tui-crm mail resume {id}`.").format(
                id=args.id))
    return 0


def handle_send(args: argparse.Namespace, actor: Actor) -> int:
    return _send(args, actor, resume=False)


def handle_resume(args: argparse.Namespace, actor: Actor) -> int:
    return _send(args, actor, resume=True)


def handle_status(args: argparse.Namespace, actor: Actor) -> int:
    view = mailings.get_mailing(actor, args.id)
    listed = (mailings.list_recipients(actor, args.id, status=args.list_status, limit=100_000)
              if args.list_status else [])
    if _wants_json(args):
        data = view.to_dict()
        if args.list_status:
            data["recipients"] = [r.to_dict() for r in listed]
        _json(data)
        return 0
    say(_("Mailing #{id} {name}: {status}, {done} of {total} handled").format(
        id=view.id, name=view.name,
        status=_(MAILING_STATUS_LABELS.get(view.status, view.status)),
        done=view.done, total=view.total))
    for status in STATUSES:
        say(f"  {_(STATUS_LABELS[status])}\t{view.counts.get(status, 0)}")
    for r in listed:
        say(f"{r.id}\t{r.name}\t{r.address}\t{_(STATUS_LABELS[r.status])}\t"
              f"{r.attempts}\t{r.reply}")
    return 0


def handle_unknown(args: argparse.Namespace, actor: Actor) -> int:
    changed = runner.resolve_unknown(actor, args.id, args.recipient, resend=args.resend)
    if args.resend:
        say(_("{count} messages will be sent again by `tui-crm mail resume {id}`.").format(
            count=changed, id=args.id))
    else:
        say(_("{count} messages counted as sent.").format(count=changed))
    return 0

