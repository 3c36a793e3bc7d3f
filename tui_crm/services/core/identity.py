"""Who is at the keyboard: the OS account of the process's real uid and, under sudo, the
account that ran sudo. Never LOGNAME, USER or SUDO_USER: a person sets those at will.

SUDO_UID is an environment variable too, so it is believed only where a person cannot have
set it: in a process running as a tui-crm admin's account (the service account), which
only that account, root or sudo can start — and sudo writes SUDO_UID itself. The database
part of that rule (is the process's account an admin?) is `acting_login`'s second
argument, decided by `users.resolve_actor`; this module never opens the database, so that
`find`'s fast path can use it too.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Invocation:
    """How this process was started."""

    login: str  # the account the process runs as (its real uid)
    sudo_login: str | None = None  # who ran `sudo -u <login>`: another account, not root

    @property
    def through_sudo(self) -> bool:
        return self.sudo_login is not None


def login_of(uid: int) -> str:
    """The account name of `uid`; its number when the system has no name for it."""
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def os_login() -> str:
    """The OS account running this process, from its real uid."""
    return login_of(os.getuid())


def current_invocation(environ: Mapping[str, str] | None = None,
                       uid: int | None = None) -> Invocation:
    """This process's invocation. SUDO_UID counts only when it names another account than
    the process's own, and not root: root may be anyone, so `sudo -u crm` run by root
    acts as crm itself (that is how the service account's database is created)."""
    env = os.environ if environ is None else environ
    real = os.getuid() if uid is None else uid
    raw = env.get("SUDO_UID", "").strip()
    sudo = None
    if raw.isascii() and raw.isdigit() and int(raw) not in (real, 0):
        sudo = login_of(int(raw))
    return Invocation(login_of(real), sudo)


def acting_login(invocation: Invocation, process_is_admin: bool) -> str | None:
    """The login that acts, before `--user`: the process's own account, or under sudo the
    account that ran sudo — but only when the process's account is an active admin of the
    database (the service account); otherwise None: refused, never the service account's
    own rights handed to whoever ran sudo."""
    if not invocation.through_sudo:
        return invocation.login
    return invocation.sudo_login if process_is_admin else None
