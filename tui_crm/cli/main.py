"""The command line: `tui-crm [--db PATH_OR_URL] [--user LOGIN] [--json] COMMAND ...`.

Without a command it opens the terminal UI. Every command works through the services (the
same rights and validation as the UI), prints plain aligned text or, with `--json`, JSON,
exits 0 on success and otherwise prints one line `tui-crm: <message>` on stderr with a
non-zero exit code — never a traceback (set TUI_CRM_DEBUG=1 to see one for a bug).

Services are imported inside the handlers so that a quick `tui-crm find` loads only what
it uses.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tui_crm import __version__
from tui_crm.cli import pinned as cli_pinned
from tui_crm.cli.output import PROG, UsageError, emit_json, fail, one_line, say, table, warn
from tui_crm.cli.records import (
    cmd_add,
    cmd_delete,
    cmd_duplicates,
    cmd_edit,
    cmd_fields,
    cmd_find,
    cmd_history,
    cmd_list,
    cmd_restore,
    cmd_show,
    find_in_file,
)
from tui_crm.cli.users import cmd_user_add, cmd_user_disable, cmd_user_list, cmd_user_set
from tui_crm.errors import CrmError, NotFound, PermissionDenied
from tui_crm.i18n import LANGUAGES, N_, _, detect_language, set_language
from tui_crm.process import tune_collector
from tui_crm.text.ids import LARGEST_ID, parse_id

DEMO_ORGS = 300  # the size of the database `tui-crm --demo` opens
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not the user's doing

COUNT_LABELS = {"users": N_("Users"), "organizations": N_("Organizations"),
                "contacts": N_("Contacts"), "contact_points": N_("Phones and e-mails"),
                "events": N_("Events"), "tasks": N_("Tasks"), "deals": N_("Deals"),
                "payments": N_("Payments"), "services": N_("Services rendered"),
                "notes": N_("Notes"), "links": N_("Links"), "tag_links": N_("Tags given")}

Handler = Callable[[argparse.Namespace, Any], int]




class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of usage text and exit,
    and reads `type=int` / `type=float` options within what the program can use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every parser and sub-parser of the program: `int` and `float` read as bounded.
        self.register("type", int, _whole_number)
        self.register("type", float, _finite_number)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(_("{problem} (see `{prog} --help`)").format(
            problem=message, prog=self.prog))


# argparse's own words ("usage:", "the following arguments are required") come from its
# module-level gettext `_`: pointed at ours, they follow the user's language like the rest.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"),
    N_("show this help message and exit"), N_("show program's version number and exit"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("argument %(argument_name)s: %(message)s"), N_("expected one argument"),
    N_("expected at most one argument"), N_("expected at least one argument"),
    N_("expected %s argument"), N_("expected %s arguments"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"), N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"), N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"), N_("%(prog)s: error: %(message)s\n"),
)


def _argparse_speaks_our_language() -> None:
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = lambda one, many, n: _(one if n == 1 else many)  # type: ignore[attr-defined]


# --- the parser -------------------------------------------------------------------------------


def _add_global_options(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """--db, --user, --json, --lang. On a subcommand they default to "not given", so that
    `tui-crm --json list orgs` and `tui-crm list orgs --json` both work."""
    unset = argparse.SUPPRESS if on_command else None
    parser.add_argument("--db", metavar="PATH_OR_URL", default=unset,
                        help=_("database file or URL (env TUI_CRM_DB; default: a file in "
                               "your data folder)"))
    parser.add_argument("--user", metavar="LOGIN", default=unset,
                        help=_("act as this user (admins only; default: your OS account)"))
    parser.add_argument("--json", action="store_true",
                        default=argparse.SUPPRESS if on_command else False,
                        help=_("print JSON instead of text"))
    parser.add_argument("--lang", choices=LANGUAGES, default=unset,
                        help=_("language of messages (default: your preference or locale)"))


def _record_id(text: str) -> int:
    value = parse_id(text)
    if value is None:
        raise argparse.ArgumentTypeError(_("not a record id: {text!r}").format(text=text))
    return value


LARGEST_COUNT = 2**31 - 1  # rows to skip or show, days, items: far beyond any base


def _whole_number(text: str, *, low: int = -LARGEST_ID, high: int = LARGEST_ID) -> int:
    """An integer option, refused (one line) beyond what a database column can hold: the
    driver would fail with an overflow otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("not a whole number: {text!r}").format(text=text)) from None
    if value < low:
        raise argparse.ArgumentTypeError(_("must not be negative: {text!r}").format(text=text)
                                         if low == 0 else _("too small: {text!r}").format(
                                             text=text))
    if value > high:
        raise argparse.ArgumentTypeError(_("too large: {text!r} (at most {n})").format(
            text=text, n=high))
    return value


