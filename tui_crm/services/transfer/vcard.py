"""vCard 2.1, 3.0 and 4.0: reading cards as phones, Outlook and Google write them, and
writing contacts and organizations as cards those programs read.

A small parser of our own rather than a library: it has to take what real exports hold —
folded lines, quoted-printable Cyrillic names with soft line breaks (Android 2.1 exports),
bare 2.1 type parameters (TEL;CELL), CHARSET=windows-1251 — and a card it cannot read is
reported by number while the others still import.
"""

from __future__ import annotations

import binascii
import datetime as dt
import quopri
import re
from dataclasses import dataclass, field
from typing import Any

from tui_crm.errors import ValidationError
from tui_crm.i18n import _
from tui_crm.services.core.records import RecordView
from tui_crm.services.transfer import org_names
from tui_crm.text import dates
from tui_crm.text.names import split_full_name, western_name

VERSIONS = ("2.1", "3.0", "4.0")
APPLE_NO_YEAR = 1604  # the year Apple's Contacts writes for a birthday without one
LINE_OCTETS = 75
QP_LINE = 76  # RFC 2045: an encoded line is at most 76 characters, its "=" included

# Columns of the table a .vcf file is read into: target names, so mapping is automatic.
HEADERS = ["last_name", "first_name", "middle_name", "organization", "position", "role",
           "phones", "emails", "messengers", "birthday", "residence_address", "address",
           "city", "website", "notes", "tags", "contact_person"]

# Fields no standard vCard property holds, written as X- properties (RFC 6350 6.10) that
# other programs keep and ignore, and read back by name: a .vcf export loses nothing.
# Choices are written as their codes ("client"), yes/no as TRUE (absent: no).
X_PROPERTIES = {
    "organizations": {"X-INN": "inn", "X-LEGAL-NAME": "legal_name",
                      "X-INDUSTRY": "industry", "X-STATUS": "status",
                      "X-CATEGORY": "category", "X-SOURCE": "source",
                      "X-OPT-OUT": "opt_out"},
    "contacts": {"X-DECISION-MAKER": "is_decision_maker", "X-HOBBIES": "hobbies",
                 "X-REGISTRATION-ADDRESS": "registration_address", "X-SOURCE": "source",
                 "X-OPT-OUT": "opt_out"},
}
X_BOOLEANS = {"is_decision_maker", "opt_out"}
HEADERS += sorted({name for props in X_PROPERTIES.values() for name in props.values()})

PHONE_TYPES = {"cell": "mobile", "mobile": "mobile", "iphone": "mobile", "work": "work",
               "home": "home", "fax": "fax", "pager": "other", "other": "other",
               "main": "work"}
MESSENGERS = {"x-skype": "skype", "x-skype-username": "skype", "x-telegram": "telegram",
              "x-whatsapp": "whatsapp", "x-viber": "viber", "x-jabber": "other",
              "x-icq": "other", "x-vk": "vk"}
IMPP_SCHEMES = {"skype": "skype", "telegram": "telegram", "tg": "telegram",
                "whatsapp": "whatsapp", "viber": "viber", "xmpp": "other"}


@dataclass
class Property:
    group: str
    name: str  # upper case
    params: dict[str, list[str]]  # upper-case keys; bare 2.1 types go under TYPE
    value: str  # decoded, still escaped

    def types(self) -> set[str]:
        return {t.lower() for t in self.params.get("TYPE", [])}

    def text(self) -> str:
        return unescape(self.value)

    def parts(self) -> list[str]:
        return [unescape(p) for p in split_unescaped(self.value, ";")]


@dataclass
class Card:
    number: int  # 1-based, in file order
    line: int  # the line of BEGIN:VCARD
    version: str = ""
    properties: list[Property] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str = ""

    def all(self, name: str) -> list[Property]:
        return [p for p in self.properties if p.name == name]

    def first(self, name: str) -> Property | None:
        found = self.all(name)
        return found[0] if found else None


