"""Users, roles, rights and visibility — enforced by the services, below any UI."""

from __future__ import annotations

import pytest

from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.services.core import audit, records, users
from tui_crm.services.core.identity import Invocation
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import duplicates
from tui_crm.services.search import search


@pytest.fixture
def team(db, actor: Actor) -> dict[str, Actor]:
    users.add_user(actor, "anna", role="manager", full_name="Анна Орлова")
    users.add_user(actor, "boris", role="manager", full_name="Борис Котов")
    users.add_user(actor, "vera", role="viewer")
    users.add_user(actor, "gleb", role="head")
    return {login: users.actor_for(login) for login in ("anna", "boris", "vera", "gleb")}


@pytest.fixture
def clients(team: dict[str, Actor]) -> dict[str, int]:
    anna, boris = team["anna"], team["boris"]
    return {
        "anna_org": records.create(anna, "organizations", {"name": "Ромашка Анны",
                                                           "status": "client"}).id,
        "boris_org": records.create(boris, "organizations", {"name": "Ромашка Бориса",
                                                             "status": "client"}).id,
        "boris_contact": records.create(boris, "contacts", {"last_name": "Борисов"}).id,
        "boris_task": records.create(boris, "tasks", {"title": "Ромашка: звонок"}).id,
        "note": records.create(boris, "notes", {"title": "Ромашка общая заметка"}).id,
    }


def test_first_user_is_admin_and_roles_have_defaults(actor: Actor,
                                                    team: dict[str, Actor]) -> None:
    assert actor.is_admin
    assert actor.visibility == "all"
    assert team["anna"].role == "manager"
    assert team["anna"].visibility == "own"
    assert team["vera"].visibility == "all"
    assert team["gleb"].sees_all
    assert [u.login for u in users.list_users(actor)] == sorted(
        [actor.login, "anna", "boris", "gleb", "vera"])


def test_manager_with_own_visibility_cannot_touch_anothers_client(
        team: dict[str, Actor], clients: dict[str, int], row_counts) -> None:
    anna = team["anna"]
    before = row_counts()
    with pytest.raises(PermissionDenied):
        records.get(anna, "organizations", clients["boris_org"])
    with pytest.raises(PermissionDenied):
        records.update(anna, "organizations", clients["boris_org"], {"city": "Тула"})
    with pytest.raises(PermissionDenied):
        records.delete(anna, "organizations", clients["boris_org"])
    with pytest.raises(PermissionDenied):
        records.restore(anna, "organizations", clients["boris_org"])
    with pytest.raises(PermissionDenied):
        records.get(anna, "contacts", clients["boris_contact"])
    with pytest.raises(PermissionDenied):
        records.update(anna, "tasks", clients["boris_task"], {"status": "done"})
    assert row_counts() == before

    listed = records.list_records(anna, "organizations")
    assert [r.id for r in listed.rows] == [clients["anna_org"]]
    assert listed.total == 1
    assert records.count(anna, "organizations") == 1
    assert records.row_ids(anna, "organizations", ListQuery(text="ромашка")) == [
        clients["anna_org"]]
    assert records.list_records(anna, "contacts").total == 0
    hits = {(h.section, h.id) for h in search.quick_search(anna, "ромашка")}
    # A note attached to no client follows its author (boris).
    assert hits == {("organizations", clients["anna_org"])}
    with pytest.raises(PermissionDenied):
        records.get(anna, "notes", clients["note"])


def test_others_see_everything(team: dict[str, Actor], clients: dict[str, int],
                               actor: Actor) -> None:
    for who in (actor, team["gleb"], team["vera"]):
        assert records.count(who, "organizations") == 2
        assert {(h.section, h.id) for h in search.quick_search(who, "ромашка")} == {
            ("organizations", clients["anna_org"]), ("organizations", clients["boris_org"]),
            ("tasks", clients["boris_task"]), ("notes", clients["note"])}
    assert records.get(team["vera"], "organizations", clients["boris_org"]).title == \
        "Ромашка Бориса"


def test_duplicates_warn_across_managers(team: dict[str, Actor],
                                         clients: dict[str, int]) -> None:
    found = duplicates.find(team["anna"], "organizations", {"name": "Ромашка Бориса"})
    # Whose client it is, but not which: anna may not see boris's clients.
    assert [(d.id, d.title, d.owner) for d in found] == [(None, "(another manager's)",
                                                          "Борис Котов")]
    found = duplicates.find(team["gleb"], "organizations", {"name": "Ромашка Бориса"})
    assert [(d.id, d.owner) for d in found] == [(clients["boris_org"], "Борис Котов")]


def test_group_visibility(team: dict[str, Actor], clients: dict[str, int],
                          actor: Actor) -> None:
    from tui_crm.db import models as m

    m.User.update(group_id=7).where(m.User.login.in_(["anna", "boris"])).execute()
    users.set_user(actor, "anna", {"visibility": "group"})
    anna = users.actor_for("anna")
    assert anna.visibility == "group"
    assert records.count(anna, "organizations") == 2
    assert records.get(anna, "organizations", clients["boris_org"]).title == "Ромашка Бориса"
    assert len([h for h in search.quick_search(anna, "ромашка")
                if h.section == "organizations"]) == 2


