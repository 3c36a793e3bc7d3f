"""Column names people and programs write, per field (Russian and English; Outlook,
Google, amoCRM, Bitrix24, 1C), and the columns kept in the notes under their header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui_crm.i18n import _
from tui_crm.services.core.kinds import KINDS


def header_key(text: str) -> str:
    """A header reduced for matching: case, ё, spaces and punctuation do not matter."""
    return re.sub(r"[\W_]+", "", str(text).casefold().replace("ё", "е"))


@dataclass(frozen=True)
class Target:
    """Where a column's values go: a field, a typed phone / e-mail, or a name to split."""

    key: str
    label: str


# Virtual targets, besides the fields.
FULL_NAME = "full_name"  # "Иванов Иван Иванович": last, first, middle


DISPLAY_NAME = "display_name"  # "Ivan Petrov": first … last (Google's "Name")


CONTACT_PERSON = "contact_person"  # an organization's contact: a linked contact is created


_COMMON_ALIASES: dict[str, list[str]] = {
    "phones": ["телефон", "телефоны", "тел", "phone", "phones", "telephone", "phone number",
               "номер телефона", "контактный телефон", "other phone", "primary phone",
               "phone 1 - value", "phone 2 - value", "phone 3 - value", "основной телефон",
               "телефон 1", "телефон 2", "company main phone",
               "основной телефон организации", "телефон для рассылок", "телефоны контакта"],
    "phones:other": ["другой телефон", "other phone", "pager", "пейджер"],
    "phones:work": ["рабочий телефон", "business phone", "work phone", "служебный телефон",
                    "городской телефон", "рабочий прямой телефон", "прямой телефон",
                    "телефон раб 2", "business phone 2"],
    "phones:mobile": ["мобильный", "мобильный телефон", "сотовый", "сотовый телефон",
                      "mobile", "mobile phone", "cell", "cell phone", "моб", "моб телефон",
                      "телефон переносной", "переносной телефон"],
    "phones:home": ["домашний телефон", "home phone", "home phone 2", "телефон дом 2"],
    "phones:fax": ["факс", "fax", "business fax", "home fax", "other fax", "рабочий факс",
                   "домашний факс", "другой факс"],
    "emails": ["e-mail", "email", "эл. почта", "электронная почта", "почта", "e-mail address",
               "email address", "mail", "емейл", "имейл", "e-mail 1 - value",
               "e-mail 2 - value", "e-mail 3 - value", "e-mail 2 address", "e-mail 3 address",
               "адрес электронной почты", "эл почта", "e-mail адрес", "адрес эл почты",
               "адрес 2 эл почты", "адрес 3 эл почты", "e-mail для рассылок",
               "email для рассылок"],
    "emails:other": ["другой email", "другой e-mail", "other e-mail", "other email"],
    "emails:work": ["рабочий email", "рабочий e-mail", "рабочая почта", "work e-mail",
                    "work email"],
    "emails:personal": ["личная почта", "личный e-mail", "personal e-mail", "home e-mail",
                        "личный email", "частный e-mail", "частный email"],
    "messengers:telegram": ["telegram", "телеграм", "телеграмм", "tg"],
    "messengers:whatsapp": ["whatsapp", "ватсап", "вотсап"],
    "messengers:viber": ["viber", "вайбер"],
    "messengers:skype": ["skype", "скайп"],
    "owner": ["ответственный", "менеджер", "owner", "manager", "responsible",
              "ответственный менеджер", "account owner", "владелец", "основной менеджер"],
    "group": ["группа", "group"],
    "source": ["источник", "source", "lead source", "канал", "источник клиента"],
    "tags": ["теги", "метки", "tags", "ярлыки", "categories", "категории контакта",
             "категории", "labels", "group membership"],
    "notes": ["примечание", "примечания", "комментарий", "комментарии", "заметки", "notes",
              "note", "comment", "comments", "описание", "description"],
    "opt_out": ["не рассылать", "отказ от рассылки", "opt out", "no mailings",
                "без рассылок"],
    "cadence_days": ["периодичность контакта", "stay in touch every n days"],
}


