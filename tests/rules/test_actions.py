"""The action vocabulary: every action type run through a rule, the dry run, and validation."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make_agent, make_contact, make_department, make_field, make_team, make_ticket
from portal.conditions import standard_catalogue
from portal.extensions import db
from portal.models import Notification, OutboundMessage, Priority, Thread, TicketEvent
from portal.queue import PENDING_KEY
from portal.services.tickets import Actor
from rule_builder import outbound
from rule_builder.actions import (ActionContext, apply_actions, register_assignment_strategy,
                                  unregister_assignment_strategy, validate_actions)

from .helpers import firings, fresh, make_rule, messages

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(app):
    dept = make_department(name="Returns", name_zh="退换货", email="returns@desk.example")
    senior = make_agent(departments=[dept], name="Sam Senior", language="en")
    zh_agent = make_agent(departments=[dept], name="张伟", language="zh_Hans")
    supervisor = make_agent(departments=[dept], role="supervisor", name="Chen Jing", language="zh_Hans")
    team = make_team(dept, name="Replacements", name_zh="换货组", members=[senior, zh_agent])
    contact = make_contact(email="li.hua@example.com", name="李华", language="zh_Hans")
    db.session.commit()
    return {"dept": dept, "senior": senior, "zh_agent": zh_agent, "supervisor": supervisor, "team": team,
            "contact": contact}


@pytest.fixture
def sizes(desk):
    make_field("size", "picklist", options=["S", "M", "L"])
    make_field("order_total", "number")
    make_field("note", "text")
    db.session.commit()


def run_rule(actions, desk, **ticket_kw):
    make_rule(actions=actions, department=desk["dept"])
    ticket = make_ticket(department=desk["dept"], contact=desk["contact"], **ticket_kw)
    db.session.commit()
    return fresh(ticket)


def test_set_field_on_standard_and_custom_fields(desk, sizes):
    ticket = run_rule([{"type": "set_field", "field": "status", "value": "pending"},
                       {"type": "set_field", "field": "priority", "value": "urgent"},
                       {"type": "set_field", "field": "channel", "value": "phone"},
                       {"type": "set_field", "field": "team", "value": desk["team"].id},
                       {"type": "set_field", "field": "assignee", "value": desk["senior"].id},
                       {"type": "set_field", "field": "cf.size", "value": "L"},
                       {"type": "set_field", "field": "cf.order_total", "value": 120}], desk,
                      custom_fields={"note": "kept"})
    assert (ticket.status, ticket.priority, ticket.channel) == ("pending", Priority.URGENT, "phone")
    assert (ticket.team_id, ticket.assignee_id) == (desk["team"].id, desk["senior"].id)
    assert ticket.custom_fields == {"note": "kept", "size": "L", "order_total": 120}
    (firing,) = firings(ticket=ticket)
    assert firing.changes["cf.size"] == [None, "L"] and firing.changes["team"] == [None, "Replacements"]
    # One update for all of it: one version step, one History row per field, one actor.
    rows = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.actor_label.like("rule %"))).all()
    assert {r.version for r in rows} == {ticket.version}
    assert {r.field for r in rows} == {"status", "priority", "channel", "team", "assignee", "custom_fields"}


def test_assign_to_an_agent_a_team_and_a_strategy(desk):
    chosen = desk["zh_agent"].id

    def least_busy(ticket, context):
        # Strategies run in the engine's session: they return ids (or objects they loaded there).
        return {"assignee": chosen, "reason": "least loaded among 2 agents"}

    register_assignment_strategy("least_busy", least_busy, "Least busy")
    try:
        ticket = run_rule([{"type": "assign", "team": desk["team"].id}, {"type": "assign", "strategy": "least_busy"}],
                          desk)
    finally:
        unregister_assignment_strategy("least_busy")
    assert (ticket.team_id, ticket.assignee_id) == (desk["team"].id, desk["zh_agent"].id)
    (row,) = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.field == "assignee")).all()
    assert row.reason == "least loaded among 2 agents"
    other = run_rule([{"type": "assign", "agent": desk["senior"].id}], desk)
    assert other.assignee_id == desk["senior"].id


def test_tags_are_added_and_removed(desk):
    ticket = run_rule([{"type": "add_tags", "tags": ["VIP", " phone  heat "]},
                       {"type": "remove_tags", "tags": ["old"]}], desk, tags=["old", "keep"])
    assert ticket.tags == ["keep", "phone heat", "vip"]


def test_internal_note_in_the_assignees_language(desk):
    ticket = run_rule([{"type": "assign", "agent": desk["zh_agent"].id},
                       {"type": "add_note", "body": {"en": "Check {{ ticket.ref }}", "zh": "请检查 {{ ticket.ref }}"}}],
                      desk)
    (note,) = db.session.scalars(select(Thread).where(Thread.ticket_id == ticket.id, Thread.kind == "note")).all()
    assert note.body_text == f"请检查 #{ticket.id}"


def test_emails_to_each_kind_of_recipient(desk):
    body = {"en": "Dear {{ contact.name }}, {{ ticket.subject }} ({{ department.name }})",
            "zh": "{{ contact.name }}，您好：{{ ticket.subject }}（{{ department.name }}）"}
    actions = [{"type": "assign", "agent": desk["senior"].id}, {"type": "assign", "team": desk["team"].id}]
    actions += [{"type": "send_email", "to": to, "subject": "{{ ticket.ref }}", "body": body}
                for to in ("customer", "assignee", "team", "supervisor")]
    actions += [{"type": "send_email", "to": "address", "address": "audit@example.com", "subject": "Audit",
                 "body": "{{ ticket.url }}"}]
    ticket = run_rule(actions, desk, subject="手机发热")
    sent = {(m.recipient, m.dedupe_key.split(":", 2)[2]): m for m in messages("email")}
    event_id = messages("email")[0].dedupe_key.split(":")[0]
    rule_id = firings(ticket=ticket)[0].rule_id
    assert set(sent) == {
        ("li.hua@example.com", "2"), (desk["senior"].email, "3"),
        (desk["senior"].email, f"4:u{desk['senior'].id}"), (desk["zh_agent"].email, f"4:u{desk['zh_agent'].id}"),
        (desk["supervisor"].email, f"5:u{desk['supervisor'].id}"), ("audit@example.com", "6")}
    customer = sent[("li.hua@example.com", "2")]
    assert customer.dedupe_key == f"{event_id}:{rule_id}:2"
    assert customer.body == "李华，您好：手机发热（退换货）" and customer.subject == f"#{ticket.id}"
    assert customer.sender == "returns@desk.example"
    assert sent[(desk["senior"].email, "3")].body == "Dear 李华, 手机发热 (Returns)"
    assert sent[("audit@example.com", "6")].body == f"http://localhost:5000/tickets/{ticket.id}"
    # No MAIL_SERVER in tests: kept, never pretended sent.
    assert {m.status for m in sent.values()} == {"held"}


def test_an_email_without_a_recipient_is_skipped_not_failed(desk):
    ticket = run_rule([{"type": "send_email", "to": "assignee", "subject": "x", "body": "y"}], desk)
    (firing,) = firings(ticket=ticket)
    assert firing.status == "applied"
    assert firing.outputs == [{"type": "send_email", "to": "assignee", "status": "skipped",
                               "reason": "The ticket has no assignee."}]
    assert messages() == []


def test_notifications(desk):
    ticket = run_rule([{"type": "assign", "agent": desk["senior"].id}, {"type": "assign", "team": desk["team"].id},
                       {"type": "notify", "to": "assignee", "text": "Yours: {{ ticket.ref }}"},
                       {"type": "notify", "to": "supervisor", "text": {"en": "Look", "zh": "请看 {{ ticket.ref }}"}},
                       {"type": "notify", "to": "agent", "agent": desk["zh_agent"].id, "text": "FYI"},
                       {"type": "notify", "to": "team", "text": "Team: {{ team.name }}"}], desk)
    got = sorted((n.user_id, n.text) for n in db.session.scalars(select(Notification).filter_by(ticket_id=ticket.id)))
    assert got == sorted([(desk["senior"].id, f"Yours: #{ticket.id}"), (desk["supervisor"].id, f"请看 #{ticket.id}"),
                          (desk["zh_agent"].id, "FYI"), (desk["senior"].id, "Team: Replacements"),
                          (desk["zh_agent"].id, "Team: 换货组")])


def test_move_department_with_and_without_a_team(desk):
    tech = make_department(name="Tech")
    senior_team = make_team(tech, name="Senior")
    ticket = run_rule([{"type": "assign", "team": desk["team"].id},
                       {"type": "move_department", "department": tech.id, "team": senior_team.id}], desk)
    assert (ticket.department_id, ticket.team_id) == (tech.id, senior_team.id)
    # Without a team, the ticket service drops the team that doesn't fit (and audits it).
    billing = make_department(name="Billing")
    other = make_ticket(department=billing, team=make_team(billing))
    db.session.commit()
    apply_actions(fresh(other), [{"type": "move_department", "department": tech.id}], actor=Actor(label="test"),
                  context=ActionContext(dedupe_base="test"))
    db.session.commit()
    assert (fresh(other).department_id, fresh(other).team_id) == (tech.id, None)


def test_webhook_queues_a_signed_payload(desk):
    ticket = run_rule([{"type": "webhook", "url": "https://hooks.example.com/desk", "secret": "s3cret"}], desk)
    (message,) = messages("webhook")
    payload = message.payload
    assert payload["event"]["kind"] == "ticket.created" and payload["event"]["rule"]["revision"] == 1
    assert payload["ticket"]["number"] == ticket.id and payload["ticket"]["department"]["name"] == "Returns"
    assert payload["changes"]["subject"][1] == ticket.subject
    assert message.headers["X-Deskwright-Signature"] == outbound.signature("s3cret", message.body.encode())


def test_dry_run_describes_everything_and_changes_nothing(desk):
    ticket = make_ticket(department=desk["dept"], contact=desk["contact"])
    db.session.commit()
    ticket = fresh(ticket)
    version = ticket.version
    pending = list(db.session.info.get(PENDING_KEY, []))
    result = apply_actions(ticket, [
        {"type": "set_field", "field": "priority", "value": "high"},
        {"type": "add_tags", "tags": ["dry"]},
        {"type": "add_note", "body": "note {{ ticket.priority }}"},
        {"type": "send_email", "to": "customer", "subject": "S", "body": "B {{ ticket.priority }}"},
        {"type": "notify", "to": "agent", "agent": desk["senior"].id, "text": "N"},
        {"type": "webhook", "url": "https://hooks.example.com/x"},
        {"type": "stop"},
    ], actor=Actor(label="simulator"), context=ActionContext(dedupe_base="dry", dry_run=True))
    assert result.changes == {"priority": ["normal", "high"], "tags": [None, "dry"]}
    assert result.stop
    kinds = [(o["type"], o.get("status")) for o in result.outputs]
    assert kinds == [("add_note", None), ("send_email", "dry run"), ("notify", None), ("webhook", "dry run")]
    assert result.outputs[0]["body"] == "note high" and result.outputs[1]["body"] == "B high"
    db.session.commit()
    ticket = fresh(ticket)
    assert (ticket.version, ticket.priority, ticket.tags) == (version, Priority.NORMAL, [])
    assert db.session.scalar(select(OutboundMessage.id)) is None
    assert db.session.scalar(select(Notification.id)) is None
    assert db.session.scalars(select(Thread).where(Thread.ticket_id == ticket.id, Thread.kind == "note")).all() == []
    assert list(db.session.info.get(PENDING_KEY, [])) == pending


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------
def test_validation_puts_each_problem_on_its_row(desk, sizes):
    from portal.conditions import app_catalogue
    other_team = make_team(make_department(name="Elsewhere"))
    actions = [
        {"type": "set_field", "field": "priority", "value": "high"},          # 0 fine
        {"type": "set_field", "field": "priority", "value": "huge"},          # 1
        {"type": "set_field", "field": "subject", "value": "x"},              # 2
        {"type": "set_field", "field": "cf.size", "value": "XXL"},            # 3
        {"type": "set_field", "field": "cf.nope", "value": "1"},              # 4
        {"type": "assign", "agent": desk["senior"].id, "team": desk["team"].id},  # 5
        {"type": "assign", "strategy": "round_robin"},                        # 6
        {"type": "add_tags", "tags": []},                                     # 7
        {"type": "send_email", "to": "address", "address": "not-an-address", "subject": "s", "body": "b"},  # 8
        {"type": "send_email", "to": "customer", "subject": "{{ ticket.nope }}", "body": "b"},  # 9
        {"type": "notify", "to": "team", "text": "{% set x = 1 %}"},          # 10
        {"type": "webhook", "url": "ftp://example.com/"},                     # 11
        {"type": "move_department", "department": 99999},                     # 12
        {"type": "assign", "team": other_team.id},                            # 13 (another department)
        {"type": "explode"},                                                  # 14
        {"type": "stop", "now": True},                                        # 15
        {"type": "add_note", "body": "{{ ''.__class__.__mro__ }}"},           # 16
        {"type": "send_email", "to": "customer", "subject": "s", "body": {"fr": "x"}},  # 17
    ]
    errors = {e.path: e.message for e in validate_actions(actions, app_catalogue(), department_id=desk["dept"].id)}
    assert set(errors) == {f"actions.{i}" for i in range(1, 18)}
    assert "Unknown priority" in errors["actions.1"]
    assert "cannot be set" in errors["actions.2"]
    assert "XXL" in errors["actions.3"]
    assert "Unknown field 'cf.nope'" in errors["actions.4"]
    assert "exactly one" in errors["actions.5"]
    assert "round_robin" in errors["actions.6"]
    assert "valid email" in errors["actions.8"]
    assert "Subject" in errors["actions.9"] and "nope" in errors["actions.9"]
    assert "cannot use set" in errors["actions.10"]
    assert "http" in errors["actions.11"]
    assert "Unknown department" in errors["actions.12"]
    assert "not part of this rule's department" in errors["actions.13"]
    assert "Unknown action type" in errors["actions.14"]
    assert "Unknown setting 'now'" in errors["actions.15"]
    assert "sandbox" in errors["actions.16"] and "__class__" in errors["actions.16"]
    assert "texts by language" in errors["actions.17"]
    assert validate_actions({"type": "stop"}, standard_catalogue())[0].path == "actions"
