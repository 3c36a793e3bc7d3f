"""Which rows are clients the base (or an earlier row) already has: the one duplicate rule
(services/duplicates/rule.py) through an index read once from the base.
"""

from __future__ import annotations

from typing import Any, cast

from tui_crm.db import models as m
from tui_crm.db.backend import backend
from tui_crm.db.database import current
from tui_crm.i18n import _
from tui_crm.services.core import (
    lookups,
    visibility,
)
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import rule
from tui_crm.services.transfer.importing.rows import Pending, PreparedRow
from tui_crm.text.names import normalize_text, org_key, person_key


def _row_keys(kind: str, values_: dict[str, Any],
              cities: dict[str, str] | None = None) -> rule.Keys:
    """A cleaned row's keys for the duplicate rule (`cities`: normalized cities by text,
    filled as rows come: a file names few cities)."""
    phones = tuple(p[2] for p in values_.get("phones", ()) if p[3] and p[2])
    emails = tuple(p[2] for p in values_.get("emails", ()) if p[3] and p[2])
    if kind == "organizations":
        city = values_.get("city") or ""
        city_key = cities.get(city) if cities is not None else None
        if city_key is None:
            city_key = normalize_text(city)
            if cities is not None:
                cities[city] = city_key
        legal = values_.get("legal_name")
        return rule.Keys(phones, emails, values_.get("inn") or "", org_key(values_["name"]),
                         city=city_key, legal=rule.legal_key(legal) if legal else "")
    org = values_.get("organization")
    company = str(org) if isinstance(org, int) else \
        f"new:{normalize_text(org.name)}" if isinstance(org, Pending) else ""
    return rule.Keys(phones, emails, "", contact_key(values_), company,
                     rule.birthday_key(values_.get("birthday")))


def contact_key(values_: dict[str, Any]) -> str:
    return person_key(values_.get("last_name"), values_.get("first_name"),
                      values_.get("middle_name"))


def match_duplicates(actor: Actor, kind: str, rows: list[PreparedRow], fuzzy: bool) -> None:
    """Mark each row that is (surely or possibly, see duplicates/rule.py) a record of the base
    or an earlier row of the file."""
    matcher = Matcher(actor, kind, fuzzy)
    matcher.match(rows, 0)
    matcher.name_hidden_owners(rows)


class Matcher:
    """The base's keys, read once, and the file's rows matched in order, part after part:
    a row is matched against the base and the rows before it (`match` with the part's
    position in the file's rows)."""

    def __init__(self, actor: Actor, kind: str, fuzzy: bool) -> None:
        model = m.Organization if kind == "organizations" else m.Contact
        owner_col = "organization_id" if kind == "organizations" else "contact_id"
        table_name = model._meta.table_name
        db = current()
        self.kind, self.model = kind, model
        index = self.index = rule.Index(kind, fuzzy=fuzzy and kind == "organizations")
        self.visible = visibility.visible_id_set(actor, kind)
        sql = (f"SELECT p.kind, p.normalized, p.{owner_col} FROM contact_point p "
               f"JOIN \"{table_name}\" r ON r.id = p.{owner_col} "
               f"WHERE p.kind IN ('phone', 'email') AND {backend(db).is_true('p.valid')}"
               f" AND p.normalized <> '' AND r.deleted_at IS NULL")
        # The base is read once, through the driver (no model objects: a 100k-client base
        # has 700k phones and e-mails), whatever the size of the file. Refs: ("db", id) or
        # ("row", position in the file's rows).
        for point_kind, normalized, record_id in db.execute_sql(sql):
            index.add_point(point_kind, normalized, ("db", record_id))
        cities: dict[str, str] = {}  # few distinct cities: normalized once each
        self.cities = cities
        if kind == "organizations":
            for record_id, name, city, inn, legal in db.execute_sql(
                    f'SELECT id, name, city, inn, legal_name FROM "{table_name}"'
                    f' WHERE deleted_at IS NULL'):
                city = city or ""
                city_key = cities.get(city)
                if city_key is None:
                    city_key = cities[city] = normalize_text(city)
                index.add(("db", record_id), rule.Keys(
                    inn=inn or "", name=org_key(name), city=city_key,
                    legal=rule.legal_key(legal or "")))
        else:
            for record_id, last, first, middle, org, birthday in db.execute_sql(
                    f'SELECT id, last_name, first_name, middle_name, organization_id, birthday'
                    f' FROM "{table_name}" WHERE deleted_at IS NULL'):
                index.add(("db", record_id), rule.Keys(
                    name=person_key(last, first, middle), company=str(org or ""),
                    birthday=rule.birthday_key(birthday)))

    def match(self, rows: list[PreparedRow], start: int) -> None:
        """Match `rows`, which are the file's rows from position `start` on."""
        index, visible, cities, kind = self.index, self.visible, self.cities, self.kind
        for position, row in enumerate(rows, start):
            if row.error:
                continue
            keys = _row_keys(kind, row.values, cities)
            hit = index.find(keys)
            root: Any = ("row", position)
            if hit is not None:
                ref, verdict = hit
                where, target = cast("tuple[str, int]", ref)  # ("db", id) or ("row", position)
                if where == "db":
                    row.duplicate_of = target
                    row.hidden_owner = verdict.sure and visible is not None \
                        and target not in visible
                else:
                    row.duplicate_row = target
                row.duplicate_reason = verdict.reason
                row.duplicate_sure = verdict.sure
                if verdict.sure:
                    root = (where, target)
            # A row merged into another lends it its phones and e-mails; a new one is a
            # record later rows may match, namesakes included.
            if root == ("row", position):
                index.add(root, keys)
            else:
                index.add(root, keys._replace(name=""))

    def name_hidden_owners(self, rows: list[PreparedRow]) -> None:
        _name_hidden_owners(self.model, [row for row in rows if row.hidden_owner])


def _name_hidden_owners(model: type[m.Organization | m.Contact], rows: list[PreparedRow]
                        ) -> None:
    """Tell whose client each row already is when the actor may not see it (SPEC: the user
    is told whose client it is), without its name or id; such a row is never imported."""
    targets = sorted({row.duplicate_of for row in rows if row.duplicate_of is not None})
    owners: dict[int, int | None] = {}
    for start in range(0, len(targets), 900):
        owners.update(model.select(model.id, model.owner).where(
            model.id.in_(targets[start:start + 900])).tuples())
    logins = lookups.names("user", owners.values())
    for row in rows:
        owner = logins.get(owners.get(row.duplicate_of or 0) or 0) or _("nobody")
        row.problems.append(_("Already a client of {owner} (same {reason}): not imported")
                            .format(owner=owner, reason=row.duplicate_reason))
