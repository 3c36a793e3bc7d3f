"""Killed, the UI gives the terminal back (issue 15): a real `python -m tui_crm` on a
pseudo-terminal, sent SIGTERM and SIGHUP once its screen is up, leaves the alternate screen
and turns mouse reporting off; the terminal's line settings are as before."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

from tui_crm.db import open_database
from tui_crm.db.models import database_proxy


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end and wanted not in out:
        ready, _w, _x = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_killed_ui_restores_the_terminal(tmp_path, signum) -> None:
    path = tmp_path / "guard.sqlite3"
    open_database(path).close()
    database_proxy.initialize(None)
    leader, follower = pty.openpty()
    before = termios.tcgetattr(follower)
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30")
    proc = subprocess.Popen([sys.executable, "-m", "tui_crm", "--db", str(path)],
                            stdin=follower, stdout=follower, stderr=follower, env=env,
                            start_new_session=True)
    try:
        shown = _read_until(leader, b"\x1b[?1003h", 60)
        assert b"\x1b[?1049h" in shown, shown[-400:]
        time.sleep(0.5)
        proc.send_signal(signum)
        rest = b""
        end = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < end:
            rest += _read_until(leader, b"\x00never", 0.3)  # keep the pty drained
        assert proc.wait(timeout=1) == 128 + signum
        rest += _read_until(leader, b"\x1b[?1049l", 2)
        after = termios.tcgetattr(follower)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    tail = (shown + rest)[(shown + rest).rfind(b"\x1b[?1049h"):]
    for off in (b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1006l", b"\x1b[?1049l", b"\x1b[?25h"):
        assert off in tail, off
    assert after[3] == before[3]  # echo and line mode back
    os.close(follower)
