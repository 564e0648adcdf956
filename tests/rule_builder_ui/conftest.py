"""An organisation with rules for the rule screens' tests, and helpers that post like the builder does.

Uses the shared fixtures of tests/conftest.py (app, client, login) and tests/factories.py.
"""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from factories import make_admin, make_agent, make_contact, make_department, make_team
from portal.extensions import db
from portal.models import Contact, Department, Team, User
from rule_builder import services
from rule_builder.models import Rule, RuleRevision

VIP_CONDITION = {"all": [
    {"field": "contact.tier", "op": "eq", "value": "vip"},
    {"any": [{"field": "subject", "op": "contains_any", "value": ["退款", "refund"]},
             {"field": "body", "op": "contains_any", "value": ["退款", "refund"]}]},
]}


@dataclass
class Org:
    support: Department
    billing: Department
    admin: User
    supervisor: User           # manages Support
    billing_supervisor: User   # manages Billing
    agent: User                # Support
    senior: Team               # a Support team
    invoices: Team             # a Billing team
    vip: Contact
    support_rule: Rule         # created, Support: VIP to senior
    billing_rule: Rule         # created, Billing
    global_rule: Rule          # created, all departments


@pytest.fixture
def org(app) -> Org:
    support = make_department(name="Support", name_zh="客服部")
    billing = make_department(name="Billing", name_zh="账单")
    admin = make_admin(name="Ada Admin", email="ada@desk.example")
    agent = make_agent(departments=[support], name="Ann Agent", email="ann@desk.example")
    senior = make_team(department=support, name="Senior", members=[agent])
    invoices = make_team(department=billing, name="Invoices")
    vip = make_contact(name="Vera VIP", email="vera@customer.example", tier="vip")
    support_rule = services.save_rule(None, {
        "name": "VIP to senior", "department_id": support.id, "trigger": "created", "condition": VIP_CONDITION,
        "actions": [{"type": "set_field", "field": "priority", "value": "high"},
                    {"type": "assign", "team": senior.id}]}, admin)
    billing_rule = services.save_rule(None, {
        "name": "Invoices to billing team", "department_id": billing.id, "trigger": "created",
        "condition": {"all": [{"field": "subject", "op": "contains", "value": "invoice"}]},
        "actions": [{"type": "assign", "team": invoices.id}]}, admin)
    global_rule = services.save_rule(None, {
        "name": "Tag phone tickets", "department_id": None, "trigger": "created",
        "condition": {"all": [{"field": "channel", "op": "eq", "value": "phone"}]},
        "actions": [{"type": "add_tags", "tags": ["phone"]}]}, admin)
    o = Org(support=support, billing=billing, admin=admin,
            supervisor=make_agent(role="supervisor", departments=[support], name="Sue Supervisor",
                                  email="sue@desk.example"),
            billing_supervisor=make_agent(role="supervisor", departments=[billing], name="Bob Boss",
                                          email="bob@desk.example"),
            agent=agent, senior=senior, invoices=invoices, vip=vip, support_rule=support_rule,
            billing_rule=billing_rule, global_rule=global_rule)
    db.session.commit()
    return o


def token(client) -> str:
    match = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/admin/").get_data(as_text=True))
    assert match, "no CSRF token on /admin/"
    return match.group(1)


def post(client, url: str, data=None, *, htmx: bool = False, **kwargs):
    """POST like the page does, with the session's CSRF token."""
    headers = {"HX-Request": "true"} if htmx else {}
    if isinstance(data, MultiDict):
        form = data.copy()
        form["csrf_token"] = token(client)
    else:   # a dict: list values post a name several times, (file, name) tuples upload
        form = {**(data or {}), "csrf_token": token(client)}
    return client.post(url, data=form, headers=headers, **kwargs)


def page(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def errors_in(response) -> list[str]:
    html = response.get_data(as_text=True)
    found = re.findall(r'<p class="error[^"]*"[^>]*>([^<]*)</p>', html)
    found += re.findall(r'<div class="flash flash-error" role="alert">([^<]*)</div>', html)
    return [htmllib.unescape(m) for m in found]


def rule_count() -> int:
    return db.session.scalar(select(func.count(Rule.id)))


def revision_count() -> int:
    return db.session.scalar(select(func.count(RuleRevision.id)))


class FormInputs(HTMLParser):
    """The (name, value) pairs a browser would post for the form with `form_id` (or every input)."""

    def __init__(self, form_id: str | None = None):
        super().__init__()
        self.form_id, self.inside = form_id, form_id is None
        self.depth = 0
        self.pairs: list[tuple[str, str]] = []
        self._select = None
        self._options: list[tuple[str, bool]] = []
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.form_id is not None and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file"):
                return
            self.pairs.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select, self._options = (a["name"], "multiple" in a), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.form_id is not None and self.inside:
            self.inside = False
        if tag == "select" and self._select is not None:
            name, multiple = self._select
            chosen = [v for v, selected in self._options if selected]
            if multiple:
                self.pairs += [(name, v) for v in chosen]
            else:
                self.pairs.append((name, chosen[0] if chosen else (self._options[0][0] if self._options else "")))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.pairs.append((name, text[1:] if text.startswith("\n") else text.removeprefix("\r\n")))
            self._textarea = None


def form_inputs(html: str, form_id: str | None = None) -> list[tuple[str, str]]:
    parser = FormInputs(form_id)
    parser.feed(html)
    return parser.pairs


def with_values(pairs, changes: dict) -> MultiDict:
    """`pairs` with the names in `changes` replaced (a list value posts the name several times)."""
    if isinstance(pairs, MultiDict):
        pairs = list(pairs.items(multi=True))
    out = [(k, v) for k, v in pairs if k not in changes]
    for key, value in changes.items():
        out += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    return MultiDict(out)
