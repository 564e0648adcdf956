"""Macros: validated and versioned like rules; applied by an agent where available; usage counted."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make_agent, make_department, make_team, make_ticket
from portal.extensions import db
from portal.models import OutboxEvent, Priority, TicketEvent
from portal.services.errors import ValidationFailed
from rule_builder.macros import apply_macro, macro_document, macros_for, rollback_macro, save_macro
from rule_builder.models import MacroRevision

from .helpers import fresh, leaf, make_rule

pytestmark = pytest.mark.integration

ESCALATE = [{"type": "set_field", "field": "priority", "value": "urgent"}, {"type": "add_tags", "tags": ["escalated"]},
            {"type": "add_note", "body": "Escalated by macro"}]


def test_save_validates_and_keeps_revisions(app):
    agent = make_agent()
    with pytest.raises(ValidationFailed) as caught:
        save_macro(None, {"name": "", "condition": {"all": [leaf("nope", "eq", 1)]},
                          "actions": [{"type": "stop"}]}, agent)
    assert set(caught.value.errors) == {"name", "condition.0", "actions.0"}
    macro = save_macro(None, {"name": "Escalate", "actions": ESCALATE}, agent)
    assert (macro.owner_id, macro.revision) == (agent.id, 1)  # personal unless shared
    save_macro(macro, {**macro_document(macro), "shared": True, "actions": ESCALATE[:2]}, agent)
    assert (macro.owner_id, macro.revision) == (None, 2)
    rollback_macro(macro, 1, agent)
    db.session.commit()
    assert macro.revision == 3 and macro.actions == ESCALATE
    summaries = [r.summary for r in db.session.scalars(select(MacroRevision).filter_by(macro_id=macro.id)
                                                       .order_by(MacroRevision.revision))]
    assert summaries == ["Created.", "Shared; actions 3 → 2.", "Rolled back to r1."]


def test_apply_to_a_selection_where_available(app):
    dept = make_department()
    agent = make_agent(departments=[dept])
    macro = save_macro(None, {"name": "Escalate", "shared": True, "actions": ESCALATE,
                              "condition": {"all": [leaf("status", "neq", "closed")]}}, agent)
    watcher = make_rule("Urgent watch", trigger="updated",
                        condition={"all": [leaf("priority", "changed_to", "urgent")]},
                        actions=[{"type": "add_tags", "tags": ["watched"]}])
    a, b = make_ticket(department=dept), make_ticket(department=dept)
    closed = make_ticket(department=dept, status="closed")
    db.session.commit()
    outcome = apply_macro(macro, [fresh(a), fresh(b), fresh(closed)], agent)
    db.session.commit()
    assert outcome == {a.id: "applied", b.id: "applied", closed.id: "This macro is not available for this ticket."}
    ticket = fresh(a)
    assert ticket.priority == Priority.URGENT and ticket.tags == ["escalated", "watched"]
    # The History shows the agent; the events are the agent's, so rules react to them.
    rows = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == a.id, TicketEvent.field == "priority")
                              .order_by(TicketEvent.id)).all()
    assert (rows[-1].actor_id, rows[-1].new_value, rows[-1].reason) == (agent.id, "urgent", "macro 'Escalate'")
    assert watcher.id and db.session.get(type(macro), macro.id).usage_count == 2
    assert fresh(closed).priority == Priority.NORMAL
    events = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.ticket_id == a.id, OutboxEvent.kind == "ticket.updated").order_by(OutboxEvent.id)).all()
    assert events[0].payload["actor"] == {"user_id": agent.id, "label": None, "origin": "macro"}


def test_a_failing_ticket_spoils_none_of_the_others(app):
    dept, other = make_department(), make_department()
    team = make_team(dept)
    agent = make_agent(departments=[dept, other])
    macro = save_macro(None, {"name": "To team", "shared": True,
                              "actions": [{"type": "assign", "team": team.id}, {"type": "add_tags", "tags": ["x"]}]},
                       agent)
    good, bad = make_ticket(department=dept), make_ticket(department=other)
    db.session.commit()
    outcome = apply_macro(macro, [fresh(good), fresh(bad)], agent)
    db.session.commit()
    assert outcome[good.id] == "applied" and "not part of" in outcome[bad.id]
    assert fresh(bad).tags == [] and fresh(good).tags == ["x"]
    assert macro.usage_count == 1


def test_personal_and_department_macros(app):
    returns, tech = make_department(), make_department()
    owner, colleague = make_agent(departments=[returns, tech]), make_agent(departments=[returns, tech])
    mine = save_macro(None, {"name": "Mine", "actions": ESCALATE[:1]}, owner)
    returns_only = save_macro(None, {"name": "Returns", "shared": True, "department_id": returns.id,
                                     "actions": ESCALATE[:1]}, owner)
    ticket = make_ticket(department=tech)
    db.session.commit()
    assert [m.name for m in macros_for(owner)] == ["Mine", "Returns"]
    assert [m.name for m in macros_for(colleague)] == ["Returns"]
    assert [m.name for m in macros_for(owner, fresh(ticket))] == ["Mine"]
    outcome = apply_macro(mine, [fresh(ticket)], colleague) | apply_macro(returns_only, [fresh(ticket)], owner)
    assert outcome == {ticket.id: "This macro is for another department."}
    assert apply_macro(mine, [fresh(ticket)], colleague)[ticket.id] == "This macro is someone else's."
