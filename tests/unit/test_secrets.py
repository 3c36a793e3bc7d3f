"""Passwords: only a secure keyring or an environment variable; insecure backends refused.

A plaintext backend is a real keyring backend module written into a temporary folder and
chosen the way users choose one (PYTHON_KEYRING_BACKEND, keyringrc.cfg), so the test shows
that keyring itself would have used it and tui-crm did not.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from tui_crm.db.mail_models import MailAccount
from tui_crm.services.core import secrets
from tui_crm.services.mail import accounts

CANARY = "Canary-secret-9d2e-Пароль"

PLAINTEXT_BACKEND = textwrap.dedent('''
    """A plaintext keyring like keyrings.alt's PlaintextKeyring: secrets in a readable file."""
    import json
    import os

    from keyring.backend import KeyringBackend

    FILE = os.environ["PLAINTEXT_KEYRING_FILE"]


    class PlaintextKeyring(KeyringBackend):
        priority = 0.5

        def _load(self):
            if os.path.exists(FILE):
                with open(FILE, encoding="utf-8") as fh:
                    return json.load(fh)
            return {}

        def set_password(self, service, username, password):
            data = self._load()
            data[f"{service}/{username}"] = password
            with open(FILE, "w", encoding="utf-8") as fh:
                json.dump(data, fh)

        def get_password(self, service, username):
            return self._load().get(f"{service}/{username}")

        def delete_password(self, service, username):
            pass
''')


class Memory(KeyringBackend):
    """Stands in for a secure OS keyring in tests (allowlisted by the `trusted` fixture)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.data.pop((service, username), None)


class Forgetful(Memory):
    """Accepts a password and keeps nothing (a broken or locked store)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


@pytest.fixture
def keyring_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """keyring's config folder under tmp_path, and the process's backend restored after."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(secrets.ENV_BACKEND, raising=False)
    previous = keyring.get_keyring()
    yield tmp_path
    keyring.set_keyring(previous)


@pytest.fixture
def plaintext_module(keyring_state: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plaintext backend importable as `plainring.PlaintextKeyring`; returns its data file."""
    folder = keyring_state / "mods"
    folder.mkdir()
    (folder / "plainring.py").write_text(PLAINTEXT_BACKEND, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    data_file = keyring_state / "plain-secrets.json"
    monkeypatch.setenv("PLAINTEXT_KEYRING_FILE", str(data_file))
    yield data_file
    sys.modules.pop("plainring", None)


@pytest.fixture
def trusted(keyring_state: Path, monkeypatch: pytest.MonkeyPatch) -> Memory:
    backend = Memory()
    monkeypatch.setattr(secrets, "trusted_backends",
                        secrets.trusted_backends | {secrets.backend_name(backend)})
    keyring.set_keyring(backend)
    return backend


def test_plaintext_backend_chosen_by_environment_is_refused(plaintext_module: Path,
                                                            monkeypatch) -> None:
    monkeypatch.setenv(secrets.ENV_BACKEND, "plainring.PlaintextKeyring")
    keyring.core.init_backend()  # keyring itself would now use the plaintext file
    assert secrets.backend_name(keyring.get_keyring()) == "plainring.PlaintextKeyring"

    with pytest.raises(secrets.InsecureKeyring) as caught:
        secrets.store("smtp:sales@mail.test:587", CANARY)

    message = str(caught.value)
    assert "plainring.PlaintextKeyring" in message and "PYTHON_KEYRING_BACKEND" in message
    assert "--password-env" in message and "Secret Service" in message
    assert not plaintext_module.exists()  # nothing was written anywhere


def test_plaintext_backend_in_keyringrc_is_refused(plaintext_module: Path,
                                                   keyring_state: Path) -> None:
    config = secrets.config_file()
    config.parent.mkdir(parents=True)
    config.write_text("[backend]\ndefault-keyring=plainring.PlaintextKeyring\n",
                      encoding="utf-8")
    keyring.core.init_backend()
    assert secrets.backend_name(keyring.get_keyring()) == "plainring.PlaintextKeyring"

    with pytest.raises(secrets.InsecureKeyring) as caught:
        secrets.store("k", CANARY)
    assert str(config) in str(caught.value)
    assert not plaintext_module.exists()


@pytest.mark.parametrize("backend", [null.Keyring(), fail.Keyring()])
def test_null_and_fail_backends_are_refused(keyring_state: Path, backend) -> None:  # noqa: ANN001
    keyring.set_keyring(backend)
    with pytest.raises(secrets.InsecureKeyring, match="--password-env"):
        secrets.store("k", CANARY)
    with pytest.raises(secrets.InsecureKeyring):
        secrets.fetch("k")


def test_an_unknown_backend_is_refused_even_when_set_in_code(keyring_state: Path) -> None:
    keyring.set_keyring(Memory())  # not on the allowlist
    with pytest.raises(secrets.InsecureKeyring, match="Memory"):
        secrets.store("k", CANARY)


def test_a_secure_backend_stores_and_reads_back(trusted: Memory) -> None:
    secrets.store("smtp:sales@mail.test:587", CANARY)
    assert trusted.data[("tui-crm", "smtp:sales@mail.test:587")] == CANARY
    assert secrets.fetch("smtp:sales@mail.test:587") == CANARY
    secrets.delete("smtp:sales@mail.test:587")
    with pytest.raises(secrets.SecretProblem, match="No password"):
        secrets.fetch("smtp:sales@mail.test:587")


def test_read_back_catches_a_store_that_drops_secrets(keyring_state: Path,
                                                      monkeypatch) -> None:
    backend = Forgetful()
    monkeypatch.setattr(secrets, "trusted_backends",
                        secrets.trusted_backends | {secrets.backend_name(backend)})
    keyring.set_keyring(backend)
    with pytest.raises(secrets.SecretProblem, match="gave back something else"):
        secrets.store("k", CANARY)


def test_environment_variable_passwords(monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASS", CANARY)
    assert secrets.from_env("SMTP_PASS") == CANARY
    monkeypatch.delenv("SMTP_PASS")
    with pytest.raises(secrets.SecretProblem, match="SMTP_PASS"):
        secrets.from_env("SMTP_PASS")
    with pytest.raises(secrets.SecretProblem, match="not an environment variable name"):
        secrets.check_env_name("MY PASS")
    assert secrets.link_key(5) == "link:5"


def test_link_passwords_use_the_same_store(trusted: Memory) -> None:
    secrets.store(secrets.link_key(7), CANARY)
    assert secrets.fetch(secrets.link_key(7)) == CANARY


def test_account_with_a_refused_keyring_is_not_created(db, actor, plaintext_module,  # noqa: ANN001
                                                       monkeypatch) -> None:
    monkeypatch.setenv(secrets.ENV_BACKEND, "plainring.PlaintextKeyring")
    with pytest.raises(secrets.InsecureKeyring):
        accounts.add_account(actor, "office", host="smtp.mail.test", port=587,
                            security="starttls", from_address="s@mail.test", login="s",
                            password=CANARY)
    assert MailAccount.select().count() == 0
    # The headless alternative works: the account names the variable, not the password.
    view = accounts.add_account(actor, "office", host="smtp.mail.test", port=587,
                               security="starttls", from_address="s@mail.test", login="s",
                               password_env="OFFICE_SMTP_PASSWORD")
    assert view.password_source == "env" and view.password_env == "OFFICE_SMTP_PASSWORD"
    assert not plaintext_module.exists()
