"""Emails and webhooks leave after commit, through a job: a real SMTP server (aiosmtpd) and a real
HTTP server on loopback; held mail; retries; refused addresses at save and at run; duplicates."""
from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import select

from factories import make_contact, make_department, make_ticket
from portal.channels import outbound
from portal.channels.outbound import deliver_outbound, queue_message, release_held
from portal.extensions import db
from portal.jobs import process_event
from portal.models import OutboundMessage, OutboxDelivery, OutboxEvent
from portal.services.errors import ValidationFailed
from rule_builder.services import save_rule
from smtp_sink import free_port

from .helpers import firings, fresh, make_rule, messages

pytestmark = pytest.mark.integration

GREETING = {"type": "send_email", "to": "customer",
            "subject": {"en": "About {{ ticket.ref }}", "zh": "关于 {{ ticket.ref }}"},
            "body": {"en": "Hello {{ contact.name }}", "zh": "{{ contact.name }}，您好"}}


def test_email_goes_out_through_smtp_after_commit(app, smtp_server):
    dept = make_department(name="Returns", email="returns@desk.example")
    make_rule(actions=[GREETING])
    ticket = make_ticket(department=dept, contact=make_contact(email="li@example.com", name="李华", language="zh_Hans"))
    db.session.commit()
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "returns@desk.example" and envelope.rcpt_tos == ["li@example.com"]
    text = envelope.content.decode()
    assert "Auto-Submitted: auto-generated" in text
    (message,) = messages("email")
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None) and message.sent_at
    assert message.subject == f"关于 #{ticket.id}" and message.body == "李华，您好"
    assert message.rule_firing_id == firings(ticket=ticket)[0].id


def test_without_a_mail_server_an_email_is_held_then_released(app, smtp_server):
    app.config["MAIL_SERVER"] = None
    make_rule(actions=[GREETING])
    make_ticket(contact=make_contact(email="held@example.com"))
    db.session.commit()
    (message,) = messages("email")
    assert message.status == "held" and "MAIL_SERVER is not configured" in message.last_error
    assert smtp_server.envelopes == []
    app.config["MAIL_SERVER"] = "127.0.0.1"  # configured at last: an admin releases the held mail
    assert release_held() == 1
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["held@example.com"]]
    assert messages("email")[0].status == "sent"


def test_a_failing_smtp_server_is_retried_then_marked_failed(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), OUTBOUND_MAX_ATTEMPTS=2)  # nothing listens
    make_rule(actions=[GREETING])
    make_ticket(contact=make_contact(email="x@example.com"))
    db.session.commit()  # the inline delivery fails: back to queued for a retry
    (message,) = messages("email")
    assert (message.status, message.attempts) == ("queued", 1) and "Connection" in message.last_error
    assert deliver_outbound(message.id) == "failed"  # the last try
    message = messages("email")[0]
    assert (message.status, message.attempts) == ("failed", 2)
    assert deliver_outbound(message.id) == "not queued (failed)"


def test_webhook_posts_json_with_an_hmac_signature(app, webhook_server):
    webhook_server.secret = "s3cret"
    make_rule("Hook", actions=[{"type": "webhook", "url": webhook_server.url, "secret": "s3cret"}])
    ticket = make_ticket(subject="Phone overheating")
    db.session.commit()
    (request,) = webhook_server.requests
    assert request["signature_ok"] and webhook_server.bad_signatures == 0
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Deskwright-Event"] == "ticket.created"
    body = request["json"]
    assert body["ticket"]["number"] == ticket.id and body["ticket"]["subject"] == "Phone overheating"
    assert body["event"]["rule"]["name"] == "Hook" and body["changes"]["subject"] == [None, "Phone overheating"]
    assert messages("webhook")[0].status == "sent"


def test_webhook_errors_are_retried_and_redirects_refused(app, webhook_server):
    make_rule(actions=[{"type": "webhook", "url": webhook_server.url}])
    webhook_server.status = 503
    make_ticket()
    db.session.commit()
    (message,) = messages("webhook")
    assert (message.status, message.attempts, message.last_error) == ("queued", 1, "HTTPFailure: HTTP 503")
    webhook_server.status = 302
    assert deliver_outbound(message.id) == "failed"
    assert "redirects are not followed" in messages("webhook")[0].last_error
    assert len(webhook_server.requests) == 2


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/",
                                 "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://224.0.0.1/",
                                 "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/"])
