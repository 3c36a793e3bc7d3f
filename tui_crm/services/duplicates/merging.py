"""Finding likely duplicates in the whole base and merging two records field by field.

The scan reads each kind of evidence once (normalized phones and e-mails, tax ids, names
per city) and pairs the records that share it; a merge keeps the chosen value of every
field, the phones, e-mails and tags of both, and moves every event, deal, task, note,
link, payment and contact of the other record to the kept one before the other goes to
the trash (restorable, its history intact).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tui_crm.db import models as m
from tui_crm.db.database import write
from tui_crm.errors import NotFound, ValidationError
from tui_crm.i18n import _
from tui_crm.services.core import (
    audit,
    contact_dates,
    records,
    search_docs,
    settings,
    visibility,
)
from tui_crm.services.core.kinds import POINT_TYPES, REFERRERS
from tui_crm.services.core.records import RecordView
from tui_crm.services.core.rights import Actor
from tui_crm.services.duplicates import rule
from tui_crm.text.names import fuzzy_key, normalize_text, org_key, person_key

MERGE_KINDS = ("organizations", "contacts")
BLOCK_LIMIT = 60  # names sharing a first word compared pairwise up to this many

_LINK_KINDS = {m.Contact: "contacts", m.Task: "tasks", m.Event: "events", m.Note: "notes",
               m.Link: "links", m.Deal: "deals", m.Payment: "payments",
               m.ServiceRendered: "services"}


@dataclass
class DuplicatePair:
    kind: str
    keep_id: int
    other_id: int
    keep_title: str = ""
    other_title: str = ""
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.kind, "keep_id": self.keep_id, "other_id": self.other_id,
                "keep_title": self.keep_title, "other_title": self.other_title,
                "reasons": self.reasons, "score": round(self.score, 1)}

    def describe(self) -> str:
        return _("#{a} {title_a} = #{b} {title_b}: same {reasons}").format(
            a=self.keep_id, title_a=self.keep_title, b=self.other_id, title_b=self.other_title,
            reasons=", ".join(self.reasons))


def _check_kind(kind: str) -> None:
    if kind not in MERGE_KINDS:
        raise ValidationError({"section": _("Duplicates are looked for among organizations and"
                                            " contacts; got {name!r}").format(name=kind)})


def scan(actor: Actor, kind: str | None = None, *, limit: int = 1000) -> list[DuplicatePair]:
    """Likely duplicates among the records the actor sees, the surest first."""
    kinds = [kind] if kind else list(MERGE_KINDS)
    found: list[DuplicatePair] = []
    for k in kinds:
        _check_kind(k)
        actor.require(k, "view")
        found.extend(_scan_kind(actor, k))
    found.sort(key=lambda p: (-p.score, p.kind, p.keep_id, p.other_id))
    return found[:limit]


def _scan_kind(actor: Actor, kind: str) -> list[DuplicatePair]:
    spec = records.kind_spec(kind)
    model = spec.model
    visible = visibility.visible_id_set(actor, kind)
    pairs: dict[tuple[int, int], DuplicatePair] = {}

    def pair(a: int, b: int, reason: str, score: float) -> None:
        if a == b or (visible is not None and (a not in visible or b not in visible)):
            return
        key = (min(a, b), max(a, b))
        found = pairs.setdefault(key, DuplicatePair(kind, key[0], key[1]))
        if reason not in found.reasons:
            found.reasons.append(reason)
            found.score = max(found.score, score) + (5 if len(found.reasons) > 1 else 0)

    def pair_groups(groups: dict[Any, list[int]], reason: str, score: float) -> None:
        for ids in groups.values():
            unique = sorted(set(ids))
            if 1 < len(unique) <= 20:  # a number shared by 200 records is a switchboard
                for other in unique[1:]:
                    pair(unique[0], other, reason, score)

    owner = m.ContactPoint.organization if kind == "organizations" else m.ContactPoint.contact
    live = model.select(model.id).where(model.deleted_at.is_null())
    for point_kind, label in (("phone", _("phone")), ("email", _("e-mail"))):
        groups: dict[str, list[int]] = {}
        for normalized, rid in (m.ContactPoint.select(m.ContactPoint.normalized, owner)
                                .where((m.ContactPoint.kind == point_kind)
                                       & (m.ContactPoint.valid == True)  # noqa: E712
                                       & (m.ContactPoint.normalized != "")
                                       & owner.in_(live)).tuples()):
            groups.setdefault(normalized, []).append(rid)
        pair_groups(groups, label, 100.0)
    names: dict[str, list[tuple[int, rule.Keys]]] = {}
    if kind == "organizations":
        by_inn: dict[str, list[int]] = {}
        org = m.Organization
        for rid, name, city, inn, legal in org.select(
                org.id, org.name, org.city, org.inn, org.legal_name).where(
                org.deleted_at.is_null()).tuples():
            if inn:
                by_inn.setdefault(inn, []).append(rid)
            keys = rule.Keys(inn=inn or "", name=org_key(name), city=normalize_text(city or ""),
                             legal=rule.legal_key(legal or ""))
            names.setdefault(keys.name, []).append((rid, keys))
        pair_groups(by_inn, _("tax id"), 100.0)
    else:
        person = m.Contact
        for rid, last, first, middle, org_id, birthday in person.select(
                person.id, person.last_name, person.first_name, person.middle_name,
                person.organization, person.birthday).where(
                person.deleted_at.is_null()).tuples():
            keys = rule.Keys(name=person_key(last, first, middle), company=str(org_id or ""),
                             birthday=rule.birthday_key(birthday))
            names.setdefault(keys.name, []).append((rid, keys))
    _pair_names(kind, names, pair)
    result = list(pairs.values())
    titles = {}
    ids = list({i for p in result for i in (p.keep_id, p.other_id)})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in model.select().where(model.id.in_(chunk)):
            titles[row.id] = search_docs.title_of(kind, row)
    for p in result:
        p.keep_title = titles.get(p.keep_id, "")
        p.other_title = titles.get(p.other_id, "")
    return result


def _pair_names(kind: str, names: dict[str, list[tuple[int, rule.Keys]]], pair: Any) -> None:
    """Records of the same or a close name, paired when the duplicate rule says they are
    (surely or possibly) one client; the sure ones score higher."""
    for norm, rows in names.items():
        if len(norm) < 3 or len(rows) > BLOCK_LIMIT:
            continue
        for i, (a, keys_a) in enumerate(rows):
            for b, keys_b in rows[i + 1:]:
                found = rule.names_verdict(kind, keys_a, keys_b)
                if found is not None:
                    pair(a, b, found.reason, 90.0 if found.sure else 70.0)
    blocks: dict[str, list[str]] = {}
    for norm in names:
        words = [w for w in fuzzy_key(norm).split() if len(w) >= 3]
        if words:
            blocks.setdefault(words[0], []).append(norm)
    for block in blocks.values():
        if len(block) < 2 or len(block) > BLOCK_LIMIT:
            continue
        for i, name_a in enumerate(block):
            for name_b in block[i + 1:]:
                score = rule.similar(name_a, name_b)
                if score < rule.NAME_THRESHOLD:
                    continue
                for ida, keys_a in names[name_a]:
                    for idb, keys_b in names[name_b]:
                        found = rule.names_verdict(kind, keys_a, keys_b, similar=True)
                        if found is not None:
                            pair(ida, idb, found.reason, score - 25)


# --- comparing and merging --------------------------------------------------------------------


@dataclass
class FieldChoice:
    name: str
    label: str
    keep_text: str
    other_text: str
    choice: str  # keep / other / both (lists: phones, e-mails, tags are always joined)

    @property
    def same(self) -> bool:
        return self.keep_text == self.other_text


def _text(view: RecordView, name: str) -> str:
    if name in POINT_TYPES:
        return ", ".join(p.value for p in view.points_of(POINT_TYPES[name]))
    if name == "tags":
        return ", ".join(view.tags)
    return view.display.get(name, "") or ""


def compare(actor: Actor, kind: str, keep_id: int, other_id: int) -> list[FieldChoice]:
    """The fields of two records side by side, with the default choice for each: the kept
    record's value unless it is empty; lists and differing notes are joined."""
    _check_kind(kind)
    return _choices(kind, records.get(actor, kind, keep_id), records.get(actor, kind, other_id))


