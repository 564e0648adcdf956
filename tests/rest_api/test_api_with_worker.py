"""End to end on PostgreSQL + Redis + a real RQ worker process: tickets created through the API with
custom fields, a workflow rule whose condition reads a custom field runs in the worker."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboxEvent, Ticket
from rules.helpers import leaf, make_rule
from worker_procs import event_rows, needs_postgres_and_redis, start_worker, stop, wait_for

pytestmark = [pytest.mark.integration, needs_postgres_and_redis]
DB_BACKENDS = ("postgresql",)  # the worker process must share the database


@pytest.fixture
def app_config(redis_url):
    return {"REDIS_URL": redis_url}


def test_a_rule_on_a_custom_field_fires_in_the_worker_for_api_tickets(app, desk, api, tmp_path):
    make_rule("Big phone refunds", condition={"all": [leaf("cf.product", "eq", "phone_x"),
                                                      leaf("cf.refund_amount", "gte", 100)]},
              actions=[{"type": "set_field", "field": "priority", "value": "urgent"},
                       {"type": "add_tags", "tags": ["big-refund"]}])
    numbers = {}
    for amount in (20, 500):
        response = api("POST", "/tickets", json={
            "subject": f"Refund {amount}", "body": "Please refund.", "contact_email": "li@example.com",
            "department": desk.phones.id, "custom_fields": {"order_number": "123456", "product": "phone_x",
                                                            "refund_amount": amount}})
        assert response.status_code == 201, response.get_data(as_text=True)
        numbers[amount] = response.get_json()["number"]
    ids = list(db.session.scalars(select(OutboxEvent.id).where(OutboxEvent.ticket_id.in_(numbers.values()),
                                                              OutboxEvent.kind == "ticket.created")))
    worker = start_worker(app, tmp_path)
    try:
        wait_for(lambda: len(ids) == 2 and all(e.status == "done" for e in event_rows(ids)),
                 "the created events processed by the worker", [worker])
    finally:
        output = stop(worker)
    assert "Job OK" in output, output
    db.session.expire_all()
    small, big = db.session.get(Ticket, numbers[20]), db.session.get(Ticket, numbers[500])
    assert (big.priority_key, big.tags) == ("urgent", ["big-refund"])
    assert (small.priority_key, small.tags) == ("normal", [])
    assert api("GET", f"/tickets/{numbers[500]}").get_json()["priority"] == "urgent"
