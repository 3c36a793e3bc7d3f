"""Step 1: every table, the search index, and the default lists (event types, results,
contact sources, the day schedule)."""

from __future__ import annotations

from peewee import Database

from tui_crm.db import search_index
from tui_crm.db.models import (
    ALL_MODELS,
    EventResult,
    EventType,
    ScheduleBlock,
    Setting,
    Source,
)
from tui_crm.i18n import get_language

# code, English, Russian, results: (code, English, Russian, warm, reached DM, productive)
DEFAULT_EVENT_TYPES = [
    ("call", "Call", "Звонок", [
        ("no_answer", "No answer", "Не дозвонился", False, False, False),
        ("secretary", "Secretary, not the decision maker", "Секретарь, не ЛПР", False, False, False),
        ("reached_dm", "Talked to the decision maker", "Поговорил с ЛПР", False, True, False),
        ("interested", "Interested", "Интерес", True, True, True),
        ("proposal_requested", "Asked for a proposal", "Запросил КП", True, True, True),
        ("meeting_set", "Meeting set", "Назначена встреча", True, True, True),
        ("call_back", "Call back later", "Перезвонить", True, False, False),
        ("refused", "Refused", "Отказ", False, True, False),
        ("wrong_number", "Wrong number", "Неверный номер", False, False, False),
    ]),
    ("meeting", "Meeting", "Встреча", [
        ("held_interested", "Held, interested", "Проведена, интерес", True, True, True),
        ("held_deal", "Held, deal agreed", "Проведена, сделка", False, True, True),
        ("held_no_result", "Held, no result", "Проведена, без результата", False, True, False),
        ("postponed", "Postponed", "Перенесена", True, False, False),
        ("cancelled", "Cancelled", "Отменена", False, False, False),
    ]),
    ("email", "E-mail", "E-mail", [
        ("sent", "Sent", "Отправлено", False, False, False),
        ("replied", "Replied", "Получен ответ", True, False, True),
        ("bounced", "Not delivered", "Не доставлено", False, False, False),
    ]),
    ("proposal", "Proposal", "Коммерческое предложение", [
        ("sent", "Sent", "Отправлено", True, False, True),
        ("accepted", "Accepted", "Принято", False, True, True),
        ("rejected", "Rejected", "Отклонено", False, True, False),
    ]),
    ("letter", "Letter", "Письмо", [
        ("sent", "Sent", "Отправлено", False, False, False),
    ]),
    ("visit", "Visit", "Визит", [
        ("order", "Order taken", "Заказ", False, True, True),
        ("no_order", "No order", "Без заказа", True, True, False),
        ("closed", "Closed / nobody there", "Закрыто / никого нет", False, False, False),
    ]),
    ("congratulation", "Congratulation", "Поздравление", [
        ("done", "Congratulated", "Поздравили", False, True, False),
    ]),
]

DEFAULT_SOURCES = {
    "en": ["Cold call", "Website", "Referral", "Exhibition", "Advertising", "Social networks",
           "Repeat request"],
    "ru": ["Холодный звонок", "Сайт", "Рекомендация", "Выставка", "Реклама", "Соцсети",
           "Повторное обращение"],
}

# start, end, kind, English label, Russian label
DEFAULT_BLOCKS = [
    ("09:00", "11:00", "calls", "Calls", "Звонки"),
    ("11:00", "13:00", "meetings", "Meetings", "Встречи"),
    ("14:00", "16:00", "calls", "Calls", "Звонки"),
    ("16:00", "17:30", "paperwork", "Paperwork and planning", "Документы и планирование"),
]


def apply(db: Database) -> None:
    db.create_tables(ALL_MODELS)
    search_index.create(db)
    language = get_language()
    for position, (code, en, ru, results) in enumerate(DEFAULT_EVENT_TYPES):
        event_type = EventType.create(code=code, name_en=en, name_ru=ru, position=position)
        for rpos, (rcode, ren, rru, warm, dm, productive) in enumerate(results):
            EventResult.create(
                event_type=event_type, code=rcode, name_en=ren, name_ru=rru, warm=warm,
                reached_decision_maker=dm, productive=productive, position=rpos,
            )
    for name in DEFAULT_SOURCES["ru" if language == "ru" else "en"]:
        Source.create(name=name)
    for position, (start, end, kind, en, ru) in enumerate(DEFAULT_BLOCKS):
        ScheduleBlock.create(
            start=start, end=end, kind=kind, label=ru if language == "ru" else en,
            position=position,
        )
    Setting.create(key="phone_region", value='"RU"')
