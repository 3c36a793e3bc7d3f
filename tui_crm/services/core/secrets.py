"""Passwords (SMTP accounts, links): in the system keyring or an environment variable, never in
the database, the config file, a log or a process argument.

keyring silently picks whatever backend it finds: with no desktop session that is the `fail`
backend, and with keyrings.alt installed a plaintext (base64) file. So the backend is checked
against an allowlist of real secret stores — the one keyring resolved, and also the one named
by `PYTHON_KEYRING_BACKEND` or keyringrc.cfg — and an insecure one is refused with a message
that lists what works on a headless server. After storing, the password is read back and
compared, so a backend that accepts and drops secrets is caught at once.
"""

from __future__ import annotations

import configparser
import logging
import os
import re
from pathlib import Path

from tui_crm.errors import CrmError
from tui_crm.i18n import _

log = logging.getLogger(__name__)

SERVICE = "tui-crm"
ENV_BACKEND = "PYTHON_KEYRING_BACKEND"

# Backends that keep secrets encrypted by the OS or a desktop secret service.
SECURE_BACKENDS = frozenset({
    "keyring.backends.SecretService.Keyring",
    "keyring.backends.libsecret.Keyring",
    "keyring.backends.kwallet.DBusKeyring",
    "keyring.backends.kwallet.DBusKeyringKWallet4",
    "keyring.backends.macOS.Keyring",
    "keyring.backends.Windows.WinVaultKeyring",
})
# The allowlist in force; tests add an in-memory backend of their own here.
trusted_backends: set[str] = set(SECURE_BACKENDS)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SecretProblem(CrmError):
    """A password cannot be stored or found."""


class InsecureKeyring(SecretProblem):
    """The keyring would keep the password where others can read it (or nowhere)."""


def backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def config_file() -> Path:
    """keyring's own configuration file (keyringrc.cfg)."""
    from keyring.util import platform_

    return Path(platform_.config_root()) / "keyringrc.cfg"


def _configured_in_file() -> str | None:
    path = config_file()
    if not path.is_file():
        return None
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
        return parser.get("backend", "default-keyring").strip() or None
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None


def headless_options() -> str:
    return _(
        "Secure options on a server without a desktop: keep the password in an environment "
        "variable and give its name with --password-env VAR (set it from a file only you can "
        "read, e.g. a systemd EnvironmentFile or your shell profile); or run a Secret Service "
        "keyring in a D-Bus session (gnome-keyring-daemon --unlock) or KWallet; and remove "
        "PYTHON_KEYRING_BACKEND or the default-keyring line of {path} if they name an "
        "insecure backend."
    ).format(path=config_file())


def _refuse(problem: str) -> InsecureKeyring:
    return InsecureKeyring(f"{problem} {headless_options()}")


def secure_keyring():  # noqa: ANN201 - a keyring.backend.KeyringBackend
    """The keyring backend, if it is a secure store; InsecureKeyring otherwise."""
    chosen = os.environ.get(ENV_BACKEND, "").strip()
    if chosen and chosen not in trusted_backends:
        raise _refuse(_("The keyring backend {name} chosen by {var} does not store passwords "
                        "securely; tui-crm refuses it.").format(name=chosen, var=ENV_BACKEND))
    in_file = _configured_in_file()
    if not chosen and in_file and in_file not in trusted_backends:
        raise _refuse(_("The keyring backend {name} chosen in {path} does not store passwords "
                        "securely; tui-crm refuses it.").format(name=in_file,
                                                                 path=config_file()))
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend named in the config, a missing module
        raise _refuse(_("The keyring cannot be used: {reason}.").format(
            reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)) from None
    name = backend_name(backend)
    if isinstance(backend, ChainerBackend):
        names = [backend_name(b) for b in backend.backends]
        if not names or any(n not in trusted_backends for n in names):
            raise _refuse(_("No secure keyring is available (keyring would use: {names}).")
                          .format(names=", ".join(names) or name))
        return backend
    if name not in trusted_backends:
        if name.startswith("keyring.backends.fail"):
            raise _refuse(_("No secure keyring is available on this system."))
        raise _refuse(_("The keyring backend {name} does not store passwords securely; "
                        "tui-crm refuses it.").format(name=name))
    return backend


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__


def store(key: str, password: str) -> None:
    """Keep a password in the secure keyring under `key`, then read it back to be sure."""
    if not password:
        raise SecretProblem(_("The password is empty."))
    backend = secure_keyring()
    try:
        backend.set_password(SERVICE, key, password)
        stored = backend.get_password(SERVICE, key)
    except Exception as exc:  # every backend has its own errors (D-Bus, locked collection)
        raise SecretProblem(_("The keyring could not store the password: {reason}").format(
            reason=_reason(exc))) from None
    if stored != password:
        raise SecretProblem(_("The keyring accepted the password but gave back something "
                              "else; it was not stored. {options}").format(
            options=headless_options()))


def fetch(key: str) -> str:
    """The password stored under `key`; SecretProblem when there is none."""
    backend = secure_keyring()
    try:
        password = backend.get_password(SERVICE, key)
    except Exception as exc:
        raise SecretProblem(_("The keyring could not read the password: {reason}").format(
            reason=_reason(exc))) from None
    if not password:
        raise SecretProblem(_("No password for {key} in the keyring; store it again.").format(
            key=key))
    return password


def delete(key: str) -> None:
    """Forget a stored password (nothing happens when there is none or no secure keyring;
    a keyring that fails otherwise is logged, never raised: the account goes anyway)."""
    try:
        backend = secure_keyring()
    except SecretProblem:
        return  # no secure keyring: nothing of ours can be stored in it
    from keyring.errors import PasswordDeleteError

    try:
        backend.delete_password(SERVICE, key)
    except PasswordDeleteError:
        pass  # not there: deleting what is not there is not a failure
    except Exception as exc:  # noqa: BLE001 - every backend has its own errors (D-Bus, locked)
        log.warning("the keyring could not delete the password %s: %s", key, _reason(exc))


def check_env_name(name: str) -> str:
    """A valid environment variable name, or ValidationError-like SecretProblem."""
    name = name.strip()
    if not _ENV_NAME.match(name):
        raise SecretProblem(_("{name!r} is not an environment variable name (letters, digits, "
                              "underscore).").format(name=name))
    return name


def from_env(name: str) -> str:
    """The password held in environment variable `name`."""
    value = os.environ.get(check_env_name(name), "")
    if not value:
        raise SecretProblem(_("The environment variable {name} that should hold the password "
                              "is not set.").format(name=name))
    return value


def link_key(link_id: int, database: str = "") -> str:
    """The keyring key of a link's password (`database` tells databases apart)."""
    return f"link:{database}:{link_id}" if database else f"link:{link_id}"
