"""Handing a leaving manager's clients, open tasks and planned events to another in one step."""

from __future__ import annotations

from dataclasses import dataclass

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit
from tui_crm.services.core.rights import Actor


@dataclass(frozen=True)
class Reassigned:
    organizations: int
    contacts: int
    deals: int
    tasks: int
    events: int

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@write
def reassign(actor: Actor, from_login: str, to_login: str, *,
             organization_ids: list[int] | None = None) -> Reassigned:
    """Move records of one manager to another (all of them, or the given organizations with
    their contacts, deals, open tasks and planned events), recorded in the audit log."""
    if actor.role not in ("admin", "head"):
        raise PermissionDenied(_("Only an admin or the head of sales can hand clients over."))
    source = m.User.get_or_none(m.User.login == from_login)
    target = m.User.get_or_none(m.User.login == to_login)
    if source is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=from_login))
    if target is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=to_login))
    if source.id == target.id:
        raise ValidationError({"to": _("Choose another user to hand the clients to")})
    if not target.active:
        raise ValidationError({"to": _("The user {login} is disabled.").format(login=to_login)})
    now = m.now()
    stamp = {"updated_by": actor.user_id, "updated_at": now}

    def move(model, column, extra=None):  # noqa: ANN001, ANN202
        where = (column == source.id) & model.deleted_at.is_null()
        if extra is not None:
            where &= extra
        ids = [r.id for r in model.select(model.id).where(where)]
        if ids:
            model.update({column: target.id, model.version: model.version + 1,
                          **{getattr(model, k): v for k, v in stamp.items()}}).where(
                model.id.in_(ids)).execute()
        return ids

    org_filter = m.Organization.id.in_(organization_ids) if organization_ids else None
    orgs = move(m.Organization, m.Organization.owner, org_filter)
    scope = organization_ids if organization_ids else None
    contacts = move(m.Contact, m.Contact.owner,
                    m.Contact.organization.in_(scope) if scope else None)
    deals = move(m.Deal, m.Deal.owner, m.Deal.organization.in_(scope) if scope else None)
    open_task = m.Task.status.in_(["open", "in_progress"])
    tasks = move(m.Task, m.Task.assignee,
                 open_task & m.Task.organization.in_(scope) if scope else open_task)
    planned = m.Event.status == "planned"
    events = move(m.Event, m.Event.assignee,
                  planned & m.Event.organization.in_(scope) if scope else planned)
    for kind, ids in (("organizations", orgs), ("contacts", contacts)):
        for record_id in ids:
            audit.log(actor, "reassign", kind, record_id,
                      {"owner": (source.login, target.login)})
    for kind, ids in (("deals", deals), ("tasks", tasks), ("events", events)):
        if ids:
            audit.log(actor, "reassign", kind, None, details=f"{len(ids)} {from_login}→{to_login}")
    return Reassigned(len(orgs), len(contacts), len(deals), len(tasks), len(events))
