"""snapshot() and changes_from_payload(): what rules see of a ticket and of an event."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.conditions import changes_from_payload, compile_to_python, snapshot
from portal.extensions import db
from portal.models import OutboxEvent, Ticket
from portal.services.tickets import add_thread, update_ticket

from .pool import NOW

pytestmark = pytest.mark.integration


def test_snapshot_fields(pool):
    ticket = db.session.get(Ticket, pool.ids["refund_chinese"])
    snap = snapshot(ticket, NOW)
    assert snap["now"] == NOW and snap["id"] == ticket.id
    assert {k: snap[k] for k in ("status", "priority", "department", "team", "assignee", "thread_count")} == {
        "status": "open", "priority": 4, "department": pool.depts["d2"], "team": pool.teams["t2"],
        "assignee": pool.agents["a2"], "thread_count": 3}
    assert snap["body"] == "我要退款，订单号SO87654321。"          # the request: the first message
    assert snap["last_message"] == "还没有收到 REFUND"             # the newest customer message
    assert snap["customer_reply_count"] == 2
    assert snap["created_at"] == NOW - timedelta(hours=100)
    assert {k: snap[k] for k in ("contact.name", "contact.email", "account.name", "contact.tier",
                                 "contact.language")} == {
        "contact.name": "Alice Wong", "contact.email": "Alice@Example.com", "account.name": "Acme Ltd",
        "contact.tier": "vip", "contact.language": "en"}
    assert {k: v for k, v in snap.items() if k.startswith("cf.")} == {
        "cf.order_total": "12", "cf.warranty": 1, "cf.colors": "red", "cf.size": 5}


def test_snapshot_sees_unflushed_work_of_the_service(pool):
    ticket = db.session.get(Ticket, pool.ids["invoice"])
    add_thread(ticket, kind="customer", body="Any news?", by="customer", now=NOW)
    snap = snapshot(ticket, NOW)
    assert (snap["last_message"], snap["customer_reply_count"], snap["thread_count"]) == ("Any news?", 2, 2)
    assert snap["contact.tier"] is None and snap["tags"] == []


def test_changes_of_a_real_outbox_event(pool):
    ticket = db.session.get(Ticket, pool.ids["refund_ascii"])
    due = NOW + timedelta(hours=8)
    update_ticket(ticket, {"priority": "urgent", "tags": ["refund", "billing", "vip"], "resolution_due_at": due,
                           "custom_fields": {**ticket.custom_fields, "size": "S"}}, by="system", now=NOW)
    event = db.session.scalars(select(OutboxEvent).where(OutboxEvent.ticket_id == ticket.id)
                               .order_by(OutboxEvent.id.desc())).first()
    changes = changes_from_payload(event.payload["changes"])
    assert changes == {"priority": (2, 4), "tags": (["billing", "refund"], ["billing", "refund", "vip"]),
                       "resolution_due_at": (None, due), "cf.size": ("M", "S")}
    rule = {"all": [{"field": "priority", "op": "changed_to", "value": "urgent"},
                    {"field": "tags", "op": "changed_to", "value": "vip"},
                    {"field": "cf.size", "op": "changed_from", "value": "M"},
                    {"field": "resolution_due_at", "op": "changed"},
                    {"not": {"field": "cf.order_total", "op": "changed"}}]}
    assert compile_to_python(rule, pool.catalogue)(snapshot(ticket, NOW), changes) is True
