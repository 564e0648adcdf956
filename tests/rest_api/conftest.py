"""A desk for the API tests: two departments, custom fields with a layout, agents with tokens."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from factories import make_admin, make_agent, make_department, make_field
from portal.extensions import db
from portal.fields.services import save_layout
from portal.services.api_tokens import create_token


@pytest.fixture
def desk(app):
    phones, books = make_department(name="Electronics", name_zh="电子产品"), make_department(name="Books")
    make_field("order_number", "text", label="Order number", validation={"regex": r"^\d{6}$"})
    make_field("product", "picklist", options=["phone_x", "tablet"], filterable=True,
               department_options={books: ["ebook_reader"]})
    make_field("refund_amount", "currency", currency="CNY", filterable=True)
    make_field("notes", "text")  # on no layout
    save_layout(phones, {"version": 1, "sections": [{"id": "s1", "title": "Order", "fields": [
        {"key": "order_number", "required": True}, {"key": "product"},
        {"key": "refund_amount", "show_when": {"all": [{"field": "cf.product", "op": "eq", "value": "phone_x"}]}}]}]},
        None)
    save_layout(books, {"version": 1, "sections": [{"id": "s1", "title": "Order", "fields": [
        {"key": "order_number"}, {"key": "product"}]}]}, None)
    agent = make_agent(departments=[phones], email="ann@example.com")
    other = make_agent(departments=[books], email="bob@example.com")
    admin = make_admin(email="root@example.com")
    tokens = {}
    for who, user in (("agent", agent), ("other", other), ("admin", admin)):
        tokens[who] = create_token(user, f"{who} token")[1]
    tokens["reader"] = create_token(agent, "read only", ["tickets:read"])[1]
    tokens["mta"] = create_token(agent, "mail server", ["mail:ingest"])[1]
    tokens["crm"] = create_token(agent, "contacts", ["tickets:read", "tickets:write", "contacts:read",
                                                     "contacts:write"])[1]
    db.session.commit()
    return SimpleNamespace(phones=phones, books=books, agent=agent, other=other, admin=admin, tokens=tokens)


@pytest.fixture
def api(client, desk):
    """`api(method, path, who="agent", **kw)`: a request with that token."""
    def call(method: str, path: str, who: str | None = "agent", **kw):
        headers = kw.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {desk.tokens[who]}"
        return client.open("/api/v1" + path, method=method, headers=headers, **kw)
    return call
