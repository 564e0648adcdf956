"""The rule engine over a batch of events (portal.jobs.process_events, what drain jobs run): the
same result as one event at a time, the shared reads done once per batch, a failing event retried
alone, a replayed batch changing nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from factories import make_department, make_team, make_ticket
from portal.extensions import db
from portal.jobs import process_event, process_events, retry_events
from portal.models import OutboxEvent, Priority, TicketEvent
from portal.services.tickets import update_ticket
from rule_builder import engine
from rule_builder.models import Rule

from .helpers import firings, fresh, leaf, make_rule

pytestmark = pytest.mark.integration

HIGH = {"type": "set_field", "field": "priority", "value": "high"}


def tag(*names):
    return {"type": "add_tags", "tags": list(names)}


def outcome_of(ticket) -> tuple:
    """What the rules left on a ticket: fields, and each firing's rule, status and changes."""
    ticket = fresh(ticket)
    return (ticket.priority, ticket.team_id, ticket.tags, ticket.version,
            [(f.rule_id, f.status, f.changes) for f in firings(ticket=ticket)],
            [(e.field, e.old_value, e.new_value, e.actor_label) for e in db.session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.actor_label != None)  # noqa: E711
                .order_by(TicketEvent.id))])


@pytest.fixture
def desk_rules(app):
    dept = make_department(name="Batches")
    team = make_team(dept, name="Senior")
    db.session.commit()
    make_rule("Refunds up", condition={"all": [leaf("subject", "contains", "refund")]}, actions=[HIGH, tag("refund")])
    make_rule("Senior for high", department=dept, condition={"all": [leaf("priority", "eq", "high")]},
              actions=[{"type": "assign", "team": team.id}])
    make_rule("Everyone", actions=[tag("seen")])
    make_rule("Follow up", trigger="updated", condition={"all": [leaf("tags", "contains", "refund")]},
              actions=[tag("followed")])
    make_rule("Never", condition={"all": [leaf("subject", "contains", "no such words")]}, actions=[tag("never")])
    return dept


def test_a_batch_gives_each_ticket_what_one_event_at_a_time_gives(app, desk_rules, held_events):
    subjects = ["A refund please", "Hello", "Refund again", "Printer"]
    one_by_one = [make_ticket(subject=s, department=desk_rules) for s in subjects]
    db.session.commit()
    singles = list(held_events)
    held_events.clear()
    batched = [make_ticket(subject=s, department=desk_rules) for s in subjects]
    db.session.commit()
    batch = list(held_events)

    for event_id in singles:
        assert process_event(event_id) == "done"
    assert process_events(batch) == {event_id: "done" for event_id in batch}

    for single, in_batch in zip(one_by_one, batched):
        assert outcome_of(in_batch) == outcome_of(single)
    refund = fresh(batched[0])
    assert refund.priority == Priority.HIGH and refund.tags == ["followed", "refund", "seen"]
    assert fresh(batched[1]).tags == ["seen"]


def test_the_shared_reads_happen_once_per_batch(app, desk_rules, held_events):
    for i in range(6):
        make_ticket(subject=f"refund {i}", department=desk_rules)
    db.session.commit()
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert set(process_events(held_events).values()) == {"done"}
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    reads = [s for s in statements if s.startswith("SELECT")]
    shown = "\n".join(r[:150] for r in reads)
    # the events, the rules' stamp (and the rules themselves: they changed since this process last
    # read them), the tickets (with department/team/assignee), their tags, their derived fields, the
    # teams the rules assign, the firings already there, the custom fields (+ departments): each once.
    assert sum(s.startswith("SELECT rules.id, rules.revision,") for s in reads) == 1, shown
    assert sum(s.startswith("SELECT tickets.id, tickets.subject") for s in reads) == 1, shown
    assert sum(" FROM rule_firings " in s for s in reads) == 1, shown
    assert sum(" FROM custom_fields " in s for s in reads) <= 1, shown
    assert len(reads) <= 11, shown


