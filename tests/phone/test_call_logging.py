"""Logging phone calls: on an existing ticket or as a new one, validated, never emailed, and the
number joins the contact's identities."""
import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_admin, make_agent, make_contact, make_department, make_ticket
from portal.extensions import db
from portal.models import Contact, OutboundMessage, PhoneCall, Thread, Ticket
from portal.services import contacts as contact_service
from portal.services import phone as phone_service
from portal.services.errors import ValidationFailed

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("text,seconds", [("4:30", 270), ("0:05", 5), ("1:02:03", 3723), ("5", 300),
                                          ("2.5", 150), ("2,5", 150), ("7 min", 420), ("12分钟", 720)])
def test_durations(text, seconds):
    assert phone_service.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "4:75", "-3", "25:00:00", "1:2"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        phone_service.parse_duration(text)


def test_format_duration():
    assert [phone_service.format_duration(s) for s in (5, 270, 3723, None)] == ["0:05", "4:30", "1:02:03", "—"]


def test_check_call_reports_every_bad_field(app):
    with pytest.raises(ValidationFailed) as caught:
        phone_service.check_call("sideways", "12", "soon")
    assert set(caught.value.errors) == {"call_direction", "call_number", "call_duration"}
    with pytest.raises(ValidationFailed) as caught:
        phone_service.check_call("inbound", "", "")
    assert "Enter the phone number" in caught.value.errors["call_number"]
    assert "how long" in caught.value.errors["call_duration"]
    assert phone_service.check_call("outbound", "138 0013 8000", "3") == phone_service.CallDetails(
        "outbound", "+8613800138000", 180)


@pytest.fixture
def ticket(app):
    contact = make_contact("ann@example.com", name="Ann Lee")
    t = make_ticket(contact=contact, subject="Where is my parcel")
    db.session.commit()
    return t


def test_an_inbound_call_is_the_customers_message_and_claims_the_number(ticket):
    agent = make_admin(name="Agent Wu")
    ticket.status = "pending"
    thread = phone_service.log_call(ticket, direction="inbound", number="138 0013 8000", duration="4:05",
                                    notes="Asked again about the parcel", by=agent)
    db.session.commit()
    assert (thread.kind, thread.channel, thread.author, thread.contact) == ("customer", "phone", agent, ticket.contact)
    assert thread.author_name == "Ann Lee"
    assert ticket.status == "open"  # the customer called back: back in the agents' court
    call = db.session.scalar(select(PhoneCall).filter_by(thread_id=thread.id))
    assert (call.direction, call.number, call.duration_seconds) == ("inbound", "+8613800138000", 245)
    assert contact_service.find_contact_by_identity("phone", "+8613800138000") is ticket.contact


def test_an_outbound_call_is_a_reply_that_is_never_emailed(ticket):
    agent = make_admin()
    thread = phone_service.log_call(ticket, direction="outbound", number="+8613800138000", duration="2",
                                    notes="Told her it ships Monday", by=agent)
    db.session.commit()
    assert (thread.kind, thread.channel) == ("reply", "phone")
    assert ticket.first_response_at is not None
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0
    assert thread.message_id is None
    try:  # the control: the same reply typed in the composer is emailed (where email out exists)
        from portal.channels.mail.outgoing import email_reply  # noqa: F401
    except ImportError:
        return
    from portal.services import tickets as ticket_service
    ticket_service.add_thread(ticket, kind="reply", body="In writing, too", by=agent)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_a_number_owned_by_someone_else_stays_theirs(ticket):
    other = contact_service.find_or_create_by_identity("phone", "+8613900139000", "Bob")
    phone_service.log_call(ticket, direction="inbound", number="139 0013 9000", duration="1",
                           notes="Bob called for Ann", by=make_admin())
    assert contact_service.find_contact_by_identity("phone", "+8613900139000") is other
    assert [i.kind for i in ticket.contact.identities] == ["email"]


def test_log_call_validates_and_saves_nothing_on_error(ticket):
    with pytest.raises(ValidationFailed) as caught:
        phone_service.log_call(ticket, direction="inbound", number="+8613800138000", duration="1", notes=" ",
                               by=make_admin())
    assert list(caught.value.errors) == ["body"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PhoneCall)) == 0
    assert len(db.session.get(Ticket, ticket.id).threads) == 1


