"""The ticket page's custom-fields panel: the department's layout as a form, conditional fields,
server-side checks a crafted POST can't get around, stale edits, and a department move that keeps
values the new department doesn't accept (shown, not dropped)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from factories import csrf_token, make_admin, make_department, make_field, make_ticket
from portal.extensions import db
from portal.fields.services import save_layout
from portal.models import Ticket, TicketEvent

pytestmark = pytest.mark.integration


def section(*rows, title="Order"):
    return {"id": "s1", "title": title, "fields": list(rows)}


@pytest.fixture
def desk(app):
    books, phones = make_department(name="Books"), make_department(name="Electronics")
    make_field("category", "picklist", options=["damaged", "missing", "other"])
    make_field("subcategory", "picklist", options=["novels", "comics"],
               department_options={phones: ["screens", "batteries"]})
    make_field("explain", "text")
    make_field("order_number", "text", validation={"regex": r"^\d{6}$"})
    condition = {"all": [{"field": "cf.category", "op": "eq", "value": "other"}]}
    for dept in (books, phones):
        save_layout(dept, {"version": 1, "sections": [section(
            {"key": "order_number", "required": True}, {"key": "category"}, {"key": "subcategory"},
            {"key": "explain", "show_when": condition, "require_when": condition})]}, None)
    admin = make_admin()
    ticket = make_ticket(department=books, custom_fields={"order_number": "123456", "subcategory": "novels"})
    db.session.commit()
    return books, phones, admin, ticket


def post(client, ticket, data: dict, path: str = "custom-fields"):
    token = csrf_token(client, f"/tickets/{ticket.id}")
    return client.post(f"/tickets/{ticket.id}/{path}",
                       data={"csrf_token": token, "version": str(ticket.version), **data},
                       headers={"HX-Request": "true"})


def test_the_panel_shows_the_departments_layout(desk, client, login):
    books, _, admin, ticket = desk
    login(client, admin)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="custom-fields"' in page and 'name="cf-order_number"' in page and 'value="123456"' in page
    assert 'name="cf-explain"' not in page  # shown only when category is "other"


def test_saving_goes_through_the_ticket_service(desk, client, login):
    books, _, admin, ticket = desk
    login(client, admin)
    response = post(client, ticket, {"cf-order_number": "654321", "cf-category": "damaged",
                                     "cf-subcategory": "comics"})
    assert response.status_code == 200 and "Saved" in response.get_data(as_text=True)
    fresh = db.session.get(Ticket, ticket.id)
    db.session.refresh(fresh)
    assert fresh.custom_fields == {"order_number": "654321", "category": "damaged", "subcategory": "comics"}
    history = db.session.scalars(select(TicketEvent).filter_by(ticket_id=ticket.id, field="custom_fields")).all()
    assert history and history[-1].actor_id == admin.id


def test_errors_land_on_their_field_and_nothing_is_saved(desk, client, login):
    _, _, admin, ticket = desk
    login(client, admin)
    response = post(client, ticket, {"cf-order_number": "12", "cf-category": "other", "cf-explain": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'data-cf="order_number".*?class="error"', body, re.S)
    assert re.search(r'data-cf="explain".*?This field is required', body, re.S)  # required when "other"
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).custom_fields["order_number"] == "123456"


def test_a_crafted_post_cannot_set_a_hidden_or_unknown_field(desk, client, login):
    _, _, admin, ticket = desk
    login(client, admin)
    response = post(client, ticket, {"cf-order_number": "123456", "cf-category": "damaged",
                                     "cf-explain": "sneaky"})
    db.session.expire_all()
    assert "explain" not in db.session.get(Ticket, ticket.id).custom_fields
    assert response.status_code == 200  # the hidden field is not part of the form: its value is ignored


def test_refresh_reveals_a_conditional_field_without_saving(desk, client, login):
    _, _, admin, ticket = desk
    login(client, admin)
    body = post(client, ticket, {"cf-order_number": "123456", "cf-category": "other"},
                path="custom-fields/refresh").get_data(as_text=True)
    assert 'name="cf-explain"' in body
    db.session.expire_all()
    assert "category" not in db.session.get(Ticket, ticket.id).custom_fields


def test_a_stale_edit_is_refused_and_says_so(desk, client, login):
    _, _, admin, ticket = desk
    login(client, admin)
    token = csrf_token(client, f"/tickets/{ticket.id}")
    stale = ticket.version
    from portal.services.tickets import update_ticket
    update_ticket(ticket, {"priority": "high"}, by="someone")
    db.session.commit()
    response = client.post(f"/tickets/{ticket.id}/custom-fields", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "version": str(stale), "cf-order_number": "999999"})
    assert response.status_code == 409 and "changed this ticket meanwhile" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).custom_fields["order_number"] == "123456"


def test_moving_department_keeps_values_that_no_longer_fit_and_shows_them(desk, client, login):
    books, phones, admin, ticket = desk
    login(client, admin)
    token = csrf_token(client, f"/tickets/{ticket.id}")
    response = client.post(f"/tickets/{ticket.id}/fields/department", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "version": str(ticket.version), "department": str(phones.id)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="custom-fields"' in body and "novels" in body and "not a value of" in body
    db.session.expire_all()
    moved = db.session.get(Ticket, ticket.id)
    assert moved.department_id == phones.id and moved.custom_fields["subcategory"] == "novels"
