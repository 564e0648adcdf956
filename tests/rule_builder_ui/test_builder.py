"""The builder: its widgets' HTMX answers, saving through the service, errors on their rows."""
import re

import pytest
from sqlalchemy import select

from factories import login
from portal.extensions import db
from rule_builder.models import Rule

from .conftest import VIP_CONDITION, errors_in, form_inputs, page, post, revision_count, rule_count, with_values

pytestmark = pytest.mark.integration


def new_form(client) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form_inputs(page(client.get("/admin/rules/new")), "rule-form")]


def vip_inputs(org) -> dict:
    return {
        "name": "VIP refunds", "department": str(org.support.id), "trigger": "created",
        "condition[r][kind]": "all",
        "condition[r.0][field]": "contact.tier", "condition[r.0][op]": "eq", "condition[r.0][value]": "vip",
        "condition[r.1][kind]": "any",
        "condition[r.1.0][field]": "subject", "condition[r.1.0][op]": "contains_any",
        "condition[r.1.0][value]": ["退款"], "condition[r.1.0][kw]": "refund",
        "condition[r.1.1][field]": "body", "condition[r.1.1][op]": "contains_any",
        "condition[r.1.1][value]": ["退款", "refund"],
        "actions[0][type]": "set_field", "actions[0][field]": "priority", "actions[0][value]": "high",
        "actions[1][type]": "assign", "actions[1][assign_to]": "team", "actions[1][team]": str(org.senior.id),
    }


def test_new_rule_page(client, org):
    login(client, org.admin)
    html = page(client.get("/admin/rules/new"))
    assert 'name="condition[r][kind]"' in html and 'id="cond-condition"' in html
    assert "No conditions yet" in html and "No actions yet" in html
    assert "When a ticket is created, do nothing." in html
    assert '<option selected value="">All departments</option>' in html   # admins may make global rules


