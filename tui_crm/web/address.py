"""Where the door listens and how browsers reach it: the port, the host, the public URL,
and the checks of Host and Origin that follow from them (pure functions, no aiohttp)."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tui_crm.errors import CrmError
from tui_crm.i18n import _

LOCAL_NAMES = ("localhost",)


class DoorProblem(CrmError):
    """The address, port or public URL cannot be used (a usage error: exit code 2)."""

    exit_code = 2


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this computer can connect."""
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def port_number(text: str) -> int:
    """--port: 0 (any free port) to 65535, as a one-line usage error otherwise."""
    import argparse

    raw = text.strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 65535:
        raise argparse.ArgumentTypeError(
            _("not a port: {text!r} (0 to 65535; 0 picks a free one)").format(text=text))
    return int(raw)


def public_origin(url: str) -> str:
    """--public-url as an origin (scheme://host[:port]); a path, query or user is refused:
    the page's downloads and WebSocket live at the root of the origin."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (parts.scheme not in ("http", "https") or not parts.hostname or port == -1
            or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise DoorProblem(_("--public-url must look like https://crm.example.com or "
                           "http://localhost:9000 (no path): {url!r}").format(url=url))
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or a one-line UsageError naming the problem and the fix."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        infos = socket.getaddrinfo(host, port, family if ":" in host else socket.AF_UNSPEC,
                                   socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OverflowError):
        raise DoorProblem(_("Cannot listen on {host}: no such address on this computer").format(
            host=host)) from None
    family, _kind, _proto, _name, address = infos[0]
    try:
        return socket.create_server(address, family=family, backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            message = _("Port {port} on {host} is already in use by another program; choose "
                        "another with --port (0 picks a free one).")
        elif exc.errno == errno.EACCES:
            message = _("Port {port} needs administrator rights on {host}; choose a port "
                        "above 1023.")
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = _("{host} is not an address of this computer; see `ip addr`.")
        else:
            message = _("Cannot listen on {host}:{port}: {reason}")
        raise DoorProblem(message.format(host=host, port=port,
                                        reason=exc.strerror or exc)) from None


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}"


@dataclass(frozen=True)
class Door:
    """What the browser must have come through: the public origin when one is configured,
    otherwise the origin the request itself names (same-origin), read from X-Forwarded-*
    only behind a proxy that sets them."""

    public: str | None = None
    behind_proxy: bool = False

    def origin_of(self, headers: Mapping[str, str], secure: bool = False) -> str | None:
        """The origin the browser used to reach us; None when its Host is not acceptable."""
        get = headers.get
        if self.public:
            host = _first(get("X-Forwarded-Host")) if self.behind_proxy else None
            host = host or get("Host") or ""
            # Host is checked too: a name that resolves here by DNS rebinding is not ours.
            return self.public if self._host_ok(host) else None
        scheme = "https" if secure else "http"
        host = get("Host") or ""
        if self.behind_proxy:
            host = _first(get("X-Forwarded-Host")) or host
            proto = _first(get("X-Forwarded-Proto"))
            scheme = proto if proto in ("http", "https") else scheme
        if not self._host_ok(host):
            return None
        return f"{scheme}://{host.lower()}"

    def _host_ok(self, host: str) -> bool:
        """A Host header we answer: an IP address or localhost (no rebinding is possible to
        those), or the public URL's own name."""
        name = _hostname(host)
        if not name:
            return False
        if is_ip_literal(name) or name in LOCAL_NAMES:
            return True
        return bool(self.public) and name == _hostname(urlsplit(self.public or "").netloc)

    def origin_allowed(self, origin: str | None, expected: str | None) -> bool:
        return bool(origin) and expected is not None and (origin or "").lower() == expected


def _first(value: str | None) -> str:
    return (value or "").split(",")[0].strip()


def _hostname(host: str) -> str:
    """The name in a Host header, without the port; '' when malformed."""
    host = host.strip().lower()
    if not host or any(c in host for c in "/?#@ \\"):
        return ""
    try:
        return urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return ""
