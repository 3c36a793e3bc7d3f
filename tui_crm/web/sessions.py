"""Browser sessions, one-time links, the failed-login limiter and the hand-over of an
authenticated login to the UI process a session starts.

The hand-over is the seam identity passes through: the server writes a one-time file (in
its own 0700 folder, mode 0600, opened without following links) that names the login; the
UI process is started with the file's path, reads it once and removes it (see
tui_crm.web.child). Nothing a browser sends reaches that file; the process's environment
and command line carry no login.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tui_crm.errors import PermissionDenied
from tui_crm.i18n import _

HANDOVER_SECONDS = 60  # a hand-over file older than this is refused


@dataclass
class Session:
    token: str
    login: str
    expires: float
    services: set[object] = field(default_factory=set)  # the running UI processes

    def remaining(self, now: float | None = None) -> float:
        return self.expires - (time.time() if now is None else now)


class Sessions:
    """The logged-in browsers of this server (in memory: a restart logs everyone out)."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._by_token: dict[str, Session] = {}
        self._links: dict[str, tuple[str, float]] = {}

    def open(self, login: str) -> Session:
        session = Session(secrets.token_urlsafe(32), login, time.time() + self.lifetime)
        self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        session = self._by_token.get(token or "")
        if session is None or session.remaining() <= 0:
            return None
        return session

    def close(self, session: Session) -> None:
        self._by_token.pop(session.token, None)

    def expired(self) -> list[Session]:
        """Sessions past their time, removed from the store (their processes still run)."""
        now = time.time()
        gone = [s for s in self._by_token.values() if s.remaining(now) <= 0]
        for session in gone:
            self.close(session)
        return gone

    def all(self) -> list[Session]:
        return list(self._by_token.values())

    def add_link(self, login: str, lifetime: float) -> str:
        token = secrets.token_urlsafe(24)
        self._links[token] = (login, time.time() + lifetime)
        return token

    def peek_link(self, token: str) -> str | None:
        login, until = self._links.get(token, ("", 0.0))
        return login if until > time.time() else None

    def use_link(self, token: str) -> str | None:
        """The link's login, once: the link is gone afterwards."""
        login = self.peek_link(token)
        self._links.pop(token, None)
        return login


class Limiter:
    """At most `tries` failed logins per key (an address, a login) within `window` seconds."""

    def __init__(self, tries: int = 5, window: float = 15 * 60) -> None:
        self.tries = tries
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, *keys: str) -> float:
        """Seconds until another try is allowed for all `keys`; 0 when allowed now."""
        now = time.time()
        waits = [times[0] + self.window - now for key in keys
                 if len(times := self._recent(key, now)) >= self.tries]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = time.time()
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


class Handovers:
    """The server's private folder of one-time hand-over files."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tui-crm-serve-"))  # 0700

    def write(self, login: str, target: str) -> Path:
        path = self.folder / secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"login": login, "db": target, "at": time.time()}, out)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def take_handover(path: str) -> tuple[str, str]:
    """(login, database) from a hand-over file, which is removed: it must be this account's
    own regular file, closed to others, not a link, and fresh."""
    refused = PermissionDenied(_("This browser session was not started by tui-crm serve."))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise refused from None
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid()
                or info.st_mode & 0o077):
            raise refused
        with os.fdopen(fd, "r", encoding="utf-8") as source:
            fd = -1
            data = json.loads(source.read(4096))
    except (OSError, ValueError):
        raise refused from None
    finally:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
    if not isinstance(data, dict) or not isinstance(data.get("login"), str) \
            or not isinstance(data.get("db"), str) \
            or not 0 <= time.time() - float(data.get("at", 0)) <= HANDOVER_SECONDS:
        raise refused
    return data["login"], data["db"]
