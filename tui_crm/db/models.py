"""The data model: every record of SPEC section 1.

Editable records carry `version` (optimistic locking), created/updated time and author,
and `deleted_at` (soft delete: the trash). `only_save_dirty` keeps a stale object from
reverting columns someone else changed. Services are the only callers of these models.
"""

from __future__ import annotations

import datetime as dt

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

database_proxy = DatabaseProxy()


def now() -> dt.datetime:
    """The wall-clock time stored in records (naive local time, to the second)."""
    return dt.datetime.now().replace(microsecond=0)


class BaseModel(Model):
    # Each foreign key `x` is followed by a bare annotation `x_id: int | None`: peewee adds the
    # `x_id` accessor at class creation (the type checker cannot see it) and ignores bare
    # annotations, so they only tell the type checker what the accessor returns.

    class Meta:
        database = database_proxy
        legacy_table_names = False
        only_save_dirty = True


class User(BaseModel):
    id = AutoField()
    login = CharField(unique=True)
    full_name = CharField(default="")
    email = CharField(default="")
    role = CharField(default="manager")  # admin / head / manager / viewer
    visibility = CharField(default="")  # "" = role default; own / group / all
    rights = TextField(default="{}")  # JSON overrides per section/action
    group_id = IntegerField(null=True)  # the manager's own group (visibility "group")
    language = CharField(default="")
    theme = CharField(default="")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=now)


class Record(BaseModel):
    """Columns every editable record has."""

    # Every record table has this key; declared here (peewee would add the same field) so
    # code generic over `type[Record]` can use `model.id`.
    id = AutoField()
    version = IntegerField(default=1)
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_by_id: int | None
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    updated_by_id: int | None
    deleted_at = DateTimeField(null=True, index=True)


class Group(BaseModel):
    """A node of a per-section group tree (e.g. one sub-group per manager or city)."""

    id = AutoField()
    section = CharField(index=True)
    name = CharField()
    parent = ForeignKeyField("self", null=True, on_delete="CASCADE", backref="children")
    parent_id: int | None
    position = IntegerField(default=0)


class Source(BaseModel):
    """Where a client came from (advert, referral, cold call, exhibition, …)."""

    id = AutoField()
    name = CharField(unique=True)
    active = BooleanField(default=True)


class Organization(Record):
    id = AutoField()
    name = CharField(index=True)
    legal_name = CharField(default="")
    inn = CharField(default="", index=True)
    industry = CharField(default="")
    city = CharField(default="", index=True)
    address = CharField(default="")
    website = CharField(default="")
    notes = TextField(default="")
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", backref="+")
    group_id: int | None
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=True)
    owner_id: int | None
    status = CharField(default="lead", index=True)  # lead / warm / client / lost
    category = CharField(default="none", index=True)  # vip / good / regular / difficult / none
    source = ForeignKeyField(Source, null=True, on_delete="SET NULL", backref="+")
    source_id: int | None
    cadence_days = IntegerField(null=True)  # "stay in touch every N days"
    opt_out = BooleanField(default=False)  # no mailings
    primary_phone = CharField(default="")  # denormalized for fast tables
    primary_email = CharField(default="")
    last_contact_at = DateTimeField(null=True, index=True)
    next_contact_at = DateTimeField(null=True, index=True)


class Contact(Record):
    id = AutoField()
    last_name = CharField(default="", index=True)
    first_name = CharField(default="")
    middle_name = CharField(default="")
    organization = ForeignKeyField(
        Organization, null=True, on_delete="SET NULL", backref="contacts", index=True
    )
    organization_id: int | None
    position = CharField(default="")
    role = CharField(default="")  # role in the deal (buyer, accountant, …)
    is_decision_maker = BooleanField(default=False)
    birthday = DateField(null=True, index=True)
    hobbies = CharField(default="")
    photo_path = CharField(default="")
    registration_address = CharField(default="")
    residence_address = CharField(default="")
    notes = TextField(default="")
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", backref="+")
    group_id: int | None
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=True)
    owner_id: int | None
    source = ForeignKeyField(Source, null=True, on_delete="SET NULL", backref="+")
    source_id: int | None
    cadence_days = IntegerField(null=True)
    opt_out = BooleanField(default=False)
    primary_phone = CharField(default="")
    primary_email = CharField(default="")
    last_contact_at = DateTimeField(null=True, index=True)
    next_contact_at = DateTimeField(null=True, index=True)


