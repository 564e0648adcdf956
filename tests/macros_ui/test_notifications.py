"""In-app notifications: the bell's count, the menu and the list, marking read, privacy."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from factories import csrf_token, login, make_agent, make_department, make_ticket
from portal.extensions import db
from portal.models import Notification

pytestmark = pytest.mark.integration
HX = {"HX-Request": "true"}


@pytest.fixture
def desk(app, client):
    returns, billing = make_department(name="Returns"), make_department(name="Billing")
    ann = make_agent(departments=[returns], name="Ann Agent")
    bob = make_agent(departments=[billing], name="Bob Billing")
    ticket = make_ticket(department=returns, subject="Parcel lost twice")
    secret = make_ticket(department=billing, subject="Billing secret")
    db.session.commit()
    login(client, ann)
    return dict(returns=returns, ann=ann, bob=bob, ticket=ticket, secret=secret)


def notify(user, text, ticket=None, read=False) -> Notification:
    from portal.models import utcnow
    row = Notification(user_id=user.id, ticket_id=ticket.id if ticket else None, text=text,
                       read_at=utcnow() if read else None)
    db.session.add(row)
    db.session.commit()
    return row


def bell(page: str) -> str:
    match = re.search(r'<span id="bell-count"[^>]*data-unread="(\d+)"', page)
    assert match, "no bell in the page"
    return match.group(1)


def test_the_bell_counts_unread_notifications(client, desk):
    assert bell(client.get("/tickets").get_data(as_text=True)) == "0"
    notify(desk["ann"], "#1 breached its resolution time", desk["ticket"])
    notify(desk["ann"], "An old one", read=True)
    notify(desk["bob"], "Bob's own")
    assert bell(client.get("/tickets").get_data(as_text=True)) == "1"
    polled = client.get("/notifications/bell", headers=HX).get_data(as_text=True)
    assert bell(polled) == "1" and 'hx-trigger="every 60s' in polled


def test_a_macros_notify_action_reaches_the_bell(client, desk):
    from rule_builder.macros import apply_macro, save_macro
    macro = save_macro(None, {"name": "Ping me", "actions": [
        {"type": "notify", "to": "agent", "agent": desk["ann"].id, "text": "Look at {{ ticket.ref }}"}]}, desk["ann"])
    outcome = apply_macro(macro, [desk["ticket"]], desk["ann"])
    db.session.commit()
    assert outcome == {desk["ticket"].id: "applied"}
    menu = client.get("/notifications?menu=1", headers=HX).get_data(as_text=True)
    assert f"Look at #{desk['ticket'].id}" in menu and "Parcel lost twice" in menu
    assert bell(menu) == "1"


def test_the_menu_and_the_page_list_only_my_notifications_with_links(client, desk):
    mine = notify(desk["ann"], "Customer replied on a VIP ticket", desk["ticket"])
    notify(desk["bob"], "Bob's private note")
    menu = client.get("/notifications?menu=1", headers=HX).get_data(as_text=True)
    assert "Customer replied on a VIP ticket" in menu and "Bob's private" not in menu
    assert f'href="/notifications/{mine.id}/open"' in menu
    page = client.get("/notifications").get_data(as_text=True)
    assert "Customer replied on a VIP ticket" in page and "Mark all read" in page


def test_opening_marks_read_and_goes_to_the_ticket(client, desk):
    row = notify(desk["ann"], "Look", desk["ticket"])
    response = client.get(f"/notifications/{row.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tickets/{desk['ticket'].id}")
    db.session.expire_all()
    assert db.session.get(Notification, row.id).read_at is not None


def test_a_notification_about_a_ticket_i_cannot_see_does_not_leak_it(client, desk):
    row = notify(desk["ann"], "Moved away", desk["secret"])
    menu = client.get("/notifications?menu=1", headers=HX).get_data(as_text=True)
    assert "Moved away" in menu and "Billing secret" not in menu
    response = client.get(f"/notifications/{row.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")


def test_mark_read_and_mark_all_read(client, desk):
    first = notify(desk["ann"], "First", desk["ticket"])
    notify(desk["ann"], "Second")
    token = csrf_token(client, "/notifications")
    response = client.post(f"/notifications/{first.id}/read", headers=HX, data={"csrf_token": token,
                                                                              "where": "menu"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="notification"' in body and bell(body) == "1"
    response = client.post("/notifications/read-all", headers=HX, data={"csrf_token": token})
    assert bell(response.get_data(as_text=True)) == "0"
    db.session.expire_all()
    assert all(n.read_at for n in db.session.scalars(select(Notification).filter_by(user_id=desk["ann"].id)))


def test_another_users_notification_is_a_404(client, desk):
    theirs = notify(desk["bob"], "Bob's")
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/notifications/{theirs.id}/open").status_code == 404
    client.post("/notifications/read-all", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None
