"""The one writer of the messages tui-crm sends (mailings, test messages).

Headers are written here for every message, plain or not: addresses through
`email.headerregistry.Address` (which quotes a display name with commas, parentheses,
quotes or a backslash as RFC 5322 wants), text that is not plain ASCII as RFC 2047 encoded
words that break only at spaces, each space kept inside the word before it. Python's own
folding (3.11) breaks encoded words inside a word and drops the space between two of them,
so mail clients showed "Але ксандр" and "ивсех"; breaking at spaces shows the text as typed
in any client. A line break in any header input is refused (it would start a new header).

The body: a plain-text message without attachments (most mailings) is written directly,
7bit or base64 (the email package took twice as long as the rest of sending a message);
HTML and attachments go through the email package's MIME writer. Tests compare both with
Python's email parser.
"""

from __future__ import annotations

import base64
import email.policy
import functools
import mimetypes
import re
import uuid
from collections.abc import Iterable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from html.parser import HTMLParser
from typing import Protocol

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _

POLICY = email.policy.SMTP.clone(cte_type="7bit")  # 7-bit bodies go through any server
MAX_LINE = 78  # RFC 5322: header and 7bit body lines SHOULD be at most 78 characters
_HARD_LINE = 998  # … and MUST be at most 998
_WORD_BYTES = 39  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 + "?=" fits a line


class HeaderProblem(CrmError):
    """A header input that cannot be written (a line break, an address without @…)."""


class Sender(Protocol):
    """What the writer needs of an account (an AccountView or a MailAccount row)."""

    @property
    def from_address(self) -> str: ...
    @property
    def from_name(self) -> str: ...


def subject_line(text: str) -> str:
    """A filled-in template subject as one header line: its line breaks and runs of spaces
    become one space (a template's line break must not inject headers)."""
    return " ".join(text.split())


@functools.lru_cache(maxsize=256)  # the sender's address, again and again
def header_address(address: str) -> str:
    """The address with an internationalized domain in punycode (as headers and SMTP
    commands carry it); unchanged when the domain cannot be converted."""
    local, _sep, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def new_message_id(account: Sender) -> str:
    domain = account.from_address.rsplit("@", 1)[-1]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "tui-crm.invalid"
    return f"<{uuid.uuid4().hex}.tui-crm@{domain}>"


class _TextOfHtml(HTMLParser):
    """A readable plain-text part for an HTML message."""

    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self.skip:
            self.skip -= 1
        elif tag in ("p", "div", "tr"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.parts).splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return parser.text()


# --- headers -----------------------------------------------------------------------------------

_FIELDS = {"From": N_("sender's name"), "To": N_("recipient's name"), "Subject": N_("subject"),
           "Message-ID": N_("Message-ID"), "address": N_("address"), "file": N_("file name")}


def one_line(field: str, value: str) -> str:
    """`value` when it has no line break; else HeaderProblem naming the field (a key of
    _FIELDS: From, To, Subject, Message-ID, address, file)."""
    if "\r" in value or "\n" in value:
        raise HeaderProblem(_("The {field} contains a line break; a mail header is one "
                              "line: {value!r}").format(field=_(_FIELDS[field]),
                                                        value=value[:60]))
    return value


def is_plain(value: str) -> bool:
    """Whether a header value may be written as it is: printable ASCII, single spaces
    between words and none around them, no encoded-word look-alike a reader would decode."""
    return (value.isascii() and value.isprintable() and "=?" not in value
            and "  " not in value and value.strip(" ") == value)


def encoded_words(text: str) -> list[str]:
    """RFC 2047 encoded words (base64, UTF-8) of `text`, each short enough to stand on a
    folded line of its own, breaking only after a space (the space stays in the word
    before); a word too long for one encoded word is broken between characters."""
    pieces: list[bytes] = []
    chunk = b""
    for token in re.findall(r"[^ ]+ *| +", text):
        data = token.encode("utf-8")
        if len(chunk) + len(data) <= _WORD_BYTES:
            chunk += data
            continue
        if chunk:
            pieces.append(chunk)
            chunk = b""
        if len(data) <= _WORD_BYTES:
            chunk = data
            continue
        for char in token:  # a very long word: as many whole characters as fit
            one = char.encode("utf-8")
            if len(chunk) + len(one) > _WORD_BYTES:
                pieces.append(chunk)
                chunk = b""
            chunk += one
    if chunk or not pieces:
        pieces.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(p).decode('ascii')}?=" for p in pieces]


def _folded(line: str) -> str:
    """A header line folded before its spaces so lines keep to MAX_LINE where a space
    allows (unfolding gives the line back)."""
    if len(line) <= MAX_LINE:
        return line
    words = line.split(" ")
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > MAX_LINE:
            lines.append(" " + word)  # the space opens the continuation line
        else:
            lines[-1] += " " + word
    return "\r\n".join(lines)


