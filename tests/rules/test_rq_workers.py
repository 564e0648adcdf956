"""The rule engine on real PostgreSQL, Redis and two RQ worker processes: every event delivered four
times, each rule fires once per event, each email and webhook goes out once."""
from __future__ import annotations

import time

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from factories import make_contact, make_ticket
from portal.extensions import db
from portal.models import OutboundMessage, OutboxEvent
from portal.queue import QUEUE_NAME, get_queue
from rule_builder.models import RuleFiring
from worker_procs import event_rows, needs_postgres_and_redis, start_worker, stop, wait_for

from .helpers import leaf, make_rule

pytestmark = [
    pytest.mark.integration,
    needs_postgres_and_redis,
]
DB_BACKENDS = ("postgresql",)  # worker processes must share the database
TICKETS = 4


@pytest.fixture
def app_config(redis_url):
    return {"REDIS_URL": redis_url, "WEBHOOK_ALLOW_PRIVATE": True}


def test_duplicate_deliveries_on_two_workers_fire_and_send_once(app, tmp_path, redis_url, smtp_server, webhook_server,
                                                                monkeypatch):
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(app.config["MAIL_PORT"]))
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")
    # Two events per drain job, so the 16 deliveries make batches that overlap on both workers.
    monkeypatch.setenv("OUTBOX_BATCH", "2")
    webhook_server.secret = "s3cret"
    greet = make_rule("Greet", actions=[
        {"type": "add_tags", "tags": ["greeted"]}, {"type": "set_field", "field": "priority", "value": "high"},
        {"type": "send_email", "to": "customer", "subject": "{{ ticket.ref }}", "body": "Hello {{ contact.name }}"},
        {"type": "webhook", "url": webhook_server.url, "secret": "s3cret"}])
    follow = make_rule("Follow", trigger="updated", condition={"all": [leaf("priority", "changed_to", "high")]},
                       actions=[{"type": "add_tags", "tags": ["followed"]}])
    conn = Redis.from_url(redis_url)
    workers = [start_worker(app, tmp_path) for _ in range(2)]
    try:
        wait_for(lambda: len(Worker.all(connection=conn)) == 2
                 and all(w.get_state() == "idle" for w in Worker.all(connection=conn)), "two idle workers", workers)
        tickets = [make_ticket(subject=f"Rules {i}", contact=make_contact()) for i in range(TICKETS)]
        db.session.commit()  # each created event enqueued once by the commit...
        ids = [e.id for e in db.session.scalars(select(OutboxEvent).where(
            OutboxEvent.ticket_id.in_([t.id for t in tickets]), OutboxEvent.kind == "ticket.created"))]
        for _ in range(3):   # ...and three more times
            get_queue().enqueue_events(ids)
        rq_queue = Queue(QUEUE_NAME, connection=conn)
        started = StartedJobRegistry(queue=rq_queue)

        def settled():
            if not all(e.status == "done" for e in event_rows(ids)):
                return False
            statuses = list(db.session.scalars(select(OutboundMessage.status)))
            return len(statuses) == 2 * TICKETS and set(statuses) == {"sent"} \
                and rq_queue.count == 0 and started.count == 0

        wait_for(settled, "events processed and messages sent", workers)
        time.sleep(1)  # any straggling duplicate would show up now
    finally:
        outputs = [stop(w) for w in workers]
    jobs_done = [out.count("Job OK") for out in outputs]
    assert all(jobs_done), f"one worker took every job {jobs_done}: the race was not exercised\n{outputs}"
    assert FailedJobRegistry(queue=rq_queue).count == 0, outputs
    per_rule = dict(db.session.execute(select(RuleFiring.rule_id, func.count()).group_by(RuleFiring.rule_id)).all())
    assert per_rule == {greet.id: TICKETS, follow.id: TICKETS}
    assert {f.status for f in db.session.scalars(select(RuleFiring))} == {"applied"}
    db.session.expire_all()
    for ticket in tickets:
        assert sorted(db.session.get(type(ticket), ticket.id).tags) == ["followed", "greeted"]
    assert len(smtp_server.envelopes) == TICKETS
    assert sorted(e.rcpt_tos[0] for e in smtp_server.envelopes) == sorted(t.contact.email for t in tickets)
    assert len(webhook_server.requests) == TICKETS and webhook_server.bad_signatures == 0