def test_a_call_opens_a_ticket_for_the_numbers_owner_or_a_new_contact(app):
    dept = make_department(name="Sales")
    agent = make_admin()
    known = contact_service.find_or_create_by_identity("phone", "+8613800138000", "Ann Lee")
    t1 = phone_service.open_call_ticket(direction="inbound", number="138-0013-8000", duration="3:00",
                                        subject="Broken kettle", notes="It sparks", department=dept, by=agent)
    assert t1.contact is known and t1.channel == "phone"
    assert t1.threads[0].phone_call.duration_seconds == 180
    t2 = phone_service.open_call_ticket(direction="outbound", number="+44 20 7946 0018", duration="1",
                                        subject="Follow-up", notes="Left a message", department=dept, by=agent,
                                        name="Lin")
    assert t2.contact.name == "Lin" and [i.value for i in t2.contact.identities] == ["+442079460018"]
    # By email: the number joins the contact the email finds.
    emailed = make_contact("zoe@example.com", name="Zoe")
    t3 = phone_service.open_call_ticket(direction="inbound", number="+8613700137000", duration="1",
                                        subject="Hi", notes="Called", department=dept, by=agent,
                                        email="ZOE@example.com")
    assert t3.contact is emailed
    assert sorted(i.kind for i in emailed.identities) == ["email", "phone"]


# ------------------------------------------------------------------------------------- pages
HX = {"HX-Request": "true"}


def test_log_a_call_from_the_ticket_page(ticket, client):
    agent = make_admin()
    db.session.commit()
    login(client, agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Log a call" in page
    headers = {**HX, "X-CSRFToken": csrf_token(client, f"/tickets/{ticket.id}")}
    bad = client.post(f"/tickets/{ticket.id}/call", headers=headers,
                      data={"call_direction": "inbound", "call_number": "12", "call_duration": "4:99", "notes": ""})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "is not a phone number" in text and "mm:ss" in text and "Write down what the call was about" in text
    assert 'value="12"' in text  # what was typed is kept
    ok = client.post(f"/tickets/{ticket.id}/call", headers=headers,
                     data={"call_direction": "outbound", "call_number": "+86 138 0013 8000", "call_duration": "4:30",
                           "notes": "Promised a refund"})
    assert ok.status_code == 200
    text = ok.get_data(as_text=True)
    assert "Outbound call" in text and "4:30" in text and "Promised a refund" in text
    # The number is prefilled from the contact's phone next time.
    assert 'value="+86 138 0013 8000"' in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_an_agent_cannot_log_a_call_on_a_ticket_out_of_scope(ticket, client):
    agent = make_agent(departments=[make_department()])
    db.session.commit()
    login(client, agent)
    token = csrf_token(client, "/contacts")
    response = client.post(f"/tickets/{ticket.id}/call", headers={**HX, "X-CSRFToken": token},
                           data={"call_direction": "inbound", "call_number": "+8613800138000", "call_duration": "1",
                                 "notes": "x"})
    assert response.status_code == 404


def test_new_ticket_as_a_phone_call(app, client):
    dept = make_department(name="Sales")
    agent = make_admin()
    db.session.commit()
    login(client, agent)
    token = csrf_token(client, "/tickets/new")
    base = {"csrf_token": token, "subject": "Kettle", "body": "Sparks when on", "department": dept.id,
            "priority": "normal", "channel": "email"}
    missing = client.post("/tickets/new", data=base)
    assert missing.status_code == 400 and "or log a phone call" in missing.get_data(as_text=True)
    bad = client.post("/tickets/new", data={**base, "is_call": "y", "call_direction": "inbound", "call_number": "",
                                            "call_duration": "long"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Enter the phone number" in text and "mm:ss" in text
    ok = client.post("/tickets/new", data={**base, "is_call": "y", "call_direction": "inbound",
                                           "call_number": "138 0013 8000", "call_duration": "2:10",
                                           "contact_name": "Ann Lee"})
    assert ok.status_code == 302
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.channel == "phone" and ticket.contact.name == "Ann Lee"
    assert ticket.threads[0].phone_call.number == "+8613800138000"
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Inbound call" in page and "2:10" in page
