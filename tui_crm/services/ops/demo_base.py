"""The demo generator's base: its state (random source, dates, id counters, pending search
documents), the bulk row writer, the users and look-up lists every record refers to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from peewee import Database

from tui_crm.db import bulk, search_index
from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import current, is_postgres
from tui_crm.services.core import lookups
from tui_crm.services.core.identity import os_login
from tui_crm.services.ops.demo_words import (
    CITIES,
    DEMO_USERS,
    EN_POSITIONS,
    EVENT_TYPE_WEIGHTS,
    RU_FEMALE,
    RU_FORMS,
    RU_MALE,
    RU_POSITIONS,
    RU_SURNAMES,
    TAGS,
    TODAY_EVENTS,
    DemoRandom,
    weighted_list,
)

CHUNK = 20_000  # rows per executemany


class RowWriter:
    """Bulk inserts with explicit ids (`db.bulk.insert_rows`), in chunks.

    The demo does not go through the record writer (`services.core.record_writer`): it
    writes a million events as prebuilt tuples with consecutive ids it chose itself and
    the past's own creation times, no audit row per record, and sets every client's
    contact dates with one UPDATE at the end; dict rows, a document per row and the
    writer's per-batch refresh would cost it more than the 10 % its benchmark allows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pg = is_postgres(db)

    def next_id(self, model: type[m.BaseModel]) -> int:
        table = model._meta.table_name
        row = self.db.execute_sql(f'SELECT MAX(id) FROM "{table}"').fetchone()
        return int(row[0] or 0) + 1

    def insert(self, model: type[m.BaseModel], names: Sequence[str],
               rows: Iterable[Sequence[Any]],
               after_chunk: Callable[[], None] | None = None) -> int:
        """Insert rows in chunks; `after_chunk` runs after each (to write their documents)."""
        fields = model._meta.fields
        # Columns left out get the model's default (the schema has no DEFAULT clauses).
        extra = [(name, f.db_value(f.default)) for name, f in fields.items()
                 if name not in names and not f.null and f.default is not None
                 and not callable(f.default)]
        if extra:
            tail = tuple(value for _n, value in extra)
            rows = (tuple(row) + tail for row in rows)
        names = [*names, *(n for n, _v in extra)]
        written = 0
        for chunk in row_chunks(rows):
            bulk.insert_rows(model, names, chunk, savepoint=False)  # one load
            written += len(chunk)
            if after_chunk:
                after_chunk()
        return written

    def fix_sequences(self, models: Iterable[type[m.BaseModel]]) -> None:
        """PostgreSQL: move each id sequence past the ids we wrote ourselves."""
        if not self.pg:
            return
        for model in models:
            backend(self.db).reset_sequence(model._meta.table_name)


