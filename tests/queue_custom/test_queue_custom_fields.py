"""Custom fields in the agent queue: filters from the query string, sorting with keyset pages, the
column picker, and the CSV export (what the queue shows, with every custom field)."""
from __future__ import annotations

import csv
import io
import re

import pytest
from werkzeug.datastructures import MultiDict

from factories import make_admin, make_agent, make_department, make_field, make_ticket
from portal.extensions import db
from portal.services import ticket_list
from portal.services.ticket_export import safe_cell

pytestmark = pytest.mark.integration

PRODUCTS = [{"value": "phone_x", "label": "Phone X", "label_zh": "X 手机"},
            {"value": "tablet", "label": "Tablet", "label_zh": "平板"}, {"value": "watch", "label": "Watch"}]


@pytest.fixture
def desk(app):
    dept = make_department(name="Electronics")
    make_field("product", "picklist", options=PRODUCTS, filterable=True, label="Product", label_zh="产品")
    make_field("order_total", "currency", currency="CNY", filterable=True, label="Order total")
    make_field("gift", "checkbox", filterable=True)
    make_field("delivered_on", "date", filterable=True)
    make_field("notes", "text")
    rows = [("phone_x", 120.5, True, "2026-03-01"), ("tablet", 80, False, "2026-01-15"),
            ("phone_x", 999, None, None), (None, 15, True, "2026-02-10"), ("watch", None, False, "2026-03-20"),
            ("phone_x", 120.5, False, "2026-03-02")]
    tickets = []
    for product, total, gift, day in rows:
        values = {k: v for k, v in {"product": product, "order_total": total, "gift": gift,
                                    "delivered_on": day}.items() if v is not None}
        tickets.append(make_ticket(department=dept, custom_fields=values))
    admin = make_admin()
    db.session.commit()
    return dept, tickets, admin


def download(client, url: str):
    """GET a file download: (response, text); the response is closed (its spooled file with it)."""
    response = client.get(url)
    try:
        return response, response.get_data(as_text=True)
    finally:
        response.close()


def page_ids(user, args: dict, page_size: int = 50) -> list[int]:
    """Every ticket number over all pages (following next_cursor), in order."""
    q = ticket_list.QueueQuery.from_args(MultiDict(args))
    out = []
    while True:
        page = ticket_list.fetch_page(q, user, page_size=page_size)
        out += [t.id for t in page.tickets]
        if not page.next_cursor:
            return out
        q.cursor = page.next_cursor


def test_filters_by_picklist_number_range_checkbox_and_date(desk):
    _, t, admin = desk
    assert sorted(page_ids(admin, {"view": "recent", "cf.product": "phone_x"})) == [t[0].id, t[2].id, t[5].id]
    assert sorted(page_ids(admin, {"view": "recent", "cf.product": ["tablet", "watch"]})) == [t[1].id, t[4].id]
    assert sorted(page_ids(admin, {"view": "recent", "cf.order_total.min": "80", "cf.order_total.max": "121"})) == \
        [t[0].id, t[1].id, t[5].id]
    assert sorted(page_ids(admin, {"view": "recent", "cf.gift": "1"})) == [t[0].id, t[3].id]
    assert sorted(page_ids(admin, {"view": "recent", "cf.gift": "0"})) == [t[1].id, t[4].id, t[5].id]
    assert sorted(page_ids(admin, {"view": "recent", "cf.delivered_on.min": "2026-02-01",
                                   "cf.delivered_on.max": "2026-03-01"})) == [t[0].id, t[3].id]
    # combined with the built-in filters
    assert page_ids(admin, {"view": "recent", "cf.product": "phone_x", "cf.order_total.min": "500"}) == [t[2].id]


def test_bad_custom_filters_are_dropped_not_errors(desk):
    _, t, admin = desk
    everything = sorted(x.id for x in t)
    for args in ({"cf.product": "no_such_value"}, {"cf.order_total.min": "lots"}, {"cf.nope": "x"},
                 {"cf.Bad-Key": "x"}, {"cf.delivered_on.min": "yesterday"}):
        q = ticket_list.QueueQuery.from_args(MultiDict({"view": "recent", **args}))
        assert q.custom == [], args
        assert sorted(page_ids(admin, {"view": "recent", **args})) == everything


