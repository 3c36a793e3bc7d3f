"""The sections of the sidebar, in their default order, with their English names — plain
data, so a read-only command can name sections without loading the database layer."""

from __future__ import annotations

from tui_crm.i18n import N_

# Every section of the sidebar, in the default order, with its English name.
# Sections whose screens have not landed yet are listed in AVAILABLE by the UI.
SECTIONS: dict[str, str] = {
    "today": N_("Today"),
    "followups": N_("Follow-ups"),
    "organizations": N_("Organizations"),
    "contacts": N_("Contacts"),
    "deals": N_("Deals"),
    "tasks": N_("Tasks"),
    "events": N_("Events"),
    "notes": N_("Notes"),
    "links": N_("Links"),
    "payments": N_("Payments"),
    "services": N_("Services rendered"),
    "reports": N_("Reports"),
    "categories": N_("Categories"),
    "mailings": N_("Mailings"),
    "users": N_("Users"),
    "audit": N_("Audit log"),
    "settings": N_("Settings"),
}
