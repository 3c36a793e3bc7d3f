"""Snapshots of every section, dialog and report: at 80×24 in Russian (the longer language,
over SSH) and at 160×50 in English. Fixed data, a fixed clock (the app's `clock` and the
records' stamps), a fixed user, no cursor blink, no polling.

After an intended change of the layout: `pytest tests/ui/test_screens.py --snapshot-update
-n 2`, then look at the changed SVGs in tests/ui/__snapshots__/test_screens/ before
committing them. The Russian SVGs are also read by tests/unit/test_i18n.py: no English
message of the catalogue may be drawn on a Russian screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.conftest import CrmData, fill
from tui_crm.db import models, open_database
from tui_crm.db.models import database_proxy
from tui_crm.i18n import get_language, set_language
from tui_crm.services.analytics import reports
from tui_crm.services.core import records, users
from tui_crm.services.core.identity import Invocation
from tui_crm.ui.app import CrmApp, build_app

FIXED_NOW = dt.datetime(2026, 11, 27, 9, 30)  # a Friday, in the morning call block
SIZES = {"ru": (80, 24), "en": (160, 50)}
SNAPSHOT_HOME = Path("/tmp/tui-crm-snapshot-home")


@pytest.fixture
def day_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CrmData:
    """The fixed data set and a day's plan on FIXED_NOW, every stamp the same time."""
    # Stamps come from models.now, also through the fields whose default is that function
    # object (peewee keeps it): the function itself is given the fixed time.
    monkeypatch.setattr(models.now, "__code__", _fixed_now.__code__)
    monkeypatch.setattr(CrmApp, "clock", lambda self: FIXED_NOW)
    monkeypatch.setattr("tui_crm.services.core.users.current_invocation",
                        lambda: Invocation("tester"))
    # The import wizard browses the home folder: a fixed one, drawn the same on every machine.
    SNAPSHOT_HOME.mkdir(exist_ok=True)
    (SNAPSHOT_HOME / "clients.csv").write_text("name;city\nРомашка;Москва\n", encoding="utf-8")
    monkeypatch.setenv("HOME", str(SNAPSHOT_HOME))
    monkeypatch.setenv("TUI_CRM_DATA_DIR", f"{SNAPSHOT_HOME}-data")  # shown by Documents
    monkeypatch.setenv("TUI_CRM_CONFIG_DIR", f"{SNAPSHOT_HOME}-config")  # and by help
    path = tmp_path / "data" / "screens.sqlite3"
    database = open_database(path)
    data = fill(users.resolve_actor())
    day = FIXED_NOW.date().isoformat()
    for hour, kind, org, contact in (("09:40", "call", "romashka", "ivanov"),
                                     ("10:20", "call", "yolka", "sidorov"),
                                     ("11:30", "meeting", "orel", None)):
        values = {"event_type": kind, "starts_at": f"{day} {hour}",
                  "organization": data.orgs[org], "status": "planned"}
        if contact:
            values["contact"] = data.contacts[contact]
        records.create(data.admin, "events", values)
    data.path = str(path)
    database.close()
    database_proxy.initialize(None)
    yield data
    set_language("en")


Steps = Callable[[Pilot], Awaitable[None]]


def _fixed_now() -> dt.datetime:
    return dt.datetime(2026, 11, 27, 9, 30)  # FIXED_NOW; runs as models.now (its globals)


async def settle(pilot: Pilot, rounds: int = 4) -> None:
    """conftest's settle, but not waiting for the file tree's loader (it waits for folders
    to open as long as the tree lives)."""
    for _round in range(rounds):
        await pilot.pause()
        workers = [w for w in pilot.app.workers if w.group != "_loader"]
        if workers:  # an empty list would mean "all of them"
            await pilot.app.workers.wait_for_complete(workers)
    await pilot.pause()


def keys(*pressed: str) -> Steps:
    async def run(pilot: Pilot) -> None:
        for key in pressed:
            await pilot.press(key)
            await settle(pilot, rounds=2)
    return run


def report(name: str) -> Steps:
    async def run(pilot: Pilot) -> None:
        from tui_crm.ui.screens.reports import ReportsPane

        pilot.app.screen.query_one(ReportsPane).choose(name)
        await settle(pilot)
    return run


async def palette(pilot: Pilot) -> None:
    """The command palette with "go to" typed (the sections' commands: one provider, so
    one order), drawn once its list is complete: it gathers the commands in a task of its
    own, marked "-ready" when done."""
    from textual.command import CommandPalette

    await pilot.press("ctrl+p")
    for letter in "перейти" if get_language() == "ru" else "go to":
        await pilot.press("space" if letter == " " else letter)
    for _round in range(200):
        await settle(pilot, rounds=1)
        screen = pilot.app.screen
        if isinstance(screen, CommandPalette) and screen.has_class("-ready") \
                and not screen.workers:
            break
        await pilot.pause(0.02)
    await settle(pilot)


# name: (the section the app opens at, what the user does there).
SCREENS: dict[str, tuple[str, Steps | None]] = {
    **{f"section-{key}": (key, None) for key in (
        "today", "followups", "organizations", "contacts", "deals", "tasks", "events", "notes",
        "links", "payments", "services", "reports", "categories", "mailings", "users", "audit",
        "settings")},
    "card": ("organizations", keys("G", "enter")),
    "help": ("organizations", keys("question_mark")),
    "palette": ("organizations", palette),
    "quick-search": ("organizations", keys("ctrl+f", "Р", "о", "м")),
    "reminders": ("organizations", keys("ctrl+r")),
    "form-new": ("organizations", keys("a")),
    "form-edit": ("organizations", keys("G", "e")),
    "trash": ("organizations", keys("t")),
    "import": ("organizations", keys("i")),
    "export": ("organizations", keys("x")),
    "document": ("organizations", keys("G", "w")),
    "duplicates": ("organizations", keys("D")),
    "log-result": ("today", keys("x", "1")),
    "move": ("today", keys("r")),
    "call-block": ("today", keys("b")),
    "plan-tomorrow": ("today", keys("P")),
    "deals-board": ("deals", keys("b")),
    "deals-payment": ("deals", keys("b", "right", "right", "right", "right", "p")),
    "deals-lost": ("deals", keys("b", "x")),
    "categories-apply": ("categories", keys("a")),
    "reports-export": ("reports", keys("e")),
    "reports-meeting": ("reports", keys("m")),
    "reports-journal": ("reports", keys("j")),
    "mailing-new": ("mailings", keys("n")),
    "mailing-template": ("mailings", keys("t")),
    "mailing-account": ("mailings", keys("a")),
    **{f"report-{name}": ("reports", report(name)) for name in reports.REPORTS},
}


def _run_before(steps: Steps | None) -> Steps:
    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        if steps is not None:
            await steps(pilot)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # the cursor drawn always, not every other half second
        pilot.app.clear_notifications()  # a toast is there or gone by timing
        await settle(pilot)
    return run


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(day_crm: CrmData, snap_compare, name: str, language: str) -> None:  # noqa: ANN001
    section, steps = SCREENS[name]
    app = build_app(day_crm.path, language=language, section=section)
    app.poll_seconds = 0
    assert snap_compare(app, terminal_size=SIZES[language], run_before=_run_before(steps))
