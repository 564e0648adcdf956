"""tickets.batched: several updates to one ticket as one version and one outbox event."""
import pytest
from sqlalchemy import select

from factories import make_department, make_team, make_ticket
from portal.extensions import db
from portal.models import OutboxEvent, Priority, TicketEvent
from portal.services import tickets
from portal.services.errors import ValidationFailed
from portal.services.tickets import Actor, update_ticket

pytestmark = pytest.mark.integration


def updated_events(ticket):
    return list(db.session.scalars(select(OutboxEvent).filter_by(ticket_id=ticket.id, kind="ticket.updated")))


def test_updates_in_a_batch_are_one_version_and_one_event(app):
    ticket = make_ticket()
    db.session.commit()
    with tickets.batched(ticket, by=Actor(label="robots", origin="robots")) as batch:
        assert update_ticket(ticket, {"priority": "high"}, by=Actor(label="first")) == {
            "priority": (Priority.NORMAL, Priority.HIGH)}
        update_ticket(ticket, {"tags": ["x"]}, by=Actor(label="second"), reason="because")
        update_ticket(ticket, {"priority": "urgent"}, by=Actor(label="third"))
        assert ticket.version == 1 and updated_events(ticket) == []  # nothing written yet
        assert batch.diff() == {"priority": (Priority.NORMAL, Priority.URGENT), "tags": ([], ["x"])}
    db.session.commit()
    assert ticket.version == 2
    (event,) = updated_events(ticket)
    assert event.payload["actor"]["label"] == "robots"
    assert event.payload["changes"] == {"priority": [int(Priority.NORMAL), int(Priority.URGENT)], "tags": [[], ["x"]]}
    rows = db.session.scalars(select(TicketEvent).filter_by(outbox_id=event.id).order_by(TicketEvent.id)).all()
    assert [(r.actor_label, r.field, r.old_value, r.new_value, r.reason) for r in rows] == [
        ("first", "priority", "normal", "high", None), ("second", "tags", None, "x", "because"),
        ("third", "priority", "high", "urgent", None)]


def test_a_refused_update_in_a_batch_touches_nothing_and_the_rest_is_kept(app):
    ticket = make_ticket()
    far_team = make_team(make_department(name="Far"))
    db.session.commit()
    with tickets.batched(ticket, by="rules"):
        update_ticket(ticket, {"priority": "high"}, by="first")
        with pytest.raises(ValidationFailed):
            update_ticket(ticket, {"tags": ["y"], "team": far_team.id}, by="second")
        assert ticket.tags == [] and ticket.team_id is None
    db.session.commit()
    assert ticket.priority == Priority.HIGH and ticket.version == 2


def test_discard_after_forgets_changes_rolled_back_by_the_caller(app):
    ticket = make_ticket()
    db.session.commit()
    with tickets.batched(ticket, by="rules") as batch:
        update_ticket(ticket, {"priority": "high"}, by="kept")
        mark = batch.mark()
        with db.session.begin_nested() as savepoint:
            update_ticket(ticket, {"tags": ["gone"]}, by="dropped")
            savepoint.rollback()
        batch.discard_after(mark)
        db.session.expire(ticket)
    db.session.commit()
    (event,) = updated_events(ticket)
    assert set(event.payload["changes"]) == {"priority"} and ticket.tags == []
    assert {r.actor_label for r in db.session.scalars(select(TicketEvent).filter_by(outbox_id=event.id))} == {"kept"}


def test_a_batch_that_raises_writes_nothing_and_an_empty_batch_no_event(app):
    ticket = make_ticket()
    db.session.commit()
    with pytest.raises(RuntimeError):
        with tickets.batched(ticket, by="rules"):
            update_ticket(ticket, {"priority": "high"}, by="x")
            raise RuntimeError("boom")
    db.session.rollback()
    with tickets.batched(ticket, by="rules"):
        update_ticket(ticket, {"priority": ticket.priority_key}, by="no change")
    db.session.commit()
    assert updated_events(ticket) == [] and ticket.version == 1 and ticket.priority == Priority.NORMAL
    # outside a batch, updates are written at once again
    update_ticket(ticket, {"priority": "low"}, by="y")
    assert ticket.version == 2 and len(updated_events(ticket)) == 1


def test_nested_batches_record_in_the_outer_one(app):
    ticket = make_ticket()
    db.session.commit()
    with tickets.batched(ticket, by="outer"):
        with tickets.batched(ticket, by="inner"):
            update_ticket(ticket, {"priority": "high"}, by="a")
        assert updated_events(ticket) == []
        update_ticket(ticket, {"tags": ["t"]}, by="b")
    db.session.commit()
    (event,) = updated_events(ticket)
    assert event.payload["actor"]["label"] == "outer" and set(event.payload["changes"]) == {"priority", "tags"}
