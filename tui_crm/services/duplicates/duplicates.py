"""Finding records that look like a new or edited organization or contact.

Matches by normalized phone, e-mail, tax id, or a same or close name as `rule` decides
(one rule for the form, the base scan and the importer), across all managers, and says
whose client it already is — so the form and the importer can warn. A record the actor may
not see is told by its owner alone: neither its name nor its id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.database import current
from tui_crm.errors import CrmError
from tui_crm.i18n import _
from tui_crm.services.core import lookups, search_docs, search_match, visibility
from tui_crm.services.core.kinds import POINT_TYPES
from tui_crm.services.core.rights import Actor
from tui_crm.services.core.values import parse_field, phone_region, split_point
from tui_crm.services.duplicates import rule
from tui_crm.text.identity import email_key
from tui_crm.text.names import normalize_text, person_key
from tui_crm.text.names import org_key as normalize_name
from tui_crm.text.phones import parse_phone


@dataclass
class Duplicate:
    section: str
    id: int | None  # None: a record the actor may not see
    title: str
    owner: str
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0

    @property
    def hidden(self) -> bool:
        return self.id is None

    @property
    def key(self) -> str:
        """Tells one warning from another (to acknowledge it) without the hidden id."""
        if self.id is not None:
            return f"{self.section}:{self.id}"
        return f"{self.section}:hidden:{self.owner}:{','.join(self.reasons)}"

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "id": self.id, "title": self.title,
                "owner": self.owner, "hidden": self.hidden, "reasons": self.reasons,
                "score": round(self.score, 1)}

    def describe(self) -> str:
        owner = self.owner or _("nobody")
        if self.hidden:
            return _("a client of {owner} you cannot open; same {reasons}").format(
                owner=owner, reasons=", ".join(self.reasons))
        return _("{title} (#{id}) — client of {owner}; same {reasons}").format(
            title=self.title, id=self.id, owner=owner, reasons=", ".join(self.reasons))


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.replace(";", ",").split(",") if v.strip()]
    return [v[1] if isinstance(v, tuple | list) else str(v) for v in value]


def _keys(kind: str, values: dict[str, Any]) -> rule.Keys:
    """The typed values' name, company, birthday and city, as the duplicate rule wants."""
    if kind == "organizations":
        return rule.Keys(inn=str(values.get("inn") or ""),
                         name=normalize_name(candidate_name(kind, values)),
                         city=normalize_text(str(values.get("city") or "")),
                         legal=rule.legal_key(str(values.get("legal_name") or "")))
    org = values.get("organization")
    birthday = values.get("birthday")
    if isinstance(birthday, str) and birthday.strip():
        try:
            birthday = parse_field("date", birthday, past=True)
        except (ValueError, CrmError):
            birthday = None
    return rule.Keys(name=person_key(values.get("last_name"), values.get("first_name"),
                                     values.get("middle_name")),
                     company=str(org) if isinstance(org, int) or str(org or "").isdigit()
                     else "",
                     birthday=rule.birthday_key(birthday) if isinstance(birthday, dt.date)
                     else "")


def _record_keys(kind: str, row: Any) -> rule.Keys:
    if kind == "organizations":
        return rule.Keys(inn=row.inn or "", name=normalize_name(row.name or ""),
                         city=normalize_text(row.city or ""),
                         legal=rule.legal_key(row.legal_name or ""))
    return rule.Keys(name=person_key(row.last_name, row.first_name, row.middle_name),
                     company=str(row.organization_id or ""),
                     birthday=rule.birthday_key(row.birthday))


def candidate_name(kind: str, values: dict[str, Any]) -> str:
    if kind == "organizations":
        return str(values.get("name") or "")
    return lookups.contact_name(str(values.get("last_name") or ""),
                                str(values.get("first_name") or ""),
                                str(values.get("middle_name") or ""))