class ContactPoint(BaseModel):
    """A typed phone / e-mail / messenger of an organization or a contact.

    `normalized` holds the matching form: E.164 for phones, lower-case e-mail,
    lower-case handle for messengers.
    """

    id = AutoField()
    organization = ForeignKeyField(
        Organization, null=True, on_delete="CASCADE", backref="points", index=True
    )
    organization_id: int | None
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE", backref="points", index=True)
    contact_id: int | None
    kind = CharField()  # phone / email / messenger
    type = CharField(default="")  # mobile / work / home / fax / telegram / whatsapp / …
    value = CharField()
    normalized = CharField(default="", index=True)
    valid = BooleanField(default=True)  # an unparsable phone is kept as typed, flagged
    position = IntegerField(default=0)


class Tag(BaseModel):
    id = AutoField()
    name = CharField(unique=True)


class TagLink(BaseModel):
    id = AutoField()
    tag = ForeignKeyField(Tag, on_delete="CASCADE", backref="links")
    tag_id: int
    kind = CharField()  # organizations / contacts / tasks / notes
    record_id = IntegerField()

    class Meta:
        indexes = ((("kind", "record_id", "tag"), True),)


class EventType(BaseModel):
    """Configurable kinds of event (call, meeting, e-mail, visit, …)."""

    id = AutoField()
    code = CharField(unique=True)
    name_en = CharField()
    name_ru = CharField()
    position = IntegerField(default=0)
    active = BooleanField(default=True)


class EventResult(BaseModel):
    """A configurable result of an event type; `warm` results require a next step."""

    id = AutoField()
    event_type = ForeignKeyField(EventType, on_delete="CASCADE", backref="results")
    event_type_id: int
    code = CharField()
    name_en = CharField()
    name_ru = CharField()
    warm = BooleanField(default=False)
    reached_decision_maker = BooleanField(default=False)
    productive = BooleanField(default=False)
    position = IntegerField(default=0)
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("event_type", "code"), True),)


class Task(Record):
    id = AutoField()
    title = CharField()
    description = TextField(default="")
    due_at = DateTimeField(null=True, index=True)
    priority = CharField(default="normal")  # low / normal / high
    status = CharField(default="open", index=True)  # open / in_progress / done / cancelled
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=True)
    assignee_id: int | None
    organization = ForeignKeyField(Organization, null=True, on_delete="SET NULL", backref="tasks")
    organization_id: int | None
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="tasks")
    contact_id: int | None
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", backref="+")
    group_id: int | None


class Event(Record):
    id = AutoField()
    event_type = ForeignKeyField(EventType, null=True, on_delete="SET NULL", backref="+")
    event_type_id: int | None
    title = CharField(default="")
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField(null=True)
    organization = ForeignKeyField(
        Organization, null=True, on_delete="SET NULL", backref="events", index=True
    )
    organization_id: int | None
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="events", index=True)
    contact_id: int | None
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=True)
    assignee_id: int | None
    status = CharField(default="planned", index=True)  # planned / done / cancelled / missed
    result = ForeignKeyField(EventResult, null=True, on_delete="SET NULL", backref="+")
    result_id: int | None
    result_note = TextField(default="")
    next_step = CharField(default="")
    reminder_minutes = IntegerField(null=True)  # remind this many minutes before start
    rrule = CharField(default="")  # RFC 5545 recurrence rule (dateutil)
    series = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="occurrences")
    series_id: int | None
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", backref="+")
    group_id: int | None


class Note(Record):
    id = AutoField()
    title = CharField()
    body = TextField(default="")
    organization = ForeignKeyField(Organization, null=True, on_delete="SET NULL", backref="notes")
    organization_id: int | None
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="notes")
    contact_id: int | None
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", backref="+")
    group_id: int | None


