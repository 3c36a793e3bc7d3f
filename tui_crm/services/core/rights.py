"""Roles, rights per section and visibility — enforced here, below the UI and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tui_crm.errors import PermissionDenied
from tui_crm.i18n import N_, _

ROLES = {"admin": N_("Administrator"), "head": N_("Head of sales"), "manager": N_("Manager"),
         "viewer": N_("Viewer")}
ACTIONS = ("view", "edit", "delete", "export", "mail")
ACTION_LABELS = {"view": N_("view"), "edit": N_("edit"), "delete": N_("delete"),
                 "export": N_("export"), "mail": N_("mail")}
VISIBILITIES = {"own": N_("own records"), "group": N_("own group"), "all": N_("all records")}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "head": frozenset(ACTIONS),
    "manager": frozenset({"view", "edit", "delete", "mail"}),
    "viewer": frozenset({"view"}),
}
ROLE_VISIBILITY = {"admin": "all", "head": "all", "manager": "own", "viewer": "all"}


@dataclass(frozen=True)
class Actor:
    """Who is acting: every service call takes one."""

    user_id: int | None
    login: str
    role: str = "admin"
    visibility: str = "all"
    group_id: int | None = None
    overrides: dict[str, dict[str, bool]] = field(default_factory=dict)
    full_name: str = ""
    # Acting for a person through another OS account (a forced SSH command, sudo, an
    # admin's --user): that account's files are not the person's (see server_files).
    on_behalf: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can(self, section: str, action: str) -> bool:
        per_section = self.overrides.get(section, {})
        if action in per_section:
            return bool(per_section[action])
        everywhere = self.overrides.get("*", {})
        if action in everywhere:
            return bool(everywhere[action])
        return action in ROLE_ACTIONS.get(self.role, frozenset())

    def require(self, section: str, action: str) -> None:
        if not self.can(section, action):
            raise PermissionDenied(
                _("You have no right to {action} in {section}.").format(
                    action=_(ACTION_LABELS.get(action, action)), section=_(section_label(section))
                )
            )

    @property
    def sees_all(self) -> bool:
        return self.visibility == "all"


def section_label(section: str) -> str:
    from tui_crm.services.core.kinds import KINDS

    spec = KINDS.get(section)
    return spec.label if spec else section


def actor_from_user(user) -> Actor:  # noqa: ANN001 - a models.User row
    try:
        overrides = json.loads(user.rights or "{}")
    except ValueError:
        overrides = {}
    return Actor(
        user_id=user.id,
        login=user.login,
        role=user.role,
        visibility=user.visibility or ROLE_VISIBILITY.get(user.role, "own"),
        group_id=user.group_id,
        overrides=overrides,
        full_name=user.full_name,
    )


SYSTEM = Actor(user_id=None, login="system", role="admin", visibility="all")
