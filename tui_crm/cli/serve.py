"""`tui-crm serve` (the browser door) and `tui-crm passwd` (its passwords)."""

from __future__ import annotations

import argparse
import sys

from tui_crm.cli.output import UsageError, say, warn
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core.rights import Actor
from tui_crm.web.address import port_number

LINK_HOURS = 24


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("serve", parents=[common],
                              help=_("the same UI in a browser, with a login per person"))
    p.add_argument("--host", default="127.0.0.1",
                   help=_("address to listen on (default 127.0.0.1: this computer only)"))
    p.add_argument("--port", type=port_number, default=8000,
                   help=_("port to listen on (0: any free port)"))
    p.add_argument("--public-url", metavar="URL",
                   help=_("the address people open, e.g. https://crm.example.com (a proxy "
                          "or tunnel in front)"))
    p.add_argument("--behind-proxy", action="store_true",
                   help=_("trust X-Forwarded-Host/-Proto/-For from a reverse proxy"))
    p.add_argument("--allow-plain-http", action="store_true",
                   help=_("listen on a network address without TLS (dangerous, see README)"))
    p.add_argument("--link", metavar="LOGIN",
                   help=_("print a one-time login link for this user"))
    p.add_argument("--session-hours", type=float, default=12.0,
                   help=_("a login lasts this long (default 12)"))
    p.set_defaults(handler=handle_serve)

    p = subparsers.add_parser("passwd", parents=[common],
                              help=_("set your password for the browser (an admin: anyone's)"))
    p.add_argument("login", nargs="?", metavar="USER",
                   help=_("whose password (default: yours)"))
    p.set_defaults(handler=handle_passwd)


def handle_serve(args: argparse.Namespace, actor: Actor) -> int:
    try:
        import textual_serve  # noqa: F401 - only to say how to install it
    except ImportError:
        raise ValidationError({"serve": _("Browser access needs textual-serve:"
                                          " pip install 'tui-crm[serve]'")}) from None
    from tui_crm.services.core import passwords
    from tui_crm.web import address
    from tui_crm.web.server import DoorServer, Settings

    if actor.on_behalf:
        # A web server started as the server's account would let anyone who reaches the
        # port act as this person.
        raise PermissionDenied(_("Working through the server's account you cannot start"
                                 " the browser UI."))
    if not address.is_loopback(args.host) and not args.allow_plain_http:
        raise UsageError(_(
            "--host {host} would let every computer on the network reach the login over "
            "plain HTTP, where anyone on the way can read passwords and take over sessions; "
            "keep 127.0.0.1 behind a TLS proxy or an SSH tunnel, or add --allow-plain-http "
            "to accept that.").format(host=args.host))
    if not 0.05 <= args.session_hours <= 24 * 30:
        raise UsageError(_("--session-hours must be between 0.05 and 720."))
    public = address.public_origin(args.public_url) if args.public_url else None
    only = None if actor.is_admin else actor.login
    link = None
    if args.link:
        if args.link != actor.login and not actor.is_admin:
            raise PermissionDenied(_("Only an admin may make a login link for another user."))
        if passwords.active_actor(args.link) is None:
            raise PermissionDenied(_("No active user {login}; see `tui-crm user list`.")
                                   .format(login=args.link))
    sock = address.listen(args.host, args.port)
    port = sock.getsockname()[1]
    url = public or address.url_of(args.host, port)

    def may_enter(login: str) -> bool:
        return passwords.active_actor(login) is not None and (only is None or login == only)

    server = DoorServer(
        Settings(target=args.db_target, door=address.Door(public, args.behind_proxy),
                 session_hours=args.session_hours, only_login=only),
        verify=lambda login, password: passwords.verify(login, password) is not None,
        record=passwords.record_login, may_enter=may_enter)
    if args.link:
        link = f"{url}/link/{server.sessions.add_link(args.link, LINK_HOURS * 3600)}"
    if not args.link and not passwords.anyone_has_password():
        warn(_("Nobody has a password yet: set one with `tui-crm passwd [USER]` or start "
               "with --link USER."))
    if only:
        warn(_("You are not an admin of this database: only you ({login}) can log in.")
             .format(login=only))

    def announce(shown: str) -> None:
        local = address.url_of(args.host, port)
        if shown == local:
            say(_("Serving tui-crm on {url} (Ctrl+C stops)").format(url=shown))
        else:
            say(_("Serving tui-crm on {url} through {local} (Ctrl+C stops)").format(
                url=shown, local=local))
        if link:
            say(_("One-time login link for {login} (valid {hours} h): {link}").format(
                login=args.link, hours=LINK_HOURS, link=link))
        sys.stdout.flush()

    server.run(sock, announce, url)
    return 0


def handle_passwd(args: argparse.Namespace, actor: Actor) -> int:
    from tui_crm.services.core import passwords

    login = args.login or actor.login
    if login != actor.login and not actor.is_admin:
        raise PermissionDenied(_("Only an admin may set another user's password."))
    first = _read_password(_("New password for {login}: ").format(login=login))
    if sys.stdin.isatty():
        passwords.check_new(first, login)  # said before asking for it again
        if _read_password(_("Again: ")) != first:
            raise ValidationError({"password": _("the two passwords differ; nothing changed")})
    passwords.set_password(actor, login, first)
    say(_("Password set for {login}.").format(login=login))
    return 0


def _read_password(prompt: str) -> str:
    """From the terminal without echo; from a pipe, its first line (scripts, tests)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")
