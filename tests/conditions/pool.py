"""A fixed pool of tickets for the condition tests, made through the ticket service.

`crafted`: named tickets with the values the operator table (test_operators.py) expects answers for;
every other ticket has neutral values there. `filler`: seeded random tickets (mixed case and width,
Chinese, junk custom-field values, missing contacts...) for the property tests.

The custom fields are defined (the ticket service checks every value it is given); values the service
refuses - wrong JSON types, blanks, values another department offers - are written to the column as
they are (`raw_custom_fields`), as rows from before a field changed or from a direct import would
hold them: conditions must still answer for those tickets.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from factories import make_account, make_agent, make_contact, make_department, make_field, make_team, make_ticket
from portal.conditions import Catalogue, CustomFieldSpec, snapshot
from portal.extensions import db
from portal.models import ContactIdentity, Ticket
from portal.services.tickets import add_thread

# A Friday, 11:00 in Shanghai
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


@dataclass
class Pool:
    ids: dict[str, int]              # crafted ticket name -> id
    depts: dict[str, int]
    teams: dict[str, int]
    agents: dict[str, int]
    contacts: dict[str, int]
    catalogue: Catalogue
    me: int
    tickets: list[Ticket] = field(default_factory=list)
    snapshots: list[dict] = field(default_factory=list)

    @property
    def crafted_ids(self) -> set[int]:
        return set(self.ids.values())

    def names(self, ids) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id.get(i, f"#{i}") for i in ids}


def custom_fields(d1: int, d2: int) -> list[CustomFieldSpec]:
    return [
        CustomFieldSpec("size", "picklist", "Size", choices_by_department={d1: ["S", "M", "L"], d2: ["M", "XL"]}),
        CustomFieldSpec("order_total", "number", "Order total"),
        CustomFieldSpec("warranty", "bool", "Warranty"),
        CustomFieldSpec("colors", "multiselect", "Colours", choices_by_department={d1: ["red", "green", "blue"]}),
        CustomFieldSpec("note", "text", "Note"),
        CustomFieldSpec("ship_date", "date", "Ship date"),
        CustomFieldSpec("seen_at", "datetime", "Seen at"),
    ]


def build_pool() -> Pool:
    d1, d2 = make_department(name="Support"), make_department(name="Billing")
    make_department(name="Empty")
    _define_fields(d1, d2)
    t1, t2 = make_team(department=d1, name="Tier 1"), make_team(department=d2, name="Invoices")
    a1 = make_agent(departments=[d1], name="Agent One")
    a2 = make_agent(departments=[d2], name="Agent Two")
    acme = make_account(name="Acme Ltd")
    xinghe = make_account(name="星河科技", tier="vip")
    bigcorp = make_account(name="BigCorp", tier="vip")
    contacts = {
        "vip": make_contact(name="Alice Wong", email="Alice@Example.com", tier="vip", account=acme),
        "account_vip": make_contact(name="王伟", email="wang@qq.com", account=xinghe, language="zh_Hans"),
        "plain": make_contact(name="Bob Stone", email="bob@example.com"),
        "own_standard": make_contact(name="Carol", email="carol@bigcorp.example", tier="standard", account=bigcorp),
        "blank_tier": make_contact(name="Ｄａｎ", email="dan@bigcorp.example", tier="", account=bigcorp),
    }
    # a second e-mail address: contact.email is the first one
    contacts["vip"].identities.append(ContactIdentity(kind="email", value="alice2@other.org"))
    db.session.flush()

    ids = {}

    def ticket(name, *, created, replies=(), raw_custom_fields=None, **kw):
        kw.setdefault("subject", "Neutral subject")
        kw.setdefault("body", "Nothing to see")
        kw.setdefault("department", d1)
        made = make_ticket(now=NOW - created, **kw)
        for kind, body, ago in replies:
            add_thread(made, kind=kind, body=body, by="customer" if kind == "customer" else a1, now=NOW - ago)
        if raw_custom_fields is not None:
            made.custom_fields = {**made.custom_fields, **raw_custom_fields}
        ids[name] = made.id
        return made

    ticket("refund_ascii", subject="Refund for order SO12345678", body="I want my money back.", status="new",
           channel="email", contact=contacts["plain"], created=2 * H, tags=["refund", "billing"],
           custom_fields={"size": "M", "order_total": 120.5, "warranty": True, "colors": ["red", "blue"],
                          "note": "Gift Wrap", "ship_date": "2026-11-18", "seen_at": "2026-11-19T08:00:00+00:00"})
    ticket("refund_fullwidth", subject="ＲＥＦＵＮＤ　ｎｏｗ！", body="请尽快处理。", status="open", priority="high",
           channel="wechat", contact=contacts["account_vip"], team=t1, assignee=a1, created=30 * H,
           resolution_due_at=NOW - H, tags=["vip"],
           custom_fields={"size": "L", "order_total": 2000, "warranty": False, "colors": ["green"]})
    ticket("refund_chinese", subject="退款申请", body="我要退款，订单号SO87654321。", department=d2, status="pending",
           priority="urgent", channel="portal", contact=contacts["vip"], team=t2, assignee=a2, created=100 * H,
           resolution_due_at=NOW + 5 * H, replies=[("reply", "We are on it", 90 * H),
                                                  ("customer", "还没有收到 REFUND", 20 * H)],
           raw_custom_fields={"order_total": "12", "warranty": 1, "colors": "red", "size": 5})
    ticket("invoice", subject="Invoice request", body="Please send the VAT invoice", department=d2, status="solved",
           priority="low", channel="api", created=timedelta(minutes=10), custom_fields={})
    ticket("old_closed", subject="Hello", body="Hi", status="closed", channel="phone", contact=contacts["own_standard"],
           created=500 * H, replies=[("note", "internal only", 400 * H)],
           raw_custom_fields={"note": "", "colors": [], "size": ""})
    ticket("login", subject="Login problem", body="Cannot log in. Error 500 since Tuesday.", status="on_hold",
           channel="portal", contact=contacts["blank_tier"], created=50 * H, first_response_due_at=NOW + H,
           tags=["login", "bug"], replies=[("customer", "Still broken!", 3 * H)],
           custom_fields={"order_total": 0, "ship_date": "2026-12-01", "seen_at": "2026-11-20T02:30:00+00:00"})
    crafted = dict(ids)
    _filler(random.Random(3), d1, d2, t1, t2, a1, a2, list(contacts.values()), ticket)
    db.session.flush()

    catalogue = Catalogue(custom=custom_fields(d1.id, d2.id))
    tickets = list(db.session.scalars(db.select(Ticket).order_by(Ticket.id)))
    pool = Pool(ids=crafted, depts={"d1": d1.id, "d2": d2.id}, teams={"t1": t1.id, "t2": t2.id},
                agents={"a1": a1.id, "a2": a2.id}, contacts={k: c.id for k, c in contacts.items()},
                catalogue=catalogue, me=a1.id, tickets=tickets)
    pool.snapshots = [{**snapshot(t, NOW), "me": a1.id} for t in tickets]
    return pool


def _define_fields(d1, d2) -> None:
    """The fields of `custom_fields()`, with the same values per department."""
    make_field("size", "picklist", options=["S", "M", "L", "XL"], department_options={d1: ["S", "M", "L"],
                                                                                      d2: ["M", "XL"]})
    make_field("order_total", "decimal")
    make_field("warranty", "checkbox")
    make_field("colors", "multiselect", options=["red", "green", "blue"])
    make_field("note", "text")
    make_field("ship_date", "date")
    make_field("seen_at", "datetime")


WORDS = ["refund", "Refund", "REFUND", "ｒｅｆｕｎｄ", "退款", "invoice", "发票", "login", "Login", "error 500",
         "手机发热", "phone overheating", "PHONE", "order", "so1234", "Ｅｒｒｏｒ", "100%", "a_b", "dark mode", "深色模式"]


def _filler(rng: random.Random, d1, d2, t1, t2, a1, a2, contacts, ticket) -> None:
    """40 seeded random tickets for the property tests (custom values written as they are, junk included)."""
    for n in range(40):
        dept = rng.choice([d1, d2])
        team = rng.choice([None, t1 if dept is d1 else t2])
        assignee = rng.choice([None, a1 if dept is d1 else a2])
        words = rng.sample(WORDS, rng.randint(1, 4))
        custom = {}
        if rng.random() < 0.7:
            custom["size"] = rng.choice(["S", "M", "L", "XL", "", 3])
        if rng.random() < 0.6:
            custom["order_total"] = rng.choice([0, 12, 99.5, 1000, 2500.25, "50", None])
        if rng.random() < 0.5:
            custom["warranty"] = rng.choice([True, False, True, 0, "yes"])
        if rng.random() < 0.5:
            custom["colors"] = rng.choice([["red"], ["green", "blue"], [], ["red", 7], "blue"])
        if rng.random() < 0.5:
            custom["note"] = rng.choice(WORDS + ["", 42])
        if rng.random() < 0.5:
            custom["ship_date"] = rng.choice(["2026-11-01", "2026-11-19", "2026-11-20", "2026-12-24", "soon"])
        if rng.random() < 0.5:
            custom["seen_at"] = (NOW - timedelta(minutes=rng.randint(-600, 6000))).isoformat()
        replies = [(rng.choice(["customer", "reply", "note"]), " ".join(rng.sample(WORDS, 2)),
                    timedelta(minutes=rng.randint(0, 3000))) for _ in range(rng.randint(0, 3))]
        replies.sort(key=lambda r: -r[2])
        ticket(f"filler{n}", created=timedelta(minutes=rng.randint(3000, 20000)), department=dept, team=team,
               assignee=assignee, subject=" ".join(words), body=" ".join(rng.sample(WORDS, 3)) + ".",
               status=rng.choice(["new", "open", "pending", "on_hold", "solved", "closed"]),
               priority=rng.choice(["low", "normal", "high", "urgent"]),
               channel=rng.choice(["portal", "email", "api", "phone", "webhook", "wechat"]),
               contact=rng.choice([None, *contacts]), tags=rng.sample(["refund", "vip", "bug", "login", "spam"],
                                                                      rng.randint(0, 2)),
               resolution_due_at=rng.choice([None, NOW + timedelta(minutes=rng.randint(-3000, 3000))]),
               raw_custom_fields=custom, replies=replies)
