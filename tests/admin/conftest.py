"""A small organisation for the admin tests, and a helper that posts a form as a browser would.

Uses the shared fixtures of tests/conftest.py (app, client, login) and tests/factories.py.
"""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass

import pytest

from factories import make_admin, make_agent, make_department, make_team
from portal.extensions import db
from portal.models import Department, Team, User


@dataclass
class Org:
    support: Department
    billing: Department
    sales: Department
    admin: User
    supervisor: User        # manages Support
    billing_supervisor: User
    agent: User             # Support only
    billing_agent: User     # Billing only
    wide_agent: User        # Support and Billing
    refunds: Team           # a Support team with `agent` in it
    invoices: Team          # a Billing team


@pytest.fixture
def org(app) -> Org:
    support = make_department(name="Support", name_zh="客服部", email="support@desk.example")
    billing = make_department(name="Billing", name_zh="账单")
    sales = make_department(name="Sales")
    agent = make_agent(departments=[support], name="Ann Agent", email="ann@desk.example")
    o = Org(
        support=support, billing=billing, sales=sales,
        admin=make_admin(name="Ada Admin", email="ada@desk.example"),
        supervisor=make_agent(role="supervisor", departments=[support], name="Sue Supervisor",
                              email="sue@desk.example"),
        billing_supervisor=make_agent(role="supervisor", departments=[billing], name="Bob Boss",
                                      email="bob@desk.example"),
        agent=agent,
        billing_agent=make_agent(departments=[billing], name="Bill Agent", email="bill@desk.example"),
        wide_agent=make_agent(departments=[support, billing], name="Wendy Wide", email="wendy@desk.example"),
        refunds=make_team(department=support, name="Refunds", members=[agent]),
        invoices=make_team(department=billing, name="Invoices"),
    )
    db.session.commit()
    return o


def token(client) -> str:
    """The session's CSRF token. Every signed-in page carries it in <body hx-headers> (even the 403 page),
    so this works for any role."""
    match = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/admin/").get_data(as_text=True))
    assert match, "no CSRF token on /admin/"
    return match.group(1)


def post(client, url: str, data: dict | None = None, *, htmx: bool = False):
    """POST like the page's form does (with its CSRF token); `htmx=True` as the HTMX submit does."""
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={"csrf_token": token(client), **(data or {})}, headers=headers)


def errors_in(response) -> list[str]:
    """The field messages (<p class="error">) and form messages (flash-error) on a page."""
    html = response.get_data(as_text=True)
    found = re.findall(r'<p class="error">([^<]*)</p>', html)
    found += re.findall(r'<div class="flash flash-error" role="alert">([^<]*)</div>', html)
    return [htmllib.unescape(m) for m in found]


def page(response) -> str:
    """The response's HTML with entities decoded (so "don't" matches)."""
    return htmllib.unescape(response.get_data(as_text=True))
