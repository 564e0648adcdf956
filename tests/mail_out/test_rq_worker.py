"""Email out on real PostgreSQL, Redis and a real `flask worker` process: a reply is sent by the
worker; an SMTP server that is down at first is retried by RQ's scheduler until it is up; a job
queued under the old path (rule_builder.outbound.deliver_outbound) before the upgrade still runs."""
from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from factories import make_agent
from portal.channels import outbound
from portal.extensions import db
from portal.models import OutboundMessage, Thread
from portal.queue import QUEUE_NAME, get_queue
from portal.services.tickets import add_thread
from smtp_sink import free_port, smtp_sink
from worker_procs import needs_postgres_and_redis, start_worker, stop, wait_for

from .test_email_out import emailed_ticket

pytestmark = [pytest.mark.integration, needs_postgres_and_redis]
DB_BACKENDS = ("postgresql",)  # the worker process must share the database


@pytest.fixture
def app_config(redis_url):
    return {"REDIS_URL": redis_url, "OUTBOUND_MAX_ATTEMPTS": 3, "OUTBOUND_RETRY_INTERVALS": [1, 1]}


@pytest.fixture
def worker(app, tmp_path, redis_url, monkeypatch):
    """Starts a worker whose mail settings are the app's (call it after pointing MAIL_PORT)."""
    procs = []

    def start():
        monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
        monkeypatch.setenv("MAIL_PORT", str(app.config["MAIL_PORT"]))
        monkeypatch.setenv("OUTBOUND_MAX_ATTEMPTS", "3")
        monkeypatch.setenv("OUTBOUND_RETRY_INTERVALS", "1,1")
        proc = start_worker(app, tmp_path)
        procs.append(proc)
        conn = Redis.from_url(redis_url)
        wait_for(lambda: any(w.get_state() == "idle" for w in Worker.all(connection=conn)), "an idle worker", procs)
        return proc

    yield start
    for proc in procs:
        stop(proc)


def settled(thread_id: int, state: str):
    def check():
        db.session.rollback()  # see what the worker committed
        db.session.expire_all()
        return db.session.get(Thread, thread_id).delivery_state == state
    return check


def test_the_worker_sends_the_reply_and_an_old_path_job_still_runs(app, smtp_server, shop, worker, redis_url,
                                                                   monkeypatch):
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]])
    proc = worker()
    reply = add_thread(ticket, kind="reply", body="Sent by the worker", by=agent)
    db.session.commit()  # enqueued on Redis under the new path
    wait_for(settled(reply.id, "sent"), "the reply sent", [proc])
    # A job written before the machinery moved into portal: only the old path names it.
    monkeypatch.setattr(outbound, "enqueue", lambda ids: None)
    old = add_thread(db.session.get(type(ticket), ticket.id), kind="reply", body="Queued before the upgrade", by=agent)
    db.session.commit()
    monkeypatch.undo()
    job = get_queue().enqueue("rule_builder.outbound.deliver_outbound",
                              db.session.get(Thread, old.id).outbound_message.id)
    wait_for(settled(old.id, "sent"), "the old-path job", [proc])
    assert job.func_name == "rule_builder.outbound.deliver_outbound"
    mails = smtp_server.messages()
    assert [m.get_body(("plain",)).get_content().strip() for m in mails] == [
        "Sent by the worker", "Queued before the upgrade"]
    assert mails[1]["In-Reply-To"] == "<first@example.com>"
    assert mails[1]["References"].split() == ["<first@example.com>", mails[0]["Message-ID"]]


def test_a_down_server_is_retried_by_the_scheduler_until_it_takes_the_mail(app, shop, worker, redis_url):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)  # nothing listens there yet
    ticket = emailed_ticket()
    proc = worker()
    thread = add_thread(ticket, kind="reply", body="Eventually", by=make_agent(departments=[shop["returns"]]))
    db.session.commit()

    def failed_once():
        db.session.rollback()
        message = db.session.scalar(select(OutboundMessage).where(OutboundMessage.thread_id == thread.id))
        return message.attempts >= 1 and message.last_error and "Connection refused" in message.last_error

    wait_for(failed_once, "the first try to fail", [proc])
    with smtp_sink(port) as inbox:  # the server comes up: a retry gets through
        wait_for(settled(thread.id, "sent"), "a retry to send it", [proc])
    message = db.session.scalar(select(OutboundMessage).where(OutboundMessage.thread_id == thread.id))
    assert message.status == "sent" and 2 <= message.attempts <= 3 and message.last_error is None
    assert len(inbox.envelopes) == 1
    assert FailedJobRegistry(queue=Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))).count == 0
