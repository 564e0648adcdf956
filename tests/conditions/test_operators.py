"""Every operator on every type, on both backends: Python and SQL each find exactly the expected tickets.

The crafted tickets (pool.py), in short (now = 2026-11-20 03:00 UTC):
  A refund_ascii      "Refund for order SO12345678", new, normal, email, D1, Bob (standard, no account),
                      2 h old, tags billing+refund, cf: size M, total 120.5, warranty true, colors red+blue,
                      note "Gift Wrap", ship 2026-11-18, seen 2026-11-19T08:00Z
  F refund_fullwidth  "ＲＥＦＵＮＤ ｎｏｗ！", open, high, wechat, D1/T1, me, 王伟 (account vip, zh), 30 h old,
                      resolution due 1 h ago, tag vip, cf: size L, total 2000, warranty false, colors green
  C refund_chinese    "退款申请", body "我要退款…SO87654321", last message "还没有收到 REFUND", open (reopened),
                      urgent, portal, D2/T2, Agent Two, Alice (vip, Acme Ltd), 100 h old, 3 threads, due in 5 h,
                      junk cf: total "12", warranty 1, colors "red", size 5
  I invoice           "Invoice request", solved, low, api, D2, no contact, 10 min old, no custom fields
  O old_closed        "Hello"/"Hi" (+ a note), closed, phone, Carol (own tier standard, BigCorp vip), 500 h old,
                      cf: note "", colors [], size ""
  L login             "Login problem", "…Error 500…", last "Still broken!", on_hold, portal, Ｄａｎ (tier "",
                      BigCorp vip), 50 h old, replied 3 h ago, first response due in 1 h,
                      tags bug+login, cf: total 0, ship 2026-12-01, seen 2026-11-20T02:30Z
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.conditions import compile_to_python, compile_to_sql, register_business_hours
from portal.extensions import db
from portal.models import Ticket

from .pool import NOW

pytestmark = pytest.mark.integration

ALL = "AFCIOL"
NAMES = {"A": "refund_ascii", "F": "refund_fullwidth", "C": "refund_chinese", "I": "invoice", "O": "old_closed",
         "L": "login"}


def iso(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def row(field, op, value=None, expected="", unit=None):
    leaf = {"field": field, "op": op}
    if value is not None:
        leaf["value"] = value
    if unit is not None:
        leaf["unit"] = unit
    return leaf, expected


def everyone_but(letters: str) -> str:
    return "".join(c for c in ALL if c not in letters)


ROWS = [
    # text: case and width folded on both sides; LIKE wildcards are plain characters
    row("subject", "eq", "refund for order so12345678", "A"),
    row("subject", "eq", "ＨＥＬＬＯ", "O"),
    row("subject", "neq", "hello", everyone_but("O")),
    row("subject", "contains", "refund", "AF"),
    row("subject", "contains", "ＲＥＦＵＮＤ", "AF"),
    row("subject", "contains", "退款", "C"),
    row("subject", "contains", "_", ""),
    row("subject", "contains", "%", ""),
    row("subject", "not_contains", "refund", "CIOL"),
    row("subject", "contains_any", ["退款", "INVOICE"], "CI"),
    row("subject", "starts_with", "re", "AF"),
    row("subject", "regex", "^(re|lo)", "AFL"),
    row("subject", "regex", "^(RE|LO)", "AFL"),
    row("subject", "regex", r"so\d{8}", "A"),
    row("subject", "is_empty", None, ""),
    row("subject", "is_not_empty", None, ALL),
    row("body", "contains", "退款", "C"),
    row("body", "contains", "ERROR 500", "L"),
    row("body", "regex", r"error\s*\d{3}", "L"),
    row("last_message", "contains", "refund", "C"),
    row("last_message", "contains", "broken", "L"),
    row("last_message", "eq", "hi", "O"),
    row("contact.name", "contains", "dan", "L"),
    row("contact.name", "eq", "王伟", "F"),
    row("contact.name", "is_empty", None, "I"),
    row("contact.email", "eq", "alice@example.com", "C"),
    row("contact.email", "contains", "alice2", ""),
    row("contact.email", "contains", "@bigcorp.example", "OL"),
    row("account.name", "eq", "acme ltd", "C"),
    row("account.name", "is_empty", None, "AI"),
    row("account.name", "not_contains", "corp", "AFCI"),
    row("cf.note", "contains", "wrap", "A"),
    row("cf.note", "neq", "gift wrap", everyone_but("A")),
    row("cf.note", "is_empty", None, everyone_but("A")),
    row("cf.note", "is_not_empty", None, "A"),
    # choices
    row("status", "eq", "open", "FC"),
    row("status", "neq", "open", "AIOL"),
    row("status", "in", ["new", "solved"], "AI"),
    row("status", "not_in", ["new", "solved"], "FCOL"),
    row("status", "is_empty", None, ""),
    row("status", "is_not_empty", None, ALL),
    row("channel", "eq", "wechat", "F"),
    row("channel", "in", ["portal", "phone"], "COL"),
    row("contact.tier", "eq", "vip", "FCL"),
    row("contact.tier", "eq", "standard", "AO"),
    row("contact.tier", "neq", "vip", "AIO"),
    row("contact.tier", "is_empty", None, "I"),
    row("contact.language", "eq", "zh", "F"),
    row("contact.language", "not_in", ["zh"], "ACIOL"),
    row("cf.size", "eq", "M", "A"),
    row("cf.size", "in", ["L", "XL"], "F"),
    row("cf.size", "neq", "M", everyone_but("A")),
    row("cf.size", "not_in", ["M"], everyone_but("A")),
    row("cf.size", "is_empty", None, "CIOL"),
    row("cf.size", "is_not_empty", None, "AF"),
    # priority: by rank
    row("priority", "eq", "high", "F"),
    row("priority", "neq", "normal", "FCI"),
    row("priority", "gt", "normal", "FC"),
    row("priority", "gte", "normal", "AFCOL"),
    row("priority", "lt", "normal", "I"),
    row("priority", "lte", "normal", "AIOL"),
    row("priority", "in", ["low", "urgent"], "CI"),
    row("priority", "not_in", ["normal"], "FCI"),
    row("priority", "is_empty", None, ""),
    row("priority", "is_not_empty", None, ALL),
    # records ($name: an id from the pool)
    row("department", "eq", "$d2", "CI"),
    row("department", "in", ["$d1"], "AFOL"),
    row("department", "neq", "$d1", "CI"),
    row("team", "eq", "$t1", "F"),
    row("team", "neq", "$t1", everyone_but("F")),
    row("team", "not_in", ["$t2"], everyone_but("C")),
    row("team", "is_empty", None, "AIOL"),
    row("assignee", "eq", "me", "F"),
    row("assignee", "neq", "me", everyone_but("F")),
    row("assignee", "in", ["me", "$a2"], "FC"),
    row("assignee", "not_in", ["me"], everyone_but("F")),
    row("assignee", "is_not_empty", None, "FC"),
    row("contact", "eq", "$plain", "A"),
    row("contact", "is_empty", None, "I"),
    # numbers
    row("thread_count", "gt", 1, "COL"),
    row("thread_count", "eq", 3, "C"),
    row("thread_count", "neq", 1, "COL"),
    row("thread_count", "lte", 1, "AFI"),
    row("thread_count", "between", [2, 3], "COL"),
    row("customer_reply_count", "gte", 2, "CL"),
    row("customer_reply_count", "eq", 1, "AFIO"),
    row("cf.order_total", "gt", 100, "AF"),
    row("cf.order_total", "lt", 100, "L"),
    row("cf.order_total", "between", [0, 200], "AL"),
    row("cf.order_total", "eq", 0, "L"),
    row("cf.order_total", "neq", 2000, everyone_but("F")),
    row("cf.order_total", "is_empty", None, "CIO"),
    row("cf.order_total", "is_not_empty", None, "AFL"),
    row("hours_since_created", "gt", 24, "FCOL"),
    row("hours_since_created", "gte", 30, "FCOL"),
    row("hours_since_created", "lt", 1, "I"),
    row("hours_since_created", "lte", 2, "AI"),
    row("hours_since_created", "eq", 2, "A"),
    row("hours_since_created", "neq", 2, everyone_but("A")),
    row("hours_since_created", "between", [1, 40], "AF"),
    row("hours_since_customer_reply", "lt", 4, "AIL"),
    row("hours_since_customer_reply", "gt", 100, "O"),
    row("hours_until_due", "lt", 0, "F"),
    row("hours_until_due", "gt", 0, "C"),
    row("hours_until_due", "between", [-2, 10], "FC"),
    row("hours_until_due", "is_empty", None, "AIOL"),
    row("hours_until_due", "is_not_empty", None, "FC"),
    # yes/no
    row("cf.warranty", "eq", True, "A"),
    row("cf.warranty", "eq", False, "F"),
    # date-times
    row("created_at", "gt", iso(40), "AFI"),
    row("created_at", "lt", iso(40), "COL"),
    row("created_at", "between", [iso(60), iso(20)], "FL"),
    row("created_at", "older_than", 48, "COL", unit="hours"),
    row("created_at", "within", 48, "AFI", unit="hours"),
    row("created_at", "within", 30, "I", unit="minutes"),
    row("created_at", "older_than", 90, "AFCOL", unit="minutes"),
    row("created_at", "lte", iso(100), "CO"),
    row("updated_at", "gte", iso(3), "AIL"),
    row("resolution_due_at", "lt", iso(0), "F"),
    row("resolution_due_at", "is_empty", None, "AIOL"),
    row("resolution_due_at", "within", 2, "FC", unit="hours"),
    row("resolution_due_at", "older_than", 30, "F", unit="minutes"),
    row("first_response_due_at", "gt", iso(0), "L"),
    row("first_response_due_at", "is_not_empty", None, "L"),
    row("last_customer_reply_at", "within", 4, "AIL"),
    row("cf.seen_at", "gt", "2026-11-19T12:00:00+08:00", "AL"),
    row("cf.seen_at", "within", 1, "L", unit="hours"),
    row("cf.seen_at", "older_than", 2, "A", unit="hours"),
    row("cf.seen_at", "is_empty", None, "FCIO"),
    # dates
    row("cf.ship_date", "lt", "2026-11-20", "A"),
    row("cf.ship_date", "lte", "2026-11-18", "A"),
    row("cf.ship_date", "gt", "2026-11-18", "L"),
    row("cf.ship_date", "gte", "2026-11-20", "L"),
    row("cf.ship_date", "between", ["2026-11-01", "2026-11-30"], "A"),
    row("cf.ship_date", "older_than", 24, "A", unit="hours"),
    row("cf.ship_date", "within", 24, "L", unit="hours"),
    row("cf.ship_date", "is_empty", None, "FCIO"),
    row("cf.ship_date", "is_not_empty", None, "AL"),
    # lists
    row("tags", "contains", "refund", "A"),
    row("tags", "contains", " REFUND ", "A"),
    row("tags", "not_contains", "refund", everyone_but("A")),
    row("tags", "contains_any", ["vip", "bug"], "FL"),
    row("tags", "is_empty", None, "CIO"),
    row("tags", "is_not_empty", None, "AFL"),
    row("cf.colors", "contains", "red", "A"),
    row("cf.colors", "contains_any", ["green", "blue"], "AF"),
    row("cf.colors", "not_contains", "red", everyone_but("A")),
    row("cf.colors", "is_empty", None, "CIOL"),
    row("cf.colors", "is_not_empty", None, "AF"),
    # groups
    ({"all": []}, ALL),
    ({"any": []}, ""),
    ({"not": {"field": "subject", "op": "contains", "value": "refund"}}, "CIOL"),
    ({"not": {"field": "team", "op": "eq", "value": "$t1"}}, everyone_but("F")),
    ({"not": {"field": "cf.order_total", "op": "gt", "value": 100}}, "CIOL"),
    ({"all": [{"field": "status", "op": "eq", "value": "open"},
              {"not": {"field": "priority", "op": "eq", "value": "urgent"}}]}, "F"),
    ({"any": [{"field": "subject", "op": "contains", "value": "退款"},
              {"field": "tags", "op": "contains", "value": "bug"}]}, "CL"),
    ({"not": {"any": [{"field": "contact.tier", "op": "eq", "value": "vip"}, {"all": []}]}}, ""),
]


def resolve(cond, pool):
    """"$d1" -> the pool's department d1's id (and so on)."""
    if isinstance(cond, dict):
        return {k: resolve(v, pool) for k, v in cond.items()}
    if isinstance(cond, list):
        return [resolve(v, pool) for v in cond]
    if isinstance(cond, str) and cond.startswith("$"):
        name = cond[1:]
        for table in (pool.depts, pool.teams, pool.agents, pool.contacts):
            if name in table:
                return table[name]
    return cond


def matches(pool, cond) -> tuple[set[str], set[str]]:
    """(names found by SQL, names found by Python) among the crafted tickets."""
    clause = compile_to_sql(cond, pool.catalogue, now=NOW, me=pool.me)
    by_sql = set(db.session.scalars(select(Ticket.id).where(clause, Ticket.id.in_(pool.crafted_ids))))
    predicate = compile_to_python(cond, pool.catalogue)
    by_python = {s["id"] for s in pool.snapshots if s["id"] in pool.crafted_ids and predicate(s)}
    return pool.names(by_sql), pool.names(by_python)


@pytest.mark.parametrize("cond, expected", ROWS, ids=[json.dumps(c, ensure_ascii=False) for c, _ in ROWS])
def test_operator(pool, cond, expected):
    want = {NAMES[c] for c in expected}
    by_sql, by_python = matches(pool, resolve(cond, pool))
    assert by_python == want
    assert by_sql == want


def test_every_operator_of_every_type_is_in_the_table(pool):
    covered = {(pool.catalogue.get(c["field"]).type, c["op"]) for c, _ in ROWS if "field" in c}
    wanted = {(spec.type, op) for spec in pool.catalogue for op in spec.operators("query")}
    assert sorted(wanted - covered) == []


def test_is_business_hours_asks_the_hook_per_department(pool):
    d1 = pool.depts["d1"]
    register_business_hours(lambda department_id, now: department_id == d1)
    try:
        assert matches(pool, {"field": "is_business_hours", "op": "eq", "value": True}) == ({NAMES[c] for c in "AFOL"},) * 2
        assert matches(pool, {"field": "is_business_hours", "op": "eq", "value": False}) == ({NAMES[c] for c in "CI"},) * 2
    finally:
        register_business_hours(None)


def test_default_business_hours_are_weekdays_nine_to_six_in_shanghai(pool):
    # NOW is Friday 11:00 in Shanghai: open everywhere
    assert matches(pool, {"field": "is_business_hours", "op": "eq", "value": True}) == ({NAMES[c] for c in ALL},) * 2
