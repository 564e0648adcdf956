"""The customer portal's request form: the department's portal fields from its layout, checked on
the server like every channel; agents-only fields can't be set; bots get nowhere."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import csrf_token, make_department, make_field
from portal.extensions import db
from portal.fields.services import save_layout
from portal.models import Ticket

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(app):
    books, phones = make_department(name="Books"), make_department(name="Electronics")
    make_field("order_number", "text", visibility="customers_edit", label="Order number", label_zh="订单号",
               validation={"regex": r"^\d{6}$"})
    make_field("model", "picklist", visibility="customers_edit", options=["x1", "x2"])
    make_field("internal_score", "number", visibility="agents")
    save_layout(phones, {"version": 1, "sections": [{"id": "s1", "title": "Your device", "fields": [
        {"key": "order_number", "required": True, "portal": True}, {"key": "model", "portal": True},
        {"key": "internal_score"}]}]}, None)
    db.session.commit()
    return books, phones


def submit(client, department, **data):
    token = csrf_token(client, "/support/")
    return client.post("/support/", data={"csrf_token": token, "name": "Li Lei", "email": "LiLei@Example.com",
                                          "department": str(department.id), "subject": "Screen cracked",
                                          "body": "It arrived broken.", **data})


def test_the_form_shows_the_departments_portal_fields_only(desk, client):
    books, phones = desk
    page = client.get(f"/support/?department={phones.id}").get_data(as_text=True)
    assert 'name="cf-order_number"' in page and 'name="cf-model"' in page
    assert "internal_score" not in page
    assert '="None"' not in page  # an absent attribute (no help text, no error) is left out, not written "None"
    fragment = client.get(f"/support/fields?department={books.id}").get_data(as_text=True)
    assert "cf-order_number" not in fragment  # Books has no layout of its own and the default is empty
    assert client.get("/support/fields?department=999").status_code == 404


def test_a_request_becomes_a_portal_ticket_with_its_fields(desk, client):
    _, phones = desk
    response = submit(client, phones, **{"cf-order_number": "123456", "cf-model": "x2"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/support/received")
    ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert (ticket.channel, ticket.department_id, ticket.subject) == ("portal", phones.id, "Screen cracked")
    assert ticket.custom_fields == {"order_number": "123456", "model": "x2"}
    assert ticket.contact.name == "Li Lei"
    received = client.get("/support/received").get_data(as_text=True)
    assert f"#{ticket.id}" in received and "lilei@example.com" in received


def test_errors_are_shown_on_the_field_and_nothing_is_created(desk, client):
    _, phones = desk
    response = submit(client, phones, **{"cf-order_number": "12ab", "cf-model": "x9"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'aria-invalid="true"' in body
    assert db.session.scalar(select(Ticket.id)) is None
    missing = submit(client, phones, **{"cf-model": "x1"})
    assert missing.status_code == 400 and "This field is required" in missing.get_data(as_text=True)


def test_a_crafted_post_cannot_set_an_agents_only_field(desk, client):
    _, phones = desk
    submit(client, phones, **{"cf-order_number": "123456", "cf-internal_score": "99"})
    ticket = db.session.scalars(select(Ticket)).first()
    assert ticket is not None and "internal_score" not in ticket.custom_fields


def test_the_honeypot_creates_nothing(desk, client):
    _, phones = desk
    response = submit(client, phones, **{"cf-order_number": "123456", "website": "http://spam.example"})
    assert response.status_code == 302
    assert db.session.scalar(select(Ticket.id)) is None


def test_the_portal_in_chinese(desk, client):
    _, phones = desk
    page = client.get(f"/support/?department={phones.id}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "订单号" in page.get_data(as_text=True)
