"""Macros from the agent workspace: the ticket menu, applying (one and bulk), availability, management."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_agent, make_contact, make_department, make_ticket
from portal.extensions import db
from portal.models import Ticket, TicketEvent
from rule_builder.macros import save_macro
from rule_builder.models import Macro

pytestmark = pytest.mark.integration
HX = {"HX-Request": "true"}
REFUND_ACTIONS = [{"type": "set_field", "field": "priority", "value": "high"},
                  {"type": "add_tags", "tags": ["refund"]}]
VIP_ONLY = {"all": [{"field": "contact.tier", "op": "eq", "value": "vip"}]}


@pytest.fixture
def desk(app, client):
    returns, billing = make_department(name="Returns"), make_department(name="Billing")
    ann = make_agent(departments=[returns], name="Ann Agent")
    amy = make_agent(departments=[returns], name="Amy Agent")
    sue = make_agent(departments=[returns], role="supervisor", name="Sue Supervisor")
    vip, plain = make_contact(tier="vip", name="Vera VIP"), make_contact(name="Pat Plain")
    t_vip = make_ticket(department=returns, contact=vip, subject="VIP wants a refund")
    t_plain = make_ticket(department=returns, contact=plain, subject="Plain question")
    t_billing = make_ticket(department=billing, contact=vip, subject="Billing secret")
    vip_refund = save_macro(None, {"name": "VIP refund", "shared": True, "condition": VIP_ONLY,
                                   "actions": REFUND_ACTIONS}, sue)
    anns = save_macro(None, {"name": "Ann's tagger", "actions": [{"type": "add_tags", "tags": ["ann"]}]}, ann)
    amys = save_macro(None, {"name": "Amy's tagger", "actions": [{"type": "add_tags", "tags": ["amy"]}]}, amy)
    db.session.commit()
    login(client, ann)
    return dict(returns=returns, billing=billing, ann=ann, amy=amy, sue=sue, t_vip=t_vip, t_plain=t_plain,
                t_billing=t_billing, vip_refund=vip_refund, anns=anns, amys=amys,
                token=csrf_token(client, f"/tickets/{t_vip.id}"))


def fresh(ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def test_the_ticket_page_offers_the_menu_and_it_lists_only_available_macros(client, desk):
    page = client.get(f"/tickets/{desk['t_vip'].id}").get_data(as_text=True)
    assert 'id="macro-action"' in page and "Apply macro" in page
    menu = client.get(f"/macros/ticket/{desk['t_vip'].id}/menu", headers=HX).get_data(as_text=True)
    assert "VIP refund" in menu and "Ann&#39;s tagger" in menu and "Amy" not in menu
    plain = client.get(f"/macros/ticket/{desk['t_plain'].id}/menu", headers=HX).get_data(as_text=True)
    assert "VIP refund" not in plain and "Ann&#39;s tagger" in plain
    assert client.get(f"/macros/ticket/{desk['t_billing'].id}/menu", headers=HX).status_code == 404


def test_applying_changes_the_ticket_through_the_service_and_counts_usage(client, desk):
    t, macro = desk["t_vip"], desk["vip_refund"]
    response = client.post(f"/macros/{macro.id}/apply/{t.id}", headers=HX, data={"csrf_token": desk["token"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "Applied “VIP refund”." in body and 'id="properties"' in body and 'hx-swap-oob="true"' in body
    ticket = fresh(t)
    assert ticket.priority_key == "high" and "refund" in ticket.tags
    event = db.session.scalar(select(TicketEvent).filter_by(ticket_id=t.id, field="priority")
                              .order_by(TicketEvent.id.desc()))
    # The agent is who (rule_builder.macros runs the actions as the agent, through the ticket service).
    assert event.actor.name == "Ann Agent" and (event.old_value, event.new_value) == ("normal", "high")
    assert db.session.get(Macro, macro.id).usage_count == 1
    history = client.get(f"/tickets/{t.id}/history", headers=HX).get_data(as_text=True)
    assert "Ann Agent" in history and "High" in history


def test_the_history_says_which_macro(client, desk):
    t, macro = desk["t_vip"], desk["vip_refund"]
    client.post(f"/macros/{macro.id}/apply/{t.id}", headers=HX, data={"csrf_token": desk["token"]})
    # the newest priority row: the first one is the ticket's creation
    event = db.session.scalar(select(TicketEvent).filter_by(ticket_id=t.id, field="priority")
                              .order_by(TicketEvent.id.desc()).limit(1))
    assert "macro 'VIP refund'" in (event.reason or "")


def test_a_crafted_post_for_an_unavailable_macro_is_refused(client, desk):
    t = desk["t_plain"]
    response = client.post(f"/macros/{desk['vip_refund'].id}/apply/{t.id}", headers=HX,
                           data={"csrf_token": desk["token"]})
    assert response.status_code == 422 and "not applied" in response.get_data(as_text=True)
    ticket = fresh(t)
    assert ticket.priority_key == "normal" and "refund" not in ticket.tags
    assert db.session.get(Macro, desk["vip_refund"].id).usage_count == 0


def test_someone_elses_macro_or_ticket_is_a_404(client, desk):
    t = desk["t_vip"]
    assert client.post(f"/macros/{desk['amys'].id}/apply/{t.id}", headers=HX,
                       data={"csrf_token": desk["token"]}).status_code == 404
    assert client.post(f"/macros/{desk['anns'].id}/apply/{desk['t_billing'].id}", headers=HX,
                       data={"csrf_token": desk["token"]}).status_code == 404
    assert "amy" not in fresh(t).tags and "ann" not in fresh(desk["t_billing"]).tags


def test_bulk_apply_reports_partial_failures(client, desk):
    vip, plain, billing = desk["t_vip"], desk["t_plain"], desk["t_billing"]
    token = csrf_token(client, "/tickets")
    response = client.post("/tickets/bulk", headers=HX, data={
        "csrf_token": token, "action": "macro", "value": desk["vip_refund"].id,
        "ticket": [vip.id, plain.id, billing.id]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Applied “VIP refund” to 1 ticket." in body
    assert f"#{plain.id}: This macro is not available for this ticket." in body
    assert f"#{billing.id}" not in body          # out of scope: ignored, never mentioned
    assert response.headers["HX-Trigger"] == "queue-changed"
    assert fresh(vip).priority_key == "high" and fresh(plain).priority_key == "normal"
    assert fresh(billing).priority_key == "normal"
    assert db.session.get(Macro, desk["vip_refund"].id).usage_count == 1


def test_the_bulk_bar_offers_apply_macro(client, desk):
    page = client.get("/tickets").get_data(as_text=True)
    assert '<option value="macro">Apply macro</option>' in page
    assert re.search(r'data-bulk-value="macro"[^>]*>.*VIP refund', page, re.S)
    assert "Amy&#39;s tagger" not in page


def test_the_macro_list_shows_usage_and_who_may_edit(client, desk):
    page = client.get("/macros").get_data(as_text=True)
    assert "My macros" in page and "Shared macros" in page
    assert "Ann&#39;s tagger" in page and "VIP refund" in page and "Amy&#39;s tagger" not in page
    assert f'href="/macros/{desk["anns"].id}/edit">Edit' in page
    assert f'href="/macros/{desk["vip_refund"].id}/edit">View' in page


def test_an_agent_creates_a_personal_macro_and_cannot_share(client, desk):
    token = csrf_token(client, "/macros/new")
    ok = client.post("/macros/new", data={"csrf_token": token, "name": "Close politely",
                                          "condition": json.dumps({"all": []}),
                                          "actions": json.dumps([{"type": "set_field", "field": "status",
                                                                  "value": "solved"}])})
    assert ok.status_code == 302, ok.get_data(as_text=True)
    mine = db.session.scalar(select(Macro).filter_by(name="Close politely"))
    assert mine.owner_id == desk["ann"].id
    before = db.session.scalar(select(func.count()).select_from(Macro))
    refused = client.post("/macros/new", data={"csrf_token": token, "name": "For all", "shared": "1",
                                               "department": desk["returns"].id,
                                               "actions": json.dumps(REFUND_ACTIONS)})
    assert refused.status_code == 422 and "Only supervisors and admins share macros." in refused.get_data(
        as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Macro)) == before


def test_invalid_macros_save_nothing_and_say_where(client, desk):
    token = csrf_token(client, "/macros/new")
    before = db.session.scalar(select(func.count()).select_from(Macro))
    response = client.post("/macros/new", data={
        "csrf_token": token, "name": "Broken",
        "condition": json.dumps({"all": [{"field": "no_such", "op": "eq", "value": 1}]}),
        "actions": json.dumps([{"type": "set_field", "field": "priority", "value": "sky-high"}])})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Macro)) == before


def test_shared_macros_are_read_only_for_agents(client, desk):
    macro = desk["vip_refund"]
    assert client.get(f"/macros/{macro.id}/edit").status_code == 200
    assert client.post(f"/macros/{macro.id}/edit", data={"csrf_token": desk["token"], "name": "Hijacked",
                                                        "actions": json.dumps(REFUND_ACTIONS)}).status_code == 403
    assert client.post(f"/macros/{macro.id}/delete", data={"csrf_token": desk["token"]}).status_code == 403
    assert client.get(f"/macros/{desk['amys'].id}/edit").status_code == 404
    assert db.session.get(Macro, macro.id).name == "VIP refund"


def test_a_supervisor_edits_a_shared_macro_of_their_department(client, desk):
    macro = save_macro(None, {"name": "Returns only", "shared": True, "department_id": desk["returns"].id,
                              "actions": REFUND_ACTIONS}, desk["sue"])
    db.session.commit()
    client.post("/logout", data={"csrf_token": desk["token"]})
    login(client, desk["sue"])
    token = csrf_token(client, f"/macros/{macro.id}/edit")
    response = client.post(f"/macros/{macro.id}/edit", data={
        "csrf_token": token, "name": "Returns refunds", "department": desk["returns"].id,
        "condition": json.dumps(VIP_ONLY), "actions": json.dumps(REFUND_ACTIONS)})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    changed = db.session.get(Macro, macro.id)
    assert (changed.name, changed.owner_id, changed.revision) == ("Returns refunds", None, 2)
