"""A worker app with one test-only outbox subscriber, for test_rq_worker.py.

    flask --app tests/integration/subscriber_app.py worker

A subscriber registered inside the test process is invisible to a worker process, so the
worker loads this factory instead of wsgi.py. The subscriber writes one TicketEvent per call
(field "test_marker"), so the test can count how often it really ran for each event.
"""
import time

from portal import create_app as create_portal_app
from portal.events import subscribe
from portal.extensions import db
from portal.models import TicketEvent

MARKER = "test_marker"


def write_marker(event) -> None:
    # Take a moment, so that a duplicate delivery of the same event on the other worker
    # arrives while this one still holds the delivery.
    time.sleep(0.3)
    db.session.add(TicketEvent(ticket_id=event.ticket_id, outbox_id=event.id, field=MARKER,
                               new_value=str(event.id), version=0, actor_label="test subscriber"))


def create_app():
    app = create_portal_app()
    subscribe(MARKER)(write_marker)
    return app
