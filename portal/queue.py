"""How jobs run: the one module that knows about RQ.

Modes (chosen by config, see docs/architecture.md):
- ``rq``: REDIS_URL is set; jobs go to Redis and `flask --app wsgi worker` processes run them.
- ``thread``: no Redis (what `make run` uses); an in-memory fakeredis queue and a worker
  thread inside the web process, which also runs the periodic outbox sweep and the periodic
  tasks registered with `portal.events.periodic`.
- ``sync``: tests; a job runs inline right after commit, in a fresh app context (its own
  session, as a worker would have).

Ticket changes write an OutboxEvent in the request's transaction. `after_commit` hands the
new event ids to the queue. If Redis is down, the event stays pending in the database and
the sweep enqueues it later: nothing is lost.
"""
import logging
import os
import threading
import time
from datetime import timedelta

from flask import Flask, current_app
from rq import Queue, Retry, SimpleWorker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUE_NAME = "deskwright"
PENDING_KEY = "deskwright_outbox_pending"
# Back-off for a failing event job; after the last try the event is left `failed` for admins.
EVENT_RETRY = Retry(max=3, interval=[5, 30, 120])
# Outbox event ids waiting for a drain job (a Redis list), and the flag saying a drain job is
# queued and not yet started (so a commit need not queue another). The flag expires, in case
# its job was lost (Redis flushed, the enqueue failed half-way): then the next commit queues one.
EVENTS_KEY = "deskwright:outbox:events"
WAKE_KEY = "deskwright:outbox:wake"
WAKE_TTL_SECONDS = 30


class AppWorker(SimpleWorker):
    """Runs each job in a fresh app context, so every job gets its own database session.

    SimpleWorker (no fork per job) because forking costs ~5x throughput (stack.md's figures)
    and forked children would inherit the parent's database connections.
    """

    app: Flask

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)


