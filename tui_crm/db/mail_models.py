"""Tables of e-mail mailings (schema step 5): accounts, templates, mailings, recipients;
and the attachments' bytes (step 9).

No password column anywhere: an account names where its password lives (the keyring, or an
environment variable); see tui_crm.services.core.secrets.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from tui_crm.db.models import BaseModel, User, now


class MailAccount(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    host = CharField()
    port = IntegerField()
    security = CharField(default="starttls")  # ssl / starttls / none
    login = CharField(default="")
    from_address = CharField()
    from_name = CharField(default="")
    password_source = CharField(default="none")  # keyring / env / none
    password_env = CharField(default="")  # the variable's NAME, never its value
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_by_id: int | None
    created_at = DateTimeField(default=now)


class MailTemplate(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    subject = TextField(default="")
    body = TextField(default="")
    html = BooleanField(default=False)
    # JSON list of attachments: {"name", "size", "sha256"} of a MailFile (see mail_files)
    attachments = TextField(default="[]")
    version = IntegerField(default=1)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_by_id: int | None
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)


class Mailing(BaseModel):
    """One send of a template to a fixed list of recipients.

    The subject, body and attachments are copied from the template when the mailing is
    created, so a resumed mailing sends the same text to the rest.
    """

    id = AutoField()
    name = CharField(default="")
    template = ForeignKeyField(MailTemplate, null=True, on_delete="SET NULL", backref="+")
    template_id: int | None
    account = ForeignKeyField(MailAccount, null=True, on_delete="SET NULL", backref="+")
    account_id: int | None
    subject = TextField(default="")
    body = TextField(default="")
    html = BooleanField(default=False)
    attachments = TextField(default="[]")
    kind = CharField(default="contacts")  # the recipients' section
    source = TextField(default="")  # how the recipients were chosen (for people)
    rate_per_minute = FloatField(null=True)
    status = CharField(default="draft")  # draft / sending / stopped / waiting / done
    runner = CharField(default="")  # "host:pid:token" of the process sending it now
    heartbeat_at = DateTimeField(null=True)
    test_sent_at = DateTimeField(null=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_by_id: int | None
    created_at = DateTimeField(default=now)


class MailRecipient(BaseModel):
    """One addressee of a mailing and what happened to the message.

    status: pending → sending (committed with `message_id` BEFORE the SMTP transaction) →
    sent (after it); failed (the server's reply in `reply`); unknown (left in `sending` by a
    crash: a person decides); skipped (opted out meanwhile).
    """

    id = AutoField()
    mailing = ForeignKeyField(Mailing, on_delete="CASCADE", backref="recipients")
    mailing_id: int
    kind = CharField()  # contacts / organizations
    record_id = IntegerField()
    organization_id = IntegerField(null=True)
    contact_id = IntegerField(null=True)
    name = CharField(default="")
    address = CharField()  # as it will be written in To:
    address_key = CharField()  # casefolded, for duplicates
    status = CharField(default="pending")
    message_id = CharField()
    attempts = IntegerField(default=0)
    reply = TextField(default="")
    next_attempt_at = DateTimeField(null=True)
    event_id = IntegerField(null=True)
    updated_at = DateTimeField(default=now)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("mailing", "address_key"), True),
            (("mailing", "status"), False),
        )


class MailFile(BaseModel):
    """The bytes of an attachment, read when its template was saved; once per content
    (templates and the mailings made from them refer to it by SHA-256)."""

    id = AutoField()
    sha256 = CharField(max_length=64, unique=True)
    size = IntegerField()
    data = BlobField()
    created_at = DateTimeField(default=now)


MAIL_MODELS = [MailAccount, MailTemplate, Mailing, MailRecipient]  # schema step 5
