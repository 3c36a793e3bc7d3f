"""The demo's clients: organizations (names, INNs, sites, phones, tags) and their contacts."""

from __future__ import annotations

import datetime as dt

from tui_crm.db import models as m
from tui_crm.services.core import lookups
from tui_crm.services.core.search_docs import point_terms
from tui_crm.services.ops.demo_base import DemoBase
from tui_crm.services.ops.demo_words import (
    EN_FEMALE,
    EN_FIRST,
    EN_FORMS,
    EN_INDUSTRIES,
    EN_MALE,
    EN_ROLES,
    EN_SECOND,
    EN_SURNAMES,
    HOBBIES,
    MAIL_DOMAINS,
    ORG_NOTES,
    RESULT_NOTES,
    RU_ADJECTIVES,
    RU_BRANDS,
    RU_INDUSTRIES,
    RU_NOUNS,
    RU_ROLES,
    RU_SUFFIXES,
    STREETS,
    TLDS,
    adjective_form,
    female_surname,
    latin_slug,
    ru_extension,
    ru_mobile,
    ru_phone,
    search_body,
    sql_time,
)
from tui_crm.text.identity import email_key, make_inn10, make_inn12, messenger_key


class ClientsDemo(DemoBase):
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
                surname = female_surname(surname)
            short = f"ИП {surname}" if rng.random() < 0.5 else f"ИП {surname} {first[0]}. {pat[0]}."
            return short, f"Индивидуальный предприниматель {surname} {first} {pat}", True
        if roll < 0.5:
            noun, gender = rng.choice(RU_NOUNS)
            adjective = adjective_form(rng.choice(RU_ADJECTIVES), gender)
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
        base = latin_slug(brand.split("(")[0]) or "company"
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
            status, category, cadence, size = self._standing(oid)
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
            group = self._group(oid, category, city)
            if self.complete and cadence is None:
                cadence = 30
            created = self.now - dt.timedelta(days=rng.randrange(30, 1100),
                                              minutes=rng.randrange(180))
            source = rng.choice(self.sources)
            # phones, e-mail and tags
            primary_phone, primary_email, terms, point_id = self._org_points(
                oid, point_id, rng.choice(codes), domain, sole, name, points, tag_links)
            notes = rng.choice(ORG_NOTES) if rng.random() < 0.3 or self.complete else ""
            if self.complete and not notes:
                notes = ORG_NOTES[0]
            rows.append((
                oid, name, legal, inn, industry, city, address, website, notes, group, owner,
                status, category, source, cadence, rng.random() < 0.03, primary_phone,
                primary_email, 1, sql_time(created),
                sql_time(created + dt.timedelta(days=rng.randrange(0, 30))), owner, owner,
            ))
            self.docs.append(("organizations", oid, name, search_body(
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
        self.add_points(points)
        self.add_tags(tag_links)

    def _standing(self, oid: int) -> tuple[str, str, int | None, float]:
        """(status, category, cadence in days, yearly size) of a new client; noted in the
        lists the later steps pick clients from."""
        rng = self.rng
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
        return status, category, cadence, size

    def _group(self, oid: int, category: str, city: str) -> int | None:
        """VIPs in the first group, regions in the others."""
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
        return group

    def _org_points(self, oid: int, point_id: int, code: str, domain: str, sole: bool,
                    name: str, points: list[tuple], tag_links: list[tuple]
                    ) -> tuple[str, str, list[str], int]:
        """An organization's phones, e-mail and tags (into `points` and `tag_links`):
        (primary phone, primary e-mail, search terms, the next point id)."""
        rng = self.rng
        primary_email = ""
        e164, shown = ru_phone(code, rng.randrange(1_000_000, 10_000_000))
        points.append((point_id, oid, None, "phone", "work", shown, e164, True, 0))
        point_id += 1
        primary_phone = shown
        terms = point_terms("phone", shown, e164)
        if rng.random() < 0.35 or self.complete:
            e164, shown = ru_mobile(rng)
            points.append((point_id, oid, None, "phone", "mobile", shown, e164, True, 1))
            point_id += 1
            terms.extend(point_terms("phone", shown, e164))
        if rng.random() < 0.05 or self.complete:
            e164, shown = ru_phone(code, rng.randrange(1_000_000, 10_000_000))
            points.append((point_id, oid, None, "phone", "fax", shown, e164, True, 2))
            point_id += 1
            terms.extend(point_terms("phone", shown, e164))
        email = ""
        if domain and (rng.random() < 0.85 or self.complete):
            email = f"{rng.choice(('info', 'office', 'sales', 'zakaz', 'mail'))}@{domain}"
        elif sole:
            email = f"{latin_slug(name.split()[1])}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}"
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
        return primary_phone, primary_email, terms, point_id

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
                surname = female_surname(surname)
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
        taken: set[tuple[str, str, str, int | None]] = set()
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
            primary_phone, primary_email, terms, point_id = self._person_points(
                cid, point_id, oid, org_index, first, last, points, tag_links)
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
                sql_time(created), sql_time(created), owner, owner, registration, residence, notes,
                cadence, group,
            ))
            full_name = lookups.contact_name(last, first, middle)
            org_name = self.org_names[org_index] if org_index is not None else ""
            self.docs.append(("contacts", cid, full_name, search_body(
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
        self.add_points(points)
        self.add_tags(tag_links)

    def _person_points(self, cid: int, point_id: int, oid: int | None,
                       org_index: int | None, first: str, last: str, points: list[tuple],
                       tag_links: list[tuple]) -> tuple[str, str, list[str], int]:
        """A person's phones, e-mail, messengers and tags (into `points` and `tag_links`):
        (primary phone, primary e-mail, search terms, the next point id)."""
        rng = self.rng
        e164, shown = ru_mobile(rng)
        mobile = e164
        points.append((point_id, None, cid, "phone", "mobile", shown, e164, True, 0))
        point_id += 1
        primary_phone, primary_email = shown, ""
        terms = point_terms("phone", shown, e164)
        if oid is not None and (rng.random() < 0.3 or self.complete):
            code = rng.choice(self.cities)[3][0]
            e164, shown = ru_phone(code, rng.randrange(1_000_000, 10_000_000))
            if self.complete:  # an office phone with the person's extension
                e164, shown = ru_extension(e164, rng.randrange(1, 1000))
            points.append((point_id, None, cid, "phone", "work", shown, e164, True, 1))
            point_id += 1
            terms.extend(point_terms("phone", shown, e164))
        if rng.random() < 0.8 or self.complete:
            local = f"{latin_slug(first)[:1]}.{latin_slug(last)}"
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
            handle = f"@{latin_slug(last).replace('-', '_')}_{rng.randrange(10, 99)}"
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
        return primary_phone, primary_email, terms, point_id

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