def test_sorting_by_custom_fields_pages_through_every_ticket_once(desk):
    _, t, admin = desk
    by_total = page_ids(admin, {"view": "recent", "sort": "cf.order_total"}, page_size=2)
    # ascending, ties by number, empty last
    assert by_total == [t[3].id, t[1].id, t[0].id, t[5].id, t[2].id, t[4].id]
    assert page_ids(admin, {"view": "recent", "sort": "cf.order_total:desc"}, page_size=2) == \
        [t[2].id, t[5].id, t[0].id, t[1].id, t[3].id, t[4].id]
    assert page_ids(admin, {"view": "recent", "sort": "cf.product"}, page_size=4) == \
        [t[0].id, t[2].id, t[5].id, t[1].id, t[4].id, t[3].id]
    # filtered on the sorted field itself: no empties, both directions
    assert page_ids(admin, {"view": "recent", "sort": "cf.order_total:desc", "cf.order_total.min": "50"},
                    page_size=1) == [t[2].id, t[5].id, t[0].id, t[1].id]
    assert page_ids(admin, {"view": "recent", "sort": "cf.delivered_on"}, page_size=3) == \
        [t[1].id, t[3].id, t[0].id, t[5].id, t[4].id, t[2].id]


def test_an_unknown_or_unsortable_custom_sort_falls_back_and_a_foreign_cursor_restarts(desk):
    _, t, admin = desk
    assert ticket_list.QueueQuery.from_args(MultiDict({"sort": "cf.gift"})).sort == "updated"
    assert ticket_list.QueueQuery.from_args(MultiDict({"sort": "cf.nope"})).sort == "updated"
    q = ticket_list.QueueQuery.from_args(MultiDict({"view": "recent", "sort": "updated"}))
    cursor = ticket_list.fetch_page(q, admin, page_size=2).next_cursor  # a datetime cursor
    q2 = ticket_list.QueueQuery.from_args(MultiDict({"view": "recent", "sort": "cf.order_total", "after": cursor}))
    assert [x.id for x in ticket_list.fetch_page(q2, admin).tickets][0] == t[3].id  # first page again


def test_scope_still_applies(desk):
    dept, t, _ = desk
    other = make_department(name="Books")
    outsider = make_agent(departments=[other])
    db.session.commit()
    assert page_ids(outsider, {"view": "recent", "cf.product": "phone_x"}) == []


def test_queue_page_shows_filters_sorts_and_picked_columns(desk, client, login):
    _, t, admin = desk
    login(client, admin)
    page = client.get("/tickets?view=recent").get_data(as_text=True)
    assert 'name="cf.product"' in page and 'name="cf.order_total.min"' in page and 'value="cf.order_total:desc"' in page
    assert "Phone X" in page and 'name="notes"' not in page  # notes is not filterable
    assert 'class="hide-sm col-cf"' not in page              # no columns picked yet
    response = client.get("/tickets?view=recent&columns_set=1&column=product&column=order_total&cf.product=phone_x")
    body = response.get_data(as_text=True)
    assert "queue_columns=product.order_total;" in response.headers["Set-Cookie"]
    assert body.count('<td class="hide-sm col-cf">Phone X</td>') == 3 and "999.00 CNY" in body
    # the cookie keeps them on the next visit
    again = client.get("/tickets?view=recent").get_data(as_text=True)
    assert '<th class="hide-sm col-cf">Order total</th>' in again


def test_csv_export_is_the_filtered_queue_with_every_custom_field(desk, client, login):
    _, t, admin = desk
    login(client, admin)
    response, text = download(client, "/tickets/export.csv?view=recent&cf.product=phone_x&sort=cf.order_total")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    header = rows[0]
    assert header[:3] == ["Number", "Subject", "Status"] and header[-5:] == \
        ["Product", "Order total", "Gift", "Delivered on", "Notes"]
    assert [r[0] for r in rows[1:]] == [str(t[0].id), str(t[5].id), str(t[2].id)]
    first = dict(zip(header, rows[1]))
    assert (first["Product"], first["Order total"], first["Gift"], first["Delivered on"]) == \
        ("Phone X", "120.50 CNY", "Yes", "2026-03-01")


