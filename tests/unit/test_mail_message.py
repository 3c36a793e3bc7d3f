"""The one message writer (services/mail/message.py) against Python's email parser.

Generated display names, subjects and addresses (Cyrillic, emoji, quotes, commas,
parentheses, backslashes, 200+ characters) through the plain path and the HTML/attachment
path: every header decodes back to the input; a line break in any header input is refused
with a one-line message. Display names are decoded the RFC 2047 way (email.header), and the
modern parser (email.policy.default), which keeps the space between two encoded words in a
display name, must at least see every word whole: encoded words break only at spaces.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tui_crm.services.mail import message
from tui_crm.services.mail.message import HeaderProblem, build_message

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Account:
    from_address: str
    from_name: str


# Text a person may type: Latin, Cyrillic, emoji, the characters that need quoting, spaces.
ALPHABET = st.sampled_from(list(
    "abcxyzABCXYZ0189 абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЁЖЯ"
    "\"',.()<>@:;[]\\=?!#$%&*+-/_{|}~`^«»—№€😀🎉👍🏽") + [" ", " ", " ", "\t", "\u00a0"])
TEXT = st.text(ALPHABET, max_size=60) | st.text(ALPHABET, min_size=200, max_size=260)
ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
LOCAL = st.lists(st.text(ATEXT, min_size=1, max_size=12), min_size=1, max_size=3).map(".".join)
LABEL = (st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=15)
         | st.text("абвгдежзийклмнопрстуфхцчшщэюя", min_size=1, max_size=15))
DOMAIN = st.tuples(st.lists(LABEL, min_size=1, max_size=3),
                   st.sampled_from(["com", "ru", "рф", "test"])).map(
    lambda parts: ".".join([*parts[0], parts[1]]))
ADDRESS = st.tuples(LOCAL, DOMAIN).map("@".join)
BODY = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
               max_size=300)
FILE_NAME = st.text(st.sampled_from(list("abcXYZ019 ._-()абвгдЖЯ😀,'")), min_size=1,
                    max_size=40).map(lambda s: s + ".pdf")


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _raw(data: bytes, name: str) -> str:
    """A header's value as sent, unfolded."""
    legacy = email.message_from_bytes(data, policy=email.policy.compat32)
    return re.sub(r"\r?\n", "", legacy[name])


def _rfc2047(text: str) -> str:
    return str(make_header(decode_header(text)))


def _check_address(data: bytes, parsed: EmailMessage, name: str, display: str,
                   address: str) -> None:
    header = parsed[name]
    assert not header.defects, (name, header.defects)
    [mailbox] = header.addresses
    assert mailbox.addr_spec == message.header_address(address)
    shown, _addr = parseaddr(_raw(data, name))
    assert _rfc2047(shown) == display  # what a mail client shows
    if all(len(word.encode()) <= 39 for word in display.split(" ")):
        # No stray gap inside a word even for the modern parser.
        assert mailbox.display_name.split() == display.split()
    if message.is_plain(display):  # quoted as typed: exact for every parser
        assert mailbox.display_name == display


def _check_headers(data: bytes, acc: Account, to_name: str, to: str, subject: str) -> None:
    parsed = _parse(data)
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF line ends only
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    _check_address(data, parsed, "From", acc.from_name, acc.from_address)
    _check_address(data, parsed, "To", to_name, to)
    assert str(parsed["Subject"]) == subject
    assert _rfc2047(_raw(data, "Subject")) == subject
    if all(len(word) <= 60 for word in subject.split(" ")):
        subject_lines = head.split(b"Subject:", 1)[1].split(b"\r\n")
        lines = [subject_lines[0]] + [x for x in subject_lines[1:] if x.startswith(b" ")]
        assert all(len(line) + 8 <= 78 for line in lines[:1])
        assert all(len(line) <= 78 for line in lines[1:])
    assert str(parsed["Message-ID"]) == "<1.x@firm.test>"


@SETTINGS
@given(from_name=TEXT, to_name=TEXT, subject=TEXT, to=ADDRESS, sender=ADDRESS, body=BODY)
@example(from_name="Константинопольский Александр Вячеславович (отдел продаж)",
         to_name='Рога и копыта, "ООО" \\ филиал', subject="Прайс-лист на декабрь " * 10,
         to="ivan@пример.рф", sender="sales@firm.test", body="Здравствуйте!\n")
@example(from_name="O'Brien (sales)", to_name="back\\slash", subject="a =?utf-8?q?b?= c",
         to="a.b@c.com", sender="x@y.com", body="")
