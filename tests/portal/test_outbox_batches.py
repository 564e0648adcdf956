"""Outbox events in batches: drain jobs take many events at once (portal.jobs.process_events), and
every guarantee of one job per event still holds: once per (event, subscriber), a failing event
recorded and retried with back-off while the others are done, a delivery held elsewhere left to
its worker, duplicates changing nothing."""
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from factories import make_ticket
from portal import events
from portal.extensions import db
from portal.jobs import STUCK_AFTER, process_event, process_events, retry_events, sweep_outbox
from portal.models import OutboxDelivery, OutboxEvent, TicketEvent, utcnow
from portal.queue import EmbeddedWorker, JobQueue

pytestmark = pytest.mark.integration

MARKER = "test_marker"


@pytest.fixture(autouse=True)
def only_test_subscribers(app, monkeypatch):
    """These tests count deliveries: leave out the feature packages' subscribers (rules...)."""
    monkeypatch.setattr(events, "_subscribers", {})


def marker(event) -> None:
    """A subscriber's effect, in its transaction: one History row per run that is kept."""
    db.session.add(TicketEvent(ticket_id=event.ticket_id, outbox_id=event.id, field=MARKER, new_value=str(event.id),
                               version=0, actor_label="test subscriber"))


def markers() -> dict[int, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(TicketEvent.outbox_id, func.count()).where(TicketEvent.field == MARKER)
                                   .group_by(TicketEvent.outbox_id)).all())


def state(event_id: int) -> tuple:
    db.session.expire_all()
    event = db.session.get(OutboxEvent, event_id)
    return event.status, event.attempts


def deliveries(event_id: int) -> dict[str, OutboxDelivery]:
    db.session.expire_all()
    return {d.subscriber: d for d in db.session.scalars(select(OutboxDelivery).filter_by(event_id=event_id))}


def committed_events(n: int, held_events: list) -> list[int]:
    for _ in range(n):
        make_ticket()
    db.session.commit()
    ids = list(held_events)
    held_events.clear()
    return ids


def test_a_batch_runs_each_subscriber_once_per_event_and_a_duplicate_changes_nothing(app, subscriber, held_events):
    calls = []
    subscriber("test.mark", lambda event: (calls.append(event.id), marker(event)))
    a, b, c = committed_events(3, held_events)
    # The same id twice in one batch (two commits' lists met in Redis), and an id whose row is gone.
    assert process_events([a, b, a, c, 987654]) == {a: "done", b: "done", c: "done", 987654: "missing"}
    assert calls == [a, b, c] and markers() == {a: 1, b: 1, c: 1}
    for event_id in (a, b, c):
        assert state(event_id) == ("done", 1)
        delivery = deliveries(event_id)["test.mark"]
        assert (delivery.status, delivery.attempts) == ("done", 1) and delivery.finished_at is not None
    # Delivered again (the sweep, a duplicate job): nothing runs.
    assert process_events([c, a]) == {c: "already done", a: "already done"}
    assert process_event(b) == "already done"
    assert calls == [a, b, c] and markers() == {a: 1, b: 1, c: 1}


def test_a_failing_event_leaves_the_others_of_its_batch_done_and_is_retried(app, subscriber, held_events):
    broken = set()

    def flaky(event):
        marker(event)  # written, then rolled back when it fails
        if event.id in broken:
            raise ValueError("mail server said no")

    subscriber("test.flaky", flaky)
    subscriber("test.mark", marker)
    a, b, c = committed_events(3, held_events)
    broken.add(b)

    assert process_events([a, b, c]) == {a: "done", b: "failed: test.flaky", c: "done"}
    assert state(a) == state(c) == ("done", 1)
    event = db.session.get(OutboxEvent, b)
    assert (event.status, event.last_error, event.processed_at) == ("failed", "failed: test.flaky", None)
    rows = deliveries(b)
    assert rows["test.flaky"].status == "failed" and "ValueError: mail server said no" in rows["test.flaky"].error
    assert rows["test.mark"].status == "done"  # its other subscriber was not held back
    # Each subscriber's effect is there once; the failing one's is not.
    assert markers() == {a: 2, b: 1, c: 2}

    # The back-off retry (retry_events) raises while the subscriber still fails, so RQ tries again...
    with pytest.raises(RuntimeError, match=f"event {b}: subscribers failed: test.flaky"):
        retry_events([b])
    assert state(b) == ("failed", 2)
    # ...and once it works, only the failed subscriber runs again.
    broken.clear()
    assert retry_events([b]) == "1 done"
    assert state(b) == ("done", 3)
    rows = deliveries(b)
    assert (rows["test.flaky"].status, rows["test.flaky"].attempts, rows["test.flaky"].error) == ("done", 3, None)
    assert rows["test.mark"].attempts == 1
    assert markers() == {a: 2, b: 2, c: 2}


