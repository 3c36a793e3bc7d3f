"""What the demo data is made of: word lists (Russian and English names, companies,
positions, cities, notes) and the small helpers that turn them into names, phones, titles and
search text, with a fast deterministic random generator.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from tui_crm.services.core.translit import slug
from tui_crm.text.names import normalize_text
from tui_crm.text.phones import format_phone, parse_phone

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

T = TypeVar("T")

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
TODAY_EVENTS = 12  # calls and meetings planned for today, per manager
OVERDUE_EVENTS = 4  # planned in the last days and not logged, per manager
OVERDUE_DAYS = 7
TASKS_DUE = 3  # open tasks due by today, per manager
STALLED_EVERY = 3  # every third warm client has no next step (Follow-ups flags them)

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


def adjective_form(masculine: str, gender: str) -> str:
    if gender == "m":
        return masculine
    stem, end = masculine[:-2], masculine[-2:]
    if end == "ий" and stem[-1] not in "кгхжшчщ":
        return stem + ("яя" if gender == "f" else "ее")
    return stem + ("ая" if gender == "f" else "ое")


def female_surname(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith("ой"):
        return surname[:-2] + "ая"
    return surname


def weighted_list(weighted: Iterable[tuple]) -> list:
    """A list where each item appears `weight` times (for fast uniform picks)."""
    out = []
    for item in weighted:
        out.extend([item] * item[1])
    return out


@functools.lru_cache(maxsize=8192)
def latin_slug(text: str) -> str:
    return slug(text).replace("_", "-").removeprefix("f-")


def ru_mobile(rng: DemoRandom) -> tuple[str, str]:
    """(E.164, shown) of a random Russian mobile number."""
    code = rng.randrange(900, 1000)
    if code == 930:
        code = 931
    n = rng.randrange(10_000_000)
    return ru_phone(str(code), n)


def ru_phone(code: str, n: int) -> tuple[str, str]:
    e164 = f"+7{code}{n:07d}"
    return e164, format_phone(e164)


def ru_extension(e164: str, extension: int) -> tuple[str, str]:
    """(normalized, shown) of an office number with an extension, as the phone rule stores
    it ("+74951112233;ext=12", "+7 495 111-22-33 доб. 12")."""
    phone = parse_phone(f"{e164} доб. {extension}")
    return phone.normalized, phone.shown


def sql_time(value: dt.datetime) -> str:
    return str(value)  # every generated time is whole minutes: "YYYY-MM-DD HH:MM:SS"


def search_body(parts: Iterable[str]) -> str:
    """The search text of a record, exactly as `search.document` builds it."""
    return normalize_text(" ".join(p for p in parts if p))


def event_title(event_id: int, head: str, who: str) -> str:
    """An event's title as `search.title_of` makes it."""
    return f"{head}: {who}" if who and head else (head or who or f"#{event_id}")


class DemoRandom(random.Random):
    """`choice` and `randrange` without the rejection sampling of the standard ones: about
    three times faster, deterministic all the same, and uniform enough for demo data."""

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))

