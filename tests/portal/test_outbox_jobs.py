"""The outbox: subscribers run once per event, failures are isolated and retried, the sweep and a Redis outage."""
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import make_ticket
from portal.extensions import db
from portal.jobs import STUCK_AFTER, process_event, sweep_outbox
from portal.models import OutboxDelivery, OutboxEvent, Ticket, TicketEvent, utcnow
from portal.queue import JobQueue, get_queue

pytestmark = pytest.mark.integration

DOWN = "redis://127.0.0.1:1"  # nothing listens on port 1: connection refused at once


@pytest.fixture(autouse=True)
def only_test_subscribers(app, monkeypatch):
    """These tests count deliveries: leave out the feature packages' subscribers (rules...)."""
    from portal import events
    monkeypatch.setattr(events, "_subscribers", {})


@pytest.fixture
def listening(subscriber):
    """A subscriber that takes every event, so events are written pending and queued."""
    subscriber("test.listening", lambda event: None)


def deliveries(event_id: int) -> dict[str, OutboxDelivery]:
    return {d.subscriber: d for d in db.session.scalars(select(OutboxDelivery).filter_by(event_id=event_id))}


def fresh(event_id: int) -> OutboxEvent:
    db.session.expire_all()
    return db.session.get(OutboxEvent, event_id)


def test_an_event_no_subscriber_takes_is_written_done_and_never_queued(app, held_events):
    ticket = make_ticket()
    db.session.commit()
    assert held_events == []
    event = db.session.scalars(select(OutboxEvent).filter_by(ticket_id=ticket.id)).one()
    assert (event.status, event.attempts) == ("done", 0) and event.processed_at is not None
    # ...but kept: the History rows point at it
    history = db.session.scalars(select(TicketEvent).filter_by(ticket_id=ticket.id)).all()
    assert history and {e.outbox_id for e in history} == {event.id}


def test_a_pending_event_whose_subscriber_left_is_done(app, subscriber, held_events):
    """Written while a subscriber wanted it, processed after that subscriber was removed (a deploy)."""
    from portal import events
    subscriber("test.gone", lambda event: None)
    make_ticket()
    db.session.commit()
    (event_id,) = held_events
    events.unsubscribe("test.gone")
    assert fresh(event_id).status == "pending"
    assert process_event(event_id) == "done"
    event = fresh(event_id)
    assert (event.status, event.attempts, event.last_error) == ("done", 1, None)
    assert event.processed_at is not None
    assert process_event(987654) == "missing"


def test_wants_decides_at_write_time_and_at_delivery(app, held_events):
    """A subscriber's `wants(kind, payload)`: unwanted events are not queued, and a wanted event is
    delivered only to the subscribers that want it."""
    from portal import events
    from portal.services.tickets import Actor, update_ticket
    calls = []
    events.subscribe("test.humans", ("ticket.updated",),
                     wants=lambda kind, payload: payload["actor"].get("origin") != "robot")(
        lambda event: calls.append(("humans", event.id)))
    events.subscribe("test.robots", ("ticket.updated",),
                     wants=lambda kind, payload: payload["actor"].get("origin") == "robot")(
        lambda event: calls.append(("robots", event.id)))
    ticket = make_ticket()
    db.session.commit()
    assert held_events == []  # ticket.created: neither takes it
    update_ticket(ticket, {"priority": "high"}, by=Actor(label="agent"))
    db.session.commit()
    update_ticket(ticket, {"priority": "urgent"}, by=Actor(label="robot", origin="robot"))
    db.session.commit()
    human_event, robot_event = held_events
    assert process_event(human_event) == "done" and process_event(robot_event) == "done"
    assert calls == [("humans", human_event), ("robots", robot_event)]
    assert set(deliveries(human_event)) == {"test.humans"} and set(deliveries(robot_event)) == {"test.robots"}


def test_a_subscriber_runs_exactly_once_even_if_the_event_is_processed_twice(app, subscriber):
    calls = []
    subscriber("test.once", lambda event: calls.append(event.id))
    make_ticket()
    db.session.commit()  # sync queue: processed right after commit
    (event_id,) = calls
    assert process_event(event_id) == "already done"
    assert calls == [event_id]
    (delivery,) = deliveries(event_id).values()
    assert (delivery.subscriber, delivery.status, delivery.attempts) == ("test.once", "done", 1)
    assert delivery.finished_at is not None


