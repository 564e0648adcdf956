"""What a rule sees of a ticket: `snapshot(ticket, now)`, and an event's changes in the same form.

A snapshot maps each field name to its raw value: ids for records, the priority rank, the tags
list, aware datetimes, text as stored, custom fields flattened to "cf.<key>", plus "now" (what
the computed hours fields are measured from). The derived fields (body, contact.tier, ...) are
read with the SQL compiler's own expressions (columns.DERIVED), in one query.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Ticket
from .columns import COLUMNS, DERIVED

# Fields the outbox payload carries as ISO text (services.tickets._raw)
_DATETIMES = frozenset(name for name, (column, _nullable) in COLUMNS.items()
                       if name.endswith("_at"))


def snapshot(ticket: Ticket, now: datetime, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ticket as conditions see it at `now` (flushes pending changes to read derived fields).

    `previous`, an earlier snapshot of the same ticket: its derived fields are reused when they
    cannot have changed (same contact, no new message), saving the query (the rule engine takes a
    snapshot after every firing).
    """
    if ticket.id is None:
        db.session.flush()
    values: dict[str, Any] = {"id": ticket.id, "now": now}
    for name, (column, _nullable) in COLUMNS.items():
        values[name] = getattr(ticket, column.key)
    if (previous is not None and previous.get("id") == ticket.id and previous.get("contact") == values.get("contact")
            and previous.get("thread_count") == values.get("thread_count") and DERIVED.keys() <= previous.keys()):
        values.update((name, previous[name]) for name in DERIVED)
    else:
        row = db.session.execute(select(*DERIVED.values()).where(Ticket.id == ticket.id)).one()
        values.update(zip(DERIVED, row))
    values["tags"] = list(ticket.tags)
    for key, value in (ticket.custom_fields or {}).items():
        values[f"cf.{key}"] = value
    return values


def changes_from_payload(changes: dict) -> dict[str, tuple]:
    """An outbox event's {"field": [old, new]} as {field: (old, new)} in snapshot form: custom fields
    flattened to cf.<key> (keys whose value didn't change are no change), due times as datetimes."""
    out: dict[str, tuple] = {}
    for name, (old, new) in changes.items():
        if name == "custom_fields":
            old, new = old or {}, new or {}
            for key in dict.fromkeys([*old, *new]):
                before, after = old.get(key), new.get(key)
                if type(before) is not type(after) or before != after:  # 1 == True, but not the same value
                    out[f"cf.{key}"] = (before, after)
        elif name in _DATETIMES:
            out[name] = (_moment(old), _moment(new))
        else:
            out[name] = (old, new)
    return out


def _moment(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value
