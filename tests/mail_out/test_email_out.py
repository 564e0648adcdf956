"""Email out: an agent's reply goes to the customer through a real SMTP server (aiosmtpd on
loopback), threaded (Message-ID stored on the thread, In-Reply-To, References, [#N] subject), from
the department's address, text + HTML + attachments; the customer's answer threads back; a
rolled back reply sends nothing; retries, refusals, held mail, duplicates; the delivery badge."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from factories import login, make_agent, make_ticket
from portal.channels import outbound
from portal.channels.mail.ingest import ingest
from portal.channels.outbound import deliver_outbound
from portal.extensions import db
from portal.models import Contact, OutboundMessage, Thread, Ticket
from portal.services.attachments import store_bytes
from portal.services.tickets import add_thread
from smtp_sink import free_port

pytestmark = pytest.mark.integration


def customer_mail(subject="Screen cracked", body="It arrived broken.\n", to="help@shop.example",
                  message_id=None, **headers) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Li Lei <li.lei@example.com>", to, subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def emailed_ticket(message_id="first@example.com", subject="Screen cracked") -> Ticket:
    record = ingest(customer_mail(subject=subject, message_id=f"<{message_id}>"))
    db.session.commit()
    assert record.status == "ticket"
    return db.session.get(Ticket, record.ticket_id)


def outbox() -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def fresh(thread: Thread) -> Thread:
    db.session.expire_all()
    return db.session.get(Thread, thread.id)


def test_a_reply_goes_out_threaded_from_the_departments_mailbox(app, smtp_server, shop):
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]], name="Rita Ramos")
    pdf = store_bytes("发票.pdf", b"%PDF-1.4 invoice", "application/pdf")
    thread = add_thread(ticket, kind="reply", body_html="<p>We are <b>sorry</b>: a new one is on its way.</p>",
                        by=agent, attachments=[pdf])
    db.session.commit()

    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "help@shop.example" and envelope.rcpt_tos == ["li.lei@example.com"]
    (mail,) = smtp_server.messages()
    thread = fresh(thread)
    assert thread.message_id and mail["Message-ID"] == f"<{thread.message_id}>"
    assert thread.message_id.endswith("@shop.example")
    assert mail["In-Reply-To"] == "<first@example.com>"
    assert mail["References"] == "<first@example.com>"
    assert mail["Subject"] == f"Re: Screen cracked [#{ticket.number}]"
    assert str(mail["From"]) == "Shop Help <help@shop.example>" and str(mail["Reply-To"]) == str(mail["From"])
    assert mail["Auto-Submitted"] is None  # a person wrote it: autoresponders may answer
    assert mail.get_content_type() == "multipart/mixed"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text.get_content().strip() == "We are sorry: a new one is on its way."
    assert "<b>sorry</b>" in html.get_content()
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "发票.pdf" and attached.get_content_type() == "application/pdf"
    assert attached.get_content() == b"%PDF-1.4 invoice"
    (message,) = outbox()
    assert (message.status, message.thread_id, message.attempts) == ("sent", thread.id, 1)
    assert thread.delivery_state == "sent"


def test_the_customers_answer_threads_back_onto_the_ticket(app, smtp_server, shop):
    ticket = emailed_ticket()
    add_thread(ticket, kind="reply", body="Could you send a photo?", by=make_agent(departments=[shop["returns"]]))
    db.session.commit()
    (sent,) = smtp_server.messages()
    # The customer's client answers the delivered message (a new subject, no ticket number: only
    # the In-Reply-To header can thread it).
    answer = customer_mail(subject="photo attached", body="Here it is.\n", in_reply_to=sent["Message-ID"],
                           references=f"{sent['References']} {sent['Message-ID']}")
    record = ingest(answer)
    db.session.commit()
    assert (record.status, record.ticket_id) == ("reply", ticket.id)
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    # ...and the next reply answers that message, with the whole chain in References.
    add_thread(db.session.get(Ticket, ticket.id), kind="reply", body="Thanks!", by=ticket.assignee or "agent")
    db.session.commit()
    second = smtp_server.messages()[-1]
    answer_id = db.session.get(Thread, record.thread_id).message_id
    assert second["In-Reply-To"] == f"<{answer_id}>"
    assert second["References"].split() == ["<first@example.com>", sent["Message-ID"], f"<{answer_id}>"]


def test_references_keep_the_first_and_the_last_ten(app, smtp_server, shop):
    ticket = emailed_ticket()
    for n in range(14):
        record = ingest(customer_mail(subject=f"more [#{ticket.number}]", message_id=f"<m{n}@example.com>"))
        assert record.status == "reply"
    add_thread(ticket, kind="reply", body="Answer", by="agent")
    db.session.commit()
    references = smtp_server.messages()[-1]["References"].split()
    assert references == ["<first@example.com>"] + [f"<m{n}@example.com>" for n in range(4, 14)]
    assert smtp_server.messages()[-1]["In-Reply-To"] == "<m13@example.com>"


@pytest.mark.parametrize("department, sender", [("billing", "billing@shop.example"),
                                                ("misc", "desk@default.example")])
def test_from_falls_back_to_the_department_address_then_the_default(app, smtp_server, shop, department, sender):
    app.config["MAIL_DEFAULT_SENDER"] = "desk@default.example"
    ticket = make_ticket(department=shop[department], contact=shop["contact"], subject="Invoice")
    add_thread(ticket, kind="reply", body="Done.", by="agent")
    db.session.commit()
    (mail,) = smtp_server.messages()
    assert str(mail["From"]) == sender and mail["Reply-To"] is None
    # No message of a portal ticket has a Message-ID: nothing to answer, still the number.
    assert mail["In-Reply-To"] is None and mail["Subject"] == f"Re: Invoice [#{ticket.number}]"


def test_a_rolled_back_reply_sends_nothing(app, smtp_server, shop):
    ticket = emailed_ticket()
    thread = add_thread(ticket, kind="reply", body="Never mind", by="agent")
    assert thread.delivery_state == "queued"  # written in the reply's transaction...
    db.session.rollback()  # ...and gone with it
    db.session.commit()
    assert smtp_server.envelopes == [] and outbox() == []


def test_no_email_for_notes_contacts_without_an_address_or_seeded_history(app, smtp_server, shop):
    ticket = emailed_ticket()
    add_thread(ticket, kind="note", body="internal only", by="agent")
    add_thread(ticket, kind="reply", body="imported", by="agent", send_email=False)
    nobody = Contact(name="Walk-in")
    db.session.add(nobody)
    walk_in = make_ticket(department=shop["returns"], contact=nobody)
    add_thread(walk_in, kind="reply", body="See you", by="agent")
    db.session.commit()
    assert smtp_server.envelopes == [] and outbox() == []
    assert {t.delivery_state for t in db.session.scalars(select(Thread))} == {None}


def test_a_down_smtp_server_is_retried_then_failed_with_the_error_shown(app, shop, client):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), OUTBOUND_MAX_ATTEMPTS=2)  # nobody listens
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]])
    thread = add_thread(ticket, kind="reply", body="Hello", by=agent)
    db.session.commit()  # the first try runs inline after commit, and fails
    (message,) = outbox()
    assert (message.status, message.attempts) == ("queued", 1) and "Connection refused" in message.last_error
    assert fresh(thread).delivery_state == "queued"
    assert deliver_outbound(message.id) == "failed"  # the last try
    assert fresh(thread).delivery_state == "failed"
    login(client, agent)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'id="delivery-{thread.id}"' in page and "mail-delivery-failed" in page
    assert "Connection refused" in page and "Retry" in page


def hx_post(client, url):
    token = client.get("/tickets").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    return client.post(url, headers={"X-CSRFToken": token, "HX-Request": "true"})


def test_retry_after_a_failure_sends_it(app, shop, smtp_server):
    working_port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), OUTBOUND_MAX_ATTEMPTS=1)  # down for the first try
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]])
    outsider = make_agent(departments=[shop["billing"]])
    thread = add_thread(ticket, kind="reply", body="Hello again", by=agent)
    db.session.commit()
    assert fresh(thread).delivery_state == "failed"
    app.config["MAIL_PORT"] = working_port  # the server is back
    url = f"/tickets/{ticket.number}/threads/{thread.id}/delivery/retry"
    stranger = app.test_client()
    login(stranger, outsider)  # not an agent of the ticket's department
    assert hx_post(stranger, url).status_code == 404 and smtp_server.envelopes == []
    ours = app.test_client()
    login(ours, agent)
    response = hx_post(ours, url)
    assert response.status_code == 200 and "mail-delivery-sent" in response.get_data(as_text=True)
    assert len(smtp_server.envelopes) == 1 and fresh(thread).delivery_state == "sent"
    (message,) = outbox()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    assert hx_post(ours, url).status_code == 200 and len(smtp_server.envelopes) == 1  # nothing to retry now


def test_a_refused_recipient_fails_at_once(app, smtp_server, shop):
    smtp_server.refuse.add("li.lei@example.com")
    ticket = emailed_ticket()
    thread = add_thread(ticket, kind="reply", body="Hello", by="agent")
    db.session.commit()
    (message,) = outbox()
    assert (message.status, message.attempts) == ("failed", 1)  # no retries: a 550 is final
    assert "550" in message.last_error and "No such user" in message.last_error
    assert fresh(thread).delivery_state == "failed" and smtp_server.envelopes == []


def test_a_duplicate_job_sends_once(app, smtp_server, shop):
    ticket = emailed_ticket()
    add_thread(ticket, kind="reply", body="Once", by="agent")
    db.session.commit()
    (message,) = outbox()
    outbound.enqueue([message.id])  # the job delivered again (a retry after a lost ack, the sweep)
    assert deliver_outbound(message.id) == "not queued (sent)"
    # A job queued before the machinery moved into portal still finds it under the old path.
    from portal.queue import get_queue
    get_queue().enqueue("rule_builder.outbound.deliver_outbound", message.id)
    assert len(smtp_server.envelopes) == 1


def test_without_a_mail_server_the_reply_is_held_and_says_so(app, shop, client):
    app.config["MAIL_SERVER"] = None
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]])
    thread = add_thread(ticket, kind="reply", body="Hello", by=agent)
    db.session.commit()
    assert fresh(thread).delivery_state == "held"
    login(client, agent)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "mail-delivery-held" in page and "No mail server is configured" in page
    assert f"/threads/{thread.id}/delivery/retry" not in page  # retrying would only hold it again


def test_attachments_over_the_cap_are_left_off_and_named(app, smtp_server, shop, client):
    app.config["MAIL_MAX_ATTACHMENTS_BYTES"] = 1000
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]])
    files = [store_bytes("small.txt", b"a" * 600, "text/plain"), store_bytes("big.pdf", b"b" * 900, "application/pdf"),
             store_bytes("tiny.txt", b"c" * 300, "text/plain")]
    add_thread(ticket, kind="reply", body="Files", by=agent, attachments=files)
    db.session.commit()
    (mail,) = smtp_server.messages()
    assert [a.get_filename() for a in mail.iter_attachments()] == ["small.txt", "tiny.txt"]
    login(client, agent)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Not emailed" in page and "big.pdf" in page


def test_a_rule_email_to_the_customer_threads_into_the_conversation(app, smtp_server, shop):
    from rule_builder.services import save_rule
    save_rule(None, {"name": "Ack", "trigger": "customer_replied", "actions": [
        {"type": "send_email", "to": "customer", "subject": {"en": "We got it"}, "body": {"en": "Thanks"}}]}, None)
    db.session.commit()
    ticket = emailed_ticket()
    ingest(customer_mail(subject=f"also [#{ticket.number}]", message_id="<second@example.com>"))
    db.session.commit()
    (mail,) = smtp_server.messages()
    assert mail["Subject"] == "We got it" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["In-Reply-To"] == "<second@example.com>"
    assert mail["References"] == "<first@example.com> <second@example.com>"
    assert str(mail["From"]) == "Shop Help <help@shop.example>"


def test_the_delivery_badge_is_for_desk_users_only(app, smtp_server, shop, client):
    ticket = emailed_ticket()
    agent = make_agent(departments=[shop["returns"]])
    thread = add_thread(ticket, kind="reply", body="Hello", by=agent)
    db.session.commit()
    url = f"/tickets/{ticket.number}/threads/{thread.id}/delivery"
    assert client.get(url).status_code == 302  # signed out: to the login page
    login(client, agent)
    badge = client.get(url).get_data(as_text=True)
    assert "mail-delivery-sent" in badge and "li.lei@example.com" in badge
    note = add_thread(ticket, kind="note", body="psst", by=agent)
    db.session.commit()
    assert client.get(f"/tickets/{ticket.number}/threads/{note.id}/delivery").status_code == 404
