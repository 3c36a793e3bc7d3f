"""Admin panes: Users (roles, visibility, rights, disable, hand clients over) and the Audit
log (who changed what and when, filterable)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from tui_crm.errors import CrmError
from tui_crm.i18n import N_, _
from tui_crm.services.core import audit, audit_text, reassign, users
from tui_crm.services.core.rights import ROLES, VISIBILITIES, Actor
from tui_crm.text.ids import parse_id
from tui_crm.ui.widgets import control_grid_css, fit_controls, translate_bindings


class UsersPane(Vertical):
    """Users of the database. Admins change them; others only see the list."""

    DEFAULT_CSS = """
    UsersPane { height: 1fr; }
    UsersPane #users-list { height: 1fr; }
    UsersPane #users-error { color: $error; height: auto; }
    """ + control_grid_css("UsersPane")
    BINDINGS = [
        Binding("ctrl+d", "toggle_active", N_("Disable / enable"), id="users.disable"),
    ]

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.items: list[users.UserView] = []

    def compose(self) -> ComposeResult:
        yield Label(_("Users — select one to change its role or visibility"), markup=False)
        yield OptionList(id="users-list")
        with Horizontal(classes="controls"):
            yield Input(placeholder=_("login"), id="new-login")
            yield Input(placeholder=_("full name"), id="new-name")
            yield Select([(_(label), key) for key, label in ROLES.items()], value="manager",
                         allow_blank=False, id="new-role")
            yield Button(_("Add user"), id="add-user")
        with Horizontal(classes="controls"):
            yield Select([(_(label), key) for key, label in ROLES.items()], prompt=_("role"),
                         id="set-role")
            yield Select([(_(label), key) for key, label in VISIBILITIES.items()],
                         prompt=_("visibility"), id="set-visibility")
            yield Select([], prompt=_("hand clients to…"), id="hand-to")
        yield Label("", id="users-error", markup=False)

    def on_resize(self) -> None:
        fit_controls(self)

    def on_mount(self) -> None:
        translate_bindings(self)
        if not self.actor.is_admin:
            for widget in self.query("Input, Select, Button"):
                widget.disabled = True
            self.query_one("#users-error", Label).update(
                _("Only an admin can change users."))
        self.reload()

    def reload(self) -> None:
        self.items = users.list_users(self.actor)
        listing = self.query_one("#users-list", OptionList)
        keep = listing.highlighted
        listing.clear_options()
        for u in self.items:
            line = Text(f"{u.login:<14} ", style="bold" if u.active else "dim strike")
            line.append(f"{u.full_name:<24} {_(ROLES.get(u.role, u.role)):<16} "
                        f"{_(VISIBILITIES.get(u.visibility, u.visibility))}")
            if u.rights:
                line.append(f"  {u.rights}", style="dim")
            listing.add_option(Option(line, id=u.login))
        if self.items:
            listing.highlighted = min(keep or 0, len(self.items) - 1)
        self.query_one("#hand-to", Select).set_options(
            [(u.login, u.login) for u in self.items if u.active])

    def _current(self) -> users.UserView | None:
        listing = self.query_one("#users-list", OptionList)
        if listing.highlighted is None or listing.highlighted >= len(self.items):
            return None
        return self.items[listing.highlighted]

    def _run(self, action, done: str) -> None:  # noqa: ANN001 - a callable
        error = self.query_one("#users-error", Label)
        try:
            action()
        except CrmError as exc:
            error.update(str(exc))
            return
        error.update("")
        self.app.notify(done, markup=False)
        self.reload()

    @on(Button.Pressed, "#add-user")
    def _add(self) -> None:
        login = self.query_one("#new-login", Input).value.strip()
        name = self.query_one("#new-name", Input).value.strip()
        role = str(self.query_one("#new-role", Select).value)
        self._run(lambda: users.add_user(self.actor, login, role=role, full_name=name),
                  _("User {login} added").format(login=login))

    @on(Select.Changed, "#set-role, #set-visibility")
    def _set(self, event: Select.Changed) -> None:
        user = self._current()
        if user is None or event.value is Select.NULL:
            return
        key = "role" if event.select.id == "set-role" else "visibility"
        value = str(event.value)
        event.select.clear()
        self._run(lambda: users.set_user(self.actor, user.login, {key: value}),
                  _("{login}: {key} = {value}").format(login=user.login, key=key, value=value))

    @on(Select.Changed, "#hand-to")
    def _hand_over(self, event: Select.Changed) -> None:
        user = self._current()
        if user is None or event.value is Select.NULL:
            return
        target = str(event.value)
        event.select.clear()

        def move() -> None:
            moved = reassign.reassign(self.actor, user.login, target)
            self.app.notify(_("Handed over: {orgs} organizations, {contacts} contacts, {deals} "
                              "deals, {tasks} open tasks, {events} planned events").format(
                orgs=moved.organizations, contacts=moved.contacts, deals=moved.deals,
                tasks=moved.tasks, events=moved.events), markup=False)

        self._run(move, _("{login}: clients handed to {target}").format(login=user.login,
                                                                       target=target))

    def action_toggle_active(self) -> None:
        user = self._current()
        if user is None:
            return
        flag = "no" if user.active else "yes"
        self._run(lambda: users.set_user(self.actor, user.login, {"active": flag}),
                  _("{login}: {key} = {value}").format(login=user.login, key="active",
                                                       value=flag))


class AuditPane(Vertical):
    """The audit log, newest first, filtered by section, record, action or user."""

    DEFAULT_CSS = """
    AuditPane { height: 1fr; }
    AuditPane #audit-list { height: 1fr; }
    """ + control_grid_css("AuditPane")

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Input(placeholder=_("section (organizations, …)"), id="audit-section")
            yield Input(placeholder=_("record id"), id="audit-id")
            yield Input(placeholder=_("action (update, delete, export, mail, …)"),
                        id="audit-action")
            yield Input(placeholder=_("login"), id="audit-login")
        yield OptionList(id="audit-list")

    def on_resize(self) -> None:
        fit_controls(self)

    def on_mount(self) -> None:
        self.reload()

    @on(Input.Changed)
    def _filter(self) -> None:
        self.reload()

    def reload(self) -> None:
        listing = self.query_one("#audit-list", OptionList)
        listing.clear_options()
        if not (self.actor.is_admin or self.actor.role == "head"):
            listing.add_option(Option(_("Only an admin or the head of sales can read the audit "
                                        "log."), disabled=True))
            return
        value = {w.id: w.value.strip() for w in self.query(Input)}
        record = value.get("audit-id", "")
        entries = audit.history(value.get("audit-section") or None,
                                parse_id(record) if record else None,
                                action=value.get("audit-action") or None,
                                login=value.get("audit-login") or None, limit=500)
        for e in audit_text.describe(entries):
            line = Text(f"{e.at}  ", style="dim")
            line.append(f"{e.who} ", style="bold")
            line.append(" ".join(p for p in (e.action, e.section, e.record) if p))
            if e.field:
                line.append(f": {e.field} {e.change}")
            if e.details:
                line.append(f"  ({e.details})", style="dim")
            listing.add_option(Option(line))
        if not entries:
            listing.add_option(Option(_("No entries."), disabled=True))
