"""A realistic demo database: mixed Russian and English clients, people, deals, money and
a year of calls and meetings.

Fast enough for 100k organizations: rows are built in plain Python with explicit ids and
written with the driver's `executemany` in chunks inside one transaction, then the search
index is rebuilt once and the organizations' and contacts' last/next contact dates are set
with one UPDATE each. The same seed (and `today`) always gives the same data.

The generator is one object in layers: `demo_base` (state, row writer, users and look-ups),
`demo_clients` (organizations, contacts) and this module (events, tasks, deals, money,
notes, links, the contact dates); `demo_words` holds the word lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from tui_crm.db import bulk
from tui_crm.db import models as m
from tui_crm.services.analytics import money
from tui_crm.services.ops.demo_clients import ClientsDemo
from tui_crm.services.ops.demo_words import (
    DEAL_TITLES,
    EN_EVENT_TITLES,
    LINKS,
    LOST_REASONS,
    NEXT_STEPS,
    NOTE_BODIES,
    NOTE_TITLES,
    OVERDUE_DAYS,
    OVERDUE_EVENTS,
    RESULT_NOTES,
    RU_EVENT_TITLES,
    SERVICE_NAMES,
    STALLED_EVERY,
    TASK_TITLES,
    TASKS_DUE,
    DemoRandom,
    event_title,
    search_body,
    sql_time,
)


class _Demo(ClientsDemo):
    # events, tasks, deals, money, notes, links

    def events(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Event)
        n_contacts = len(self.contact_org)

        def rows() -> Iterator[tuple]:
            for i in range(count):
                eid = first_id + i
                org_index = self.pick_org()
                contact = None
                if org_index is not None:
                    oid = self.org_first + org_index
                    people = self.org_contacts.get(oid)
                    if people and rng.random() < 0.85:
                        contact = rng.choice(people)
                    assignee = self.org_owner[org_index]
                    russian = self.org_russian[org_index]
                elif n_contacts:
                    oid = None
                    index = rng.randrange(n_contacts)
                    contact = self.contact_first + index
                    assignee = self.contact_owner[index]
                    russian = True
                else:
                    oid, assignee, russian = None, rng.choice(self.owners), True
                type_id = rng.choice(self.type_pool)
                code = self.type_code[type_id]
                titles = (RU_EVENT_TITLES if russian else EN_EVENT_TITLES).get(code, ("",))
                title = rng.choice(titles)
                past = rng.random() < 0.7
                if org_index is not None and org_index % STALLED_EVERY == 0 \
                        and self.org_status[org_index] == "warm":
                    past = True  # a warm client nobody planned the next step for
                result = None
                note = next_step = ""
                reminder = None
                if past:
                    starts = self.when_past()
                    roll = rng.random()
                    status = "done" if roll < 0.86 else "missed" if roll < 0.94 else "cancelled"
                    if starts.date() >= self.today - dt.timedelta(days=OVERDUE_DAYS) \
                            and rng.random() < 0.3 \
                            and self.overdue.get(assignee, 0) < OVERDUE_EVENTS:
                        # Not done yet: an overdue item on the manager's Today.
                        self.overdue[assignee] = self.overdue.get(assignee, 0) + 1
                        status = "planned"
                    if status == "done" and self.results.get(type_id):
                        result, warm = rng.choice(self.results[type_id])
                        if rng.random() < 0.5:
                            note = rng.choice(RESULT_NOTES)
                        if warm:
                            next_step = rng.choice(NEXT_STEPS)
                else:
                    starts = self.when_future(assignee)
                    status = "planned"
                    if rng.random() < 0.4:
                        reminder = rng.choice((10, 15, 30, 60))
                minutes = 15 if code in ("call", "email", "letter", "congratulation") else 60
                ends = starts + dt.timedelta(minutes=minutes)
                created = starts - dt.timedelta(days=rng.randrange(0, 14)) if not past \
                    else starts - dt.timedelta(days=rng.randrange(0, 5))
                created = min(created, self.now)
                updated = max(created, starts + dt.timedelta(minutes=minutes)) if past else created
                yield (eid, type_id, title, sql_time(starts), sql_time(ends), oid, contact, assignee,
                       status, result, note, next_step, reminder, 1, sql_time(created),
                       sql_time(min(updated, self.now)), assignee, assignee)
                type_name = self.type_name.get(type_id, "")
                org_name = self.org_names[org_index] if org_index is not None else ""
                person = self.contact_names[contact - self.contact_first] if contact else ""
                self.docs.append(("events", eid, event_title(eid, title or type_name,
                                                              org_name or person),
                                  search_body((title, type_name, org_name, person, note, next_step))))

        written = self.w.insert(m.Event, (
            "id", "event_type", "title", "starts_at", "ends_at", "organization", "contact",
            "assignee", "status", "result", "result_note", "next_step", "reminder_minutes",
            "version", "created_at", "updated_at", "created_by", "updated_by"), rows(),
            after_chunk=self.flush_docs)
        self.counts["events"] = written

    def tasks(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Task)
        rows = []
        for i in range(count):
            org_index = self.pick_org()
            oid = contact = None
            assignee = rng.choice(self.owners)
            if org_index is not None:
                oid = self.org_first + org_index
                assignee = self.org_owner[org_index]
                people = self.org_contacts.get(oid)
                if people and rng.random() < 0.5:
                    contact = rng.choice(people)
            roll = rng.random()
            if roll < 0.55:
                status, due = "open", self.when_future()
            elif roll < 0.65:
                status, due = "open", self.when_past()  # overdue
            elif roll < 0.75:
                status, due = "in_progress", self.when_future()
            else:
                status, due = ("done" if roll < 0.95 else "cancelled"), self.when_past()
            if status in ("open", "in_progress") and due.date() <= self.today:
                # Due by today: a few per manager; the rest were done in time.
                if self.tasks_due.get(assignee, 0) < TASKS_DUE:
                    self.tasks_due[assignee] = self.tasks_due.get(assignee, 0) + 1
                elif due.date() < self.today:
                    status = "done"
                else:
                    due += dt.timedelta(days=rng.randrange(1, 15))
            title = rng.choice(TASK_TITLES)
            if org_index is not None and rng.random() < 0.5:
                title = f"{title}: {self.org_names[org_index]}"
            created = min(due - dt.timedelta(days=rng.randrange(1, 20)), self.now)
            rows.append((first_id + i, title, "", sql_time(due),
                         rng.choice(("low", "normal", "normal", "normal", "high")), status,
                         assignee, oid, contact, 1, sql_time(created), sql_time(created), assignee,
                         assignee))
            self.docs.append(("tasks", first_id + i, title, search_body((
                title, self.org_names[org_index] if org_index is not None else "",
                self.contact_names[contact - self.contact_first] if contact else ""))))
        self.counts["tasks"] = self.w.insert(m.Task, (
            "id", "title", "description", "due_at", "priority", "status", "assignee",
            "organization", "contact", "version", "created_at", "updated_at", "created_by",
            "updated_by"), rows)
        self.flush_docs()

    # money

    def deals(self, count: int) -> list[tuple[int, int, float, dt.date]]:
        """Insert deals; return the won ones as (deal id, org id, amount, close date)."""
        rng = self.rng
        first_id = self.w.next_id(m.Deal)
        rows = []
        won: list[tuple[int, int, float, dt.date]] = []
        stages = money.STAGES  # the weights below follow its order
        for i in range(count):
            did = first_id + i
            org_index = self.pick_org()
            if org_index is None:
                break
            oid = self.org_first + org_index
            people = self.org_contacts.get(oid)
            contact = rng.choice(people) if people and rng.random() < 0.7 else None
            status = self.org_status[org_index]
            if status == "client":
                stage = rng.choices(stages, (1, 2, 2, 2, 6, 2))[0]
            elif status == "lost":
                stage = "lost"
            else:
                stage = rng.choices(stages, (3, 3, 2, 1, 0, 1))[0]
            amount = max(5_000, round(self.org_size[org_index] * rng.uniform(0.5, 3.0), -3))
            if stage in ("won", "lost"):
                close = self.today - dt.timedelta(days=rng.randrange(1, self.past_days))
            else:
                close = self.today + dt.timedelta(days=rng.randrange(7, 120))
            owner = self.org_owner[org_index]
            created = dt.datetime.combine(close, dt.time(10)) - dt.timedelta(
                days=rng.randrange(14, 90))
            created = min(created, self.now)
            title = rng.choice(DEAL_TITLES)
            lost_reason = rng.choice(LOST_REASONS) if stage == "lost" else ""
            rows.append((did, oid, contact, title, stage, f"{amount:.2f}", close, owner,
                         lost_reason, 1, sql_time(created), sql_time(created), owner, owner))
            self.docs.append(("deals", did, title,
                              search_body((title, self.org_names[org_index], lost_reason))))
            if stage == "won":
                won.append((did, oid, amount, close))
        self.counts["deals"] = self.w.insert(m.Deal, (
            "id", "organization", "contact", "title", "stage", "amount", "expected_close",
            "owner", "lost_reason", "version", "created_at", "updated_at", "created_by",
            "updated_by"), rows)
        self.flush_docs()
        return won

    def payments(self, count: int, won: list[tuple[int, int, float, dt.date]]) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Payment)
        payers = self.clients or self.warm or self.others
        rows = []
        for i in range(count):
            pid = first_id + i
            if i < len(won):
                deal, oid, amount, day = won[i]
            elif payers:
                deal = None
                oid = rng.choice(payers)
                amount = max(1_000, round(self.org_size[oid - self.org_first]
                                          * rng.uniform(0.3, 1.7), -2))
                day = self.today - dt.timedelta(days=rng.randrange(0, self.past_days))
            else:
                break
            owner = self.org_owner[oid - self.org_first]
            stamp = sql_time(dt.datetime.combine(day, dt.time(rng.randrange(9, 18))))
            rows.append((pid, day, f"{amount:.2f}", oid, deal,
                         f"Оплата по счёту № {rng.randrange(1, 9999)}" if rng.random() < 0.8
                         else f"Invoice {rng.randrange(1, 9999)}",
                         1, stamp, stamp, owner, owner))
        self.counts["payments"] = self.w.insert(m.Payment, (
            "id", "date", "amount", "organization", "deal", "description", "version",
            "created_at", "updated_at", "created_by", "updated_by"), rows)

    def services(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.ServiceRendered)
        payers = self.clients or self.warm
        rows = []
        for i in range(count):
            if not payers:
                break
            oid = rng.choice(payers)
            units = rng.choice((1, 1, 2, 3, 4, 8, 10, 16))
            amount = units * rng.choice((1500, 2500, 3000, 4500, 6000))
            day = self.today - dt.timedelta(days=rng.randrange(0, self.past_days))
            owner = self.org_owner[oid - self.org_first]
            stamp = sql_time(dt.datetime.combine(day, dt.time(rng.randrange(9, 18))))
            rows.append((first_id + i, day, f"{amount:.2f}", f"{units:.3f}", oid,
                         rng.choice(SERVICE_NAMES), 1, stamp, stamp, owner, owner))
        self.counts["services"] = self.w.insert(m.ServiceRendered, (
            "id", "date", "amount", "units", "organization", "description", "version",
            "created_at", "updated_at", "created_by", "updated_by"), rows)

    # notes, links

    def notes(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Note)
        rows = []
        tag_links = []
        for i in range(count):
            org_index = self.pick_org()
            oid = self.org_first + org_index if org_index is not None else None
            author = self.org_owner[org_index] if org_index is not None else self.head
            stamp = sql_time(self.when_past())
            title, body = rng.choice(NOTE_TITLES), rng.choice(NOTE_BODIES)
            rows.append((first_id + i, title, body, oid, 1, stamp, stamp, author, author))
            terms = [title, body]
            if rng.random() < 0.3:
                tag = rng.choice(self.tags)
                tag_links.append(("notes", first_id + i, tag))
                terms.append(self.tag_names[tag])
            self.docs.append(("notes", first_id + i, title, search_body(terms)))
        self.counts["notes"] = self.w.insert(m.Note, (
            "id", "title", "body", "organization", "version", "created_at", "updated_at",
            "created_by", "updated_by"), rows)
        self.add_tags(tag_links)
        self.flush_docs()

    def links(self) -> None:
        first_id = self.w.next_id(m.Link)
        stamp = sql_time(self.now - dt.timedelta(days=200))
        rows = [(first_id + i, url, title, description, login, 1, stamp, stamp, self.head,
                 self.head) for i, (url, title, description, login) in enumerate(LINKS)]
        self.docs.extend(("links", row[0], row[2] or row[1],
                          search_body((row[2], row[1], row[3], row[4]))) for row in rows)
        self.counts["links"] = self.w.insert(m.Link, (
            "id", "url", "title", "description", "login", "version", "created_at",
            "updated_at", "created_by", "updated_by"), rows)
        self.flush_docs()

    # derived columns

    def contact_dates(self) -> None:
        """Last contact = the latest done event; next step = the earliest planned one."""
        for table, column, first in (("organization", "organization_id", self.org_first),
                                     ("contact", "contact_id", self.contact_first)):
            param = "%s" if self.w.pg else "?"
            self.db.execute_sql(
                f'UPDATE "{table}" SET '
                f'last_contact_at = (SELECT MAX(e.starts_at) FROM "event" e'
                f" WHERE e.{column} = \"{table}\".id AND e.status = 'done'"
                f" AND e.deleted_at IS NULL), "
                f'next_contact_at = (SELECT MIN(e.starts_at) FROM "event" e'
                f" WHERE e.{column} = \"{table}\".id AND e.status = 'planned'"
                f" AND e.deleted_at IS NULL)"
                f" WHERE id >= {param}", (first,))



def generate(orgs: int = 200, contacts: int = 400, events: int = 2000, seed: int = 1,
             payments: int | None = None, months: int = 12,
             today: dt.date | None = None, complete: bool = False) -> dict[str, int]:
    """Fill the bound database with demo data; return how many rows of each kind were added.

    Deterministic for a seed and `today`. Needs an open, migrated database (`open_database`).
    `complete`: every optional field of organizations and contacts filled (every contact
    works somewhere, has a birthday, an office phone with an extension, addresses, notes…),
    for round-trip tests of exports.
    """
    orgs, contacts, events = max(0, orgs), max(0, contacts), max(0, events)
    payments = orgs if payments is None else max(0, payments)
    demo = _Demo(DemoRandom(seed), today or dt.date.today(), months, complete)
    db = demo.db
    with bulk.bulk_load(trust_foreign_keys=True), db.atomic():
        demo.users()
        demo.lookups()
        demo.organizations(orgs)
        demo.contacts(contacts)
        demo.events(events)
        demo.tasks(max(5, orgs // 4) if orgs else 0)
        won = demo.deals(max(3, orgs // 2) if orgs else 0)
        demo.payments(payments if orgs else 0, won)
        demo.services(payments // 2 if orgs else 0)
        demo.notes(max(5, orgs // 20) if orgs else 0)
        demo.links()
        demo.contact_dates()
        demo.w.fix_sequences([m.Organization, m.Contact, m.ContactPoint, m.TagLink, m.Event,
                              m.Task, m.Deal, m.Payment, m.ServiceRendered, m.Note, m.Link])
    # Statistics for the query planner: without them a sorted page of 100k clients walks
    # the deleted_at index and sorts everything (20 ms a page, 0.4 s at offset 50 000).
    db.execute_sql("ANALYZE")
    return demo.counts
