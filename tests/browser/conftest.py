"""A real browser at the door: `tui-crm serve` on a free port against a temporary database,
headless Chromium (Debian's package) driven by playwright, and the screen read back.

The page draws the terminal on a canvas, so the screen is read where the browser got it:
every WebSocket frame the page receives is fed to a terminal emulator (pyte) of the page's
size. Reusable: `door` starts a server, `browser` is Chromium, `log_in` returns a `Tab`
whose `screen()` is the text the person sees and whose `keys()` types into the page.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyte
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
PASSWORD = "door-pass-2026"


@dataclass
class Door:
    """A running `tui-crm serve`."""

    url: str
    process: subprocess.Popen[str]
    target: str
    log: Path
    lines: list[str] = field(default_factory=list)

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # serve and its sessions
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def start_door(target: str, workdir: Path, *extra: str) -> Door:
    """`tui-crm serve --port 0 …`; returns once it has announced its address."""
    log = workdir / f"serve-{time.monotonic_ns()}.log"
    env = {k: v for k, v in os.environ.items() if k != "TUI_CRM_DB"}
    with open(log, "w", encoding="utf-8") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui_crm", "--db", target, "serve", "--port", "0", *extra],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
            start_new_session=True)
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"serve ended: {log.read_text()}")
        lines.append(line.rstrip("\n"))
        if "Serving tui-crm on " in line:
            if "--link" in extra:
                lines.append(process.stdout.readline().rstrip("\n"))
            # The address it listens on (after "through" when a public URL is in front).
            url = re.findall(r"(?:on|through) (\S+) ", line)[-1]
            return Door(url, process, target, log, lines)
    raise AssertionError("serve did not announce its address")


@pytest.fixture
def door_factory(tmp_path: Path) -> Iterator:
    doors: list[Door] = []

    def start(target: str, *extra: str) -> Door:
        door = start_door(target, tmp_path, *extra)
        doors.append(door)
        return door

    yield start
    for door in doors:
        door.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Chromium for this module's tests. Not for the session: while playwright's sync API is
    open, its event loop counts as running in this thread, and a later test of another
    module in the same worker could not call asyncio.run (the UI tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """One browser page on the door, with the terminal's screen read from its frames."""

    def __init__(self, page, cols: int = 120, rows: int = 36) -> None:  # noqa: ANN001
        self.page = page
        self.term = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.term)
        self.messages: list[str] = []
        self.sockets: list = []
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:  # noqa: ANN001 - a playwright WebSocket
        import json

        self.sockets.append(ws)
        # The page opens the socket with its terminal's size; later sizes come as frames.
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(ws.url).query)
        if "width" in query and "height" in query:
            self.term.resize(int(query["height"][0]), int(query["width"][0]))

        def received(payload: bytes | str) -> None:
            if isinstance(payload, bytes):
                self.stream.feed(payload)
            else:
                self.messages.append(payload)

        def sent(payload: bytes | str) -> None:
            if isinstance(payload, str) and payload.startswith('["resize"'):
                size = json.loads(payload)[1]
                self.term.resize(size["height"], size["width"])

        ws.on("framereceived", received)
        ws.on("framesent", sent)

    def screen(self) -> str:
        return "\n".join(line.rstrip() for line in self.term.display)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def wait_gone(self, text: str, timeout: float = 30) -> str:
        """Wait until the screen no longer shows `text` (a dialog closed); the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text not in shown:
                return shown
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{text!r} still shown; the screen:\n{self.screen()}")

    def wait_for_line(self, *parts: str, timeout: float = 30) -> str:
        """Wait until one line of the screen holds every one of `parts`; that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.screen().splitlines():
                if all(part in line for part in parts):
                    return line
            self.page.wait_for_timeout(50)
        raise AssertionError(f"no line with {parts!r}; the screen:\n{self.screen()}")

    def dismiss_toasts(self) -> None:
        """Click the notifications away, as a person would (a click closes one): they sit
        over the card's lower lines (a missed reminder stays a while)."""
        for _ in range(10):
            rows = self.screen().splitlines()
            hit = next(((row, line.index("▌ ") + 2) for row, line in enumerate(rows)
                        if "▌ " in line and line[line.index("▌ ") + 2:].strip()), None)
            if hit is None:
                return
            box = self.page.locator(".xterm-screen").bounding_box()
            assert box is not None
            width, height = box["width"] / self.term.columns, box["height"] / self.term.lines
            before = self.screen()
            self.page.mouse.click(box["x"] + (hit[1] + 0.5) * width,
                                  box["y"] + (hit[0] + 0.5) * height)
            for _wait in range(100):
                if self.screen() != before:
                    break
                self.page.wait_for_timeout(50)
        raise AssertionError(f"the notifications stay; the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        """Press keys (playwright names: "Enter", "Control+s") or type text ("text:…")."""
        for key in keys:
            if key.startswith("text:"):
                self.page.keyboard.type(key[5:])
            else:
                self.page.keyboard.press(key)
            self.page.wait_for_timeout(30)

    def click_text(self, text: str) -> None:
        """Click the first cell of `text` where the screen shows it (the mouse, as a person
        would): the cell's place from the terminal's size on the page."""
        rows = self.screen().splitlines()
        row = next(i for i, line in enumerate(rows) if text in line)
        col = rows[row].index(text)
        box = self.page.locator(".xterm-screen").bounding_box()
        assert box is not None
        width, height = box["width"] / self.term.columns, box["height"] / self.term.lines
        self.page.mouse.click(box["x"] + (col + 0.5) * width, box["y"] + (row + 0.5) * height)

    def settle(self, ms: int = 400) -> None:
        self.page.wait_for_timeout(ms)


def log_in(browser, url: str, login: str, password: str = PASSWORD, *,  # noqa: ANN001
           context=None) -> Tab:  # noqa: ANN001
    """A new browser context (its own cookies) logged in at `url`; the terminal is up."""
    context = context or browser.new_context(viewport={"width": 1300, "height": 800},
                                             accept_downloads=True)
    page = context.new_page()
    tab = Tab(page)
    page.goto(url + "/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("body.-first-byte", timeout=60_000)
    # The keyboard goes to the terminal: its input element takes the focus. Not a click in
    # the middle of the page: that lands on whatever the first screen shows there (a day's
    # task opens its section).
    page.focus("#terminal .xterm-helper-textarea")
    return tab


ANNA_ORG = "Ромашка Анны"
BORIS_ORG = "Лютик Бориса"
ANNA_CALL = "Звонок Ромашке"


@pytest.fixture
def team_db(tmp_path: Path) -> Iterator[str]:
    """A SQLite database of a small team: this OS account (admin), the managers anna and
    boris with passwords, each with an organization of their own; anna has a call today
    and may export organizations (a manager may not by default)."""
    import datetime as dt

    from tui_crm.db import open_database
    from tui_crm.db.models import database_proxy
    from tui_crm.services.core import passwords, records, users

    target = str(tmp_path / "data" / "team.sqlite3")
    database = open_database(target)
    try:
        admin = users.resolve_actor()
        for login in ("anna", "boris"):
            users.add_user(admin, login, role="manager", full_name=login.title())
            passwords.set_password(admin, login, PASSWORD)
        users.set_user(admin, "anna", {"can_export.organizations": "yes"})
        anna, boris = users.actor_for("anna"), users.actor_for("boris")
        org = records.create(anna, "organizations", {"name": ANNA_ORG, "status": "client",
                                                     "owner": anna.user_id})
        records.create(boris, "organizations", {"name": BORIS_ORG, "status": "client",
                                                "owner": boris.user_id})
        later = dt.datetime.combine(dt.date.today(), dt.time(23, 0))
        records.create(anna, "events", {"event_type": "call", "title": ANNA_CALL,
                                        "organization": org.id, "starts_at": later,
                                        "assignee": anna.user_id})
    finally:
        database.close()
        database_proxy.initialize(None)
    yield target