def _finite_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a number: {text!r}").format(text=text)) from None
    if not math.isfinite(value) or abs(value) > 1e12:
        raise argparse.ArgumentTypeError(_("not a usable number: {text!r}").format(text=text))
    return value


def _positive(text: str) -> int:
    """A count (rows, items, days): 0 … LARGEST_COUNT."""
    return _whole_number(text, low=0, high=LARGEST_COUNT)


def build_parser(word: str | None = None, *, opens_ui: bool = False) -> argparse.ArgumentParser:
    """The whole parser; the other modules' commands are loaded only when `command` is not
    one of the core ones (they import heavy services, and `tui-crm find` should start fast).
    `word` is the command as typed (see `_command_word`); `opens_ui`: no command and no
    --help, so the UI opens and needs none of them (~90 ms of imports at start-up).
    """
    _argparse_speaks_our_language()
    parser = _Parser(prog=PROG, description=_(
        "A keyboard-driven CRM in the terminal. Without a command, opens the UI."))
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help=_("show program's version number and exit"))
    parser.add_argument("--demo", action="store_true",
                        help=_("use the demo database (generated on first use)"))
    parser.add_argument("--section", metavar="KEY",
                        help=_("open the UI at this section (today, organizations, …)"))
    parser.add_argument(cli_pinned.SSH_COMMAND, action="store_true",
                        help=_("in a forced SSH command: run the client's command "
                               "(SSH_ORIGINAL_COMMAND) as the pinned --user, or the UI"))
    _add_global_options(parser, on_command=False)
    common = _Parser(add_help=False)
    _add_global_options(common, on_command=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str, handler: Handler, **kwargs: Any) -> _Parser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                           **kwargs)
        p.set_defaults(handler=handler)
        return p

    _record_commands(command)
    _user_commands(command, common)

    if word not in sub.choices and not opens_ui:
        _register_other_commands(sub, common)
    return parser



_Command = Callable[..., "_Parser"]