def find(actor: Actor, kind: str, values: dict[str, Any], *,
         exclude_id: int | None = None, limit: int = 10) -> list[Duplicate]:
    """Existing records of `kind` that match `values` (as typed or cleaned)."""
    if kind not in ("organizations", "contacts"):
        return []
    model = m.Organization if kind == "organizations" else m.Contact
    found: dict[int, Duplicate] = {}
    reasons: dict[int, list[str]] = {}

    def add(record_id: int, reason: str, score: float) -> None:
        if record_id == exclude_id:
            return
        reasons.setdefault(record_id, [])
        if reason not in reasons[record_id]:
            reasons[record_id].append(reason)
        if record_id not in found or found[record_id].score < score:
            found[record_id] = Duplicate(kind, record_id, "", "", [], score)

    for record_id, label in _same_points_or_inn(kind, values):
        add(record_id, label, 100.0)
    mine = _keys(kind, values)
    named = _close_names(kind, mine, exclude_id)  # candidates by a same or close name
    wanted_ids = set(found) | set(named)
    if not wanted_ids:
        return []
    by_id = {r.id: r for r in model.select().where(model.id.in_(list(wanted_ids)))}
    for record_id, score in named.items():
        row = by_id.get(record_id)
        if row is None:
            continue
        theirs = _record_keys(kind, row)
        decided = rule.names_verdict(kind, mine, theirs, similar=theirs.name != mine.name)
        if decided is not None:
            add(record_id, decided.reason, score if decided.sure else score - 20)
    if not found:
        return []
    owners = lookups.names("user", (r.owner_id for r in by_id.values()))
    seen = visibility.visible_subset(actor, kind, by_id)
    result = []
    for record_id, dup in found.items():
        row = by_id.get(record_id)
        if row is None or row.deleted_at is not None:
            continue
        if record_id in seen:
            dup.title = search_docs.title_of(kind, row)
        else:  # whose client it is, and nothing that names or opens it
            dup.id, dup.title = None, visibility.hidden_name()
        dup.owner = owners.get(row.owner_id, "")
        dup.reasons = reasons[record_id]
        dup.score += 10 * (len(dup.reasons) - 1)
        result.append(dup)
    result.sort(key=lambda d: -d.score)
    return result[:limit]

def _same_points_or_inn(kind: str, values: dict[str, Any]) -> list[tuple[int, str]]:
    """(record id, reason) of the records with one of `values`' phones or e-mails, or (an
    organization) its tax id.

    A phone matches by its stored form: the number and its extension (+74951112233;ext=1),
    so two extensions of one switchboard are two people, and a number without one matches
    only itself."""
    owner_col = m.ContactPoint.organization if kind == "organizations" else m.ContactPoint.contact
    out: list[tuple[int, str]] = []
    phones = []
    region = phone_region()
    for text in _texts(values.get("phones") or values.get("phone")):
        phone = parse_phone(split_point(text, "phone")[1], region)
        if phone.valid:
            phones.append(phone.normalized)
    emails = [email_key(split_point(t, "email")[1].strip())
              for t in _texts(values.get("emails") or values.get("email"))]
    for point_kind, wanted, label in (("phone", phones, _("phone")),
                                      ("email", emails, _("e-mail"))):
        if not wanted:
            continue
        rows = m.ContactPoint.select(owner_col.alias("rid")).where(
            (m.ContactPoint.kind == point_kind) & m.ContactPoint.normalized.in_(wanted)
            & owner_col.is_null(False))
        out.extend((row["rid"], label) for row in rows.dicts())
    if kind == "organizations" and values.get("inn"):
        inn = "".join(ch for ch in str(values["inn"]) if ch.isdigit())
        if inn:
            out.extend((row.id, _("tax id")) for row in
                       m.Organization.select(m.Organization.id).where(m.Organization.inn == inn))
    return out


def _close_names(kind: str, mine: rule.Keys, exclude_id: int | None) -> dict[int, float]:
    """Records whose name is the same as or close to `mine`'s → how close: candidates from
    the search index (the longest word of the name), then the rule's similarity."""
    named: dict[int, float] = {}
    if len(mine.name) < 3:
        return named
    words = sorted((w for w in mine.name.split() if len(w) >= 3), key=len, reverse=True)
    probe = words[0] if words else mine.name
    where, params = search_match.where_terms([probe], [kind])
    rows = current().execute_sql(
        f"SELECT {search_index.key_column()}, title FROM search_doc WHERE {where} LIMIT 500",
        params).fetchall()
    for doc_key, title in rows:
        score = rule.similar(mine.name, normalize_name(title or ""))
        record_id = search_index.split_key(int(doc_key))[1]
        if score >= rule.NAME_THRESHOLD and record_id != exclude_id:
            named[record_id] = float(score)
    return named



__all__ = ["Duplicate", "find", "POINT_TYPES"]