ALIASES: dict[str, dict[str, list[str]]] = {
    "organizations": {
        "name": ["наименование", "название", "наименование организации",
                 "название организации", "организация", "компания", "клиент", "контрагент",
                 "name", "company", "company name", "organization", "organisation",
                 "organization name", "account name", "account", "фирма", "наименование клиента",
                 "краткое наименование", "название компании", "рабочее наименование"],
        "legal_name": ["полное наименование", "юридическое название",
                       "юридическое наименование", "legal name", "полное название"],
        "inn": ["инн", "inn", "tax id", "taxid", "инн организации", "инн клиента", "vat"],
        "industry": ["отрасль", "сфера", "сфера деятельности", "вид деятельности", "industry"],
        "city": ["город", "city", "населенный пункт", "business city", "регион"],
        "address": ["адрес", "юридический адрес", "фактический адрес", "address",
                    "business street", "street", "адрес офиса", "почтовый адрес"],
        "website": ["сайт", "веб-сайт", "вебсайт", "website", "web site", "url", "web page",
                    "www", "сайт компании", "домен", "web", "веб-страница",
                    "корпоративный сайт", "website 1 - value"],
        "status": ["статус", "status", "стадия клиента"],
        "category": ["категория", "category", "рейтинг"],
        CONTACT_PERSON: ["контактное лицо", "контакт", "contact", "contact person",
                         "contact name", "фио контакта", "фио", "ф.и.о."],
        **_COMMON_ALIASES,
    },
    "contacts": {
        "last_name": ["фамилия", "last name", "family name", "surname", "lastname"],
        "first_name": ["имя", "first name", "given name", "firstname"],
        "middle_name": ["отчество", "middle name", "additional name", "patronymic"],
        FULL_NAME: ["фио", "ф.и.о.", "контактное лицо", "полное имя", "full name",
                    "фамилия имя отчество", "сотрудник", "полное имя контакта"],
        DISPLAY_NAME: ["name", "display name", "contact name"],
        "organization": ["организация", "компания", "company", "organization", "organisation",
                         "organization 1 - name", "organization name", "место работы",
                         "контрагент", "клиент", "компания контакта", "название компании"],
        "position": ["должность", "position", "job title", "organization 1 - title",
                     "organization title", "title"],
        "role": ["роль", "role", "роль в сделке"],
        "is_decision_maker": ["лпр", "decision maker", "принимает решения"],
        "birthday": ["день рождения", "дата рождения", "birthday", "birth date",
                     "date of birth", "др"],
        "hobbies": ["хобби", "увлечения", "hobbies", "interests", "hobby"],
        "registration_address": ["адрес регистрации", "адрес прописки",
                                 "registration address"],
        "residence_address": ["адрес проживания", "адрес", "домашний адрес", "address",
                              "home address", "home street", "address 1 - formatted",
                              "business street"],
        **_COMMON_ALIASES,
    },
}


# Columns with no field of their own whose values are kept in the notes, each line
# labelled with the column's header ("Веб-страница: https://…"): nothing dropped unsaid.
IN_NOTES: dict[str, list[str]] = {
    "organizations": ["кпп", "огрн", "окпо", "kpp", "ogrn", "вид контрагента",
                      "юр физ лицо", "тип компании", "расчетный счет", "банк", "бик"],
    "contacts": ["web page", "веб-страница", "website", "web site", "сайт", "web", "url",
                 "website 1 - value", "личная страница", "department", "отдел",
                 "organization department", "organization 1 - department", "nickname",
                 "прозвище", "spouse", "супруг(а)", "children", "дети", "обращение",
                 "name prefix", "title", "suffix", "name suffix", "anniversary",
                 "годовщина"],
}


NOTES_LABELLED = "notes:"  # a target "notes:<header>": the value goes to the notes, labelled


# Numbered Google / Outlook / amoCRM columns ("Phone 4 - Value", "Примечание 3").
_PATTERNS = [
    (re.compile(r"^phone\d+value$"), "phones"),
    (re.compile(r"^email\d+(value|address)$"), "emails"),
    (re.compile(r"^телефон\d+$"), "phones"),
    (re.compile(r"^(email|почта)\d+$"), "emails"),
    (re.compile(r"^(примечание|заметка|note|notes)\d+$"), "notes"),
]


def pattern_target(key: str) -> str | None:
    for pattern, target in _PATTERNS:
        if pattern.match(key):
            return target
    return None


def all_alias_keys() -> set[str]:
    keys: set[str] = set()
    for aliases in ALIASES.values():
        for names in aliases.values():
            keys.update(header_key(n) for n in names)
    for spec in KINDS.values():
        keys.update(header_key(f.name) for f in spec.fields)
        keys.update(header_key(_(f.label)) for f in spec.fields)
        keys.update(header_key(f.label) for f in spec.fields)
    return keys