def _record_commands(command: _Command) -> None:
    """init, demo and the commands on records: add, show, list, edit, delete, restore,
    find, duplicates, fields, history."""
    command("init", _("create or upgrade the database and register you"), cmd_init)

    p = command("demo", _("fill the database with generated demo data"), cmd_demo)
    p.add_argument("--orgs", type=_positive, default=DEMO_ORGS, metavar="N",
                   help=_("organizations (default {n})").format(n=DEMO_ORGS))
    p.add_argument("--contacts", type=_positive, metavar="N",
                   help=_("contact persons (default: 2 per organization)"))
    p.add_argument("--events", type=_positive, metavar="N",
                   help=_("calls, meetings and other events (default: 10 per organization, "
                          "fewer for very large demos)"))
    p.add_argument("--payments", type=_positive, metavar="N",
                   help=_("payments (default: 1 per organization)"))
    p.add_argument("--months", type=_positive, default=12, metavar="N",
                   help=_("months of history (default 12)"))
    p.add_argument("--seed", type=int, default=1, metavar="S",
                   help=_("random seed: the same seed gives the same data"))

    p = command("add", _("add a record: add SECTION FIELD=VALUE ..."), cmd_add)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("values", nargs="*", metavar="FIELD=VALUE",
                   help=_("field values; phone=, email=, messenger=, tag= may be repeated; "
                          "phone:work=… sets the type"))

    p = command("show", _("show one record"), cmd_show)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("id", type=_record_id, metavar="ID")

    p = command("list", _("list records"), cmd_list)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("--query", "-q", default="", metavar="TEXT", help=_("quick-search text"))
    p.add_argument("--filter", "-f", action="append", default=[], metavar="FIELD=VALUE",
                   help=_("only records with this value (repeatable)"))
    p.add_argument("--sort", default="", metavar="FIELD", help=_("sort by this field"))
    p.add_argument("--desc", action="store_true", help=_("sort in descending order"))
    p.add_argument("--limit", type=_positive, default=50, metavar="N",
                   help=_("at most N rows (default 50, at most 1000)"))
    p.add_argument("--offset", type=_positive, default=0, metavar="N",
                   help=_("skip the first N rows"))
    p.add_argument("--trash", action="store_true", help=_("list the trash instead"))

    p = command("edit", _("change fields of a record: edit SECTION ID FIELD=VALUE ..."),
                cmd_edit)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("id", type=_record_id, metavar="ID")
    p.add_argument("values", nargs="+", metavar="FIELD=VALUE",
                   help=_("new values; phone=/email=/tag= replace the whole list"))
    p.add_argument("--version", dest="expected_version", type=int, metavar="N",
                   help=_("refuse if the record is no longer at this version"))

    p = command("delete", _("move a record to the trash"), cmd_delete)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("id", type=_record_id, metavar="ID")

    p = command("restore", _("bring a record back from the trash: restore SECTION ID "
                             "(restore FILE restores a backup)"), cmd_restore)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("id", type=_record_id, metavar="ID", nargs="?")
    p.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))

    p = command("find", _("quick search across sections"), cmd_find)
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--section", "-s", action="append", default=[], metavar="SECTION",
                   help=_("only this section (repeatable)"))
    p.add_argument("--limit", type=_positive, default=30, metavar="N",
                   help=_("at most N hits (default 30)"))

    p = command("duplicates", _("possible duplicates of an organization or contact"),
                cmd_duplicates)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("values", nargs="+", metavar="FIELD=VALUE")

    p = command("fields", _("the fields of a section (built-in and custom)"), cmd_fields)
    p.add_argument("section", metavar="SECTION")

    p = command("history", _("who changed a record, and what"), cmd_history)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("id", type=_record_id, metavar="ID")
    p.add_argument("--limit", type=_positive, default=200, metavar="N")


def _user_commands(command: _Command, common: _Parser) -> None:
    """user add|list|set|disable."""
    p = command("user", _("manage users: user add|list|set|disable"), cmd_usage)
    users_sub = p.add_subparsers(dest="user_command", metavar="ACTION", parser_class=_Parser)
    up = users_sub.add_parser("add", parents=[common], help=_("add a user"))
    up.add_argument("login", metavar="LOGIN")
    up.add_argument("--role", default="manager", help=_("admin, head, manager or viewer"))
    up.add_argument("--name", default="", help=_("full name"))
    up.add_argument("--email", default="", help=_("e-mail address"))
    up.set_defaults(handler=cmd_user_add)
    up = users_sub.add_parser("list", parents=[common], help=_("list users"))
    up.set_defaults(handler=cmd_user_list)
    up = users_sub.add_parser("set", parents=[common],
                              help=_("change a user: role=, visibility=, full_name=, email=, "
                                     "active=, can_<action>[.<section>]="))
    up.add_argument("login", metavar="LOGIN")
    up.add_argument("values", nargs="+", metavar="KEY=VALUE")
    up.set_defaults(handler=cmd_user_set)
    up = users_sub.add_parser("disable", parents=[common], help=_("disable a user"))
    up.add_argument("login", metavar="LOGIN")
    up.set_defaults(handler=cmd_user_disable)


