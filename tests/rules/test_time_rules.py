"""Time-based rules: SQL over open tickets, once per ticket per episode; the periodic registry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import make_agent, make_department, make_ticket
from portal.events import periodic, run_due_periodic, unregister_periodic
from portal.extensions import db
from portal.models import Notification, utcnow
from portal.services.tickets import add_thread, update_ticket
from rule_builder.models import Rule, TimeRuleEpisode
from rule_builder.time_rules import run_time_rules

from .helpers import firings, fresh, leaf, make_rule, messages

pytestmark = pytest.mark.integration

WAITING = {"all": [leaf("tags", "contains", "waiting")]}


def episodes(rule):
    db.session.expire_all()
    return list(db.session.scalars(select(TimeRuleEpisode).filter_by(rule_id=rule.id)))


def test_a_time_rule_fires_once_per_episode(app):
    agent = make_agent()
    rule = make_rule("Chase", trigger="time", condition=WAITING,
                     actions=[{"type": "add_note", "body": "Still waiting: {{ ticket.ref }}"}])
    ticket = make_ticket(tags=["waiting"])
    other = make_ticket()
    db.session.commit()
    now = utcnow()
    (run,) = run_time_rules(now)
    assert run.fired == [ticket.id] and run.failed == [] and run.ended == 0
    (episode,) = episodes(rule)
    assert (episode.ticket_id, episode.started_at) == (ticket.id, now)
    # Still true: no second firing.
    assert run_time_rules(now + timedelta(minutes=5))[0].fired == []
    # False, then true again: a new episode, a second firing.
    update_ticket(fresh(ticket), {"tags": []}, by=agent)
    db.session.commit()
    assert run_time_rules(now + timedelta(minutes=10))[0].ended == 1 and episodes(rule) == []
    update_ticket(fresh(ticket), {"tags": ["waiting"]}, by=agent)
    db.session.commit()
    assert run_time_rules(now + timedelta(minutes=15))[0].fired == [ticket.id]
    assert [f.event_id for f in firings(rule=rule)] == [None, None]
    assert len(firings(ticket=other)) == 0
    notes = [t.body_text for t in fresh(ticket).threads if t.kind == "note"]
    assert notes == [f"Still waiting: #{ticket.id}"] * 2


def test_time_rules_only_see_open_tickets_of_their_department(app):
    returns, tech = make_department(name="Returns"), make_department(name="Tech")
    rule = make_rule(trigger="time", condition=WAITING, department=returns,
                     actions=[{"type": "add_tags", "tags": ["seen"]}])
    mine = make_ticket(department=returns, tags=["waiting"])
    closed = make_ticket(department=returns, tags=["waiting"], status="closed")
    theirs = make_ticket(department=tech, tags=["waiting"])
    db.session.commit()
    assert run_time_rules()[0].fired == [mine.id]
    assert fresh(mine).tags == ["seen", "waiting"] and fresh(closed).tags == fresh(theirs).tags == ["waiting"]
    # The episode ends when the ticket is closed.
    update_ticket(fresh(mine), {"status": "closed"}, by="test")
    db.session.commit()
    assert run_time_rules()[0].ended == 1 and episodes(rule) == []


def test_a_failing_time_rule_opens_its_episode_and_is_logged(app):
    rule = Rule(name="Broken", trigger="time", condition=WAITING, position=0, revision=1, description="",
                enabled=True, actions=[{"type": "add_note", "body": "{{ ticket.nope }}"}])
    db.session.add(rule)
    ticket = make_ticket(tags=["waiting"])
    db.session.commit()
    (run,) = run_time_rules()
    assert run.failed == [ticket.id]
    (firing,) = firings(rule=rule)
    assert firing.status == "failed" and "nope" in firing.error
    assert len(episodes(rule)) == 1
    assert run_time_rules()[0].failed == []  # not retried every few minutes


def test_the_demo_rule_overdue_and_long_notifies_the_supervisors(app):
    dept = make_department(name="Tech support")
    supervisor = make_agent(departments=[dept], role="supervisor", language="en")
    rule = make_rule("Long overdue", trigger="time",
                     condition={"all": [leaf("thread_count", "gt", 10), leaf("hours_until_due", "lt", 0)]},
                     actions=[{"type": "notify", "to": "supervisor", "text": "{{ ticket.ref }} is long and late"}])
    now = utcnow()
    late_long = make_ticket(department=dept, resolution_due_at=now - timedelta(hours=1))
    make_ticket(department=dept, resolution_due_at=now - timedelta(hours=1))
    early_long = make_ticket(department=dept, resolution_due_at=now + timedelta(hours=5))
    for ticket in (late_long, early_long):
        for i in range(10):
            add_thread(ticket, kind="customer", body=f"again {i}", by="customer")
    db.session.commit()
    assert run_time_rules(now)[0].fired == [late_long.id]
    (note,) = db.session.scalars(select(Notification)).all()
    assert (note.user_id, note.text) == (supervisor.id, f"#{late_long.id} is long and late")
    assert [f.ticket_id for f in firings(rule=rule)] == [late_long.id]


def test_a_time_rules_changes_run_the_updated_rules(app):
    make_rule("Escalate", trigger="time", condition=WAITING,
              actions=[{"type": "set_field", "field": "priority", "value": "urgent"}])
    follow = make_rule("Urgent mail", trigger="updated", condition={"all": [leaf("priority", "changed_to", "urgent")]},
                       actions=[{"type": "send_email", "to": "address", "address": "oncall@example.com",
                                 "subject": "{{ ticket.ref }} is urgent", "body": "."}])
    ticket = make_ticket(tags=["waiting"])
    db.session.commit()
    now = utcnow()
    run_time_rules(now)
    (firing,) = firings(rule=follow)
    assert firing.status == "applied" and firing.event_id is None
    (message,) = messages("email")
    assert message.dedupe_key.startswith(f"time:") and message.subject == f"#{ticket.id} is urgent"
    run_time_rules(now + timedelta(minutes=5))
    assert len(messages("email")) == 1


def test_periodic_tasks_run_when_due_and_a_failure_stops_no_other(app):
    calls = []

    @periodic("test.often", 0)
    def often(now):
        calls.append("often")

    @periodic("test.broken", 0)
    def broken(now):
        raise RuntimeError("boom")

    @periodic("test.rarely", 3600)
    def rarely(now):
        calls.append("rarely")

    try:
        ran = run_due_periodic()
        assert {"test.often", "test.broken", "test.rarely", "time_rules", "outbound_sweep"} <= set(ran)
        assert calls == ["often", "rarely"]
        ran = run_due_periodic()
        assert "test.often" in ran and "test.rarely" not in ran and "time_rules" not in ran
        assert "test.rarely" in run_due_periodic(force=True)
    finally:
        for name in ("test.often", "test.broken", "test.rarely"):
            unregister_periodic(name)


def test_the_scheduler_runs_the_time_rules(app):
    make_rule(trigger="time", condition=WAITING, actions=[{"type": "add_tags", "tags": ["chased"]}])
    ticket = make_ticket(tags=["waiting"])
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "time_rules" in result.output
    assert fresh(ticket).tags == ["chased", "waiting"]