def test_a_redelivered_event_does_not_rerun_a_finished_subscriber(app, subscriber, held_events):
    """Even when the event row itself isn't marked done yet (a worker died after the subscriber)."""
    calls = []
    subscriber("test.once", lambda event: calls.append(event.id))
    make_ticket()
    db.session.commit()
    (event_id,) = held_events
    process_event(event_id)
    event = fresh(event_id)
    event.status = "pending"  # as if the worker was killed before the final commit
    db.session.commit()
    assert process_event(event_id) == "done"
    assert calls == [event_id]


def test_subscribers_are_filtered_by_kind(app, subscriber, held_events):
    created, replied = [], []
    subscriber("test.created", lambda event: created.append(event.kind), kinds=("ticket.created",))
    subscriber("test.replied", lambda event: replied.append(event.kind), kinds=("ticket.customer_replied",))
    make_ticket()
    db.session.commit()
    for event_id in held_events:
        process_event(event_id)
    assert (created, replied) == (["ticket.created"], [])
    assert set(deliveries(held_events[0])) == {"test.created"}


def test_a_failing_subscriber_is_isolated_and_retried(app, subscriber, held_events):
    calls = {"good": 0, "flaky": 0}
    broken = {"yes": True}

    def good(event):
        calls["good"] += 1

    def flaky(event):
        calls["flaky"] += 1
        # its own writes are rolled back when it fails
        db.session.get(Ticket, event.ticket_id).subject = "written by a failing subscriber"
        if broken["yes"]:
            raise ValueError("mail server said no")

    subscriber("test.flaky", flaky)
    subscriber("test.good", good)
    ticket = make_ticket(subject="Original")
    db.session.commit()
    (event_id,) = held_events

    with pytest.raises(RuntimeError, match="test.flaky"):
        process_event(event_id)
    event = fresh(event_id)
    assert event.status == "failed" and "test.flaky" in event.last_error and event.processed_at is None
    rows = deliveries(event_id)
    assert rows["test.flaky"].status == "failed" and "ValueError: mail server said no" in rows["test.flaky"].error
    assert rows["test.good"].status == "done"  # not blocked by the failure
    assert calls == {"good": 1, "flaky": 1}
    assert db.session.get(Ticket, ticket.id).subject == "Original"

    broken["yes"] = False  # the mail server is back; RQ's retry runs the job again
    assert process_event(event_id) == "done"
    event = fresh(event_id)
    assert (event.status, event.last_error, event.attempts) == ("done", None, 2)
    rows = deliveries(event_id)
    assert (rows["test.flaky"].status, rows["test.flaky"].attempts, rows["test.flaky"].error) == ("done", 2, None)
    assert calls == {"good": 1, "flaky": 2}  # the good subscriber did not run again


def test_a_running_delivery_is_not_taken_twice_until_it_is_stuck(app, subscriber, held_events):
    calls = []
    subscriber("test.slow", lambda event: calls.append(event.id))
    make_ticket()
    db.session.commit()
    (event_id,) = held_events
    # Another worker holds the delivery right now.
    db.session.add(OutboxDelivery(event_id=event_id, subscriber="test.slow", status="running", started_at=utcnow()))
    db.session.commit()
    assert process_event(event_id) == "running elsewhere: test.slow"
    assert calls == []
    # Not done: if that worker died, the sweep must still find the event.
    assert fresh(event_id).status == "pending"
    # ...and much later it is presumed dead: its delivery is retaken.
    delivery = deliveries(event_id)["test.slow"]
    delivery.started_at = utcnow() - STUCK_AFTER - timedelta(minutes=1)
    db.session.commit()
    assert process_event(event_id) == "done"
    assert calls == [event_id]
    assert deliveries(event_id)["test.slow"].attempts == 2
    assert fresh(event_id).status == "done"


def test_the_worker_holding_a_delivery_marks_the_event_done(app, subscriber, held_events):
    """Two deliveries of one event overlap: the second skips the running subscriber, the first finishes."""
    calls = []

    def slow(event):
        calls.append(event.id)
        with app.app_context():  # a duplicate delivery arrives while this subscriber runs
            assert process_event(event.id) == "running elsewhere: test.slow"

    subscriber("test.slow", slow)
    make_ticket()
    db.session.commit()
    (event_id,) = held_events
    assert process_event(event_id) == "done"
    assert calls == [event_id]
    assert fresh(event_id).status == "done"


