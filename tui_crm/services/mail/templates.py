"""Mail templates: a subject and a body (plain or HTML) checked for template mistakes when
saved, and the files attached to them (kept in the database, see mail_files)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.db.mail_models import MailTemplate
from tui_crm.errors import ConflictError, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit, server_files, templating
from tui_crm.services.core.rights import Actor
from tui_crm.services.mail import mail_files
from tui_crm.services.mail.common import by_name_or_id, require_mail


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    subject: str
    body: str
    html: bool
    attachments: list[mail_files.Attachment]
    version: int
    updated_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "subject": self.subject, "body": self.body,
                "html": self.html, "attachments": [a.to_dict() for a in self.attachments],
                "version": self.version,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}


def _template_view(t: MailTemplate) -> TemplateView:
    return TemplateView(t.id, t.name, t.subject, t.body, bool(t.html),
                        mail_files.parse(t.attachments), t.version, t.updated_at)


def _check_template(subject: str, body: str, html: bool) -> None:
    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = _("Required")
    for name, text, is_html in (("subject", subject, False), ("body", body, html)):
        if name in errors:
            continue
        try:
            templating.compile_template(text, html=is_html)
        except templating.TemplateProblem as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)


def _check_files_named(actor: Actor, entries: Iterable[str],
                       kept: Iterable[mail_files.Attachment] = ()) -> None:
    """A file path among a template's attachments is read as this process's account:
    refused for a session acting for someone else (a kept attachment's name is no path)."""
    names = {a.name for a in kept}
    for raw in entries:
        entry = str(raw).strip()
        if entry and not (entry in names and "/" not in entry):
            server_files.check(actor, entry)


@write
def add_template(actor: Actor, name: str, *, subject: str, body: str, html: bool = False,
                 attachments: Iterable[str] = ()) -> TemplateView:
    """A new template; its subject and body are checked for template mistakes now, and the
    files named in `attachments` are read now and kept with it (see mail_files)."""
    require_mail(actor)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Required")})
    if MailTemplate.select().where(MailTemplate.name == name).exists():
        raise ValidationError({"name": _("A template {name!r} already exists").format(name=name)})
    _check_template(subject, body, html)
    _check_files_named(actor, attachments)
    files = mail_files.take(attachments)
    row = MailTemplate.create(name=name, subject=subject, body=body, html=html,
                              attachments=mail_files.dump(files), created_by=actor.user_id)
    audit.log(actor, "create", "mail_templates", row.id, details=name)
    return _template_view(row)


@write
def update_template(actor: Actor, ref: str | int, *, name: str | None = None,
                    subject: str | None = None, body: str | None = None,
                    html: bool | None = None, attachments: Iterable[str] | None = None,
                    expected_version: int | None = None) -> TemplateView:
    """Change a template; `attachments` (None: as they are) lists file paths to read now
    and names of its attachments to keep."""
    require_mail(actor)
    row = find_template(ref)
    if expected_version is not None and row.version != expected_version:
        raise ConflictError(_("The template {name!r} was changed by someone else after you "
                              "opened it; nothing was saved.").format(name=row.name))
    new_name = row.name if name is None else name.strip()
    if not new_name:
        raise ValidationError({"name": _("Required")})
    if new_name != row.name and MailTemplate.select().where(
            MailTemplate.name == new_name).exists():
        raise ValidationError({"name": _("A template {name!r} already exists").format(
            name=new_name)})
    new_subject = row.subject if subject is None else subject
    new_body = row.body if body is None else body
    new_html = bool(row.html) if html is None else html
    _check_template(new_subject, new_body, new_html)
    kept = mail_files.parse(row.attachments)
    if attachments is None:
        files = kept
    else:
        _check_files_named(actor, attachments, kept)
        files = mail_files.take(attachments, kept=kept)
    updated = (MailTemplate.update(name=new_name, subject=new_subject, body=new_body,
                                   html=new_html, attachments=mail_files.dump(files),
                                   updated_at=m.now(), version=MailTemplate.version + 1)
               .where((MailTemplate.id == row.id) & (MailTemplate.version == row.version))
               .execute())
    if updated != 1:
        raise ConflictError(_("The template {name!r} was changed by someone else after you "
                              "opened it; nothing was saved.").format(name=row.name))
    audit.log(actor, "update", "mail_templates", row.id, details=new_name)
    mail_files.prune()
    return _template_view(MailTemplate.get_by_id(row.id))


def list_templates(actor: Actor) -> list[TemplateView]:
    return [_template_view(t) for t in MailTemplate.select().order_by(MailTemplate.name)]


def find_template(ref: str | int) -> MailTemplate:
    """The template row by name or id (`#7`)."""
    return by_name_or_id(MailTemplate, ref,
                          _("No template {name!r}; see `tui-crm mail template list`."))


def get_template(actor: Actor, ref: str | int) -> TemplateView:
    return _template_view(find_template(ref))


@write
def delete_template(actor: Actor, ref: str | int) -> None:
    require_mail(actor)
    row = find_template(ref)
    audit.log(actor, "delete", "mail_templates", row.id, details=row.name)
    row.delete_instance()
    mail_files.prune()