def split_unescaped(text: str, sep: str) -> list[str]:
    """Split on `sep` not preceded by a backslash."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda mt: "\n" if mt.group(1) in "nN" else mt.group(1), text)


def escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _split_line(line: str) -> tuple[str, str] | None:
    """(name with parameters, value) at the first colon outside double quotes."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:i], line[i + 1:]
    return None


def _params(parts: list[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for part in parts:
        if not part:
            continue
        if "=" in part:
            key, raw = part.split("=", 1)
            key = key.strip().upper()
            items = [v.strip().strip('"') for v in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)",
                                                          raw)]
            items = [i for v in items for i in v.split(",")]
        else:  # vCard 2.1: TEL;CELL;VOICE and ;QUOTED-PRINTABLE
            value = part.strip()
            upper = value.upper()
            if upper in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"):
                key, items = "ENCODING", [value]
            else:
                key, items = "TYPE", [value]
        params.setdefault(key, []).extend(i for i in items if i)
    return params


def _is_qp(head: str) -> bool:
    return "QUOTED-PRINTABLE" in head.upper()


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfolded lines with their first physical line number (folding: a line starting with
    a space or tab continues the previous one; a quoted-printable value ending in "="
    continues on the next line as it stands — a space there is part of the text, as in
    "ИП=\r\n Островская")."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if out:
            last_number, last = out[-1]
            if last.endswith("=") and _is_qp(last.split(":", 1)[0]) and ":" in last:
                out[-1] = (last_number, last[:-1] + line)  # a QP soft line break
                continue
            if line[:1] in (" ", "\t"):
                out[-1] = (last_number, last + line[1:])
                continue
        out.append((number, line))
    return out


def _decode_value(params: dict[str, list[str]], value: str) -> str:
    encoding = {e.upper() for e in params.get("ENCODING", [])}
    charset = (params.get("CHARSET") or ["utf-8"])[0]
    if encoding & {"QUOTED-PRINTABLE", "QP"}:
        raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
        for name in (charset, "utf-8", "cp1251"):
            try:
                return raw.decode(name).replace("\r\n", "\n")
            except (LookupError, UnicodeDecodeError):
                continue
        return raw.decode("utf-8", errors="replace")
    if encoding & {"B", "BASE64"}:
        return value  # photos and sounds: kept encoded, not used
    if charset.lower() not in ("utf-8", "utf8"):
        try:
            return value.encode("latin-1").decode(charset)
        except (LookupError, UnicodeError):
            return value
    return value


def parse(text: str) -> list[Card]:
    """Every card of a .vcf text, good or bad (a bad card has `error`)."""
    cards: list[Card] = []
    card: Card | None = None
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped:
            continue
        upper = stripped.upper()
        if "." in upper.split(":", 1)[0]:  # "home.begin:vcard": a grouped BEGIN / END
            upper = upper.split(".", 1)[1]
        if upper == "BEGIN:VCARD":
            if card is not None:
                card.error = _("card {n} (line {line}) has no END:VCARD").format(
                    n=card.number, line=card.line)
                cards.append(card)
            card = Card(number=len(cards) + 1, line=number)
            continue
        if upper == "END:VCARD":
            if card is not None:
                cards.append(card)
                card = None
            continue
        if card is None:
            continue  # text between cards
        split = _split_line(stripped)
        if split is None:
            card.problems.append(_("line {line} is not a property: {text}").format(
                line=number, text=stripped[:40]))
            continue
        head, value = split
        pieces = split_unescaped(head, ";")
        name = pieces[0]
        group = ""
        if "." in name:
            group, name = name.rsplit(".", 1)
        params = _params(pieces[1:])
        try:
            value = _decode_value(params, value)
        except (ValueError, binascii.Error) as exc:
            card.problems.append(f"{name}: {exc}")
            continue
        prop = Property(group, name.upper(), params, value)
        if prop.name == "VERSION":
            card.version = value.strip()
        card.properties.append(prop)
    if card is not None:
        card.error = _("card {n} (line {line}) has no END:VCARD").format(n=card.number,
                                                                        line=card.line)
        cards.append(card)
    return cards


