"""SMTP accounts: the server, the login and where its password lives (the keyring or an
environment variable; never the database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_crm.db.database import write
from tui_crm.db.mail_models import MailAccount
from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import N_, _
from tui_crm.services.core import audit, secrets, server_files
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail.common import by_name_or_id, require_mail
from tui_crm.services.mail.message import (
    HeaderProblem,
    build_message,
    check_deliverable,
    new_message_id,
    one_line,
)
from tui_crm.services.mail.smtp import (
    SmtpDropped,
    SmtpRejected,
    SmtpSession,
    check_transport,
    clear_text_login,
)
from tui_crm.text.identity import InvalidValue, validate_email

SECURITY = {"ssl": N_("SSL/TLS"), "starttls": N_("STARTTLS"), "none": N_("none (unencrypted)")}
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class AccountView:
    id: int
    name: str
    host: str
    port: int
    security: str
    login: str
    from_address: str
    from_name: str
    password_source: str  # keyring / env / none
    password_env: str

    def describe_password(self) -> str:
        if self.password_source == "keyring":
            return _("in the keyring")
        if self.password_source == "env":
            return _("in ${name}").format(name=self.password_env)
        return _("none")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "host": self.host, "port": self.port,
                "security": self.security, "login": self.login,
                "from_address": self.from_address, "from_name": self.from_name,
                "password_source": self.password_source, "password_env": self.password_env}


def account_view(a: MailAccount) -> AccountView:
    """The account as the UI and the CLI see it (a plain value)."""
    return AccountView(a.id, a.name, a.host, a.port, a.security, a.login, a.from_address,
                       a.from_name, a.password_source, a.password_env)


def secret_key(host: str, port: int, login: str) -> str:
    """The keyring key of an account's password: the login at the server."""
    return f"smtp:{login}@{host}:{port}"


def _clean_account(name: str, host: str, port: int | str | None, security: str,
                   from_address: str, login: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"name": name.strip(), "host": host.strip(), "login": login.strip(),
                           "security": security.strip().lower()}
    if not out["name"]:
        errors["name"] = _("Required")
    if not out["host"] or any(c.isspace() for c in out["host"]):
        errors["host"] = _("A server name such as smtp.example.com")
    if out["security"] not in SECURITY:
        errors["security"] = _("Choose one of: {known}").format(known=", ".join(SECURITY))
    try:
        out["port"] = int(port) if port is not None and port != "" else \
            DEFAULT_PORTS.get(out["security"], 587)
        if not 0 < out["port"] < 65536:
            raise ValueError
    except (TypeError, ValueError):
        errors["port"] = _("A port number from 1 to 65535")
    try:
        out["from_address"] = validate_email(from_address)
        check_deliverable(out["from_address"])
    except (InvalidValue, CrmError) as exc:
        errors["from_address"] = str(exc)
    if "host" not in errors and "security" not in errors:
        problem = clear_text_login(out["security"], out["host"], out["login"])
        if problem is not None:
            errors["security"] = problem
    if errors:
        raise ValidationError(errors)
    return out


def add_account(actor: Actor, name: str, *, host: str, port: int | str | None = None,
                security: str = "starttls", from_address: str, login: str = "",
                from_name: str = "", password: str | None = None,
                password_env: str | None = None) -> AccountView:
    """Add an SMTP account. The password goes to the secure keyring (read back and compared)
    or stays in the environment variable `password_env`; the database keeps neither."""
    require_mail(actor)
    if password_env:
        server_files.check_environment(actor, password_env)
    cleaned = _clean_account(name, host, port, security, from_address, login)
    try:
        one_line("From", from_name)  # it goes into every message's From header
    except HeaderProblem as exc:
        raise ValidationError({"from_name": str(exc)}) from None
    if password and password_env:
        raise ValidationError({"password": _("Give a password or an environment variable, "
                                             "not both")})
    if (password or password_env) and not cleaned["login"]:
        raise ValidationError({"login": _("A password needs a login")})
    if MailAccount.select().where(MailAccount.name == cleaned["name"]).exists():
        raise ValidationError({"name": _("An account {name!r} already exists").format(
            name=cleaned["name"])})
    source, env_name = "none", ""
    if password_env:
        env_name = secrets.check_env_name(password_env)
        source = "env"
    elif password:
        # Stored before the row is written: a refused keyring leaves nothing behind.
        secrets.store(secret_key(cleaned["host"], cleaned["port"], cleaned["login"]), password)
        source = "keyring"
    return _insert_account(actor, cleaned, from_name.strip(), source, env_name)


@write
def _insert_account(actor: Actor, cleaned: dict[str, Any], from_name: str, source: str,
                    env_name: str) -> AccountView:
    account = MailAccount.create(**cleaned, from_name=from_name, password_source=source,
                                 password_env=env_name, created_by=actor.user_id)
    audit.log(actor, "create", "mail_accounts", account.id, details=account.name)
    return account_view(account)


def list_accounts(actor: Actor) -> list[AccountView]:
    """The accounts (servers, logins, where the passwords live): for those who may mail."""
    require_mail(actor)
    return [account_view(a) for a in MailAccount.select().order_by(MailAccount.name)]


def find_account(ref: str | int) -> MailAccount:
    """The account row by name or id (`#7`); NotFound names the command that lists them."""
    return by_name_or_id(MailAccount, ref,
                          _("No mail account {name!r}; see `tui-crm mail account list`."))


def get_account(actor: Actor, ref: str | int) -> AccountView:
    require_mail(actor)
    return account_view(find_account(ref))


@write
def remove_account(actor: Actor, ref: str | int) -> None:
    require_mail(actor)
    account = find_account(ref)
    if account.password_source == "keyring":
        secrets.delete(secret_key(account.host, account.port, account.login))
    audit.log(actor, "delete", "mail_accounts", account.id, details=account.name)
    account.delete_instance()


def account_password(account: AccountView | MailAccount) -> str | None:
    """The account's password from where it lives (None when the server needs no login)."""
    if account.password_source == "env":
        return secrets.from_env(account.password_env)
    if account.password_source == "keyring":
        return secrets.fetch(secret_key(account.host, account.port, account.login))
    return None


def test_account(actor: Actor, ref: str | int, *, to: str | None = None,
                 timeout: float = 30) -> str:
    """Connect, log in and send a short message to the sender (or `to`); the server's reply."""
    require_mail(actor)
    account = account_view(find_account(ref))
    check_transport(account)
    target = validate_email(to) if to else account.from_address
    session = SmtpSession(account, account_password(account), timeout=timeout)
    try:
        session.open()
        message = build_message(account, "", target, _("tui-crm test message"),
                                _("The account {name} can send mail.").format(name=account.name),
                                html=False, attachments=[], message_id=new_message_id(account))
        try:
            return session.send(account.from_address, target, message)
        except SmtpRejected as exc:
            raise CrmError(_("The server refused the test message: {reply}").format(
                reply=exc.reply)) from None
        except SmtpDropped:
            raise CrmError(_("The server closed the connection during the test message."
                             )) from None
    finally:
        session.close()

