"""What a ticket write costs in SQL: every channel and the API write through the ticket service, so
a statement added here is paid by every ticket (docs/architecture.md, "What a write costs").
The counts are the service's own statements (flushed), on both backends."""
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from factories import make_contact, make_department, make_ticket
from portal.extensions import db
from portal.services.contacts import find_contact_by_identity
from portal.services.tickets import add_thread, create_ticket, update_ticket

pytestmark = pytest.mark.integration


@contextmanager
def statements():
    """The SQL statements the block sends (their first word and table), flushed at the end."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many):
        words = statement.split()
        verb = words[0]
        table = {"INSERT": words[2], "UPDATE": words[1]}.get(verb) or words[words.index("FROM") + 1]
        entry = f"{verb} {table}"
        # History rows go as one batched statement on PostgreSQL, one by one on SQLite: one entry.
        if not (seen and seen[-1] == entry and entry == "INSERT ticket_events"):
            seen.append(entry)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
        db.session.flush()
    finally:
        event.remove(engine, "before_cursor_execute", note)


def writes(seen):
    return [s for s in seen if not s.startswith(("SELECT", "SAVEPOINT", "RELEASE"))]


def test_a_new_ticket_is_written_whole_ticket_and_first_message_without_a_follow_up_update(app):
    dept, contact = make_department(), make_contact()
    db.session.flush()
    with statements() as seen:
        create_ticket(subject="Printer on fire", department=dept, contact=contact, body="It smokes.", by="customer")
    assert writes(seen) == ["INSERT tickets", "INSERT threads", "INSERT outbox_events",
                            "INSERT ticket_events"], seen


def test_a_reply_updates_the_ticket_once_with_its_version_check(app):
    ticket = make_ticket()
    db.session.commit()
    ticket.department, ticket.contact  # loaded: the counts below are the writes' own
    with statements() as seen:
        add_thread(ticket, kind="note", body="Called the customer.", by="agent")
    assert writes(seen) == ["UPDATE tickets", "INSERT threads", "INSERT outbox_events"], seen


def test_an_update_is_one_ticket_update_its_event_and_its_history(app):
    ticket = make_ticket()
    db.session.commit()
    ticket.department, ticket.contact  # loaded: the counts below are the writes' own
    with statements() as seen:
        update_ticket(ticket, {"priority": "high", "subject": "Still on fire"}, by="agent")
    assert writes(seen) == ["UPDATE tickets", "INSERT outbox_events", "INSERT ticket_events"], seen


def test_a_contact_is_found_by_an_identity_with_its_identities_in_one_query(app):
    contact_id = make_contact(email="li.na@example.com").id
    db.session.commit()
    db.session.expunge_all()
    with statements() as seen:
        found = find_contact_by_identity("email", "Li.Na@Example.com")
        assert found.id == contact_id and found.email == "li.na@example.com"
    assert seen == ["SELECT contacts"], seen


def test_a_tag_change_writes_only_the_tags_that_changed(app):
    ticket = make_ticket(tags=["billing", "refund", "vip"])
    db.session.commit()
    ticket.tag_rows  # loaded: the counts below are the write's own
    rows = {"INSERT": 0, "DELETE": 0}

    def count(_conn, _cursor, statement, params, _context, many):
        verb = statement.split()[0]
        if "ticket_tags" in statement and verb in rows:
            # one row per parameter set; a multi-row INSERT names each row's tag once
            rows[verb] += len(params) if many else max(1, str(params).count("tag"))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        update_ticket(ticket, {"tags": ["refund", "vip", "urgent"]}, by="agent")
        db.session.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert rows == {"INSERT": 1, "DELETE": 1}, rows
    db.session.expire_all()
    assert sorted(ticket.tags) == ["refund", "urgent", "vip"]
