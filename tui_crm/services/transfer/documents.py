"""Word documents (contracts, invoices, letters) from .docx templates, filled in from an
organization, contact or deal card with docxtpl.

Templates live in a folder (`templates_dir()`, three examples are written there on first
use) and use Jinja tags: {{ org.name }}, {{ org.inn }}, {{ contact.full_name }},
{{ deal.amount }}, {{ today }}, {{ user.name }}. The context holds plain dictionaries of
display text only (never model objects) and the template runs in the mail templates'
sandbox and limits (`templating`), so a template can neither reach the database nor make
the program build gigabytes or loop for ever. A tag naming a field that the card does not
have stops the document with a message naming the tag.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from peewee import DatabaseError

from tui_crm import paths
from tui_crm.db import models as m
from tui_crm.errors import CrmError, NotFound, ValidationError
from tui_crm.i18n import _, get_language
from tui_crm.services.core import records, search_docs, server_files, templating, values, visibility
from tui_crm.services.core.kinds import KINDS
from tui_crm.services.core.records import RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.text.names import full_name, short_name

DOCUMENT_KINDS = ("organizations", "contacts", "deals")
SECTIONS = {"organizations": "org", "contacts": "contact", "deals": "deal"}


class DocumentError(CrmError):
    exit_code = 2


class Section(dict):
    """A card's fields for templates; knows its name for messages about missing tags."""

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.section = name


def templates_dir() -> Path:
    """The folder of .docx templates (created with three examples on first use)."""
    folder = paths.data_dir() / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def list_templates() -> list[Path]:
    folder = templates_dir()
    if not any(folder.glob("*.docx")):
        write_examples(folder)
    return sorted(p for p in folder.glob("*.docx") if not p.name.startswith("~$"))


