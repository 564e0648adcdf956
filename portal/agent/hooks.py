"""Places in the agent workspace where feature packages add their own controls.

`portal` may not import the feature packages, so they register templates here at start-up and
the workspace includes them (with the page's context: `ticket` on the ticket page, `query` and
`page` in the queue). The rule builder's macros use both:

    register_ticket_action(app, "macros/_ticket_action.html")     # under the ticket's title
    register_queue_bulk_action(app, BulkAction(key="macro", label=_l("Apply macro"),
                               template="macros/_bulk_value.html", endpoint="macros.bulk_apply"))

A bulk action adds an entry to the bulk bar's "Change…" list and, when picked, shows its
template (the value control, marked `data-bulk-value="<key>"`); on submit the queue's bulk route
hands the request to `endpoint` (a view function of the feature package) unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

TICKET_ACTIONS = "deskwright_ticket_actions"
QUEUE_BULK_ACTIONS = "deskwright_queue_bulk_actions"


@dataclass(frozen=True)
class BulkAction:
    key: str          # the "action" value posted by the bulk bar
    label: Any        # a (lazy) translated string
    template: str     # the value control(s), with data-bulk-value="<key>" hidden disabled
    endpoint: str     # the view function that handles the POST


def _register(app: Flask, key: str, item: Any) -> None:
    items = app.extensions.setdefault(key, [])
    if item not in items:
        items.append(item)


def register_ticket_action(app: Flask, template: str) -> None:
    _register(app, TICKET_ACTIONS, template)


def register_queue_bulk_action(app: Flask, action: BulkAction) -> None:
    _register(app, QUEUE_BULK_ACTIONS, action)


def ticket_actions() -> list[str]:
    return list(current_app.extensions.get(TICKET_ACTIONS, ()))


def queue_bulk_actions() -> list[BulkAction]:
    return list(current_app.extensions.get(QUEUE_BULK_ACTIONS, ()))


def queue_bulk_action(key: str) -> BulkAction | None:
    return next((a for a in queue_bulk_actions() if a.key == key), None)
