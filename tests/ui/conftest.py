"""Shared pieces of the main-screen UI tests: a real SQLite file with fixed data, the app
built through the same factory the CLI uses, and helpers that wait for the workers and
read the screen as text."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

from tui_crm.db import open_database
from tui_crm.db.models import database_proxy
from tui_crm.services.core import records, settings, users
from tui_crm.services.core.rights import Actor


@dataclass
class CrmData:
    """The fixed data set: the database path and the ids tests refer to."""

    path: str
    admin: Actor
    orgs: dict[str, int]
    contacts: dict[str, int]
    events: dict[str, int]


def _org(actor: Actor, name: str, **values) -> int:  # noqa: ANN003 - field values
    data = {"name": name, "source": "Website"}
    data.update(values)
    return records.create(actor, "organizations", data).id


def fill(actor: Actor) -> CrmData:
    """Six organizations (Cyrillic, ё, phones), three people, events with results, a task,
    a deal with a payment, and a custom field."""
    users.set_user(actor, actor.login, {"full_name": "Admin Test"})
    users.add_user(actor, "anna", role="manager", full_name="Анна Петрова")
    settings.add_custom_field(actor, "organizations", "Tier", "choice", ["gold", "silver"],
                              name="tier")
    orgs = {
        "romashka": _org(actor, "Ромашка", city="Москва", status="client", category="vip",
                         phones=["mobile:+7 916 123-45-67", "work:+7 495 111-22-33"],
                         emails=["info@romashka.ru"], website="romashka.ru",
                         messengers=["telegram:@romashka_bot", "whatsapp:+7 916 123-45-67",
                                     "skype:romashka.sales"],
                         inn="7707083893", tier="gold", tags=["опт"]),
        "yolka": _org(actor, "Ёлка-Палка", city="Санкт-Петербург", status="warm",
                      phones=["work:+7 (812) 555-01-02"], tier="silver"),
        "alfa": _org(actor, "Альфа Строй", city="Казань", status="lead", category="good"),
        "beta": _org(actor, "Beta Trade", city="Москва", status="lost", category="none"),
        "gamma": _org(actor, "Гамма Сервис", city="Тверь", status="client",
                      owner=users.actor_for("anna").user_id),
        "orel": _org(actor, "Орёл и Решка", city="Орёл", status="warm", category="regular"),
    }
    contacts = {
        "ivanov": records.create(actor, "contacts", {
            "last_name": "Иванов", "first_name": "Иван", "organization": orgs["romashka"],
            "position": "Директор", "is_decision_maker": True,
            "phones": ["mobile:+7 903 765-43-21"], "emails": ["ivanov@romashka.ru"],
        }).id,
        "petrova": records.create(actor, "contacts", {
            "last_name": "Петрова", "first_name": "Мария", "organization": orgs["romashka"],
            "position": "Бухгалтер",
        }).id,
        "sidorov": records.create(actor, "contacts", {
            "last_name": "Сидоров", "first_name": "Пётр", "organization": orgs["yolka"],
        }).id,
    }
    events = {
        "call": records.create(actor, "events", {
            "event_type": "call", "title": "Первый звонок", "starts_at": "2026-10-01 10:00",
            "organization": orgs["romashka"], "contact": contacts["ivanov"], "status": "done",
            "result": "interested", "result_note": "Просили КП", "next_step": "Отправить КП",
        }).id,
        "meeting": records.create(actor, "events", {
            "event_type": "meeting", "title": "Встреча в офисе",
            "starts_at": "2026-10-15 15:00", "organization": orgs["romashka"],
            "status": "done", "result": "held_deal",
        }).id,
        "other": records.create(actor, "events", {
            "event_type": "call", "starts_at": "2026-10-02 11:00",
            "organization": orgs["yolka"], "status": "planned",
        }).id,
    }
    records.create(actor, "tasks", {"title": "Подготовить договор", "due_at": "2026-10-20 12:00",
                                    "organization": orgs["romashka"]})
    deal = records.create(actor, "deals", {"title": "Поставка ромашек",
                                           "organization": orgs["romashka"], "amount": "150000",
                                           "stage": "won"})
    records.create(actor, "payments", {"date": "2026-10-25", "amount": "75000",
                                       "organization": orgs["romashka"], "deal": deal.id})
    records.create(actor, "notes", {"title": "Заметка о Ромашке",
                                    "organization": orgs["romashka"]})
    records.create(actor, "links", {"title": "Сайт Ромашки", "url": "https://romashka.ru"})
    records.create(actor, "services", {"date": "2026-10-26", "amount": "5000", "units": "2",
                                       "organization": orgs["romashka"]})
    return CrmData("", actor, orgs, contacts, events)


@pytest.fixture
def crm(tmp_path: Path) -> CrmData:
    """A database file with the fixed data set (bound for the services)."""
    path = tmp_path / "data" / "ui.sqlite3"
    database = open_database(path)
    data = fill(users.resolve_actor())
    data.path = str(path)
    yield data
    if not database.is_closed():
        database.close()
    database_proxy.initialize(None)


async def settle(pilot: Pilot, rounds: int = 4) -> None:
    """Wait until the workers (table loads, counts, search) are done and their results shown."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(app: App) -> str:
    """The screen as plain text, the way a user sees it (no colours)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False,
                      safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text()


async def type_text(pilot: Pilot, text: str) -> None:
    for char in text:
        await pilot.press(char)
