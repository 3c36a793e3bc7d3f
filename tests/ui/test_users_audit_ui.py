"""The admin's Users and Audit log sections: add a user, change a role, hand clients over,
and read who changed what."""

from __future__ import annotations

from tests.ui.conftest import CrmData, settle
from tui_crm.services.core import records, users
from tui_crm.ui.app import build_app
from tui_crm.ui.screens.users_audit import AuditPane, UsersPane


async def test_users_pane_adds_changes_and_hands_over(crm: CrmData) -> None:
    app = build_app(crm.path, section="users")
    app.poll_seconds = 0
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one(UsersPane)
        pane.query_one("#new-login").value = "bad login"
        await pilot.click("#add-user")
        await settle(pilot)
        assert "one word" in str(pane.query_one("#users-error").render())
        assert "bad login" not in [u.login for u in users.list_users(crm.admin)]
        pane.query_one("#new-login").value = "anna"
        pane.query_one("#new-name").value = "Анна"
        await pilot.click("#add-user")
        await settle(pilot)
        assert [u.role for u in users.list_users(crm.admin) if u.login == "anna"] == ["manager"]
        listing = pane.query_one("#users-list")
        listing.highlighted = [u.login for u in pane.items].index("anna")
        pane.query_one("#set-role").value = "head"
        await settle(pilot)
        assert [u.role for u in users.list_users(crm.admin) if u.login == "anna"] == ["head"]
        # Hand the admin's clients to anna.
        listing.highlighted = [u.login for u in pane.items].index(crm.admin.login)
        pane.query_one("#hand-to").value = "anna"
        await settle(pilot)
    anna = users.actor_for("anna")
    org = next(iter(crm.orgs.values()))
    assert records.get(anna, "organizations", org).values["owner"] == anna.user_id


async def test_audit_pane_filters_by_section_and_record(crm: CrmData) -> None:
    org = next(iter(crm.orgs.values()))
    records.update(crm.admin, "organizations", org, {"city": "Тверь"})
    app = build_app(crm.path, section="audit")
    app.poll_seconds = 0
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one(AuditPane)
        pane.query_one("#audit-section").value = "organizations"
        pane.query_one("#audit-id").value = str(org)
        pane.query_one("#audit-action").value = "update"
        await settle(pilot)
        listing = pane.query_one("#audit-list")
        lines = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        # An id no column holds, or digits of another script, filter by no record: no crash.
        for typed in ("99999999999999999999", "²"):
            pane.query_one("#audit-id").value = typed
            await settle(pilot)
            assert listing.option_count >= 1 and app.is_running
    assert len(lines) == 1
    assert "changed Organizations «Ромашка»: City Москва → Тверь" in lines[0]  # human terms


async def test_the_last_admin_is_kept_by_the_users_pane(crm: CrmData) -> None:
    app = build_app(crm.path, section="users")
    app.poll_seconds = 0
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one(UsersPane)
        listing = pane.query_one("#users-list")
        listing.highlighted = [u.login for u in pane.items].index(crm.admin.login)
        pane.query_one("#set-role").value = "manager"
        await settle(pilot)
        assert "last active admin" in str(pane.query_one("#users-error").render())
        listing.focus()
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert "last active admin" in str(pane.query_one("#users-error").render())
    me = [u for u in users.list_users(crm.admin) if u.login == crm.admin.login]
    assert [(u.role, u.active) for u in me] == [("admin", True)]
