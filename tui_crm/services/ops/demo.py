"""A realistic demo database: mixed Russian and English clients, people, deals, money and
a year of calls and meetings.

Fast enough for 100k organizations: rows are built in plain Python with explicit ids and
written with the driver's `executemany` in chunks inside one transaction, then the search
index is rebuilt once and the organizations' and contacts' last/next contact dates are set
with one UPDATE each. The same seed (and `today`) always gives the same data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from peewee import Database, OperationalError

from tui_crm.db import models as m
from tui_crm.db import search_index
from tui_crm.db.database import SQLITE_PRAGMAS, current, is_postgres
from tui_crm.services.analytics import money
from tui_crm.services.core import lookups
from tui_crm.services.core.identity import os_login
from tui_crm.services.core.search_docs import point_terms
from tui_crm.services.core.translit import slug
from tui_crm.text.identity import email_key, make_inn10, make_inn12, messenger_key
from tui_crm.text.names import normalize_text
from tui_crm.text.phones import format_phone, parse_phone

CHUNK = 20_000

# --- word lists -------------------------------------------------------------------------------

# Russian adjectives in the masculine; feminine and neuter forms are derived.
RU_ADJECTIVES = (
    "Северный", "Южный", "Восточный", "Западный", "Золотой", "Серебряный", "Белый",
    "Красный", "Зелёный", "Синий", "Новый", "Первый", "Главный", "Быстрый", "Тихий",
    "Сибирский", "Уральский", "Волжский", "Балтийский", "Невский", "Московский",
    "Столичный", "Русский", "Добрый", "Верный", "Светлый", "Ясный", "Надёжный", "Честный",
    "Деловой", "Торговый", "Промышленный", "Технический", "Строительный", "Городской",
    "Народный", "Морской", "Лесной", "Горный", "Степной", "Солнечный", "Звёздный",
    "Янтарный", "Кедровый", "Великий", "Старый", "Весёлый", "Умный", "Точный", "Крепкий",
)
RU_NOUNS = (
    ("ветер", "m"), ("путь", "m"), ("мост", "m"), ("берег", "m"), ("дом", "m"),
    ("город", "m"), ("край", "m"), ("двор", "m"), ("ключ", "m"), ("лес", "m"),
    ("парк", "m"), ("сад", "m"), ("стандарт", "m"), ("квартал", "m"), ("маяк", "m"),
    ("альянс", "m"), ("партнёр", "m"), ("союз", "m"), ("капитал", "m"), ("ресурс", "m"),
    ("проект", "m"), ("комбинат", "m"), ("завод", "m"), ("терминал", "m"), ("склад", "m"),
    ("рынок", "m"), ("центр", "m"), ("холдинг", "m"), ("трест", "m"), ("сервис", "m"),
    ("стиль", "m"), ("вкус", "m"), ("хлеб", "m"), ("мастер", "m"), ("кедр", "m"),
    ("звезда", "f"), ("река", "f"), ("гавань", "f"), ("линия", "f"), ("волна", "f"),
    ("компания", "f"), ("мануфактура", "f"), ("фабрика", "f"), ("артель", "f"),
    ("пекарня", "f"), ("мастерская", "f"), ("долина", "f"), ("роща", "f"), ("поляна", "f"),
    ("заря", "f"), ("нива", "f"), ("пристань", "f"), ("гора", "f"), ("марка", "f"),
    ("сеть", "f"), ("система", "f"), ("группа", "f"), ("логистика", "f"), ("кухня", "f"),
    ("поле", "n"), ("озеро", "n"), ("море", "n"), ("небо", "n"), ("солнце", "n"),
    ("слово", "n"), ("дело", "n"), ("время", "n"), ("агентство", "n"),
    ("объединение", "n"), ("партнёрство", "n"), ("товарищество", "n"), ("снабжение", "n"),
    ("бюро", "n"), ("ателье", "n"),
)
RU_BRANDS = (
    "Ромашка", "Вектор", "Меридиан", "Альфа", "Бета", "Гамма", "Омега", "Дельта", "Сигма",
    "Прогресс", "Импульс", "Гарант", "Стимул", "Орион", "Вега", "Атлант", "Титан", "Гермес",
    "Аврора", "Радуга", "Берёзка", "Колос", "Рассвет", "Восход", "Спектр", "Квант", "Нептун",
    "Сатурн", "Юпитер", "Феникс", "Пегас", "Кристалл", "Гранит", "Монолит", "Базис",
    "Оптима", "Максимум", "Техно", "Агро", "Мега", "Гео", "Эко", "Нео", "Инфо", "Профи",
    "Полимер", "Энерго", "Транс", "Лидер", "Рубин", "Сапфир", "Алмаз", "Янтарь", "Байкал",
    "Ангара", "Енисей", "Волга", "Кама", "Ока", "Дон", "Урал", "Алтай", "Тайга", "Сибирь",
    "Север", "Магистраль", "Перспектива", "Фортуна", "Союз", "Успех",
)
RU_SUFFIXES = (
    "Строй", "Трейд", "Сервис", "Маркет", "Групп", "Снаб", "Торг", "Пром", "Инвест",
    "Логистик", "Транс", "Медиа", "Софт", "Тех", "Консалт", "Плюс", "Центр", "Мир", "Дом",
    "Авто", "Агро", "Фарм", "Мед", "Пак", "Хим", "Лес", "Металл", "Энерго", "Систем", "Опт",
)
EN_FIRST = (
    "Acme", "Blue", "North", "Summit", "Pioneer", "Silver", "Golden", "Green", "Bright",
    "Prime", "Apex", "Atlas", "Nova", "Vertex", "Horizon", "Harbor", "Iron", "Maple", "Oak",
    "Pine", "Cedar", "Red", "Star", "Sun", "Ocean", "River", "Stone", "Falcon", "Eagle",
    "Delta", "Alpha", "Global", "United", "Pacific", "Atlantic", "Northern", "Western",
    "Eastern", "Royal", "Crown", "Liberty", "Titan", "Orbit", "Quantum", "Vector", "Zenith",
    "Crystal", "Arrow", "Bridge", "Frontier",
)
EN_SECOND = (
    "Trading", "Logistics", "Systems", "Solutions", "Foods", "Industries", "Technologies",
    "Partners", "Group", "Holdings", "Consulting", "Engineering", "Supply", "Distribution",
    "Media", "Software", "Labs", "Works", "Motors", "Pharma", "Energy", "Capital",
    "Ventures", "Retail", "Textiles", "Chemicals", "Electronics", "Packaging", "Farms",
    "Design",
)
RU_FORMS = (("ООО", 60), ("АО", 10), ("ПАО", 3), ("ЗАО", 5), ("НАО", 1))
RU_FORM_NAMES = {
    "ООО": "Общество с ограниченной ответственностью",
    "АО": "Акционерное общество",
    "ПАО": "Публичное акционерное общество",
    "ЗАО": "Закрытое акционерное общество",
    "НАО": "Непубличное акционерное общество",
}
EN_FORMS = ("LLC", "Ltd", "Inc.", "GmbH", "Corp.")

# Russian first names, weighted (plenty of Ivans), with the patronymics they give.
RU_MALE = (
    ("Иван", 10, "Иванович", "Ивановна"), ("Александр", 6, "Александрович", "Александровна"),
    ("Сергей", 6, "Сергеевич", "Сергеевна"), ("Дмитрий", 5, "Дмитриевич", "Дмитриевна"),
    ("Андрей", 5, "Андреевич", "Андреевна"), ("Алексей", 5, "Алексеевич", "Алексеевна"),
    ("Михаил", 4, "Михайлович", "Михайловна"), ("Николай", 3, "Николаевич", "Николаевна"),
    ("Владимир", 4, "Владимирович", "Владимировна"), ("Евгений", 3, "Евгеньевич", "Евгеньевна"),
    ("Павел", 3, "Павлович", "Павловна"), ("Артём", 2, "Артёмович", "Артёмовна"),
    ("Максим", 3, "Максимович", "Максимовна"), ("Игорь", 2, "Игоревич", "Игоревна"),
    ("Олег", 2, "Олегович", "Олеговна"), ("Юрий", 2, "Юрьевич", "Юрьевна"),
    ("Виктор", 2, "Викторович", "Викторовна"), ("Константин", 2, "Константинович",
                                                  "Константиновна"),
    ("Роман", 2, "Романович", "Романовна"), ("Денис", 2, "Денисович", "Денисовна"),
    ("Антон", 2, "Антонович", "Антоновна"), ("Василий", 2, "Васильевич", "Васильевна"),
    ("Пётр", 2, "Петрович", "Петровна"), ("Григорий", 1, "Григорьевич", "Григорьевна"),
    ("Фёдор", 1, "Фёдорович", "Фёдоровна"), ("Илья", 2, "Ильич", "Ильинична"),
    ("Кирилл", 2, "Кириллович", "Кирилловна"), ("Борис", 1, "Борисович", "Борисовна"),
    ("Геннадий", 1, "Геннадьевич", "Геннадьевна"), ("Анатолий", 1, "Анатольевич",
                                                    "Анатольевна"),
    ("Валерий", 1, "Валерьевич", "Валерьевна"), ("Леонид", 1, "Леонидович", "Леонидовна"),
    ("Вадим", 1, "Вадимович", "Вадимовна"), ("Семён", 1, "Семёнович", "Семёновна"),
    ("Никита", 2, "Никитич", "Никитична"), ("Егор", 1, "Егорович", "Егоровна"),
)
RU_FEMALE = (
    ("Анна", 5), ("Мария", 5), ("Елена", 5), ("Ольга", 4), ("Наталья", 4), ("Татьяна", 4),
    ("Ирина", 4), ("Светлана", 3), ("Екатерина", 4), ("Юлия", 3), ("Анастасия", 3),
    ("Марина", 2), ("Людмила", 2), ("Галина", 1), ("Ксения", 2), ("Дарья", 2),
    ("Виктория", 2), ("Надежда", 1), ("Вера", 1), ("Любовь", 1), ("Алина", 1), ("Полина", 1),
    ("Евгения", 1), ("Валентина", 1), ("Софья", 1), ("Алёна", 1), ("Иванна", 1),
)
RU_SURNAMES = (
    ("Иванов", 12), ("Петров", 5), ("Сидоров", 4), ("Смирнов", 5), ("Кузнецов", 4),
    ("Попов", 3), ("Васильев", 3), ("Соколов", 3), ("Михайлов", 2), ("Новиков", 2),
    ("Фёдоров", 2), ("Морозов", 2), ("Волков", 2), ("Алексеев", 2), ("Лебедев", 2),
    ("Семёнов", 2), ("Егоров", 2), ("Павлов", 2), ("Козлов", 2), ("Степанов", 2),
    ("Николаев", 2), ("Орлов", 2), ("Андреев", 2), ("Макаров", 2), ("Никитин", 2),
    ("Захаров", 2), ("Зайцев", 2), ("Соловьёв", 2), ("Борисов", 1), ("Яковлев", 1),
    ("Григорьев", 1), ("Романов", 1), ("Воробьёв", 1), ("Сергеев", 1), ("Кузьмин", 1),
    ("Фролов", 1), ("Александров", 1), ("Дмитриев", 1), ("Королёв", 1), ("Гусев", 1),
    ("Киселёв", 1), ("Ильин", 1), ("Максимов", 1), ("Поляков", 1), ("Сорокин", 1),
    ("Виноградов", 1), ("Ковалёв", 1), ("Белов", 1), ("Медведев", 1), ("Антонов", 1),
    ("Тарасов", 1), ("Жуков", 1), ("Баранов", 1), ("Филиппов", 1), ("Комаров", 1),
    ("Давыдов", 1), ("Беляев", 1), ("Герасимов", 1), ("Богданов", 1), ("Осипов", 1),
    ("Иваненко", 1), ("Сидоренко", 1), ("Ковальчук", 1), ("Шевченко", 1), ("Черных", 1),
    ("Белых", 1), ("Вишневский", 1), ("Островский", 1), ("Покровский", 1), ("Успенский", 1),
    ("Толстой", 1), ("Ивановский", 1),
)
EN_MALE = ("John", "James", "Michael", "David", "Robert", "William", "Richard", "Thomas",
           "Daniel", "Paul", "Mark", "George", "Peter", "Andrew", "Steven", "Ivan")
EN_FEMALE = ("Mary", "Jennifer", "Linda", "Elizabeth", "Susan", "Sarah", "Emily", "Emma",
             "Olivia", "Anna", "Laura", "Kate", "Helen", "Alice", "Grace")
EN_SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams",
    "Nelson", "Carter", "Mitchell", "Evans", "Turner", "Parker", "Collins", "Edwards",
    "Stewart", "Morris", "Cook", "Rogers", "Reed", "Ivanoff",
)
RU_POSITIONS = (
    ("Генеральный директор", True, 6), ("Коммерческий директор", True, 5),
    ("Финансовый директор", True, 2), ("Директор", True, 4), ("Собственник", True, 1),
    ("Заместитель директора", False, 3), ("Главный бухгалтер", False, 5),
    ("Бухгалтер", False, 4), ("Менеджер по закупкам", False, 8),
    ("Руководитель отдела закупок", True, 4), ("Начальник отдела снабжения", True, 3),
    ("Офис-менеджер", False, 4), ("Секретарь", False, 3), ("Главный инженер", False, 2),
    ("Менеджер по продажам", False, 3), ("Юрист", False, 2), ("Логист", False, 2),
    ("Маркетолог", False, 2),
)
EN_POSITIONS = (
    ("CEO", True, 4), ("Managing Director", True, 3), ("CFO", True, 1),
    ("Head of Procurement", True, 3), ("Procurement Manager", False, 5),
    ("Office Manager", False, 3), ("Accountant", False, 3), ("Sales Manager", False, 2),
    ("Owner", True, 1), ("Operations Manager", False, 2), ("Marketing Manager", False, 1),
)
RU_ROLES = ("закупщик", "бухгалтер", "ЛПР", "технический специалист", "согласует договор", "")
EN_ROLES = ("buyer", "accountant", "decision maker", "technical expert", "signs contracts", "")
HOBBIES = ("рыбалка", "охота", "футбол", "хоккей", "теннис", "шахматы", "горные лыжи",
           "театр", "путешествия", "фотография", "дача", "баня", "golf", "sailing",
           "cycling", "running", "cooking", "jazz")

# City, weight, tax-region prefix, landline codes.
CITIES = (
    ("Москва", 30, "77", ("495", "499")), ("Санкт-Петербург", 14, "78", ("812",)),
    ("Новосибирск", 5, "54", ("383",)), ("Екатеринбург", 5, "66", ("343",)),
    ("Казань", 5, "16", ("843",)), ("Нижний Новгород", 4, "52", ("831",)),
    ("Челябинск", 3, "74", ("351",)), ("Самара", 3, "63", ("846",)),
    ("Ростов-на-Дону", 3, "61", ("863",)), ("Уфа", 3, "02", ("347",)),
    ("Красноярск", 3, "24", ("391",)), ("Воронеж", 3, "36", ("473",)),
    ("Пермь", 3, "59", ("342",)), ("Волгоград", 3, "34", ("844",)),
)
STREETS = ("ул. Ленина", "ул. Мира", "ул. Советская", "ул. Гагарина", "ул. Пушкина",
           "ул. Лермонтова", "ул. Кирова", "ул. Молодёжная", "ул. Садовая", "ул. Центральная",
           "ул. Школьная", "ул. Лесная", "ул. Новая", "наб. Речная", "ул. Октябрьская",
           "пр-т Победы", "ул. Строителей", "ул. Промышленная", "ул. Заводская",
           "пр-т Ленинский", "пер. Почтовый", "ш. Московское", "ул. Вокзальная")
RU_INDUSTRIES = ("Оптовая торговля", "Розничная торговля", "Строительство", "Производство",
                 "Логистика", "IT и телеком", "Общепит", "Медицина", "Образование", "Финансы",
                 "Недвижимость", "Сельское хозяйство", "Автосервис", "Туризм",
                 "Реклама и маркетинг", "Юридические услуги", "Энергетика",
                 "Металлообработка", "Пищевая промышленность", "Мебель", "Полиграфия",
                 "Клининг", "Безопасность")
EN_INDUSTRIES = ("Manufacturing", "Logistics", "IT services", "Retail", "Wholesale",
                 "Construction", "Consulting", "Food & beverage", "Healthcare", "Education",
                 "Energy", "Media")
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "rambler.ru")
TLDS = (".ru", ".ru", ".ru", ".com", ".net")
ORG_NOTES = ("Работают с НДС.", "Оплата по факту поставки.", "Сезонный спрос весной.",
             "Предпочитают общение по e-mail.", "Бухгалтерия отвечает только до 16:00.",
             "Prefers calls in the morning.", "Payment within 30 days.",
             "Участвуют в тендерах.", "")
TAGS = ("VIP", "партнёр", "опт", "розница", "тендер", "export", "key account", "дилер")

# Users created for the demo: login, full name, role.
DEMO_USERS = (
    ("smirnova", "Ольга Смирнова", "head"),
    ("ivanov", "Иван Иванов", "manager"),
    ("petrova", "Анна Петрова", "manager"),
    ("kuznetsov", "Дмитрий Кузнецов", "manager"),
    ("jsmith", "John Smith", "manager"),
)

EVENT_TYPE_WEIGHTS = {"call": 55, "meeting": 14, "email": 14, "proposal": 6, "visit": 5,
                      "letter": 2, "congratulation": 4}
RU_EVENT_TITLES = {
    "call": ("", "", "", "Уточнить потребность", "Напомнить об оплате", "Холодный звонок",
             "Обсудить условия"),
    "meeting": ("Презентация продукции", "Обсуждение договора", "Знакомство",
                "Переговоры по скидке", ""),
    "email": ("Прайс-лист", "Каталог", "Счёт на оплату", ""),
    "proposal": ("Коммерческое предложение", "КП на поставку", ""),
    "visit": ("Визит в офис клиента", "Осмотр объекта", ""),
    "letter": ("Благодарственное письмо", ""),
    "congratulation": ("С днём рождения", "С Новым годом", "С юбилеем компании"),
}
EN_EVENT_TITLES = {
    "call": ("", "", "Follow-up call", "Payment reminder", "Discovery call"),
    "meeting": ("Product demo", "Contract review", "Introduction", ""),
    "email": ("Price list", "Catalogue", "Invoice", ""),
    "proposal": ("Proposal", "Supply proposal", ""),
    "visit": ("Site visit", ""),
    "letter": ("Thank-you letter", ""),
    "congratulation": ("Happy birthday", "Season's greetings"),
}
RESULT_NOTES = ("Интересуются скидкой при объёме", "Просили перезвонить после обеда",
                "Бюджет утверждают в следующем месяце", "Сравнивают с конкурентом",
                "Договорились о встрече", "Нужен образец продукции", "ЛПР в отпуске",
                "Asked for references", "Budget approved next quarter",
                "Wants a discount for a yearly contract", "")
NEXT_STEPS = ("Отправить КП", "Перезвонить через неделю", "Назначить встречу",
              "Выставить счёт", "Отправить образцы", "Send the proposal",
              "Call back next week", "Book a demo")
TASK_TITLES = ("Подготовить КП", "Выставить счёт", "Согласовать договор", "Отправить каталог",
               "Проверить оплату", "Собрать реквизиты", "Поздравить с днём рождения",
               "Подготовить презентацию", "Prepare a proposal", "Send the invoice",
               "Follow up on the contract", "Update the price list")
DEAL_TITLES = ("Поставка оборудования", "Годовой контракт на обслуживание", "Партия товара",
               "Внедрение CRM", "Аренда техники", "Монтаж и пусконаладка", "Поставка сырья",
               "Supply contract", "Annual maintenance", "Pilot project", "Bulk order")
LOST_REASONS = ("Дорого", "Выбрали конкурента", "Нет бюджета", "Проект заморожен",
                "Price too high", "Chose a competitor")
SERVICE_NAMES = ("Консультация", "Монтаж", "Доставка", "Обслуживание", "Обучение персонала",
                 "Аудит", "Consulting", "Installation", "Support")
NOTE_TITLES = ("Итоги переговоров", "Договорённости по скидке", "Реквизиты", "Схема проезда",
               "Пожелания по поставке", "Meeting notes", "Pricing agreement", "Contacts map")
NOTE_BODIES = ("Договорились о скидке 5% при предоплате.",
               "Склад принимает машины с 8 до 17, въезд с ул. Заводской.",
               "Директор просил присылать документы в двух экземплярах.",
               "Agreed on a 30-day payment term for the next three orders.",
               "Ключевой вопрос — сроки поставки, цена вторична.",
               "They plan to open two more stores next year.")
LINKS = (
    ("https://www.nalog.gov.ru", "ФНС — проверка контрагента", "Поиск организаций по ИНН", ""),
    ("https://zakupki.gov.ru", "Госзакупки", "Единая информационная система в сфере закупок", ""),
    ("https://www.cbr.ru", "Банк России — курсы валют", "", ""),
    ("https://yandex.ru/maps", "Яндекс Карты", "Маршруты к клиентам", ""),
    ("https://hh.ru", "HeadHunter", "Вакансии отдела продаж", "hr@example.ru"),
    ("https://example.com/price", "Прайс-лист", "Актуальные цены для менеджеров", "manager"),
    ("https://example.com/wiki/sales", "Sales playbook", "Scripts and objection handling",
     "sales"),
    ("https://example.com/crm-help", "Регламент работы с клиентами", "", ""),
)


# --- helpers ----------------------------------------------------------------------------------


TODAY_EVENTS = 12  # calls and meetings planned for today, per manager
OVERDUE_EVENTS = 4  # planned in the last days and not logged, per manager
OVERDUE_DAYS = 7
TASKS_DUE = 3  # open tasks due by today, per manager
STALLED_EVERY = 3  # every third warm client has no next step (Follow-ups flags them)


def _adjective(masculine: str, gender: str) -> str:
    if gender == "m":
        return masculine
    stem, end = masculine[:-2], masculine[-2:]
    if end == "ий" and stem[-1] not in "кгхжшчщ":
        return stem + ("яя" if gender == "f" else "ее")
    return stem + ("ая" if gender == "f" else "ое")


def _female_surname(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith("ой"):
        return surname[:-2] + "ая"
    return surname


def _expand(weighted: Iterable[tuple]) -> list:
    """A list where each item appears `weight` times (for fast uniform picks)."""
    out = []
    for item in weighted:
        out.extend([item] * item[1])
    return out


@functools.lru_cache(maxsize=8192)
def _latin(text: str) -> str:
    return slug(text).replace("_", "-").removeprefix("f-")


def _mobile(rng: _Random) -> tuple[str, str]:
    """(E.164, shown) of a random Russian mobile number."""
    code = rng.randrange(900, 1000)
    if code == 930:
        code = 931
    n = rng.randrange(10_000_000)
    return _phone(str(code), n)


def _phone(code: str, n: int) -> tuple[str, str]:
    e164 = f"+7{code}{n:07d}"
    return e164, format_phone(e164)


def _extension(e164: str, extension: int) -> tuple[str, str]:
    """(normalized, shown) of an office number with an extension, as the phone rule stores
    it ("+74951112233;ext=12", "+7 495 111-22-33 доб. 12")."""
    phone = parse_phone(f"{e164} доб. {extension}")
    return phone.normalized, phone.shown


def _ts(value: dt.datetime) -> str:
    return str(value)  # every generated time is whole minutes: "YYYY-MM-DD HH:MM:SS"


def _body(parts: Iterable[str]) -> str:
    """The search text of a record, exactly as `search.document` builds it."""
    return normalize_text(" ".join(p for p in parts if p))


def _event_title(event_id: int, head: str, who: str) -> str:
    """An event's title as `search.title_of` makes it."""
    return f"{head}: {who}" if who and head else (head or who or f"#{event_id}")


