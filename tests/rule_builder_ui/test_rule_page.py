"""The rule page: summary, numbers, last firings and failures, revisions with rollback."""
import pytest

from factories import login, make_ticket
from portal.extensions import db
from portal.models import Priority, Ticket, utcnow
from rule_builder import services
from rule_builder.models import Rule, RuleFiring

from .conftest import page, post, revision_count

pytestmark = pytest.mark.integration


def test_rule_page_shows_firings_and_failures(client, org):
    ticket = make_ticket(subject="我要退款", department=org.support, contact=org.vip)
    db.session.commit()
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.priority, ticket.team_id) == (int(Priority.HIGH), org.senior.id)   # the rule fired
    other = make_ticket(subject="refund", department=org.support)
    db.session.add(RuleFiring(rule_id=org.support_rule.id, revision=1, ticket_id=other.id, status="failed",
                              error="Refused by the template sandbox: access to '__class__' is unsafe.",
                              created_at=utcnow()))
    db.session.commit()
    login(client, org.supervisor)
    html = page(client.get(f"/admin/rules/{org.support_rule.id}"))
    assert "When a ticket is created, if customer tier is VIP" in html
    assert f'href="/tickets/{ticket.id}">#{ticket.id}</a>' in html
    assert "Priority" in html and "High" in html and "Senior" in html
    assert "Refused by the template sandbox" in html
    assert '<span class="stat-num">1</span><span class="muted">tickets in the last 24 hours' in html
    assert '<span class="stat-num">1</span><span class="muted">failures in the last 7 days' in html


def test_revisions_and_rollback(client, org):
    rule = org.support_rule
    services.save_rule(rule, {**services.rule_document(rule), "name": "VIP to senior v2"}, org.admin)
    db.session.commit()
    login(client, org.supervisor)
    html = page(client.get(f"/admin/rules/{rule.id}"))
    assert "r2" in html and "Renamed 'VIP to senior' → 'VIP to senior v2'." in html
    assert "Restore revision 1?" in html                       # the confirm question
    before = revision_count()
    response = post(client, f"/admin/rules/{rule.id}/rollback", {"revision": "1"}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith(f"/admin/rules/{rule.id}")
    rule = db.session.get(Rule, rule.id)
    assert (rule.name, rule.revision) == ("VIP to senior", 3) and revision_count() == before + 1
    assert "Restored revision 1 as revision 3." in page(client.get(f"/admin/rules/{rule.id}"))


def test_rollback_that_no_longer_validates_is_refused(client, org):
    rule = org.support_rule
    services.save_rule(rule, {**services.rule_document(rule), "actions": [{"type": "stop"}]}, org.admin)
    db.session.commit()
    db.session.delete(org.senior)      # revision 1 assigns to this team
    db.session.commit()
    login(client, org.admin)
    before = revision_count()
    response = post(client, f"/admin/rules/{rule.id}/rollback", {"revision": "1"})
    assert response.status_code == 302
    assert "Revision 1 can't be restored" in page(client.get(f"/admin/rules/{rule.id}"))
    assert revision_count() == before


def test_delete(client, org):
    login(client, org.admin)
    rule_id = org.billing_rule.id
    response = post(client, f"/admin/rules/{rule_id}/delete", htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith("/admin/rules")
    db.session.expunge_all()
    assert db.session.get(Rule, rule_id) is None