def test_two_events_of_one_ticket_in_one_batch(app, desk_rules, held_events):
    """Its created event, then an agent's change: in one batch, as if one after the other."""
    ticket = make_ticket(subject="Hello", department=desk_rules)
    db.session.commit()
    update_ticket(ticket, {"tags": ["refund"]}, by="agent")
    db.session.commit()
    created, updated = held_events
    assert process_events([created, updated]) == {created: "done", updated: "done"}
    ticket = fresh(ticket)
    # created: "Everyone" tagged it (the agent's tag was already there when the rules ran: rules
    # see the ticket as it is when they run); updated: "Follow up" fired on the agent's change.
    assert ticket.tags == ["followed", "refund", "seen"]
    by_event = {(f.event_id, f.rule_id) for f in firings(ticket=ticket)}
    assert len(by_event) == len(firings(ticket=ticket))


def test_a_replayed_batch_fires_nothing_twice(app, desk_rules, held_events):
    for subject in ("refund 1", "hello 2"):
        make_ticket(subject=subject, department=desk_rules)
    db.session.commit()
    ids = list(held_events)
    process_events(ids)
    before = [outcome_of(t) for t in (fresh(t_id) for t_id in _tickets_of(ids))]
    n_events = db.session.query(OutboxEvent).count()
    # Replay as a worker that died before recording anything would: deliveries forgotten, events pending.
    from portal.models import OutboxDelivery
    db.session.query(OutboxDelivery).filter(OutboxDelivery.event_id.in_(ids)).delete()
    db.session.query(OutboxEvent).filter(OutboxEvent.id.in_(ids)).update({"status": "pending"})
    db.session.commit()
    assert process_events(ids + ids) == {event_id: "done" for event_id in ids}
    assert [outcome_of(t) for t in (fresh(t_id) for t_id in _tickets_of(ids))] == before
    assert db.session.query(OutboxEvent).count() == n_events  # no new ticket.updated event either


def _tickets_of(event_ids):
    return [db.session.get(OutboxEvent, event_id).ticket_id for event_id in event_ids]


def test_a_database_error_on_one_event_fails_it_alone_and_the_retry_applies_it(app, desk_rules, held_events,
                                                                                monkeypatch):
    tickets = [make_ticket(subject=s, department=desk_rules) for s in ("refund 1", "refund 2", "refund 3")]
    db.session.commit()
    a, b, c = held_events
    real = engine.run_rules

    def flaky(ticket, *args, **kwargs):
        if ticket.id == tickets[1].id:
            raise OperationalError("UPDATE tickets", {}, Exception("server closed the connection"))
        return real(ticket, *args, **kwargs)

    monkeypatch.setattr(engine, "run_rules", flaky)
    assert process_events([a, b, c]) == {a: "done", b: "failed: rules", c: "done"}
    assert fresh(tickets[1]).tags == [] and firings(ticket=tickets[1]) == []
    assert fresh(tickets[0]).tags == ["followed", "refund", "seen"] == fresh(tickets[2]).tags
    monkeypatch.undo()
    assert retry_events([b]) == "1 done"
    assert fresh(tickets[1]).tags == ["followed", "refund", "seen"]
    assert len(firings(ticket=tickets[0])) == len(firings(ticket=tickets[1]))


def test_a_failing_rule_is_contained_in_a_batch(app, desk_rules, held_events):
    # save_rule refuses such a template (test_services); this one was stored some other way.
    bad = Rule(name="Bad template", trigger="created", condition={"all": [leaf("subject", "contains", "sandbox")]},
               position=0, revision=1, description="", enabled=True,
               actions=[HIGH, {"type": "add_note", "body": "{{ ''.__class__.__mro__ }}"}])
    db.session.add(bad)
    db.session.commit()
    tickets = [make_ticket(subject=s, department=desk_rules) for s in ("sandbox refund", "hello")]
    db.session.commit()
    assert set(process_events(held_events).values()) == {"done"}
    (failed,) = firings(rule=bad)
    assert failed.status == "failed" and failed.ticket_id == tickets[0].id
    # the ticket untouched by that rule, the other rules applied
    assert fresh(tickets[0]).tags == ["followed", "refund", "seen"] and fresh(tickets[1]).tags == ["seen"]
