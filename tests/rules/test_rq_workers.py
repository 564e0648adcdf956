"""The rule engine on real PostgreSQL, Redis and two RQ worker processes: every event delivered four
times, each rule fires once per event, each email and webhook goes out once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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

from .helpers import leaf, make_rule

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
                       reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis)"),
]
DB_BACKENDS = ("postgresql",)  # worker processes must share the database
TICKETS = 4
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90


# Worker handling as in tests/integration/test_rq_worker.py.
def start_worker(app, tmp_path) -> subprocess.Popen:
    env = dict(os.environ)
    for name in ("DESKWRIGHT_ENV", "QUEUE_MODE", "FLASK_APP"):
        env.pop(name, None)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               SECRET_KEY="test-secret-key", INSTANCE_PATH=str(tmp_path / "worker-instance"), PYTHONUNBUFFERED="1")
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    proc.log = log
    return proc


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    proc.log.close()
    return Path(proc.log.name).read_text()


def wait_for(predicate, what: str, procs=(), timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"worker exited early ({proc.returncode}) while waiting for {what}:\n{stop(proc)}")
        time.sleep(0.2)
    outputs = "\n---\n".join(stop(p) for p in procs)
    pytest.fail(f"timed out waiting for {what}\n{outputs}")


def event_rows(ids) -> list[OutboxEvent]:
    db.session.rollback()  # see what the workers committed
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)))


@pytest.fixture
def app_config(redis_url):
    return {"REDIS_URL": redis_url, "WEBHOOK_ALLOW_PRIVATE": True}


def test_duplicate_deliveries_on_two_workers_fire_and_send_once(app, tmp_path, redis_url, smtp_server, webhook_server,
                                                                monkeypatch):
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(app.config["MAIL_PORT"]))
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")
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
