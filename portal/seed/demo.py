"""The demo desk: a seeded, repeatable generator (no external corpus).

`seed_demo(tickets, seed)` fills an empty database with departments, teams, staff, customers and
`tickets` tickets with their conversations. Every ticket is written through the ticket service
(`create_ticket`, `update_ticket`, `add_thread`) with `now=` set to a moment in the last 60 days,
so the audit trail, outbox and timestamps look like a desk that has been running for two months.
The same seed gives the same desk (subjects, people, assignments, statuses); only the absolute
times move with the day it runs.

The texts live in `portal.seed.corpus`.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Optional

import click
from sqlalchemy import select, update

from ..extensions import db
from ..models import Account, Contact, ContactIdentity, Department, OutboxEvent, Skill, Team, Ticket, User, utcnow
from ..queue import PENDING_KEY
from ..services.accounts import create_user
from ..services.tickets import Actor, add_thread, create_ticket, update_ticket
from . import corpus as C
from . import seed_steps

DEMO_PASSWORD = "demo-pass-1"
DEMO_LOGINS: list[tuple[str, str]] = [(m.email, m.role) for m in C.STAFF]

HISTORY_DAYS = 60
CONTACTS = 80
BATCH = 50  # tickets per commit
RECENT_SHARE = 0.12  # of the tickets arrive in the last 36 hours

PRIORITIES = ("low", "normal", "high", "urgent")
# SLA targets in hours, by priority: (first response, resolution)
SLA_HOURS = {"low": (24, 120), "normal": (8, 72), "high": (4, 24), "urgent": (1, 8)}
# Final status weights by ticket age: older tickets are mostly done, recent ones still moving.
STATUS_BY_AGE = (
    (1, {"new": 45, "open": 35, "pending": 10, "on_hold": 4, "solved": 6}),
    (5, {"new": 10, "open": 30, "pending": 25, "on_hold": 10, "solved": 25}),
    (14, {"new": 1, "open": 8, "pending": 10, "on_hold": 7, "solved": 44, "closed": 30}),
    (None, {"open": 2, "pending": 1, "on_hold": 2, "solved": 20, "closed": 75}),
)
SLA_ACTOR = Actor(label="SLA policy")
ASSIGNMENT_ACTOR = Actor(label="assignment")
AUTO_CLOSE_ACTOR = Actor(label="auto-close")
CUSTOMER = Actor(label="customer")
API_ACTOR = Actor(label="api: web shop")


class DeskNotEmpty(click.ClickException):
    """seed_demo refuses a database that already has users (a ClickException: the CLI says it plainly)."""


def desk_is_empty() -> bool:
    """True while no user exists: the demo desk may be seeded."""
    return db.session.scalar(select(User.id).limit(1)) is None


def seed_demo(tickets: int = 300, seed: int = 42, *, run_subscribers: bool = False) -> None:
    """Create and commit the demo desk. Prints nothing (the CLI does).

    The demo's two months of history already happened: by default its outbox events are written
    as done (processed at the moment they describe) instead of being handed to the queue, so rules,
    assignment, SLA and notifications never replay weeks-old changes (nor mail the demo customers),
    and seeding doesn't fight a worker for SQLite's write lock. `run_subscribers=True` leaves them
    to the queue like any other change.
    """
    if not desk_is_empty():
        raise DeskNotEmpty("the desk already has users; the demo desk only goes into an empty database")
    _DemoDesk(random.Random(seed), utcnow().replace(microsecond=0), run_subscribers).build(tickets)


# ---------------------------------------------------------------------------------------------
@dataclass
class _Customer:
    contact: Contact
    name: str
    lang: str  # "zh" or "en": the language the customer writes in
    first: str
    email: str
    phone: Optional[str]
    wechat: Optional[str]
    company: Optional[str]
    vip: bool
    weight: int  # how often this customer writes in


def _lang(language: str) -> str:
    return "zh" if language.startswith("zh") else "en"


def _ascii(text: str) -> str:
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("'", "")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class _DemoDesk:
    def __init__(self, rng: random.Random, now: datetime, run_subscribers: bool = False):
        self.rng = rng
        self.now = now
        self.run_subscribers = run_subscribers
        self.depts: dict[str, Department] = {}
        self.teams: dict[str, Team] = {}
        self.users: dict[str, User] = {}  # by StaffMember.local
        self.staff_by_dept: dict[str, list[C.StaffMember]] = {}
        self.customers: list[_Customer] = []

    def build(self, tickets: int) -> None:
        self._organisation()
        self._customers()
        db.session.commit()
        self._tickets(tickets)
        self._custom_fields()
        self._commit()
        # Demo configuration of the feature packages (rules, macros...), added after the history
        # so that none of it claims to have acted on the past.
        for step in seed_steps():
            step()
        db.session.commit()

    def _custom_fields(self) -> None:
        """Fields, layouts and the tickets' values: part of the history (portal/seed/fields.py)."""
        from .fields import seed_fields
        tickets = list(db.session.scalars(select(Ticket).order_by(Ticket.id)))
        seed_fields(self.depts, random.Random(self.rng.random()), tickets)

    def _commit(self) -> None:
        # The services note each outbox id in session.info[PENDING_KEY] for the queue's after_commit
        # hook; taking them out here (and marking the rows done) is how history skips the queue.
        if not self.run_subscribers:
            ids = db.session.info.pop(PENDING_KEY, None)
            if ids:
                db.session.execute(
                    update(OutboxEvent).where(OutboxEvent.id.in_(ids))
                    .values(status="done", processed_at=OutboxEvent.created_at),
                    execution_options={"synchronize_session": False})
        db.session.commit()

    # -- organisation ----------------------------------------------------------------------
    def _organisation(self) -> None:
        since = self.now - timedelta(days=HISTORY_DAYS + 150)
        skills = {name: Skill(name=name) for name in C.SKILLS}
        db.session.add_all(skills.values())
        for key, (name, name_zh, local) in C.DEPARTMENTS.items():
            self.depts[key] = Department(name=name, name_zh=name_zh, email=f"{local}@{C.DEMO_DOMAIN}",
                                         created_at=since)
        for key, (dept, name, name_zh) in C.TEAMS.items():
            self.teams[key] = Team(name=name, name_zh=name_zh, department=self.depts[dept], created_at=since)
        db.session.add_all([*self.depts.values(), *self.teams.values()])
        password_hash = None
        for i, member in enumerate(C.STAFF):
            attrs = dict(role=member.role, language=member.language, timezone=member.timezone,
                         capacity=member.capacity, shift_start=time(member.shift[0]),
                         shift_end=time(member.shift[1]), shift_days=member.shift[2],
                         availability=member.availability, created_at=since + timedelta(days=i))
            departments = [self.depts[k] for k in member.departments]
            if password_hash is None:
                # argon2 is slow on purpose: hash once through the service, reuse it for everyone.
                user = create_user(email=member.email, password=DEMO_PASSWORD, name=member.name,
                                   departments=departments, **attrs)
                password_hash = user.password_hash
            else:
                user = User(email=member.email, name=member.name, password_hash=password_hash, **attrs)
                user.departments = departments
                db.session.add(user)
            user.teams = [self.teams[k] for k in member.teams]
            user.skills = [skills[s] for s in member.skills]
            self.users[member.local] = user
            for dept in member.departments:
                self.staff_by_dept.setdefault(dept, []).append(member)
        db.session.flush()

    # -- customers ---------------------------------------------------------------------------
    def _customers(self) -> None:
        rng = self.rng
        accounts = []
        for name, domain, language, tier in C.ACCOUNTS:
            account = Account(name=name, tier=tier,
                              created_at=self.now - timedelta(days=rng.uniform(HISTORY_DAYS + 60, 400)))
            db.session.add(account)
            accounts.append((account, domain, language))
        taken_names = {m.name for m in C.STAFF}
        taken = {"email": set(), "phone": set(), "wechat": set()}
        for i in range(CONTACTS):
            account, domain, account_lang = rng.choice(accounts) if rng.random() < 0.4 else (None, None, None)
            if account is not None:
                chinese_name = (account_lang == "zh_Hans") == (rng.random() < 0.85)
            else:
                chinese_name = rng.random() < 0.55
            while True:
                if chinese_name:
                    (surname, s_py), (given, g_py) = rng.choice(C.ZH_SURNAMES), rng.choice(C.ZH_GIVEN)
                    name, first, local = surname + given, surname + given, rng.choice(
                        (f"{s_py}.{g_py}", f"{g_py}{s_py}", f"{s_py}{g_py}"))
                else:
                    first, last = rng.choice(C.EN_FIRST), rng.choice(C.EN_LAST)
                    name, local = f"{first} {last}", _ascii(f"{first}.{last}")
                if name not in taken_names:
                    break
            taken_names.add(name)
            language = "zh_Hans" if chinese_name and rng.random() < 0.9 else "en"
            if language == "zh_Hans":
                tz = rng.choice(C.ZH_TIMEZONES)
            elif chinese_name:  # a Chinese name writing in English: overseas
                tz = rng.choice(("America/Los_Angeles", "America/Vancouver", "Australia/Sydney", "Europe/London"))
            else:
                tz = rng.choice(C.EN_TIMEZONES)
            host = domain or rng.choice(C.CONSUMER_DOMAINS)
            email = self._unique(taken["email"], f"{local}@{host}", lambda n: f"{local}{n}@{host}")
            contact = Contact(name=name, account=account, language=language, timezone=tz,
                              created_at=self.now - timedelta(days=rng.uniform(HISTORY_DAYS, HISTORY_DAYS + 300)))
            identities = [ContactIdentity(kind="email", value=email)]
            phone = wechat = None
            if rng.random() < 0.45:
                if language == "zh_Hans":
                    raw = (f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} "
                           f"{rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}")
                elif tz.startswith("Europe/"):
                    raw = f"+44 7700 900{rng.randint(0, 999):03d}"  # Ofcom's drama range
                else:
                    raw = f"+1 202 555 01{rng.randint(0, 99):02d}"  # the fictional 555-01xx range
                phone = self._unique(taken["phone"], raw, lambda n: f"{raw}{n}")
                identities.append(ContactIdentity(kind="phone", value=phone))
            if language == "zh_Hans" and rng.random() < 0.5:
                wechat = self._unique(taken["wechat"], "wxid_" + "".join(
                    rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(12)), lambda n: f"wxid_{local}{n}")
                identities.append(ContactIdentity(kind="wechat", value=wechat))
            contact.identities = identities
            db.session.add(contact)
            account_tier = account.tier if account is not None else "standard"
            self.customers.append(_Customer(
                contact=contact, name=name, lang=_lang(language), first=first if chinese_name else name.split()[0],
                email=email, phone=phone, wechat=wechat, company=account.name if account is not None else None,
                vip=account_tier == "vip", weight=rng.choice((1, 1, 1, 2, 2, 3, 6))))
        # A few customers are VIP on their own; one person at a VIP account is explicitly not.
        standard = [c for c in self.customers if not c.vip]
        for customer in rng.sample(standard, 5):
            customer.contact.tier = "vip"
            customer.vip = True
        at_vip_account = [c for c in self.customers if c.vip and c.contact.tier is None]
        if at_vip_account:
            demoted = rng.choice(at_vip_account)
            demoted.contact.tier = "standard"
            demoted.vip = False
        db.session.flush()

    @staticmethod
    def _unique(taken: set, value: str, variant) -> str:
        n = 2
        while value in taken:
            value = variant(n)
            n += 1
        taken.add(value)
        return value

    # -- tickets -----------------------------------------------------------------------------
    def _tickets(self, count: int) -> None:
        rng = self.rng
        # Spread over the last HISTORY_DAYS, denser towards today, plus a fresh intake of the last day
        # and a half (the queue has new work to show); ticket numbers follow time.
        ages = sorted((rng.uniform(0.01, 1.5) if rng.random() < RECENT_SHARE else HISTORY_DAYS * rng.random() ** 1.25
                       for _ in range(count)), reverse=True)
        weights = [c.weight for c in self.customers]
        topic_weights = [t.weight for t in C.TOPICS]
        for i, age in enumerate(ages):
            created = (self.now - timedelta(days=age)).replace(microsecond=0)
            customer = rng.choices(self.customers, weights)[0]
            topic = rng.choices(C.TOPICS, topic_weights)[0]
            self._run(created, self._script(created, customer, topic))
            if (i + 1) % BATCH == 0:
                self._commit()

    def _status_for(self, created: datetime) -> str:
        age_days = (self.now - created).total_seconds() / 86400
        for limit, weights in STATUS_BY_AGE:
            if limit is None or age_days < limit:
                return self.rng.choices(list(weights), list(weights.values()))[0]
        raise AssertionError("unreachable")

    def _pick_agent(self, dept: str, lang: str, team: Optional[str] = None,
                    skill: Optional[str] = None) -> C.StaffMember:
        """Skills-based choice among the department's staff (language, team, topic skill)."""
        candidates = self.staff_by_dept[dept]
        weights = []
        for m in candidates:
            w = 1.0
            w += 2 if team and team in m.teams else 0
            w += 2 if ("chinese" if lang == "zh" else "english") in m.skills else 0
            w += 1 if skill and skill in m.skills else 0
            w *= 0.5 if m.role == "supervisor" else 1
            w *= 0.3 if m.availability == "offline" else 1
            weights.append(w)
        return self.rng.choices(candidates, weights)[0]

    def _supervisor(self, dept: str) -> C.StaffMember:
        sups = [m for m in self.staff_by_dept[dept] if m.role == "supervisor"]
        return self.rng.choice(sups or self.staff_by_dept[dept])

    def _context(self, topic: C.Topic, customer: _Customer, created: datetime) -> dict[str, Any]:
        rng, zh = self.rng, customer.lang == "zh"
        _kind, name_zh, name_en, price = C.PRODUCTS[rng.choice(topic.products)]
        if topic.key == "price_drop":
            price = max(20, round(price * rng.choice((0.1, 0.15, 0.2)), -1))
        if zh:
            amount = f"¥{price:,}.00"
        elif customer.contact.timezone.startswith("Europe/"):
            amount = f"€{int(price / 7.8) // 10 * 10 + 9}.00"
        else:
            amount = f"${int(price / 7.2) // 10 * 10 + 9}.00"
        year = created.year
        return {
            "order": f"DW{rng.randint(10_000_000, 99_999_999)}",
            "product": name_zh if zh else name_en,
            "amount": amount,
            "invoice": f"INV-{year}-{rng.randint(10000, 99999)}",
            "invoice2": f"INV-{year}-{rng.randint(10000, 99999)}",
            "company": customer.company or customer.name,
            "days": rng.randint(2, 14),
            "serial": f"NX{rng.randint(10**9, 10**10 - 1)}",
            "rma": f"RMA-{rng.randint(100000, 999999)}",
            "tracking": f"SF{rng.randint(10**11, 10**12 - 1)}" if zh else f"1Z{rng.randint(10**11, 10**12 - 1)}",
            "claim": f"CL-{rng.randint(10000, 99999)}",
            "last4": f"{rng.randint(0, 9999):04d}",
            "paid_on": (created - timedelta(days=rng.randint(1, 5))).date().isoformat(),
            "until": (created + timedelta(days=rng.randint(5, 28))).date().isoformat(),
            "ref": f"RF{rng.randint(10**8, 10**9 - 1)}",
            "os": rng.choice(("NovaOS 14.2", "NovaOS 15.0", "NovaOS 15.1")),
            "version": rng.choice(("5.8.1", "5.9.0", "6.0.2")),
            "bug": rng.randint(1000, 9999),
            "error": rng.choice(("E-05", "E-51", "D-14")),
        }

    def _channel(self, customer: _Customer) -> str:
        options = {"email": 40 if customer.lang == "en" else 30, "portal": 25,
                   "phone": 14 if customer.phone else 4, "api": 8,
                   "wechat": 28 if customer.wechat else 0}
        return self.rng.choices(list(options), list(options.values()))[0]

    @staticmethod
    def _sender(customer: _Customer, channel: str) -> Optional[str]:
        return {"email": customer.email, "phone": customer.phone, "wechat": customer.wechat}.get(channel)

    def _reply(self, text: str, agent: C.StaffMember, dept: str, customer: _Customer) -> str:
        lang = customer.lang
        name, name_zh, _ = C.DEPARTMENTS[dept]
        return (C.GREETING[lang].format(name=customer.name, first=customer.first) + text
                + C.SIGNATURE[lang].format(agent=agent.name, department=name_zh if lang == "zh" else name))

    def _script(self, created: datetime, customer: _Customer, topic: C.Topic) -> list[tuple[float, tuple]]:
        """The ticket's life as (minutes after the previous step, operation); every choice made here."""
        rng, lang = self.rng, customer.lang
        texts = topic.zh if lang == "zh" else topic.en
        ctx = self._context(topic, customer, created)
        dept = topic.department
        status = self._status_for(created)
        channel = self._channel(customer)
        sender = self._sender(customer, channel)
        priority = rng.choices(PRIORITIES, topic.priority)[0]
        if customer.vip and rng.random() < 0.35:
            priority = PRIORITIES[min(PRIORITIES.index(priority) + 1, 3)]
        tags = list(topic.tags[:rng.randint(1, len(topic.tags))])
        if customer.vip:
            tags.append("vip")

        assigned = rng.random() < (0.85 if status != "new" else 0.25)
        team = topic.team if rng.random() < (0.8 if assigned else 0.35) else None
        agent = self._pick_agent(dept, lang, topic.team, topic.skill) if assigned else None
        responder = agent or self._pick_agent(dept, lang, topic.team, topic.skill)
        body = rng.choice(texts.bodies).format_map(ctx)

        ops: list[tuple[float, tuple]] = []
        create = dict(subject=rng.choice(texts.subjects).format_map(ctx), department=self.depts[dept],
                      contact=customer.contact, priority=priority, channel=channel, tags=tags, sender=sender)
        if channel == "phone":  # an agent takes the call and types it in, assigning it to themselves
            taker = agent or responder
            create.update(body=C.PHONE_PREFIX[lang] + body, by=self.users[taker.local],
                          assignee=self.users[agent.local] if agent else None,
                          team=self.teams[team] if team else None)
        else:
            create.update(body=body, by=API_ACTOR if channel == "api" else CUSTOMER)
        ops.append((0, ("create", create)))
        first_h, resolve_h = SLA_HOURS[priority]
        ops.append((0, ("update", {"first_response_due_at": created + timedelta(hours=first_h),
                                   "resolution_due_at": created + timedelta(hours=resolve_h)}, SLA_ACTOR, None)))
        if channel != "phone" and (agent or team):
            changes = {"team": self.teams[team] if team else None}
            if agent:
                changes["assignee"] = self.users[agent.local]
            by = ASSIGNMENT_ACTOR if rng.random() < 0.6 else self.users[self._supervisor(dept).local]
            ops.append((rng.uniform(2, 45), ("update", changes, by, None)))

        def customer_says(text: str, minutes: float, status: Optional[str] = None) -> None:
            ops.append((minutes, ("thread", dict(kind="customer", body=text, by=CUSTOMER, sender=sender,
                                                 status=status))))

        def agent_says(text: str, minutes: float, status: Optional[str] = None, who=None) -> None:
            who = who or responder
            ops.append((minutes, ("thread", dict(kind="reply", body=self._reply(text, who, dept, customer),
                                                 by=self.users[who.local], status=status))))

        def note(text: str, minutes: float, who=None) -> None:
            ops.append((minutes, ("thread", dict(kind="note", body=text, by=self.users[(who or responder).local]))))

        def note_text(pool: dict) -> str:  # in the responder's own language
            value = pool[_lang(responder.language)]
            return rng.choice(value) if isinstance(value, tuple) else value

        def customer_gap() -> float:
            return rng.uniform(30, 2880)

        first_reply = rng.uniform(10, 120) if customer.vip else rng.uniform(20, 600)
        nudged = False

        if status == "new":
            if rng.random() < 0.3:
                note(self._note(topic, responder, ctx), rng.uniform(5, 120))
            if rng.random() < 0.4:
                customer_says(rng.choice(C.NUDGE[lang]), rng.uniform(600, 2880))
                nudged = True
        elif status in ("open", "pending"):
            if status == "open" and rng.random() < 0.5:
                agent_says(rng.choice(C.ACK[lang]), first_reply)
                if rng.random() < 0.5:
                    customer_says(rng.choice(C.NUDGE[lang]), customer_gap())
                    nudged = True
            else:
                if rng.random() < 0.3:
                    agent_says(rng.choice(C.ACK[lang]), first_reply)
                    first_reply = rng.uniform(30, 600)
                agent_says(texts.ask.format_map(ctx), first_reply, status="pending")
                if status == "open":
                    customer_says(texts.info.format_map(ctx), customer_gap())  # back to open
            if rng.random() < 0.4:
                note(self._note(topic, responder, ctx), rng.uniform(10, 300))
        elif status == "on_hold":
            agent_says(rng.choice(C.ACK[lang]), first_reply)
            note(note_text(C.HOLD_NOTES), rng.uniform(10, 240))
            party = rng.randrange(len(C.HOLD_PARTIES["en"]))
            agent_says(C.HOLD_REPLY[lang].format(party=C.HOLD_PARTIES[lang][party]), rng.uniform(5, 60),
                       status="on_hold")
        else:  # solved / closed
            fixer, fix_dept, fix_text = responder, dept, texts.fix
            if rng.random() < 0.65:
                agent_says(texts.ask.format_map(ctx), first_reply, status="pending")
                customer_says(texts.info.format_map(ctx), customer_gap())
                first_reply = rng.uniform(20, 1440)
            if rng.random() < 0.35:
                note(self._note(topic, responder, ctx), rng.uniform(5, 120))
            if topic.transfer_to and rng.random() < 0.4:
                # Tech support rules out software and hands the phone to Returns (换货组).
                fix_dept = topic.transfer_to
                fixer = self._pick_agent(fix_dept, lang, "replacements", "hardware")
                note(note_text(C.TRANSFER_NOTES), rng.uniform(5, 60))
                ops.append((rng.uniform(1, 30), ("update", {
                    "department": self.depts[fix_dept], "team": self.teams["replacements"],
                    "assignee": self.users[fixer.local]}, self.users[responder.local], "hardware fault")))
                replacement = next(t for t in C.TOPICS if t.key == "overheating_replacement")
                fix_text = (replacement.zh if lang == "zh" else replacement.en).fix
            ops.append((first_reply, ("thread", dict(
                kind="reply", body=self._reply(fix_text.format_map(ctx), fixer, fix_dept, customer),
                by=self.users[fixer.local], status="solved"))))
            if rng.random() < 0.5:
                customer_says(rng.choice(C.THANKS[lang]), rng.uniform(20, 1440), status="solved")
            if status == "closed":
                ops.append((rng.uniform(3 * 1440, 5 * 1440), ("update", {"status": "closed"}, AUTO_CLOSE_ACTOR,
                                                               "solved 3+ days ago")))
        # A chased or VIP ticket gets escalated by the department's supervisor.
        if status not in ("solved", "closed") and priority in ("low", "normal") and (
                (nudged and rng.random() < 0.4) or (customer.vip and rng.random() < 0.3)):
            sup = self._supervisor(dept)
            ops.append((rng.uniform(10, 240), ("update", {"priority": "high", "tags": tags + ["escalated"]},
                                               self.users[sup.local], "customer chasing" if nudged else "VIP")))
            note(C.ESCALATION_NOTES[_lang(sup.language)][1 if nudged else 0], rng.uniform(1, 10), who=sup)
        return ops

    @staticmethod
    def _note(topic: C.Topic, who: C.StaffMember, ctx: dict) -> str:
        """Agents write internal notes in their own language, whatever the customer's."""
        return (topic.zh if _lang(who.language) == "zh" else topic.en).note.format_map(ctx)

    def _run(self, created: datetime, ops: list[tuple[float, tuple]]) -> None:
        """Squeeze the script into the time between `created` and now, then play it through the service."""
        room = max(0.0, (self.now - created).total_seconds() / 60 - 1)
        total = sum(minutes for minutes, _ in ops)
        scale = min(1.0, room / total) if total > 0 else 1.0
        at, elapsed, ticket = created, 0.0, None
        for minutes, op in ops:
            elapsed += max(0.0, minutes * scale)
            at = created + timedelta(seconds=int(elapsed * 60))
            if op[0] == "create":
                ticket = create_ticket(**op[1], now=at)
            elif op[0] == "update":
                _, changes, by, reason = op
                update_ticket(ticket, changes, by=by, reason=reason, now=at)
            else:
                add_thread(ticket, **op[1], now=at, send_email=False)  # history: nobody is emailed