def test_private_webhook_addresses_are_refused_at_save(app, url):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    with pytest.raises(ValidationFailed) as caught:
        save_rule(None, {"name": "Hook", "trigger": "created", "actions": [{"type": "webhook", "url": url}]}, None)
    assert set(caught.value.errors) == {"actions.0"} and "may not call" in caught.value.errors["actions.0"]


def test_a_private_webhook_is_refused_at_run(app, webhook_server):
    rule = make_rule(actions=[{"type": "webhook", "url": webhook_server.url}, {"type": "add_tags", "tags": ["x"]}])
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False  # the rule predates the policy
    ticket = make_ticket()
    db.session.commit()
    (firing,) = firings(rule=rule)
    assert firing.status == "failed" and "127.0.0.1 is a loopback address" in firing.error
    assert fresh(ticket).tags == [] and messages() == [] and webhook_server.requests == []


def test_delivery_resolves_checks_every_address_and_connects_to_the_checked_one(app, webhook_server, monkeypatch):
    real = socket.getaddrinfo

    def fake_dns(host, port, *args, **kwargs):
        answers = {"rebind.example.com": ["93.184.216.34", "127.0.0.1"], "hooks.example.test": ["127.0.0.1"],
                   "localhost": ["127.0.0.1"]}
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    for host in ("localhost", "rebind.example.com"):
        message, _ = queue_message(kind="webhook", dedupe_key=f"test:{host}", ticket_id=None,
                                   url=f"http://{host}:{webhook_server.port}/hook", body="{}", headers={})
        db.session.commit()  # delivered (here: refused) right after commit
        refused = db.session.get(OutboundMessage, message.id)
        assert refused.status == "failed" and "127.0.0.1 is a loopback address" in refused.last_error
    assert webhook_server.requests == []
    # Allowed (this desk's own network): the name is resolved once and that address is called,
    # with the name in the Host header.
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    message, _ = queue_message(kind="webhook", dedupe_key="test:ok", ticket_id=None,
                               url=f"http://hooks.example.test:{webhook_server.port}/hook", body='{"a": 1}', headers={})
    db.session.commit()
    assert db.session.get(OutboundMessage, message.id).status == "sent"
    (request,) = webhook_server.requests
    assert request["headers"]["Host"] == f"hooks.example.test:{webhook_server.port}" and request["json"] == {"a": 1}


def test_a_duplicate_delivery_sends_nothing_twice(app, smtp_server, webhook_server, held_events):
    make_rule(actions=[GREETING, {"type": "webhook", "url": webhook_server.url}])
    make_ticket(contact=make_contact(email="dup@example.com"))
    db.session.commit()
    (event_id,) = held_events
    assert process_event(event_id) == "done"
    # The event comes again (the sweep re-enqueued it after a worker died before recording its
    # delivery): nothing new is written or sent.
    db.session.execute(OutboxDelivery.__table__.delete().where(OutboxDelivery.event_id == event_id))
    db.session.get(OutboxEvent, event_id).status = "pending"
    db.session.commit()
    assert process_event(event_id) == "done"
    # ...and the same messages queued again (a replayed outbound job) are not sent again.
    for message in messages():
        outbound.enqueue([message.id])
    assert len(smtp_server.envelopes) == 1 and len(webhook_server.requests) == 1
    assert sorted(m.kind for m in messages()) == ["email", "webhook"]
    assert {m.status for m in messages()} == {"sent"}


def test_the_sweep_re_enqueues_messages_nobody_delivered(app, webhook_server, monkeypatch):
    from datetime import timedelta
    from portal.models import utcnow
    calls = []
    monkeypatch.setattr(outbound, "enqueue", calls.extend)  # Redis down at commit: nothing delivered
    message, _ = queue_message(kind="webhook", dedupe_key="sweep", ticket_id=None, url=webhook_server.url,
                               body=json.dumps({"x": 1}), headers={})
    db.session.commit()
    assert calls == [message.id] and webhook_server.requests == []
    monkeypatch.undo()
    assert outbound.sweep_outbound(utcnow()) == 0  # not stale yet
    assert outbound.sweep_outbound(utcnow() + timedelta(hours=1)) == 1
    assert len(webhook_server.requests) == 1 and db.session.get(OutboundMessage, message.id).status == "sent"
    stuck = db.session.scalar(select(OutboundMessage).filter_by(dedupe_key="sweep"))
    assert stuck.status == "sent"
