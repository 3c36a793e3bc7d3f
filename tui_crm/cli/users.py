"""Commands on users: user add, list, set, disable."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from tui_crm.cli.output import UsageError, emit_json, say, table
from tui_crm.i18n import N_, _


def _user_rows(views: Iterable[Any]) -> list[tuple]:
    from tui_crm.services.core.rights import ROLES, VISIBILITIES

    return [(u.login, u.full_name, _(ROLES.get(u.role, u.role)),
             _(VISIBILITIES.get(u.visibility, u.visibility)),
             _("yes") if u.active else _("no"), u.email) for u in views]


_USER_HEADERS = (N_("Login"), N_("Name"), N_("Role"), N_("Sees"), N_("Active"), N_("E-mail"))


def _print_users(args: argparse.Namespace, views: list[Any], *, many: bool = False) -> int:
    if args.json:
        emit_json([u.to_dict() for u in views] if many else views[0].to_dict())
    else:
        say(table([_(h) for h in _USER_HEADERS], _user_rows(views)))
    return 0


def cmd_user_add(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import users

    view = users.add_user(actor, args.login, role=args.role, full_name=args.name,
                          email=args.email)
    return _print_users(args, [view])


def cmd_user_list(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import users

    return _print_users(args, users.list_users(actor), many=True)


def cmd_user_set(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import users

    settings: dict[str, str] = {}
    for item in args.values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(_("Expected KEY=VALUE, got {text!r}").format(text=item))
        settings[key.strip()] = value.strip()
    return _print_users(args, [users.set_user(actor, args.login, settings)])


def cmd_user_disable(args: argparse.Namespace, actor: Any) -> int:
    from tui_crm.services.core import users

    return _print_users(args, [users.set_user(actor, args.login, {"active": "no"})])

