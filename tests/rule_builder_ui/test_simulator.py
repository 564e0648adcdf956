"""The simulator changes nothing and sends nothing; the backtest counts in SQL."""
import pytest
from sqlalchemy import func, select

from factories import login, make_contact, make_ticket
from portal.extensions import db
from portal.models import Notification, OutboundMessage, OutboxEvent, Thread, Ticket, TicketEvent
from rule_builder import services
from rule_builder.models import RuleFiring

from .conftest import form_inputs, page, post, with_values
from .test_builder import vip_inputs

pytestmark = pytest.mark.integration


def counts() -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Ticket, Thread, TicketEvent, OutboxEvent, OutboundMessage, Notification, RuleFiring)}


@pytest.fixture
def noisy(org):
    """A rule that emails, notifies, calls a webhook and notes on every Support ticket created."""
    services.save_rule(None, {
        "name": "Tell everyone", "department_id": org.support.id, "trigger": "created", "condition": {"all": []},
        "actions": [{"type": "send_email", "to": "customer", "subject": "Got it: {{ ticket.subject }}",
                     "body": "Hello {{ contact.name }}"},
                    {"type": "notify", "to": "team", "text": "New: {{ ticket.ref }}"},
                    {"type": "webhook", "url": "https://hooks.example.com/desk"},
                    {"type": "add_note", "body": "Seen by the rules"},
                    {"type": "add_tags", "tags": ["told"]}]}, org.admin)
    db.session.commit()


def test_dry_run_on_an_existing_ticket(client, org, held_events):
    ticket = make_ticket(subject="我要退款", department=org.support, contact=org.vip)
    db.session.commit()                     # held: no rule ran on it
    services.save_rule(None, {
        "name": "Tell everyone", "department_id": org.support.id, "trigger": "created", "condition": {"all": []},
        "actions": [{"type": "send_email", "to": "customer", "subject": "Got it: {{ ticket.subject }}",
                     "body": "Hello {{ contact.name }}"},
                    {"type": "notify", "to": "team", "text": "New: {{ ticket.ref }}"},
                    {"type": "webhook", "url": "https://hooks.example.com/desk"}]}, org.admin)
    db.session.commit()
    before, version = counts(), db.session.get(Ticket, ticket.id).version
    login(client, org.supervisor)
    response = post(client, "/admin/rules/simulate", {"source": "ticket", "ticket": str(ticket.id),
                                                      "trigger": "created"})
    assert response.status_code == 200
    html = page(response)
    assert html.index("VIP to senior") < html.index("Tell everyone")         # in the admin's order
    assert "Dry run: nothing was changed" in html
    assert "Email to vera@customer.example" in html and "Got it: 我要退款" in html
    assert "Notification to Ann Agent" in html and "https://hooks.example.com/desk" in html
    assert '<td class="new">High</td>' in html
    db.session.expire_all()
    assert counts() == before
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.version, ticket.team_id, ticket.priority) == (version, None, 2)


def test_dry_run_on_a_sample_ticket(client, org, noisy):
    before = counts()
    login(client, org.admin)
    response = post(client, "/admin/rules/simulate", {
        "source": "sample", "subject": "VIP 退款 please", "body": "Where is my refund?", "department": str(org.support.id),
        "priority": "normal", "status": "new", "channel": "email", "tier": "vip", "language": "en", "tags": "a, b",
        "trigger": "created"})
    assert response.status_code == 200
    html = page(response)
    assert "Sample ticket" in html and "VIP to senior" in html and "Tell everyone" in html
    assert "Internal note" in html and "Seen by the rules" in html
    assert "Email to sample" in html
    db.session.expire_all()
    assert counts() == before
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_simulator_form_errors(client, org):
    login(client, org.admin)
    response = post(client, "/admin/rules/simulate", {"source": "ticket", "ticket": "", "trigger": "created"})
    assert response.status_code == 422 and "Enter a ticket number." in page(response)
    response = post(client, "/admin/rules/simulate", {"source": "sample", "subject": "", "trigger": "created",
                                                      "department": str(org.support.id)})
    assert response.status_code == 422 and "Give the sample ticket a subject." in page(response)
    other = make_ticket(department=org.billing)
    db.session.commit()
    response = post(client, "/admin/rules/simulate", {"source": "ticket", "ticket": str(other.id),
                                                            "trigger": "created"})
    assert response.status_code == 200                      # admins see every ticket


def test_supervisor_cannot_simulate_on_other_departments_tickets(client, org):
    other = make_ticket(department=org.billing)
    db.session.commit()
    login(client, org.supervisor)
    response = post(client, "/admin/rules/simulate", {"source": "ticket", "ticket": str(other.id),
                                                      "trigger": "created"})
    assert response.status_code == 404


def test_draft_from_the_builder(client, org, held_events):
    ticket = make_ticket(subject="refund now", department=org.support, contact=org.vip)
    db.session.commit()
    before = counts()
    login(client, org.admin)
    form = form_inputs(page(client.get("/admin/rules/new")), "rule-form")
    data = with_values(form, {**vip_inputs(org), "name": "", "sim_ticket": str(ticket.id),
                              "actions[2][type]": "send_email", "actions[2][to]": "customer",
                              "actions[2][subject_en]": "VIP {{ ticket.ref }}", "actions[2][body_en]": "Hi"})
    response = post(client, "/admin/rules/simulate/draft", data, htmx=True)
    assert response.status_code == 200
    html = page(response)
    assert f"Dry run of this draft on #{ticket.id}" in html
    assert '<td class="new">High</td>' in html and '<td class="new">Senior</td>' in html
    assert f"VIP #{ticket.id}" in html
    db.session.expire_all()
    assert counts() == before
    assert db.session.get(Ticket, ticket.id).team_id is None
    # An invalid draft says why instead.
    response = post(client, "/admin/rules/simulate/draft", with_values(data, {"condition[r.0][field]": "nope"}),
                    htmx=True)
    assert response.status_code == 422 and "Can't try the draft yet" in page(response)


def test_backtest_counts(client, org, held_events):
    vip = org.vip
    plain = make_contact(name="Pat Plain")
    for subject, contact in [("退款 please", vip), ("refund?", vip), ("hello", vip), ("refund", plain),
                             ("退款", plain)]:
        make_ticket(subject=subject, department=org.support, contact=contact)
    make_ticket(subject="refund", department=org.billing, contact=vip)      # another department
    db.session.commit()
    login(client, org.admin)
    form = form_inputs(page(client.get("/admin/rules/new")), "rule-form")
    response = post(client, "/admin/rules/backtest", with_values(form, {**vip_inputs(org), "backtest_size": "1000"}),
                    htmx=True)
    assert response.status_code == 200
    html = page(response)
    assert "Would have matched 2 of 5" in html
    assert html.count('<li><a href="/tickets/') == 2
    # Global draft: every department's tickets.
    response = post(client, "/admin/rules/backtest", with_values(form, {**vip_inputs(org), "department": ""}),
                    htmx=True)
    assert "Would have matched 3 of 6" in page(response)
    # Change conditions can't be counted over the past.
    response = post(client, "/admin/rules/backtest", with_values(form, {
        **vip_inputs(org), "condition[r.0][field]": "priority", "condition[r.0][op]": "changed_to",
        "condition[r.0][value]": "high"}), htmx=True)
    assert response.status_code == 422 and "can't be counted" in page(response)
