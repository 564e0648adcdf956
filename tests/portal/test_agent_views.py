"""The agent workspace's routes: forms refuse bad input on the field and save nothing."""
import io
import re

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_agent, make_contact, make_department, make_team, make_ticket
from portal.extensions import db
from portal.models import Attachment, Thread, Ticket, TicketEvent
from portal.services.tickets import update_ticket

pytestmark = pytest.mark.integration
HX = {"HX-Request": "true"}


@pytest.fixture
def desk(app, client):
    returns, billing = make_department(name="Returns"), make_department(name="Billing")
    ann = make_agent(departments=[returns], name="Ann Agent")
    ticket = make_ticket(department=returns, contact=make_contact(), subject="Broken kettle")
    other = make_ticket(department=billing, subject="Secret invoice question")
    db.session.commit()
    login(client, ann)
    return {"returns": returns, "billing": billing, "ann": ann, "ticket": ticket, "other": other,
            "token": csrf_token(client, f"/tickets/{ticket.id}")}


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def test_queue_lists_own_departments_only_and_filters(client, desk):
    page = client.get("/tickets").get_data(as_text=True)
    assert "Broken kettle" in page and "Secret invoice question" not in page
    page = client.get("/tickets?view=open&priority=urgent").get_data(as_text=True)
    assert "Broken kettle" not in page and "No tickets match these filters" in page
    partial = client.get("/tickets?q=kettle", headers={**HX, "HX-Target": "queue-results"}).get_data(as_text=True)
    assert partial.startswith('<div id="queue-results"') and "Broken kettle" in partial


def test_forbidden_ticket_is_a_404_without_its_subject(client, desk):
    response = client.get(f"/tickets/{desk['other'].id}")
    assert response.status_code == 404 and "Secret invoice" not in response.get_data(as_text=True)


def test_inline_priority_edit_saves_and_audits(client, desk):
    t = desk["ticket"]
    response = client.post(f"/tickets/{t.id}/fields/priority", headers=HX,
                           data={"csrf_token": desk["token"], "priority": "high", "version": t.version})
    assert response.status_code == 200 and "Saved" in response.get_data(as_text=True)
    assert fresh(t).priority_key == "high"
    event = db.session.scalar(select(TicketEvent).filter_by(ticket_id=t.id, field="priority")
                              .order_by(TicketEvent.id.desc()))
    assert (event.old_value, event.new_value, event.actor.name) == ("normal", "high", "Ann Agent")


def test_inline_edit_with_a_stale_version_is_refused_and_shows_who(client, desk, app):
    t = desk["ticket"]
    seen = t.version
    boss = make_agent(departments=[desk["returns"]], name="Bob Boss")
    update_ticket(fresh(t), {"status": "pending"}, by=boss)
    db.session.commit()
    response = client.post(f"/tickets/{t.id}/fields/priority", headers=HX,
                           data={"csrf_token": desk["token"], "priority": "urgent", "version": seen})
    page = response.get_data(as_text=True)
    assert "Bob Boss changed this ticket meanwhile" in page
    assert fresh(t).priority_key == "normal" and fresh(t).status == "pending"


def test_inline_edit_refuses_an_assignee_from_another_department(client, desk):
    t = desk["ticket"]
    outsider = make_agent(departments=[desk["billing"]], name="Olga Outsider")
    db.session.commit()
    response = client.post(f"/tickets/{t.id}/fields/assignee", headers=HX,
                           data={"csrf_token": desk["token"], "assignee": outsider.id, "version": t.version})
    assert "Olga Outsider does not work in Returns" in response.get_data(as_text=True)
    assert fresh(t).assignee_id is None


