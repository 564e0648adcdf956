"""Admin → Inbound mail → Mailboxes: list, create, edit, deactivate, "Test connection" and "Poll now";
every bad value gets its message on its field; the password is sealed and never sent back."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from factories import make_admin, make_agent, make_department
from portal.channels.mail.credentials import unseal
from portal.extensions import db
from portal.models import InboundMessage, Mailbox

from .conftest import DESK_PASSWORD, mail

pytestmark = pytest.mark.integration
NEW = "/admin/mail/mailboxes/new"


@pytest.fixture
def admin_client(app, client, login):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    return client


def post_form(client, url, token_url=NEW, htmx=False, **values):
    page = client.get(token_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    return client.post(url, data={"csrf_token": token, **values}, headers=headers)


def valid(department, imapd=None, user=None, **overrides):
    values = dict(address="Support@Desk.Example", name="Example Support", department_id=str(department.id),
                  active="y", imap_host="", imap_port="", imap_security="ssl", imap_username="", imap_password="",
                  imap_folder="INBOX", imap_after="seen", imap_move_to="", poll_minutes="5")
    if imapd is not None:
        values.update(imap_host=imapd.host, imap_port=str(imapd.port), imap_security="none", imap_username=user,
                      imap_password=DESK_PASSWORD)
    values.update(overrides)
    return values


def field_errors(html: str) -> dict[str, str]:
    """{field id: its first error message} from the rendered form."""
    found = {}
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', html, re.S):
        name = re.search(r'(?:id|for)="([a-z_]+)"', block).group(1)
        found[name] = re.search(r'<p class="error">([^<]+)</p>', block).group(1)
    return found


def test_the_mailboxes_tab_lists_them_with_their_last_poll(admin_client):
    department = make_department(name="Returns")
    db.session.add(Mailbox(address="returns@desk.example", department=department, imap_host="imap.example.com",
                           imap_port=993, imap_username="returns", last_poll_ok=False,
                           last_poll_error="Login failed for returns: bad password"))
    db.session.commit()
    page = admin_client.get("/admin/mail/mailboxes").get_data(as_text=True)
    assert "returns@desk.example" in page and "Login failed for returns: bad password" not in page  # never polled
    box = db.session.scalar(select(Mailbox))
    from portal.models import utcnow
    box.last_poll_at = utcnow()
    db.session.commit()
    page = admin_client.get("/admin/mail/mailboxes").get_data(as_text=True)
    assert "Login failed for returns: bad password" in page and "Failed" in page
    assert 'aria-current="page">Mailboxes' in page
    assert 'aria-current="page">Messages' in admin_client.get("/admin/mail").get_data(as_text=True)


def test_only_admins_see_mailboxes(app, client, login):
    department = make_department()
    supervisor = make_agent(departments=[department], role="supervisor")
    db.session.commit()
    login(client, supervisor)
    assert client.get("/admin/mail/mailboxes").status_code == 403
    assert client.get(NEW).status_code == 403


def test_every_bad_value_is_named_on_its_field(admin_client):
    department = make_department()
    db.session.add(Mailbox(address="taken@desk.example", department=department))
    db.session.commit()
    response = post_form(admin_client, NEW, htmx=True, **valid(
        department, address="taken@desk.example", imap_host="imap.example.com", imap_security="none",
        imap_port="70000", imap_username="", imap_password="", imap_after="move", imap_move_to="",
        poll_minutes="0"))
    assert response.status_code == 422
    errors = field_errors(response.get_data(as_text=True))
    assert errors["address"] == "Another mailbox already has the address taken@desk.example."
    assert errors["imap_security"].startswith("Without TLS the password crosses the network in clear text.")
    assert errors["imap_port"] == "A port is a number from 1 to 65535."
    assert errors["imap_username"] == "Enter the user name to log in with."
    assert errors["imap_password"] == "Enter the password to log in with."
    assert errors["imap_move_to"] == "Enter the folder to move imported mail to."
    assert errors["poll_minutes"] == "Between 1 and 1440 minutes."
    response = post_form(admin_client, NEW, htmx=True, **valid(department, address="not an address",
                                                               imap_host="bad host!", imap_port="abc"))
    errors = field_errors(response.get_data(as_text=True))
    assert errors["address"] == "“not an address” is not an email address."
    assert errors["imap_host"].startswith("Enter a host name such as imap.example.com")
    assert errors["imap_port"] == "Not a valid integer value."
    assert db.session.scalars(select(Mailbox.address)).all() == ["taken@desk.example"]  # nothing half-saved


def test_create_and_edit_keep_the_password_sealed_and_unseen(admin_client, imapd, imap_user):
    department = make_department()
    db.session.commit()
    response = post_form(admin_client, NEW, **valid(department, imapd, imap_user))
    assert response.status_code == 302
    box = db.session.scalar(select(Mailbox))
    assert (box.address, box.name, box.imap_port, box.imap_security) == (
        "support@desk.example", "Example Support", imapd.port, "none")
    assert DESK_PASSWORD not in box.imap_password and unseal(box.imap_password) == DESK_PASSWORD
    url = f"/admin/mail/mailboxes/{box.id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert DESK_PASSWORD not in page and box.imap_password not in page
    assert "Leave empty to keep the saved password." in page
    sealed = box.imap_password
    response = post_form(admin_client, url, token_url=url, **valid(department, imapd, imap_user, imap_password="",
                                                                   poll_minutes="15", name="Help"))
    assert response.status_code == 302
    db.session.expire_all()
    box = db.session.get(Mailbox, box.id)
    assert (box.poll_minutes, box.name, box.imap_password) == (15, "Help", sealed)  # blank: kept
    # Without a server the mailbox is pipe/HTTP only, and the IMAP credentials are dropped.
    post_form(admin_client, url, token_url=url, **valid(department, imap_host=""))
    db.session.expire_all()
    assert db.session.get(Mailbox, box.id).imap_password is None


def test_test_connection_counts_the_folders_messages_or_names_the_problem(admin_client, imapd, imap_user):
    department = make_department()
    db.session.commit()
    imapd.append(imap_user, mail())
    imapd.append(imap_user, mail(subject="Two"))
    test_url = "/admin/mail/mailboxes/test"
    ok = post_form(admin_client, test_url, htmx=True, **valid(department, imapd, imap_user))
    assert ok.status_code == 200
    assert "Connected. INBOX has 2 messages." in ok.get_data(as_text=True)
    assert "The first poll imports them." in ok.get_data(as_text=True)
    wrong = post_form(admin_client, test_url, htmx=True, **valid(department, imapd, imap_user, imap_password="nope"))
    assert f"Login failed for {imap_user}" in wrong.get_data(as_text=True)
    folder = post_form(admin_client, test_url, htmx=True, **valid(department, imapd, imap_user, imap_folder="Nope"))
    assert "The folder &#39;Nope&#39; can&#39;t be opened" in folder.get_data(as_text=True)
    incomplete = post_form(admin_client, test_url, htmx=True, **valid(department, imapd, imap_user, imap_host=""))
    assert "IMAP server: Enter the IMAP server&#39;s host name." in incomplete.get_data(as_text=True)
    # Editing: a blank password tests with the saved one.
    post_form(admin_client, NEW, **valid(department, imapd, imap_user))
    box = db.session.scalar(select(Mailbox))
    stored = post_form(admin_client, f"{test_url}?mailbox={box.id}", token_url=f"/admin/mail/mailboxes/{box.id}",
                       htmx=True, **valid(department, imapd, imap_user, imap_password=""))
    assert "Connected. INBOX has 2 messages." in stored.get_data(as_text=True)


def test_poll_now_and_deactivate(admin_client, imapd, imap_user):
    department = make_department()
    db.session.commit()
    post_form(admin_client, NEW, **valid(department, imapd, imap_user))
    box = db.session.scalar(select(Mailbox))
    imapd.append(imap_user, mail())
    listing = "/admin/mail/mailboxes"
    response = post_form(admin_client, f"/admin/mail/mailboxes/{box.id}/poll", token_url=listing)
    assert response.status_code == 302
    page = admin_client.get(listing).get_data(as_text=True)
    assert "support@desk.example: 1 new message." in page and "1 imported by IMAP" in page
    assert db.session.scalar(select(InboundMessage.status)) == "ticket"
    response = post_form(admin_client, f"/admin/mail/mailboxes/{box.id}/active", token_url=listing, active="0")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Mailbox, box.id).active is False
    assert "Poll now" not in admin_client.get(listing).get_data(as_text=True)
