"""Contacts through the API: found by any identity or a search, read with the tickets the token's
agent may see, created and changed through portal.services.contacts (its checks, its audit trail)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make_ticket
from portal.extensions import db
from portal.models import Contact, ContactEvent
from portal.services.contacts import find_or_create_contact, merge_contacts

pytestmark = pytest.mark.integration


def problem(response) -> dict:
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def li(desk):
    li = find_or_create_contact("li.lei@example.com", "Li Lei")
    mine = make_ticket(department=desk.phones, contact=li)
    theirs = make_ticket(department=desk.books, contact=li)
    db.session.commit()
    return li, mine, theirs


def test_read_a_contact_with_only_the_tickets_the_agent_may_see(api, desk, li):
    contact, mine, theirs = li
    body = api("GET", f"/contacts/{contact.id}").get_json()
    assert (body["name"], body["email"], body["identities"]) == (
        "Li Lei", "li.lei@example.com", [{"kind": "email", "value": "li.lei@example.com"}])
    assert (body["tier"], body["effective_tier"], body["account"], body["merged_into"]) == (
        None, "standard", None, None)
    assert body["recent_tickets"] == [mine.id]
    assert api("GET", f"/contacts/{contact.id}", who="admin").get_json()["recent_tickets"] == [theirs.id, mine.id]
    assert problem(api("GET", "/contacts/999999"))["status"] == 404
    assert api("GET", f"/contacts/{contact.id}", who="mta").status_code == 403  # no contacts:read


def test_find_by_identity_or_search_and_page(api, desk, li):
    contact, _mine, _theirs = li
    others = [find_or_create_contact(f"zhang{i}@example.com", f"Zhang {i}") for i in range(3)]
    db.session.commit()
    found = api("GET", "/contacts", query_string={"email": "LI.LEI@example.com"}).get_json()
    assert [c["id"] for c in found["items"]] == [contact.id] and found["next_cursor"] is None
    assert api("GET", "/contacts", query_string={"phone": "+8613800138000"}).get_json()["items"] == []
    page = api("GET", "/contacts", query_string={"q": "zhang", "limit": 2}).get_json()
    assert [c["id"] for c in page["items"]] == [others[0].id, others[1].id]
    rest = api("GET", "/contacts", query_string={"q": "zhang", "limit": 2, "cursor": page["next_cursor"]}).get_json()
    assert [c["id"] for c in rest["items"]] == [others[2].id] and rest["next_cursor"] is None
    assert set(problem(api("GET", "/contacts", query_string={"cursor": "x", "mail": "a"}))["errors"]) == {"mail"}
    # found by schemathesis on PostgreSQL, whose text can't hold NUL: a 422, not a database error
    assert set(problem(api("GET", "/contacts", query_string={"email": "a\x00b"}))["errors"]) == {"email"}
    nul = api("POST", "/contacts", who="crm", json={"name": "x\x00", "identities": [{"kind": "email",
                                                                                   "value": "\x00@x.cn"}]})
    assert set(problem(nul)["errors"]) == {"name", "identities.0.value"}


def test_a_page_of_contacts_reads_their_tickets_in_one_query(api, desk, li, app):
    from sqlalchemy import event
    contact, mine, _theirs = li
    many = []
    for i in range(12):
        other = find_or_create_contact(f"wang{i}@example.com", f"Wang {i}")
        many.append((other, [make_ticket(department=desk.phones, contact=other) for _ in range(i % 3)]))
    busy = find_or_create_contact("busy@example.com", "Busy")
    busy_tickets = [make_ticket(department=desk.phones, contact=busy) for _ in range(12)]
    db.session.commit()
    seen = []
    listen = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        page = api("GET", "/contacts", query_string={"limit": 50}).get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    recent = {c["id"]: c["recent_tickets"] for c in page["items"]}
    assert recent[contact.id] == [mine.id]  # the other department's ticket stays hidden
    for other, tickets in many:
        assert recent[other.id] == [t.id for t in reversed(tickets)]
    assert recent[busy.id] == [t.id for t in reversed(busy_tickets)][:10]  # the latest ten
    assert sum("FROM tickets" in statement for statement in seen) == 1, seen
    assert len(seen) <= 8, seen  # token, contacts, identities, accounts, tickets: not one per contact


def test_create_and_change_through_the_contact_service(api, desk, li):
    contact, _mine, _theirs = li
    assert api("POST", "/contacts", json={"name": "Wang", "identities": [{"kind": "email",
                                                                         "value": "w@example.com"}]}).status_code == 403
    created = api("POST", "/contacts", who="crm", json={
        "name": "Wang Fang", "account": "Acme", "tier": "vip", "timezone": "Asia/Shanghai",
        "identities": [{"kind": "email", "value": "Wang@Example.com"}, {"kind": "phone", "value": "+86 138 0013 8000"}]})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert created.headers["Location"] == body["url"] == f"/api/v1/contacts/{body['id']}"
    assert body["identities"] == [{"kind": "email", "value": "wang@example.com"},
                                  {"kind": "phone", "value": "+8613800138000"}]
    assert (body["account"], body["tier"], body["effective_tier"], body["timezone"]) == (
        "Acme", "vip", "vip", "Asia/Shanghai")
    found = api("GET", "/contacts", query_string={"phone": "+86 13800138000"}).get_json()["items"]
    assert [c["id"] for c in found] == [body["id"]]
    # an identity someone else has, a bad phone number, a bad tier: each named, nothing saved
    refused = api("POST", "/contacts", who="crm", json={
        "name": "Copy", "tier": "gold",
        "identities": [{"kind": "email", "value": "li.lei@example.com"}, {"kind": "phone", "value": "12"}]})
    errors = problem(refused)["errors"]
    assert set(errors) == {"identities.0.value", "identities.1.value", "tier"}
    assert "Li Lei" in errors["identities.0.value"]
    assert db.session.scalar(select(Contact).where(Contact.name == "Copy")) is None
    assert set(problem(api("POST", "/contacts", who="crm", json={"identities": []}))["errors"]) == {
        "identities", "name"}
    # PATCH: details, then an identity swapped in one request
    path = f"/contacts/{body['id']}"
    changed = api("PATCH", path, who="crm", json={
        "name": "Wang Fang (Acme)", "tier": None, "add_identities": [{"kind": "wechat", "value": "oWx_123"}],
        "remove_identities": [{"kind": "phone", "value": "+8613800138000"}]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    after = changed.get_json()
    assert (after["name"], after["tier"], after["effective_tier"]) == ("Wang Fang (Acme)", None, "standard")
    assert after["identities"] == [{"kind": "email", "value": "wang@example.com"},
                                   {"kind": "wechat", "value": "oWx_123"}]
    actions = list(db.session.scalars(select(ContactEvent.action).where(ContactEvent.contact_id == body["id"])
                                      .order_by(ContactEvent.id)))
    assert actions[-3:] == ["updated", "identity_added", "identity_removed"]
    last = api("PATCH", path, who="crm", json={"remove_identities": after["identities"]})
    assert "remove_identities.1.value" in problem(last)["errors"]  # a contact keeps one identity
    assert len(api("GET", path).get_json()["identities"]) == 2  # nothing half-done
    assert set(problem(api("PATCH", path, who="crm", json={"name": 5, "merge": 1}))["errors"]) == {"merge"}


def test_a_merged_contact_points_to_the_survivor(api, desk, li):
    contact, _mine, _theirs = li
    other = find_or_create_contact("li.lei@work.example.com", "Li Lei")
    merge_contacts(other, contact, by=desk.admin)
    db.session.commit()
    body = api("GET", f"/contacts/{other.id}").get_json()
    assert body["merged_into"] == contact.id and body["identities"] == []
    assert [c["id"] for c in api("GET", "/contacts", query_string={"q": "li lei"}).get_json()["items"]] == [
        contact.id]
    assert api("PATCH", f"/contacts/{other.id}", who="crm", json={"name": "x"}).status_code == 409
