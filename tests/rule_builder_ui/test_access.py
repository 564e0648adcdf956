"""Who may open and change which rule: agents nothing, supervisors their departments' rules, admins all."""
import pytest

from factories import login
from portal.extensions import db
from rule_builder.models import Rule

from .conftest import VIP_CONDITION, page, post, revision_count, rule_count

pytestmark = pytest.mark.integration

PAGES = ["/admin/rules", "/admin/rules/new", "/admin/rules/simulate", "/admin/rules/import", "/admin/rules/export"]


def test_signed_out_goes_to_login(client, org):
    for url in PAGES + [f"/admin/rules/{org.support_rule.id}"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_agent_gets_403_everywhere(client, org):
    login(client, org.agent)
    rule = org.support_rule.id
    for url in PAGES + [f"/admin/rules/{rule}", f"/admin/rules/{rule}/edit"]:
        assert client.get(url).status_code == 403, url
    before = revision_count()
    for url, data in [(f"/admin/rules/{rule}/toggle", {"enabled": "0"}), ("/admin/rules/reorder", {"trigger": "created"}),
                      (f"/admin/rules/{rule}/rollback", {"revision": "1"}), (f"/admin/rules/{rule}/delete", {}),
                      ("/admin/rules/new", {"name": "x", "trigger": "created"}), ("/admin/rules/summary", {}),
                      ("/admin/rules/backtest", {}), ("/admin/rules/simulate/draft", {})]:
        assert post(client, url, data).status_code == 403, url
    assert revision_count() == before and db.session.get(Rule, rule).enabled


def test_supervisor_has_a_rules_tab(client, org):
    login(client, org.supervisor)
    assert '>Rules</a>' in page(client.get("/admin/"))


def test_supervisor_sees_own_and_global_rules(client, org):
    login(client, org.supervisor)
    html = page(client.get("/admin/rules"))
    assert "VIP to senior" in html and "Tag phone tickets" in html
    assert "Invoices to billing team" not in html
    assert "Read only" in html                      # the global rule
    assert client.get(f"/admin/rules/{org.billing_rule.id}").status_code == 404
    assert client.get(f"/admin/rules/{org.billing_rule.id}/edit").status_code == 404
    assert client.get(f"/admin/rules/{org.global_rule.id}").status_code == 200
    assert client.get(f"/admin/rules/{org.global_rule.id}/edit").status_code == 403
    assert client.get(f"/admin/rules/{org.support_rule.id}/edit").status_code == 200


def test_supervisor_cannot_change_other_rules_by_crafted_posts(client, org):
    login(client, org.supervisor)
    before, rules = revision_count(), rule_count()
    billing, glob = org.billing_rule.id, org.global_rule.id
    edit = {"name": "Hijacked", "department": str(org.billing.id), "trigger": "created",
            "condition[r][kind]": "all"}
    assert post(client, f"/admin/rules/{billing}/edit", edit).status_code == 404
    assert post(client, f"/admin/rules/{billing}/toggle", {"enabled": "0"}).status_code == 404
    assert post(client, f"/admin/rules/{billing}/rollback", {"revision": "1"}).status_code == 404
    assert post(client, f"/admin/rules/{billing}/delete").status_code == 404
    assert post(client, f"/admin/rules/{glob}/edit", {**edit, "department": ""}).status_code == 403
    assert post(client, f"/admin/rules/{glob}/toggle", {"enabled": "0"}).status_code == 403
    # Their own rule moved to another department, or a new rule there or for everyone: refused.
    response = post(client, f"/admin/rules/{org.support_rule.id}/edit", {**edit, "name": "VIP to senior"})
    assert response.status_code == 422 and "Not a valid choice." in page(response)
    for department in (str(org.billing.id), ""):
        response = post(client, "/admin/rules/new", {**edit, "name": "Sneaky", "department": department})
        assert response.status_code == 422
    db.session.expire_all()
    assert revision_count() == before and rule_count() == rules
    assert db.session.get(Rule, billing).name == "Invoices to billing team"
    assert db.session.get(Rule, org.support_rule.id).department_id == org.support.id


def test_supervisor_creates_a_rule_in_their_department(client, org):
    login(client, org.supervisor)
    response = post(client, "/admin/rules/new", {
        "name": "Refunds tagged", "department": str(org.support.id), "trigger": "customer_replied",
        "enabled": "y", "condition[r][kind]": "all", "condition[r.0][field]": "subject",
        "condition[r.0][op]": "contains", "condition[r.0][value]": "refund",
        "actions[0][type]": "add_tags", "actions[0][tags]": "refund"})
    assert response.status_code == 302
    rule = db.session.query(Rule).filter_by(name="Refunds tagged").one()
    assert (rule.department_id, rule.trigger, rule.created_by_id) == (org.support.id, "customer_replied",
                                                                      org.supervisor.id)


def test_admin_opens_everything(client, org):
    login(client, org.admin)
    for url in PAGES + [f"/admin/rules/{r.id}" for r in (org.support_rule, org.billing_rule, org.global_rule)]:
        assert client.get(url).status_code == 200, url
    html = page(client.get("/admin/rules"))
    assert "Invoices to billing team" in html and "Read only" not in html


def test_export_is_scoped(app, client, org):
    login(client, org.supervisor)
    names = [r["name"] for r in client.get("/admin/rules/export").get_json()["rules"]]
    assert names == ["VIP to senior"]
    admin = app.test_client()
    login(admin, org.admin)
    response = admin.get("/admin/rules/export")
    assert "attachment" in response.headers["Content-Disposition"]
    assert [r["name"] for r in response.get_json()["rules"]] == ["VIP to senior", "Invoices to billing team",
                                                                 "Tag phone tickets"]
    assert response.get_json()["rules"][0]["condition"] == VIP_CONDITION
