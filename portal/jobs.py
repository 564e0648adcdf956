"""RQ entry points. Jobs take ids, look things up, and are safe to run twice.

Outbox events run in batches (`drain_outbox` -> `process_events`): the per-job cost of RQ and
the reads every event repeats (the rules, custom fields, departments) are paid once per batch.
`process_event` runs one event (sync mode, jobs queued by older code) by the same rules.
"""
import logging
import traceback
from contextlib import ExitStack
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .events import preparer_of, subscribers_for
from .extensions import db
from .models import OutboxDelivery, OutboxEvent, utcnow
from .queue import get_queue

log = logging.getLogger(__name__)

# A delivery still "running" after this long belongs to a worker that died; it may be retaken.
STUCK_AFTER = timedelta(minutes=10)


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------
def drain_outbox() -> str:
    """The job a commit's events wake (portal.queue): take up to OUTBOX_BATCH event ids from the
    queue's list and run them as one batch. Events whose subscribers failed are scheduled again
    with back-off (`retry_events`); the drain itself does not fail for them."""
    queue = get_queue()
    ids = queue.take_events(int(current_app.config["OUTBOX_BATCH"]))
    if not ids:
        return "nothing to do"
    outcomes = process_events(ids)
    failed = [event_id for event_id, outcome in outcomes.items() if outcome.startswith("failed")]
    if failed:
        queue.retry_events(failed)
    return f"{len(ids)} events: " + ", ".join(f"{n} {o}" for o, n in _count(outcomes.values()).items())


def retry_events(event_ids: list[int]) -> str:
    """A batch's failed events, run again after a back-off (RQ retries this job further)."""
    outcomes = process_events(event_ids)
    failed = {event_id: outcome for event_id, outcome in outcomes.items() if outcome.startswith("failed")}
    if failed:
        raise RuntimeError("; ".join(f"event {event_id}: subscribers {outcome}" for event_id, outcome in failed.items()))
    return ", ".join(f"{n} {o}" for o, n in _count(outcomes.values()).items())


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        key = value.split(":")[0]
        out[key] = out.get(key, 0) + 1
    return out


def process_events(event_ids: list[int]) -> dict[int, str]:
    """Run every subscriber that has not yet handled these events, as one batch.

    The same guarantees as `process_event`, one event at a time: a subscriber runs at most once
    per event (its OutboxDelivery row, claimed before it runs and committed, so a worker on
    another machine sees it), a failing subscriber is recorded without blocking the others.

    1. The events are read in one query and every (event, subscriber) pair claimed with one
       INSERT ... ON CONFLICT DO NOTHING; committed.
    2. Optimistically, every handler of the batch runs in ONE transaction (each subscriber's
       `prepare` hook reads what its handlers need for the whole batch first), then the
       deliveries and the events are marked done with one UPDATE each, and it commits.
    3. If any handler raises, that transaction is rolled back and the batch is run again one
       event at a time, each subscriber in a transaction of its own (`_run_one`): the events
       whose subscribers succeed are done, the failing one is recorded `failed`.

    Returns {event id: "done" | "already done" | "missing" | "failed: <subscribers>" |
    "running elsewhere: <subscribers>"}. Never raises for a failing subscriber (the caller
    schedules the retry); raises for errors outside the handlers (the database is gone).
    """
    ids = list(dict.fromkeys(int(event_id) for event_id in event_ids))
    outcomes = {event_id: "missing" for event_id in ids}
    if not ids:
        return outcomes
    work = []
    for event in db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)):
        if event.status == "done":
            outcomes[event.id] = "already done"
            continue
        work.append((event, subscribers_for(event.kind, event.payload or {})))
    for event, _subscribers in work:
        # Detached, they keep their loaded columns across the commits below instead of reloading them.
        db.session.expunge(event)
    if not work:
        db.session.commit()
        return outcomes
    claims = _claim_many([(event.id, name) for event, subscribers in work for name, _handler in subscribers])
    try:
        outcomes.update(_run_batch(work, claims))
        return outcomes
    except Exception:  # a handler (or a hook) failed: find which, one event at a time
        db.session.rollback()
        log.warning("a batch of %d outbox events failed as a whole; running them one by one", len(work),
                    exc_info=True)
    for event, subscribers in work:
        outcomes[event.id] = _run_one(event, subscribers, claims)
    return outcomes