def test_a_delivery_another_worker_holds_is_left_to_it(app, subscriber, held_events):
    subscriber("test.mark", marker)
    a, b = committed_events(2, held_events)
    db.session.add(OutboxDelivery(event_id=b, subscriber="test.mark", status="running", started_at=utcnow()))
    db.session.commit()
    assert process_events([a, b]) == {a: "done", b: "running elsewhere: test.mark"}
    # Still pending: if that worker died, the sweep finds it, and after STUCK_AFTER it is retaken.
    assert state(b) == ("pending", 1) and markers() == {a: 1}
    deliveries(b)["test.mark"].started_at = utcnow() - STUCK_AFTER - timedelta(minutes=1)
    db.session.commit()
    assert process_events([a, b]) == {a: "already done", b: "done"}
    assert state(b) == ("done", 2) and deliveries(b)["test.mark"].attempts == 2 and markers() == {a: 1, b: 1}


def test_a_subscribers_prepare_hook_wraps_its_events_of_the_batch(app, held_events):
    log = []

    @contextmanager
    def prepare(batch):
        log.append(("prepare", [e.id for e in batch]))
        yield
        log.append(("end",))

    events.subscribe("test.prepared", ("ticket.created",), prepare=prepare)(lambda event: log.append(("run", event.id)))
    a, b = committed_events(2, held_events)
    assert process_events([a, b]) == {a: "done", b: "done"}
    assert log == [("prepare", [a, b]), ("run", a), ("run", b), ("end",)]
    # One event on its own (process_event) runs without it, with the same result.
    (c,) = committed_events(1, held_events)
    log.clear()
    assert process_event(c) == "done" and log == [("run", c)]


def test_a_batch_that_fails_as_a_whole_is_run_again_one_by_one(app, subscriber, held_events):
    """An error the batch can't place (here: the prepare hook) rolls the batch back; the events are
    then run one at a time, each subscriber in a transaction of its own."""
    runs = []

    @contextmanager
    def broken_prepare(batch):
        raise RuntimeError("the batch read failed")
        yield  # noqa: unreachable - a generator context manager

    events.subscribe("test.prepared", prepare=broken_prepare)(lambda event: (runs.append(event.id), marker(event)))
    a, b = committed_events(2, held_events)
    assert process_events([a, b]) == {a: "done", b: "done"}
    assert runs == [a, b] and markers() == {a: 1, b: 1}
    assert state(a) == state(b) == ("done", 1)
    assert {d.attempts for e in (a, b) for d in deliveries(e).values()} == {1}


# --------------------------------------------------------------------------------------------
# The queue's side: ids in a Redis list, one drain job waiting at a time
# --------------------------------------------------------------------------------------------
@pytest.fixture
def fake_queue(app, monkeypatch):
    """The app's queue as `make run` has it (an in-memory fakeredis), without the worker thread:
    the jobs stay queued until the test runs them."""
    monkeypatch.setitem(app.config, "QUEUE_MODE", "thread")
    queue = JobQueue(app)
    monkeypatch.setattr(queue, "_ensure_embedded_worker", lambda: None)
    monkeypatch.setitem(app.extensions, "deskwright_queue", queue)
    return queue