class EmbeddedWorker(AppWorker):
    """AppWorker for a thread: no signal handlers and no SIGALRM timeouts (main-thread only)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


class JobQueue:
    def __init__(self, app: Flask):
        self.app = app
        self.mode = "rq" if app.config.get("REDIS_URL") else app.config.get("QUEUE_MODE", "thread")
        if self.mode == "rq" and not app.config.get("REDIS_URL"):
            raise RuntimeError("QUEUE_MODE=rq needs REDIS_URL")
        self._rq: Queue | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- connection -------------------------------------------------------------------
    @property
    def connection(self):
        return self.rq_queue.connection

    @property
    def rq_queue(self) -> Queue:
        if self._rq is None:
            with self._lock:
                if self._rq is None:
                    if self.mode == "rq":
                        from redis import Redis
                        conn = Redis.from_url(self.app.config["REDIS_URL"], socket_timeout=5,
                                              socket_connect_timeout=2)
                    else:
                        import fakeredis
                        conn = fakeredis.FakeRedis(server=fakeredis.FakeServer())
                    self._rq = Queue(QUEUE_NAME, connection=conn, serializer=JSONSerializer,
                                     is_async=self.mode != "sync")
        return self._rq

    # -- enqueueing ---------------------------------------------------------------------
    def enqueue_events(self, event_ids: list[int]) -> None:
        """Hand committed outbox events to the workers.

        Not one RQ job per event: the ids go onto a Redis list, and a `drain_outbox` job is queued
        only if none is waiting already (WAKE_KEY); each drain takes up to OUTBOX_BATCH ids. At a
        trickle that is one job per commit, as before; with a backlog, one per batch - RQ's own
        per-job cost (~3 ms of a worker) was a fifth of an event's.
        """
        if not event_ids:
            return
        if self.mode == "sync":
            from .jobs import process_event
            for event_id in event_ids:
                try:
                    with self.app.app_context():
                        process_event(event_id)
                except Exception:  # as with a worker: the event is left failed, the caller's commit stands
                    log.exception("outbox event %s failed inline", event_id)
            return
        self._ensure_embedded_worker()
        try:
            with self.connection.pipeline() as pipe:  # MULTI/EXEC: the ids and the flag together
                pipe.rpush(EVENTS_KEY, *event_ids)
                pipe.set(WAKE_KEY, 1, nx=True, ex=WAKE_TTL_SECONDS)
                _length, wake = pipe.execute()
            if wake:
                self._enqueue_drain()
        except Exception:  # Redis down: the sweep picks the events up from the database later.
            log.warning("could not enqueue outbox events %s; the sweep will retry", event_ids, exc_info=True)

    def waiting_events(self) -> list[int]:
        """The event ids waiting for a drain job (tests, health pages)."""
        return [int(event_id) for event_id in self.connection.lrange(EVENTS_KEY, 0, -1)]

    def _enqueue_drain(self) -> None:
        self.rq_queue.enqueue("portal.jobs.drain_outbox", description="outbox events", result_ttl=60)

    def take_events(self, limit: int) -> list[int]:
        """For a drain job: up to `limit` event ids off the list. The wake flag is cleared in the
        same transaction, so a commit from now on queues a drain of its own; if more ids are
        waiting, another drain is queued at once, so a second worker takes them in parallel.

        Ids taken here and never processed (the worker was killed) are not lost: their events are
        still `pending` in the database and the sweep enqueues them again.
        """
        with self.connection.pipeline() as pipe:
            pipe.delete(WAKE_KEY)
            pipe.lpop(EVENTS_KEY, limit)
            pipe.llen(EVENTS_KEY)
            _deleted, ids, left = pipe.execute()
        if left and self.connection.set(WAKE_KEY, 1, nx=True, ex=WAKE_TTL_SECONDS):
            self._enqueue_drain()
        return [int(event_id) for event_id in ids or ()]

    def retry_events(self, event_ids: list[int]) -> None:
        """Events whose subscribers failed in a batch: run them again after EVENT_RETRY's first
        interval, as a job that RQ retries with the rest of the back-off. After the last try the
        event stays `failed` (with the error) for admins - as many tries as a job per event had."""
        first, *rest = EVENT_RETRY.intervals
        self.rq_queue.enqueue_in(timedelta(seconds=first), "portal.jobs.retry_events", list(event_ids),
                                 retry=Retry(max=len(rest), interval=rest) if rest else None,
                                 description=f"outbox events {list(event_ids)} (retry)")

    def enqueue(self, func: str, *args, **kwargs):
        if self.mode == "sync":
            import importlib
            module, name = func.rsplit(".", 1)
            with self.app.app_context():
                return getattr(importlib.import_module(module), name)(*args)
        self._ensure_embedded_worker()
        return self.rq_queue.enqueue(func, *args, **kwargs)

    # -- health ---------------------------------------------------------------------------
    def health(self) -> tuple[bool, str]:
        if self.mode == "sync":
            return True, "inline (sync)"
        if self.mode == "thread":
            return True, "embedded worker thread"
        try:
            self.connection.ping()
            return True, "redis"
        except Exception as exc:  # noqa: BLE001 - any failure means "down", named in the answer
            return False, f"redis unreachable: {exc.__class__.__name__}"

    # -- workers --------------------------------------------------------------------------
    def make_worker(self, worker_class=AppWorker):
        worker = worker_class([self.rq_queue], connection=self.connection, serializer=JSONSerializer)
        worker.app = self.app
        return worker

    def _ensure_embedded_worker(self) -> None:
        if self.mode != "thread" or (self._thread and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._embedded_loop, name="rq-embedded", daemon=True)
            self._thread.start()

    def _embedded_loop(self) -> None:
        from .events import run_due_periodic
        from .jobs import sweep_outbox
        last_sweep = 0.0
        while True:
            try:
                # burst + with_scheduler runs RQ's scheduler in-process (no fork), which the
                # in-memory fakeredis needs; retries with intervals then work too.
                self.make_worker(EmbeddedWorker).work(burst=True, with_scheduler=True, logging_level="WARNING")
                if time.monotonic() - last_sweep > self.app.config["OUTBOX_SWEEP_SECONDS"]:
                    last_sweep = time.monotonic()
                    with self.app.app_context():
                        sweep_outbox()
                with self.app.app_context():
                    run_due_periodic()  # time rules, outbound retries...: each on its own interval
            except Exception:  # keep the embedded worker alive whatever a job did
                log.exception("embedded worker loop")
            time.sleep(0.3)

    def start(self) -> None:
        """Start the embedded worker now (make run), instead of at the first enqueue."""
        self._ensure_embedded_worker()


def get_queue() -> JobQueue:
    return current_app.extensions["deskwright_queue"]


def get_queue_for(app: Flask) -> JobQueue:
    return app.extensions["deskwright_queue"]


def note_outbox_event(session: Session, event_id: int) -> None:
    """Called by the ticket service after flushing an OutboxEvent; enqueued after commit."""
    session.info.setdefault(PENDING_KEY, []).append(event_id)


def _after_commit(session: Session) -> None:
    # SQLAlchemy 2 also fires after_commit when a SAVEPOINT is released (begin_nested):
    # the events are not committed yet then, so wait for the outermost commit.
    if session.in_nested_transaction():
        return
    ids = session.info.pop(PENDING_KEY, None)
    if ids:
        get_queue().enqueue_events(ids)


def _after_rollback(session: Session, previous_transaction=None) -> None:
    # A rolled-back SAVEPOINT (bulk_update's refused ticket) must not drop the events the
    # outer transaction still holds. Ids noted inside the savepoint may stay listed; their
    # rows are gone, so process_event answers "missing" for them.
    if previous_transaction is not None and previous_transaction.nested:
        return
    session.info.pop(PENDING_KEY, None)


def init_app(app: Flask) -> None:
    # Events per drain job (portal.jobs.drain_outbox); the environment sets it for worker processes.
    app.config.setdefault("OUTBOX_BATCH", int(os.environ.get("OUTBOX_BATCH", 50)))
    app.extensions["deskwright_queue"] = JobQueue(app)
    if not sa_event.contains(Session, "after_commit", _after_commit):
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_soft_rollback", _after_rollback)