def _birthday(text: str) -> tuple[dt.date | None, str]:
    """A BDAY value: a date, a day and month without a year ("--0308", "--03-08", Apple's
    1604 placeholder year: stored as dates.NO_YEAR), else the problem."""
    value = text.strip()
    if value.startswith("--"):
        no_year = dates.day_month(value[:7] if value[2:4].isdigit() else value)
        if no_year is not None:
            return no_year, ""
    digits = value.replace("-", "")
    head = digits[:8]
    if len(head) == 8 and head.isdigit():
        try:
            day = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            pass  # no such day (19900231): reported as not a date, like any other text
        else:
            if day.year == APPLE_NO_YEAR:
                return day.replace(year=dates.NO_YEAR), ""
            return dates.check_year(day), ""
    return None, _("birthday {text!r} is not a date").format(text=value)


def _group_label(card: Card, prop: Property) -> set[str]:
    """The types an Apple label gives a grouped property (item1.TEL + item1.X-ABLABEL:
    _$!<Mobile>!$_ or a label of the user's own; HomeFAX → home, fax)."""
    if not prop.group:
        return set()
    for other in card.properties:
        if other.group == prop.group and other.name == "X-ABLABEL":
            label = other.text().strip().strip("_$!<>").lower()
            return {word for word in ("home", "work", "fax", "mobile", "iphone", "main",
                                      "pager", "other") if word in label}
    return set()


def card_values(card: Card) -> dict[str, Any]:
    """A card as importer columns (see HEADERS); problems are added to `card.problems`."""
    out: dict[str, Any] = {}
    kept: list[str] = []  # values with no field of their own, kept in the notes
    out.update(_card_names(card))
    out.update(_card_points(card))
    bday = card.first("BDAY")
    if bday is not None and bday.text().strip():
        try:
            date, problem = _birthday(bday.text())
        except dates.DateParseError as exc:
            date, problem = None, str(exc)
        if date is not None:
            out["birthday"] = date
        else:  # a text birthday ("circa 1800") is kept in the notes, not dropped
            card.problems.append(problem)
            kept.append(f"{_('Birthday')}: {bday.text().strip()}")
    addresses = card.all("ADR")
    if addresses:
        parts = (addresses[0].parts() + [""] * 7)[:7]
        street = ", ".join(p.replace("\n", ", ").strip() for p in parts[:3] if p.strip())
        text = ", ".join(p.strip() for p in [street, parts[3], parts[4], parts[5], parts[6]]
                         if p.strip())
        out["residence_address"] = text
        out["address"] = ", ".join(p for p in (street, parts[5]) if p)
        if parts[3].strip():
            out["city"] = parts[3].strip()
    url = card.first("URL")
    if url is not None and url.text().strip():
        out["website"] = url.text().strip()
    notes = [p.text().strip() for p in card.all("NOTE") if p.text().strip()] + kept
    if notes:
        out["notes"] = "\n".join(notes)
    tags = [t.strip() for p in card.all("CATEGORIES") for t in split_unescaped(p.value, ",")
            if t.strip()]
    if tags:
        out["tags"] = ", ".join(unescape(t) for t in dict.fromkeys(tags))
    out.update(x_values(card))
    return out




