"""RQ entry points. Jobs take ids, look things up, and are safe to run twice."""
import logging
import traceback
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from .events import subscribers_for
from .extensions import db
from .models import OutboxDelivery, OutboxEvent, utcnow
from .queue import get_queue

log = logging.getLogger(__name__)

# A delivery still "running" after this long belongs to a worker that died; it may be retaken.
STUCK_AFTER = timedelta(minutes=10)


def process_event(event_id: int) -> str:
    """Run every subscriber that has not yet handled this event.

    Each subscriber's work commits on its own together with its delivery row, so a crash
    after subscriber A leaves A done and B to be retried. Raises if any subscriber failed,
    so RQ retries the job with back-off; after the last retry the event stays `failed`.
    """
    event = db.session.get(OutboxEvent, event_id)
    if event is None:
        return "missing"
    if event.status == "done":
        return "already done"
    failures = []
    for name, handler in subscribers_for(event.kind):
        if not _claim(event.id, name):
            continue
        try:
            handler(event)
            _finish(event.id, name, "done")
            db.session.commit()
        except Exception as exc:  # a subscriber failed: record it, go on with the others
            db.session.rollback()
            log.exception("subscriber %s failed on event %s", name, event_id)
            _finish(event.id, name, "failed", "".join(traceback.format_exception_only(exc)).strip())
            db.session.commit()
            failures.append(name)
    event = db.session.get(OutboxEvent, event_id)
    event.attempts += 1
    finished = set(db.session.scalars(select(OutboxDelivery.subscriber).where(
        OutboxDelivery.event_id == event_id, OutboxDelivery.status == "done")))
    elsewhere = [name for name, _ in subscribers_for(event.kind) if name not in finished and name not in failures]
    if elsewhere and not failures:
        # Another worker holds these deliveries: it marks the event done when it finishes. If it
        # died, the event stays pending, so the sweep re-enqueues it until the delivery is stuck
        # long enough (STUCK_AFTER) to be retaken. Marking it done here would lose that work.
        db.session.commit()
        return "running elsewhere: " + ", ".join(elsewhere)
    if failures:
        event.status = "failed"
        event.last_error = "failed: " + ", ".join(failures)
        db.session.commit()
        raise RuntimeError(f"event {event_id}: subscribers failed: {', '.join(failures)}")
    event.status = "done"
    event.last_error = None
    event.processed_at = utcnow()
    db.session.commit()
    return "done"


def _claim(event_id: int, subscriber: str) -> bool:
    """Take a subscriber's turn on an event; False if it is done or another worker holds it."""
    row = db.session.scalar(select(OutboxDelivery).filter_by(event_id=event_id, subscriber=subscriber))
    now = utcnow()
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(OutboxDelivery(event_id=event_id, subscriber=subscriber, status="running",
                                              started_at=now))
            db.session.commit()
            return True
        except IntegrityError:  # another worker inserted it first
            db.session.rollback()
            return False
    if row.status == "done":
        return False
    # failed, or running but stuck: retake it with a guarded UPDATE so only one worker wins
    taken = db.session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == row.id, OutboxDelivery.status == row.status,
               OutboxDelivery.attempts == row.attempts,
               or_(OutboxDelivery.status == "failed", OutboxDelivery.started_at < now - STUCK_AFTER))
        .values(status="running", attempts=row.attempts + 1, started_at=now)
    ).rowcount
    db.session.commit()
    return taken == 1


def _finish(event_id: int, subscriber: str, status: str, error: str | None = None) -> None:
    db.session.execute(
        update(OutboxDelivery).where(OutboxDelivery.event_id == event_id, OutboxDelivery.subscriber == subscriber)
        .values(status=status, error=error, finished_at=utcnow()))


def sweep_outbox(limit: int = 500) -> int:
    """Re-enqueue events committed but never processed (Redis was down, a worker was killed).

    Failed events are left for an admin (the rule engine's screens show them).
    """
    stale = utcnow() - timedelta(seconds=current_app.config["OUTBOX_STALE_SECONDS"])
    ids = list(db.session.scalars(
        select(OutboxEvent.id)
        .where(OutboxEvent.status == "pending", OutboxEvent.created_at < stale,
               or_(OutboxEvent.enqueued_at.is_(None), OutboxEvent.enqueued_at < stale))
        .order_by(OutboxEvent.created_at).limit(limit)))
    if not ids:
        return 0
    db.session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(enqueued_at=utcnow()))
    db.session.commit()
    get_queue().enqueue_events(ids)
    return len(ids)
