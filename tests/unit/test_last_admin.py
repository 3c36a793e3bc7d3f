"""The base always keeps an active admin: the last one can be neither demoted nor disabled
— by the service, `tui-crm user set|disable` or the Users screen — and two admins demoting
each other at once leave one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tui_crm.cli.main import main
from tui_crm.db import models as m
from tui_crm.errors import ValidationError
from tui_crm.services.core import identity, users


def _active_admins() -> list[str]:
    return sorted(u.login for u in m.User.select().where(
        (m.User.role == "admin") & (m.User.active == True)))  # noqa: E712


@pytest.mark.parametrize("change", [{"role": "head"}, {"role": "manager"},
                                    {"active": "no"}, {"role": "viewer", "active": "no"}])
def test_the_last_admin_cannot_demote_or_disable_themself(actor, change) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="last active admin"):
        users.set_user(actor, actor.login, change)
    assert _active_admins() == [actor.login]


def test_the_last_admin_cannot_be_demoted_by_a_second_admin_going_first(actor) -> None:  # noqa: ANN001
    users.add_user(actor, "olga", role="admin")
    olga = users.actor_for("olga")
    users.set_user(olga, actor.login, {"role": "manager"})  # two admins: one may go
    with pytest.raises(ValidationError, match="olga is the last active admin"):
        users.set_user(olga, "olga", {"role": "head"})
    assert _active_admins() == ["olga"]


def test_a_disabled_admin_does_not_count(actor) -> None:  # noqa: ANN001
    users.add_user(actor, "olga", role="admin")
    users.set_user(actor, "olga", {"active": "no"})
    with pytest.raises(ValidationError, match="last active admin"):
        users.set_user(actor, actor.login, {"role": "head"})
    users.set_user(actor, "olga", {"active": "yes"})
    assert users.set_user(actor, actor.login, {"role": "head"}).role == "head"
    assert _active_admins() == ["olga"]


def test_nobody_disables_themself(actor) -> None:  # noqa: ANN001
    users.add_user(actor, "olga", role="admin")
    with pytest.raises(ValidationError, match="cannot disable yourself"):
        users.set_user(actor, actor.login, {"active": "no"})


def test_two_admins_demoting_each_other_at_once_leave_one(db, actor) -> None:  # noqa: ANN001
    """On PostgreSQL each session would see the other still an admin without the lock."""
    users.add_user(actor, "olga", role="admin")
    olga = users.actor_for("olga")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(who, whom: str) -> None:  # noqa: ANN001
        with db.connection_context():
            barrier.wait()
            try:
                users.set_user(who, whom, {"role": "manager"})
                outcomes.append("done")
            except ValidationError:
                outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(actor, "olga")),
               threading.Thread(target=demote, args=(olga, actor.login))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["done", "refused"]
    assert len(_active_admins()) == 1


def test_the_cli_refuses_with_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = str(tmp_path / "crm.sqlite3")
    assert main(["--db", db, "init"]) == 0
    assert main(["--db", db, "user", "add", "anna"]) == 0
    capsys.readouterr()
    login = identity.os_login()
    for args in (["user", "set", login, "role=manager"], ["user", "set", login, "active=no"],
                 ["user", "disable", login]):
        assert main(["--db", db, *args]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        assert "last active admin" in err or "cannot disable yourself" in err
    assert main(["--db", db, "user", "list", "--json"]) == 0
    listed = {u["login"]: (u["role"], u["active"]) for u in __import__("json").loads(
        capsys.readouterr().out)}
    assert listed[login] == ("admin", True)
