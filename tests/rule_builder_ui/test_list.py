"""The rules list: grouped by trigger in run order, on/off switches, drag to reorder, the empty state."""
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from factories import login, make_admin
from portal.extensions import db
from rule_builder import services
from rule_builder.models import Rule
from rule_builder.views.rules import new_order

from .conftest import page, post

pytestmark = pytest.mark.integration


def order(trigger="created") -> list[str]:
    return [r.name for r in db.session.scalars(select(Rule).where(Rule.trigger == trigger)
                                               .order_by(Rule.position, Rule.id))]


def test_empty_state_explains_rules(client, app):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    html = page(client.get("/admin/rules"))
    assert "No rules yet" in html and "For example" in html and "assign to team Senior" in html
    assert "Export" not in html
    assert "Create your first rule" in html


def test_grouped_by_trigger_in_order(client, org):
    services.save_rule(None, {"name": "Customer wrote back", "department_id": org.support.id,
                              "trigger": "customer_replied", "condition": {"all": []},
                              "actions": [{"type": "set_field", "field": "status", "value": "open"}]}, org.admin)
    db.session.commit()
    login(client, org.admin)
    html = page(client.get("/admin/rules"))
    assert html.index("<h2>Ticket created") < html.index("VIP to senior") < html.index("Invoices to billing team") \
        < html.index("Tag phone tickets") < html.index("<h2>Customer replied") < html.index("Customer wrote back")
    assert "Time-based" not in html                           # no empty sections
    assert "customer tier is VIP and (subject contains any of 退款, refund" in html


def test_toggle(client, org):
    login(client, org.supervisor)
    rule_id = org.support_rule.id
    response = post(client, f"/admin/rules/{rule_id}/toggle", {"enabled": "0"}, htmx=True)
    assert response.status_code == 200
    html = page(response)
    assert html.lstrip().startswith('<span class="toggle-wrap"') and 'aria-checked="false"' in html
    rule = db.session.get(Rule, rule_id)
    assert (rule.enabled, rule.revision) == (False, 2)
    assert services.revisions(rule)[0].summary == "Disabled."
    post(client, f"/admin/rules/{rule_id}/toggle", {"enabled": "1"}, htmx=True)
    db.session.expire_all()
    assert db.session.get(Rule, rule_id).enabled is True


def test_admin_reorders(client, org):
    login(client, org.admin)
    ids = [org.global_rule.id, org.support_rule.id, org.billing_rule.id]
    response = post(client, "/admin/rules/reorder", {"trigger": "created", "rule": [str(i) for i in ids]}, htmx=True)
    assert response.status_code == 200
    assert "Order saved." in page(response)
    db.session.expire_all()
    assert order() == ["Tag phone tickets", "VIP to senior", "Invoices to billing team"]


def test_supervisor_reorder_keeps_other_departments_in_place(client, org):
    # created: VIP to senior (Support), Invoices to billing team (Billing), Tag phone tickets (global)
    login(client, org.supervisor)
    posted = [org.global_rule.id, org.support_rule.id]        # what Sue sees, VIP dragged below the global one
    response = post(client, "/admin/rules/reorder", {"trigger": "created", "rule": [str(i) for i in posted]},
                    htmx=True)
    assert response.status_code == 200
    db.session.expire_all()
    # Billing's rule still runs before the global rule, as it did.
    assert order() == ["Invoices to billing team", "Tag phone tickets", "VIP to senior"]


def test_reorder_refusals(client, org):
    login(client, org.billing_supervisor)
    # Bob sees Invoices and the global rule; he may not move the global one past... itself only moves if his does.
    response = post(client, "/admin/rules/reorder", {"trigger": "created",
                                                     "rule": [str(org.support_rule.id), str(org.billing_rule.id)]},
                    htmx=True)
    assert response.status_code == 422                        # a rule he can't see
    db.session.expire_all()
    assert order() == ["VIP to senior", "Invoices to billing team", "Tag phone tickets"]


def test_new_order_rules():
    rules = [SimpleNamespace(id=i) for i in (1, 2, 3, 4, 5)]
    # visible: 1 (movable), 3 (fixed), 5 (movable); hidden: 2 (after 1 -> anchored to start), 4 (after fixed 3)
    visible = [rules[0], rules[2], rules[4]]
    assert new_order("created", [5, 3, 1], visible, rules, {1, 5}) == [2, 5, 3, 4, 1]
    assert new_order("created", [1, 3, 5], visible, rules, {1, 5}) == [2, 1, 3, 4, 5]
    with pytest.raises(ValueError):
        new_order("created", [1, 5], visible, rules, {1, 5})           # one missing
    with pytest.raises(ValueError):
        new_order("created", [3, 1, 5, 5], visible, rules, {1, 5})     # a repeat
    with pytest.raises(ValueError):
        vis = [rules[0], rules[2], rules[3]]
        new_order("created", [4, 3, 1], vis, rules, {1})               # two fixed ones swapped
