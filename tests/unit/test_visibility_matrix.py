"""Visibility and write rights for every record kind: each role × each kind × read / list /
find / edit / delete / attach, on another manager's (boris's) records.

anna (own visibility) sees nothing of boris's; greta (group visibility, boris's group), the
head, the viewer and the admin see all of it; only the viewer may not change it. A refused
attach reads exactly like a reference to a record that does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.team_base import CLIENT_KINDS, Team, build, word
from tui_crm.errors import CrmError, PermissionDenied, ValidationError
from tui_crm.services.core import audit, records, search_docs
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor
from tui_crm.services.search import search

ROLES = ("admin", "gleb", "vera", "anna", "boris", "greta")
ACTIONS = ("read", "list", "find", "edit", "delete", "attach")
KINDS = (*CLIENT_KINDS, "free notes", "free links")
INDEXED = {"organizations", "contacts", "tasks", "events", "deals", "notes", "links",
           "free notes", "free links"}
EDITS: dict[str, dict[str, Any]] = {
    "organizations": {"city": "Тула"}, "contacts": {"position": "CEO"},
    "tasks": {"status": "done"}, "events": {"title": "перенесено"},
    "deals": {"amount": "10"}, "notes": {"body": "чужой текст"},
    "links": {"description": "чужое"}, "payments": {"amount": "999999"},
    "services": {"units": "99"},
}
NEW: dict[str, dict[str, Any]] = {
    "contacts": {"last_name": "Новый"}, "tasks": {"title": "Новая"},
    "events": {"event_type": "call", "starts_at": "2026-03-03 10:00"},
    "deals": {"title": "Новая"}, "notes": {"title": "Новая"},
    "links": {"url": "https://new.example.com"},
    "payments": {"date": "2026-02-02", "amount": "1"},
    "services": {"date": "2026-02-02"},
}
# What a new record of each kind can be attached to.
TARGETS = {"contacts": ("organization",), "tasks": ("organization", "contact"),
           "events": ("organization", "contact"), "deals": ("organization",),
           "notes": ("organization", "contact"), "links": ("organization",),
           "payments": ("organization", "deal"), "services": ("organization",)}
TARGET_KIND = {"organization": "organizations", "contact": "contacts", "deal": "deals"}
MISSING = 987654


def section(kind: str) -> str:
    return kind.removeprefix("free ")


def expected(role: str, action: str) -> bool:
    """Whether `role` may do `action` to boris's records (any kind)."""
    if role == "anna":
        return False
    if role == "vera":
        return action in ("read", "list", "find")
    return True


@pytest.fixture
def team(db, actor: Actor) -> Team:
    return build(actor)


def _refused_like_missing(exc: ValidationError, field: str, target: int) -> bool:
    """The refusal names nothing but the id the user typed, word for word as for an id
    that does not exist."""
    return exc.errors == {field: f"No record with id {target}"}