def _run_batch(work: list, claims: dict) -> dict[int, str]:
    """Step 2 of process_events: every held subscriber of every event in one transaction."""
    outcomes: dict[int, str] = {}
    finished: list[int] = []        # delivery ids
    done: list[int] = []            # event ids
    elsewhere: list[int] = []
    with ExitStack() as stack:
        names = dict.fromkeys(name for event, subscribers in work for name, _handler in subscribers)
        for name in names:
            prepare = preparer_of(name)
            held = [event for event, subscribers in work
                    if any(n == name and claims[(event.id, n)][0] == "claimed" for n, _h in subscribers)]
            if prepare is not None and held:
                stack.enter_context(prepare(held))
        for event, subscribers in work:
            busy = []
            for name, handler in subscribers:
                state, delivery_id = claims[(event.id, name)]
                if state == "claimed":
                    handler(event)
                    finished.append(delivery_id)
                elif state == "running":
                    busy.append(name)
            if busy:
                elsewhere.append(event.id)
                outcomes[event.id] = "running elsewhere: " + ", ".join(busy)
            else:
                done.append(event.id)
                outcomes[event.id] = "done"
    now = utcnow()
    if finished:
        db.session.execute(update(OutboxDelivery).where(OutboxDelivery.id.in_(finished))
                           .values(status="done", error=None, finished_at=now))
    if done:
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(done))
                           .values(status="done", last_error=None, processed_at=now,
                                   attempts=OutboxEvent.attempts + 1))
    if elsewhere:  # see process_event: the worker holding the delivery marks the event done
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(elsewhere))
                           .values(attempts=OutboxEvent.attempts + 1))
    db.session.commit()
    return outcomes


def _claim_many(pairs: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, int | None]]:
    """Claim (event id, subscriber) pairs at once, committed: {pair: (state, delivery id)}, state
    "claimed", or "done" / "running" when it is finished or another worker holds it."""
    claims: dict[tuple[int, str], tuple[str, int | None]] = {}
    if not pairs:
        return claims
    now = utcnow()
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = db.session.execute(
        insert(OutboxDelivery).values([{"event_id": event_id, "subscriber": name, "status": "running", "attempts": 1,
                                        "started_at": now} for event_id, name in pairs])
        .on_conflict_do_nothing(index_elements=["event_id", "subscriber"])
        .returning(OutboxDelivery.id, OutboxDelivery.event_id, OutboxDelivery.subscriber)).all()
    for delivery_id, event_id, name in rows:
        claims[(event_id, name)] = ("claimed", delivery_id)
    rest = [pair for pair in pairs if pair not in claims]
    if rest:  # delivered before: done, failed, or running (maybe stuck) - as _claim decides
        found = db.session.execute(
            select(OutboxDelivery.id, OutboxDelivery.event_id, OutboxDelivery.subscriber, OutboxDelivery.status,
                   OutboxDelivery.attempts, OutboxDelivery.started_at)
            .where(tuple_(OutboxDelivery.event_id, OutboxDelivery.subscriber).in_(rest))).all()
        for row in found:
            claims[(row.event_id, row.subscriber)] = (_retake(row, now), row.id)
    db.session.commit()
    return claims


# --------------------------------------------------------------------------------------------
# One event
# --------------------------------------------------------------------------------------------
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
    outcome = _run_one(event, subscribers_for(event.kind, event.payload or {}))
    if outcome.startswith("failed"):
        raise RuntimeError(f"event {event_id}: subscribers {outcome}")
    return outcome


def _run_one(event: OutboxEvent, subscribers: list, claims: dict | None = None) -> str:
    """Run one event's subscribers, each in a transaction of its own. `claims`, from
    _claim_many, says which deliveries this worker already holds; without it each is claimed here."""
    failures: list[str] = []
    elsewhere: list[str] = []
    for index, (name, handler) in enumerate(subscribers):
        claim = claims[(event.id, name)][0] if claims is not None else _claim(event.id, name)
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
            log.exception("subscriber %s failed on event %s", name, event.id)
            _finish(event.id, name, "failed", "".join(traceback.format_exception_only(exc)).strip())
            db.session.commit()
            failures.append(name)
    if failures:
        _mark_event(event.id, "failed", "failed: " + ", ".join(failures))
        db.session.commit()
        return "failed: " + ", ".join(failures)
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
    state = _retake(row, now)
    db.session.commit()
    return state


def _retake(row, now) -> str:
    """A delivery row found when claiming: "done", or failed / running-but-stuck retaken with a
    guarded UPDATE so only one worker wins ("claimed"), else "running"."""
    if row.status == "done":
        return "done"
    taken = db.session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == row.id, OutboxDelivery.status == row.status,
               OutboxDelivery.attempts == row.attempts,
               or_(OutboxDelivery.status == "failed", OutboxDelivery.started_at < now - STUCK_AFTER))
        .values(status="running", attempts=row.attempts + 1, started_at=now)
    ).rowcount
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