def test_add_rows_and_groups(client, org):
    login(client, org.admin)
    form = new_form(client)
    response = post(client, "/builder/conditions", with_values(form, {"_cond": "condition", "_cond_op": "add_row",
                                                                      "_cond_at": "r"}), htmx=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "builder-changed"
    html = page(response)
    assert html.lstrip().startswith('<div class="cond-editor" id="cond-condition"')
    assert 'name="condition[r.0][field]"' in html and "Choose a field…" in html
    form = with_values(form, dict(form_inputs(html)))
    response = post(client, "/builder/conditions", with_values(form.items(multi=True), {
        "_cond": "condition", "_cond_op": "add_group", "_cond_at": "r"}), htmx=True)
    html = page(response)
    assert 'name="condition[r.1][kind]"' in html and 'name="condition[r.1.0][field]"' in html
    assert '<option value="any" selected>' in html          # a group inside "all" starts as "any"
    # Remove the first row: the group moves up to r.0.
    form = form_inputs(html)
    response = post(client, "/builder/conditions", with_values(form, {"_cond": "condition", "_cond_op": "remove",
                                                                      "_cond_at": "r.0"}), htmx=True)
    html = page(response)
    assert 'name="condition[r.0][kind]"' in html and "condition[r.1]" not in html


def test_picking_a_field_swaps_operators_and_value_input(client, org):
    login(client, org.admin)
    base = {"_cond": "condition", "_cond_at": "r.0", "_cond_changed": "field", "condition[meta][context]": "event",
            "condition[meta][department]": str(org.support.id), "condition[r][kind]": "all",
            "condition[r.0][op]": "contains"}
    html = page(post(client, "/builder/conditions/row", {**base, "condition[r.0][field]": "priority"}, htmx=True))
    assert html.lstrip().startswith('<div class="cond-row"')
    assert '<option value="eq" selected>is</option>' in html and "is higher than" in html
    assert re.search(r'<select name="condition\[r.0\]\[value\]"[^>]*>.*<option value="high" >High</option>', html, re.S)
    assert "changed to" in html                                    # event context: change operators
    html = page(post(client, "/builder/conditions/row", {**base, "condition[r.0][field]": "team"}, htmx=True))
    assert ">Senior</option>" in html and ">Invoices</option>" not in html    # the department's teams
    html = page(post(client, "/builder/conditions/row", {**base, "condition[r.0][field]": "created_at"}, htmx=True))
    assert 'type="datetime-local"' in html
    # An operator change keeps the field and swaps the value input: contains_any takes keywords (chips).
    html = page(post(client, "/builder/conditions/row", {
        **base, "_cond_changed": "op", "_cond_widget": "text", "condition[r.0][field]": "subject",
        "condition[r.0][op]": "contains_any", "condition[r.0][value]": "refund"}, htmx=True))
    assert "data-chips" in html and 'type="hidden" name="condition[r.0][value]" value="refund"' in html
    # Time rules (query context) have no change operators.
    html = page(post(client, "/builder/conditions/row", {**base, "condition[meta][context]": "query",
                                                         "condition[r.0][field]": "priority"}, htmx=True))
    assert "changed to" not in html


def test_action_rows(client, org):
    login(client, org.admin)
    form = new_form(client)
    response = post(client, "/builder/actions", with_values(form, {
        "_act": "actions", "_act_op": "add", "_act_new": "send_email"}), htmx=True)
    html = page(response)
    assert 'name="actions[0][to]"' in html and 'name="actions[0][subject_zh]"' in html
    assert "{{ contact.name }}" in html                          # the placeholder help
    response = post(client, "/builder/actions/row", {
        "_act": "actions", "_act_at": "0", "_act_changed": "to", "actions[meta][department]": str(org.support.id),
        "actions[0][type]": "send_email", "actions[0][to]": "address"}, htmx=True)
    assert 'name="actions[0][address]"' in page(response)
    response = post(client, "/builder/actions/row", {
        "_act": "actions", "_act_at": "0", "_act_changed": "type", "actions[meta][department]": str(org.support.id),
        "actions[0][type]": "assign"}, htmx=True)
    html = page(response)
    assert ">Senior</option>" in html and ">Invoices</option>" not in html


def test_admin_builds_and_saves_the_vip_rule(client, org):
    login(client, org.admin)
    data = with_values(new_form(client), vip_inputs(org))
    summary = page(post(client, "/admin/rules/summary", data, htmx=True))
    assert ("When a ticket is created, if customer tier is VIP and (subject contains any of 退款, refund or "
            "request (first message) contains any of 退款, refund), then set priority to High and assign to team "
            "Senior.") in summary
    response = post(client, "/admin/rules/new", data, htmx=True)
    assert response.status_code == 200, errors_in(response)
    rule = db.session.scalar(select(Rule).filter_by(name="VIP refunds"))
    assert response.headers["HX-Redirect"].endswith(f"/admin/rules/{rule.id}")
    assert rule.condition == VIP_CONDITION
    assert rule.actions == [{"type": "set_field", "field": "priority", "value": "high"},
                            {"type": "assign", "team": org.senior.id}]
    assert (rule.department_id, rule.trigger, rule.enabled, rule.revision) == (org.support.id, "created", True, 1)


def test_edit_page_shows_the_stored_rule_and_saves_a_revision(client, org):
    login(client, org.supervisor)
    html = page(client.get(f"/admin/rules/{org.support_rule.id}/edit"))
    form = form_inputs(html, "rule-form")
    assert ("condition[r.1.0][value]", "退款") in form and ("condition[r.1.0][value]", "refund") in form
    assert ("actions[1][team]", str(org.senior.id)) in form
    response = post(client, f"/admin/rules/{org.support_rule.id}/edit", with_values(form, {"name": "VIP first"}))
    assert response.status_code == 302
    rule = db.session.get(Rule, org.support_rule.id)
    assert (rule.name, rule.revision, rule.condition) == ("VIP first", 2, VIP_CONDITION)


def test_errors_land_on_their_rows_and_nothing_is_saved(client, org):
    login(client, org.admin)
    before, revisions = rule_count(), revision_count()
    data = with_values(new_form(client), {
        **vip_inputs(org),
        "condition[r.1.1][op]": "regex", "condition[r.1.1][value]": "(unclosed",
        "condition[r.2][field]": "", "condition[r.2][op]": "",
        "actions[1][team]": str(org.invoices.id),                  # a Billing team on a Support rule
        "actions[2][type]": "webhook", "actions[2][url]": "http://127.0.0.1/hook",
    })
    response = post(client, "/admin/rules/new", data, htmx=True)
    assert response.status_code == 422
    html = page(response)
    assert html.lstrip().startswith('<form id="rule-form"')
    assert "Nothing was saved" in html
    rows = re.findall(r'<div class="cond-row has-error" data-node="(r[.\d]*)"', html)
    assert rows == ["r.1.1", "r.2"]
    actions = re.findall(r'<li class="action-row has-error" data-index="(\d+)"', html)
    assert actions == ["1", "2"]
    assert "not part of this rule's department" in html
    assert ('name="condition[r.1.0][value]" value="refund"' in html          # what was typed is kept
            and 'value="(unclosed"' in html)
    assert rule_count() == before and revision_count() == revisions


def test_missing_name_keeps_the_tree(client, org):
    login(client, org.admin)
    response = post(client, "/admin/rules/new", with_values(new_form(client), {**vip_inputs(org), "name": ""}))
    assert response.status_code == 422
    assert "This field is required." in errors_in(response)
    assert 'name="condition[r.1.1][field]"' in page(response)


def test_department_change_rerenders_the_builder(client, org):
    login(client, org.admin)
    data = with_values(new_form(client), {**vip_inputs(org), "department": str(org.billing.id)})
    html = page(post(client, "/admin/rules/builder", data, htmx=True))
    assert html.lstrip().startswith('<div id="rule-builder-body"')
    assert 'name="condition[meta][department]" value="%d"' % org.billing.id in html
    assert ">Invoices</option>" in html and 'name="condition[r.1.0][field]"' in html
    data = with_values(new_form(client), {**vip_inputs(org), "trigger": "time"})
    html = page(post(client, "/admin/rules/builder", data, htmx=True))
    assert 'name="condition[meta][context]" value="query"' in html
    assert "Stop processing rules" not in html                       # time rules can't stop


def test_the_widgets_serve_any_signed_in_agent_within_their_departments(app, client, org):
    """Saved views put the condition editor in front of agents: its endpoints answer them, with the
    choices of their own departments whatever department is posted."""
    anonymous = app.test_client()
    assert anonymous.post("/builder/conditions", data={}).status_code in (400, 403)   # no session: CSRF or guard
    login(client, org.agent)
    data = {"_cond": "condition", "_cond_at": "r.0", "_cond_changed": "field", "condition[meta][context]": "query",
            "condition[meta][department]": str(org.billing.id), "condition[r][kind]": "all",
            "condition[r.0][field]": "team", "condition[r.0][op]": ""}
    html = page(post(client, "/builder/conditions/row", data, htmx=True))
    assert "Senior</option>" in html and "Invoices</option>" not in html
    html = page(post(client, "/builder/conditions/row", {**data, "condition[r.0][field]": "assignee"}, htmx=True))
    assert ">Me</option>" in html and ">Bob Boss</option>" not in html
    response = post(client, "/builder/actions", {"_act": "actions", "_act_op": "add", "_act_new": "assign",
                                                 "actions[meta][department]": str(org.billing.id)}, htmx=True)
    assert response.status_code == 200 and "Invoices</option>" not in page(response)
