"""The webhook endpoint against a simulated sender: signatures, mapping, dedupe, threading, the log."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from factories import make_field
from portal.extensions import db
from portal.models import ChannelDelivery, Priority, Thread, Ticket

from .conftest import order

pytestmark = pytest.mark.integration


def deliveries():
    return list(db.session.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id)))


def test_a_signed_post_creates_a_ticket_through_the_mapping(sender, shop):
    channel, _secret = shop
    response = sender.post(order(urgency="high", labels=["Returns", "size"]))
    assert response.status_code == 201, response.get_json()
    ticket = db.session.get(Ticket, response.get_json()["ticket"])
    assert (ticket.subject, ticket.channel, ticket.department_id) == ("Order A-100: wrong size", "webhook",
                                                                      channel.department_id)
    assert ticket.priority == Priority.HIGH and ticket.tags == ["returns", "size"]
    assert ticket.threads[0].body_text == "The shoes are too small."
    assert ticket.contact.email == "wang.fang@example.com" and ticket.contact.name == "Wang Fang"
    [logged] = deliveries()
    assert (logged.status, logged.http_status, logged.ticket_id) == ("ticket", 201, ticket.id)
    assert json.loads(logged.payload)["order"]["number"] == "A-100"


def test_defaults_fill_missing_values(sender):
    response = sender.post(order())  # no urgency, no labels: the defaults
    ticket = db.session.get(Ticket, response.get_json()["ticket"])
    assert ticket.priority == Priority.NORMAL and ticket.tags == ["shop"]


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "missing", "no sha256= prefix"])
def test_a_bad_signature_is_refused_with_401_and_logged(sender, how):
    body = json.dumps(order()).encode()
    if how == "wrong secret":
        response = sender.post(raw=body, secret="whsec_not-the-secret")
    elif how == "tampered body":
        response = sender.post(raw=body.replace(b"too small", b"too large"),
                               signature="sha256=" + sender.digest(body))
    elif how == "missing":
        response = sender.post(raw=body, signature="")
    else:
        response = sender.post(raw=body, signature=sender.digest(body))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json" and response.get_json()["title"] == "Bad signature"
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    [logged] = deliveries()
    assert (logged.status, logged.http_status) == ("rejected", 401) and logged.problem


def test_a_timestamp_is_signed_and_an_old_one_is_refused(sender):
    assert sender.post(order(), timestamp=sender.now()).status_code == 201
    old = sender.post(order(event_id="ev-2"), timestamp=sender.now() - 301)
    assert old.status_code == 401 and "5 minutes" in old.get_json()["detail"]
    # The timestamp is inside the signature: a replayer can't freshen an old request's timestamp.
    body = json.dumps(order(event_id="ev-3")).encode()
    stale = sender.now() - 1000
    replayed = sender.client.post(sender.url, data=body, headers={
        "X-Deskwright-Signature": "sha256=" + sender.digest(body, stale),
        "X-Deskwright-Timestamp": str(sender.now())})
    assert replayed.status_code == 401 and "does not match" in replayed.get_json()["detail"]
    assert sender.post(order(event_id="ev-4"), timestamp="yesterday").status_code == 401


def test_bad_json_is_400_and_kept(sender):
    response = sender.post(raw=b'{"order": ')
    assert response.status_code == 400 and response.get_json()["title"] == "Bad JSON"
    [logged] = deliveries()
    assert logged.payload == '{"order": ' and logged.status == "rejected"


def test_a_missing_required_value_is_422_naming_the_path(sender):
    payload = order()
    del payload["message"]
    response = sender.post(payload)
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json" and "message" in problem["errors"]
    assert "message" in problem["detail"]
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert deliveries()[0].http_status == 422


def test_values_the_ticket_service_refuses_are_422_by_path(sender):
    response = sender.post(order(urgency="whenever"))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"urgency": "Unknown priority."}
    bad_email = sender.post(order(event_id="ev-9", email="not-an-address"))
    assert bad_email.status_code == 422 and "contact_email" in bad_email.get_json()["errors"]
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_a_wrong_type_at_a_path_is_422(sender):
    response = sender.post(order(message={"text": "nested"}))
    assert response.status_code == 422 and "message" in response.get_json()["errors"]


def test_the_same_external_id_twice_makes_one_ticket_and_answers_200(sender):
    first = sender.post(order())
    again = sender.post(order(message="The shoes are too small. (retry)"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["ticket"] == first.get_json()["ticket"]
    assert again.get_json()["status"] == "duplicate"
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert db.session.scalar(select(func.count(Thread.id))) == 1
    assert [d.status for d in deliveries()] == ["ticket", "duplicate"]


def test_a_conversation_key_adds_a_thread_to_the_open_ticket(sender):
    first = sender.post(order())
    follow_up = sender.post(order(event_id="ev-2", message="Can I swap them for size 38?"))
    assert follow_up.status_code == 201 and follow_up.get_json()["status"] == "thread"
    number = first.get_json()["ticket"]
    assert follow_up.get_json()["ticket"] == number
    ticket = db.session.get(Ticket, number)
    assert [t.body_text for t in ticket.threads] == ["The shoes are too small.", "Can I swap them for size 38?"]
    assert ticket.threads[1].kind == "customer" and ticket.threads[1].channel == "webhook"
    other = sender.post(order(event_id="ev-3", number="B-7"))
    assert other.get_json()["ticket"] != number


def test_a_closed_conversation_starts_a_new_ticket(sender):
    from portal.services.tickets import update_ticket
    first = sender.post(order())
    ticket = db.session.get(Ticket, first.get_json()["ticket"])
    update_ticket(ticket, {"status": "closed"}, by="test")
    db.session.commit()
    later = sender.post(order(event_id="ev-2"))
    assert later.status_code == 201 and later.get_json()["status"] == "ticket"
    assert later.get_json()["ticket"] != ticket.id


def test_custom_fields_are_checked_by_the_ticket_service(app, shop, sender):
    channel, _ = shop
    make_field("order_total", "number")
    channel.mapping = [*channel.mapping, {"field": "cf.order_total", "path": "total", "default": ""}]
    db.session.commit()
    ok = sender.post(order(total=129))
    assert ok.status_code == 201, ok.get_json()
    assert db.session.get(Ticket, ok.get_json()["ticket"]).custom_fields["order_total"] == 129
    bad = sender.post(order(event_id="ev-2", number="B-1", total="lots"))
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["total"]


def test_an_unknown_channel_is_404_and_a_switched_off_one_403(sender, shop, client):
    channel, _ = shop
    assert client.post("/channels/webhook/nope", data=b"{}").status_code == 404
    channel.active = False
    db.session.commit()
    response = sender.post(order())
    assert response.status_code == 403
    assert deliveries()[-1].http_status == 403


def test_a_body_over_the_limit_is_413(app, sender):
    app.config["WEBHOOK_MAX_BYTES"] = 1000
    response = sender.post(order(message="x" * 2000))
    assert response.status_code == 413
    [logged] = deliveries()
    assert logged.status == "rejected" and len(logged.payload) == 1000


def test_no_csrf_or_login_is_needed_but_get_is_not_allowed(sender):
    assert sender.client.get(sender.url).status_code == 405


def test_a_phone_number_files_the_ticket_under_a_phone_contact(sender, shop):
    from portal.models import ContactIdentity
    channel, _ = shop
    channel.mapping = [row if row["field"] != "contact_email" else {**row, "field": "contact_phone",
                                                                    "path": "customer.phone"}
                       for row in channel.mapping]
    db.session.commit()
    payload = order()
    payload["customer"] = {"phone": "+86 138 0013 8000", "name": "Wang Fang"}
    response = sender.post(payload)
    assert response.status_code == 201
    ticket = db.session.get(Ticket, response.get_json()["ticket"])
    identity = db.session.scalar(select(ContactIdentity).where(ContactIdentity.contact_id == ticket.contact_id))
    assert (identity.kind, identity.value, ticket.contact.name) == ("phone", "+8613800138000", "Wang Fang")