def test_viewer_cannot_write(team: dict[str, Actor], clients: dict[str, int],
                             row_counts) -> None:
    vera = team["vera"]
    before = row_counts()
    with pytest.raises(PermissionDenied) as err:
        records.create(vera, "organizations", {"name": "Моя", "status": "client"})
    assert str(err.value) == "You have no right to edit in Organizations."
    with pytest.raises(PermissionDenied):
        records.update(vera, "organizations", clients["anna_org"], {"city": "Тула"})
    with pytest.raises(PermissionDenied) as err:
        records.delete(vera, "notes", clients["note"])
    assert str(err.value) == "You have no right to delete in Notes."
    assert row_counts() == before


def test_manager_cannot_hand_clients_over_or_create_for_others(
        team: dict[str, Actor], clients: dict[str, int], row_counts) -> None:
    anna, boris = team["anna"], team["boris"]
    before = row_counts()
    with pytest.raises(PermissionDenied):
        records.update(anna, "organizations", clients["anna_org"], {"owner": boris.user_id})
    with pytest.raises(PermissionDenied):
        records.create(anna, "organizations", {"name": "Чужая", "status": "client",
                                               "owner": "boris"})
    assert row_counts() == before
    assert records.get(anna, "organizations", clients["anna_org"]).values["owner"] == \
        anna.user_id
    # The head of sales may.
    moved = records.update(team["gleb"], "organizations", clients["anna_org"],
                           {"owner": "boris"})
    assert moved.values["owner"] == boris.user_id
    assert moved.display["owner"] == "Борис Котов"


def test_rights_overrides(team: dict[str, Actor], clients: dict[str, int],
                          actor: Actor) -> None:
    users.set_user(actor, "vera", {"can_edit.notes": "yes"})
    vera = users.actor_for("vera")
    assert vera.can("notes", "edit")
    assert not vera.can("organizations", "edit")
    assert records.create(vera, "notes", {"title": "Можно"}).values["title"] == "Можно"
    users.set_user(actor, "anna", {"can_delete": "no"})
    anna = users.actor_for("anna")
    with pytest.raises(PermissionDenied):
        records.delete(anna, "organizations", clients["anna_org"])
    users.set_user(actor, "anna", {"can_view.deals": "0"})
    with pytest.raises(PermissionDenied):
        records.list_records(users.actor_for("anna"), "deals")
    assert search.quick_search(users.actor_for("anna"), "ромашка", sections=["deals"]) == []


def test_user_management_is_admin_only(team: dict[str, Actor], actor: Actor) -> None:
    with pytest.raises(PermissionDenied):
        users.add_user(team["gleb"], "new")
    with pytest.raises(PermissionDenied):
        users.set_user(team["anna"], "anna", {"role": "admin"})
    with pytest.raises(ValidationError) as err:
        users.add_user(actor, "anna")
    assert list(err.value.errors) == ["login"]
    with pytest.raises(ValidationError) as err:
        users.add_user(actor, "two words")
    assert list(err.value.errors) == ["login"]
    with pytest.raises(ValidationError) as err:
        users.add_user(actor, "x", role="king")
    assert list(err.value.errors) == ["role"]
    with pytest.raises(ValidationError) as err:
        users.set_user(actor, "anna", {"role": "king", "visibility": "some", "colour": "red",
                                       "can_fly": "yes"})
    assert set(err.value.errors) == {"role", "visibility", "colour", "can_fly"}
    with pytest.raises(NotFound):
        users.set_user(actor, "nobody", {"role": "viewer"})
    view = users.set_user(actor, "anna", {"role": "head", "full_name": "Анна О."})
    assert (view.role, view.full_name, view.visibility) == ("head", "Анна О.", "all")
    entries = audit.history("users", view.id, action="update")
    assert {(e.field, e.old, e.new) for e in entries} == {("role", "manager", "head"),
                                                          ("full_name", "Анна Орлова",
                                                           "Анна О.")}


def test_disabled_user_cannot_act(team: dict[str, Actor], actor: Actor) -> None:
    users.set_user(actor, "boris", {"active": "no"})
    with pytest.raises(PermissionDenied) as err:
        users.actor_for("boris")
    assert str(err.value) == "The user boris is disabled."
    assert [u.login for u in users.list_users(actor, include_disabled=False)] == sorted(
        [actor.login, "anna", "gleb", "vera"])


def test_resolve_actor_maps_the_os_account(team: dict[str, Actor], actor: Actor,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The admin may act as someone else.
    assert users.resolve_actor("anna").login == "anna"
    with pytest.raises(NotFound):
        users.resolve_actor("nobody")
    # A manager's OS account maps to the manager, who may not pretend to be anyone else.
    assert users.resolve_actor(invocation=Invocation("anna")).login == "anna"
    with pytest.raises(PermissionDenied):
        users.resolve_actor("boris", invocation=Invocation("anna"))
    # An OS account with no user is refused once the database has users.
    with pytest.raises(PermissionDenied) as err:
        users.resolve_actor(invocation=Invocation("stranger"))
    assert "stranger" in str(err.value)
    # The login variables name no one: the process's real uid does.
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME", "SUDO_USER"):
        monkeypatch.setenv(var, "anna")
    assert users.resolve_actor().login == actor.login