def _card_names(card: Card) -> dict[str, Any]:
    """The person's name (N, else FN split), the organization (ORG; the whole card when it
    is a company's: KIND:org, Apple's X-ABSHOWAS), the contact person, position and role."""
    out: dict[str, Any] = {}
    n = card.first("N")
    if n is not None:
        parts = n.parts() + [""] * 5
        out["last_name"], out["first_name"] = parts[0].strip(), parts[1].strip()
        out["middle_name"] = parts[2].strip()
    fn = card.first("FN")
    full = fn.text().strip() if fn is not None else ""
    if not (out.get("last_name") or out.get("first_name")) and full:
        last, first, middle = split_full_name(full, western=True)
        out.update(last_name=last, first_name=first, middle_name=middle)
    org = card.first("ORG")
    org_name = org.parts()[0].strip() if org is not None else ""
    if org_name:
        out["organization"] = org_name
    if (shown_as := card.first("KIND")) and shown_as.text().lower() == "org" \
            or (shown_as := card.first("X-ABSHOWAS")) and shown_as.text().upper() == "COMPANY":
        out["organization"] = org_name or full
        out.pop("last_name", None)
        out.pop("first_name", None)
        out.pop("middle_name", None)
    elif full or out.get("last_name"):
        person = " ".join(p for p in (out.get("last_name"), out.get("first_name"),
                                      out.get("middle_name")) if p)
        out["contact_person"] = person or full
    for name, key in (("TITLE", "position"), ("ROLE", "role")):
        prop = card.first(name)
        if prop is not None and prop.text().strip():
            out[key] = prop.text().strip()
    return out


def _card_points(card: Card) -> dict[str, Any]:
    """Phones (typed by TEL's types or an Apple group label), e-mails, messengers."""
    out: dict[str, Any] = {}
    phones = []
    for prop in card.all("TEL"):
        value = prop.text().strip()
        if value.lower().startswith("tel:"):
            value = value[4:]
        types = prop.types() | _group_label(card, prop)
        kind = next((PHONE_TYPES[t] for t in ("fax", "cell", "mobile", "iphone", "home",
                                                "work", "main", "pager", "other")
                     if t in types), "mobile")
        if value:
            phones.append((kind, value))
    if phones:
        out["phones"] = phones
    emails = []
    for prop in card.all("EMAIL"):
        value = prop.text().strip()
        if value.lower().startswith("mailto:"):
            value = value[7:]
        if value:
            home = "home" in prop.types() | _group_label(card, prop)
            emails.append(("personal" if home else "work", value))
    if emails:
        out["emails"] = emails
    messengers = []
    for prop in card.properties:
        if prop.name.lower() in MESSENGERS and prop.text().strip():
            messengers.append((MESSENGERS[prop.name.lower()], prop.text().strip()))
        elif prop.name == "IMPP":
            scheme, _sep, handle = prop.text().partition(":")
            messenger = IMPP_SCHEMES.get(scheme.lower())
            if messenger and handle:
                messengers.append((messenger, handle.lstrip("/")))
    if messengers:
        out["messengers"] = messengers
    return out


def x_values(card: Card) -> dict[str, str]:
    """The X- properties the writer adds (X_PROPERTIES), as importer columns."""
    known = {x: name for props in X_PROPERTIES.values() for x, name in props.items()}
    out: dict[str, str] = {}
    for prop in card.properties:
        name = known.get(prop.name)
        if name and prop.text().strip():
            out[name] = prop.text().strip()
    return out


# --- writing ----------------------------------------------------------------------------------


