"""The REST API's tickets: created, read, changed and listed through the ticket service, with custom
fields checked by the department's layout exactly as on the agent's and the customer's forms."""
from __future__ import annotations

import json

import pytest

from factories import make_ticket
from portal.extensions import db
from portal.models import Ticket

pytestmark = pytest.mark.integration

NEW = {"subject": "Screen cracked", "body": "It arrived broken.", "contact_email": "Li.Lei@Example.com",
       "contact_name": "Li Lei", "department": "Electronics", "priority": "high",
       "custom_fields": {"order_number": "123456", "product": "phone_x", "refund_amount": "99.5"}}


def problem(response) -> dict:
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()


def test_create_answers_201_with_the_ticket_and_stores_the_custom_fields(api, desk):
    response = api("POST", "/tickets", json=NEW)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/tickets/{body['number']}"
    assert (body["status"], body["priority"], body["channel"], body["assignee"]) == ("new", "high", "api", None)
    assert body["department"] == {"id": desk.phones.id, "name": "Electronics"}
    assert body["contact"]["email"] == "li.lei@example.com" and body["contact"]["name"] == "Li Lei"
    assert body["custom_fields"] == {"order_number": "123456", "product": "phone_x", "refund_amount": 99.5}
    ticket = db.session.get(Ticket, body["number"])
    assert ticket.custom_fields == body["custom_fields"] and ticket.channel == "api"
    assert api("GET", f"/tickets/{body['number']}").get_json() == body
    # the department by its Chinese name, or by id
    again = api("POST", "/tickets", json={**NEW, "department": "电子产品"})
    assert again.status_code == 201 and again.get_json()["department"]["id"] == desk.phones.id


def test_the_layout_checks_custom_fields_as_on_every_form(api, desk):
    cases = {
        "custom_fields.order_number": {"order_number": "12ab"},                        # the field's regex
        "custom_fields.product": {"order_number": "123456", "product": "ebook_reader"},  # Books' value, not ours
        "custom_fields.notes": {"order_number": "123456", "notes": "x"},                # not on this layout
        "custom_fields.nope": {"order_number": "123456", "nope": 1},                     # no such field
    }
    for key, custom in cases.items():
        response = api("POST", "/tickets", json={**NEW, "custom_fields": custom})
        assert response.status_code == 422 and key in problem(response)["errors"], (key, response.get_json())
    missing = api("POST", "/tickets", json={**NEW, "custom_fields": {"product": "tablet"}})
    assert "custom_fields.order_number" in problem(missing)["errors"]  # required by the layout
    # refund_amount shows only when the product is phone_x: hidden, it can't be set by a crafted request
    hidden = api("POST", "/tickets", json={**NEW, "custom_fields": {"order_number": "123456", "product": "tablet",
                                                                    "refund_amount": "10"}})
    assert "custom_fields.refund_amount" in problem(hidden)["errors"]
    assert db.session.query(Ticket).count() == 0  # nothing half-saved


def test_bad_bodies_get_a_problem_naming_each_member(api, desk):
    response = api("POST", "/tickets", json={"subject": 3, "department": True, "tags": "x", "colour": "red",
                                             "priority": "urgent!", "contact_email": "not-an-address"})
    errors = problem(response)["errors"]
    assert response.status_code == 422
    assert set(errors) == {"colour"}  # unknown members first: nothing else is read
    response = api("POST", "/tickets", json={"subject": 3, "department": True, "tags": "x", "priority": "urgent!",
                                             "contact_email": "not-an-address"})
    errors = problem(response)["errors"]
    assert set(errors) == {"subject", "body", "department", "tags", "priority", "contact_email"}
    assert api("POST", "/tickets", data="subject=x").status_code == 415
    assert api("POST", "/tickets", data="[1]", content_type="application/json").status_code == 400
    assert api("POST", "/tickets", data="{oops", content_type="application/json").status_code == 400
    other_department = api("POST", "/tickets", json={**NEW, "department": "Books"})
    assert problem(other_department)["errors"] == {"department": "No such department among yours."}


