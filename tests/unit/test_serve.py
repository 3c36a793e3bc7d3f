"""`tui-crm serve` and `tui-crm passwd` without a browser: the command line's errors, the
password rules, the hand-over seam, the Host/Origin rules, and the server's answers to
requests a browser would not send (no session, a foreign Origin, a proxy's headers)."""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_crm.cli.main import main
from tui_crm.errors import PermissionDenied, ValidationError
from tui_crm.services.core import audit, passwords, users
from tui_crm.services.core.rights import Actor
from tui_crm.web.address import Door, public_origin
from tui_crm.web.sessions import Handovers, Limiter, Sessions, take_handover


def _serve(db_target: str, *args: str) -> list[str]:
    return ["--db", db_target, "serve", *args]


@pytest.mark.parametrize("args, wanted", [
    (["--port", "99999"], "not a port: '99999'"),
    (["--port", "-1"], "not a port"),
    (["--host", "0.0.0.0"], "--allow-plain-http"),
    (["--host", "192.0.2.77"], "read passwords"),
    (["--host", "no-such-host.invalid", "--allow-plain-http"], "no such address"),
    (["--public-url", "https://crm.example.com/crm/"], "no path"),
    (["--public-url", "ftp://crm.example.com"], "--public-url must look like"),
    (["--session-hours", "0"], "--session-hours"),
    (["--link", "nobody"], "No active user nobody"),
])
def test_port_host_and_url_problems_are_one_line(db, db_target: str, actor: Actor,
                                                 capsys: pytest.CaptureFixture[str],
                                                 args: list[str], wanted: str) -> None:
    assert main(_serve(db_target, *args)) != 0
    err = capsys.readouterr().err
    assert wanted in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_port_in_use_is_named_with_the_fix(db, db_target: str, actor: Actor,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(_serve(db_target, "--port", str(port))) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"tui-crm: Port {port} on 127.0.0.1 is already in use by another program;"
                   " choose another with --port (0 picks a free one).")


