"""What each record kind looks like to users: its fields, labels, choices and columns.

One description drives the CLI's FIELD=VALUE parsing, the forms, the table columns,
export headers and import mapping, so a field is declared once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from tui_crm.db import models as m
from tui_crm.i18n import N_

# Field types: text, multiline, int, decimal, date, datetime, bool, choice,
# and references: user, organization, contact, group, source, event_type, event_result;
# and the repeatable ones: phones, emails, messengers, tags.
REFERENCE_TYPES = {"user", "organization", "contact", "group", "source", "event_type",
                   "event_result", "deal"}
POINT_TYPES = {"phones": "phone", "emails": "email", "messengers": "messenger"}

STATUS_CHOICES = {"lead": N_("Lead"), "warm": N_("Warm"), "client": N_("Client"),
                  "lost": N_("Lost")}
CATEGORY_CHOICES = {"vip": N_("VIP"), "good": N_("Good"), "regular": N_("Regular"),
                    "difficult": N_("Difficult"), "none": N_("None")}
PRIORITY_CHOICES = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High")}
# "To do", not "Open": in Russian a status ("Открыта") and the action ("Открыть") differ.
TASK_STATUS_CHOICES = {"open": N_("To do"), "in_progress": N_("In progress"),
                       "done": N_("Done"), "cancelled": N_("Cancelled")}
EVENT_STATUS_CHOICES = {"planned": N_("Planned"), "done": N_("Done"),
                        "cancelled": N_("Cancelled"), "missed": N_("Missed")}
DEAL_STAGE_CHOICES = {"new": N_("New"), "proposal": N_("Proposal sent"),
                      "negotiation": N_("Negotiation"), "invoice": N_("Invoice issued"),
                      "won": N_("Won"), "lost": N_("Lost")}
PHONE_TYPES = {"mobile": N_("mobile"), "work": N_("work"), "home": N_("home"),
               "fax": N_("fax"), "other": N_("other")}
EMAIL_TYPES = {"work": N_("work"), "personal": N_("personal"), "other": N_("other")}
MESSENGER_TYPES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "viber": "Viber",
                   "skype": "Skype", "vk": N_("VK"), "max": "MAX", "other": N_("other")}
POINT_TYPE_CHOICES = {"phone": PHONE_TYPES, "email": EMAIL_TYPES, "messenger": MESSENGER_TYPES}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # English; translated where shown (or renamed by an admin)
    type: str = "text"
    required: bool = False
    choices: dict[str, str] = field(default_factory=dict)
    column: bool = False  # a default table column
    width: int = 16
    editable: bool = True
    custom: bool = False
    # The range of a number field, checked by values.clean (forms, CLI, import) besides
    # what its column can hold.
    min_value: int | Decimal | None = None
    max_value: int | Decimal | None = None
    past_only: bool = False  # a date in the past by its nature (a birthday): see text.dates

    @property
    def is_reference(self) -> bool:
        return self.type in REFERENCE_TYPES

    @property
    def is_repeatable(self) -> bool:
        return self.type in POINT_TYPES or self.type == "tags"


@dataclass(frozen=True)
class KindSpec:
    name: str  # the section name: organizations, contacts, …
    label: str  # plural, English
    singular: str
    model: type[m.Record]
    fields: tuple[FieldSpec, ...]
    owner_field: str | None = None  # visibility: whose record it is
    default_sort: str = "id"
    has_points: bool = False
    has_tags: bool = False

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    @property
    def columns(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.column]


class NumberRange(TypedDict, total=False):
    """The range of a number field, passed to FieldSpec as keywords."""

    min_value: int | Decimal | None
    max_value: int | Decimal | None


F = FieldSpec
CADENCE_DAYS: NumberRange = {"min_value": 0}
# At the start … a month before: reminders look this far ahead for every series.
REMINDER_MAX_MINUTES = 30 * 24 * 60
REMINDER_MINUTES: NumberRange = {"min_value": 0, "max_value": REMINDER_MAX_MINUTES}
NOT_NEGATIVE: NumberRange = {"min_value": Decimal(0)}

ORGANIZATIONS = KindSpec(
    "organizations", N_("Organizations"), N_("Organization"), m.Organization,
    (
        F("name", N_("Name"), required=True, column=True, width=30),
        F("legal_name", N_("Legal name")),
        F("inn", N_("Tax id (INN)"), width=12),
        F("industry", N_("Industry")),
        F("city", N_("City"), column=True, width=14),
        F("address", N_("Address")),
        F("website", N_("Website")),
        F("phones", N_("Phones"), "phones"),
        F("emails", N_("E-mails"), "emails"),
        F("messengers", N_("Messengers"), "messengers"),
        F("primary_phone", N_("Phone"), column=True, width=18, editable=False),
        F("primary_email", N_("E-mail"), editable=False, width=22),
        F("status", N_("Status"), "choice", choices=STATUS_CHOICES, column=True, width=8),
        F("category", N_("Category"), "choice", choices=CATEGORY_CHOICES, column=True, width=9),
        F("owner", N_("Owner"), "user", column=True, width=14),
        F("group", N_("Group"), "group"),
        F("source", N_("Source"), "source"),
        F("cadence_days", N_("Stay in touch every N days"), "int", **CADENCE_DAYS),
        F("opt_out", N_("No mailings"), "bool"),
        F("last_contact_at", N_("Last contact"), "datetime", editable=False, width=16),
        F("next_contact_at", N_("Next step"), "datetime", editable=False, column=True, width=16),
        F("tags", N_("Tags"), "tags"),
        F("notes", N_("Notes"), "multiline"),
    ),
    owner_field="owner", default_sort="name", has_points=True, has_tags=True,
)

CONTACTS = KindSpec(
    "contacts", N_("Contacts"), N_("Contact"), m.Contact,
    (
        F("last_name", N_("Last name"), column=True, width=16),
        F("first_name", N_("First name"), column=True, width=12),
        F("middle_name", N_("Middle name"), width=14),
        F("organization", N_("Organization"), "organization", column=True, width=24),
        F("position", N_("Position"), width=16),
        F("role", N_("Role")),
        F("is_decision_maker", N_("Decision maker"), "bool"),
        F("phones", N_("Phones"), "phones"),
        F("emails", N_("E-mails"), "emails"),
        F("messengers", N_("Messengers"), "messengers"),
        F("primary_phone", N_("Phone"), column=True, width=18, editable=False),
        F("primary_email", N_("E-mail"), editable=False, width=22),
        F("birthday", N_("Birthday"), "date", width=10, past_only=True),
        F("hobbies", N_("Hobbies")),
        F("registration_address", N_("Registration address")),
        F("residence_address", N_("Residence address")),
        F("photo_path", N_("Photo")),
        F("owner", N_("Owner"), "user", column=True, width=14),
        F("group", N_("Group"), "group"),
        F("source", N_("Source"), "source"),
        F("cadence_days", N_("Stay in touch every N days"), "int", **CADENCE_DAYS),
        F("opt_out", N_("No mailings"), "bool"),
        F("last_contact_at", N_("Last contact"), "datetime", editable=False, width=16),
        F("next_contact_at", N_("Next step"), "datetime", editable=False, width=16),
        F("tags", N_("Tags"), "tags"),
        F("notes", N_("Notes"), "multiline"),
    ),
    owner_field="owner", default_sort="last_name", has_points=True, has_tags=True,
)

TASKS = KindSpec(
    "tasks", N_("Tasks"), N_("Task"), m.Task,
    (
        F("title", N_("Title"), required=True, column=True, width=30),
        F("description", N_("Description"), "multiline"),
        F("due_at", N_("Due"), "datetime", column=True, width=16),
        F("priority", N_("Priority"), "choice", choices=PRIORITY_CHOICES, column=True, width=8),
        F("status", N_("Status"), "choice", choices=TASK_STATUS_CHOICES, column=True, width=10),
        F("assignee", N_("Assignee"), "user", column=True, width=14),
        F("organization", N_("Organization"), "organization", column=True, width=20),
        F("contact", N_("Contact"), "contact"),
        F("group", N_("Group"), "group"),
        F("tags", N_("Tags"), "tags"),
    ),
    owner_field="assignee", default_sort="due_at", has_tags=True,
)

EVENTS = KindSpec(
    "events", N_("Events"), N_("Event"), m.Event,
    (
        F("event_type", N_("Type"), "event_type", required=True, column=True, width=10),
        F("title", N_("Title"), column=True, width=22),
        F("starts_at", N_("Start"), "datetime", required=True, column=True, width=16),
        F("ends_at", N_("End"), "datetime"),
        F("organization", N_("Organization"), "organization", column=True, width=20),
        F("contact", N_("Contact"), "contact", column=True, width=16),
        F("assignee", N_("Assignee"), "user", column=True, width=12),
        F("status", N_("Status"), "choice", choices=EVENT_STATUS_CHOICES, column=True, width=9),
        F("result", N_("Result"), "event_result", column=True, width=16),
        F("result_note", N_("Result note"), "multiline"),
        F("next_step", N_("Next step")),
        F("reminder_minutes", N_("Reminder, minutes before"), "int", **REMINDER_MINUTES),
        F("rrule", N_("Repeat rule (RRULE)")),
        F("group", N_("Group"), "group"),
    ),
    owner_field="assignee", default_sort="starts_at",
)

NOTES = KindSpec(
    "notes", N_("Notes"), N_("Note"), m.Note,
    (
        F("title", N_("Title"), required=True, column=True, width=30),
        F("body", N_("Text"), "multiline"),
        F("organization", N_("Organization"), "organization", column=True, width=20),
        F("contact", N_("Contact"), "contact", column=True, width=16),
        F("group", N_("Group"), "group"),
        F("tags", N_("Tags"), "tags", column=True, width=16),
        F("updated_at", N_("Updated"), "datetime", editable=False, column=True, width=16),
    ),
    default_sort="title", has_tags=True,
)

LINKS = KindSpec(
    "links", N_("Links"), N_("Link"), m.Link,
    (
        F("title", N_("Title"), column=True, width=24),
        F("url", N_("Address (URL)"), required=True, column=True, width=36),
        F("description", N_("Description"), "multiline"),
        F("login", N_("Login"), column=True, width=14),
        F("organization", N_("Organization"), "organization"),
        F("group", N_("Group"), "group"),
    ),
    default_sort="title",
)

DEALS = KindSpec(
    "deals", N_("Deals"), N_("Deal"), m.Deal,
    (
        F("title", N_("Title"), required=True, column=True, width=26),
        F("organization", N_("Organization"), "organization", column=True, width=22),
        F("contact", N_("Contact"), "contact"),
        F("stage", N_("Stage"), "choice", choices=DEAL_STAGE_CHOICES, column=True, width=12),
        F("amount", N_("Amount"), "decimal", column=True, width=12, **NOT_NEGATIVE),
        F("expected_close", N_("Expected close"), "date", column=True, width=10),
        F("owner", N_("Owner"), "user", column=True, width=12),
        F("lost_reason", N_("Lost reason")),
    ),
    owner_field="owner", default_sort="id",
)

PAYMENTS = KindSpec(
    "payments", N_("Payments"), N_("Payment"), m.Payment,
    (
        F("date", N_("Date"), "date", required=True, column=True, width=10),
        F("amount", N_("Amount"), "decimal", required=True, column=True, width=12,
          **NOT_NEGATIVE),
        F("organization", N_("Organization"), "organization", required=True, column=True,
          width=26),
        F("deal", N_("Deal"), "deal", column=True, width=20),
        F("description", N_("Description"), column=True, width=20),
    ),
    default_sort="date",
)

SERVICES = KindSpec(
    "services", N_("Services rendered"), N_("Service rendered"), m.ServiceRendered,
    (
        F("date", N_("Date"), "date", required=True, column=True, width=10),
        F("amount", N_("Amount"), "decimal", column=True, width=12, **NOT_NEGATIVE),
        F("units", N_("Units"), "decimal", column=True, width=8, **NOT_NEGATIVE),
        F("organization", N_("Organization"), "organization", required=True, column=True,
          width=26),
        F("description", N_("Description"), column=True, width=20),
    ),
    default_sort="date",
)

KINDS: dict[str, KindSpec] = {
    k.name: k
    for k in (ORGANIZATIONS, CONTACTS, TASKS, EVENTS, NOTES, LINKS, DEALS, PAYMENTS, SERVICES)
}

# Sections a user can type on the command line, with singular and Russian aliases.
ALIASES = {
    "organization": "organizations", "org": "organizations", "orgs": "organizations",
    "clients": "organizations", "client": "organizations",
    "contact": "contacts", "people": "contacts", "person": "contacts",
    "task": "tasks", "event": "events", "note": "notes", "link": "links", "deal": "deals",
    "payment": "payments", "service": "services",
}

# The records that refer to an organization or a contact (column named), for merging and
# for undoing an import: what must follow when the record goes or is merged.
REFERRERS: dict[str, list[tuple[type[m.Record], str]]] = {
    "organizations": [(m.Contact, "organization"), (m.Task, "organization"),
                      (m.Event, "organization"), (m.Note, "organization"),
                      (m.Link, "organization"), (m.Deal, "organization"),
                      (m.Payment, "organization"), (m.ServiceRendered, "organization")],
    "contacts": [(m.Task, "contact"), (m.Event, "contact"), (m.Note, "contact"),
                 (m.Deal, "contact")],
}