def test_tokens_scopes_and_departments(api, desk, client):
    assert problem(api("GET", "/tickets", who=None)).get("status") == 401
    assert api("GET", "/tickets", who=None).headers["WWW-Authenticate"].startswith("Bearer")
    assert api("GET", "/tickets", who=None, headers={"Authorization": "Bearer dw_nope"}).status_code == 401
    assert api("POST", "/tickets", who="reader", json=NEW).status_code == 403
    number = api("POST", "/tickets", json=NEW).get_json()["number"]
    assert api("GET", f"/tickets/{number}", who="reader").status_code == 200
    assert problem(api("GET", f"/tickets/{number}", who="other"))["status"] == 404  # not Bob's department
    assert api("GET", f"/tickets/{number}", who="admin").status_code == 200
    assert [t["number"] for t in api("GET", "/tickets", who="other").get_json()["items"]] == []
    # a deactivated agent's tokens stop working; a revoked token too
    desk.agent.active = False
    db.session.commit()
    assert api("GET", f"/tickets/{number}").status_code == 401
    from portal.models import ApiToken
    from portal.services.api_tokens import revoke
    desk.agent.active = True
    for token in db.session.query(ApiToken).filter_by(user_id=desk.agent.id):
        revoke(token)
    db.session.commit()
    assert api("GET", f"/tickets/{number}").status_code == 401
    # the API takes no cookies and needs no CSRF token
    assert client.get("/api/v1/tickets").status_code == 401