def test_reply_with_attachment_then_download_is_scoped(client, desk, app):
    t = desk["ticket"]
    response = client.post(f"/tickets/{t.id}/reply", headers=HX, content_type="multipart/form-data", data={
        "csrf_token": desk["token"], "kind": "reply", "body": "Here is the label", "status": "pending",
        "attachments": (io.BytesIO(b"label data"), "label.txt")})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Here is the label" in page and "label.txt" in page
    assert fresh(t).status == "pending"
    attachment = db.session.scalar(select(Attachment))
    url = re.search(r'href="(/tickets/attachments/[^"]+)"', page).group(1)
    with client.get(url) as download:
        assert download.data == b"label data"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    outsider = make_agent(departments=[desk["billing"]])
    db.session.commit()
    other_client = app.test_client()
    login(other_client, outsider)
    with other_client.get(url) as refused:
        assert refused.status_code == 404
    assert attachment.thread.body_text == "Here is the label"


def test_empty_reply_keeps_the_form_and_saves_nothing(client, desk):
    t = desk["ticket"]
    threads = count(Thread)
    response = client.post(f"/tickets/{t.id}/reply", headers=HX,
                           data={"csrf_token": desk["token"], "kind": "note", "body": "  "})
    assert response.status_code == 422 and "The message is empty." in response.get_data(as_text=True)
    assert count(Thread) == threads


def test_forbidden_upload_type_keeps_the_text_and_saves_nothing(client, desk):
    t = desk["ticket"]
    threads = count(Thread)
    response = client.post(f"/tickets/{t.id}/reply", headers=HX, content_type="multipart/form-data", data={
        "csrf_token": desk["token"], "kind": "reply", "body": "My long careful answer",
        "attachments": (io.BytesIO(b"MZ\x90\x00"), "setup.exe")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "setup.exe: files of type" in page and "My long careful answer" in page
    assert count(Thread) == threads and count(Attachment) == 0


def test_new_ticket_form_errors_on_fields_and_saves_nothing(client, desk):
    before = count(Ticket)
    response = client.post("/tickets/new", data={
        "csrf_token": csrf_token(client, "/tickets/new"), "contact_email": "not-an-email", "subject": "",
        "body": "It broke", "department": desk["returns"].id, "priority": "normal", "channel": "phone"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Invalid email address." in page and "This field is required." in page and "It broke" in page
    assert count(Ticket) == before


def test_new_ticket_for_a_phone_call(client, desk):
    response = client.post("/tickets/new", data={
        "csrf_token": csrf_token(client, "/tickets/new"), "contact_email": "caller@example.com",
        "contact_name": "Carl Caller", "subject": "Called about a refund", "body": "Wants the money back",
        "department": desk["returns"].id, "priority": "high", "channel": "phone"})
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket).filter_by(subject="Called about a refund"))
    assert ticket.channel == "phone" and ticket.priority_key == "high" and ticket.contact.name == "Carl Caller"
    assert ticket.threads[0].author_name == "Carl Caller"  # the customer's words, logged by Ann


def test_new_ticket_cannot_target_a_department_outside_the_agents(client, desk):
    response = client.post("/tickets/new", data={
        "csrf_token": csrf_token(client, "/tickets/new"), "contact_email": "c@example.com", "subject": "x",
        "body": "y", "department": desk["billing"].id, "priority": "normal", "channel": "phone"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)


def test_bulk_change_skips_tickets_outside_scope(client, desk):
    team = make_team(department=desk["returns"])
    db.session.commit()
    response = client.post("/tickets/bulk", headers=HX, data={
        "csrf_token": desk["token"], "ticket": [desk["ticket"].id, desk["other"].id],
        "action": "priority", "value": "urgent"})
    assert "Updated 1 ticket." in response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == "queue-changed"
    assert fresh(desk["ticket"]).priority_key == "urgent"
    assert fresh(desk["other"]).priority_key == "normal"
    assert team.id  # the desk had a team; bulk never touched it


def test_tags_add_and_remove(client, desk):
    t = desk["ticket"]
    client.post(f"/tickets/{t.id}/tags", headers=HX, data={"csrf_token": desk["token"], "add": "Refund, VIP "})
    assert fresh(t).tags == ["refund", "vip"]
    client.post(f"/tickets/{t.id}/tags", headers=HX, data={"csrf_token": desk["token"], "remove": "vip"})
    assert fresh(t).tags == ["refund"]