def test_serve_is_not_started_for_someone_else(db, db_target: str, actor: Actor,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # An admin's --user: the server would run as the admin's account for anna.
    users.add_user(actor, "anna")
    assert main(_serve(db_target, "--user", "anna", "--link", "anna")) == 5
    assert "Working through the server's account" in capsys.readouterr().err


# --- passwords ------------------------------------------------------------------------


def test_passwords_are_salted_slow_hashes_that_only_the_password_matches(db, actor) -> None:
    users.add_user(actor, "anna")
    passwords.set_password(actor, "anna", "верный пароль")
    stored = passwords.WebPassword.get().hash
    assert stored.startswith("scrypt$16384$8$1$") and "верный" not in stored
    assert passwords.verify("anna", "верный пароль").login == "anna"
    assert passwords.verify("anna", "верный парол") is None
    assert passwords.verify("nobody", "верный пароль") is None
    assert passwords.hash_password("x" * 8) != passwords.hash_password("x" * 8)  # salted
    users.set_user(actor, "anna", {"active": "no"})
    assert passwords.verify("anna", "верный пароль") is None  # disabled: no way in


@settings(max_examples=15, deadline=None)
@given(st.text(min_size=8, max_size=40), st.text(min_size=1, max_size=3))
def test_any_password_matches_itself_and_nothing_else(password: str, change: str) -> None:
    stored = passwords.hash_password(password)
    assert passwords.matches(password, stored)
    assert not passwords.matches(password + change, stored)
    assert not passwords.matches(password, stored.replace("scrypt", "md5"))
    assert not passwords.matches(password, "garbage")


def test_who_may_set_a_password_and_the_rules(db, actor: Actor) -> None:
    users.add_user(actor, "anna")
    users.add_user(actor, "boris")
    anna = users.actor_for("anna")
    passwords.set_password(anna, "anna", "anna-own-pass")  # her own
    with pytest.raises(PermissionDenied):
        passwords.set_password(anna, "boris", "boris-new-pass")
    passwords.set_password(actor, "boris", "set-by-admin")  # an admin: anyone's
    for bad in ("short", "x" * 2000, "BORIS   "[:5] + "xxx"):
        with pytest.raises(ValidationError):
            passwords.check_new(bad, "borisxxx")
    with pytest.raises(ValidationError):
        passwords.set_password(actor, "boris", "boris")
    assert passwords.verify("boris", "set-by-admin") is not None
    logged = audit.history("users", None, action="password", limit=10)
    assert sorted(e.details for e in logged) == ["anna", "boris"]


def test_passwd_reads_a_pipe_and_sets_the_own_password(db, db_target: str, actor: Actor,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert main(["--db", db_target, "passwd"]) == 0
    assert f"Password set for {actor.login}." in capsys.readouterr().out
    assert passwords.verify(actor.login, "a-long-password") is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["--db", db_target, "passwd"]) == 2
    assert passwords.verify(actor.login, "a-long-password") is not None  # unchanged


# --- the hand-over seam -----------------------------------------------------------------


def test_the_handover_is_read_once_and_only_as_the_server_wrote_it(tmp_path: Path) -> None:
    handovers = Handovers()
    try:
        assert os.stat(handovers.folder).st_mode & 0o777 == 0o700
        path = handovers.write("anna", "/srv/crm.sqlite3")
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert take_handover(str(path)) == ("anna", "/srv/crm.sqlite3")
        assert not path.exists()
        with pytest.raises(PermissionDenied):
            take_handover(str(path))  # used up
        opened = handovers.write("boris", "x")
        os.chmod(opened, 0o644)  # readable by others: not ours as written
        with pytest.raises(PermissionDenied):
            take_handover(str(opened))
        real = handovers.write("boris", "x")
        link = tmp_path / "link"
        link.symlink_to(real)
        with pytest.raises(PermissionDenied):
            take_handover(str(link))
        stale = tmp_path / "stale"
        stale.write_text(json.dumps({"login": "boris", "db": "x", "at": time.time() - 600}))
        os.chmod(stale, 0o600)
        with pytest.raises(PermissionDenied):
            take_handover(str(stale))
    finally:
        handovers.remove()
    assert not handovers.folder.exists()


def test_the_child_refuses_to_start_without_a_handover(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "tui_crm.web.child", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == PermissionDenied.exit_code
    assert "not started by tui-crm serve" in done.stderr and "Traceback" not in done.stderr


# --- sessions and the limiter ------------------------------------------------------------


def test_sessions_expire_and_links_work_once() -> None:
    sessions = Sessions(lifetime=0.2)
    session = sessions.open("anna")
    assert sessions.get(session.token) is session and sessions.get("forged") is None
    time.sleep(0.25)
    assert sessions.get(session.token) is None and sessions.expired() == [session]
    token = sessions.add_link("boris", 60)
    assert sessions.peek_link(token) == "boris"
    assert sessions.use_link(token) == "boris" and sessions.use_link(token) is None


def test_failed_logins_are_limited_per_address_and_per_login() -> None:
    limiter = Limiter(tries=3, window=60)
    for _ in range(3):
        assert limiter.wait("address:a", "login:anna") == 0
        limiter.failed("address:a", "login:anna")
    assert 0 < limiter.wait("address:b", "login:anna") <= 60  # another address, same login
    assert 0 < limiter.wait("address:a", "login:boris") <= 60  # same address, another login
    assert limiter.wait("address:b", "login:boris") == 0
    limiter.succeeded("login:anna")
    assert limiter.wait("address:b", "login:anna") == 0


# --- Host and Origin -------------------------------------------------------------------


def test_same_origin_by_default_from_an_address_or_localhost() -> None:
    door = Door()
    assert door.origin_of({"Host": "127.0.0.1:8000"}) == "http://127.0.0.1:8000"
    assert door.origin_of({"Host": "localhost:9000"}) == "http://localhost:9000"  # a tunnel
    assert door.origin_of({"Host": "192.0.2.2:8000"}) == "http://192.0.2.2:8000"
    assert door.origin_of({"Host": "[::1]:8000"}) == "http://[::1]:8000"
    assert door.origin_of({"Host": "evil.example:8000"}) is None  # DNS rebinding
    assert door.origin_of({}) is None
    expected = door.origin_of({"Host": "127.0.0.1:8000"})
    assert door.origin_allowed("http://127.0.0.1:8000", expected)
    for foreign in ("http://localhost:8765", "null", "http://127.0.0.1:8001",
                    "https://127.0.0.1:8000", "", None):
        assert not door.origin_allowed(foreign, expected)


def test_a_public_url_and_a_proxy_s_headers() -> None:
    assert public_origin("https://crm.example.com/") == "https://crm.example.com"
    assert public_origin("https://CRM.example.com:443") == "https://crm.example.com"
    assert public_origin("http://localhost:9000") == "http://localhost:9000"
    public = Door(public="https://crm.example.com", behind_proxy=True)
    proxied = {"Host": "127.0.0.1:8000", "X-Forwarded-Host": "crm.example.com",
               "X-Forwarded-Proto": "https"}
    assert public.origin_of(proxied) == "https://crm.example.com"
    assert public.origin_of({**proxied, "X-Forwarded-Host": "evil.example"}) is None
    # Without --public-url, behind a proxy the origin is what the proxy says the browser used.
    assert Door(behind_proxy=True).origin_of(
        {"Host": "127.0.0.1:8000", "X-Forwarded-Host": "10.1.2.3",
         "X-Forwarded-Proto": "https"}) == "https://10.1.2.3"
    # Not behind a proxy, those headers are anyone's and mean nothing.
    assert Door().origin_of(proxied) == "http://127.0.0.1:8000"


# --- the server's answers ----------------------------------------------------------------


def _start(db_target: str, tmp_path: Path, *extra: str):  # noqa: ANN202 - a Door
    from tests.browser.conftest import start_door

    return start_door(db_target, tmp_path, *extra)


async def _ws_status(url: str, headers: dict[str, str], cookies: dict[str, str],
                     wanted: bytes = b"") -> int | bytes:
    """The handshake's status; once open and `wanted` given, what the session drew until
    `wanted` showed (or a minute passed)."""
    import aiohttp

    async with aiohttp.ClientSession(cookies=cookies) as client:
        try:
            async with client.ws_connect(url + "?width=120&height=40", headers=headers) as ws:
                seen = b""
                deadline = time.monotonic() + 60
                while wanted and wanted not in seen and time.monotonic() < deadline:
                    try:
                        message = await ws.receive(timeout=5)
                    except TimeoutError:
                        continue
                    if message.type == aiohttp.WSMsgType.BINARY:
                        seen += message.data
                    elif message.type != aiohttp.WSMsgType.TEXT:
                        break
                await ws.close()
                return seen if wanted else 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


def test_the_server_refuses_what_a_browser_page_of_another_site_could_send(
        db, db_target: str, actor: Actor, tmp_path: Path) -> None:
    import asyncio
    import datetime as dt
    import urllib.error
    import urllib.parse
    import urllib.request

    from tui_crm.services.core import records

    users.add_user(actor, "anna", full_name="Anna Probe")
    passwords.set_password(actor, "anna", "anna-pass-123")
    anna = users.actor_for("anna")
    org = records.create(anna, "organizations", {"name": "ServeProbeOrg", "status": "client",
                                                     "owner": anna.user_id})
    records.create(anna, "events", {"event_type": "call", "organization": org.id,
                                    "assignee": anna.user_id, "starts_at": dt.datetime.combine(
                                        dt.date.today(), dt.time(23, 30))})
    door = _start(db_target, tmp_path, "--public-url", "https://crm.example.com",
                  "--behind-proxy")
    proxied = {"X-Forwarded-Host": "crm.example.com", "X-Forwarded-Proto": "https",
               "X-Forwarded-For": "203.0.113.9", "Origin": "https://crm.example.com"}
    class _Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object) -> None:
            return None  # the 303 and its cookie are what is looked at

    opener = urllib.request.build_opener(_Stay())

    def post(password: str, headers: dict[str, str]) -> tuple[int, str, str]:
        data = urllib.parse.urlencode({"login": "anna", "password": password}).encode()
        request = urllib.request.Request(door.url + "/login", data=data, headers=headers)
        try:
            with opener.open(request) as answer:
                return answer.status, answer.read().decode(), ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers.get("Set-Cookie", "")

    try:
        assert post("anna-pass-123", {})[0] == 403  # no Origin: not our form
        status, _, cookie = post("anna-pass-123", proxied)
        assert status == 303 and "Secure" in cookie and "SameSite=Strict" in cookie
        token = cookie.split(";")[0].split("=", 1)[1]
        ws = door.url.replace("http", "ws") + "/ws"
        drawn = asyncio.run(_ws_status(ws, proxied, {"tui_crm_session": token},
                                       b"ServeProbeOrg"))
        # anna's session, on this very database (a PostgreSQL URL stays that URL).
        assert isinstance(drawn, bytes) and b"ServeProbeOrg" in drawn and b"Anna Probe" in drawn
        foreign = {**proxied, "Origin": "https://evil.example"}
        assert asyncio.run(_ws_status(ws, foreign, {"tui_crm_session": token})) == 403
        assert asyncio.run(_ws_status(ws, proxied, {})) == 401  # no session
        assert asyncio.run(_ws_status(ws, proxied, {"tui_crm_session": "forged"})) == 401
        page = urllib.request.Request(door.url + "/", headers={
            **proxied, "Cookie": f"tui_crm_session={token}"})
        with urllib.request.urlopen(page) as answer:
            html = answer.read().decode()
        assert 'data-session-websocket-url="wss://crm.example.com/ws"' in html
        assert "googleapis" not in html and 'rel="icon"' in html
        # Logging out: the cookie opens nothing any more.
        logout = urllib.request.Request(door.url + "/logout", headers={
            **proxied, "Cookie": f"tui_crm_session={token}"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(logout)
        assert answer.value.code == 303
        assert asyncio.run(_ws_status(ws, proxied, {"tui_crm_session": token})) == 401
        # Five wrong passwords from one address: the sixth try is refused, even the right one.
        for _ in range(5):
            assert post("wrong-password", proxied)[0] == 401
        status, text, _ = post("anna-pass-123", proxied)
        assert status == 429 and "Too many failed logins" in text
    finally:
        door.stop()
    outcomes = [(e.action, e.details) for e in audit.history("users", None, limit=20)
                if e.action.startswith("login")]
    assert ("login_throttled", "anna from 203.0.113.9") in outcomes
    assert outcomes.count(("login_failed", "anna from 203.0.113.9")) == 5
    assert "refused GET /ws from 203.0.113.9: bad origin 'https://evil.example'" in door.stderr()


def test_an_expired_session_ends_its_process_and_its_cookie(db, db_target: str,
                                                            actor: Actor) -> None:
    """The server in this process (aiohttp's test server), a real UI process per session."""
    import asyncio

    import aiohttp
    from aiohttp.test_utils import TestServer

    from tui_crm.web.server import COOKIE, DoorServer, Settings

    users.add_user(actor, "anna", full_name="Anna Expiring")
    door = DoorServer(Settings(target=db_target, door=Door(), reap_every=0.2),
                      verify=lambda login, password: False, record=lambda *a: None,
                      may_enter=lambda login: login == "anna")

    async def scenario() -> tuple[bytes, float, str]:
        server = TestServer(door.make_app(), host="127.0.0.1")
        await server.start_server()
        origin = f"http://127.0.0.1:{server.port}"
        session = door.sessions.open("anna")
        cookies = {COOKIE: session.token}
        try:
            async with aiohttp.ClientSession(cookies=cookies) as client:
                async with client.ws_connect(f"{origin}/ws?width=100&height=30",
                                             headers={"Origin": origin}) as ws:
                    seen = b""
                    while b"Anna Expiring" not in seen:
                        message = await ws.receive(timeout=60)
                        assert message.type in (aiohttp.WSMsgType.BINARY,
                                                aiohttp.WSMsgType.TEXT), message
                        if message.type == aiohttp.WSMsgType.BINARY:
                            seen += message.data
                    session.expires = time.time() + 0.5  # its time is up in half a second
                    while (message := await ws.receive(timeout=30)).type not in (
                            aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        pass  # drawing goes on until the session's time is up
                    left = session.remaining()
                async with client.get(f"{origin}/") as page:
                    html = await page.text()
        finally:
            await server.close()
        return seen, left, html

    seen, left, html = asyncio.run(scenario())
    assert b"Anna Expiring" in seen  # the session was anna's
    assert left <= 0  # it was closed because its time was up, not before
    assert 'id="password"' in html  # the cookie no longer opens the UI
    assert not door.sessions.all()


def test_a_non_admin_s_server_lets_only_that_person_in(db, db_target: str, actor: Actor,
                                                       tmp_path: Path) -> None:
    import urllib.error
    import urllib.parse
    import urllib.request

    users.add_user(actor, "boss", role="admin")
    users.add_user(actor, "anna")
    passwords.set_password(actor, "anna", "anna-pass-123")
    passwords.set_password(actor, actor.login, "own-pass-123")
    # This OS account becomes a manager: its processes may act only as itself.
    users.set_user(users.actor_for("boss"), actor.login, {"role": "manager"})
    door = _start(db_target, tmp_path)
    try:
        with urllib.request.urlopen(door.url + "/") as page:
            assert f"This server lets only {actor.login} in." in page.read().decode()

        def status(login: str, password: str) -> int:
            data = urllib.parse.urlencode({"login": login, "password": password}).encode()
            request = urllib.request.Request(door.url + "/login", data=data,
                                             headers={"Origin": door.url})
            try:
                with urllib.request.urlopen(request) as answer:
                    return answer.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert status("anna", "anna-pass-123") == 401  # her password, but not through here
        assert status(actor.login, "own-pass-123") == 200  # (the redirect, followed)
    finally:
        door.stop()
    assert "only you" in door.stderr()
