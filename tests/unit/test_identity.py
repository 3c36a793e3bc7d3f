"""Who is acting: the process's real uid, never LOGNAME/USER/SUDO_USER; SUDO_UID only for a
process running as the service account (a tui-crm admin); `--user` only for an admin.

The rules about a process are checked on real `python -m tui_crm` processes with the
variables set; the decisions themselves on the pure functions and through
`users.resolve_actor(invocation=…)`, the seam for another identity without another uid.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_crm.db import models as m
from tui_crm.errors import NotFound, PermissionDenied
from tui_crm.services.core import records, users
from tui_crm.services.core.identity import (
    Invocation,
    acting_login,
    current_invocation,
    login_of,
    os_login,
)
from tui_crm.services.core.rights import Actor

LOGIN_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME", "SUDO_USER")


def unused_uid() -> int:
    """A uid with no account: its login is its number (no OS user needs creating)."""
    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def tui(target: str | None, *args: str, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """`python -m tui_crm [--db TARGET] ARGS` as a process of its own."""
    full = {k: v for k, v in os.environ.items() if k not in ("TUI_CRM_DB", "SUDO_UID")}
    full.update(TUI_CRM_LANG="en", **(env or {}))
    argv = [sys.executable, "-m", "tui_crm", *(["--db", target] if target else []), *args]
    return subprocess.run(argv, env=full, capture_output=True, text=True, timeout=120,
                          check=False)


# --- the pure rules -------------------------------------------------------------------------


@given(st.dictionaries(st.sampled_from(LOGIN_VARIABLES + ("HOME", "SUDO_GID")), st.text()),
       st.sampled_from([0, os.getuid(), unused_uid()]))
def test_login_variables_never_name_the_account(environ: dict[str, str], uid: int) -> None:
    assert current_invocation(environ, uid) == Invocation(login_of(uid), None)


@given(st.text(), st.sampled_from([0, os.getuid(), unused_uid()]))
def test_sudo_uid_names_another_account_or_nobody(raw: str, uid: int) -> None:
    invocation = current_invocation({"SUDO_UID": raw, "SUDO_USER": "anna"}, uid)
    assert invocation.login == login_of(uid)
    number = raw.strip()
    if number.isascii() and number.isdigit() and int(number) not in (uid, 0):
        assert invocation.sudo_login == login_of(int(number))
    else:  # not a number, the process's own account, or root (who may be anyone)
        assert invocation.sudo_login is None


def test_an_account_without_a_name_is_its_number() -> None:
    uid = unused_uid()
    assert login_of(uid) == str(uid)
    assert login_of(0) == "root"
    assert os_login() == pwd.getpwuid(os.getuid()).pw_name


@given(st.text(min_size=1), st.none() | st.text(min_size=1), st.booleans())
def test_sudo_is_believed_only_for_an_admin_account(login: str, sudo: str | None,
                                                     admin: bool) -> None:
    chosen = acting_login(Invocation(login, sudo), admin)
    if sudo is None:
        assert chosen == login
    else:
        assert chosen == (sudo if admin else None)


# --- the rules on a database ----------------------------------------------------------------


def via_sudo(login: str) -> Invocation:
    return Invocation("crm", login)


def test_sudo_acts_for_the_invoker_only_where_the_service_account_is_admin(db) -> None:
    # An empty database is not registered to anyone through sudo.
    with pytest.raises(PermissionDenied) as err:
        users.resolve_actor(invocation=via_sudo("boris"))
    assert "a new database is created by crm itself" in str(err.value)
    assert m.User.select().count() == 0
    service = users.resolve_actor(invocation=Invocation("crm"))
    assert service.is_admin and not service.on_behalf
    users.add_user(service, "anna", role="admin")
    users.add_user(service, "boris", role="manager")

    boris = users.resolve_actor(invocation=via_sudo("boris"))
    assert (boris.login, boris.role, boris.on_behalf) == ("boris", "manager", True)
    for other in ("anna", "crm"):  # not even the service account's own rights
        with pytest.raises(PermissionDenied) as err:
            users.resolve_actor(other, invocation=via_sudo("boris"))
        assert str(err.value) == "Only an admin may act as another user (--user)."
    assert users.resolve_actor("boris", invocation=via_sudo("anna")).login == "boris"
    with pytest.raises(PermissionDenied) as err:
        users.resolve_actor(invocation=via_sudo("stranger"))
    assert "No tui-crm user for the OS account stranger" in str(err.value)
    # A forced command's --user: the service account acting for boris.
    forced = users.resolve_actor("boris", invocation=Invocation("crm"))
    assert (forced.login, forced.on_behalf) == ("boris", True)
    # The service account demoted: sudo is no longer believed, for anyone.
    users.set_user(service, "crm", {"role": "manager"})
    with pytest.raises(PermissionDenied):
        users.resolve_actor(invocation=via_sudo("anna"))
    with pytest.raises(NotFound):
        users.resolve_actor("nobody", invocation=Invocation("anna"))


# --- the rules on real processes ------------------------------------------------------------


def test_login_variables_do_not_make_a_manager_admin(db, db_target: str) -> None:
    admin = users.resolve_actor(invocation=Invocation("anna"))  # the first user: admin
    me = os_login()
    users.add_user(admin, me, role="manager")
    fake = dict.fromkeys(LOGIN_VARIABLES, "anna")

    done = tui(db_target, "user", "set", me, "role=admin", env=fake)
    assert done.returncode == 5, done.stderr
    assert done.stderr.strip() == "tui-crm: Only an admin can manage users."
    done = tui(db_target, "--user", "anna", "user", "list", env=fake)
    assert done.returncode == 5
    assert "Only an admin may act as another user" in done.stderr
    done = tui(db_target, "init", "--json", env=fake)
    assert (json.loads(done.stdout)["user"], json.loads(done.stdout)["role"]) == (me, "manager")
    assert m.User.get(m.User.login == me).role == "manager"


def test_under_sudo_the_invoker_acts_with_their_own_rights(db, db_target: str,
                                                           actor: Actor) -> None:
    # The process's account (`actor`, the database's first user) plays the service account.
    uid = unused_uid()
    person = login_of(uid)
    users.add_user(actor, person, role="manager")
    users.add_user(actor, "anna", role="manager")
    records.create(users.actor_for("anna"), "organizations", {"name": "Zebra of Anna",
                                                                 "status": "client"})
    sudo = {"SUDO_UID": str(uid), "SUDO_USER": "anna", "TUI_CRM_DB": db_target}

    done = tui(None, "init", "--json", env=sudo)
    assert (json.loads(done.stdout)["user"], json.loads(done.stdout)["role"]) == (
        person, "manager"), done.stderr
    done = tui(None, "--user", "anna", "list", "organizations", env=sudo)
    assert done.returncode == 5 and "Only an admin may act as another user" in done.stderr
    done = tui(None, "user", "set", person, "role=admin", env=sudo)
    assert done.returncode == 5 and "Only an admin can manage users" in done.stderr
    # find's fast path reads the file as the process's account: not for a person via sudo.
    done = tui(None, "find", "zebra", "--json", env=sudo)
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stderr
    # The wrapper chooses the database, not the person.
    done = tui(db_target, "list", "organizations", env=sudo)
    assert done.returncode == 5 and "--db and --demo are not yours" in done.stderr
    done = tui(None, "--demo", "list", "organizations", env=sudo)
    assert done.returncode == 5 and "--db and --demo are not yours" in done.stderr
    assert m.User.get(m.User.login == person).role == "manager"
    # Root's sudo is root's own: the service account itself acts (its `init`, backups).
    done = tui(None, "init", "--json", env={"SUDO_UID": "0", "TUI_CRM_DB": db_target})
    assert json.loads(done.stdout)["user"] == actor.login
    assert json.loads(tui(None, "find", "zebra", "--json",
                          env={"TUI_CRM_DB": db_target}).stdout)[0]["title"] == "Zebra of Anna"
