"""The door's web server: login, origin checks, one UI process per browser session.

textual-serve's AppService runs each session's process and its DownloadManager carries
files to the browser; the routes around them are ours, so that nothing reaches a process,
a download or the page without a logged-in session and an acceptable Host and Origin.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui_crm.i18n import _
from tui_crm.web import pages
from tui_crm.web.address import Door
from tui_crm.web.sessions import Handovers, Limiter, Session, Sessions

log = logging.getLogger("tui_crm.web")
COOKIE = "tui_crm_session"
CSP = (f"default-src 'self'; script-src 'self' '{pages.LEAVE_GUARD_HASH}'; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'")
REAPER: web.AppKey[asyncio.Task[None]] = web.AppKey("reaper", asyncio.Task)
STATICS = Path(str(__import__("textual_serve").__file__)).parent / "static"


@dataclass(frozen=True)
class Settings:
    target: str  # the database, as given
    door: Door
    session_hours: float = 12.0
    only_login: str | None = None  # a non-admin's server serves only its own login
    title: str = "tui-crm"
    reap_every: float = 10.0  # seconds between looks for expired sessions


class _Service(AppService):
    """One session's UI process; knows whether the person quit (that is a logout)."""

    def __init__(self, *args: object, on_quit: Callable[[], None], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stopping = False
        self._on_quit = on_quit

    async def stop(self) -> None:
        """Ask the UI to quit; a process that does not end within seconds is killed: a
        logged-out or expired session must not leave its process running."""
        self.stopping = True
        await super().stop()
        process = self._process
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def on_meta(self, data: bytes) -> None:
        import json

        if not self.stopping and json.loads(data).get("type") == "exit":
            self._on_quit()
        await super().on_meta(data)


class DoorServer:
    def __init__(self, settings: Settings, *, verify: Callable[[str, str], bool],
                 record: Callable[[str, str, str], None],
                 may_enter: Callable[[str], bool]) -> None:
        """`verify(login, password)`, `record(login, outcome, address)` (the audit log) and
        `may_enter(login)` (an active user this server may act for) come from the
        services: the server itself never reads the database."""
        self.settings = settings
        self.sessions = Sessions(settings.session_hours * 3600)
        self.limiter = Limiter()
        self.handovers = Handovers()
        self.downloads = DownloadManager()
        self._verify, self._record, self._may_enter = verify, record, may_enter
        self._owner: dict[str, Session] = {}  # AppService id → its session
        self._sockets: dict[object, web.WebSocketResponse] = {}

    # --- the application -------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._host_check], client_max_size=64 * 1024)
        app.add_routes([
            web.get("/", self.index),
            web.post("/login", self.login),
            web.get("/link/{token}", self.link_page),
            web.post("/link", self.link),
            web.get("/logout", self.logout),
            web.get("/ws", self.websocket),
            web.get("/download/{key}", self.download),
            web.get("/favicon.svg", self.favicon),
            web.get("/favicon.ico", self.favicon),
            web.static("/static", STATICS),
        ])
        app.on_startup.append(self._start_reaper)
        app.on_shutdown.append(self._shutdown)
        return app

    @web.middleware
    async def _host_check(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Every request names an acceptable Host (no DNS rebinding), and a request that
        changes something (a form) comes from our own origin."""
        origin = self.expected_origin(request)
        if origin is None:
            self._refuse(request, "host", request.headers.get("Host", ""))
            raise web.HTTPMisdirectedRequest(text=_("Unknown host name."))
        if request.method == "POST" and not self.settings.door.origin_allowed(
                request.headers.get("Origin"), origin):
            self._refuse(request, "origin", request.headers.get("Origin", ""))
            raise web.HTTPForbidden(text=_("Refused: the form came from another site."))
        response = await handler(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # The page fetches nothing from elsewhere, and may not be made to.
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    def expected_origin(self, request: web.Request) -> str | None:
        return self.settings.door.origin_of(request.headers, secure=request.secure)

    def address(self, request: web.Request) -> str:
        if self.settings.door.behind_proxy:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()  # the hop our proxy added
        return request.remote or "?"

    def _refuse(self, request: web.Request, what: str, value: str) -> None:
        log.warning("refused %s %s from %s: bad %s %r", request.method, request.path,
                    self.address(request), what, value[:200])

    def _session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def _secure(self, request: web.Request) -> bool:
        return (self.expected_origin(request) or "").startswith("https:")

    def _enter(self, request: web.Request, login: str) -> web.Response:
        session = self.sessions.open(login)
        response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(COOKIE, session.token, max_age=int(self.sessions.lifetime),
                            httponly=True, samesite="Strict", secure=self._secure(request),
                            path="/")
        return response

    def _language(self, request: web.Request) -> str:
        return pages.browser_language(request.headers.get("Accept-Language", ""))

    def _html(self, text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    # --- pages -----------------------------------------------------------------------

    async def favicon(self, request: web.Request) -> web.Response:
        return web.Response(text=pages.FAVICON, content_type="image/svg+xml",
                            headers={"Cache-Control": "max-age=86400"})

    async def index(self, request: web.Request) -> web.Response:
        with pages.language(self._language(request)):
            if self._session(request) is None:
                return self._html(pages.login_page(only=self.settings.only_login))
            origin = self.expected_origin(request) or ""
            ws = ("wss" if origin.startswith("https:") else "ws") + origin[origin.index(":"):]
            font = request.query.get("fontsize", "16")
            size = int(font) if font.isascii() and font.isdigit() and 6 <= int(font) <= 64 \
                else 16
            return self._html(pages.app_page(f"{ws}/ws", size, self.settings.title))

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        login = str(form.get("login", "")).strip()[:200]
        password = str(form.get("password", ""))
        where = self.address(request)
        keys = (f"address:{where}", f"login:{login.casefold()}")
        with pages.language(self._language(request)):
            wait = self.limiter.wait(*keys)
            if wait > 0:
                self._record(login, "login_throttled", where)
                minutes = max(1, round(wait / 60))
                return self._html(pages.login_page(login=login, error=_(
                    "Too many failed logins; try again in {n} min.").format(n=minutes),
                    only=self.settings.only_login), status=429)
            only = self.settings.only_login
            if (only is None or login == only) and self._verify(login, password) \
                    and self._may_enter(login):
                self.limiter.succeeded(keys[1])
                self._record(login, "login", where)
                return self._enter(request, login)
            self.limiter.failed(*keys)
            self._record(login, "login_failed", where)
            return self._html(pages.login_page(login=login, error=_(
                "Wrong login or password."), only=only), status=401)

    async def link_page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        login = self.sessions.peek_link(token)
        with pages.language(self._language(request)):
            if login is None:
                return self._html(pages.message_page(_(
                    "This link was used already or has expired; ask for a new one.")), 410)
            return self._html(pages.link_page(token, login))

    async def link(self, request: web.Request) -> web.Response:
        form = await request.post()
        login = self.sessions.use_link(str(form.get("token", "")))
        where = self.address(request)
        with pages.language(self._language(request)):
            if login is None or not self._may_enter(login):
                self._record(login or "?", "login_failed", where)
                return self._html(pages.message_page(_(
                    "This link was used already or has expired; ask for a new one.")), 410)
            self._record(login, "login", where)
            return self._enter(request, login)

    async def logout(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is not None:
            await self._end(session)
        response = web.Response(status=303, headers={"Location": "/"})
        response.del_cookie(COOKIE, path="/")
        return response

    # --- the terminal ----------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        origin = self.expected_origin(request)
        if not self.settings.door.origin_allowed(request.headers.get("Origin"), origin):
            # Another page in the same browser (cross-site WebSocket hijacking).
            self._refuse(request, "origin", request.headers.get("Origin", ""))
            raise web.HTTPForbidden(text=_("Refused: the page came from another site."))
        session = self._session(request)
        if session is None:
            self._refuse(request, "session", "")
            raise web.HTTPUnauthorized(text=_("Log in first."))
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1024 * 1024)
        await websocket.prepare(request)
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        handover = self.handovers.write(session.login, self.settings.target)
        command = " ".join(shlex.quote(part) for part in (
            sys.executable, "-m", "tui_crm.web.child", str(handover)))

        def quit_is_logout() -> None:
            asyncio.get_running_loop().create_task(self._end(session))

        service = _Service(command, write_bytes=websocket.send_bytes,
                           write_str=websocket.send_str, close=websocket.close,
                           download_manager=self.downloads, on_quit=quit_is_logout)
        session.services.add(service)
        self._owner[service.app_service_id] = session
        self._sockets[service] = websocket
        try:
            await service.start(width, height)
            try:
                await self._relay(websocket, service)
            finally:
                await service.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:  # noqa: BLE001 - one session's failure must not stop the server
            log.exception("session of %s failed", session.login)
        finally:
            handover.unlink(missing_ok=True)
            session.services.discard(service)
            self._owner.pop(service.app_service_id, None)
            self._sockets.pop(service, None)
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, service: AppService) -> None:
        """The browser's keys and sizes to the process (textual-serve's protocol)."""
        import json

        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, data = json.loads(message.data)
            except (ValueError, TypeError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await service.set_terminal_size(_size(data.get("width"), 80),
                                                _size(data.get("height"), 24))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file a session's UI delivered, to that session's browser only."""
        key = request.match_info["key"]
        session = self._session(request)
        try:
            meta = await self.downloads.get_download_metadata(key)
        except KeyError:
            raise web.HTTPNotFound(text=_("No such file.")) from None
        if session is None or self._owner.get(meta.app_service.app_service_id) is not session:
            self._refuse(request, "download owner", key)
            raise web.HTTPNotFound(text=_("No such file."))
        response = web.StreamResponse()
        content_type = meta.mime_type + (f"; charset={meta.encoding}" if meta.encoding else "")
        response.headers["Content-Type"] = content_type
        from urllib.parse import quote

        disposition = "inline" if meta.open_method == "browser" else "attachment"
        response.headers["Content-Disposition"] = (
            f"{disposition}; filename*=UTF-8''{quote(meta.file_name)}")
        await response.prepare(request)
        async for chunk in self.downloads.download(key):
            await response.write(chunk)
        await response.write_eof()
        return response

    # --- lifetime --------------------------------------------------------------------

    async def _end(self, session: Session) -> None:
        """Log a session out: its cookie stops working and its processes stop."""
        self.sessions.close(session)
        for service in list(session.services):
            websocket = self._sockets.get(service)
            if websocket is not None:
                await websocket.close()

    async def _start_reaper(self, app: web.Application) -> None:
        async def reap() -> None:
            while True:
                await asyncio.sleep(self.settings.reap_every)
                for session in self.sessions.expired():
                    await self._end(session)

        app[REAPER] = asyncio.get_running_loop().create_task(reap())

    async def _shutdown(self, app: web.Application) -> None:
        app[REAPER].cancel()
        for session in self.sessions.all():
            await self._end(session)
        self.handovers.remove()

    def run(self, sock: socket.socket, announce: Callable[[str], None], url: str) -> None:
        """Serve on `sock` until Ctrl+C or SIGTERM."""
        import signal

        async def main() -> None:
            runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            announce(url)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for name in ("SIGINT", "SIGTERM"):
                loop.add_signal_handler(getattr(signal, name), stop.set)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

        try:
            asyncio.run(main())
        finally:
            self.handovers.remove()


def _size(value: object, default: int) -> int:
    """A terminal size from the browser: a whole number of cells within reason."""
    try:
        number = int(str(value))
    except ValueError:
        return default
    return min(max(number, 10), 1000)