def test_a_plain_message_decodes_back_to_its_input(from_name: str, to_name: str,
                                                   subject: str, to: str, sender: str,
                                                   body: str) -> None:
    acc = Account(sender, from_name)
    data = build_message(acc, to_name, to, subject, body, html=False, attachments=[],
                         message_id="<1.x@firm.test>")
    _check_headers(data, acc, to_name, to, subject)
    # The written plain body reads as the email package's own text part.
    reference = EmailMessage(policy=message.POLICY)
    reference.set_content(body)
    theirs = _parse(reference.as_bytes(policy=message.POLICY))
    ours = _parse(data)
    assert not ours.defects
    assert ours.get_content_type() == "text/plain"
    assert ours.get_content() == theirs.get_content()


@SETTINGS
@given(from_name=TEXT, to_name=TEXT, subject=TEXT, to=ADDRESS, html=st.booleans(),
       files=st.lists(st.tuples(FILE_NAME, st.binary(max_size=200)), max_size=2),
       body=BODY)
def test_an_html_or_attached_message_decodes_back_to_its_input(
        from_name: str, to_name: str, subject: str, to: str, html: bool,
        files: list[tuple[str, bytes]], body: str) -> None:
    assume(html or files)
    acc = Account("sales@firm.test", from_name)
    text = f"<p>{body}</p>" if html else body
    data = build_message(acc, to_name, to, subject, text, html=html, attachments=files,
                         message_id="<1.x@firm.test>")
    _check_headers(data, acc, to_name, to, subject)
    parsed = _parse(data)
    if html:
        part = parsed.get_body(("html",))
        assert part is not None
        assert part.get_content().replace("\r\n", "\n") == text.replace("\r\n", "\n") + (
            "" if text.endswith("\n") else "\n")
    assert [p.get_content() for p in parsed.iter_attachments()] == [c for _n, c in files]
    # File names as written, less spaces around them (which readers drop).
    assert [p.get_filename() for p in parsed.iter_attachments()] == [n.strip() for n, _c in files]


FIELDS = ["from_name", "to_name", "subject", "to", "sender", "message_id", "file"]


@SETTINGS
@given(field=st.sampled_from(FIELDS), brk=st.sampled_from(["\r", "\n", "\r\n"]),
       before=st.text(ALPHABET, max_size=20), after=st.text(ALPHABET, max_size=20),
       rich=st.booleans())
def test_a_line_break_in_any_header_input_is_refused(field: str, brk: str, before: str,
                                                     after: str, rich: bool) -> None:
    given = {"from_name": "Фирма", "to_name": "Иван", "subject": "Прайс",
             "to": "ivan@example.com", "sender": "sales@firm.test",
             "message_id": "<1.x@firm.test>", "file": "price.pdf"}
    given[field] = given[field][:3] + before + brk + "Bcc: spy@evil.test" + after
    with pytest.raises(HeaderProblem) as caught:
        build_message(Account(given["sender"], given["from_name"]), given["to_name"],
                      given["to"], given["subject"], "body", html=rich,
                      attachments=[(given["file"], b"%PDF")] if rich or field == "file"
                      else [], message_id=given["message_id"])
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)
    assert str(caught.value)


def test_a_long_cyrillic_name_breaks_between_words_keeping_each_space() -> None:
    name = "Константинопольская Александра Вячеславовна, отдел продаж «Северо-Запад»"
    words = message.encoded_words(name)
    assert len(words) > 2 and all(len(w) <= 75 for w in words)
    decoded = [_rfc2047(w) for w in words]
    assert "".join(decoded) == name
    assert all(piece.endswith(" ") for piece in decoded[:-1])  # never inside a word


def test_a_display_name_with_parentheses_and_a_backslash_is_quoted_not_mangled() -> None:
    acc = Account("sales@firm.test", "Sales (Moscow) \\ \"Office\"")
    data = build_message(acc, "Smith, John (CEO)", "john@example.com", "Hi", "x",
                         html=True, attachments=[], message_id="<1.x@firm.test>")
    parsed = _parse(data)
    assert parsed["From"].addresses[0].display_name == "Sales (Moscow) \\ \"Office\""
    assert parsed["To"].addresses[0].display_name == "Smith, John (CEO)"
    assert b'From: "Sales (Moscow) \\\\ \\"Office\\"" <sales@firm.test>' in data


def test_an_address_without_at_or_with_a_cyrillic_mailbox_is_refused() -> None:
    acc = Account("sales@firm.test", "")
    for bad in ("no-at-sign", "иван@пример.рф", "@example.com"):
        with pytest.raises(HeaderProblem) as caught:
            build_message(acc, "", bad, "s", "b", html=False, attachments=[],
                          message_id="<1@x>")
        assert "\n" not in str(caught.value)
