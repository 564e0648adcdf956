"""Fields and layouts are the whole desk's: admins only. Every post needs the CSRF token."""
from __future__ import annotations

import json

import pytest

from factories import login
from portal.extensions import db

from .conftest import field_count, field_form, layout_revision_count, page, post, stored_layout

pytestmark = pytest.mark.integration

PAGES = ["/admin/fields", "/admin/fields/new", "/admin/layouts", "/admin/layouts/export", "/admin/layouts/import"]
DOCUMENT = json.dumps({"version": 1, "sections": [{"id": "s1", "title": "A", "title_zh": "", "fields": []}]})


@pytest.mark.parametrize("who", ["supervisor", "agent"])
def test_non_admins_get_403(client, desk, who):
    login(client, getattr(desk, who))
    field = desk["order_number"]
    for url in PAGES + [f"/admin/fields/{field.id}", f"/admin/layouts/{desk.books.id}",
                        f"/admin/fields/{field.id}/remove-value?value=other"]:
        assert client.get(url).status_code == 403, url
    before = field_count()
    for url, data in [("/admin/fields/new", field_form()), (f"/admin/fields/{field.id}", field_form(label="x")),
                      (f"/admin/fields/{field.id}/archive", {}), ("/admin/fields/editor", field_form()),
                      ("/admin/layouts/save", {"document": DOCUMENT}), ("/admin/layouts/draft", {"document": DOCUMENT}),
                      (f"/admin/layouts/{desk.books.id}/create", {})]:
        assert post(client, url, data).status_code == 403, url
    db.session.expire_all()
    assert field_count() == before and not field.archived and stored_layout(None) is None


def test_signed_out_visitors_are_sent_to_sign_in(client, desk):
    response = client.get("/admin/fields")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who,shown", [("admin", True), ("supervisor", False)])
def test_tabs_show_for_admins_only(client, desk, who, shown):
    login(client, getattr(desk, who))
    html = page(client.get("/admin/"))
    assert (">Fields</a>" in html) is shown and (">Layouts</a>" in html) is shown


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(client, desk):
    login(client, desk.admin)
    before, revisions = field_count(), layout_revision_count()
    field = desk["order_number"]
    assert post(client, "/admin/fields/new", field_form(), csrf=False).status_code == 400
    assert post(client, f"/admin/fields/{field.id}/archive", {}, csrf=False).status_code == 400
    assert post(client, "/admin/layouts/save", {"document": DOCUMENT}, csrf=False).status_code == 400
    assert post(client, f"/admin/layouts/{desk.books.id}/create", {}, csrf=False).status_code == 400
    db.session.expire_all()
    assert field_count() == before and layout_revision_count() == revisions and not field.archived
    assert stored_layout(desk.books) is None
