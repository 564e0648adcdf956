"""Subscribers to outbox events.

Feature packages register handlers here from their `init_app` (the rule engine, assignment,
SLA, notifications...). `portal.jobs.process_event` runs every subscriber once per event.
Handlers receive the OutboxEvent and must be safe to run again after a crash mid-way: their
own effects are keyed by the event id.
"""
from collections.abc import Callable

Handler = Callable[["object"], None]

_subscribers: dict[str, tuple[tuple[str, ...], Handler]] = {}


def subscribe(name: str, kinds: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Register `handler` under a stable `name` for the given event kinds (empty: all kinds)."""

    def register(handler: Handler) -> Handler:
        _subscribers[name] = (tuple(kinds), handler)
        return handler

    return register


def unsubscribe(name: str) -> None:
    _subscribers.pop(name, None)


def subscribers_for(kind: str) -> list[tuple[str, Handler]]:
    return [(name, handler) for name, (kinds, handler) in _subscribers.items() if not kinds or kind in kinds]