def test_update_changes_fields_and_custom_fields_and_refuses_stale_versions(api, desk):
    created = api("POST", "/tickets", json=NEW).get_json()
    path = f"/tickets/{created['number']}"
    response = api("PATCH", path, json={"status": "open", "priority": "urgent", "tags": ["VIP", "refund"],
                                        "assignee": "ann@example.com", "custom_fields": {"refund_amount": 20},
                                        "version": created["version"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["priority"], body["tags"]) == ("open", "urgent", ["refund", "vip"])
    assert body["assignee"]["email"] == "ann@example.com"
    assert body["custom_fields"] == {"order_number": "123456", "product": "phone_x", "refund_amount": 20.0}
    assert body["version"] > created["version"]
    stale = api("PATCH", path, json={"priority": "low", "version": created["version"]})
    assert stale.status_code == 409 and f"version {body['version']}" in problem(stale)["detail"]
    assert api("GET", path).get_json()["priority"] == "urgent"
    # removing a value with null; a bad value changes nothing
    assert api("PATCH", path, json={"custom_fields": {"refund_amount": None}}).get_json()["custom_fields"] == {
        "order_number": "123456", "product": "phone_x"}
    bad = api("PATCH", path, json={"status": "open", "custom_fields": {"order_number": "1"}})
    assert "custom_fields.order_number" in problem(bad)["errors"]
    assert api("PATCH", path, json={"status": "gone"}).status_code == 422
    assert api("PATCH", path, json={"assignee": "bob@example.com"}).status_code == 422  # not in Electronics


def test_moving_department_keeps_values_that_no_longer_fit(api, desk):
    created = api("POST", "/tickets", json=NEW).get_json()
    path = f"/tickets/{created['number']}"
    moved = api("PATCH", path, who="admin", json={"department": desk.books.id})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    # phone_x isn't a Books product, and refund_amount isn't on Books' layout: both kept, never dropped
    assert moved.get_json()["custom_fields"] == created["custom_fields"]
    fixed = api("PATCH", path, who="admin", json={"custom_fields": {"product": "ebook_reader"}})
    assert fixed.get_json()["custom_fields"]["product"] == "ebook_reader"


def test_list_filters_with_the_condition_language_and_pages_by_cursor(api, desk):
    numbers = []
    for amount in (10, 50, 200, 500):
        numbers.append(api("POST", "/tickets", json={**NEW, "custom_fields": {
            "order_number": "123456", "product": "phone_x", "refund_amount": amount}}).get_json()["number"])
    make_ticket(department=desk.books, subject="Books ticket")
    condition = {"all": [{"field": "cf.refund_amount", "op": "gte", "value": 50}]}
    page = api("GET", "/tickets", query_string={"filter": json.dumps(condition), "limit": 2}).get_json()
    assert [t["number"] for t in page["items"]] == [numbers[3], numbers[2]] and page["next_cursor"]
    rest = api("GET", "/tickets", query_string={"filter": json.dumps(condition), "limit": 2,
                                               "cursor": page["next_cursor"]}).get_json()
    assert [t["number"] for t in rest["items"]] == [numbers[1]] and rest["next_cursor"] is None
    everything = api("GET", "/tickets", who="admin", query_string={"limit": 100}).get_json()["items"]
    assert len(everything) == 5
    bad = api("GET", "/tickets", query_string={"filter": json.dumps({"all": [{"field": "cf.nope", "op": "eq",
                                                                              "value": 1}]})})
    assert bad.status_code == 422 and any(k.startswith("filter") for k in problem(bad)["errors"])
    assert "filter" in problem(api("GET", "/tickets", query_string={"filter": "{"}))["errors"]
    assert set(problem(api("GET", "/tickets", query_string={"limit": 0, "cursor": "x"}))["errors"]) == {
        "limit", "cursor"}


def test_errors_in_chinese_when_asked(api, desk):
    response = api("POST", "/tickets", json={**NEW, "subject": " "}, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    message = problem(response)["errors"]["subject"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_create_token_command_prints_a_working_token(app, desk, client):
    result = app.test_cli_runner().invoke(args=["create-token", "--email", "ann@example.com", "--scope",
                                                "tickets:read"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[0]
    assert secret.startswith("dw_")
    ok = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    missing = app.test_cli_runner().invoke(args=["create-token", "--email", "nobody@example.com"])
    assert missing.exit_code != 0 and "no agent" in missing.output


def test_numbers_beyond_the_column_are_not_found_not_errors(api, desk, client, login):
    # found by schemathesis: the database raised on numbers an INTEGER column can't hold
    for number in (2**31, 2**63, 10**30):
        assert problem(api("GET", f"/tickets/{number}"))["status"] == 404
        assert api("PATCH", f"/tickets/{number}", json={"status": "open"}).status_code == 404
    assert "cursor" in problem(api("GET", "/tickets", query_string={"cursor": str(10**30)}))["errors"]
    assert problem(api("GET", "/tickets", query_string={"limt": 5}))["errors"] == {"limt": "Unknown parameter."}
    login(client, desk.agent)
    assert client.get(f"/tickets/{2**63}").status_code == 404  # the agent's ticket page shares the helper


def test_a_list_page_costs_a_few_queries_not_some_per_ticket(api, desk, app):
    from sqlalchemy import event
    for i in range(12):
        api("POST", "/tickets", json={**NEW, "contact_email": f"c{i}@example.com", "tags": ["a", "b"]})
    db.session.expire_all()
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        page = api("GET", "/tickets", who="admin", query_string={"limit": 12}).get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(page["items"]) == 12 and all(t["contact"]["email"] for t in page["items"])
    assert len(statements) <= 12, statements  # token, the page, and one IN query per relation


def test_a_tokens_use_is_noted_even_when_the_request_fails_and_the_token_is_read_once(api, desk):
    from sqlalchemy import event, select
    from portal.models.tokens import ApiToken
    seen = []
    listen = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert api("GET", "/tickets/999999").status_code == 404
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    db.session.expire_all()
    used = db.session.scalars(select(ApiToken.last_used_at).where(ApiToken.user_id == desk.agent.id,
                                                                  ApiToken.name == "agent token")).one()
    assert used is not None
    assert sum(s.lstrip().startswith("SELECT") and "FROM api_tokens" in s for s in seen) == 1, seen