def test_commits_wake_one_drain_job_and_a_drain_takes_a_batch(app, fake_queue):
    fake_queue.enqueue_events([1, 2, 3])
    fake_queue.enqueue_events([4])
    # The second commit found a drain job waiting: no second job.
    assert fake_queue.rq_queue.count == 1 and fake_queue.waiting_events() == [1, 2, 3, 4]
    (job,) = fake_queue.rq_queue.jobs
    assert job.func_name == "portal.jobs.drain_outbox"
    assert fake_queue.take_events(2) == [1, 2]
    # More are waiting: a second drain is queued at once, for another worker.
    assert fake_queue.rq_queue.count == 2
    assert fake_queue.take_events(2) == [3, 4]
    assert fake_queue.rq_queue.count == 2 and fake_queue.take_events(2) == []
    # A drain has started since the last wake: the next commit queues a drain of its own.
    fake_queue.enqueue_events([5])
    assert fake_queue.rq_queue.count == 3 and fake_queue.waiting_events() == [5]


def test_a_drain_job_in_a_worker_runs_a_batch_and_schedules_the_failed_event(app, subscriber, fake_queue, monkeypatch):
    broken = set()

    def flaky(event):
        marker(event)
        if event.id in broken:
            raise ValueError("webhook answered 503")

    subscriber("test.flaky", flaky)
    for _ in range(3):
        make_ticket()
    db.session.commit()  # after_commit: the three ids onto the list, one drain job
    a, b, c = fake_queue.waiting_events()
    broken.add(b)
    assert fake_queue.rq_queue.count == 1
    before = datetime.now(timezone.utc)
    worker = fake_queue.make_worker(EmbeddedWorker)
    worker.work(burst=True, logging_level="WARNING")  # no scheduler: the retry stays scheduled
    assert fake_queue.waiting_events() == [] and fake_queue.rq_queue.count == 0
    assert state(a) == state(c) == ("done", 1) and state(b) == ("failed", 1)
    assert markers() == {a: 1, c: 1}
    # The failed event comes back after the back-off's first interval, as a job RQ retries further.
    scheduled = ScheduledJobRegistry(queue=fake_queue.rq_queue)
    (job_id,) = scheduled.get_job_ids()
    job = fake_queue.rq_queue.fetch_job(job_id)
    assert (job.func_name, list(job.args), job.retries_left, job.retry_intervals) == (
        "portal.jobs.retry_events", [[b]], 2, [30, 120])
    due = scheduled.get_scheduled_time(job_id)
    assert before + timedelta(seconds=4) <= due <= datetime.now(timezone.utc) + timedelta(seconds=6)


def test_ids_a_dead_drain_took_come_back_with_the_sweep(app, subscriber, fake_queue):
    """A worker killed mid-batch loses the ids it took off the list; the events are still pending in
    the database, so the sweep puts them back (and wakes a drain)."""
    subscriber("test.mark", marker)
    for _ in range(2):
        make_ticket()
    db.session.commit()
    ids = fake_queue.waiting_events()
    assert fake_queue.take_events(50) == ids  # ...and the worker holding them dies
    for job in fake_queue.rq_queue.jobs:
        job.delete()
    assert sweep_outbox() == 0  # not stale yet: the queue may just be busy
    for event_id in ids:
        event = db.session.get(OutboxEvent, event_id)
        event.created_at = event.enqueued_at = utcnow() - timedelta(seconds=app.config["OUTBOX_STALE_SECONDS"] + 60)
    db.session.commit()
    assert sweep_outbox() == 2
    assert fake_queue.waiting_events() == ids
    (job,) = fake_queue.rq_queue.jobs
    assert job.func_name == "portal.jobs.drain_outbox"
    fake_queue.make_worker(EmbeddedWorker).work(burst=True, logging_level="WARNING")
    assert [state(event_id) for event_id in ids] == [("done", 1)] * 2 and markers() == {i: 1 for i in ids}
