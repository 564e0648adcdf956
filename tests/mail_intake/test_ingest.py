"""Email intake: raw messages to tickets and replies through the ticket service; threading, duplicates,
loops, the sender rate limit, attachments; every message kept raw whatever became of it."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from factories import make_agent, make_department
from portal.channels.mail.ingest import ingest
from portal.extensions import db
from portal.models import InboundMessage, Mailbox, Thread, Ticket
from portal.services.api_tokens import create_token

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(app):
    returns, billing = make_department(name="Returns"), make_department(name="Billing")
    db.session.add_all([Mailbox(address="returns@desk.example", name="Returns", department=returns),
                        Mailbox(address="billing@desk.example", name="Billing", department=billing)])
    db.session.commit()
    return returns, billing


def mail(subject="Screen cracked", body="It arrived broken.\n", sender="Li Lei <li.lei@example.com>",
         to="returns@desk.example", **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = headers.pop("message_id", None) or make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def take(msg, **kw) -> InboundMessage:
    record = ingest(msg if isinstance(msg, bytes) else msg.as_bytes(), **kw)
    db.session.commit()
    return record


def test_a_new_message_becomes_a_ticket_of_the_mailboxs_department(desk):
    returns, billing = desk
    first = take(mail())
    ticket = db.session.get(Ticket, first.ticket_id)
    assert (first.status, ticket.channel, ticket.subject, ticket.department_id) == (
        "ticket", "email", "Screen cracked", returns.id)
    assert ticket.contact.email == "li.lei@example.com" and ticket.contact.name == "Li Lei"
    assert ticket.threads[0].body_text == "It arrived broken." and ticket.threads[0].sender == "li.lei@example.com"
    other = take(mail(subject="Invoice", to="Billing <billing@desk.example>"))
    assert db.session.get(Ticket, other.ticket_id).department_id == billing.id
    assert first.raw.startswith(b"From: ") or b"Screen cracked" in first.raw  # kept as it came


def test_replies_thread_by_in_reply_to_references_and_the_subject_number(desk):
    opening = mail()
    ticket_id = take(opening).ticket_id
    reply = mail(subject="Re: Screen cracked", in_reply_to=opening["Message-ID"],
                 body="Here is the photo.\n\nOn Mon, 23 Nov 2026, Support wrote:\n> Please send a photo.\n")
    record = take(reply)
    assert (record.status, record.ticket_id) == ("reply", ticket_id)
    thread = db.session.get(Thread, record.thread_id)
    assert thread.body_text == "Here is the photo." and thread.kind == "customer"  # quoted history stripped
    by_refs = take(mail(subject="again", references=f"<unknown@x> {reply['Message-ID']}"))
    assert by_refs.ticket_id == ticket_id
    by_number = take(mail(subject=f"Question about [#{ticket_id}]", body="One more thing."))
    assert (by_number.status, by_number.ticket_id) == ("reply", ticket_id)
    # a stranger writing the same number gets a ticket of their own
    stranger = take(mail(subject=f"[#{ticket_id}] hijack", sender="eve@example.com"))
    assert stranger.status == "ticket" and stranger.ticket_id != ticket_id
    assert db.session.get(Ticket, ticket_id).thread_count == 4


def test_the_same_message_twice_is_taken_once(desk):
    msg = mail()
    first, second = take(msg), take(msg)
    assert (first.status, second.status, second.ticket_id) == ("ticket", "duplicate", first.ticket_id)
    assert db.session.scalar(select(func.count(Thread.id))) == 1
    assert db.session.scalar(select(func.count(InboundMessage.id))) == 2  # both kept


def test_loops_bounces_and_the_desks_own_mail_are_not_taken(desk):
    own = take(mail(sender="returns@desk.example"))
    assert own.status == "ignored" and own.ticket_id is None
    auto = take(mail(subject="Out of office", Auto_Submitted="auto-replied"))
    assert auto.status == "ticket" and auto.loop_reason  # a person may still read it; nobody answers it
    bounce = (b"From: MAILER-DAEMON@mx.example.com\r\nTo: returns@desk.example\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example.com>\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=XX\r\n\r\n"
              b"--XX\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.com.\r\n"
              b"--XX\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
              b"Final-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.1.1\r\n--XX--\r\n")
    record = take(bounce)
    assert record.status == "ignored" and record.loop_reason


def thread_index(conversation: bytes, replies: int = 0) -> str:
    """An Outlook Thread-Index: a 22-byte block (reserved byte, FILETIME, GUID), 5 bytes per reply."""
    import base64
    return base64.b64encode(b"\x01" + b"\x01\xd9\x5c\x33\x10" + conversation + b"\x8a\x01\x02\x03\x04" * replies).decode()


def test_outlook_thread_index_threads_a_reply_whose_references_were_lost(desk):
    conversation, other = bytes(range(1, 17)), bytes(range(101, 117))
    opening = take(mail(subject="Screen cracked", Thread_Index=thread_index(conversation)))
    # An Exchange gateway dropped In-Reply-To and References; the subject carries no number.
    later = take(mail(subject="AW: Screen cracked", body="Any news?\n", Thread_Index=thread_index(conversation, 2)))
    assert (later.status, later.ticket_id) == ("reply", opening.ticket_id)
    assert db.session.get(Ticket, opening.ticket_id).thread_count == 2
    # Another conversation, and a Thread-Index that is not one (bad base64, wrong length), start tickets.
    assert take(mail(subject="AW: Screen cracked", Thread_Index=thread_index(other, 1))).status == "ticket"
    assert take(mail(subject="Re: x", Thread_Index="not*base64")).status == "ticket"
    assert take(mail(subject="Re: y", Thread_Index="AQID")).status == "ticket"


def test_conversation_key_reads_only_well_formed_thread_indexes():
    from portal.channels.mail.headers import conversation_key
    key = conversation_key(thread_index(bytes(range(1, 17))))
    assert key is not None and len(key) == 44
    assert conversation_key(thread_index(bytes(range(1, 17)), 3)) == key
    assert conversation_key(" ".join([thread_index(bytes(range(1, 17)), 1)[:10],
                                      thread_index(bytes(range(1, 17)), 1)[10:]])) == key  # folded
    assert conversation_key(thread_index(bytes(16))) is None          # no GUID
    assert conversation_key("AQIDBAU=") is None                        # 5 bytes: too short
    assert conversation_key("%%%") is None and conversation_key("") is None and conversation_key(None) is None


def test_a_sender_over_the_rate_limit_is_held(app, desk):
    app.config["MAIL_SENDER_LIMIT"] = 3
    statuses = [take(mail(subject=f"ping {i}", sender="bot@example.com")).status for i in range(5)]
    assert statuses == ["ticket", "ticket", "ticket", "rate_limited", "rate_limited"]
    assert take(mail(subject="from someone else")).status == "ticket"


def test_unreadable_and_oversized_messages_are_kept_and_flagged(app, desk):
    junk = take(b"\x00\x01\x02 this is not an email \xff\xfe")
    assert junk.status == "flagged" and junk.problem and junk.raw == b"\x00\x01\x02 this is not an email \xff\xfe"
    app.config["MAX_INBOUND_MAIL_BYTES"] = 100
    big = take(mail(body="x" * 500))
    assert big.status == "flagged" and "over the limit" in big.problem and big.size > 100


def test_attachments_are_kept_and_refused_types_are_noted(desk):
    msg = mail(subject="Receipt attached")
    msg.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="收据.pdf")
    msg.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="run.exe")
    record = take(msg)
    thread = db.session.get(Thread, record.thread_id)
    assert [a.filename for a in thread.attachments] == ["收据.pdf"]
    assert "run.exe" in record.problem and record.status == "ticket"


def test_chinese_mail_in_gbk(desk):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Message-ID"] = "=?GBK?B?wO7A2g==?= <lilei@example.cn>", "returns@desk.example", make_msgid()
    msg["Subject"] = "=?GBK?B?" + __import__("base64").b64encode("手机发热".encode("gbk")).decode() + "?="
    msg.set_content("手机充电时很烫，怎么办？".encode("gbk"), maintype="text", subtype="plain",
                    params={"charset": "gbk"}, cte="base64")
    record = take(msg)
    ticket = db.session.get(Ticket, record.ticket_id)
    assert ticket.subject == "手机发热" and ticket.threads[0].body_text == "手机充电时很烫，怎么办？"
    assert ticket.contact.name == "李磊"


def test_the_command_line_pipe(app, desk):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ingest-email"], input=mail().as_bytes())
    assert result.exit_code == 0 and result.output.startswith("ticket #"), result.output
    wrong = runner.invoke(args=["ingest-email", "--mailbox", "nope@desk.example"], input=mail().as_bytes())
    assert wrong.exit_code != 0 and "no mailbox" in wrong.output
    empty = runner.invoke(args=["ingest-email"], input=b"")
    assert empty.exit_code != 0


def test_the_http_endpoint_needs_the_mail_scope(client, desk):
    agent = make_agent(departments=[desk[0]])
    _, plain = create_token(agent, "tickets")
    _, mta = create_token(agent, "mta", ["mail:ingest"])
    db.session.commit()
    body = mail().as_bytes()
    refused = client.post("/api/v1/mail/inbound", data=body, content_type="message/rfc822",
                          headers={"Authorization": f"Bearer {plain}"})
    assert refused.status_code == 403
    taken = client.post("/api/v1/mail/inbound", data=body, content_type="message/rfc822",
                        headers={"Authorization": f"Bearer {mta}"})
    assert taken.status_code == 201 and taken.get_json()["status"] == "ticket"
    again = client.post("/api/v1/mail/inbound", data=body, content_type="message/rfc822",
                        headers={"Authorization": f"Bearer {mta}"})
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"


def test_the_http_endpoint_takes_mail_up_to_the_mail_limit_not_the_request_limit(app, client, desk):
    app.config.update(MAX_CONTENT_LENGTH=2_000, MAX_INBOUND_MAIL_BYTES=20_000)
    agent = make_agent(departments=[desk[0]])
    _, mta = create_token(agent, "mta", ["mail:ingest"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {mta}"}
    body = mail(body="A long story. " * 500).as_bytes()
    assert 2_000 < len(body) < 20_000
    taken = client.post("/api/v1/mail/inbound", data=body, content_type="message/rfc822", headers=headers)
    assert taken.status_code == 201 and taken.get_json()["status"] == "ticket"
    too_big = client.post("/api/v1/mail/inbound", data=mail(body="x" * 30_000).as_bytes(),
                          content_type="message/rfc822", headers=headers)
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"


def test_rules_do_not_answer_an_automatic_message(desk):
    from rules.helpers import make_rule
    from rule_builder.models import RuleFiring
    from portal.models import OutboundMessage
    make_rule("Acknowledge", actions=[{"type": "send_email", "to": "customer", "subject": "Got it",
                                       "body": "We got your message."}])
    person = take(mail(subject="Help"))
    robot = take(mail(subject="Out of office", sender="away@example.com", Auto_Submitted="auto-replied"))
    # the test queue runs each event right after its commit
    db.session.expire_all()
    sent_to = [m.recipient for m in db.session.scalars(select(OutboundMessage))]
    assert sent_to == ["li.lei@example.com"], sent_to
    skipped = [f for f in db.session.scalars(select(RuleFiring)) if f.ticket_id == robot.ticket_id]
    assert skipped and "automatic" in str(skipped[0].outputs), [f.outputs for f in skipped]
    assert person.ticket_id != robot.ticket_id


def test_inline_images_show_in_the_message(desk, client, login):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "li@example.com", "returns@desk.example", \
        "Photo of the damage", make_msgid()
    msg.set_content("See the photo.")
    msg.add_alternative('<p>See the photo:</p><img src="cid:photo1@example.com" alt="damage">', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\n fake png", maintype="image", subtype="png",
                                     cid="<photo1@example.com>", filename="photo.png")
    record = take(msg)
    thread = db.session.get(Thread, record.thread_id)
    [image] = thread.attachments
    assert image.content_id == "photo1@example.com"
    login(client, make_agent(departments=[desk[0]]))
    page = client.get(f"/tickets/{record.ticket_id}").get_data(as_text=True)
    assert f'src="/tickets/attachments/{image.id}/photo.png"' in page and "cid:" not in page


def test_admins_see_what_needs_a_look_and_download_the_original(app, desk, client, login):
    from factories import make_admin
    take(b"\x00 not mail")
    take(mail(subject="Fine"))
    agent = make_agent(departments=[desk[0]])
    admin = make_admin()
    db.session.commit()
    login(client, agent)
    assert client.get("/admin/mail").status_code == 403
    client = app.test_client()
    login(client, admin)
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "Flagged" in page and "Fine" not in page          # the default list: what needs a look
    assert "Fine" in client.get("/admin/mail?show=all").get_data(as_text=True)
    flagged = db.session.scalar(select(InboundMessage).where(InboundMessage.status == "flagged"))
    raw = client.get(f"/admin/mail/{flagged.id}/raw")
    assert raw.data == b"\x00 not mail" and raw.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/admin/mail/999/raw").status_code == 404