def outcome(team: Team, role: str, kind: str, action: str, owner: str = "boris"
            ) -> tuple[bool, str]:
    """(allowed, what happened) for `role` doing `action` to `owner`'s record of `kind`."""
    who = team.actors[role]
    admin = team.actors["admin"]
    spec = section(kind)
    record_id = team.id(owner, kind)
    try:
        if action == "read":
            view = records.get(who, spec, record_id)
            return view.id == record_id, "read"
        if action == "list":
            listed = {r.id for r in records.list_records(who, spec,
                                                         ListQuery(limit=1000)).rows}
            counted = records.count(who, spec)
            ids = records.row_ids(who, spec, ListQuery())
            mine = len([k for k in team.ids if section(k[1]) == spec and k[0] == role])
            shown = record_id in listed
            if shown != (record_id in ids) or counted != len(listed) or \
                    (not shown and counted != mine):
                return shown, f"list/count/row_ids disagree: {counted} vs {sorted(listed)}"
            return shown, "listed" if shown else "not listed"
        if action == "find":
            hits = {(h.section, h.id) for h in search.quick_search(who, word(owner, kind))}
            return (spec, record_id) in hits, str(hits)
        if action == "edit":
            before = records.get(admin, spec, record_id)
            try:
                records.update(who, spec, record_id, EDITS[spec])
            except PermissionDenied:
                after = records.get(admin, spec, record_id)
                return False, "unchanged" if after.version == before.version else "CHANGED"
            return True, "edited"
        if action == "delete":
            try:
                records.delete(who, spec, record_id)
            except PermissionDenied:
                gone = records.get(admin, spec, record_id).deleted_at is not None
                return False, "deleted anyway" if gone else "kept"
            return records.get(admin, spec, record_id).deleted_at is not None, "deleted"
        if action == "attach":
            results = []
            for field in TARGETS.get(spec, ()):
                target = team.id(owner, TARGET_KIND[field])
                base = dict(NEW[spec])
                if field == "deal":  # a payment needs a client: one the role may change
                    base["organization"] = team.id(role if role in ("anna", "boris")
                                                   else owner, "organizations")
                try:
                    records.create(who, spec, {**base, field: target})
                    results.append(True)
                except ValidationError as exc:
                    with pytest.raises(ValidationError) as missing:
                        records.create(admin, spec, {**base, field: MISSING})
                    like = _refused_like_missing(exc, field, target) and \
                        _refused_like_missing(missing.value, field, MISSING)
                    if not like:
                        return False, f"{field}: refused unlike a missing id: {exc.errors}"
                    results.append(False)
                except PermissionDenied:
                    results.append(False)
            if not results:
                return expected(role, action), "nothing to attach"
            if len(set(results)) > 1:
                return False, f"mixed: {results}"
            return results[0], "attached" if results[0] else "refused"
    except PermissionDenied as exc:
        return False, str(exc)
    except CrmError as exc:  # anything else is a wrong answer, not a refusal
        return not expected(role, action), f"{type(exc).__name__}: {exc}"
    raise AssertionError(action)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_rights_on_another_managers_records(team: Team, role: str, action: str) -> None:
    wrong = []
    for kind in KINDS:
        if action == "find" and kind not in INDEXED:
            continue
        if action == "attach" and kind in ("organizations", "free notes", "free links"):
            continue
        allowed, what = outcome(team, role, kind, action)
        if allowed != expected(role, action) or what in ("CHANGED", "deleted anyway"):
            wrong.append(f"{role}/{kind}/{action}: expected "
                         f"{'allowed' if expected(role, action) else 'refused'}, got "
                         f"{'allowed' if allowed else 'refused'} ({what})")
    assert wrong == []


@pytest.mark.parametrize("action", ACTIONS)
def test_a_manager_keeps_every_right_on_own_records(team: Team, action: str) -> None:
    """The rule takes nothing from a manager's own clients (anna on anna's records)."""
    wrong = []
    for kind in KINDS:
        if action == "find" and kind not in INDEXED:
            continue
        if action == "attach" and kind in ("organizations", "free notes", "free links"):
            continue
        allowed, what = outcome(team, "anna", kind, action, owner="anna")
        if not allowed:
            wrong.append(f"anna/{kind}/{action} on her own: refused ({what})")
    assert wrong == []


def test_a_refused_attach_by_name_reads_like_a_name_that_does_not_exist(team: Team) -> None:
    anna = team.actors["anna"]
    name = team.names[("boris", "organizations")]
    with pytest.raises(ValidationError) as hidden:
        records.create(anna, "notes", {"title": "x", "organization": name})
    with pytest.raises(ValidationError) as missing:
        records.create(anna, "notes", {"title": "x", "organization": "Нет такой"})
    assert hidden.value.errors == {"organization": f"No organization called {name!r}"}
    assert missing.value.errors == {"organization": "No organization called 'Нет такой'"}
    person = team.names[("boris", "contacts")]
    with pytest.raises(ValidationError) as hidden:
        records.create(anna, "tasks", {"title": "x", "contact": person})
    assert hidden.value.errors == {"contact": f"No contact called {person!r}"}
    deal = team.names[("boris", "deals")]
    with pytest.raises(ValidationError) as hidden:
        records.create(anna, "payments", {"date": "2026-01-01", "amount": "1",
                                          "organization": team.id("anna", "organizations"),
                                          "deal": deal})
    assert hidden.value.errors == {"deal": f"No deals called {deal!r}"}


def test_moving_a_record_to_a_hidden_client_is_an_attach(team: Team, row_counts) -> None:
    anna = team.actors["anna"]
    before = row_counts()
    for kind in ("notes", "payments", "tasks", "contacts"):
        with pytest.raises(ValidationError):
            records.update(anna, kind, team.id("anna", kind),
                           {"organization": team.id("boris", "organizations")})
    assert row_counts() == before