def fold(line: str) -> str:
    """Fold a content line at 75 octets (CRLF + space), never inside a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= LINE_OCTETS:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, LINE_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1  # the leading space counts
        current.append(ch)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def _qp(text: str, first: int = 0) -> str:
    """Quoted-printable for vCard 2.1 (UTF-8 bytes) in lines of at most 76 characters with
    their soft break "=" (RFC 2045); `first` is the room the property's name takes on the
    first line. A space next to a soft break — last before it, or first after it — is
    written =20: readers that trim lines, or unfold a line that starts with a space as a
    folded one, would lose it ("ИП Островская В. Н." read back as "ИП ОстровскаяВ. Н.")."""
    out: list[str] = []
    for byte in text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"):
        ch = chr(byte)
        out.append(ch if 33 <= byte <= 126 and ch != "=" or ch == " " else f"={byte:02X}")
    lines, current, room = [], "", QP_LINE - 1 - first
    for token in out:
        if len(current) + len(token) > room:
            moved = current.endswith(" ")  # the space goes to the next line, as =20
            lines.append((current[:-1] if moved else current) + "=")
            current, room = ("=20" if moved else ""), QP_LINE - 1
        if token == " " and not current:
            token = "=20"  # a line starting with a space would read as a folded line
        current += token
    if current.endswith(" "):  # a trailing space of the value, kept
        current = current[:-1] + "=20"
        if len(current) > room + 1:  # the last line has no "=": one more character
            head, current = current[:-3], "=20"
            while head.endswith(" "):  # no space before the soft break either
                head, current = head[:-1], "=20" + current
            lines.append(head + "=")
    lines.append(current)
    return "\r\n".join(lines)


def birthday_text(day: dt.date, version: str) -> str:
    """BDAY's value: 1985-03-08 (2.1, 3.0), 19850308 (4.0); without a year --0308 (RFC 6350
    4.3.1, which phones and Google read in every version)."""
    if day.year == dates.NO_YEAR:
        return day.strftime("--%m%d")
    return day.strftime("%Y%m%d" if version == "4.0" else "%Y-%m-%d")


class _Writer:
    def __init__(self, version: str) -> None:
        if version not in VERSIONS:
            raise ValidationError({"version": _("vCard version must be one of: {known}")
                                   .format(known=", ".join(VERSIONS))})
        self.version = version
        self.lines: list[str] = []

    def prop(self, name: str, value: str, params: str = "", *, raw: bool = False) -> None:
        """One property; `raw` values are already escaped (structured ones)."""
        if self.version == "2.1":
            text = value if raw else value.replace("\\", "\\\\").replace(";", "\\;")
            if any(ord(ch) > 127 for ch in text) or "\n" in text or len(text) > 60:
                head = f"{name}{params};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:"
                self.lines.append(head + _qp(text, len(head)))
            else:
                self.lines.append(f"{name}{params}:{text}")
            return
        self.lines.append(fold(f"{name}{params}:{value if raw else escape(value)}"))

    def typed(self, types: list[str]) -> str:
        if not types:
            return ""
        if self.version == "2.1":
            return "".join(f";{t.upper()}" for t in types)
        if self.version == "4.0":
            return ";TYPE=" + (",".join(types) if len(types) == 1 else f'"{",".join(types)}"')
        return ";TYPE=" + ",".join(types)


_TEL_TYPES = {"mobile": ["cell"], "work": ["work"], "home": ["home"], "fax": ["fax"],
              "other": []}
_IMPP = {"skype": "skype", "telegram": "telegram", "whatsapp": "whatsapp", "viber": "viber"}


def card_text(view: RecordView, version: str = "3.0",
              namesakes: org_names.Namesakes | None = None) -> str:
    """One record as a vCard; a contact's company whose name another organization has
    too is written with its INN (see org_names), so that an import finds the right one."""
    w = _Writer(version)
    w.lines.append("BEGIN:VCARD")
    w.lines.append(f"VERSION:{version}")
    if view.kind == "contacts":
        _contact_props(w, view, namesakes)
    else:
        _organization_props(w, view)
    _point_props(w, view)
    for x_name, name in X_PROPERTIES[view.kind].items():
        x_value = view.values.get(name)
        if name in X_BOOLEANS:
            if x_value:
                w.prop(x_name, "TRUE")
        elif name == "source":
            if view.display.get(name):
                w.prop(x_name, view.display[name])
        elif x_value and not (name == "category" and x_value == "none"):
            w.prop(x_name, str(x_value))
    notes = view.values.get("notes") or ""
    if notes:
        w.prop("NOTE", notes)
    if view.tags:
        w.prop("CATEGORIES", ",".join(escape(t) for t in view.tags), raw=True)
    w.lines.append(f"UID:tui-crm-{view.kind}-{view.id}")
    if view.updated_at:
        w.lines.append(f"REV:{view.updated_at.strftime('%Y%m%dT%H%M%S')}")
    w.lines.append("END:VCARD")
    return "\r\n".join(w.lines) + "\r\n"


def _structured(parts: list[str]) -> str:
    return ";".join(escape(p) for p in parts)


def _contact_props(w: _Writer, view: RecordView, namesakes: org_names.Namesakes | None
                   ) -> None:
    """A person's name, company (with its INN when another has the same name), position,
    role, birthday and home address."""
    version = w.version
    last = view.values.get("last_name") or ""
    first = view.values.get("first_name") or ""
    middle = view.values.get("middle_name") or ""
    full = western_name(last, first, middle)
    w.prop("N", _structured([last, first, middle, "", ""]), raw=True)
    w.prop("FN", full or view.title)
    org = view.display.get("organization", "")
    org_id = view.values.get("organization")
    if org and org_id:
        org = (namesakes or org_names.Namesakes()).names([org_id]).get(org_id, org)
    if org:
        w.prop("ORG", escape(org), raw=True)
    if view.values.get("position"):
        w.prop("TITLE", view.values["position"])
    if view.values.get("role"):
        w.prop("ROLE", view.values["role"])
    birthday = view.values.get("birthday")
    if isinstance(birthday, dt.date):
        w.lines.append(f"BDAY:{birthday_text(birthday, version)}")
    address = view.values.get("residence_address") or ""
    if address:
        w.prop("ADR", _structured(["", "", address, "", "", "", ""]), w.typed(["home"]),
               raw=True)


def _organization_props(w: _Writer, view: RecordView) -> None:
    """A company's card: its name as N/FN/ORG, marked a company (KIND:org in 4.0, Apple's
    X-ABShowAs before), its address and website."""
    version = w.version
    name = view.values.get("name") or view.title
    if version == "4.0":
        w.lines.append("KIND:org")
    w.prop("N", _structured([name, "", "", "", ""]) if version == "2.1"
           else ";;;;", raw=True)
    w.prop("FN", name)
    w.prop("ORG", escape(name), raw=True)
    if version != "4.0":
        w.lines.append("X-ABShowAs:COMPANY")
    address = view.values.get("address") or ""
    city = view.values.get("city") or ""
    if address or city:
        w.prop("ADR", _structured(["", "", address, city, "", "", ""]), w.typed(["work"]),
               raw=True)
    if view.values.get("website"):
        w.lines.append(fold(f"URL:{view.values['website']}"))


def _point_props(w: _Writer, view: RecordView) -> None:
    """Phones (tel: URIs in 4.0), e-mails, messengers (IMPP, or X- properties in 2.1)."""
    version = w.version
    for p in view.points_of("phone"):
        types = _TEL_TYPES.get(p.type, [])
        value = p.normalized if p.valid and p.normalized.startswith("+") else p.value
        if version == "4.0":
            w.lines.append(f"TEL{w.typed(types)};VALUE=uri:tel:{value}")
        else:
            w.prop("TEL", value, w.typed(types + (["voice"] if version == "2.1" else [])))
    for p in view.points_of("email"):
        types = ["home"] if p.type == "personal" else (["work"] if p.type == "work" else [])
        if version == "2.1":
            types = ["internet", *types]
        w.prop("EMAIL", p.value, w.typed(types))
    for p in view.points_of("messenger"):
        scheme = _IMPP.get(p.type)
        if scheme and version != "2.1":
            w.lines.append(fold(f"IMPP:{scheme}:{p.value}"))
        elif scheme:
            w.prop(f"X-{scheme.upper()}", p.value)
