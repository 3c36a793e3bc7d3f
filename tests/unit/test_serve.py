"""`tui-crm serve`: each browser session runs the UI on the database serve was given.

It used to pass peewee's name of the database on, which for PostgreSQL is the bare
database name: every browser session opened a new local SQLite file of that name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tui_crm.cli.planning import serve_command
from tui_crm.services.core import records
from tui_crm.services.core.rights import Actor

PROBE = "ServeProbeOrg"


def test_the_sessions_command_line_carries_the_database_as_given() -> None:
    for target in ("postgresql://crm_app@db.example:5432/crm?sslmode=require",
                   "/srv/our crm/Иван's $base;.sqlite3"):
        assert shlex.split(serve_command(target, "anna")) == [
            sys.executable, "-m", "tui_crm", "--db", target, "--user", "anna"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_page(port: int, server: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                assert answer.status == 200
                return answer.read()
        except (urllib.error.URLError, ConnectionError):
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.2)


async def _session_output(port: int, wanted: bytes) -> bytes:
    """Open a browser session (the websocket the page opens) and read what the UI draws
    until `wanted` shows, or a minute passes."""
    import aiohttp

    seen = b""
    async with aiohttp.ClientSession() as client, client.ws_connect(
            f"http://127.0.0.1:{port}/ws?width=120&height=40") as ws:
        await ws.send_json(["resize", {"width": 120, "height": 40}])
        deadline = time.monotonic() + 60
        while wanted not in seen and time.monotonic() < deadline:
            try:
                message = await ws.receive(timeout=5)
            except TimeoutError:
                continue
            if message.type == aiohttp.WSMsgType.BINARY:
                seen += message.data
            elif message.type == aiohttp.WSMsgType.TEXT:
                seen += message.data.encode()
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                  aiohttp.WSMsgType.ERROR):
                break
    return seen


def test_serve_answers_and_its_sessions_use_the_same_database(db, db_target: str,
                                                              actor: Actor,
                                                              tmp_path: Path) -> None:
    # Today's call with this organization: the UI's first screen (Today) shows it.
    org = records.create(actor, "organizations", {"name": PROBE, "status": "client"})
    records.create(actor, "events", {"event_type": "call", "title": PROBE, "organization":
                                     org.id, "starts_at": dt.datetime.combine(
                                         dt.date.today(), dt.time(9, 30))})
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    before = {p for p in tmp_path.rglob("*")}
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "TUI_CRM_DB"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tui_crm", "--db", db_target, "serve", "--port", str(port)],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        page = _wait_for_page(port, server)
        assert b"tui-crm" in page
        drawn = asyncio.run(_session_output(port, PROBE.encode()))
        assert PROBE.encode() in drawn  # the session shows this database's call
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # serve and the session it started
        server.wait(timeout=30)
    # No database file appeared anywhere (the SQLite target's own -wal/-shm aside).
    new = {p for p in tmp_path.rglob("*") if p not in before
           and not p.name.startswith(Path(db_target).name)}
    assert not [p for p in new if p.is_file() and "templates" not in p.parts], new
    assert list(workdir.iterdir()) == []