def find_template(name: str | Path) -> Path:
    """A template by path, or by name (with or without .docx) in the templates folder."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    stem = path.name if path.suffix.lower() == ".docx" else f"{path.name}.docx"
    templates = list_templates()
    for candidate in templates:
        if candidate.name.casefold() == stem.casefold():
            return candidate
    known = ", ".join(p.stem for p in templates)
    raise NotFound(_("No template {name!r}; templates in {folder}: {known}").format(
        name=str(name), folder=templates_dir(), known=known))


# --- the context ------------------------------------------------------------------------------


def _fields(view: RecordView) -> dict[str, Any]:
    data: dict[str, Any] = {"id": view.id, "title": view.title}
    spec = KINDS[view.kind]
    for f in spec.fields:
        if f.name in ("phones", "emails", "messengers", "tags"):
            continue
        data[f.name] = view.display.get(f.name, "")
    for name, value in view.custom.items():
        data[name] = values.display("text", value) if not isinstance(value, bool) \
            else view.display.get(name, "")
    for cf_name in (n for n in view.display if n not in data and n != "tags"):
        data[cf_name] = view.display[cf_name]
    phones = [p.value for p in view.points_of("phone")]
    emails = [p.value for p in view.points_of("email")]
    data["phones"] = ", ".join(phones)
    data["emails"] = ", ".join(emails)
    data["phone"] = phones[0] if phones else ""
    data["email"] = emails[0] if emails else ""
    data["tags"] = ", ".join(view.tags)
    if view.kind == "contacts":
        last = view.values.get("last_name") or ""
        first = view.values.get("first_name") or ""
        middle = view.values.get("middle_name") or ""
        data["full_name"] = full_name(last, first, middle)
        data["short_name"] = short_name(last, first, middle)
    if view.kind == "deals":
        amount = view.values.get("amount")
        data["amount_number"] = f"{amount:.2f}" if amount is not None else ""
    return data


def _first_contact(actor: Actor, org_id: int) -> RecordView | None:
    row = (m.Contact.select(m.Contact.id)
           .where((m.Contact.organization == org_id) & m.Contact.deleted_at.is_null())
           .order_by(m.Contact.is_decision_maker.desc(), m.Contact.id).first())
    return records.get(actor, "contacts", row.id) if row else None


def _linked(actor: Actor, kind: str, record_id: int) -> RecordView | None:
    """A record the card points at, or None when the actor may not see it (another
    manager's client stays out of the document rather than stopping it)."""
    if not visibility.can_see(actor, kind, record_id):
        return None
    return records.get(actor, kind, record_id)


def context(actor: Actor, kind: str, record_id: int) -> dict[str, Any]:
    """What a template sees: org, contact, deal (empty when the card has none), record,
    today, user."""
    if kind not in DOCUMENT_KINDS:
        raise ValidationError({"section": _("Documents are made from organizations, contacts"
                                            " or deals; got {name!r}").format(name=kind)})
    view = records.get(actor, kind, record_id)
    org = contact = deal = None
    if kind == "organizations":
        org = view
        contact = _first_contact(actor, view.id)
    elif kind == "contacts":
        contact = view
        if view.values.get("organization"):
            org = _linked(actor, "organizations", view.values["organization"])
    else:
        deal = view
        if view.values.get("organization"):
            org = _linked(actor, "organizations", view.values["organization"])
        if view.values.get("contact"):
            contact = _linked(actor, "contacts", view.values["contact"])
        elif org is not None:
            contact = _first_contact(actor, org.id)
    user = m.User.get_or_none(m.User.id == actor.user_id) if actor.user_id else None
    return {
        "org": Section("org", _fields(org) if org else {}),
        "contact": Section("contact", _fields(contact) if contact else {}),
        "deal": Section("deal", _fields(deal) if deal else {}),
        "record": Section(SECTIONS[kind], _fields(view)),
        "today": values.display("date", dt.date.today()),
        "user": Section("user", {"name": (user.full_name or user.login) if user else "",
                                 "login": actor.login, "email": user.email if user else ""}),
    }


def field_names(kind: str) -> list[str]:
    """The names a template can use after `org.`, `contact.` or `deal.`."""
    spec = KINDS[kind]
    names = [f.name for f in spec.fields if f.name not in ("messengers",)]
    names += ["id", "title", "phone", "email"]
    names += [cf.name for cf in values.custom_fields(kind)]
    if kind == "contacts":
        names += ["full_name", "short_name"]
    if kind == "deals":
        names += ["amount_number"]
    return sorted(set(names))


# --- rendering --------------------------------------------------------------------------------

# A document is XML: a generous budget, but still a budget (see templating.Limits).
DOCUMENT_LIMITS = templating.Limits(max_chars=5_000_000, time_limit=10.0)
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024  # the .docx file
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # its parts, unpacked (a "zip bomb" is refused)
MAX_PARTS = 2000


def _check_template_file(path: Path) -> None:
    """Refuse a template too large to read, before reading it."""
    import zipfile

    try:
        size = path.stat().st_size
        if size > MAX_TEMPLATE_BYTES:
            raise DocumentError(_("The template {template} is larger than {mb} MB.").format(
                template=path.name, mb=MAX_TEMPLATE_BYTES // 1024 // 1024))
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise DocumentError(_("{template} is not a Word (.docx) document.").format(
            template=path.name)) from None
    except OSError as exc:
        raise DocumentError(_("Cannot use the template {template}: {reason}").format(
            template=path.name, reason=exc.strerror or exc)) from None
    if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES:
        raise DocumentError(_("The template {template} unpacks to more than {mb} MB.").format(
            template=path.name, mb=MAX_UNPACKED_BYTES // 1024 // 1024))


def _missing(exc: Exception, data: dict[str, Any], path: Path, kind: str,
             record_id: int) -> DocumentError:
    """A tag naming a field the card does not have (the sandbox's undefined value)."""
    owner = getattr(exc, "tc_obj", None)
    name = getattr(exc, "tc_name", None)
    section = getattr(owner, "section", None)
    tag = f"{section}.{name}" if section else str(name or exc)
    if section in ("org", "contact", "deal") and not data.get(section):
        return DocumentError(_(
            "The template {template} uses {{{{ {tag} }}}}, but {kind} #{id} has no"
            " {section}. Fill it in on the card or use another template.").format(
            template=path.name, tag=tag, kind=_(KINDS[kind].singular), id=record_id,
            section=section))
    known = sorted(owner) if isinstance(owner, dict) else []
    return DocumentError(_(
        "The template {template} uses {{{{ {tag} }}}}, which is not a field. Known: {known}"
    ).format(template=path.name, tag=tag, known=", ".join(known[:40])))


def render(actor: Actor, template: str | Path, kind: str, record_id: int,
           output: str | Path, *, limits: templating.Limits = DOCUMENT_LIMITS) -> Path:
    """Fill a .docx template from a card and save it to `output`.

    The template runs in the mail templates' sandbox (templating.environment: immutable,
    plain data only, values escaped for the document's XML) with their limits on output,
    loops and time (`limits`, one budget for the whole document), and the file's size is
    checked before it is read."""
    from docx.opc.exceptions import PackageNotFoundError
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError, UndefinedError

    path = find_template(template)
    server_files.check(actor, path, allowed=templates_dir())
    server_files.check(actor, output)
    _check_template_file(path)
    data = context(actor, kind, record_id)
    templating.check_plain(data)
    try:
        with templating.limited(limits):
            document = DocxTemplate(str(path))
            document.render(data, jinja_env=templating.environment(html=True))
    except UndefinedError as exc:
        raise _missing(exc, data, path, kind, record_id) from None
    except templating.TemplateProblem as exc:
        raise DocumentError(_("The template {template}: {reason}").format(
            template=path.name, reason=exc)) from None
    except TemplateError as exc:
        raise DocumentError(_("The template {template} has an error: {reason}").format(
            template=path.name, reason=str(exc).splitlines()[0] if str(exc) else "")) from None
    except (OSError, PackageNotFoundError) as exc:  # not a .docx after all
        import zipfile

        if isinstance(exc, zipfile.BadZipFile | PackageNotFoundError):
            raise DocumentError(_("{template} is not a Word (.docx) document.").format(
                template=path.name)) from None
        raise DocumentError(_("Cannot use the template {template}: {reason}").format(
            template=path.name, reason=exc)) from None
    out = Path(output).expanduser()
    try:
        document.save(str(out))
    except OSError as exc:
        raise DocumentError(_("Cannot write {path}: {reason}").format(
            path=out, reason=exc.strerror or exc)) from None
    return out


def default_output(template: Path, kind: str, record_id: int) -> Path:
    """A file name for a generated document, in the user's documents folder."""
    view_title = str(record_id)
    try:
        spec = KINDS[kind]
        row = spec.model.get_or_none(spec.model.id == record_id)
        if row is not None:

            view_title = search_docs.title_of(kind, row)
    except (KeyError, DatabaseError):
        pass  # an unknown section or an unreadable base: the id names the file (render
        # reports the real problem)
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in view_title).strip()
    folder = Path.home() / "Documents"
    if not folder.is_dir():
        folder = Path.home()
    return folder / f"{template.stem} - {safe[:60] or record_id}.docx"


# --- example templates ------------------------------------------------------------------------

_EXAMPLES: dict[str, dict[str, list[tuple[Any, ...]]]] = {
    "ru": {
        "contract": [
            ("h", "ДОГОВОР № {{ deal.id if deal else org.id }}"),
            ("p", "г. {{ org.city }}\t\t\t\t{{ today }}"),
            ("p", "{{ org.legal_name or org.name }}, ИНН {{ org.inn }}, именуемое в дальнейшем"
                  " «Заказчик», в лице {{ contact.position }} {{ contact.full_name }}, с одной"
                  " стороны, и {{ user.name }}, с другой стороны, заключили настоящий договор."),
            ("p", "{% if deal %}Предмет договора: {{ deal.title }}. Сумма: {{ deal.amount }}"
                  " руб.{% endif %}"),
            ("p", "Адрес Заказчика: {{ org.address }}. Телефон: {{ org.phone }}."
                  " E-mail: {{ org.email }}."),
        ],
        "invoice": [
            ("h", "Счёт на оплату № {{ deal.id }} от {{ today }}"),
            ("p", "Плательщик: {{ org.legal_name or org.name }}, ИНН {{ org.inn }},"
                  " {{ org.address }}"),
            ("t", ["Наименование", "Сумма, руб."], ["{{ deal.title }}", "{{ deal.amount }}"]),
            ("p", "Итого к оплате: {{ deal.amount }} руб."),
            ("p", "Менеджер: {{ user.name }}"),
        ],
        "letter": [
            ("p", "{{ org.name }}\n{{ contact.position }} {{ contact.short_name }}"),
            ("p", "{{ today }}"),
            ("p", "Уважаемый(-ая) {{ contact.first_name }} {{ contact.middle_name }}!"),
            ("p", "…"),
            ("p", "С уважением,\n{{ user.name }}\n{{ user.email }}"),
        ],
    },
    "en": {
        "contract": [
            ("h", "AGREEMENT No. {{ deal.id if deal else org.id }}"),
            ("p", "{{ org.city }}\t\t\t\t{{ today }}"),
            ("p", "{{ org.legal_name or org.name }}, tax id {{ org.inn }} (the Customer),"
                  " represented by {{ contact.position }} {{ contact.full_name }}, and"
                  " {{ user.name }} agree as follows."),
            ("p", "{% if deal %}Subject: {{ deal.title }}. Amount: {{ deal.amount }}.{% endif %}"),
            ("p", "Customer's address: {{ org.address }}. Phone: {{ org.phone }}."
                  " E-mail: {{ org.email }}."),
        ],
        "invoice": [
            ("h", "Invoice No. {{ deal.id }} of {{ today }}"),
            ("p", "Bill to: {{ org.legal_name or org.name }}, tax id {{ org.inn }},"
                  " {{ org.address }}"),
            ("t", ["Item", "Amount"], ["{{ deal.title }}", "{{ deal.amount }}"]),
            ("p", "Total due: {{ deal.amount }}"),
            ("p", "Manager: {{ user.name }}"),
        ],
        "letter": [
            ("p", "{{ org.name }}\n{{ contact.position }} {{ contact.full_name }}"),
            ("p", "{{ today }}"),
            ("p", "Dear {{ contact.first_name }} {{ contact.last_name }},"),
            ("p", "…"),
            ("p", "Kind regards,\n{{ user.name }}\n{{ user.email }}"),
        ],
    },
}


def write_examples(folder: Path | None = None) -> list[Path]:
    """Write the contract, invoice and letter examples (not over existing files)."""
    from docx import Document

    folder = folder or templates_dir()
    language = "ru" if get_language() == "ru" else "en"
    written = []
    for name, blocks in _EXAMPLES[language].items():
        path = folder / f"{name}.docx"
        if path.exists():
            continue
        document = Document()
        for block in blocks:
            if block[0] == "h":
                document.add_heading(block[1], level=1)
            elif block[0] == "p":
                document.add_paragraph(block[1])
            else:
                table = document.add_table(rows=2, cols=len(block[1]))
                table.style = "Table Grid"
                for row, texts in zip(table.rows, block[1:], strict=True):
                    for cell, text in zip(row.cells, texts, strict=True):
                        cell.text = text
        document.save(str(path))
        written.append(path)
    return written


__all__ = ["DocumentError", "context", "field_names", "find_template", "list_templates",
           "render", "templates_dir", "write_examples"]
