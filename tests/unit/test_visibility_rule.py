"""The visibility rule in SQL against the rule as written in the README, on random bases:
every shape of it (PLAIN, UNION, SCAN, ROW) keeps exactly the records the written rule keeps,
for a manager with "own" visibility and one with "group" visibility."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.db import models as m
from tui_crm.services.core import records, users, visibility
from tui_crm.services.core.records import ListQuery
from tui_crm.services.core.rights import Actor

PEOPLE = ("u1", "u2", "u3")  # u1: own; u2, u3: one group, u3 sees the group
MODELS = {"organizations": m.Organization, "contacts": m.Contact, "deals": m.Deal,
          "tasks": m.Task, "events": m.Event, "notes": m.Note, "links": m.Link,
          "payments": m.Payment, "services": m.ServiceRendered}

person = st.sampled_from([*PEOPLE, None])
maybe = st.one_of(st.none(), st.integers(0, 3))  # an index into the parents, or none
base = st.fixed_dictionaries({
    "organizations": st.lists(person, min_size=1, max_size=4),
    "contacts": st.lists(st.tuples(person, maybe), max_size=4),
    "deals": st.lists(st.tuples(person, maybe), max_size=4),
    "tasks": st.lists(st.tuples(person, maybe, maybe), max_size=4),
    "notes": st.lists(st.tuples(person, maybe, maybe), max_size=5),
    "payments": st.lists(st.tuples(person, maybe, maybe), max_size=5),
})


def written_rule(kind: str, row: dict[str, Any], seen_users: set[int],
                 seen: dict[str, set[int]]) -> bool:
    """The README's table, one row per kind."""
    org, contact, deal = row.get("organization"), row.get("contact"), row.get("deal")
    if kind == "organizations":
        return row["owner"] in seen_users
    if kind in ("contacts", "deals"):
        return row["owner"] in seen_users or org in seen["organizations"]
    if kind == "tasks":
        return row["assignee"] in seen_users or org in seen["organizations"] \
            or contact in seen["contacts"]
    if org is not None:  # notes and payments: the first parent, else the author
        return org in seen["organizations"]
    if kind == "notes" and contact is not None:
        return contact in seen["contacts"]
    if kind == "payments" and deal is not None:
        return deal in seen["deals"]
    return row["created_by"] in seen_users


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=base)
def test_every_shape_keeps_what_the_written_rule_keeps(db, actor: Actor,
                                                       world: dict[str, list]) -> None:
    ids = {login: (m.User.get_or_none(m.User.login == login)
                   or m.User.create(login=login, role="manager")).id for login in PEOPLE}
    m.User.update(group_id=5).where(m.User.login.in_(["u2", "u3"])).execute()
    m.User.update(visibility="group").where(m.User.login == "u3").execute()
    for model in reversed(list(MODELS.values())):
        model.delete().execute()

    def who(login: str | None) -> int | None:
        return ids[login] if login else None

    def pick(kind: str, index: int | None) -> int | None:
        made = rows[kind]
        return made[index % len(made)]["id"] if index is not None and made else None

    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in MODELS}

    def add(kind: str, **values: Any) -> None:
        values = {"created_by": values.pop("created_by", None), **values}
        new_id = MODELS[kind].insert(**values).execute()
        rows[kind].append({"id": new_id, **values})

    for owner in world["organizations"]:
        add("organizations", name="o", owner=who(owner), created_by=who(owner))
    for owner, org in world["contacts"]:
        add("contacts", last_name="c", owner=who(owner), organization=pick("organizations", org))
    for owner, org in world["deals"]:
        add("deals", title="d", owner=who(owner), organization=pick("organizations", org))
    for assignee, org, contact in world["tasks"]:
        add("tasks", title="t", assignee=who(assignee),
            organization=pick("organizations", org), contact=pick("contacts", contact))
    for author, org, contact in world["notes"]:
        add("notes", title="n", created_by=who(author),
            organization=pick("organizations", org), contact=pick("contacts", contact))
    for author, org, deal in world["payments"]:
        add("payments", date="2026-01-01", amount=1, created_by=who(author),
            organization=pick("organizations", org), deal=pick("deals", deal))

    for login, seen_users in (("u1", {ids["u1"]}), ("u3", {ids["u2"], ids["u3"]})):
        manager = users.actor_for(login)
        seen: dict[str, set[int]] = {}
        for kind in ("organizations", "contacts", "deals", "tasks", "notes", "payments"):
            seen[kind] = {r["id"] for r in rows[kind]
                          if written_rule(kind, r, seen_users, seen)}
            model = MODELS[kind]
            for shape in (visibility.PLAIN, visibility.UNION, visibility.SCAN, visibility.ROW):
                got = {i for (i,) in model.select(model.id).where(
                    visibility.clause(manager, kind, shape)).tuples()}
                assert got == seen[kind], (login, kind, shape)
            assert set(records.row_ids(manager, kind, ListQuery())) == seen[kind]
            assert records.count(manager, kind) == len(seen[kind])
            assert visibility.visible_subset(manager, kind, [r["id"] for r in rows[kind]]) \
                == seen[kind]
