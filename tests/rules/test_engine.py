"""Rule engine semantics: order, once per event, later rules see earlier changes, stop, the
re-evaluation bound and its report, department scope, disabled rules, rule-made events skipped,
failures contained (the ticket untouched by a failing rule, the others go on)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from factories import make_agent, make_department, make_team, make_ticket
from portal.extensions import db
from portal.jobs import process_event
from portal.models import OutboxDelivery, OutboxEvent, Priority, Thread, TicketEvent
from portal.services.tickets import update_ticket
from rule_builder import engine
from rule_builder.models import Rule, RuleFiring
from rule_builder.services import reorder, set_enabled

from .helpers import firings, fresh, leaf, make_rule

pytestmark = pytest.mark.integration

HIGH = {"type": "set_field", "field": "priority", "value": "high"}


def tag(*names):
    return {"type": "add_tags", "tags": list(names)}


def history(ticket, actor_label=None):
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    if actor_label:
        query = query.where(TicketEvent.actor_label == actor_label)
    return list(db.session.scalars(query))


def test_rules_run_in_order_and_later_rules_see_earlier_changes(app):
    first = make_rule("Raise", actions=[HIGH])
    second = make_rule("Tag high ones", condition={"all": [leaf("priority", "eq", "high")]},
                       actions=[tag("seen-high")])
    ticket = fresh(make_ticket())
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.priority == Priority.HIGH and ticket.tags == ["seen-high"]
    assert [(f.rule_id, f.status) for f in firings(ticket=ticket)] == [(first.id, "applied"), (second.id, "applied")]
    (change,) = history(ticket, "rule 'Raise' r1")
    assert (change.field, change.old_value, change.new_value) == ("priority", "normal", "high")
    assert [e.field for e in history(ticket, "rule 'Tag high ones' r1")] == ["tags"]
    assert firings(rule=first)[0].changes == {"priority": ["normal", "high"]}

    # The other way round, the tagging rule runs first and finds a normal ticket. ("created" rules
    # don't run again in the re-evaluation passes, which are for "updated" rules.)
    reorder([second.id, first.id])
    db.session.commit()
    other = make_ticket()
    db.session.commit()
    other = fresh(other)
    assert other.priority == Priority.HIGH and other.tags == []


def test_each_rule_fires_once_per_event_even_when_the_event_is_replayed(app, held_events):
    rule = make_rule(actions=[tag("once"), {"type": "add_note", "body": "Rule ran on {{ ticket.ref }}"}])
    ticket = make_ticket()
    db.session.commit()
    (event_id,) = held_events
    assert process_event(event_id) == "done"
    ticket = fresh(ticket)
    version = ticket.version
    # Replay: forget the delivery (a worker died before recording it), run again; and run the
    # subscriber itself once more for good measure.
    db.session.query(OutboxDelivery).filter_by(event_id=event_id).delete()
    db.session.get(OutboxEvent, event_id).status = "pending"
    db.session.commit()
    assert process_event(event_id) == "done"
    engine.run_event(db.session.get(OutboxEvent, event_id))
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.version == version and ticket.tags == ["once"]
    assert len(firings(rule=rule)) == 1
    notes = db.session.scalars(select(Thread).where(Thread.ticket_id == ticket.id, Thread.kind == "note")).all()
    assert [n.body_text for n in notes] == [f"Rule ran on #{ticket.id}"]


def test_stop_ends_processing_for_the_event(app):
    make_rule("Stopper", actions=[tag("a"), {"type": "stop"}])
    later = make_rule("Never", actions=[tag("b")])
    ticket = make_ticket()
    db.session.commit()
    assert fresh(ticket).tags == ["a"]
    assert firings(rule=later) == []


def test_an_update_pass_runs_the_updated_rules_with_the_new_changes(app):
    make_rule("Raise", actions=[HIGH])
    escalate = make_rule("Escalated", trigger="updated", condition={"all": [leaf("priority", "changed_to", "high")]},
                         actions=[tag("escalated")])
    ticket = make_ticket()
    db.session.commit()
    assert fresh(ticket).tags == ["escalated"]
    (firing,) = firings(rule=escalate)
    assert firing.event_id is not None  # recorded against the original event


def test_rule_made_events_are_skipped_by_the_rules_but_seen_by_other_subscribers(app, subscriber):
    seen = []
    subscriber("test.audit", lambda event: seen.append((event.kind, (event.payload["actor"] or {}).get("origin"))))
    make_rule("Raise", actions=[HIGH])
    watcher = make_rule("Any update", trigger="updated", actions=[tag("updated")])
    ticket = make_ticket()
    db.session.commit()
    # The rule's own change is a ticket.updated event with origin "rules": other subscribers see
    # it; the rules subscriber does nothing with it (the re-evaluation pass already ran "updated").
    assert ("ticket.updated", "rules") in seen
    rule_events = [e for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.ticket_id == ticket.id))
                   if e.payload["actor"].get("origin") == "rules"]
    assert rule_events and all(e.status == "done" for e in rule_events)
    assert db.session.scalar(select(RuleFiring).where(RuleFiring.event_id.in_([e.id for e in rule_events]))) is None
    assert len(firings(rule=watcher)) == 1
    # A person's change does run the updated rules.
    agent = make_agent(departments=[ticket.department])
    update_ticket(fresh(ticket), {"status": "open"}, by=agent)
    db.session.commit()
    assert len(firings(rule=watcher)) == 2


def test_the_re_evaluation_is_bounded_and_the_loop_is_reported(app):
    app.config["RULES_MAX_PASSES"] = 3
    make_rule("Start", actions=[tag("step0")])
    # In reverse order, so each pass can fire only the next rule of the chain.
    chain = [make_rule(f"Step {k}", trigger="updated", condition={"all": [leaf("tags", "contains", f"step{k - 1}")]},
                       actions=[tag(f"step{k}")]) for k in range(1, 6)]
    reorder([r.id for r in reversed(chain)] + [db.session.scalar(select(Rule.id).filter_by(name="Start"))])
    db.session.commit()
    ticket = make_ticket()
    db.session.commit()
    ticket = fresh(ticket)
    # pass 1: Start; pass 2: Step 1; pass 3: Step 2. Step 3 would fire next: reported, not run.
    assert ticket.tags == ["step0", "step1", "step2"]
    statuses = {f.rule.name: f.status for f in firings(ticket=ticket)}
    assert statuses == {"Start": "applied", "Step 1": "applied", "Step 2": "applied", "Step 3": "loop"}
    (loop,) = [f for f in firings(ticket=ticket) if f.status == "loop"]
    assert "stopped after 3 passes" in loop.error and "'Step 3'" in loop.error
    (note,) = history(ticket, "rules")
    assert note.field == "rules" and "stopped after 3 passes" in note.new_value


def test_department_rules_only_run_on_their_departments_tickets(app):
    returns, tech = make_department(name="Returns"), make_department(name="Tech")
    make_rule("Returns only", department=returns, actions=[tag("returns")])
    make_rule("Everyone", actions=[tag("global")])
    a, b = make_ticket(department=returns), make_ticket(department=tech)
    db.session.commit()
    assert fresh(a).tags == ["global", "returns"]
    assert fresh(b).tags == ["global"]


def test_a_rule_skipped_after_an_earlier_rule_moved_the_ticket_away(app):
    returns, tech = make_department(name="Returns"), make_department(name="Tech")
    make_rule("Move", department=returns, actions=[{"type": "move_department", "department": tech.id}])
    stays = make_rule("Returns tag", department=returns, actions=[tag("returns")])
    ticket = make_ticket(department=returns)
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.department_id == tech.id and ticket.tags == []
    assert firings(rule=stays) == []


def test_disabled_rules_do_not_run(app):
    rule = make_rule("Off", actions=[tag("x")], enabled=False)
    ticket = make_ticket()
    db.session.commit()
    assert fresh(ticket).tags == []
    set_enabled(rule, True, None)
    db.session.commit()
    assert rule.revision == 2
    other = make_ticket()
    db.session.commit()
    assert fresh(other).tags == ["x"]


def test_a_failing_rule_is_rolled_back_and_logged_and_the_others_go_on(app):
    elsewhere = make_team(make_department(name="Elsewhere"))
    broken = make_rule("Bad team", actions=[tag("from-broken"), HIGH, {"type": "assign", "team": elsewhere.id}])
    make_rule("Fine", actions=[tag("fine")])
    ticket = make_ticket()
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.tags == ["fine"] and ticket.priority == Priority.NORMAL and ticket.team_id is None
    (failed,) = firings(rule=broken)
    assert failed.status == "failed" and "not part of" in failed.error and failed.changes == {}
    assert history(ticket, "rule 'Bad team' r1") == []
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.ticket_id == ticket.id,
                                                        OutboxEvent.kind == "ticket.created"))
    assert event.status == "done"  # a rule's failure is the rule's, not the event's


def test_a_template_sandbox_error_fails_the_rule_and_leaves_the_ticket_untouched(app):
    # save_rule refuses such a template (test_services); this one was stored some other way.
    rule = Rule(name="Evil", trigger="created", condition={"all": []}, position=0, revision=1, description="",
                enabled=True, actions=[HIGH, {"type": "add_note", "body": "{{ ''.__class__.__mro__ }}"}])
    db.session.add(rule)
    db.session.commit()
    ticket = make_ticket()
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.priority == Priority.NORMAL
    assert db.session.scalars(select(Thread).where(Thread.ticket_id == ticket.id, Thread.kind == "note")).all() == []
    (firing,) = firings(rule=rule)
    assert firing.status == "failed" and "sandbox" in firing.error and "__class__" in firing.error


def test_a_regex_that_runs_out_of_time_fails_only_its_rule(app, monkeypatch):
    from portal.conditions import ConditionTimeout, regexes

    def too_slow(pattern, text):
        raise ConditionTimeout(pattern)

    monkeypatch.setattr(regexes, "search", too_slow)
    slow = make_rule("Slow", condition={"all": [leaf("subject", "regex", "(a+)+$")]}, actions=[tag("slow")])
    make_rule("Quick", actions=[tag("quick")])
    ticket = make_ticket(subject="a" * 40 + "!")
    db.session.commit()
    assert fresh(ticket).tags == ["quick"]
    (firing,) = firings(rule=slow)
    assert firing.status == "failed" and "too long" in firing.error


def test_a_database_error_fails_the_event_for_a_retry_and_keeps_nothing(app, held_events, monkeypatch):
    rule = make_rule(actions=[tag("x")])
    ticket = make_ticket()
    db.session.commit()
    (event_id,) = held_events

    def broken(*args, **kwargs):
        raise OperationalError("UPDATE tickets", {}, Exception("database is locked"))

    monkeypatch.setattr(engine, "apply_actions", broken)
    with pytest.raises(RuntimeError, match="rules"):
        process_event(event_id)
    assert firings(rule=rule) == [] and fresh(ticket).tags == []
    monkeypatch.undo()
    assert process_event(event_id) == "done"  # the retry
    assert fresh(ticket).tags == ["x"] and len(firings(rule=rule)) == 1


def test_simulate_shows_what_would_happen_and_changes_nothing(app, smtp_server):
    make_rule("Raise", actions=[HIGH, {"type": "send_email", "to": "address", "address": "boss@example.com",
                                       "subject": "{{ ticket.ref }} is {{ ticket.priority }}", "body": "Look."}])
    make_rule("Tag high ones", condition={"all": [leaf("priority", "eq", "high")]}, actions=[tag("seen-high")])
    ticket = make_ticket(subject="Sim")
    db.session.commit()
    # Undo what the rules did at creation, to simulate on a fresh normal ticket.
    update_ticket(fresh(ticket), {"priority": "normal", "tags": []}, by="test")
    db.session.commit()
    ticket = fresh(ticket)
    version = ticket.version
    sent_before = len(smtp_server.envelopes)
    report = engine.simulate(ticket, "created")
    db.session.commit()
    assert [(f.rule.name, f.status) for f in report.firings] == [("Raise", "applied"), ("Tag high ones", "applied")]
    assert report.firings[0].changes == {"priority": ["normal", "high"]}
    (email,) = [o for o in report.firings[0].outputs if o["type"] == "send_email"]
    assert email["subject"] == f"#{ticket.id} is high" and email["status"] == "dry run"
    ticket = fresh(ticket)
    assert (ticket.version, ticket.priority, ticket.tags) == (version, Priority.NORMAL, [])
    assert len(smtp_server.envelopes) == sent_before


def stored(name, condition, actions):
    """A rule written around save_rule (an older release, a hand-edited database)."""
    rule = Rule(name=name, trigger="created", condition=condition, actions=actions, position=0, revision=1,
                description="", enabled=True)
    db.session.add(rule)
    db.session.commit()
    return rule


def test_rules_that_no_longer_validate_fail_alone(app):
    gone_field = stored("Gone field", {"all": [leaf("cf.size", "eq", "L")]}, [tag("size")])
    malformed = stored("Malformed", {"all": []}, [{"type": "set_field", "value": "high"}])
    unknown = stored("Unknown", {"all": []}, [{"type": "teleport"}])
    subject = stored("Subject", {"all": []}, [{"type": "set_field", "field": "subject", "value": "hijacked"}])
    make_rule("Fine", actions=[tag("fine")])
    ticket = make_ticket()
    db.session.commit()
    assert fresh(ticket).tags == ["fine"]
    errors = {f.rule_id: (f.status, f.error) for f in firings(ticket=ticket) if f.status != "applied"}
    assert errors[gone_field.id][0] == "failed" and "no longer valid" in errors[gone_field.id][1]
    assert "cf.size" in errors[gone_field.id][1]
    assert "malformed" in errors[malformed.id][1] and "unknown action type 'teleport'" in errors[unknown.id][1]
    assert "'subject' cannot be set" in errors[subject.id][1] and fresh(ticket).subject != "hijacked"


def test_a_run_is_one_version_and_one_event_with_each_change_under_its_rule(app, subscriber):
    """The firings of a run are batched: one version bump and one ticket.updated event (which other
    subscribers see, the rule engine doesn't queue), while History names the rule of each change."""
    seen = []
    subscriber("test.sla", lambda event: seen.append((event.kind, event.payload["changes"],
                                                       event.payload["actor"])), kinds=("ticket.updated",))
    make_rule("Raise", actions=[HIGH])
    make_rule("Tag", actions=[tag("a")])
    make_rule("Tag more", condition={"all": [leaf("priority", "eq", "high")]}, actions=[tag("b")])
    ticket = make_ticket()
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.priority == Priority.HIGH and ticket.tags == ["a", "b"]
    assert ticket.version == 2  # created at 1, one bump for the whole run
    (updated,) = db.session.scalars(select(OutboxEvent).filter_by(ticket_id=ticket.id, kind="ticket.updated")).all()
    assert updated.payload["changes"] == {"priority": [int(Priority.NORMAL), int(Priority.HIGH)], "tags": [[], ["a", "b"]]}
    assert updated.payload["actor"] == {"user_id": None, "label": "rules", "origin": "rules"}
    assert seen == [("ticket.updated", updated.payload["changes"], updated.payload["actor"])]
    rows = [(e.actor_label, e.field, e.new_value, e.outbox_id, e.version) for e in history(ticket)
            if e.actor_label and e.actor_label.startswith("rule ")]
    assert rows == [("rule 'Raise' r1", "priority", "high", updated.id, 2),
                    ("rule 'Tag' r1", "tags", "a", updated.id, 2),
                    ("rule 'Tag more' r1", "tags", "a, b", updated.id, 2)]


def test_without_other_subscribers_rule_made_events_are_never_queued(app, monkeypatch):
    queued = []
    queue = app.extensions["deskwright_queue"]
    real = queue.enqueue_events
    monkeypatch.setattr(queue, "enqueue_events", lambda ids: (queued.extend(ids), real(ids)))
    make_rule("Raise", actions=[HIGH])
    ticket = make_ticket()
    db.session.commit()
    kinds = {e.id: (e.kind, e.status) for e in db.session.scalars(select(OutboxEvent).filter_by(ticket_id=ticket.id))}
    assert sorted(kinds.values()) == [("ticket.created", "done"), ("ticket.updated", "done")]
    assert [kinds[i][0] for i in queued] == ["ticket.created"]


def test_a_field_rule_refused_after_others_keeps_theirs_and_changes_nothing_itself(app):
    """Field-only rules run without a savepoint: a refusal happens before the ticket is touched."""
    elsewhere = make_team(make_department(name="Far away"))
    make_rule("Raise", actions=[HIGH])
    bad = make_rule("Bad", actions=[tag("from-bad"), {"type": "assign", "team": elsewhere.id}])
    make_rule("Tag", actions=[tag("ok")])
    ticket = make_ticket()
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.priority == Priority.HIGH and ticket.tags == ["ok"] and ticket.team_id is None
    (failed,) = firings(rule=bad)
    assert failed.status == "failed" and "team" in failed.error.lower()
    assert not [e for e in history(ticket) if e.actor_label == "rule 'Bad' r1"]


def test_the_engine_sees_every_rule_change_at_once(app):
    """Enabled rules are cached per process; a save, a disable, a reorder or a delete is seen by the
    next event (the cache's fingerprint moves)."""
    from rule_builder.services import delete_rule, save_rule
    first = make_rule("First", actions=[tag("one")])
    second = make_rule("Second", actions=[tag("two")])
    assert committed_ticket().tags == ["one", "two"]
    save_rule(first, {**first_doc(first), "actions": [tag("uno")]}, None)
    db.session.commit()
    assert committed_ticket().tags == ["two", "uno"]
    set_enabled(second, False, None)
    db.session.commit()
    assert committed_ticket().tags == ["uno"]
    set_enabled(second, True, None)
    reorder([second.id, first.id])
    third = make_rule("Third", actions=[{"type": "set_field", "field": "priority", "value": "low"}, tag("three")])
    db.session.commit()
    ticket = committed_ticket()
    assert ticket.tags == ["three", "two", "uno"] and ticket.priority == Priority.LOW
    assert [f.rule_id for f in firings(ticket=ticket)] == [second.id, first.id, third.id]
    delete_rule(third)
    db.session.commit()
    assert committed_ticket().tags == ["two", "uno"]


def committed_ticket():
    ticket = make_ticket()
    db.session.commit()  # the sync queue runs the rules at commit
    return fresh(ticket)


def first_doc(rule):
    return {"name": rule.name, "description": rule.description, "department_id": rule.department_id,
            "trigger": rule.trigger, "enabled": rule.enabled, "condition": rule.condition, "actions": rule.actions}
