"""Test data with sensible defaults: `make_ticket(priority="high")`, `make_agent(departments=[d])`.

Every factory adds to `db.session` and flushes (ids are set) but does not commit: services
flush, the caller commits, in tests as in views. Values that must be unique come from one
sequence, so two calls never collide. Tickets are made through the ticket service, so they
have their first message, audit rows and outbox event like real ones.
"""
from __future__ import annotations

import functools
import itertools
import re

from portal.extensions import db
from portal.fields.services import save_field
from portal.models import Account, Contact, ContactIdentity, Department, Team, User
from portal.services import accounts
from portal.services.tickets import create_ticket

PASSWORD = "pass-word-1"
CSRF_PATTERN = r'name="csrf_token" type="hidden" value="([^"]+)"'  # what form.hidden_tag() renders
# ...and, failing that, a hand-written hidden input or the hx-headers on <body>.
CSRF_FALLBACKS = (r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"',
                  r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"',
                  r'"X-CSRFToken":\s*"([^"]+)"')

_seq = itertools.count(1)


def next_number() -> int:
    return next(_seq)


@functools.cache
def password_hash() -> str:
    """argon2 is deliberately slow: hash the shared test password once per session."""
    return accounts.hash_password(PASSWORD)


def make_department(**kw) -> Department:
    n = next_number()
    kw.setdefault("name", f"Department {n}")
    dept = Department(**kw)
    db.session.add(dept)
    db.session.flush()
    return dept


def make_team(department: Department | None = None, members=(), **kw) -> Team:
    n = next_number()
    kw.setdefault("name", f"Team {n}")
    team = Team(department=department or make_department(), **kw)
    team.members = list(members)
    db.session.add(team)
    db.session.flush()
    return team


def make_agent(departments=(), role: str = "agent", teams=(), password: str | None = None, **kw) -> User:
    """An agent (or `role="supervisor"`/`"admin"`) whose password is PASSWORD unless given."""
    n = next_number()
    kw.setdefault("email", f"agent{n}@example.com")
    kw.setdefault("name", f"Agent {n}")
    if "password_hash" not in kw:
        kw["password_hash"] = accounts.hash_password(password) if password else password_hash()
    user = User(role=role, **kw)
    user.departments = list(departments)
    user.teams = list(teams)
    db.session.add(user)
    db.session.flush()
    return user


def make_admin(**kw) -> User:
    return make_agent(role="admin", **kw)


def make_account(**kw) -> Account:
    n = next_number()
    kw.setdefault("name", f"Account {n}")
    account = Account(**kw)
    db.session.add(account)
    db.session.flush()
    return account


def make_contact(email: str | None = None, **kw) -> Contact:
    n = next_number()
    kw.setdefault("name", f"Customer {n}")
    contact = Contact(**kw)
    contact.identities = [ContactIdentity(kind="email", value=email or f"customer{n}@example.com")]
    db.session.add(contact)
    db.session.flush()
    return contact


def make_ticket(**overrides):
    """A ticket through `portal.services.tickets.create_ticket`; any of its arguments may be given.

    Defaults: a new department, subject "Ticket <n>", body "Message <n>", made by "customer".
    """
    n = next_number()
    overrides.setdefault("subject", f"Ticket {n}")
    if "body" not in overrides and "body_html" not in overrides and not overrides.get("attachments"):
        overrides["body"] = f"Message {n}"
    if overrides.get("department") is None:
        overrides["department"] = make_department()
    overrides.setdefault("by", "customer")
    return create_ticket(**overrides)


def make_field(key: str, type: str = "text", *, options=None, department_options=None, by=None, **kw):
    """A custom field through `portal.fields.services.save_field`: `make_field("size", "picklist",
    options=["S", "M"], department_options={books: ["S"]})`. Options may be bare values (the label is
    the value) or {"value", "label", "label_zh"}; a dependent picklist's are {parent value: [...]}.
    Other settings (required, validation, visibility, parent_key, currency, ...) go in **kw."""
    data = {"key": key, "type": type, "label": key.replace("_", " ").capitalize(), **kw}
    if options is not None:
        data["options"] = options
    if department_options:
        data["department_options"] = {str(getattr(d, "id", d)): o for d, o in department_options.items()}
    return save_field(None, data, by)


# ------------------------------------------------------------------------------------------
# Client helpers (also available as the `csrf_token` and `login` fixtures)
# ------------------------------------------------------------------------------------------
def csrf_token(client, url: str = "/login") -> str:
    """GET `url` and return the CSRF token of the form on it."""
    response = client.get(url)
    page = response.get_data(as_text=True)
    for pattern in (CSRF_PATTERN, *CSRF_FALLBACKS):
        if match := re.search(pattern, page):
            return match.group(1)
    raise AssertionError(f"no csrf_token in the page at {url} (status {response.status_code})")


def login(client, user: User, password: str = PASSWORD, *, expect: int = 302):
    """Sign in through the real /login form, with the CSRF token scraped from the page."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": user.email, "password": password})
    assert response.status_code == expect, (
        f"login as {user.email}: expected {expect}, got {response.status_code}")
    return response