def row_chunks(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk



# --- the generator ----------------------------------------------------------------------------


class DemoBase:
    def __init__(self, rng: DemoRandom, today: dt.date, months: int,
                 complete: bool = False) -> None:
        self.rng = rng
        # every optional field filled (round-trip tests of exports): the random draws of
        # an ordinary demo are kept, so a seed still gives the same ordinary demo
        self.complete = complete
        self.emails: set[str] = set()  # every e-mail given so far (two people never share one)
        self.handles: set[str] = set()  # and every messenger name
        self.today = today
        self.now = dt.datetime.combine(today, dt.time(12, 0))
        self.months = max(1, months)
        self.past_days = max(1, round(self.months * 30.4))
        self.db = current()
        self.w = RowWriter(self.db)
        self.counts: dict[str, int] = {}
        self.ru_male = weighted_list(RU_MALE)
        self.ru_female = weighted_list(RU_FEMALE)
        self.ru_surnames = weighted_list(RU_SURNAMES)
        self.cities = weighted_list(CITIES)
        self.ru_positions = weighted_list([(p, w, dm) for p, dm, w in RU_POSITIONS])
        self.en_positions = weighted_list([(p, w, dm) for p, dm, w in EN_POSITIONS])
        self.ru_forms = weighted_list(RU_FORMS)
        self.used_inns: set[str] = set(
            r[0] for r in self.db.execute_sql("SELECT inn FROM organization WHERE inn <> ''"))
        self.used_domains: dict[str, int] = {}
        self.docs: list[tuple[str, int, str, str]] = []
        # A manager's day looks like one whatever the base's size (issue 15: not 1,400
        # items): at most so many calls and meetings today, a few overdue, a few tasks due.
        self.on_today: dict[int, int] = {}
        self.overdue: dict[int, int] = {}
        self.tasks_due: dict[int, int] = {}

    def unique_email(self, email: str) -> str:
        """`email`, or with a number added when someone has it already: the same address is
        the same person (the duplicate rule), so a demo never gives two people one."""
        local, _, domain = email.partition("@")
        candidate, n = email, 2
        while candidate.casefold() in self.emails:
            candidate, n = f"{local}.{n}@{domain}", n + 1
        self.emails.add(candidate.casefold())
        return candidate

    def flush_docs(self) -> None:
        """Write the pending search documents (kind, id, title, body)."""
        if self.docs:
            search_index.put_many(self.docs)
            self.docs = []

    # users, sources, groups, tags

    def users(self) -> None:
        existing = {u.login: u for u in m.User.select()}
        created = 0
        for login, full_name, role in DEMO_USERS:
            if login not in existing:
                existing[login] = m.User.create(
                    login=login, full_name=full_name, role=role,
                    email=f"{login}@example.com")
                created += 1
        me = os_login()
        if me not in existing:
            existing[me] = m.User.create(login=me, full_name=me, role="admin")
            created += 1
        self.counts["users"] = created
        demo = [existing[login] for login, _n, _r in DEMO_USERS]
        self.head = demo[0].id
        self.managers = [u.id for u in demo[1:]]
        # Managers own most clients; the head keeps a few key accounts; whoever opens the
        # demo (the OS account) has a share too, so their Today is not empty.
        self.owners = self.managers * 6 + [self.head] + [existing[me].id] * 3

    def lookups(self) -> None:
        self.sources = [s.id for s in m.Source.select().where(m.Source.active == True)  # noqa: E712
                        .order_by(m.Source.id)]
        if not self.sources:
            for name in ("Холодный звонок", "Сайт", "Рекомендация", "Выставка"):
                self.sources.append(m.Source.create(name=name).id)
        self.event_types: dict[str, int] = {}
        self.results: dict[int, list[tuple[int, bool]]] = {}
        for et in m.EventType.select().where(m.EventType.active == True):  # noqa: E712
            self.event_types[et.code] = et.id
            self.results[et.id] = [(r.id, r.warm) for r in m.EventResult.select().where(
                (m.EventResult.event_type == et.id) & (m.EventResult.active == True)  # noqa: E712
            ).order_by(m.EventResult.position)]
        codes = [c for c in EVENT_TYPE_WEIGHTS if c in self.event_types] or list(self.event_types)
        self.type_pool = [self.event_types[c] for c in codes
                          for _ in range(EVENT_TYPE_WEIGHTS.get(c, 1))]
        self.type_code = {v: k for k, v in self.event_types.items()}
        def group(name: str, parent: int | None = None, section: str = "organizations") -> int:
            found = m.Group.get_or_none((m.Group.section == section)
                                        & (m.Group.name == name))
            return found.id if found else m.Group.create(
                section=section, name=name, parent=parent).id

        regions = group("Регионы")
        self.groups = [group("Ключевые клиенты")] + [
            group(name, regions) for name in ("Сибирь", "Урал", "Поволжье")]
        self.contact_groups = [group(name, section="contacts")
                               for name in ("Бухгалтерия", "Руководители", "Закупки")] \
            if self.complete else []
        tag_ids = {t.name: t.id for t in m.Tag.select()}
        for name in TAGS:
            if name not in tag_ids:
                tag_ids[name] = m.Tag.create(name=name).id
        self.tags = [tag_ids[name] for name in TAGS]
        self.tag_names = {tag_id: name for name, tag_id in tag_ids.items()}
        self.type_name = {et.id: lookups.event_type_name(et) for et in m.EventType.select()}

    def when_past(self) -> dt.datetime:
        rng = self.rng
        day = self.today - dt.timedelta(days=rng.randrange(1, self.past_days + 1))
        if day.weekday() >= 5:
            day -= dt.timedelta(days=day.weekday() - 4)
        return dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.choice((0, 15, 30, 45))))

    def when_future(self, assignee: int | None = None) -> dt.datetime:
        rng = self.rng
        today = rng.random() < 0.15
        if today and assignee is not None:
            today = self.on_today.get(assignee, 0) < TODAY_EVENTS
            if today:
                self.on_today[assignee] = self.on_today.get(assignee, 0) + 1
        if today:
            day = self.today
        else:
            day = self.today + dt.timedelta(days=rng.randrange(1, 61))
            if day.weekday() >= 5:
                day += dt.timedelta(days=7 - day.weekday())
        return dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.choice((0, 30))))

    def add_points(self, points: list[tuple]) -> None:
        self.w.insert(m.ContactPoint, ("id", "organization", "contact", "kind", "type", "value",
                                       "normalized", "valid", "position"), points)
        self.counts["contact_points"] = self.counts.get("contact_points", 0) + len(points)

    def add_tags(self, links: list[tuple]) -> None:
        first = self.w.next_id(m.TagLink)
        self.w.insert(m.TagLink, ("id", "kind", "record_id", "tag"),
                      [(first + i, *link) for i, link in enumerate(links)])
        self.counts["tag_links"] = self.counts.get("tag_links", 0) + len(links)

    # contacts