def _choices(kind: str, keep: RecordView, other: RecordView) -> list[FieldChoice]:
    result = []
    for f in records.field_specs(kind):
        if not f.editable:
            continue
        label = f.label if f.custom else settings.field_label(kind, f.name)
        a, b = _text(keep, f.name), _text(other, f.name)
        if f.is_repeatable:
            choice = "both"
        elif f.name == "notes" and a and b and a != b:
            choice = "both"
        elif not a and b:
            choice = "other"
        else:
            choice = "keep"
        result.append(FieldChoice(f.name, label, a, b, choice))
    return result


def _raw(view: RecordView, name: str) -> Any:
    if name in POINT_TYPES:
        return [(p.type, p.value) for p in view.points_of(POINT_TYPES[name])]
    if name == "tags":
        return list(view.tags)
    return view.get(name)


@dataclass
class MergeResult:
    record: RecordView
    moved: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"kept": self.record.to_dict(), "moved": self.moved}


@write
def merge(actor: Actor, kind: str, keep_id: int, other_id: int,
          choices: dict[str, str] | None = None) -> MergeResult:
    """Merge `other_id` into `keep_id`; `choices` maps a field to "keep", "other" or
    "both" (defaults as `compare` gives). The other record goes to the trash."""
    _check_kind(kind)
    actor.require(kind, "edit")
    actor.require(kind, "delete")
    if keep_id == other_id:
        raise ValidationError({"other_id": _("A record cannot be merged with itself")})
    keep = records.get(actor, kind, keep_id)
    other = records.get(actor, kind, other_id)
    for view in (keep, other):
        if view.deleted_at is not None:
            raise NotFound(_("{kind} #{id} is in the trash.").format(
                kind=_(records.kind_spec(kind).singular), id=view.id))
    wanted = {c.name: c.choice for c in _choices(kind, keep, other)}
    for name, choice in (choices or {}).items():
        if name not in wanted:
            raise ValidationError({name: _("Unknown field")})
        if choice not in ("keep", "other", "both"):
            raise ValidationError({name: _("Choose keep, other or both")})
        wanted[name] = choice
    data: dict[str, Any] = {}
    for name, choice in wanted.items():
        a, b = _raw(keep, name), _raw(other, name)
        if choice == "other":
            data[name] = b
        elif choice == "both" and name in POINT_TYPES:
            have = {p.normalized for p in keep.points_of(POINT_TYPES[name])}
            extra = [(p.type, p.value) for p in other.points_of(POINT_TYPES[name])
                     if p.normalized not in have]
            if extra:
                data[name] = a + extra
        elif choice == "both" and name == "tags":
            joined = list(dict.fromkeys(a + b))
            if joined != a:
                data[name] = joined
        elif choice == "both" and isinstance(a, str) and isinstance(b, str) and b and b != a:
            data[name] = f"{a}\n{b}" if a else b
    # The other record leaves first, so its phones and tax id do not look like duplicates.
    moved: dict[str, int] = {}
    for model, column in REFERRERS[kind]:
        col = getattr(model, column)
        ids = [r[0] for r in model.select(model.id).where(col == other_id).tuples()]
        if not ids:
            continue
        model.update({col: keep_id}).where(model.id.in_(ids)).execute()
        moved[_LINK_KINDS[model]] = len(ids)
        for rid in ids:
            search_docs.reindex(_LINK_KINDS[model], rid)
    records.delete(actor, kind, other_id)
    if data:
        records.update(actor, kind, keep_id, data)
    if kind == "organizations":
        contact_dates.refresh_contact_dates(keep_id, None)
    else:
        contact_dates.refresh_contact_dates(None, keep_id)
    audit.log(actor, "merge", kind, keep_id, details=json.dumps(
        {"merged": other_id, "moved": moved}, ensure_ascii=False))
    audit.log(actor, "merge", kind, other_id, details=json.dumps(
        {"into": keep_id}, ensure_ascii=False))
    return MergeResult(records.get(actor, kind, keep_id), moved)


__all__ = ["DuplicatePair", "FieldChoice", "MergeResult", "compare", "merge", "scan"]
