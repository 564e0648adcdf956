"""A desk for the custom-field admin screens' tests, and helpers that post like the pages do.

Two departments whose sub-category values differ (the seed's 子类别 example: Books and
Electronics), an admin, a supervisor and an agent, and a few fields made through the domain's
services. Posts carry the session's CSRF token unless a test leaves it out on purpose.
"""
from __future__ import annotations

import html as htmllib
import json
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from factories import make_admin, make_agent, make_department, make_field
from portal.extensions import db
from portal.fields.models import CustomField, FieldRevision, Layout, LayoutRevision
from portal.models import Department, User


@dataclass
class Desk:
    books: Department
    electronics: Department
    admin: User
    supervisor: User
    agent: User
    fields: dict[str, CustomField]

    def __getitem__(self, key: str) -> CustomField:
        return self.fields[key]


@pytest.fixture
def desk(app) -> Desk:
    books = make_department(name="Books", name_zh="图书")
    electronics = make_department(name="Electronics", name_zh="电子产品")
    admin = make_admin(name="Ada Admin", email="ada@desk.example")
    supervisor = make_agent(role="supervisor", departments=[books], name="Sue Supervisor", email="sue@desk.example")
    agent = make_agent(departments=[books], name="Ann Agent", email="ann@desk.example")
    fields = {
        "order_number": make_field("order_number", "text", label="Order number", label_zh="订单号",
                                   visibility="customers_edit", validation={"regex": "SO[0-9]{8}"}, by=admin),
        "sub_category": make_field("sub_category", "picklist", label="Sub-category", label_zh="子类别",
                                   visibility="customers_edit", options=["other"],
                                   department_options={books: ["novel", "textbook", "other"],
                                                       electronics: ["phone", "laptop", "other"]}, by=admin),
        "internal_note": make_field("internal_note", "textarea", label="Internal note", by=admin),
    }
    db.session.commit()
    return Desk(books, electronics, admin, supervisor, agent, fields)


@pytest.fixture(autouse=True)
def _drop_custom_field_indexes(request):
    """A filterable field's index is DDL that PostgreSQL's per-test DELETE cleaning leaves behind."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    yield
    db.session.rollback()
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    names = connection.exec_driver_sql(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'ix\\_tickets\\_cf\\_%%'"
    ).scalars().all()
    for name in names:
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    db.session.commit()


# ------------------------------------------------------------------------------------------
# Posting like the pages
# ------------------------------------------------------------------------------------------
def token(client) -> str:
    match = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/admin/").get_data(as_text=True))
    assert match, "no CSRF token on /admin/"
    return match.group(1)


def post(client, url: str, data=None, *, htmx: bool = True, csrf: bool = True, **kwargs):
    """POST as htmx does (HX-Request, the CSRF token); `data` may list a name several times."""
    pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
    flat = []
    for name, value in pairs:
        flat += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    if csrf:
        flat.append(("csrf_token", token(client)))
    from werkzeug.datastructures import MultiDict
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data=MultiDict(flat), headers=headers, **kwargs)


def hx_get(client, url: str):
    return client.get(url, headers={"HX-Request": "true"})


def page(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def error_after(html: str, marker: str) -> str | None:
    """The first error message that follows `marker` (an input's id or name) before the next input."""
    at = html.find(marker)
    assert at >= 0, f"{marker!r} is not on the page"
    rest = html[at:]
    next_input = re.search(r"<(input|select|textarea)\b", rest[len(marker):])
    window = rest[: len(marker) + next_input.start()] if next_input else rest
    found = re.search(r'<p class="error[^"]*"[^>]*>([^<]*)</p>', window)
    return htmllib.unescape(found.group(1)) if found else None


def field_count() -> int:
    return db.session.scalar(select(func.count(CustomField.id)))


def field_revision_count() -> int:
    return db.session.scalar(select(func.count(FieldRevision.id)))


def layout_revision_count() -> int:
    return db.session.scalar(select(func.count(LayoutRevision.id)))


def stored_layout(department: Department | None) -> Layout | None:
    db.session.expire_all()
    where = Layout.department_id.is_(None) if department is None else Layout.department_id == department.id
    return db.session.scalar(select(Layout).where(where))


def hidden_document(response) -> dict:
    """The draft document in the builder's hidden input of a response."""
    match = re.search(r'<input type="hidden" name="document" value="([^"]*)"', response.get_data(as_text=True))
    assert match, "no draft document on the page"
    return json.loads(htmllib.unescape(match.group(1)))


def preview_of(html: str, audience: str) -> str:
    """The HTML of one preview form (agent or customer)."""
    start = html.find(f'data-audience="{audience}"')
    assert start >= 0, f"no {audience} preview"
    end = html.find("</section>", start)
    return html[start:end]


def field_form(**overrides) -> list[tuple[str, object]]:
    """The posted field editor for a new single-line field; overrides replace or add inputs."""
    data = {"type": "text", "key": "tracking_code", "label": "Tracking code", "label_zh": "运单号",
            "help_text": "", "help_text_zh": "", "default": "", "visibility": "agents"}
    data.update(overrides)
    return [(k, v) for k, v in data.items() if v is not None]


def errors_around(html: str, marker: str, tag: str = "li") -> list[str]:
    """The error messages inside the <tag> element that holds `marker` (an option row, a placed field)."""
    at = html.find(marker)
    assert at >= 0, f"{marker!r} is not on the page"
    start = html.rfind(f"<{tag} ", 0, at)
    end = html.find(f"</{tag}>", at)
    return [htmllib.unescape(m) for m in re.findall(r'<p class="error[^"]*"[^>]*>([^<]*)</p>', html[start:end])]
