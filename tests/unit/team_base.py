"""A team and its records for the visibility tests: two managers with "own" visibility
(anna, boris), a manager with "group" visibility in boris's group (greta), a head of sales
(gleb), a viewer (vera) and the admin; every kind of record attached to each manager's
client, and notes and links with no client by each manager."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui_crm.db import models as m
from tui_crm.services.core import records, users
from tui_crm.services.core.rights import Actor

MANAGERS = ("anna", "boris")
GROUP = 7
# The kinds attached to a client, in the order they are made.
CLIENT_KINDS = ("organizations", "contacts", "tasks", "events", "deals", "notes", "links",
                "payments", "services")


@dataclass
class Team:
    actors: dict[str, Actor]
    # (owner login, kind) → id; kinds "free notes" / "free links" have no client.
    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    names: dict[tuple[str, str], str] = field(default_factory=dict)

    def id(self, owner: str, kind: str) -> int:
        return self.ids[(owner, kind)]


def word(owner: str, kind: str) -> str:
    """A word found only in this record (its name or title)."""
    return f"q{owner}{kind.replace(' ', '')}x"


def build(admin: Actor) -> Team:
    for login, role, name in (("anna", "manager", "Анна Орлова"),
                              ("boris", "manager", "Борис Котов"),
                              ("greta", "manager", "Грета Лунд"),
                              ("gleb", "head", "Глеб Жуков"),
                              ("vera", "viewer", "Вера Смирнова")):
        users.add_user(admin, login, role=role, full_name=name)
    m.User.update(group_id=GROUP).where(m.User.login.in_(["boris", "greta"])).execute()
    users.set_user(admin, "greta", {"visibility": "group"})
    actors = {login: users.actor_for(login) for login in ("anna", "boris", "greta", "gleb",
                                                         "vera")}
    actors["admin"] = admin
    team = Team(actors)
    for owner in MANAGERS:
        me = actors[owner]

        def add(kind: str, data: dict, label: str | None = None, owner: str = owner,
                me: Actor = me) -> int:
            view = records.create(me, kind, data)
            team.ids[(owner, label or kind)] = view.id
            team.names[(owner, label or kind)] = view.title
            return view.id

        org = add("organizations", {"name": f"Ромашка {word(owner, 'organizations')}",
                                    "status": "client", "source": "Website",
                                    "phones": [f"+7 916 000-00-0{len(owner)}"],
                                    "emails": [f"{owner}@client.example.com"]})
        person = add("contacts", {"last_name": word(owner, "contacts"), "first_name": "Иван",
                                  "organization": org})
        add("tasks", {"title": word(owner, "tasks"), "organization": org, "contact": person})
        add("events", {"event_type": "call", "title": word(owner, "events"),
                       "starts_at": "2026-03-02 10:00", "organization": org,
                       "contact": person})
        deal = add("deals", {"title": word(owner, "deals"), "organization": org,
                             "amount": "1000"})
        add("notes", {"title": word(owner, "notes"), "organization": org, "contact": person})
        add("links", {"title": word(owner, "links"), "url": f"https://{owner}.example.com",
                      "organization": org})
        add("payments", {"date": "2026-02-01", "amount": "500", "organization": org,
                         "deal": deal, "description": word(owner, "payments")})
        add("services", {"date": "2026-02-01", "amount": "300", "units": "2",
                         "organization": org, "description": word(owner, "services")})
        add("notes", {"title": word(owner, "free notes")}, "free notes")
        add("links", {"title": word(owner, "free links"),
                      "url": f"https://free-{owner}.example.com"}, "free links")
    return team
