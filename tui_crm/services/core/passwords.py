"""Passwords of the browser door: set by the user or an admin, kept as a slow salted hash.

scrypt from the standard library (RFC 7914): a stolen table costs an attacker ~50 ms and
16 MiB per guess and per user. The hash names its parameters, so they can be raised later
without invalidating stored passwords. Logins (successful, failed, refused for too many
tries) are written to the audit log by the web server through `record_login`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.web_models import WebPassword
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit
from tui_crm.services.core.rights import Actor, actor_from_user

MIN_LENGTH = 8
MAX_LENGTH = 1024  # a megabyte typed into the login form must not cost the server
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# Verified when the login is unknown, so that a wrong login takes as long as a wrong password.
_DUMMY = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return (f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}$"
            f"{b64(digest).decode()}")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                          maxmem=64 * 1024 * 1024, dklen=32)


def matches(password: str, stored: str) -> bool:
    """Does `password` match the stored hash? False for a malformed hash, never an error."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        got = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def check_new(password: str, login: str) -> None:
    """The rules a new password must meet, as a one-line ValidationError."""
    if len(password) < MIN_LENGTH:
        raise ValidationError({"password": _("at least {n} characters").format(n=MIN_LENGTH)})
    if len(password) > MAX_LENGTH:
        raise ValidationError({"password": _("at most {n} characters").format(n=MAX_LENGTH)})
    if password.strip().casefold() == login.casefold():
        raise ValidationError({"password": _("must not be the login")})


@write
def set_password(actor: Actor, login: str, password: str) -> None:
    """Set `login`'s password: a user their own, an admin anyone's."""
    if login != actor.login and not actor.is_admin:
        raise PermissionDenied(_("Only an admin may set another user's password."))
    user = m.User.get_or_none(m.User.login == login)
    if user is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=login))
    check_new(password, login)
    hashed = hash_password(password)
    row = WebPassword.get_or_none(WebPassword.user == user.id)
    if row is None:
        WebPassword.create(user=user.id, hash=hashed)
    else:
        WebPassword.update(hash=hashed, set_at=m.now()).where(
            WebPassword.id == row.id).execute()
    audit.log(actor, "password", "users", user.id, details=login)


def has_password(login: str) -> bool:
    return (WebPassword.select().join(m.User, on=WebPassword.user == m.User.id)
            .where(m.User.login == login).exists())


def verify(login: str, password: str) -> Actor | None:
    """The actor of an active user whose password this is; None otherwise (unknown login,
    no password set, disabled, wrong password), after the same slow hash in every case."""
    global _DUMMY
    user = m.User.get_or_none(m.User.login == login) if len(login) <= 200 else None
    row = WebPassword.get_or_none(WebPassword.user == user.id) if user is not None else None
    if user is None or row is None or len(password) > MAX_LENGTH:
        _DUMMY = _DUMMY or hash_password(secrets.token_hex(8))
        matches(password[:MAX_LENGTH], _DUMMY)
        return None
    if not matches(password, row.hash) or not user.active:
        return None
    return actor_from_user(user)


def active_actor(login: str) -> Actor | None:
    """The actor of an active user, or None: a one-time link's user, checked when used."""
    user = m.User.get_or_none(m.User.login == login)
    return actor_from_user(user) if user is not None and user.active else None


@write
def record_login(login: str, outcome: str, address: str) -> None:
    """Audit a browser login: outcome is "login", "login_failed" or "login_throttled"."""
    user = m.User.get_or_none(m.User.login == login) if len(login) <= 200 else None
    who = actor_from_user(user) if user is not None else Actor(None, login, role="viewer")
    audit.log(who, outcome, "users", user.id if user is not None else None,
              details=f"{login[:200]} from {address}")


def anyone_has_password() -> bool:
    return WebPassword.select().exists()
