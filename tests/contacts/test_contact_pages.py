"""The contact pages: list and search, details edited inline, identities, tickets within scope,
the timeline across channels, merging from the page."""
import pytest
from sqlalchemy import select

from factories import csrf_token, login, make_admin, make_agent, make_contact, make_department, make_ticket
from portal.extensions import db
from portal.models import Contact, PhoneCall
from portal.services import contacts as svc
from portal.services import phone as phone_service
from portal.services import tickets as ticket_service

pytestmark = pytest.mark.integration
HX = {"HX-Request": "true"}


def hx(client) -> dict:
    """HTMX request headers with the signed-in session's CSRF token."""
    return {**HX, "X-CSRFToken": csrf_token(client, "/contacts")}


def test_contacts_list_searches_and_pages(app, client):
    admin = make_admin()
    make_contact("ann@example.com", name="Ann Lee")
    for n in range(30):
        make_contact(f"p{n}@example.com", name=f"Person {n:02d}")
    db.session.commit()
    login(client, admin)
    page = client.get("/contacts").get_data(as_text=True)
    assert "Page 1 of 2" in page and "31 contacts" in page and "Ann Lee" in page
    assert "Person 29" not in page
    assert "Person 29" in client.get("/contacts?page=2").get_data(as_text=True)
    found = client.get("/contacts?q=ann%40", headers={**HX, "HX-Target": "contact-results"}).get_data(as_text=True)
    assert "Ann Lee" in found and "Person" not in found and "<html" not in found
    empty = client.get("/contacts?q=nobody").get_data(as_text=True)
    assert "No contact matches" in empty


def test_contacts_is_in_the_top_navigation_and_the_ticket_links_its_contact(app, client):
    admin = make_admin()
    contact = make_contact(name="Ann Lee")
    ticket = make_ticket(contact=contact)
    db.session.commit()
    login(client, admin)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'href="/contacts"' in page
    assert f'href="/contacts/{contact.id}"' in page


@pytest.fixture
def scoped(app):
    sales, billing = make_department(name="Sales"), make_department(name="Billing")
    contact = make_contact("ann@example.com", name="Ann Lee")
    seen = make_ticket(contact=contact, department=sales, subject="Visible order", body="about my order")
    hidden = make_ticket(contact=contact, department=billing, subject="Secret invoice", body="invoice words")
    ticket_service.add_thread(seen, kind="note", body="an internal remark", by="system")
    db.session.commit()
    return dict(sales=sales, billing=billing, contact=contact, seen=seen, hidden=hidden)


def test_the_contact_page_shows_only_tickets_and_messages_in_the_agents_scope(scoped, client):
    agent = make_agent(departments=[scoped["sales"]])
    db.session.commit()
    login(client, agent)
    page = client.get(f"/contacts/{scoped['contact'].id}").get_data(as_text=True)
    assert "Visible order" in page and "about my order" in page and "an internal remark" in page
    assert "Secret invoice" not in page and "invoice words" not in page
    # The merge box says an admin is needed: a Billing ticket is out of this agent's sight.
    other = make_contact(name="Ann Dup")
    db.session.commit()
    preview = client.get(f"/contacts/{other.id}/merge/{scoped['contact'].id}").get_data(as_text=True)
    assert "Only an admin can merge" in preview and 'name="fingerprint"' not in preview


def test_the_timeline_is_newest_first_and_paged(scoped, client):
    admin = make_admin()
    for n in range(25):
        ticket_service.add_thread(scoped["seen"], kind="customer", body=f"follow-up {n:02d}", by="customer")
    db.session.commit()
    login(client, admin)
    page = client.get(f"/contacts/{scoped['contact'].id}").get_data(as_text=True)
    assert page.index("follow-up 24") < page.index("follow-up 23")
    assert "follow-up 05" in page and "follow-up 04" not in page and "Older messages" in page
    older = client.get(f"/contacts/{scoped['contact'].id}/timeline?page=2").get_data(as_text=True)
    assert "follow-up 04" in older and "follow-up 05" not in older


def test_inline_detail_edits_and_errors(scoped, client):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    cid = scoped["contact"].id
    ok = client.post(f"/contacts/{cid}/details", data={"name": "Ann Li", "tier": "vip", "timezone": "Asia/Shanghai",
                                                       "language": "zh_Hans", "account": "Acme"}, headers=hx(client))
    assert ok.status_code == 200 and "Saved" in ok.get_data(as_text=True)
    bad = client.post(f"/contacts/{cid}/details", data={"name": "", "timezone": "Mars/Base"}, headers=hx(client))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "A name is required." in text and "Unknown time zone" in text and 'value="Mars/Base"' in text
    contact = db.session.get(Contact, cid)
    assert (contact.name, contact.tier, contact.timezone, contact.account.name) == ("Ann Li", "vip", "Asia/Shanghai",
                                                                                  "Acme")


