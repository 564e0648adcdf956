"""Subscribers to outbox events, and periodic tasks.

Feature packages register handlers here from their `init_app` (the rule engine, assignment,
SLA, notifications...). `portal.jobs.process_events` (a worker's batch) and `process_event` (one
event) run every subscriber once per event. Handlers receive the OutboxEvent and must be safe to
run again after a crash mid-way or a rolled-back batch: their own effects are keyed by the event
id and written in the transaction they are given.

Periodic tasks (time-based rules, SLA breaches, outbound retries) register with `periodic`.
`flask --app wsgi scheduler` (production: one per desk) and the embedded worker thread
(`make run`) call `run_due_periodic` every few seconds; a task runs when its interval has
passed since it last ran in this process, in an app context of its own (a fresh session), and
one failing task never stops the others. Tasks must be safe to run twice or concurrently (a
second scheduler started by mistake): their effects are keyed in the database.
"""
from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

log = logging.getLogger(__name__)

Handler = Callable[["object"], None]
# wants(kind, payload) -> bool: whether the subscriber acts on an event at all.
Wants = Callable[[str, dict], bool]
# prepare(events) -> a context manager entered around a batch of the subscriber's events
# (portal.jobs.process_events): it may load what the handlers will need in a few queries.
Prepare = Callable[[list], AbstractContextManager]


@dataclass(frozen=True)
class Subscriber:
    kinds: tuple[str, ...]
    handler: Handler
    wants: Wants | None = None
    prepare: Prepare | None = None

    def takes(self, kind: str, payload: dict | None) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        return self.wants is None or payload is None or bool(self.wants(kind, payload))


_subscribers: dict[str, Subscriber] = {}


def subscribe(name: str, kinds: tuple[str, ...] = (), wants: Wants | None = None,
              prepare: Prepare | None = None) -> Callable[[Handler], Handler]:
    """Register `handler` under a stable `name` for the given event kinds (empty: all kinds).

    `wants(kind, payload)` narrows it further, and is decided when the event is written: an
    event that no subscriber takes is recorded `done` in its transaction and never queued (the
    rule engine ignores the ticket.updated events its own actions cause, ~80% of all events on
    a desk with many rules; queueing them cost a job and three commits each). It must look
    only at the payload, never at the database.

    `prepare(events)`, optional, returns a context manager that `portal.jobs.process_events`
    enters around a batch of events (those among them the subscriber takes): a place to load in
    a few queries what the handler would otherwise read one event at a time. The handler must
    give the same result with or without it (a single event, the one-by-one fallback).
    """

    def register(handler: Handler) -> Handler:
        _subscribers[name] = Subscriber(tuple(kinds), handler, wants, prepare)
        return handler

    return register


def unsubscribe(name: str) -> None:
    _subscribers.pop(name, None)


def subscribers_for(kind: str, payload: dict | None = None) -> list[tuple[str, Handler]]:
    """The subscribers that take an event of `kind` (and, given its payload, want it)."""
    return [(name, sub.handler) for name, sub in _subscribers.items() if sub.takes(kind, payload)]


def preparer_of(name: str) -> Prepare | None:
    """The batch hook a subscriber registered (see `subscribe`), or None."""
    sub = _subscribers.get(name)
    return sub.prepare if sub else None


# --------------------------------------------------------------------------------------------
# Periodic tasks
# --------------------------------------------------------------------------------------------
Interval = Union[float, str, Callable[[], float]]


@dataclass
class PeriodicTask:
    name: str
    func: Callable[[datetime], Any]
    every: Interval  # seconds, a config key holding the seconds, or a callable returning them
    # app -> time.monotonic() of its last run here (weak: apps made by tests come and go)
    last_run: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)

    def interval(self, app) -> float:
        if isinstance(self.every, str):
            return float(app.config[self.every])
        if callable(self.every):
            return float(self.every())
        return float(self.every)


_periodic: dict[str, PeriodicTask] = {}


def periodic(name: str, every_seconds: Interval) -> Callable[[Callable], Callable]:
    """Register `func(now)` under a stable `name`, to run every `every_seconds`: a number, or
    a config key such as "TIME_RULES_SECONDS" (read each time, so tests and deployments set it)."""

    def register(func: Callable[[datetime], Any]) -> Callable[[datetime], Any]:
        _periodic[name] = PeriodicTask(name, func, every_seconds)
        return func

    return register


def unregister_periodic(name: str) -> None:
    _periodic.pop(name, None)


def periodic_tasks() -> list[PeriodicTask]:
    return list(_periodic.values())


def run_due_periodic(now: datetime | None = None, *, force: bool = False) -> list[str]:
    """Run the periodic tasks that are due (every one with `force`); returns the names run.

    Needs an app context (the app comes from it). Each task runs in an app context of its own
    and is committed after it returns; a task that raises is rolled back and logged.
    """
    from flask import current_app

    from .extensions import db
    from .models import utcnow

    app = current_app._get_current_object()
    ran = []
    for task in periodic_tasks():
        last = task.last_run.get(app)
        clock = time.monotonic()
        if not force and last is not None and clock - last < task.interval(app):
            continue
        task.last_run[app] = clock
        with app.app_context():
            try:
                task.func(now or utcnow())
                db.session.commit()
            except Exception:  # one failing sweep must not stop the others; it runs again next time
                db.session.rollback()
                log.exception("periodic task %s failed", task.name)
        ran.append(task.name)
    return ran