class _Random(random.Random):
    """`choice` and `randrange` without the rejection sampling of the standard ones: about
    three times faster, deterministic all the same, and uniform enough for demo data."""

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))


class _Writer:
    """Bulk inserts with explicit ids through the driver (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pg = is_postgres(db)

    def next_id(self, model: type[m.BaseModel]) -> int:
        table = model._meta.table_name
        row = self.db.execute_sql(f'SELECT MAX(id) FROM "{table}"').fetchone()
        return int(row[0] or 0) + 1

    def insert(self, model: type[m.BaseModel], names: Sequence[str],
               rows: Iterable[Sequence[Any]],
               after_chunk: Callable[[], None] | None = None) -> int:
        """Insert rows in chunks; `after_chunk` runs after each (to write their documents)."""
        fields = model._meta.fields
        table = model._meta.table_name
        # Columns left out get the model's default (the schema has no DEFAULT clauses).
        extra = [(f.column_name, f.db_value(f.default)) for name, f in fields.items()
                 if name not in names and not f.null and f.default is not None
                 and not callable(f.default)]
        if extra:
            tail = tuple(value for _c, value in extra)
            rows = (tuple(row) + tail for row in rows)
        columns = ", ".join([f'"{fields[n].column_name}"' for n in names]
                            + [f'"{c}"' for c, _v in extra])
        names = [*names, *(c for c, _v in extra)]
        written = 0
        if self.pg:
            from psycopg2.extras import execute_values

            cursor = self.db.cursor()
            sql = f'INSERT INTO "{table}" ({columns}) VALUES %s'
            for chunk in _chunks(rows):
                execute_values(cursor, sql, chunk, page_size=1000)
                written += len(chunk)
                if after_chunk:
                    after_chunk()
            return written
        marks = ", ".join("?" for _ in names)
        sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
        conn = self.db.connection()
        for chunk in _chunks(rows):
            conn.executemany(sql, chunk)
            written += len(chunk)
            if after_chunk:
                after_chunk()
        return written

    def fix_sequences(self, models: Iterable[type[m.BaseModel]]) -> None:
        """PostgreSQL: move each id sequence past the ids we wrote ourselves."""
        if not self.pg:
            return
        for model in models:
            table = model._meta.table_name
            self.db.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                f' COALESCE((SELECT MAX(id) FROM "{table}"), 1))')


def _chunks(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the generator ----------------------------------------------------------------------------


class _Demo:
    def __init__(self, rng: _Random, today: dt.date, months: int,
                 complete: bool = False) -> None:
        self.rng = rng
        # every optional field filled (round-trip tests of exports): the random draws of
        # an ordinary demo are kept, so a seed still gives the same ordinary demo
        self.complete = complete
        self.emails: set[str] = set()  # every e-mail given so far (two people never share one)
        self.handles: set[str] = set()  # and every messenger name
        self.today = today
        self.now = dt.datetime.combine(today, dt.time(12, 0))
        self.months = max(1, months)
        self.past_days = max(1, round(self.months * 30.4))
        self.db = current()
        self.w = _Writer(self.db)
        self.counts: dict[str, int] = {}
        self.ru_male = _expand(RU_MALE)
        self.ru_female = _expand(RU_FEMALE)
        self.ru_surnames = _expand(RU_SURNAMES)
        self.cities = _expand(CITIES)
        self.ru_positions = _expand([(p, w, dm) for p, dm, w in RU_POSITIONS])
        self.en_positions = _expand([(p, w, dm) for p, dm, w in EN_POSITIONS])
        self.ru_forms = _expand(RU_FORMS)
        self.used_inns: set[str] = set(
            r[0] for r in self.db.execute_sql("SELECT inn FROM organization WHERE inn <> ''"))
        self.used_domains: dict[str, int] = {}
        self.docs: list[tuple[str, int, str, str]] = []
        # A manager's day looks like one whatever the base's size (issue 15: not 1,400
        # items): at most so many calls and meetings today, a few overdue, a few tasks due.
        self.on_today: dict[int, int] = {}
        self.overdue: dict[int, int] = {}
        self.tasks_due: dict[int, int] = {}


    def unique_email(self, email: str) -> str:
        """`email`, or with a number added when someone has it already: the same address is
        the same person (the duplicate rule), so a demo never gives two people one."""
        local, _, domain = email.partition("@")
        candidate, n = email, 2
        while candidate.casefold() in self.emails:
            candidate, n = f"{local}.{n}@{domain}", n + 1
        self.emails.add(candidate.casefold())
        return candidate
    def flush_docs(self) -> None:
        """Write the pending search documents (kind, id, title, body)."""
        if self.docs:
            search_index.put_many(self.docs)
            self.docs = []

    # users, sources, groups, tags

    def users(self) -> None:
        existing = {u.login: u for u in m.User.select()}
        created = 0
        for login, full_name, role in DEMO_USERS:
            if login not in existing:
                existing[login] = m.User.create(
                    login=login, full_name=full_name, role=role,
                    email=f"{login}@example.com")
                created += 1
        me = os_login()
        if me not in existing:
            existing[me] = m.User.create(login=me, full_name=me, role="admin")
            created += 1
        self.counts["users"] = created
        demo = [existing[login] for login, _n, _r in DEMO_USERS]
        self.head = demo[0].id
        self.managers = [u.id for u in demo[1:]]
        # Managers own most clients; the head keeps a few key accounts; whoever opens the
        # demo (the OS account) has a share too, so their Today is not empty.
        self.owners = self.managers * 6 + [self.head] + [existing[me].id] * 3

    def lookups(self) -> None:
        self.sources = [s.id for s in m.Source.select().where(m.Source.active == True)  # noqa: E712
                        .order_by(m.Source.id)]
        if not self.sources:
            for name in ("Холодный звонок", "Сайт", "Рекомендация", "Выставка"):
                self.sources.append(m.Source.create(name=name).id)
        self.event_types: dict[str, int] = {}
        self.results: dict[int, list[tuple[int, bool]]] = {}
        for et in m.EventType.select().where(m.EventType.active == True):  # noqa: E712
            self.event_types[et.code] = et.id
            self.results[et.id] = [(r.id, r.warm) for r in et.results.where(
                m.EventResult.active == True).order_by(m.EventResult.position)]  # noqa: E712
        codes = [c for c in EVENT_TYPE_WEIGHTS if c in self.event_types] or list(self.event_types)
        self.type_pool = [self.event_types[c] for c in codes
                          for _ in range(EVENT_TYPE_WEIGHTS.get(c, 1))]
        self.type_code = {v: k for k, v in self.event_types.items()}
        def group(name: str, parent: int | None = None, section: str = "organizations") -> int:
            found = m.Group.get_or_none((m.Group.section == section)
                                        & (m.Group.name == name))
            return found.id if found else m.Group.create(
                section=section, name=name, parent=parent).id

        regions = group("Регионы")
        self.groups = [group("Ключевые клиенты")] + [
            group(name, regions) for name in ("Сибирь", "Урал", "Поволжье")]
        self.contact_groups = [group(name, section="contacts")
                               for name in ("Бухгалтерия", "Руководители", "Закупки")] \
            if self.complete else []
        tag_ids = {t.name: t.id for t in m.Tag.select()}
        for name in TAGS:
            if name not in tag_ids:
                tag_ids[name] = m.Tag.create(name=name).id
        self.tags = [tag_ids[name] for name in TAGS]
        self.tag_names = {tag_id: name for name, tag_id in tag_ids.items()}
        self.type_name = {et.id: lookups.event_type_name(et) for et in m.EventType.select()}

    def when_past(self) -> dt.datetime:
        rng = self.rng
        day = self.today - dt.timedelta(days=rng.randrange(1, self.past_days + 1))
        if day.weekday() >= 5:
            day -= dt.timedelta(days=day.weekday() - 4)
        return dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.choice((0, 15, 30, 45))))

    def when_future(self, assignee: int | None = None) -> dt.datetime:
        rng = self.rng
        today = rng.random() < 0.15
        if today and assignee is not None:
            today = self.on_today.get(assignee, 0) < TODAY_EVENTS
            if today:
                self.on_today[assignee] = self.on_today.get(assignee, 0) + 1
        if today:
            day = self.today
        else:
            day = self.today + dt.timedelta(days=rng.randrange(1, 61))
            if day.weekday() >= 5:
                day += dt.timedelta(days=7 - day.weekday())
        return dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.choice((0, 30))))

    # organizations

    def org_name(self, russian: bool, city: str) -> tuple[str, str, bool]:
        """(name as shown, legal name, is a sole trader)."""
        rng = self.rng
        if not russian:
            brand = f"{rng.choice(EN_FIRST)} {rng.choice(EN_SECOND)}"
            if rng.random() < 0.3:
                return brand, f"ООО «{brand}»", False
            form = rng.choice(EN_FORMS)
            return brand, f"{brand} {form}", False
        roll = rng.random()
        if roll < 0.12:
            surname = rng.choice(self.ru_surnames)[0]
            male = rng.random() < 0.7
            if male:
                first, _w, pat, _f = rng.choice(self.ru_male)
            else:
                first = rng.choice(self.ru_female)[0]
                pat = rng.choice(self.ru_male)[3]
                surname = _female_surname(surname)
            short = f"ИП {surname}" if rng.random() < 0.5 else f"ИП {surname} {first[0]}. {pat[0]}."
            return short, f"Индивидуальный предприниматель {surname} {first} {pat}", True
        if roll < 0.5:
            noun, gender = rng.choice(RU_NOUNS)
            adjective = _adjective(rng.choice(RU_ADJECTIVES), gender)
            brand = f"{adjective} {noun}"
        elif roll < 0.8:
            root, suffix = rng.choice(RU_BRANDS), rng.choice(RU_SUFFIXES)
            brand = f"{root}-{suffix}" if rng.random() < 0.5 else f"{root}{suffix.lower()}"
        else:
            brand = rng.choice(RU_BRANDS)
        form = rng.choice(self.ru_forms)[0]
        legal = f"{form} «{brand}»"
        shown = legal if rng.random() < 0.25 else brand
        if rng.random() < 0.1:
            shown = f"{shown} ({city})"  # how users tell apart namesakes
        return shown, legal, False

    def inn(self, region: str, sole_trader: bool) -> str:
        rng = self.rng
        while True:
            if sole_trader:
                value = make_inn12(f"{region}{rng.randrange(10**8):08d}")
            else:
                value = make_inn10(f"{region}{rng.randrange(10**7):07d}")
            if value not in self.used_inns:
                self.used_inns.add(value)
                return value

    def domain(self, brand: str) -> str:
        base = _latin(brand.split("(")[0]) or "company"
        seen = self.used_domains.get(base, 0)
        self.used_domains[base] = seen + 1
        tld = TLDS[len(base) % len(TLDS)]
        return f"{base}{seen if seen else ''}{tld}"

    def organizations(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Organization)
        self.org_first = first_id
        self.org_owner: list[int] = []
        self.org_status: list[str] = []
        self.org_size: list[float] = []
        self.org_russian: list[bool] = []
        self.org_domain: list[str] = []
        self.org_city_codes: list[tuple[str, ...]] = []
        self.org_names: list[str] = []
        self.clients: list[int] = []
        self.warm: list[int] = []
        self.others: list[int] = []
        points: list[tuple] = []
        tag_links: list[tuple] = []
        rows: list[tuple] = []
        point_id = self.w.next_id(m.ContactPoint)
        for i in range(count):
            oid = first_id + i
            russian = rng.random() < 0.78
            city, _w, region, codes = rng.choice(self.cities)
            name, legal, sole = self.org_name(russian, city)
            has_inn = russian or rng.random() < 0.5 or self.complete
            inn = self.inn(region, sole) if has_inn else ""
            roll = rng.random()
            status = ("lead" if roll < 0.33 else "warm" if roll < 0.53
                      else "client" if roll < 0.9 else "lost")
            size = min(rng.lognormvariate(11.0, 1.0), 5_000_000.0)
            category = "none"
            cadence = None
            if status == "client":
                category = ("vip" if size > 215_000 else "good" if size > 88_000 else "regular")
                if rng.random() < 0.12:
                    category = "difficult"
                cadence = {"vip": 14, "good": 30, "regular": 60, "difficult": 45}[category]
                self.clients.append(oid)
            elif status == "warm":
                self.warm.append(oid)
                cadence = 21 if rng.random() < 0.5 else None
            else:
                self.others.append(oid)
            owner = rng.choice(self.owners)
            brand = legal.split("«")[1].rstrip("»") if "«" in legal else name
            domain = self.domain(brand) if not sole else ""
            website = f"https://{domain}" if domain and (rng.random() < 0.7 or self.complete) \
                else ""
            if self.complete and not website:
                website = f"https://{self.domain(name.split()[1])}"
            industry = rng.choice(RU_INDUSTRIES if russian else EN_INDUSTRIES)
            street = rng.choice(STREETS)
            address = f"{street}, д. {rng.randrange(1, 120)}"
            if rng.random() < 0.6:
                address += f", оф. {rng.randrange(1, 600)}"
            group = None
            if category == "vip":
                group = self.groups[0]
            elif city in ("Новосибирск", "Красноярск"):
                group = self.groups[1]
            elif city in ("Екатеринбург", "Челябинск", "Пермь", "Уфа"):
                group = self.groups[2]
            elif city in ("Казань", "Самара", "Нижний Новгород", "Волгоград"):
                group = self.groups[3]
            if self.complete and group is None:
                group = self.groups[1 + oid % 3]
            if self.complete and cadence is None:
                cadence = 30
            created = self.now - dt.timedelta(days=rng.randrange(30, 1100),
                                              minutes=rng.randrange(180))
            source = rng.choice(self.sources)
            # phones and e-mail
            primary_email = ""
            code = rng.choice(codes)
            e164, shown = _phone(code, rng.randrange(1_000_000, 10_000_000))
            points.append((point_id, oid, None, "phone", "work", shown, e164, True, 0))
            point_id += 1
            primary_phone = shown
            terms = point_terms("phone", shown, e164)
            if rng.random() < 0.35 or self.complete:
                e164, shown = _mobile(rng)
                points.append((point_id, oid, None, "phone", "mobile", shown, e164, True, 1))
                point_id += 1
                terms.extend(point_terms("phone", shown, e164))
            if rng.random() < 0.05 or self.complete:
                e164, shown = _phone(code, rng.randrange(1_000_000, 10_000_000))
                points.append((point_id, oid, None, "phone", "fax", shown, e164, True, 2))
                point_id += 1
                terms.extend(point_terms("phone", shown, e164))
            email = ""
            if domain and (rng.random() < 0.85 or self.complete):
                email = f"{rng.choice(('info', 'office', 'sales', 'zakaz', 'mail'))}@{domain}"
            elif sole:
                email = f"{_latin(name.split()[1])}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}"
            if email:
                email = self.unique_email(email)
                key = email_key(email)
                points.append((point_id, oid, None, "email", "work", email, key, True, 0))
                point_id += 1
                primary_email = email
                terms.extend(point_terms("email", email, key))
            if rng.random() < 0.1 or self.complete:
                for tag in rng.sample(self.tags, rng.randrange(1, 3)):
                    tag_links.append(("organizations", oid, tag))
                    terms.append(self.tag_names[tag])
            notes = rng.choice(ORG_NOTES) if rng.random() < 0.3 or self.complete else ""
            if self.complete and not notes:
                notes = ORG_NOTES[0]
            rows.append((
                oid, name, legal, inn, industry, city, address, website, notes, group, owner,
                status, category, source, cadence, rng.random() < 0.03, primary_phone,
                primary_email, 1, _ts(created),
                _ts(created + dt.timedelta(days=rng.randrange(0, 30))), owner, owner,
            ))
            self.docs.append(("organizations", oid, name, _body(
                (name, legal, inn, industry, city, address, website, notes, *terms))))
            self.org_owner.append(owner)
            self.org_status.append(status)
            self.org_size.append(size)
            self.org_russian.append(russian)
            self.org_domain.append(domain)
            self.org_names.append(name)
        self.w.insert(m.Organization, (
            "id", "name", "legal_name", "inn", "industry", "city", "address", "website",
            "notes", "group", "owner", "status", "category", "source", "cadence_days",
            "opt_out", "primary_phone", "primary_email", "version", "created_at", "updated_at",
            "created_by", "updated_by"), rows)
        self.counts["organizations"] = len(rows)
        self.flush_docs()
        self._points(points)
        self._tags(tag_links)

    def _points(self, points: list[tuple]) -> None:
        self.w.insert(m.ContactPoint, ("id", "organization", "contact", "kind", "type", "value",
                                       "normalized", "valid", "position"), points)
        self.counts["contact_points"] = self.counts.get("contact_points", 0) + len(points)

    def _tags(self, links: list[tuple]) -> None:
        first = self.w.next_id(m.TagLink)
        self.w.insert(m.TagLink, ("id", "kind", "record_id", "tag"),
                      [(first + i, *link) for i, link in enumerate(links)])
        self.counts["tag_links"] = self.counts.get("tag_links", 0) + len(links)

    # contacts

    def person(self, russian: bool) -> tuple[str, str, str, bool]:
        """(last, first, middle, male)."""
        rng = self.rng
        male = rng.random() < 0.58
        if russian:
            surname = rng.choice(self.ru_surnames)[0]
            if male:
                first, _w, middle, _f = rng.choice(self.ru_male)
            else:
                first = rng.choice(self.ru_female)[0]
                middle = rng.choice(self.ru_male)[3]
                surname = _female_surname(surname)
            if rng.random() < 0.1:
                middle = ""
            return surname, first, middle, male
        first = rng.choice(EN_MALE if male else EN_FEMALE)
        return rng.choice(EN_SURNAMES), first, "", male

    def contacts(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Contact)
        self.contact_first = first_id
        n_orgs = len(self.org_owner)
        self.org_contacts: dict[int, list[int]] = {}
        self.contact_org: list[int | None] = []
        self.contact_owner: list[int] = []
        self.contact_names: list[str] = []
        rows: list[tuple] = []
        points: list[tuple] = []
        tag_links: list[tuple] = []
        point_id = self.w.next_id(m.ContactPoint)
        taken: set[tuple[str, str, str, int]] = set()
        for i in range(count):
            cid = first_id + i
            org_index = None
            if i < n_orgs:
                org_index = i  # every organization gets a first person
            elif n_orgs and (rng.random() < 0.85 or self.complete):
                org_index = rng.randrange(n_orgs)
            if org_index is not None:
                oid = self.org_first + org_index
                russian = self.org_russian[org_index] if rng.random() < 0.9 else \
                    not self.org_russian[org_index]
                owner = self.org_owner[org_index]
                self.org_contacts.setdefault(oid, []).append(cid)
            else:
                oid = None
                russian = rng.random() < 0.8
                owner = rng.choice(self.owners)
            last, first, middle, _male = self.person(russian)
            if self.complete and not middle:
                middle = rng.choice(self.ru_male)[3] if russian else rng.choice(EN_MALE)
            while oid is not None and (last, first, middle, oid) in taken:
                # one full name twice in one company is one person (the duplicate rule)
                last, first, middle, _male = self.person(russian)
            taken.add((last, first, middle, oid))
            if oid is not None:
                position, _w, dm = rng.choice(self.ru_positions if russian else self.en_positions)
                role = rng.choice(RU_ROLES if russian else EN_ROLES) \
                    if rng.random() < 0.4 or self.complete else ""
                if self.complete and not role:
                    role = (RU_ROLES if russian else EN_ROLES)[0]
            else:
                position, dm, role = "", False, ""
            birthday = None
            if rng.random() < 0.7 or self.complete:
                birthday = dt.date(self.today.year - rng.randrange(22, 66), rng.randrange(1, 13),
                                   rng.randrange(1, 29))
            e164, shown = _mobile(rng)
            mobile = e164
            points.append((point_id, None, cid, "phone", "mobile", shown, e164, True, 0))
            point_id += 1
            primary_phone, primary_email = shown, ""
            terms = point_terms("phone", shown, e164)
            if oid is not None and (rng.random() < 0.3 or self.complete):
                code = rng.choice(self.cities)[3][0]
                e164, shown = _phone(code, rng.randrange(1_000_000, 10_000_000))
                if self.complete:  # an office phone with the person's extension
                    e164, shown = _extension(e164, rng.randrange(1, 1000))
                points.append((point_id, None, cid, "phone", "work", shown, e164, True, 1))
                point_id += 1
                terms.extend(point_terms("phone", shown, e164))
            if rng.random() < 0.8 or self.complete:
                local = f"{_latin(first)[:1]}.{_latin(last)}"
                domain = self.org_domain[org_index] if org_index is not None else ""
                if domain and rng.random() < 0.8:
                    email, kind = f"{local}@{domain}", "work"
                else:
                    email = f"{local}{rng.randrange(1, 1000)}@{rng.choice(MAIL_DOMAINS)}"
                    kind = "personal"
                email = self.unique_email(email)
                key = email_key(email)
                points.append((point_id, None, cid, "email", kind, email, key, True, 0))
                point_id += 1
                primary_email = email
                terms.extend(point_terms("email", email, key))
            if rng.random() < 0.25 or self.complete:
                handle = f"@{_latin(last).replace('-', '_')}_{rng.randrange(10, 99)}"
                base, n = handle, 2
                while handle in self.handles:  # a Telegram name belongs to one person
                    handle, n = f"{base}{n}", n + 1
                self.handles.add(handle)
                key = messenger_key(handle)
                points.append((point_id, None, cid, "messenger", "telegram", handle, key, True,
                               0))
                point_id += 1
                terms.extend(point_terms("messenger", handle, key))
            if rng.random() < 0.08:
                number = mobile if self.complete else e164  # never an extension
                points.append((point_id, None, cid, "messenger", "whatsapp", number, number,
                               True, 1))
                point_id += 1
                terms.extend(point_terms("messenger", number, number))
            if rng.random() < 0.04 or self.complete:
                tag = rng.choice(self.tags)
                tag_links.append(("contacts", cid, tag))
                terms.append(self.tag_names[tag])
            created = self.now - dt.timedelta(days=rng.randrange(10, 1000),
                                              minutes=rng.randrange(180))
            hobbies = rng.choice(HOBBIES) if rng.random() < 0.2 or self.complete else ""
            source = rng.choice(self.sources) if rng.random() < 0.7 or self.complete else None
            registration = residence = notes = ""
            cadence = group = None
            if self.complete:
                city = rng.choice(self.cities)[0]
                registration = f"{city}, {rng.choice(STREETS)}, д. {rng.randrange(1, 120)}"
                residence = f"{city}, {rng.choice(STREETS)}, д. {rng.randrange(1, 120)}," \
                            f" кв. {rng.randrange(1, 300)}"
                notes = rng.choice(RESULT_NOTES) or RESULT_NOTES[0]
                cadence = rng.choice((14, 30, 60))
                group = rng.choice(self.contact_groups)
            rows.append((
                cid, last, first, middle, oid, position, role, dm, birthday, hobbies,
                owner, source, rng.random() < 0.03, primary_phone, primary_email, 1,
                _ts(created), _ts(created), owner, owner, registration, residence, notes,
                cadence, group,
            ))
            full_name = lookups.contact_name(last, first, middle)
            org_name = self.org_names[org_index] if org_index is not None else ""
            self.docs.append(("contacts", cid, full_name, _body(
                (last, first, middle, position, role, hobbies, registration, residence, notes,
                 org_name, *terms))))
            self.contact_org.append(oid)
            self.contact_owner.append(owner)
            self.contact_names.append(full_name)
        self.w.insert(m.Contact, (
            "id", "last_name", "first_name", "middle_name", "organization", "position", "role",
            "is_decision_maker", "birthday", "hobbies", "owner", "source", "opt_out",
            "primary_phone", "primary_email", "version", "created_at", "updated_at",
            "created_by", "updated_by", "registration_address", "residence_address", "notes",
            "cadence_days", "group"), rows)
        self.counts["contacts"] = len(rows)
        self.flush_docs()
        self._points(points)
        self._tags(tag_links)

    # events, tasks

    def pick_org(self) -> int | None:
        """An organization index, clients and warm ones more often."""
        rng = self.rng
        roll = rng.random()
        pool = self.clients if roll < 0.55 else self.warm if roll < 0.8 else self.others
        if not pool:
            pool = self.clients or self.warm or self.others
        if not pool:
            return None
        return rng.choice(pool) - self.org_first

    def events(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Event)
        n_contacts = len(self.contact_org)

        def rows() -> Iterator[tuple]:
            for i in range(count):
                eid = first_id + i
                org_index = self.pick_org()
                contact = None
                if org_index is not None:
                    oid = self.org_first + org_index
                    people = self.org_contacts.get(oid)
                    if people and rng.random() < 0.85:
                        contact = rng.choice(people)
                    assignee = self.org_owner[org_index]
                    russian = self.org_russian[org_index]
                elif n_contacts:
                    oid = None
                    index = rng.randrange(n_contacts)
                    contact = self.contact_first + index
                    assignee = self.contact_owner[index]
                    russian = True
                else:
                    oid, assignee, russian = None, rng.choice(self.owners), True
                type_id = rng.choice(self.type_pool)
                code = self.type_code[type_id]
                titles = (RU_EVENT_TITLES if russian else EN_EVENT_TITLES).get(code, ("",))
                title = rng.choice(titles)
                past = rng.random() < 0.7
                if org_index is not None and org_index % STALLED_EVERY == 0 \
                        and self.org_status[org_index] == "warm":
                    past = True  # a warm client nobody planned the next step for
                result = None
                note = next_step = ""
                reminder = None
                if past:
                    starts = self.when_past()
                    roll = rng.random()
                    status = "done" if roll < 0.86 else "missed" if roll < 0.94 else "cancelled"
                    if starts.date() >= self.today - dt.timedelta(days=OVERDUE_DAYS) \
                            and rng.random() < 0.3 \
                            and self.overdue.get(assignee, 0) < OVERDUE_EVENTS:
                        # Not done yet: an overdue item on the manager's Today.
                        self.overdue[assignee] = self.overdue.get(assignee, 0) + 1
                        status = "planned"
                    if status == "done" and self.results.get(type_id):
                        result, warm = rng.choice(self.results[type_id])
                        if rng.random() < 0.5:
                            note = rng.choice(RESULT_NOTES)
                        if warm:
                            next_step = rng.choice(NEXT_STEPS)
                else:
                    starts = self.when_future(assignee)
                    status = "planned"
                    if rng.random() < 0.4:
                        reminder = rng.choice((10, 15, 30, 60))
                minutes = 15 if code in ("call", "email", "letter", "congratulation") else 60
                ends = starts + dt.timedelta(minutes=minutes)
                created = starts - dt.timedelta(days=rng.randrange(0, 14)) if not past \
                    else starts - dt.timedelta(days=rng.randrange(0, 5))
                created = min(created, self.now)
                updated = max(created, starts + dt.timedelta(minutes=minutes)) if past else created
                yield (eid, type_id, title, _ts(starts), _ts(ends), oid, contact, assignee,
                       status, result, note, next_step, reminder, 1, _ts(created),
                       _ts(min(updated, self.now)), assignee, assignee)
                type_name = self.type_name.get(type_id, "")
                org_name = self.org_names[org_index] if org_index is not None else ""
                person = self.contact_names[contact - self.contact_first] if contact else ""
                self.docs.append(("events", eid, _event_title(eid, title or type_name,
                                                              org_name or person),
                                  _body((title, type_name, org_name, person, note, next_step))))

        written = self.w.insert(m.Event, (
            "id", "event_type", "title", "starts_at", "ends_at", "organization", "contact",
            "assignee", "status", "result", "result_note", "next_step", "reminder_minutes",
            "version", "created_at", "updated_at", "created_by", "updated_by"), rows(),
            after_chunk=self.flush_docs)
        self.counts["events"] = written

    def tasks(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Task)
        rows = []
        for i in range(count):
            org_index = self.pick_org()
            oid = contact = None
            assignee = rng.choice(self.owners)
            if org_index is not None:
                oid = self.org_first + org_index
                assignee = self.org_owner[org_index]
                people = self.org_contacts.get(oid)
                if people and rng.random() < 0.5:
                    contact = rng.choice(people)
            roll = rng.random()
            if roll < 0.55:
                status, due = "open", self.when_future()
            elif roll < 0.65:
                status, due = "open", self.when_past()  # overdue
            elif roll < 0.75:
                status, due = "in_progress", self.when_future()
            else:
                status, due = ("done" if roll < 0.95 else "cancelled"), self.when_past()
            if status in ("open", "in_progress") and due.date() <= self.today:
                # Due by today: a few per manager; the rest were done in time.
                if self.tasks_due.get(assignee, 0) < TASKS_DUE:
                    self.tasks_due[assignee] = self.tasks_due.get(assignee, 0) + 1
                elif due.date() < self.today:
                    status = "done"
                else:
                    due += dt.timedelta(days=rng.randrange(1, 15))
            title = rng.choice(TASK_TITLES)
            if oid is not None and rng.random() < 0.5:
                title = f"{title}: {self.org_names[org_index]}"
            created = min(due - dt.timedelta(days=rng.randrange(1, 20)), self.now)
            rows.append((first_id + i, title, "", _ts(due),
                         rng.choice(("low", "normal", "normal", "normal", "high")), status,
                         assignee, oid, contact, 1, _ts(created), _ts(created), assignee,
                         assignee))
            self.docs.append(("tasks", first_id + i, title, _body((
                title, self.org_names[org_index] if org_index is not None else "",
                self.contact_names[contact - self.contact_first] if contact else ""))))
        self.counts["tasks"] = self.w.insert(m.Task, (
            "id", "title", "description", "due_at", "priority", "status", "assignee",
            "organization", "contact", "version", "created_at", "updated_at", "created_by",
            "updated_by"), rows)
        self.flush_docs()

    # money

    def deals(self, count: int) -> list[tuple[int, int, float, dt.date]]:
        """Insert deals; return the won ones as (deal id, org id, amount, close date)."""
        rng = self.rng
        first_id = self.w.next_id(m.Deal)
        rows = []
        won: list[tuple[int, int, float, dt.date]] = []
        stages = money.STAGES  # the weights below follow its order
        for i in range(count):
            did = first_id + i
            org_index = self.pick_org()
            if org_index is None:
                break
            oid = self.org_first + org_index
            people = self.org_contacts.get(oid)
            contact = rng.choice(people) if people and rng.random() < 0.7 else None
            status = self.org_status[org_index]
            if status == "client":
                stage = rng.choices(stages, (1, 2, 2, 2, 6, 2))[0]
            elif status == "lost":
                stage = "lost"
            else:
                stage = rng.choices(stages, (3, 3, 2, 1, 0, 1))[0]
            amount = max(5_000, round(self.org_size[org_index] * rng.uniform(0.5, 3.0), -3))
            if stage in ("won", "lost"):
                close = self.today - dt.timedelta(days=rng.randrange(1, self.past_days))
            else:
                close = self.today + dt.timedelta(days=rng.randrange(7, 120))
            owner = self.org_owner[org_index]
            created = dt.datetime.combine(close, dt.time(10)) - dt.timedelta(
                days=rng.randrange(14, 90))
            created = min(created, self.now)
            title = rng.choice(DEAL_TITLES)
            lost_reason = rng.choice(LOST_REASONS) if stage == "lost" else ""
            rows.append((did, oid, contact, title, stage, f"{amount:.2f}", close, owner,
                         lost_reason, 1, _ts(created), _ts(created), owner, owner))
            self.docs.append(("deals", did, title,
                              _body((title, self.org_names[org_index], lost_reason))))
            if stage == "won":
                won.append((did, oid, amount, close))
        self.counts["deals"] = self.w.insert(m.Deal, (
            "id", "organization", "contact", "title", "stage", "amount", "expected_close",
            "owner", "lost_reason", "version", "created_at", "updated_at", "created_by",
            "updated_by"), rows)
        self.flush_docs()
        return won

    def payments(self, count: int, won: list[tuple[int, int, float, dt.date]]) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Payment)
        payers = self.clients or self.warm or self.others
        rows = []
        for i in range(count):
            pid = first_id + i
            if i < len(won):
                deal, oid, amount, day = won[i]
            elif payers:
                deal = None
                oid = rng.choice(payers)
                amount = max(1_000, round(self.org_size[oid - self.org_first]
                                          * rng.uniform(0.3, 1.7), -2))
                day = self.today - dt.timedelta(days=rng.randrange(0, self.past_days))
            else:
                break
            owner = self.org_owner[oid - self.org_first]
            stamp = _ts(dt.datetime.combine(day, dt.time(rng.randrange(9, 18))))
            rows.append((pid, day, f"{amount:.2f}", oid, deal,
                         f"Оплата по счёту № {rng.randrange(1, 9999)}" if rng.random() < 0.8
                         else f"Invoice {rng.randrange(1, 9999)}",
                         1, stamp, stamp, owner, owner))
        self.counts["payments"] = self.w.insert(m.Payment, (
            "id", "date", "amount", "organization", "deal", "description", "version",
            "created_at", "updated_at", "created_by", "updated_by"), rows)

    def services(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.ServiceRendered)
        payers = self.clients or self.warm
        rows = []
        for i in range(count):
            if not payers:
                break
            oid = rng.choice(payers)
            units = rng.choice((1, 1, 2, 3, 4, 8, 10, 16))
            amount = units * rng.choice((1500, 2500, 3000, 4500, 6000))
            day = self.today - dt.timedelta(days=rng.randrange(0, self.past_days))
            owner = self.org_owner[oid - self.org_first]
            stamp = _ts(dt.datetime.combine(day, dt.time(rng.randrange(9, 18))))
            rows.append((first_id + i, day, f"{amount:.2f}", f"{units:.3f}", oid,
                         rng.choice(SERVICE_NAMES), 1, stamp, stamp, owner, owner))
        self.counts["services"] = self.w.insert(m.ServiceRendered, (
            "id", "date", "amount", "units", "organization", "description", "version",
            "created_at", "updated_at", "created_by", "updated_by"), rows)

    # notes, links

    def notes(self, count: int) -> None:
        rng = self.rng
        first_id = self.w.next_id(m.Note)
        rows = []
        tag_links = []
        for i in range(count):
            org_index = self.pick_org()
            oid = self.org_first + org_index if org_index is not None else None
            author = self.org_owner[org_index] if org_index is not None else self.head
            stamp = _ts(self.when_past())
            title, body = rng.choice(NOTE_TITLES), rng.choice(NOTE_BODIES)
            rows.append((first_id + i, title, body, oid, 1, stamp, stamp, author, author))
            terms = [title, body]
            if rng.random() < 0.3:
                tag = rng.choice(self.tags)
                tag_links.append(("notes", first_id + i, tag))
                terms.append(self.tag_names[tag])
            self.docs.append(("notes", first_id + i, title, _body(terms)))
        self.counts["notes"] = self.w.insert(m.Note, (
            "id", "title", "body", "organization", "version", "created_at", "updated_at",
            "created_by", "updated_by"), rows)
        self._tags(tag_links)
        self.flush_docs()

    def links(self) -> None:
        first_id = self.w.next_id(m.Link)
        stamp = _ts(self.now - dt.timedelta(days=200))
        rows = [(first_id + i, url, title, description, login, 1, stamp, stamp, self.head,
                 self.head) for i, (url, title, description, login) in enumerate(LINKS)]
        self.docs.extend(("links", row[0], row[2] or row[1],
                          _body((row[2], row[1], row[3], row[4]))) for row in rows)
        self.counts["links"] = self.w.insert(m.Link, (
            "id", "url", "title", "description", "login", "version", "created_at",
            "updated_at", "created_by", "updated_by"), rows)
        self.flush_docs()

    # derived columns

    def contact_dates(self) -> None:
        """Last contact = the latest done event; next step = the earliest planned one."""
        for table, column, first in (("organization", "organization_id", self.org_first),
                                     ("contact", "contact_id", self.contact_first)):
            param = "%s" if self.w.pg else "?"
            self.db.execute_sql(
                f'UPDATE "{table}" SET '
                f'last_contact_at = (SELECT MAX(e.starts_at) FROM "event" e'
                f" WHERE e.{column} = \"{table}\".id AND e.status = 'done'"
                f" AND e.deleted_at IS NULL), "
                f'next_contact_at = (SELECT MIN(e.starts_at) FROM "event" e'
                f" WHERE e.{column} = \"{table}\".id AND e.status = 'planned'"
                f" AND e.deleted_at IS NULL)"
                f" WHERE id >= {param}", (first,))


def generate(orgs: int = 200, contacts: int = 400, events: int = 2000, seed: int = 1,
             payments: int | None = None, months: int = 12,
             today: dt.date | None = None, complete: bool = False) -> dict[str, int]:
    """Fill the bound database with demo data; return how many rows of each kind were added.

    Deterministic for a seed and `today`. Needs an open, migrated database (`open_database`).
    `complete`: every optional field of organizations and contacts filled (every contact
    works somewhere, has a birthday, an office phone with an extension, addresses, notes…),
    for round-trip tests of exports.
    """
    orgs, contacts, events = max(0, orgs), max(0, contacts), max(0, events)
    payments = orgs if payments is None else max(0, payments)
    demo = _Demo(_Random(seed), today or dt.date.today(), months, complete)
    db = demo.db
    with _foreign_keys_trusted(db), db.atomic(), _bulk_mode(db):
        demo.users()
        demo.lookups()
        demo.organizations(orgs)
        demo.contacts(contacts)
        demo.events(events)
        demo.tasks(max(5, orgs // 4) if orgs else 0)
        won = demo.deals(max(3, orgs // 2) if orgs else 0)
        demo.payments(payments if orgs else 0, won)
        demo.services(payments // 2 if orgs else 0)
        demo.notes(max(5, orgs // 20) if orgs else 0)
        demo.links()
        demo.contact_dates()
        demo.w.fix_sequences([m.Organization, m.Contact, m.ContactPoint, m.TagLink, m.Event,
                              m.Task, m.Deal, m.Payment, m.ServiceRendered, m.Note, m.Link])
    # Statistics for the query planner: without them a sorted page of 100k clients walks
    # the deleted_at index and sorts everything (20 ms a page, 0.4 s at offset 50 000).
    db.execute_sql("ANALYZE")
    return demo.counts


@contextlib.contextmanager
def _foreign_keys_trusted(db: Database) -> Iterator[None]:
    """SQLite checks every foreign key of every inserted row (a lookup per reference, about
    a fifth of the load time); the generator's ids are consistent by construction, so the
    checks are switched off around its transaction (the pragma is ignored inside one)."""
    if is_postgres(db) or db.in_transaction():
        yield
        return
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")


@contextlib.contextmanager
def _bulk_mode(db: Database) -> Iterator[None]:
    """SQLite tuned for one big load: a larger page cache, and FTS5 collecting documents in
    a large in-memory hash with merging deferred to one `optimize` at the end (about twice
    as fast as row-by-row merging). Settings go back to the defaults afterwards."""
    if is_postgres(db):
        yield
        return
    db.execute_sql("PRAGMA cache_size = -262144")
    _fts_config(db, automerge=0, hashsize=64 * 1024 * 1024)
    try:
        yield
        search_index.optimize()
    finally:
        _fts_config(db, automerge=4, hashsize=1024 * 1024)
        db.execute_sql(f"PRAGMA cache_size = {SQLITE_PRAGMAS['cache_size']}")


def _fts_config(db: Database, **options: int) -> None:
    for key, value in options.items():
        try:
            db.execute_sql("INSERT INTO search_doc(search_doc, rank) VALUES (?, ?)", (key, value))
        except OperationalError:  # an option this SQLite does not know: only slower
            pass