def test_identities_add_and_remove_with_inline_errors(scoped, client):
    admin = make_admin()
    make_contact("bob@example.com", name="Bob Owner")
    db.session.commit()
    login(client, admin)
    cid = scoped["contact"].id
    added = client.post(f"/contacts/{cid}/identities", data={"kind": "phone", "value": "138 0013 8000"}, headers=hx(client))
    assert added.status_code == 200 and "+86 138 0013 8000" in added.get_data(as_text=True)
    taken = client.post(f"/contacts/{cid}/identities", data={"kind": "email", "value": "bob@example.com"}, headers=hx(client))
    assert taken.status_code == 422 and "already belongs to Bob Owner" in taken.get_data(as_text=True)
    bad = client.post(f"/contacts/{cid}/identities", data={"kind": "phone", "value": "12"}, headers=hx(client))
    assert bad.status_code == 422 and "is not a phone number" in bad.get_data(as_text=True)
    removed = client.post(f"/contacts/{cid}/identities/remove", data={"kind": "phone", "value": "+8613800138000"},
                          headers=hx(client))
    assert removed.status_code == 200 and "138 0013" not in removed.get_data(as_text=True)
    last = client.post(f"/contacts/{cid}/identities/remove", data={"kind": "email", "value": "ann@example.com"},
                       headers=hx(client))
    assert last.status_code == 422 and "at least one identity" in last.get_data(as_text=True)


def test_merge_from_the_page_and_the_old_page_redirects(scoped, client):
    admin = make_admin()
    dup = make_contact("ann.lee@work.example", name="Ann (work)")
    dup_ticket = make_ticket(contact=dup, department=scoped["sales"], subject="Work laptop")
    db.session.commit()
    login(client, admin)
    cid = scoped["contact"].id
    found = client.get(f"/contacts/{cid}/merge?q=work", headers=HX).get_data(as_text=True)
    assert "Ann (work)" in found and "Ann Lee" not in found
    preview = client.get(f"/contacts/{cid}/merge/{dup.id}", headers=HX).get_data(as_text=True)
    assert "1 ticket moves to Ann Lee" in preview and "ann.lee@work.example" in preview
    fingerprint = svc.merge_preview(dup, scoped["contact"])["fingerprint"]
    done = client.post(f"/contacts/{cid}/merge", data={"source": dup.id, "fingerprint": fingerprint}, headers=hx(client))
    assert done.status_code == 200 and done.headers["HX-Redirect"] == f"/contacts/{cid}"
    page = client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert "Work laptop" in page and "Visible order" in page and "was merged into Ann Lee" in page
    old = client.get(f"/contacts/{dup.id}")
    assert old.status_code == 301 and old.headers["Location"].endswith(f"/contacts/{cid}")
    assert db.session.get(type(dup_ticket), dup_ticket.id).contact_id == cid
    again = client.post(f"/contacts/{cid}/merge", data={"source": dup.id}, headers=hx(client))
    assert again.status_code == 422 and "already merged into Ann Lee" in again.get_data(as_text=True)
    itself = client.post(f"/contacts/{cid}/merge", data={"source": cid}, headers=hx(client))
    assert itself.status_code == 422 and "into itself" in itself.get_data(as_text=True)


def test_a_stale_merge_preview_is_refused(scoped, client):
    admin = make_admin()
    dup = make_contact(name="Ann Dup")
    db.session.commit()
    login(client, admin)
    fingerprint = svc.merge_preview(dup, scoped["contact"])["fingerprint"]
    make_ticket(contact=dup, department=scoped["sales"])  # someone else's work lands meanwhile
    db.session.commit()
    stale = client.post(f"/contacts/{scoped['contact'].id}/merge", data={"source": dup.id, "fingerprint": fingerprint},
                        headers=hx(client))
    assert stale.status_code == 422 and "changed since you looked" in stale.get_data(as_text=True)
    assert db.session.get(Contact, dup.id).merged_into_id is None


def test_an_agent_without_the_sources_departments_cannot_merge_by_posting(scoped, client):
    agent = make_agent(departments=[scoped["sales"]])
    other = make_contact(name="Survivor")
    db.session.commit()
    login(client, agent)
    refused = client.post(f"/contacts/{other.id}/merge", data={"source": scoped["contact"].id}, headers=hx(client))
    assert refused.status_code == 422 and "Ask an admin" in refused.get_data(as_text=True)
    assert db.session.get(Contact, scoped["contact"].id).merged_into_id is None


def test_a_logged_call_shows_in_the_timeline(scoped, client):
    admin = make_admin()
    phone_service.log_call(scoped["seen"], direction="inbound", number="+8613800138000", duration="4:05",
                           notes="Called about the delivery", by=admin)
    db.session.commit()
    login(client, admin)
    page = client.get(f"/contacts/{scoped['contact'].id}").get_data(as_text=True)
    assert "Called about the delivery" in page and "Inbound call" in page and "4:05" in page
    assert "+86 138 0013 8000" in page
    assert db.session.scalar(select(PhoneCall)).duration_seconds == 245
