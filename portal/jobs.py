"""RQ entry points. Jobs take ids, look things up, and are safe to run twice."""
import logging
import traceback
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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

    Round trips are counted here (this runs once per event): one read of the event, one
    INSERT ... ON CONFLICT per claim, and the event's own status is written in the last
    subscriber's transaction when every subscriber is done.
    """
    event = db.session.get(OutboxEvent, event_id)
    if event is None:
        return "missing"
    if event.status == "done":
        return "already done"
    # Detached, it keeps its loaded columns across the commits below instead of reloading them.
    db.session.expunge(event)
    subscribers = subscribers_for(event.kind, event.payload or {})
    failures: list[str] = []
    elsewhere: list[str] = []
    for index, (name, handler) in enumerate(subscribers):
        claim = _claim(event.id, name)
        if claim != "claimed":
            if claim == "running":
                elsewhere.append(name)
            continue
        last = index == len(subscribers) - 1
        try:
            handler(event)
            _finish(event.id, name, "done")
            if last and not failures and not elsewhere:
                _mark_event(event.id, "done")
                db.session.commit()
                return "done"
            db.session.commit()
        except Exception as exc:  # a subscriber failed: record it, go on with the others
            db.session.rollback()
            log.exception("subscriber %s failed on event %s", name, event_id)
            _finish(event.id, name, "failed", "".join(traceback.format_exception_only(exc)).strip())
            db.session.commit()
            failures.append(name)
    if failures:
        _mark_event(event.id, "failed", "failed: " + ", ".join(failures))
        db.session.commit()
        raise RuntimeError(f"event {event_id}: subscribers failed: {', '.join(failures)}")
    if elsewhere:
        # Another worker holds these deliveries: it marks the event done when it finishes. If it
        # died, the event stays pending, so the sweep re-enqueues it until the delivery is stuck
        # long enough (STUCK_AFTER) to be retaken. Marking it done here would lose that work.
        _mark_event(event.id, None)
        db.session.commit()
        return "running elsewhere: " + ", ".join(elsewhere)
    _mark_event(event.id, "done")
    db.session.commit()
    return "done"


def _mark_event(event_id: int, status: str | None, error: str | None = None) -> None:
    """Count the attempt; with a status, record how it ended."""
    values: dict = {"attempts": OutboxEvent.attempts + 1}
    if status is not None:
        values.update(status=status, last_error=error)
        if status == "done":
            values["processed_at"] = utcnow()
    db.session.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(**values))


def _claim(event_id: int, subscriber: str) -> str:
    """Take a subscriber's turn on an event (committed at once, so other workers see it):
    "claimed", or "done" / "running" when it is finished or another worker holds it."""
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    inserted = db.session.execute(
        insert(OutboxDelivery).values(event_id=event_id, subscriber=subscriber, status="running", attempts=1,
                                      started_at=now)
        .on_conflict_do_nothing(index_elements=["event_id", "subscriber"]).returning(OutboxDelivery.id)
    ).scalar()
    if inserted is not None:
        db.session.commit()
        return "claimed"
    row = db.session.execute(select(OutboxDelivery.id, OutboxDelivery.status, OutboxDelivery.attempts,
                                    OutboxDelivery.started_at)
                             .filter_by(event_id=event_id, subscriber=subscriber)).one()
    if row.status == "done":
        db.session.commit()
        return "done"
    # failed, or running but stuck: retake it with a guarded UPDATE so only one worker wins
    taken = db.session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == row.id, OutboxDelivery.status == row.status,
               OutboxDelivery.attempts == row.attempts,
               or_(OutboxDelivery.status == "failed", OutboxDelivery.started_at < now - STUCK_AFTER))
        .values(status="running", attempts=row.attempts + 1, started_at=now)
    ).rowcount
    db.session.commit()
    return "claimed" if taken == 1 else "running"


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
