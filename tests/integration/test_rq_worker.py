"""Real PostgreSQL, real Redis, real worker processes.

The test process commits tickets through the ticket service with the queue in "rq" mode, so
after commit the outbox events go to Redis; `flask worker` processes, started here with the
same DATABASE_URL and REDIS_URL, take them from there. Skipped unless TEST_DATABASE_URL and
TEST_REDIS_URL are set (use a Redis db of its own, e.g. redis://127.0.0.1:6379/15: it is flushed).
"""
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

from factories import make_ticket
from portal.extensions import db
from portal.models import OutboxDelivery, OutboxEvent, TicketEvent
from portal.queue import QUEUE_NAME, get_queue

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
                       reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis)"),
]
DB_BACKENDS = ("postgresql",)  # a worker process must share the database (see tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
WSGI_APP = "wsgi"
SUBSCRIBER_APP = "tests/integration/subscriber_app.py"
MARKER = "test_marker"
TIMEOUT = 90


@pytest.fixture
def app_config(redis_url):
    return {"REDIS_URL": redis_url}


def worker_env(app, tmp_path) -> dict:
    env = dict(os.environ)
    for name in ("DESKWRIGHT_ENV", "QUEUE_MODE", "FLASK_APP"):
        env.pop(name, None)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               SECRET_KEY="test-secret-key", INSTANCE_PATH=str(tmp_path / "worker-instance"),
               PYTHONUNBUFFERED="1")
    return env


def start_worker(app, tmp_path, flask_app: str, *, burst: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "flask", "--app", flask_app, "worker"] + (["--burst"] if burst else [])
    # Output to a file (a full pipe would stall the worker); read back by stop().
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("w")
    # A session of its own: RQ's scheduler is a child of the worker; stop() ends both by this group id.
    proc = subprocess.Popen(args, cwd=ROOT, env=worker_env(app, tmp_path), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    proc.log = log
    return proc


def stop(proc: subprocess.Popen) -> str:
    """Warm shutdown (SIGTERM) of a worker we started, if still running; then its output."""
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
    db.session.rollback()  # end the test's transaction: see what the workers committed
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)))


def make_committed_tickets(n: int) -> list[int]:
    tickets = [make_ticket(subject=f"Worker test {i}") for i in range(n)]
    db.session.commit()  # rq mode: after commit the events go to Redis
    return [e.id for e in db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.ticket_id.in_([t.id for t in tickets])).order_by(OutboxEvent.id))]


def test_a_worker_process_runs_the_committed_events(app, tmp_path):
    queue = get_queue()
    assert queue.mode == "rq"
    ids = make_committed_tickets(3)
    assert len(ids) == 3
    assert queue.rq_queue.count == 3
    assert {e.status for e in event_rows(ids)} == {"pending"}

    worker = start_worker(app, tmp_path, WSGI_APP, burst=True)
    try:
        worker.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("burst worker did not finish:\n" + stop(worker))
    out = stop(worker)
    assert worker.returncode == 0, out

    events = event_rows(ids)
    assert [(e.status, e.attempts, e.last_error) for e in events] == [("done", 1, None)] * 3, out
    assert all(e.processed_at is not None for e in events)
    assert queue.rq_queue.count == 0
    assert FailedJobRegistry(queue=queue.rq_queue).count == 0


def test_duplicate_deliveries_on_two_workers_run_each_subscriber_once(app, tmp_path, redis_url):
    conn = Redis.from_url(redis_url)
    workers = [start_worker(app, tmp_path, SUBSCRIBER_APP, burst=False) for _ in range(2)]
    try:
        # Both workers registered and waiting on the queue before any job arrives, so both get some.
        wait_for(lambda: len(Worker.all(connection=conn)) == 2
                 and all(w.get_state() == "idle" for w in Worker.all(connection=conn)),
                 "two idle workers", workers)

        ids = make_committed_tickets(3)       # each event enqueued once by the commit...
        for _ in range(3):                    # ...and three times more: at-least-once delivery
            get_queue().enqueue_events(ids)

        rq_queue = Queue(QUEUE_NAME, connection=conn)
        started = StartedJobRegistry(queue=rq_queue)
        wait_for(lambda: all(e.status == "done" for e in event_rows(ids))
                 and rq_queue.count == 0 and started.count == 0, "all 12 jobs", workers)
    finally:
        outputs = [stop(w) for w in workers]

    jobs_done = [out.count("Job OK") for out in outputs]
    assert sum(jobs_done) == 12, outputs
    assert all(jobs_done), f"one worker took every job {jobs_done}: the race was not exercised\n{outputs}"
    assert FailedJobRegistry(queue=rq_queue).count == 0

    per_event = dict(db.session.execute(
        select(OutboxDelivery.event_id, func.count()).where(OutboxDelivery.subscriber == MARKER,
                                                             OutboxDelivery.event_id.in_(ids))
        .group_by(OutboxDelivery.event_id)).all())
    assert per_event == {event_id: 1 for event_id in ids}
    assert {d.status for d in db.session.scalars(select(OutboxDelivery).where(OutboxDelivery.event_id.in_(ids)))} \
        == {"done"}
    markers = dict(db.session.execute(
        select(TicketEvent.outbox_id, func.count()).where(TicketEvent.field == MARKER)
        .group_by(TicketEvent.outbox_id)).all())
    assert markers == {event_id: 1 for event_id in ids}, "the subscriber ran more than once for an event"
    assert all(e.processed_at is not None for e in event_rows(ids))