class Link(Record):
    """A bookmark; its password lives in the system keyring, never here."""

    id = AutoField()
    url = CharField()
    title = CharField(default="")
    description = TextField(default="")
    login = CharField(default="")
    organization = ForeignKeyField(Organization, null=True, on_delete="SET NULL", backref="links")
    organization_id: int | None
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", backref="+")
    group_id: int | None


class Deal(Record):
    id = AutoField()
    organization = ForeignKeyField(
        Organization, null=True, on_delete="SET NULL", backref="deals", index=True
    )
    organization_id: int | None
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="deals")
    contact_id: int | None
    title = CharField()
    stage = CharField(default="new", index=True)  # new/proposal/negotiation/invoice/won/lost
    amount = DecimalField(max_digits=14, decimal_places=2, default=0)
    expected_close = DateField(null=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=True)
    owner_id: int | None
    lost_reason = CharField(default="")


class Payment(Record):
    id = AutoField()
    date = DateField(index=True)
    amount = DecimalField(max_digits=14, decimal_places=2)
    organization = ForeignKeyField(
        Organization, null=True, on_delete="SET NULL", backref="payments", index=True
    )
    organization_id: int | None
    deal = ForeignKeyField(Deal, null=True, on_delete="SET NULL", backref="payments")
    deal_id: int | None
    description = CharField(default="")


class ServiceRendered(Record):
    id = AutoField()
    date = DateField(index=True)
    amount = DecimalField(max_digits=14, decimal_places=2, default=0)
    units = DecimalField(max_digits=14, decimal_places=3, default=0)
    organization = ForeignKeyField(
        Organization, null=True, on_delete="SET NULL", backref="services", index=True
    )
    organization_id: int | None
    description = CharField(default="")


class CustomField(BaseModel):
    """An admin-defined field of one record kind."""

    id = AutoField()
    section = CharField(index=True)
    name = CharField()  # the key used in CLI, import mapping and templates
    label = CharField()
    kind = CharField(default="text")  # text / number / date / choice / bool
    choices = TextField(default="[]")  # JSON list for "choice"
    position = IntegerField(default=0)
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("section", "name"), True),)


class CustomValue(BaseModel):
    id = AutoField()
    field = ForeignKeyField(CustomField, on_delete="CASCADE", backref="values")
    field_id: int
    record_id = IntegerField()
    value = TextField(default="")

    class Meta:
        indexes = ((("field", "record_id"), True),)


class Setting(BaseModel):
    """A database-wide setting (section names and order, field labels, defaults)."""

    key = CharField(primary_key=True)
    value = TextField(default="null")  # JSON


class ScheduleBlock(BaseModel):
    """One time block of a day template; user NULL = everyone's default, weekday NULL = all."""

    id = AutoField()
    user = ForeignKeyField(User, null=True, on_delete="CASCADE", backref="+")
    user_id: int | None
    weekday = IntegerField(null=True)  # 0 = Monday
    start = CharField()  # "09:00"
    end = CharField()
    kind = CharField(default="calls")  # calls / meetings / paperwork / travel / custom
    label = CharField(default="")
    position = IntegerField(default=0)


class AuditLog(BaseModel):
    """Who did what to which record, field by field; also the change log other sessions poll."""

    id = AutoField()
    at = DateTimeField(default=now, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    user_id: int | None
    action = CharField()  # create / update / delete / restore / export / import / mail / …
    kind = CharField(default="")
    record_id = IntegerField(null=True)
    field = CharField(default="")
    old = TextField(default="")
    new = TextField(default="")
    details = TextField(default="")

    class Meta:
        indexes = ((("kind", "record_id"), False),)


RECORD_MODELS: dict[str, type[Record]] = {
    "organizations": Organization,
    "contacts": Contact,
    "tasks": Task,
    "events": Event,
    "notes": Note,
    "links": Link,
    "deals": Deal,
    "payments": Payment,
    "services": ServiceRendered,
}

ALL_MODELS: list[type[BaseModel]] = [
    User,
    Group,
    Source,
    Organization,
    Contact,
    ContactPoint,
    Tag,
    TagLink,
    EventType,
    EventResult,
    Task,
    Event,
    Note,
    Link,
    Deal,
    Payment,
    ServiceRendered,
    CustomField,
    CustomValue,
    Setting,
    ScheduleBlock,
    AuditLog,
]
