"""The exports of other programs, told by their headers and read by their rules: Google
Contacts (" ::: " multi-values, labels typing phones and e-mails, labels as tags), Outlook
in English (month-first dates), amoCRM, Bitrix24, 1C.
"""

from __future__ import annotations

import operator
import re

from tui_crm.i18n import _
from tui_crm.services.transfer.readers.table import SourceTable

_GOOGLE_PAIR = re.compile(r"^(phone|e-mail|website|address|relation|event|im) (\d+) - "
                          r"(label|type)$", re.IGNORECASE)


_GOOGLE_SPLIT = " ::: "  # Google's separator of several values in one cell


# Google's phone and e-mail labels → our types (a label of the user's own stays a label).
_GOOGLE_TYPES = {
    "phone": {"mobile": "mobile", "cell": "mobile", "work": "work", "main": "work",
              "home": "home", "work fax": "fax", "home fax": "fax", "fax": "fax",
              "other": "other", "pager": "other", "google voice": "other"},
    "e-mail": {"home": "personal", "work": "work", "other": "other"},
}


_GOOGLE_SYSTEM_LABELS = {"mycontacts"}  # every contact has it: not a tag


_FAMILIES = (
    # (name shown, headers that tell it; any one is enough)
    ("Google Contacts", {"group membership", "labels", "phone 1 - value", "e-mail 1 - value"}),
    ("Outlook", {"e-mail address", "business phone", "mobile phone", "e-mail display name"}),
    ("Outlook (Russian)", {"адрес эл. почты", "телефон переносной", "рабочий телефон",
                           "краткое имя эл. почты"}),
    ("amoCRM", {"компания контакта", "рабочий email", "рабочий прямой телефон",
                "примечание 1"}),
    ("Bitrix24", {"частный e-mail", "рабочий e-mail", "корпоративный сайт",
                  "тип компании"}),
    ("1C", {"кпп", "полное наименование", "вид контрагента", "юр. / физ. лицо"}),
)


def _family(headers: list[str]) -> str:
    """The program whose export these headers look like: two of its marks (one for
    Google, whose numbered columns no one else writes), else ""."""
    lowered = {h.strip().casefold() for h in headers}
    hits, name = max(((len(lowered & marks), name) for name, marks in _FAMILIES),
                     key=operator.itemgetter(0))
    return name if hits >= 2 or (hits == 1 and name == "Google Contacts") else ""


def recognize(table: SourceTable) -> SourceTable:
    """A table as the program that wrote it meant it: Google's " ::: " multi-values split
    and its labels giving phone and e-mail types, tags without "* "; Outlook in English with
    month-first dates; Outlook's "0/0/00" empty birthday. The family found is named in the
    notes."""
    family = _family(table.headers)
    if not family:
        return table
    table.notes.append(_("Recognized: {program} export").format(program=family))
    if family == "Google Contacts":
        _google(table)
    if family == "Outlook" and any(h.casefold() == "birthday" for h in table.headers):
        table.date_order = "mdy"
    return table


def _google(table: SourceTable) -> None:
    lowered = [h.strip().casefold() for h in table.headers]
    pairs: dict[int, tuple[int, dict[str, str]]] = {}  # value column → (label column, types)
    for index, header in enumerate(lowered):
        found = _GOOGLE_PAIR.match(header)
        if found is None:
            continue
        what, number = found.group(1), found.group(2)
        if what not in _GOOGLE_TYPES:
            continue  # an address's or a website's label gives no type: the column is ignored
        for suffix in ("value", "formatted"):
            name = f"{what} {number} - {suffix}"
            if name in lowered:
                value_index = lowered.index(name)
                pairs[value_index] = (index, _GOOGLE_TYPES[what])
                table.used[index] = _("the types of {column}").format(
                    column=table.headers[value_index])
                break
    tag_columns = {i for i, h in enumerate(lowered) if h in ("labels", "group membership")}
    for row in table.rows:
        for index, cell in enumerate(row):
            if not isinstance(cell, str) or not cell:
                continue
            if index in tag_columns:
                labels = [t.strip().removeprefix("* ").strip() for t in cell.split(":::")]
                row[index] = ", ".join(t for t in labels
                                       if t and t.casefold() not in _GOOGLE_SYSTEM_LABELS)
            elif index in pairs:
                label_index, types = pairs[index]
                label = row[label_index] if label_index < len(row) else ""
                code = types.get(str(label or "").strip().removeprefix("* ").strip().casefold())
                values = [v.strip() for v in cell.split(_GOOGLE_SPLIT) if v.strip()]
                row[index] = "\n".join(f"{code}:{v}" if code else v for v in values)
            elif _GOOGLE_SPLIT in cell:
                row[index] = "\n".join(v.strip() for v in cell.split(_GOOGLE_SPLIT))
