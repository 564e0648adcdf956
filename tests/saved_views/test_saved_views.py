"""Saved views: a view's rows are its compiled condition within the viewer's scope; who may do what."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_ticket
from portal.conditions import compile_to_sql
from portal.extensions import db
from portal.models import SavedView, Ticket, utcnow
from portal.services import saved_views
from portal.services.saved_views import ViewInput, ViewInvalid
from portal.services.scoping import ticket_scope

pytestmark = pytest.mark.integration
HX = {"HX-Request": "true"}
VIP_REFUNDS = {"all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]},
                       {"field": "tags", "op": "contains", "value": "refund"}]}


def shown(client, url: str) -> set[int]:
    page = client.get(url).get_data(as_text=True)
    return {int(n) for n in re.findall(r'name="ticket" value="(\d+)"', page)}


def expected(user, condition) -> set[int]:
    clause = compile_to_sql(condition, saved_views.catalogue(), now=utcnow(), me=user.id)
    return set(db.session.scalars(select(Ticket.id).where(ticket_scope(user), clause)))


def views_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SavedView))


def test_a_view_lists_exactly_its_compiled_condition_within_scope(client, desk):
    ann = desk["ann"]
    view = saved_views.create_view(ann, ViewInput(name="VIP refunds", condition=VIP_REFUNDS))
    db.session.commit()
    login(client, ann)
    rows = shown(client, f"/tickets?saved={view.id}")
    assert rows == expected(ann, VIP_REFUNDS) == {desk["t"]["r_high_refund"].id}
    assert desk["t"]["b_high_refund"].id not in rows


def test_a_shared_view_never_shows_another_departments_tickets(client, desk):
    view = saved_views.create_view(desk["root"], ViewInput(name="Refunds everywhere", shared=True,
                                   condition={"all": [{"field": "tags", "op": "contains", "value": "refund"}]}))
    db.session.commit()
    login(client, desk["ann"])
    ann_rows = shown(client, f"/tickets?saved={view.id}")
    assert ann_rows == {desk["t"]["r_high_refund"].id, desk["t"]["r_low_refund"].id}
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tickets")})
    login(client, desk["bob"])
    assert shown(client, f"/tickets?saved={view.id}") == {desk["t"]["b_high_refund"].id}


def test_me_in_a_shared_view_is_the_viewer(client, desk):
    view = saved_views.create_view(desk["sue"], ViewInput(name="Mine", shared=True, department_id=desk["returns"].id,
                                   condition={"all": [{"field": "assignee", "op": "eq", "value": "me"}]}))
    db.session.commit()
    login(client, desk["ann"])
    assert shown(client, f"/tickets?saved={view.id}") == {desk["t"]["r_mine"].id}
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tickets")})
    login(client, desk["amy"])
    assert shown(client, f"/tickets?saved={view.id}") == set()


def test_keyset_pages_walk_the_view_without_gaps_or_repeats(make_app, desk):
    app = make_app(QUEUE_PAGE_SIZE=3)
    client = app.test_client()
    for i in range(7):
        make_ticket(department=desk["returns"], priority="high", tags=["bulk"], subject=f"Bulk {i}")
    view = saved_views.create_view(desk["ann"], ViewInput(name="Bulk", sort="created",
                                   condition={"all": [{"field": "tags", "op": "contains", "value": "bulk"}]}))
    db.session.commit()
    login(client, desk["ann"])
    seen, url = [], f"/tickets?saved={view.id}"
    while url:
        page = client.get(url, headers=HX if seen else {}).get_data(as_text=True)
        seen += [int(n) for n in re.findall(r'name="ticket" value="(\d+)"', page)]
        more = re.search(r'hx-get="([^"]*after=[^"]*)"', page)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert len(seen) == 7 and len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)   # "created": newest first


def test_the_sidebar_counts_each_view_within_scope(client, desk):
    mine = saved_views.create_view(desk["ann"], ViewInput(name="High", condition={
        "all": [{"field": "priority", "op": "eq", "value": "high"}]}))
    shared = saved_views.create_view(desk["root"], ViewInput(name="All refunds", shared=True, condition={
        "all": [{"field": "tags", "op": "contains", "value": "refund"}]}))
    db.session.commit()
    counts = saved_views.counts(desk["ann"], [mine, shared])
    assert counts == {mine.id: 3, shared.id: 2}   # Returns' high tickets (one solved), Returns' refunds
    login(client, desk["ann"])
    nav = client.get("/tickets/counts", headers=HX).get_data(as_text=True)
    assert re.search(rf'data-saved-view="{mine.id}".*?<span class="count">3</span>', nav, re.S)
    assert re.search(rf'data-saved-view="{shared.id}".*?<span class="count">2</span>', nav, re.S)
    assert "My views" in nav and "Shared views" in nav


def test_save_as_view_turns_the_filters_into_a_condition(client, desk):
    ann = desk["ann"]
    login(client, ann)
    token = csrf_token(client, "/tickets")
    response = client.post("/views", headers=HX, data={
        "csrf_token": token, "name": "VIP refunds", "view": "open", "priority": "high", "tag": "refund"})
    assert response.status_code == 200, response.get_data(as_text=True)
    view = db.session.scalar(select(SavedView).filter_by(name="VIP refunds"))
    assert response.headers["HX-Redirect"] == f"/tickets?saved={view.id}"
    assert view.owner_id == ann.id and view.department_id is None
    assert shown(client, f"/tickets?saved={view.id}") == expected(ann, view.condition) == {
        desk["t"]["r_high_refund"].id}
    # The same filters on the built-in view show the same tickets.
    assert shown(client, "/tickets?view=open&priority=high&tag=refund") == {desk["t"]["r_high_refund"].id}


def test_a_refined_saved_view_keeps_its_base_conditions(client, desk):
    ann = desk["ann"]
    base = saved_views.create_view(ann, ViewInput(name="Refunds", condition={
        "all": [{"field": "tags", "op": "contains", "value": "refund"}]}))
    db.session.commit()
    login(client, ann)
    client.post("/views", headers=HX, data={"csrf_token": csrf_token(client, "/tickets"), "name": "Low refunds",
                                            "saved": base.id, "priority": "low"})
    view = db.session.scalar(select(SavedView).filter_by(name="Low refunds"))
    assert shown(client, f"/tickets?saved={view.id}") == {desk["t"]["r_low_refund"].id}


def test_bad_names_and_invalid_conditions_save_nothing(client, desk):
    ann = desk["ann"]
    with pytest.raises(ViewInvalid) as caught:
        saved_views.create_view(ann, ViewInput(name="Broken", condition={
            "all": [{"field": "priority", "op": "eq", "value": "high"}, {"field": "no_such_field", "op": "eq",
                                                                          "value": 1}]}))
    assert [e.path for e in caught.value.condition_errors] == ["1"]
    db.session.rollback()
    login(client, ann)
    token = csrf_token(client, "/views/new")
    response = client.post("/views", headers=HX, data={"csrf_token": token, "name": "  ", "view": "open"})
    assert response.status_code == 422 and "Give the view a name." in response.get_data(as_text=True)
    assert views_count() == 0


def test_a_change_operator_is_refused_on_its_row(client, desk):
    ann = desk["ann"]
    login(client, ann)
    condition = {"all": [{"field": "status", "op": "changed_to", "value": "open"}]}
    with pytest.raises(ViewInvalid) as caught:
        saved_views.create_view(ann, ViewInput(name="Changes", condition=condition))
    assert caught.value.condition_errors and caught.value.condition_errors[0].path == "0"
    db.session.rollback()
    assert views_count() == 0


def test_duplicate_names_are_refused_per_list(desk):
    saved_views.create_view(desk["ann"], ViewInput(name="Refunds", condition={"all": []}))
    with pytest.raises(ViewInvalid) as caught:
        saved_views.create_view(desk["ann"], ViewInput(name="refunds", condition={"all": []}))
    assert "already a view" in caught.value.errors["name"]
    saved_views.create_view(desk["amy"], ViewInput(name="Refunds", condition={"all": []}))  # her own list


# ------------------------------------------------------------------------------------------
# Permissions, by crafted requests
# ------------------------------------------------------------------------------------------
def test_an_agent_cannot_share_a_view(client, desk):
    login(client, desk["ann"])
    response = client.post("/views", headers=HX, data={"csrf_token": csrf_token(client, "/tickets"),
                                                       "name": "Team view", "shared": "1",
                                                       "department": desk["returns"].id})
    assert response.status_code == 422 and "Only supervisors and admins share views." in response.get_data(
        as_text=True)
    assert views_count() == 0


def test_a_supervisor_shares_only_with_departments_they_manage(client, desk):
    login(client, desk["sue"])
    token = csrf_token(client, "/tickets")
    refused = client.post("/views", headers=HX, data={"csrf_token": token, "name": "Billing view", "shared": "1",
                                                     "department": desk["billing"].id})
    everywhere = client.post("/views", headers=HX, data={"csrf_token": token, "name": "Everyone", "shared": "1"})
    assert refused.status_code == everywhere.status_code == 422 and views_count() == 0
    ok = client.post("/views", headers=HX, data={"csrf_token": token, "name": "Returns view", "shared": "1",
                                                "department": desk["returns"].id, "priority": "high"})
    assert ok.status_code == 200
    view = db.session.scalar(select(SavedView))
    assert (view.owner_id, view.department_id) == (None, desk["returns"].id)


def test_personal_views_are_private(client, desk):
    amys = saved_views.create_view(desk["amy"], ViewInput(name="Amy's secret list", condition={"all": []}))
    db.session.commit()
    login(client, desk["ann"])
    token = csrf_token(client, "/tickets")
    assert client.get(f"/tickets?saved={amys.id}").status_code == 404
    assert client.get(f"/views/{amys.id}/edit").status_code == 404
    assert client.post(f"/views/{amys.id}/edit", data={"csrf_token": token, "name": "Mine now",
                                                      "condition": "{\"all\": []}"}).status_code == 404
    assert client.post(f"/views/{amys.id}/delete", data={"csrf_token": token}).status_code == 404
    assert "Amy's secret list" not in client.get("/tickets").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SavedView, amys.id).name == "Amy's secret list"


def test_agents_see_but_cannot_change_shared_views(client, desk):
    view = saved_views.create_view(desk["sue"], ViewInput(name="Returns high", shared=True,
                                   department_id=desk["returns"].id,
                                   condition={"all": [{"field": "priority", "op": "eq", "value": "high"}]}))
    billing_view = saved_views.create_view(desk["sam"], ViewInput(name="Billing only", shared=True,
                                           department_id=desk["billing"].id, condition={"all": []}))
    db.session.commit()
    login(client, desk["ann"])
    token = csrf_token(client, "/tickets")
    queue = client.get("/tickets").get_data(as_text=True)
    assert "Returns high" in queue and "Billing only" not in queue
    assert client.get(f"/views/{view.id}/edit").status_code == 200        # read-only
    assert client.post(f"/views/{view.id}/edit", data={"csrf_token": token, "name": "Hijacked",
                                                      "condition": "{\"all\": []}"}).status_code == 403
    assert client.post(f"/views/{view.id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/tickets?saved={billing_view.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(SavedView, view.id).name == "Returns high"


def test_supervisors_edit_their_departments_shared_views_only(client, desk):
    view = saved_views.create_view(desk["root"], ViewInput(name="Returns high", shared=True,
                                   department_id=desk["returns"].id, condition={"all": []}))
    everyone = saved_views.create_view(desk["root"], ViewInput(name="For everyone", shared=True,
                                       condition={"all": []}))
    db.session.commit()
    assert saved_views.can_edit(desk["sue"], view) and not saved_views.can_edit(desk["sam"], view)
    assert not saved_views.can_edit(desk["sue"], everyone) and saved_views.can_edit(desk["root"], everyone)
    login(client, desk["sue"])
    token = csrf_token(client, "/tickets")
    response = client.post(f"/views/{view.id}/edit", data={
        "csrf_token": token, "name": "Returns urgent", "sort": "priority",
        "condition": '{"all": [{"field": "priority", "op": "eq", "value": "urgent"}]}'})
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(SavedView, view.id)
    assert (changed.name, changed.sort, changed.owner_id) == ("Returns urgent", "priority", None)
    assert client.post(f"/views/{everyone.id}/edit", data={"csrf_token": token, "name": "x",
                                                          "condition": "{\"all\": []}"}).status_code == 403


def test_owner_renames_edits_and_deletes_their_view(client, desk):
    view = saved_views.create_view(desk["ann"], ViewInput(name="Old name", condition={"all": []}))
    db.session.commit()
    login(client, desk["ann"])
    token = csrf_token(client, f"/views/{view.id}/edit")
    bad = client.post(f"/views/{view.id}/edit", data={
        "csrf_token": token, "name": "New name",
        "condition": '{"all": [{"field": "bogus", "op": "eq", "value": 1}]}'})
    assert bad.status_code == 422 and "bogus" in bad.get_data(as_text=True)
    unreadable = client.post(f"/views/{view.id}/edit", data={"csrf_token": token, "name": "New name",
                                                            "condition": "{not json"})
    assert unreadable.status_code == 422
    db.session.expire_all()
    assert db.session.get(SavedView, view.id).name == "Old name"
    ok = client.post(f"/views/{view.id}/edit", data={"csrf_token": token, "name": "New name", "sort": "due",
                                                    "condition": '{"all": []}'})
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"/tickets?saved={view.id}")
    db.session.expire_all()
    assert db.session.get(SavedView, view.id).name == "New name"
    assert client.post(f"/views/{view.id}/delete", data={"csrf_token": token}).status_code == 302
    assert views_count() == 0


def test_the_queue_page_shows_the_view_and_its_actions(client, desk):
    view = saved_views.create_view(desk["ann"], ViewInput(name="VIP refunds", condition=VIP_REFUNDS))
    db.session.commit()
    login(client, desk["ann"])
    page = client.get(f"/tickets?saved={view.id}").get_data(as_text=True)
    assert "<title>VIP refunds" in page and "Edit conditions" in page and "Save as view" in page
    assert 'name="saved" value="%d"' % view.id in page


def test_new_view_editor_starts_from_the_filters(client, desk):
    login(client, desk["ann"])
    page = client.get("/views/new?view=open&priority=high&name=Hot").get_data(as_text=True)
    assert 'value="Hot"' in page and "priority" in page and "high" in page


@pytest.mark.parametrize("view", ["mine", "unassigned", "open", "overdue", "recent"])
def test_saving_a_built_in_view_with_filters_keeps_its_rows(client, desk, view):
    from datetime import timedelta
    from portal.services.tickets import update_ticket
    update_ticket(desk["t"]["r_high"], {"resolution_due_at": utcnow() - timedelta(hours=1)}, by="system")
    db.session.commit()
    login(client, desk["ann"])
    for filters in ({}, {"priority": "high"}, {"assignee": "none", "status": "new"}):
        args = {"view": view, **filters}
        name = f"{view} {sorted(filters.items())}"
        client.post("/views", headers=HX, data={"csrf_token": csrf_token(client, "/tickets"), "name": name, **args})
        saved = db.session.scalar(select(SavedView).filter_by(name=name))
        query = "&".join(f"{k}={v}" for k, v in args.items())
        assert shown(client, f"/tickets?saved={saved.id}") == shown(client, f"/tickets?{query}"), name
