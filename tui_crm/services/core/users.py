"""Users of the database and who is acting: the OS account, or `--user` for an admin."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from tui_crm.db import models as m
from tui_crm.db.database import for_update, write
from tui_crm.errors import NotFound, PermissionDenied, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import audit
from tui_crm.services.core.identity import (
    Invocation,
    acting_login,
    current_invocation,
)
from tui_crm.services.core.rights import (
    ACTIONS,
    ROLE_VISIBILITY,
    ROLES,
    VISIBILITIES,
    Actor,
    actor_from_user,
)


@dataclass(frozen=True)
class UserView:
    id: int
    login: str
    full_name: str
    email: str
    role: str
    visibility: str
    active: bool
    rights: dict

    def to_dict(self) -> dict:
        return {"id": self.id, "login": self.login, "full_name": self.full_name,
                "email": self.email, "role": self.role, "visibility": self.visibility,
                "active": self.active, "rights": self.rights}


def _view(u: m.User) -> UserView:
    return UserView(u.id, u.login, u.full_name, u.email, u.role,
                    u.visibility or ROLE_VISIBILITY.get(u.role, "own"), u.active,
                    json.loads(u.rights or "{}"))


def resolve_actor(requested: str | None = None, *,
                  invocation: Invocation | None = None) -> Actor:
    """The acting user for this session.

    Identity comes from the process (see `identity`): its real uid's account or, under
    sudo run by another account, that account — only when the process's own account is an
    admin of this database (the service account). That account is registered as admin when
    the database has no users yet (never through sudo by someone else). `requested`
    (`--user`) is honoured only when the acting account is an admin, so a manager cannot
    act as someone else by typing a name. `invocation` is for tests: another identity
    without another process. Only that first user is written: a session that only reads
    never waits for another session's write lock.
    """
    inv = invocation or current_invocation()
    process = m.User.get_or_none(m.User.login == inv.login)
    login = acting_login(inv, process is not None and process.role == "admin"
                         and bool(process.active))
    if login is None:
        raise PermissionDenied(
            _("Through sudo, tui-crm acts for {login} only where the account it runs as"
              " ({account}) is an admin of the database; a new database is created by"
              " {account} itself (as root: sudo -u {account} tui-crm init).").format(
                login=inv.sudo_login, account=inv.login))
    me = process if login == inv.login else m.User.get_or_none(m.User.login == login)
    if me is None:
        me = _user_or_first(login)
    if me is None:
        if not requested:
            raise PermissionDenied(
                _("No tui-crm user for the OS account {login}; ask an admin to run"
                  " `tui-crm user add {login}`.").format(login=login))
    if requested and (me is None or requested != me.login):
        if me is None or me.role != "admin" or not me.active:
            raise PermissionDenied(
                _("Only an admin may act as another user (--user)."))
        target = m.User.get_or_none(m.User.login == requested)
        if target is None:
            raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=requested))
        me = target
    assert me is not None  # each path above that found no user has raised
    if not me.active:
        raise PermissionDenied(_("The user {login} is disabled.").format(login=me.login))
    on_behalf = me.login != inv.login or inv.through_sudo
    return replace(actor_from_user(me), on_behalf=on_behalf)


def _user_or_first(login: str) -> m.User | None:
    """The user of this login; on an empty database, registered as its first user (admin)."""
    me = m.User.get_or_none(m.User.login == login)
    if me is not None:
        return me
    if m.User.select().exists():
        # Looked up again: another first session of this account may have just registered it.
        return m.User.get_or_none(m.User.login == login)
    return _register_first_user(login)


@write
def _register_first_user(login: str) -> m.User | None:
    """The first user of an empty database, as admin; None when someone else came first."""
    # Looked at again in the write transaction: another first session may have won.
    if m.User.select().exists():
        return m.User.get_or_none(m.User.login == login)
    # get_or_create: two first sessions at once (PostgreSQL does not serialize them as
    # SQLite's write lock does) end up as the same admin, not a crash.
    me, created = m.User.get_or_create(login=login, defaults={"full_name": login, "role": "admin"})
    if created:
        audit.log(actor_from_user(me), "create", "users", me.id, details=login)
    return me


def actor_for(login: str) -> Actor:
    """The actor of a known login (forced commands, tests)."""
    user = m.User.get_or_none(m.User.login == login)
    if user is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=login))
    if not user.active:
        raise PermissionDenied(_("The user {login} is disabled.").format(login=login))
    return actor_from_user(user)


def list_users(actor: Actor, *, include_disabled: bool = True) -> list[UserView]:
    query = m.User.select().order_by(m.User.login)
    if not include_disabled:
        query = query.where(m.User.active == True)  # noqa: E712
    return [_view(u) for u in query]


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can manage users."))


@write
def add_user(actor: Actor, login: str, *, role: str = "manager", full_name: str = "",
             email: str = "") -> UserView:
    _require_admin(actor)
    login = login.strip()
    if not login or any(ch.isspace() for ch in login):
        raise ValidationError({"login": _("A login is one word without spaces")})
    if role not in ROLES:
        raise ValidationError({"role": _("Unknown role; choose one of: {known}").format(
            known=", ".join(ROLES))})
    if m.User.select().where(m.User.login == login).exists():
        raise ValidationError({"login": _("The user {login} already exists").format(login=login)})
    user = m.User.create(login=login, role=role, full_name=full_name or login, email=email)
    audit.log(actor, "create", "users", user.id, details=login)
    return _view(user)


_ACTIVE_ADMIN = (m.User.role == "admin") & (m.User.active == True)  # noqa: E712


@write
def set_user(actor: Actor, login: str, settings: dict[str, str]) -> UserView:
    """Change a user: role, visibility, full_name, email, active, can_<action>[.<section>]."""
    _require_admin(actor)
    admins: set[int] = set()
    if {"role", "active"} & set(settings):
        # Every active admin's row, locked before anything is read: two admins demoting
        # each other at once must not leave the base without one.
        admins = {u.id for u in for_update(m.User.select(m.User.id).where(_ACTIVE_ADMIN))}
    user = m.User.get_or_none(m.User.login == login)
    if user is None:
        raise NotFound(_("No user {login}; see `tui-crm user list`.").format(login=login))
    from tui_crm.services.core.values import parse_bool

    was_admin = user.id in admins
    rights = json.loads(user.rights or "{}")
    changes: dict[str, tuple] = {}
    errors: dict[str, str] = {}
    for key, value in settings.items():
        try:
            if key == "role":
                if value not in ROLES:
                    raise ValueError(_("Unknown role; choose one of: {known}").format(
                        known=", ".join(ROLES)))
                changes[key] = (user.role, value)
                user.role = value
            elif key == "visibility":
                if value not in VISIBILITIES:
                    raise ValueError(_("Unknown visibility; choose one of: {known}").format(
                        known=", ".join(VISIBILITIES)))
                changes[key] = (user.visibility, value)
                user.visibility = value
            elif key in ("full_name", "email", "language", "theme"):
                changes[key] = (getattr(user, key), value)
                setattr(user, key, value)
            elif key == "active":
                flag = parse_bool(value)
                changes[key] = (user.active, flag)
                user.active = flag
            elif key.startswith("can_"):
                action, _sep, section = key[4:].partition(".")
                if action not in ACTIONS:
                    raise ValueError(_("Unknown right; choose one of: {known}").format(
                        known=", ".join(f"can_{a}" for a in ACTIONS)))
                flag = parse_bool(value)
                rights.setdefault(section or "*", {})[action] = flag
                changes[key] = ("", flag)
            else:
                raise ValueError(_("Unknown setting"))
        except ValueError as exc:
            errors[key] = str(exc)
    if "active" in changes and not user.active and user.id == actor.user_id:
        errors["active"] = _("You cannot disable yourself")
    if was_admin and not (user.role == "admin" and user.active) and not admins - {user.id}:
        key = "role" if user.role != "admin" else "active"
        errors[key] = _("{login} is the last active admin; make another user an admin "
                        "first").format(login=user.login)
    if errors:
        raise ValidationError(errors)
    user.rights = json.dumps(rights)
    user.save()
    audit.log(actor, "update", "users", user.id, changes)
    return _view(user)