class _SkipTaken:
    """Lets another module register its commands without replacing ones defined here."""

    def __init__(self, sub: argparse._SubParsersAction) -> None:
        self._sub = sub

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name in self._sub.choices:
            return _Parser(prog=f"{PROG} {name}", add_help=False)  # not attached
        kwargs.setdefault("description", kwargs.get("help"))
        for key in ("help", "description"):
            if isinstance(kwargs.get(key), str):
                # argparse %-formats these; a literal "20 %" must not break `--help`.
                kwargs[key] = re.sub(r"%(?![(%])", "%%", kwargs[key])
        return self._sub.add_parser(name, **kwargs)


# Modules with `register(subparsers, common)` whose commands live with their capability
# (daily planning and backup, import/export, reports, mailings); handlers take (args, actor).
COMMAND_MODULES = ("tui_crm.cli.planning", "tui_crm.cli.transfer", "tui_crm.cli.reports",
                   "tui_crm.cli.mail", "tui_crm.cli.serve")


def _register_other_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                             ) -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a capability not installed in this build
            continue
        module.register(_SkipTaken(sub), common)


def _command_word(argv: Sequence[str]) -> str | None:
    """The command in the raw arguments: the first word that is not an option."""
    takes_value = {"--db", "--user", "--lang", "--section"}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _language_from(argv: Sequence[str]) -> str | None:
    """--lang from the raw arguments, before parsing (the help text needs it)."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


# --- running ----------------------------------------------------------------------------------


class _Session:
    """The database of one command; closed when the command ends."""

    def __init__(self, *, as_program: bool = False) -> None:
        self.target: str | None = None
        self.db: Any = None
        self.as_program = as_program

    def open(self, target: str) -> Any:
        self.lean_drivers(target)
        from tui_crm.db import open_database

        self.target = target
        self.db = open_database(target)
        return self.db

    def lean_drivers(self, target: str) -> None:
        """peewee imports every database driver it knows on import (psycopg2 with ssl: ~12 ms
        of each command's start). A process of its own on a SQLite file never needs them;
        in-process callers (tests) may open PostgreSQL later, so only the program skips."""
        if self.as_program and "://" not in str(target) and "peewee" not in sys.modules:
            for name in ("psycopg2", "psycopg2cffi", "psycopg", "pymysql", "MySQLdb",
                         "pysqlite3"):
                # None makes `import name` fail at once (a documented use typeshed omits)
                sys.modules.setdefault(name, None)  # type: ignore[arg-type]

    def close(self) -> None:
        if self.db is not None and not self.db.is_closed():
            self.db.close()
        self.db = None


def _hang_up(signum: int, _frame: object) -> None:
    """A dropped SSH connection (SIGHUP) or a kill (SIGTERM): leave at once. An unfinished
    transaction is rolled back by the database (SQLite's journal, PostgreSQL's server)."""
    os._exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    # Only as the program itself (not when a test calls main with arguments).
    as_program = argv is None and threading.current_thread() is threading.main_thread()
    argv = list(sys.argv[1:] if argv is None else argv)
    if as_program:
        import signal

        for name in ("SIGHUP", "SIGTERM"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), _hang_up)
        _route_log_warnings()
        tune_collector()
    session = _Session(as_program=as_program)
    try:
        return _run(argv, session)
    except KeyboardInterrupt:
        return 130
    except CrmError as exc:
        fail(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`tui-crm list … | head`): stop quietly, and point stdout
        # at /dev/null so that the flush at exit does not complain either.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 0
    except OSError as exc:
        # A file or folder this account may not use (an export's folder, the database's
        # folder): the system's reason, in one line.
        where = exc.filename or session.target or ""
        fail(_("Cannot use {path}: {reason}").format(path=where, reason=exc.strerror or exc)
              if where else str(exc.strerror or exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        problem = _database_problem(exc, session.target)
        if problem is not None:
            fail(str(problem))
            return problem.exit_code
        if os.environ.get("TUI_CRM_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        fail(_("internal error: {error}").format(error=one_line(
            f"{type(exc).__name__}: {exc}")))
        return EXIT_INTERNAL
    finally:
        try:
            session.close()
        except Exception:  # noqa: BLE001 - closing must not hide the real outcome
            pass


def _route_log_warnings() -> None:
    """A service's logged warning (nobody configures logging) is printed like every other
    line: through `say`, with any user data in it escaped."""
    import logging

    class _Say(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warn(self.format(record))

    logging.lastResort = _Say(logging.WARNING)


def _database_problem(exc: Exception, target: str | None) -> CrmError | None:
    """A driver error (peewee, sqlite3, psycopg2) as the database layer's one-line message."""
    import sqlite3

    from peewee import PeeweeException

    if isinstance(exc, PeeweeException | sqlite3.Error) or type(exc).__module__.startswith(
            "psycopg2"):
        from tui_crm.db.database import translate_error

        return translate_error(exc, target)
    return None


def _check_text(argv: Sequence[str]) -> None:
    """Refuse an argument that is not text: bytes in another encoding (a terminal set to
    Windows-1251) reach Python as lone surrogates, which no database or file can take."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            try:
                shown = repr(arg.encode("utf-8", "surrogateescape"))[1:]
            except UnicodeEncodeError:
                shown = ascii(arg)
            raise UsageError(_("The argument {arg} is not UTF-8 text; set your terminal "
                               "(e.g. PuTTY: Window > Translation) to UTF-8.").format(
                arg=shown)) from None


def _choose_early_language(argv: list[str]) -> None:
    early = _language_from(argv) or os.environ.get("TUI_CRM_LANG") or ""
    set_language(early if early in LANGUAGES else detect_language())


def _run(argv: list[str], session: _Session) -> int:
    _choose_early_language(argv)
    _check_text(argv)
    forced = cli_pinned.expand(argv)
    from tui_crm.services.core.identity import current_invocation

    through_server = forced is not argv or current_invocation().through_sudo
    if forced is not argv:
        argv = forced
        _choose_early_language(argv)  # the client's command may say --lang
    word = _command_word(argv)
    parser = build_parser(word, opens_ui=word is None and not {"-h", "--help"} & set(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    _prefer_utf8_output()
    if args.command is None:
        return _open_ui(args, session)
    if args.command == "user" and getattr(args, "user_command", None) is None:
        raise UsageError(_("user needs an action: add, list, set or disable (see `{prog} user "
                           "--help`)").format(prog=PROG))
    handler = getattr(args, "handler", None)
    if handler is None:
        raise UsageError(_("{command} needs more arguments (see `{prog} {command} --help`)")
                         .format(command=args.command, prog=PROG))
    _refuse_database_choice_under_sudo(args)
    target = _ensure_demo(session) if args.demo else _database_target(args)
    if handler is cmd_find and find_in_file(args, target):
        return 0
    if handler is cmd_demo:
        session.open(target)
        return cmd_demo(args, None)
    session.open(target)
    from tui_crm.db.database import is_url
    from tui_crm.services.core import shared_files, users

    actor = users.resolve_actor(args.user)
    if not is_url(target):
        # The folder must be closed to others when a person works through the server's
        # account (sudo, a forced command); an admin's own --user is no such session.
        for problem in shared_files.problems(
                target, service_account=actor.on_behalf and through_server):
            warn(problem)
    args.db_target = target  # as given (a URL stays a URL), for commands that pass it on
    if not args.lang and not os.environ.get("TUI_CRM_LANG"):
        from tui_crm.services.core import settings

        preferred = settings.user_preference(actor, "language")
        if preferred in LANGUAGES:
            set_language(preferred)
    return int(handler(args, actor) or 0)


def _prefer_utf8_output() -> None:
    """Never fail on a Cyrillic name because the terminal's encoding is ASCII."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
        if encoding and encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _refuse_database_choice_under_sudo(args: argparse.Namespace) -> None:
    from tui_crm.services.core.identity import current_invocation

    cli_pinned.refuse_choice_under_sudo(bool(args.db), bool(args.demo),
                                        current_invocation().through_sudo)


def _database_target(args: argparse.Namespace) -> str:
    if args.db:
        return args.db
    env = os.environ.get("TUI_CRM_DB")
    if env:
        return env
    from tui_crm import paths

    path = paths.default_database_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from tui_crm.errors import DatabaseProblem

        raise DatabaseProblem(_("Cannot create the folder {folder}: {reason}").format(
            folder=path.parent, reason=exc.strerror or exc)) from None
    return str(path)


def _ensure_demo(session: _Session) -> str:
    """The demo database, generated once (into a temporary file, renamed when complete)."""
    from tui_crm import paths

    path = paths.demo_database_path()
    if path.exists():
        return str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    from tui_crm.services.ops import demo

    say(_("Generating the demo database {path} …").format(path=path), err=True)
    session.open(str(partial))
    demo.generate(orgs=DEMO_ORGS, contacts=2 * DEMO_ORGS, events=_default_events(DEMO_ORGS))
    session.close()
    os.replace(partial, path)
    return str(path)


def _open_ui(args: argparse.Namespace, session: _Session) -> int:
    from tui_crm.services.core.section_list import SECTIONS

    if args.section and args.section not in SECTIONS:
        # Said before anything opens: the UI would quietly show its first section instead.
        raise NotFound(_("Unknown section {name!r}; known: {known}").format(
            name=args.section, known=", ".join(SECTIONS)))
    _refuse_database_choice_under_sudo(args)
    target = _ensure_demo(session) if args.demo else _database_target(args)
    session.lean_drivers(target)
    try:
        from tui_crm.ui.app import run_app
    except ImportError as exc:
        fail(_("The terminal UI is not available: {reason}").format(reason=exc))
        return 1
    return int(run_app(target, user=args.user, language=args.lang,
                       section=getattr(args, "section", None)) or 0)


# --- commands ---------------------------------------------------------------------------------


def cmd_usage(args: argparse.Namespace, actor: Any) -> int:
    raise UsageError(_("user needs an action: add, list, set or disable (see `{prog} user "
                       "--help`)").format(prog=PROG))


def cmd_init(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.db.database import current, describe
    from tui_crm.db.migrations import stored_version

    db = current()
    version = stored_version(db)
    where = describe(str(db.database))
    if args.json:
        emit_json({"database": where, "schema_version": version, "user": actor.login,
                    "role": actor.role})
    else:
        say(_("The database {path} is ready (schema version {version}); you are {login} "
                "({role}).").format(path=where, version=version, login=actor.login,
                                    role=actor.role))
    return 0


def _default_events(orgs: int) -> int:
    """Ten events per organization for a small base; a big base gets about what a sales
    team logs in a year (100k organizations: 150k events), which also keeps the
    generation well under a minute."""
    return min(10 * orgs, 100_000 + orgs // 2)


def cmd_demo(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.db import models as m
    from tui_crm.services.core import users
    from tui_crm.services.ops import demo

    if m.User.select().exists():
        # Someone's database: only its admin may pour generated data into it.
        actor = users.resolve_actor(args.user)
        if not actor.is_admin:
            raise PermissionDenied(_("Only an admin can add demo data to this database."))
    orgs = args.orgs
    contacts = 2 * orgs if args.contacts is None else args.contacts
    events = _default_events(orgs) if args.events is None else args.events
    started = time.perf_counter()
    counts = demo.generate(orgs=orgs, contacts=contacts, events=events, seed=args.seed,
                           payments=args.payments, months=max(1, args.months))
    seconds = round(time.perf_counter() - started, 2)
    if args.json:
        emit_json({"counts": counts, "seconds": seconds})
        return 0
    rows = [(_(COUNT_LABELS.get(key, key)), f"{value:,}".replace(",", " "))
            for key, value in counts.items()]
    say(table([_("Added"), _("Rows")], rows, right=(1,)))
    say(_("Generated in {seconds} s.").format(seconds=seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