def text_header(name: str, value: str) -> str:
    """An unstructured header (Subject): as it is when plain, else encoded words."""
    one_line(name, value)
    if is_plain(value):
        line = f"{name}: {value}"
        if all(len(word) <= MAX_LINE - 2 for word in value.split(" ")):
            return _folded(line)
    return f"{name}: " + "\r\n ".join(encoded_words(value))


def check_deliverable(address: str) -> None:
    """An address plain SMTP can carry, in its commands and headers: an internationalized
    domain is converted, a non-ASCII mailbox (before the @) would need SMTPUTF8."""
    if not header_address(address).isascii():
        raise HeaderProblem(_("The address {address} has non-Latin letters before the @; "
                              "this server connection cannot send to it.").format(
            address=address))


def _address(address: str) -> Address:
    one_line("address", address)
    username, at, domain = header_address(address.strip()).rpartition("@")
    if not at or not username or not domain:
        raise HeaderProblem(_("{address!r} is not an e-mail address").format(
            address=address))
    check_deliverable(address)
    return Address(username=username, domain=domain)


def address_header(name: str, display: str, address: str) -> str:
    """From/To: `display <address>`, the name quoted (plain ASCII) or as encoded words."""
    one_line(name, display)
    mailbox = _address(address)
    if not display:
        return f"{name}: {mailbox.addr_spec}"
    if is_plain(display):
        line = f"{name}: {Address(display, mailbox.username, mailbox.domain)}"
        if len(line) <= _HARD_LINE:
            return _folded(line)
    words = encoded_words(display)
    last = len(words[-1]) + len(mailbox.addr_spec) + 3
    tail = f" <{mailbox.addr_spec}>" if last <= MAX_LINE else f"\r\n <{mailbox.addr_spec}>"
    return f"{name}: " + "\r\n ".join(words) + tail


def _head(account: Sender, to_name: str, to_address: str, subject: str,
          message_id: str) -> str:
    one_line("Message-ID", message_id)
    if not message_id.isascii() or not message_id.isprintable() or " " in message_id:
        raise HeaderProblem(_("A Message-ID is printable ASCII without spaces: {value!r}")
                            .format(value=message_id))
    return "\r\n".join((
        address_header("From", account.from_name, account.from_address),
        address_header("To", to_name, to_address),
        text_header("Subject", subject),
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: {message_id}",
        "X-Mailer: tui-crm",
    ))


# --- bodies ------------------------------------------------------------------------------------


def _plain_body(body: str) -> bytes:
    """A text/plain part as the email package writes it, up to the choice of encoding."""
    lines = body.encode("utf-8").splitlines()  # as the email package splits a text part
    if body.isascii() and "\0" not in body and all(len(x) <= MAX_LINE for x in lines):
        encoding, content = "7bit", b"\r\n".join(lines) + b"\r\n"
    else:
        raw = b"\r\n".join(lines) + b"\r\n"  # text is CRLF inside the encoding too
        encoding = "base64"
        content = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (b'Content-Type: text/plain; charset="utf-8"\r\n'
            + f"Content-Transfer-Encoding: {encoding}\r\n".encode("ascii")
            + b"MIME-Version: 1.0\r\n\r\n" + content)


def _mime_body(body: str, html: bool, attachments: list[tuple[str, bytes]]) -> bytes:
    """HTML (with its plain-text alternative) and attachments: the email package's MIME."""
    msg = EmailMessage(policy=POLICY)
    if html:
        msg.set_content(html_to_text(body))
        msg.add_alternative(body, subtype="html")
    else:
        msg.set_content(body)
    for name, content in attachments:
        one_line("file", name)
        ctype, encoding = mimetypes.guess_type(name)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        # Spaces around a file name: readers drop them from the quoted name, so they go.
        msg.add_attachment(content, maintype=maintype, subtype=subtype,
                           filename=name.strip())
    return msg.as_bytes(policy=POLICY)


def build_message(account: Sender, to_name: str, to_address: str, subject: str, body: str,
                  *, html: bool, attachments: Iterable[tuple[str, bytes]],
                  message_id: str) -> bytes:
    """The message as bytes ready for SMTP DATA (CRLF line ends); `attachments` are
    (file name, bytes) as mail_files.contents gives them. HeaderProblem (one line) when a
    header input has a line break or an address cannot be written."""
    files = list(attachments)
    head = _head(account, to_name, to_address, subject, message_id).encode("ascii")
    if not html and not files:
        return head + b"\r\n" + _plain_body(body)
    return head + b"\r\n" + _mime_body(body, html, files)
