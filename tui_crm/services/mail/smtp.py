"""The SMTP side of mail: which connections may carry a login, and one session that
sends many messages and tells a refusal (nothing delivered) from a broken connection before
or after the message body was handed over."""

from __future__ import annotations

import base64
import ipaddress
import re
import smtplib
import ssl
from typing import Protocol

from tui_crm.errors import CrmError, ValidationError
from tui_crm.i18n import _
from tui_crm.services.mail.message import header_address


class Server(Protocol):
    """What a session needs of an account (an AccountView or a MailAccount row)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def security(self) -> str: ...
    @property
    def login(self) -> str: ...


def is_loopback(host: str) -> bool:
    """A server on this computer: localhost or a loopback address (no name is looked up)."""
    name = host.strip().strip("[]").rstrip(".").casefold()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def clear_text_login(security: str, host: str, login: str) -> str | None:
    """Why an account may not log in as set up (the password would cross the network in
    clear text), or None. Checked when an account is saved and again before connecting,
    for accounts saved before the rule."""
    if security == "none" and login.strip() and not is_loopback(host):
        return _("A login without encryption would send the password in clear text to "
                 "{host}; choose starttls or ssl (only a server on this computer may go "
                 "without)").format(host=host.strip())
    return None


def check_transport(account: Server) -> None:
    """Refuse to connect where the password would cross the network in clear text."""
    problem = clear_text_login(account.security, account.host, account.login)
    if problem is not None:
        raise ValidationError({"security": problem})


class SmtpRejected(Exception):
    """The server answered the transaction with an error code (nothing was delivered)."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(reply)
        self.code = code
        self.reply = reply

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500


class SmtpDropped(Exception):
    """The connection broke; `after_body` when the message had been handed over already."""

    def __init__(self, reason: str, *, after_body: bool) -> None:
        super().__init__(reason)
        self.after_body = after_body


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"


def _envelope_address(address: str) -> str:
    """The address for MAIL FROM / RCPT TO: an internationalized domain in punycode."""
    return header_address(address)


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def _envelope_command(smtp: smtplib.SMTP, verb: str, address: str) -> tuple[int, bytes]:
    """MAIL FROM / RCPT TO. smtplib's mail() and rcpt() parse the address once more (as
    long as the rest of the command took); a plain address is written as it is."""
    if _PLAIN_ADDRESS.fullmatch(address):
        smtp.putcmd(verb, f"{'FROM' if verb == 'mail' else 'TO'}:<{address}>")
        return smtp.getreply()
    return smtp.mail(address) if verb == "mail" else smtp.rcpt(address)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _authenticate(smtp: smtplib.SMTP, login: str, password: str) -> None:
    """AUTH PLAIN (or LOGIN) with UTF-8 credentials, one mechanism only.

    smtplib's own login() encodes the credentials as ASCII (a Cyrillic password fails) and
    tries the next mechanism after a refusal, which some servers answer by hanging.
    """
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("AUTH")
    methods = smtp.esmtp_features.get("auth", "").upper().split()
    user, secret = login.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in methods:
        token = _b64(b"\0" + user + b"\0" + secret)
        code, reply = smtp.docmd("AUTH", "PLAIN " + token)
        if code == 334:  # the server wants the credentials after an empty challenge
            code, reply = smtp.docmd(token)
    elif "LOGIN" in methods:
        code, reply = smtp.docmd("AUTH", "LOGIN")
        if code == 334:
            code, reply = smtp.docmd(_b64(user))
        if code == 334:
            code, reply = smtp.docmd(_b64(secret))
    else:
        smtp.login(login, password)  # CRAM-MD5 and the like (ASCII credentials)
        return
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


class SmtpSession:
    """One SMTP connection, opened on demand and reused for many messages."""

    def __init__(self, account: Server, password: str | None, *, timeout: float = 30
                 ) -> None:
        self.account = account
        self._password = password
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0  # how many times a connection was opened (reuse check)

    def open(self) -> None:
        if self.smtp is not None:
            return
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise CrmError(_("The server {host} refused the login {login}: {reply}").format(
                host=self.account.host, login=self.account.login,
                reply=_reply_text(exc.smtp_code, exc.smtp_error))) from None
        except smtplib.SMTPNotSupportedError:
            raise CrmError(_("The server {host} does not accept a login on this connection; "
                             "check the security setting.").format(host=self.account.host)
                           ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionError(str(exc) or type(exc).__name__) from None
        self.smtp = smtp
        self.connections += 1

    def _connect(self) -> smtplib.SMTP:
        acc = self.account
        check_transport(acc)  # before a byte goes out
        smtp: smtplib.SMTP | None = None
        try:
            if acc.security == "ssl":
                smtp = smtplib.SMTP_SSL(acc.host, acc.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(acc.host, acc.port, timeout=self.timeout)
                if acc.security == "starttls":
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise CrmError(_("The server {host} does not offer STARTTLS; choose "
                                         "ssl or check the port.").format(host=acc.host))
                    smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
            if acc.login:
                _authenticate(smtp, acc.login, self._password or "")
            return smtp
        except BaseException:
            if smtp is not None:  # no half-open connection is left behind
                try:
                    smtp.close()
                except OSError:
                    pass
            raise

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            try:
                smtp.close()
            except OSError:
                pass

    def drop(self) -> None:
        """Forget a broken connection without talking to the server."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def send(self, from_address: str, to_address: str, data: bytes) -> str:
        """One SMTP transaction; the server's final reply. Raises SmtpRejected or SmtpDropped.

        DATA is driven step by step so a broken connection is known to have happened before
        or after the message body was handed over.
        """
        self.open()
        smtp = self.smtp
        assert smtp is not None
        after_body = False
        try:
            code, reply = _envelope_command(smtp, "mail", _envelope_address(from_address))
            if code != 250:
                self._reset()
                raise SmtpRejected(code, _reply_text(code, reply))
            code, reply = _envelope_command(smtp, "rcpt", _envelope_address(to_address))
            if code not in (250, 251):
                self._reset()
                raise SmtpRejected(code, _reply_text(code, reply))
            code, reply = smtp.docmd("data")
            if code != 354:
                self._reset()
                raise SmtpRejected(code, _reply_text(code, reply))
            payload = data if data.endswith(b"\r\n") else data + b"\r\n"
            payload = re.sub(rb"(?m)^\.", b"..", payload) + b".\r\n"
            after_body = True
            smtp.send(payload)
            code, reply = smtp.getreply()
            if code != 250:
                raise SmtpRejected(code, _reply_text(code, reply))
            return _reply_text(code, reply)
        except SmtpRejected as exc:
            if exc.code == 421:  # the server is closing the connection
                self.drop()
            raise
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise SmtpDropped(str(exc) or type(exc).__name__, after_body=after_body) from None
        except smtplib.SMTPResponseException as exc:
            self.drop()
            raise SmtpRejected(exc.smtp_code, _reply_text(exc.smtp_code, exc.smtp_error)
                               ) from None

    def _reset(self) -> None:
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()