def test_names_of_hidden_clients_are_not_shown(team: Team) -> None:
    """Where a record anna sees points at a client she does not, the client is not named
    (in the card, the list, the JSON form, the title, search hits)."""
    anna, gleb = team.actors["anna"], team.actors["gleb"]
    boris_org = team.id("boris", "organizations")
    # The head gives anna a task on boris's client: she sees the task, not the client.
    task = records.create(gleb, "tasks", {"title": "Позвонить за Бориса",
                                          "assignee": "anna", "organization": boris_org})
    view = records.get(anna, "tasks", task.id)
    secret = team.names[("boris", "organizations")]
    assert view.display["organization"] == "(another manager's)"
    assert secret not in str(view.to_dict())
    # …and may work on it (her task), without reaching the client.
    records.update(anna, "tasks", task.id, {"status": "done"})
    with pytest.raises(PermissionDenied):
        records.get(anna, "organizations", boris_org)
    listed = records.list_records(anna, "tasks").rows
    assert secret not in str([r.to_dict() for r in listed])
    event = records.create(gleb, "events", {"event_type": "call", "starts_at": "2026-03-04 09:00",
                                            "assignee": "anna", "organization": boris_org})
    assert records.get(anna, "events", event.id).title == "Call: (another manager's)"
    hits = search.quick_search(anna, "ромашка")
    assert secret not in str(hits)


def test_a_viewer_with_the_right_to_edit_notes_cannot_change_client_money(
        team: Team, actor: Actor) -> None:
    """Payments and services change only with the client: a right on the section alone is
    not enough."""
    from tui_crm.services.core import users

    users.set_user(actor, "vera", {"can_edit.payments": "yes", "can_edit.notes": "yes"})
    vera = users.actor_for("vera")
    with pytest.raises(PermissionDenied):
        records.update(vera, "payments", team.id("boris", "payments"), {"amount": "1"})
    with pytest.raises(PermissionDenied):
        records.create(vera, "payments", {"date": "2026-01-01", "amount": "1",
                                          "organization": team.id("boris", "organizations")})
    # A note of her own, attached to no client, is hers to write.
    assert records.create(vera, "notes", {"title": "Своя"}).values["title"] == "Своя"


def test_every_change_of_money_is_audited(team: Team) -> None:
    boris = team.actors["boris"]
    payment = team.id("boris", "payments")
    records.update(boris, "payments", payment, {"amount": "750"})
    entries = audit.history("payments", payment)
    assert [(e.action, e.field, e.old, e.new, e.login) for e in entries][:1] == [
        ("update", "amount", "500", "750", "boris")]
    records.delete(boris, "services", team.id("boris", "services"))
    assert audit.history("services", team.id("boris", "services"))[0].action == "delete"


def test_a_manager_gets_her_hits_however_many_a_colleague_has(team: Team) -> None:
    """The filter is in the search's SQL, before its LIMIT: 700 of boris's clients that
    match first do not crowd out anna's two."""
    from tui_crm.db import models as m

    boris = team.actors["boris"]
    m.Organization.insert_many([{"name": f"Общая {i}", "owner": boris.user_id,
                                 "created_by": boris.user_id, "updated_by": boris.user_id}
                                for i in range(700)]).execute()
    anna = team.actors["anna"]
    mine = {records.create(anna, "organizations", {"name": f"Общая моя {i}",
                                                   "source": "Website"}).id
            for i in range(2)}
    search_docs.rebuild(["organizations"])
    assert {h.id for h in search.quick_search(anna, "общая", limit=30)} == mine
    assert len(search.quick_search(boris, "общая", limit=30)) == 30


def test_quick_payments_follow_the_same_rules_and_are_audited(team: Team, row_counts) -> None:
    """The deals board's "add payment" (money.add_payment) writes through records: audited,
    and refused on a colleague's deal or client."""
    from tui_crm.services.analytics import money

    anna, boris = team.actors["anna"], team.actors["boris"]
    before = row_counts()
    with pytest.raises(PermissionDenied):
        money.add_payment(anna, amount="1000000", deal_id=team.id("boris", "deals"))
    with pytest.raises(ValidationError):
        money.add_payment(anna, team.id("boris", "organizations"), "1000000")
    assert row_counts() == before
    paid = money.add_payment(boris, amount="250", deal_id=team.id("boris", "deals"))
    assert [(e.action, e.login) for e in audit.history("payments", paid.id)] == [
        ("create", "boris")]