def test_csv_export_in_chinese_and_safe_from_formulas(desk, client, login):
    dept, t, admin = desk
    admin.language = "zh_Hans"
    make_ticket(department=dept, subject="=HYPERLINK(\"http://evil\")", custom_fields={"product": "tablet"})
    db.session.commit()
    login(client, admin)
    _, text = download(client, "/tickets/export.csv?view=recent&cf.product=tablet")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert "产品" in rows[0] and "平板" in rows[1]
    assert any(r[1].startswith("'=HYPERLINK") for r in rows[1:])
    assert safe_cell("-1") == "'-1" and safe_cell("ok") == "ok"


def test_export_needs_login_and_respects_scope(desk, client, login):
    dept, t, _ = desk
    assert download(client, "/tickets/export.csv")[0].status_code in (302, 401)
    outsider = make_agent(departments=[make_department(name="Books")])
    db.session.commit()
    login(client, outsider)
    rows = list(csv.reader(io.StringIO(download(client, "/tickets/export.csv?view=recent")[1][1:])))
    assert len(rows) == 1  # the header only


def test_export_stops_at_the_configured_row_limit(desk, client, login, app):
    _, t, admin = desk
    app.config["EXPORT_MAX_ROWS"] = 4
    login(client, admin)
    rows = list(csv.reader(io.StringIO(download(client, "/tickets/export.csv?view=recent&sort=created")[1][1:])))
    assert [r[0] for r in rows[1:]] == [str(x.id) for x in sorted(t, key=lambda x: -x.id)[:4]]


def test_a_saved_view_keeps_a_custom_filter_and_sort(desk, client, login):
    from sqlalchemy import select

    from factories import csrf_token
    from portal.models import SavedView
    _, t, admin = desk
    login(client, admin)
    token = csrf_token(client, "/tickets")
    response = client.post("/views", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "name": "Big phone orders", "view": "recent", "cf.product": "phone_x",
        "sort": "cf.order_total:desc"})
    assert response.status_code == 200, response.get_data(as_text=True)
    view = db.session.scalar(select(SavedView).filter_by(name="Big phone orders"))
    assert view.sort == "cf.order_total:desc"
    # the queue opens the view with its sort: 999 first, then the two 120.5s (ties by number, newest first)
    page = client.get(f"/tickets?saved={view.id}").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'data-href="/tickets/(\d+)"', page)]
    assert shown == [t[2].id, t[5].id, t[0].id]
    editor = client.get(f"/views/{view.id}/edit").get_data(as_text=True)
    assert '<option value="cf.order_total:desc" selected>' in editor
    # a sort by an unknown custom field, or a malformed one, is refused on the sort, and nothing is saved
    from portal.services import saved_views
    for sort in ("cf.nope", "cf.product:up"):
        with pytest.raises(saved_views.ViewInvalid) as refused:
            saved_views.create_view(admin, saved_views.ViewInput(name="Nope", condition={"all": []}, sort=sort))
        assert refused.value.errors == {"sort": "Choose how to sort."}
    db.session.rollback()
    assert db.session.scalar(select(SavedView).filter_by(name="Nope")) is None


def test_the_export_holds_one_page_of_tickets_at_a_time(app, monkeypatch):
    """A 100k-ticket export must not keep every exported ticket alive in the session: the identity
    map only references clean objects weakly, so a page is freed once the next one is fetched."""
    import gc

    from portal.models import Ticket
    from portal.services import ticket_export

    dept = make_department(name="Archive")
    admin = make_admin()
    for _ in range(12):
        make_ticket(department=dept)
    db.session.commit()
    db.session.expunge_all()
    admin = db.session.merge(admin)
    monkeypatch.setattr(ticket_export, "PAGE", 3)
    query = ticket_list.QueueQuery.from_args(MultiDict({"view": "recent"}))
    chunks = ticket_export.export_csv(query, admin, __import__("zoneinfo").ZoneInfo("UTC"))
    alive = []
    for _chunk in chunks:
        gc.collect()
        alive.append(sum(1 for obj in db.session.identity_map.values() if isinstance(obj, Ticket)))
    assert len(alive) == 1 + 4  # the header, then four pages of three
    assert max(alive) <= 3, alive
