"""Real PostgreSQL, real Redis, real worker processes.

The test process commits tickets through the ticket service with the queue in "rq" mode, so
after commit the outbox events go to Redis; `flask worker` processes, started here with the
same DATABASE_URL and REDIS_URL, take them from there. Skipped unless TEST_DATABASE_URL and
TEST_REDIS_URL are set (use a Redis db of its own, e.g. redis://127.0.0.1:6379/15: it is flushed).
"""
from __future__ import annotations

import subprocess

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from factories import make_ticket
from portal.extensions import db
from portal.models import OutboxDelivery, OutboxEvent, TicketEvent
from portal.queue import QUEUE_NAME, get_queue
from worker_procs import TIMEOUT, event_rows, needs_postgres_and_redis, start_worker, stop, wait_for

pytestmark = [
    pytest.mark.integration,
    needs_postgres_and_redis,
]
DB_BACKENDS = ("postgresql",)  # a worker process must share the database (see tests/conftest.py)

WSGI_APP = "wsgi"
SUBSCRIBER_APP = "tests/integration/subscriber_app.py"
MARKER = "test_marker"


@pytest.fixture
def app_config(redis_url):
    return {"REDIS_URL": redis_url}


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
    # One drain job for the commit; the events wait for it in the list.
    assert queue.rq_queue.count == 1 and queue.waiting_events() == ids
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
    assert queue.rq_queue.count == 0 and queue.waiting_events() == []
    assert FailedJobRegistry(queue=queue.rq_queue).count == 0


def events_taken_by_drains(rq_queue) -> int:
    """How many event ids the finished drain jobs took off the list ("<n> events: ...")."""
    jobs = Job.fetch_many(FinishedJobRegistry(queue=rq_queue).get_job_ids(), connection=rq_queue.connection,
                          serializer=JSONSerializer)
    return sum(int(job.return_value().split()[0]) for job in jobs
               if job is not None and job.func_name == "portal.jobs.drain_outbox"
               and job.return_value() != "nothing to do")


def test_duplicate_deliveries_on_two_workers_run_each_subscriber_once(app, tmp_path, redis_url, monkeypatch):
    conn = Redis.from_url(redis_url)
    # Two events per drain job: the 12 deliveries below make several batches, which overlap on
    # the two workers (a batch holding an event another worker's batch is running).
    monkeypatch.setenv("OUTBOX_BATCH", "2")
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
        wait_for(lambda: all(e.status == "done" for e in event_rows(ids)) and not get_queue().waiting_events()
                 and rq_queue.count == 0 and started.count == 0, "all 12 deliveries", workers)
    finally:
        outputs = [stop(w) for w in workers]

    assert events_taken_by_drains(rq_queue) == 12, outputs
    jobs_done = [out.count("Job OK") for out in outputs]
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