def strand(event_id: int, seconds_ago: float) -> None:
    """Make an event look committed (and last enqueued) `seconds_ago`."""
    event = fresh(event_id)
    event.created_at = event.enqueued_at = utcnow() - timedelta(seconds=seconds_ago)
    db.session.commit()


def test_sweep_re_enqueues_stale_pending_events_only(app, listening, held_events):
    stale_after = app.config["OUTBOX_STALE_SECONDS"]
    for _ in range(4):
        make_ticket()
    db.session.commit()
    stale_id, recent_id, done_id, failed_id = held_events
    strand(stale_id, stale_after + 60)
    strand(recent_id, stale_after - 30)  # pending, but enqueued lately: the queue may just be busy
    strand(done_id, stale_after + 60)
    process_event(done_id)
    strand(failed_id, stale_after + 60)
    fresh(failed_id).status = "failed"   # failed events wait for an admin
    db.session.commit()
    held_events.clear()

    assert sweep_outbox() == 1
    assert held_events == [stale_id]
    assert fresh(stale_id).enqueued_at > utcnow() - timedelta(seconds=30)
    # Just re-enqueued: the next sweep leaves it alone...
    assert sweep_outbox() == 0
    # ...until it is stranded again.
    strand(stale_id, stale_after + 1)
    assert sweep_outbox() == 1 and held_events == [stale_id, stale_id]


def test_a_never_enqueued_event_is_swept(app, listening, held_events):
    make_ticket()
    db.session.commit()
    (event_id,) = held_events
    event = fresh(event_id)
    event.created_at, event.enqueued_at = utcnow() - timedelta(hours=1), None
    db.session.commit()
    held_events.clear()
    assert sweep_outbox() == 1 and held_events == [event_id]


def test_sweep_processes_through_the_queue(app, listening, held_events, monkeypatch):
    make_ticket()
    db.session.commit()
    (event_id,) = held_events
    strand(event_id, app.config["OUTBOX_STALE_SECONDS"] + 60)
    monkeypatch.delattr(app.extensions["deskwright_queue"], "enqueue_events")  # the sync queue again
    assert sweep_outbox() == 1
    assert fresh(event_id).status == "done"
    assert sweep_outbox() == 0


def test_backdated_changes_keep_real_outbox_time(app, listening, held_events):
    """Imports and the demo seed backdate tickets; their events must not look stranded at once."""
    ticket = make_ticket(now=utcnow() - timedelta(days=30))
    db.session.commit()
    assert ticket.created_at < utcnow() - timedelta(days=29)
    event = fresh(held_events[0])
    assert event.created_at > utcnow() - timedelta(minutes=1) and event.enqueued_at is not None
    held_events.clear()
    assert sweep_outbox() == 0


def test_rollback_enqueues_nothing(app, held_events):
    make_ticket()
    db.session.rollback()
    db.session.commit()
    assert held_events == []


def test_redis_down_leaves_the_event_pending_and_the_change_committed(app, make_app, caplog):
    down = make_app(REDIS_URL=DOWN)
    with down.app_context():
        assert get_queue().mode == "rq"
        with caplog.at_level(logging.WARNING, logger="portal.queue"):
            ticket_id = make_ticket(subject="Saved while Redis is down").id
            db.session.commit()  # must not raise
        assert "sweep will retry" in caplog.text
    # Read back in the test's own session: the ticket and its (still pending) event are there.
    assert db.session.get(Ticket, ticket_id).subject == "Saved while Redis is down"
    (event,) = db.session.scalars(select(OutboxEvent).filter_by(ticket_id=ticket_id))
    assert (event.status, event.processed_at) == ("pending", None)


def test_a_job_queue_in_rq_mode_swallows_a_redis_outage(app):
    app.config["REDIS_URL"] = DOWN
    queue = JobQueue(app)
    assert queue.mode == "rq"
    queue.enqueue_events([1, 2, 3])  # logs, does not raise
    assert queue.health() == (False, "redis unreachable: ConnectionError")


def test_enqueue_events_sync_runs_inline(app, subscriber):
    calls = []
    subscriber("test.sync", lambda event: calls.append(event.id))
    make_ticket()
    db.session.commit()
    assert len(calls) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxDelivery)) == 1
