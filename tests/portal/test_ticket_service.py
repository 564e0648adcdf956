"""The ticket service: change + audit + outbox in one transaction, validation, locking, threads."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import make_admin, make_agent, make_contact, make_department, make_team, make_ticket
from portal.extensions import db
from portal.models import OutboxEvent, Priority, Thread, Ticket, TicketEvent, User, utcnow
from portal.services.errors import StaleEdit, ValidationFailed
from portal.services.tickets import Actor, add_thread, bulk_update, changes_since, create_ticket, update_ticket

pytestmark = pytest.mark.integration


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def events_of(ticket) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                   .order_by(TicketEvent.id)))


def outbox_of(ticket) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.ticket_id == ticket.id)
                                   .order_by(OutboxEvent.id)))


# ------------------------------------------------------------------------------------------
# create
# ------------------------------------------------------------------------------------------
def test_create_records_audit_rows_and_one_outbox_event_in_the_same_transaction(app):
    dept = make_department()
    contact = make_contact()
    ticket = create_ticket(subject="  Printer   on fire ", department=dept, body="It smokes.", contact=contact,
                           priority="high", tags=["Hardware", "hardware", "urgent "], by="customer")

    # Before commit, in the same (open) transaction: the ticket, its first message, the audit, the outbox row.
    assert ticket.id and ticket.version == 1 and ticket.subject == "Printer on fire"
    assert ticket.tags == ["hardware", "urgent"]
    assert [t.kind for t in ticket.threads] == ["customer"] and count(Thread) == 1
    (event,) = outbox_of(ticket)
    assert event.kind == "ticket.created" and event.status == "pending"
    assert event.payload["changes"]["department"] == [None, dept.id]
    assert event.payload["changes"]["priority"] == [None, int(Priority.HIGH)]
    assert event.payload["actor"] == {"user_id": None, "label": "customer"}
    assert event.payload["thread_id"] == ticket.threads[0].id
    audit = {e.field: e for e in events_of(ticket)}
    assert set(audit) == {"subject", "status", "priority", "channel", "department", "contact", "tags"}
    assert audit["priority"].new_value == "high" and audit["priority"].old_value is None
    assert audit["tags"].new_value == "hardware, urgent"
    assert all(e.outbox_id == event.id and e.version == 1 and e.actor_label == "customer" for e in audit.values())

    # ...and they share its fate: a rollback leaves nothing behind.
    db.session.rollback()
    assert (count(Ticket), count(Thread), count(TicketEvent), count(OutboxEvent)) == (0, 0, 0, 0)


def test_commit_hands_the_outbox_event_to_the_queue(app, subscriber):
    seen = []
    subscriber("test.record", lambda event: seen.append((event.kind, event.ticket_id)))
    ticket = make_ticket()
    assert seen == []  # nothing runs before commit
    db.session.commit()
    assert seen == [("ticket.created", ticket.id)]
    (event,) = outbox_of(ticket)
    assert event.status == "done" and event.processed_at is not None and event.attempts == 1


def test_each_change_gets_one_outbox_event(app):
    agent = make_agent()
    ticket = make_ticket(department=make_department())
    ticket.department.members.append(agent)
    update_ticket(ticket, {"priority": "urgent"}, by=agent)
    update_ticket(ticket, {"status": "open", "tags": ["vip"]}, by=agent)
    add_thread(ticket, kind="note", body="Checked the logs.", by=agent)
    kinds = [e.kind for e in outbox_of(ticket)]
    assert kinds == ["ticket.created", "ticket.updated", "ticket.updated", "ticket.note_added"]
    assert ticket.version == 4


def test_create_with_html_body_is_sanitised(app):
    ticket = make_ticket(body_html='<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:evil()">l</a></p>')
    thread = ticket.threads[0]
    assert "script" not in thread.body_html and "onclick" not in thread.body_html
    assert "javascript" not in thread.body_html
    assert thread.body_text.startswith("Hi")


@pytest.mark.parametrize("kwargs, field", [
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 301}, "subject"),
    ({"status": "exploded"}, "status"),
    ({"priority": "whenever"}, "priority"),
    ({"channel": "pigeon"}, "channel"),
    ({"department": 999999}, "department"),
    ({"department": None}, "department"),
    ({"team": 999999}, "team"),
    ({"assignee": "nobody"}, "assignee"),
    ({"contact": 999999}, "contact"),
    ({"tags": ["x" * 65]}, "tags"),
    ({"custom_fields": ["not", "a", "dict"]}, "custom_fields"),
    ({"body": "   "}, "body"),
])
def test_create_validation_names_the_field_and_saves_nothing(app, kwargs, field):
    args = {"subject": "Fine", "department": make_department(), "body": "Fine"}
    args.update(kwargs)
    with pytest.raises(ValidationFailed) as exc:
        create_ticket(**args)
    assert set(exc.value.errors) == {field}
    assert str(exc.value.errors[field])
    assert (count(Ticket), count(Thread), count(TicketEvent), count(OutboxEvent)) == (0, 0, 0, 0)


def test_create_reports_every_bad_field_at_once(app):
    with pytest.raises(ValidationFailed) as exc:
        create_ticket(subject="", department=make_department(), body="x", status="?", priority="?")
    assert set(exc.value.errors) == {"subject", "status", "priority"}


def test_team_must_belong_to_the_department(app):
    sales, support = make_department(name="Sales"), make_department(name="Support")
    team = make_team(department=sales, name="Closers")
    with pytest.raises(ValidationFailed) as exc:
        make_ticket(department=support, team=team)
    assert set(exc.value.errors) == {"team"}
    assert "Closers" in str(exc.value.errors["team"]) and "Support" in str(exc.value.errors["team"])
    assert make_ticket(department=sales, team=team).team is team


def test_assignee_must_work_in_the_department(app):
    sales, support = make_department(), make_department()
    outsider = make_agent(departments=[sales], name="Olga Outsider")
    with pytest.raises(ValidationFailed) as exc:
        make_ticket(department=support, assignee=outsider)
    assert set(exc.value.errors) == {"assignee"} and "Olga Outsider" in str(exc.value.errors["assignee"])
    # admins work everywhere; deactivated agents nowhere
    assert make_ticket(department=support, assignee=make_admin()).assignee.is_admin
    gone = make_agent(departments=[support], active=False)
    with pytest.raises(ValidationFailed) as exc:
        make_ticket(department=support, assignee=gone)
    assert set(exc.value.errors) == {"assignee"}
    assert count(Ticket) == 1


# ------------------------------------------------------------------------------------------
# update
# ------------------------------------------------------------------------------------------
def test_update_returns_the_diff_and_audits_each_field(app):
    dept = make_department()
    agent = make_agent(departments=[dept], name="Ann Agent")
    ticket = make_ticket(department=dept)
    db.session.commit()

    diff = update_ticket(ticket, {"priority": "urgent", "status": "new", "assignee": agent.id,
                                  "subject": "Printer on fire"}, by=agent, reason="triage")
    assert diff == {"priority": (int(Priority.NORMAL), int(Priority.URGENT)), "assignee": (None, agent),
                    "subject": (diff["subject"][0], "Printer on fire")}  # status was already new
    assert ticket.version == 2 and ticket.assignee_id == agent.id
    assert ticket.search_text.startswith("Printer on fire\n")
    db.session.commit()

    changes = changes_since(ticket, 1)
    assert [(e.field, e.old_value, e.new_value) for e in changes] == [
        ("subject", diff["subject"][0], "Printer on fire"), ("priority", "normal", "urgent"),
        ("assignee", None, "Ann Agent")]
    assert {e.actor_name for e in changes} == {"Ann Agent"}
    assert {e.reason for e in changes} == {"triage"}
    event = outbox_of(ticket)[-1]
    assert event.kind == "ticket.updated"
    assert event.payload["changes"] == {"subject": [diff["subject"][0], "Printer on fire"],
                                        "priority": [2, 4], "assignee": [None, agent.id]}
    assert event.payload["actor"] == {"user_id": agent.id, "label": None}


def test_update_that_changes_nothing_records_nothing(app):
    dept = make_department()
    ticket = make_ticket(department=dept, priority="high", tags=["a", "b"])
    db.session.commit()
    before = (count(TicketEvent), count(OutboxEvent))
    diff = update_ticket(ticket, {"priority": "high", "department": dept.id, "tags": ["A", " a", "b"],
                                  "subject": ticket.subject}, by="system")
    assert diff == {}
    assert ticket.version == 1
    db.session.commit()
    assert (count(TicketEvent), count(OutboxEvent)) == before


def test_update_validation_saves_nothing(app):
    ticket = make_ticket()
    db.session.commit()
    before = (count(TicketEvent), count(OutboxEvent))
    with pytest.raises(ValidationFailed) as exc:
        update_ticket(ticket, {"status": "bogus", "priority": "low"}, by="system")
    assert set(exc.value.errors) == {"status"}
    with pytest.raises(ValidationFailed) as exc:
        update_ticket(ticket, {"id": 5, "version": 9}, by="system")
    assert set(exc.value.errors) == {"id", "version"}
    db.session.commit()
    db.session.refresh(ticket)
    assert (ticket.status, ticket.priority, ticket.version) == ("new", int(Priority.NORMAL), 1)
    assert (count(TicketEvent), count(OutboxEvent)) == before


def test_status_side_effects_resolved_at(app):
    ticket = make_ticket()
    update_ticket(ticket, {"status": "solved"}, by="system")
    assert ticket.resolved_at is not None
    update_ticket(ticket, {"status": "closed"}, by="system")
    assert ticket.resolved_at is not None
    update_ticket(ticket, {"status": "open"}, by="system")
    assert ticket.resolved_at is None


def test_department_move_drops_team_and_assignee_that_do_not_fit_and_audits_it(app):
    sales, support = make_department(name="Sales"), make_department(name="Support")
    team = make_team(department=sales, name="Closers")
    seller = make_agent(departments=[sales], name="Sam Seller")
    ticket = make_ticket(department=sales, team=team, assignee=seller)
    db.session.commit()

    diff = update_ticket(ticket, {"department": support}, by="system", reason="wrong queue")
    assert set(diff) == {"department", "team", "assignee"}
    assert (ticket.department_id, ticket.team_id, ticket.assignee_id) == (support.id, None, None)
    db.session.commit()
    audit = {e.field: (e.old_value, e.new_value, e.reason) for e in changes_since(ticket, 1)}
    assert audit == {"department": ("Sales", "Support", "wrong queue"), "team": ("Closers", None, "wrong queue"),
                     "assignee": ("Sam Seller", None, "wrong queue")}


def test_department_move_keeps_an_assignee_who_works_in_both(app):
    sales, support = make_department(), make_department()
    both = make_agent(departments=[sales, support])
    ticket = make_ticket(department=sales, assignee=both)
    assert set(update_ticket(ticket, {"department": support}, by="system")) == {"department"}
    assert ticket.assignee is both


def test_department_move_with_an_explicit_team_from_elsewhere_is_refused(app):
    sales, support = make_department(), make_department()
    sales_team = make_team(department=sales)
    ticket = make_ticket(department=sales)
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        update_ticket(ticket, {"department": support, "team": sales_team}, by="system")
    assert set(exc.value.errors) == {"team"}
    db.session.commit()
    db.session.refresh(ticket)
    assert ticket.department_id == sales.id and ticket.version == 1


def test_setting_a_team_of_another_department_is_refused(app):
    sales, support = make_department(), make_department()
    ticket = make_ticket(department=support)
    with pytest.raises(ValidationFailed) as exc:
        update_ticket(ticket, {"team": make_team(department=sales).id}, by="system")
    assert set(exc.value.errors) == {"team"}
    with pytest.raises(ValidationFailed) as exc:
        update_ticket(ticket, {"assignee": make_agent(departments=[sales])}, by="system")
    assert set(exc.value.errors) == {"assignee"}


def test_due_times_must_be_aware(app):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as exc:
        update_ticket(ticket, {"resolution_due_at": utcnow().replace(tzinfo=None)}, by="system")
    assert set(exc.value.errors) == {"resolution_due_at"}
    due = utcnow() + timedelta(hours=4)
    assert update_ticket(ticket, {"resolution_due_at": due}, by="system") == {"resolution_due_at": (None, due)}


# ------------------------------------------------------------------------------------------
# optimistic locking
# ------------------------------------------------------------------------------------------
def test_stale_expected_version_says_who_changed_what_and_saves_nothing(app):
    dept = make_department()
    ann = make_agent(departments=[dept], name="Ann")
    bob = make_agent(departments=[dept], name="Bob")
    ticket = make_ticket(department=dept)
    db.session.commit()
    seen_version = ticket.version

    update_ticket(ticket, {"priority": "urgent"}, by=ann, expected_version=seen_version)
    db.session.commit()
    events_before = count(TicketEvent)

    with pytest.raises(StaleEdit) as exc:
        update_ticket(ticket, {"priority": "low", "status": "open"}, by=bob, expected_version=seen_version)
    assert exc.value.changed_by == "Ann"
    assert [(e.field, e.new_value) for e in exc.value.changes] == [("priority", "urgent")]
    db.session.commit()
    db.session.refresh(ticket)
    assert (ticket.priority, ticket.status, ticket.version) == (int(Priority.URGENT), "new", 2)
    assert count(TicketEvent) == events_before


def test_two_sessions_racing_on_one_ticket_the_second_flush_is_stale(app):
    dept = make_department()
    ann = make_agent(departments=[dept], name="Ann")
    bob = make_agent(departments=[dept], name="Bob")
    ticket_id = make_ticket(department=dept, subject="Original").id
    db.session.commit()

    mine = db.session.get(Ticket, ticket_id)  # loaded at version 1 in the test's session
    assert mine.version == 1
    with app.app_context():  # another request: its own session
        theirs = db.session.get(Ticket, ticket_id)
        update_ticket(theirs, {"subject": "Bob's subject"}, by=db.session.get(User, bob.id))
        db.session.commit()

    with pytest.raises(StaleEdit) as exc:
        update_ticket(mine, {"subject": "Ann's subject"}, by=ann)  # no expected_version: the flush notices
    assert exc.value.changed_by == "Bob"
    db.session.commit()
    fresh = db.session.get(Ticket, ticket_id)
    db.session.refresh(fresh)
    assert (fresh.subject, fresh.version) == ("Bob's subject", 2)
    assert [(e.field, e.new_value, e.actor_name) for e in changes_since(fresh, 1)] == [
        ("subject", "Bob's subject", "Bob")]


def test_racing_thread_and_update_second_is_stale(app):
    ticket_id = make_ticket().id
    db.session.commit()
    mine = db.session.get(Ticket, ticket_id)
    with app.app_context():
        add_thread(db.session.get(Ticket, ticket_id), kind="customer", body="Any news?", by="customer")
        db.session.commit()
    with pytest.raises(StaleEdit):
        add_thread(mine, kind="reply", body="On it", by="system")
    db.session.commit()
    assert [t.body_text for t in db.session.get(Ticket, ticket_id).threads][-1] == "Any news?"
    assert count(Thread) == 2


# ------------------------------------------------------------------------------------------
# threads
# ------------------------------------------------------------------------------------------
def test_customer_reply_reopens_a_pending_ticket(app):
    ticket = make_ticket(status="pending")
    db.session.commit()
    add_thread(ticket, kind="customer", body="Here is the log you asked for.", by="customer")
    assert ticket.status == "open" and ticket.last_customer_reply_at is not None
    db.session.commit()
    event = outbox_of(ticket)[-1]
    assert event.kind == "ticket.customer_replied"
    assert event.payload["changes"] == {"status": ["pending", "open"]}
    assert [(e.field, e.old_value, e.new_value) for e in changes_since(ticket, 1)] == [("status", "pending", "open")]


def test_customer_reply_reopens_solved_but_keeps_new_and_closed(app):
    solved = make_ticket(status="solved")
    add_thread(solved, kind="customer", body="Still broken", by="customer")
    assert solved.status == "open" and solved.resolved_at is None
    for status in ("new", "closed", "on_hold"):
        ticket = make_ticket(status=status)
        add_thread(ticket, kind="customer", body="Hello?", by="customer")
        assert ticket.status == status


def test_first_agent_reply_sets_first_response_at_and_opens(app):
    dept = make_department()
    agent = make_agent(departments=[dept])
    ticket = make_ticket(department=dept)
    assert ticket.first_response_at is None
    t0 = utcnow()
    add_thread(ticket, kind="reply", body="Looking into it.", by=agent, now=t0)
    assert ticket.first_response_at == t0 and ticket.last_agent_reply_at == t0 and ticket.status == "open"
    later = t0 + timedelta(minutes=5)
    add_thread(ticket, kind="reply", body="Fixed.", by=agent, now=later, status="solved")
    assert ticket.first_response_at == t0 and ticket.last_agent_reply_at == later
    assert ticket.status == "solved" and ticket.resolved_at == later
    assert [e.kind for e in outbox_of(ticket)][-2:] == ["ticket.agent_replied", "ticket.agent_replied"]


def test_notes_do_not_count_as_a_response(app):
    dept = make_department()
    agent = make_agent(departments=[dept])
    ticket = make_ticket(department=dept)
    thread = add_thread(ticket, kind="note", body="Customer is a VIP, be nice.", by=agent)
    assert thread.is_note and thread.author is agent
    assert ticket.first_response_at is None and ticket.last_agent_reply_at is None and ticket.status == "new"
    assert ticket.thread_count == 2 and ticket.version == 2
    assert outbox_of(ticket)[-1].kind == "ticket.note_added"
    assert "VIP" in ticket.search_text


@pytest.mark.parametrize("kwargs, field", [
    ({"kind": "shout", "body": "x"}, "kind"),
    ({"kind": "reply", "body": "  "}, "body"),
    ({"kind": "reply", "body": "x", "status": "??"}, "status"),
])
def test_add_thread_validation(app, kwargs, field):
    ticket = make_ticket()
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        add_thread(ticket, **kwargs)
    assert set(exc.value.errors) == {field}
    db.session.commit()
    assert count(Thread) == 1 and ticket.version == 1


def test_actor_labels(app):
    ticket = make_ticket(by=Actor(label="rule 'VIP' r3"))
    assert {e.actor_name for e in events_of(ticket)} == {"rule 'VIP' r3"}
    ticket = make_ticket(by=None)
    assert {e.actor_name for e in events_of(ticket)} == {"system"}


# ------------------------------------------------------------------------------------------
# bulk
# ------------------------------------------------------------------------------------------
def test_bulk_update_refuses_bad_tickets_and_still_delivers_the_good_ones(app, subscriber):
    sales, support = make_department(), make_department()
    team = make_team(department=sales)
    good = make_ticket(department=sales)
    bad = make_ticket(department=support)
    also_good = make_ticket(department=sales)
    db.session.commit()
    seen = []
    subscriber("test.bulk", lambda event: seen.append(event.ticket_id), kinds=("ticket.updated",))

    failures = bulk_update([good, bad, also_good], {"team": team.id, "priority": "high"}, by="system")
    assert list(failures) == [bad.id]
    db.session.commit()
    assert (good.team_id, bad.team_id, also_good.team_id) == (team.id, None, team.id)
    assert bad.priority == int(Priority.NORMAL)
    # The refused ticket's savepoint rollback must not drop the others' outbox events.
    assert sorted(seen) == sorted([good.id, also_good.id])
    assert {e.status for t in (good, also_good) for e in outbox_of(t)} == {"done"}
