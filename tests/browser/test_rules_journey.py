"""An admin builds "VIP to senior" by clicking; an agent's new ticket for a VIP is routed by it.

The live server runs the queue in "sync" mode (desk.make_live_app): the rule engine runs right
after the ticket is committed, before the agent's browser follows the redirect to the ticket.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from desk import PASSWORD, login

pytestmark = pytest.mark.browser

ADMIN = "ada@desk.example"
VIP_EMAIL = "chen.jing@customer.example"


@pytest.fixture()
def vip_desk(live_app):
    """The seeded desk plus an admin, a Senior team in Returns and Chen Jing as a VIP customer."""
    from portal.extensions import db
    from portal.models import ContactIdentity, Department, Team
    from portal.services.accounts import create_user

    with live_app.app_context():
        returns = db.session.scalar(db.select(Department).filter_by(name="Returns"))
        db.session.add(Team(name="Senior", name_zh="资深", department_id=returns.id))
        create_user(email=ADMIN, password=PASSWORD, name="Ada Admin", role="admin", departments=[returns])
        identity = db.session.scalar(db.select(ContactIdentity).filter_by(value=VIP_EMAIL))
        identity.contact.tier = "vip"
        db.session.commit()
        db.engine.dispose()
    return live_app


# htmx wires a swapped-in fragment a moment after inserting it; app.js marks it data-htmx-ready then.
def new_row(page: Page, node: str):
    """A condition row that just came back from the server (alone, or in a re-rendered editor), ready."""
    return page.locator(f'#cond-condition[data-htmx-ready] .cond-row[data-node="{node}"], '
                        f'.cond-row[data-htmx-ready][data-node="{node}"]')


def add_condition(page: Page, group: str, node: str, what: str = "data-cond-add") -> None:
    page.locator(f'fieldset[data-node="{group}"] > .cond-add [{what}]').click()
    expect(new_row(page, node)).to_be_visible()


def pick_field(page: Page, node: str, label: str) -> None:
    """Choose a condition row's field; the row comes back with that field's operators and value input."""
    page.locator(f'.cond-row[data-node="{node}"] select.cond-field').select_option(label=label)
    expect(page.locator(f'.cond-row[data-htmx-ready][data-node="{node}"] select.cond-op')).to_be_visible()


def add_keywords(page: Page, node: str, *words: str) -> None:
    row = page.locator(f'.cond-row[data-node="{node}"]')
    row.locator("select.cond-op").select_option(label="contains any of")
    box = page.locator(f'.cond-row[data-htmx-ready][data-node="{node}"] [data-chip-input]')
    expect(box).to_be_visible()
    for word in words:
        box.fill(word)
        box.press("Enter")
    expect(page.locator(f'.cond-row[data-node="{node}"] .chip')).to_have_count(len(words))


def add_action(page: Page, label: str) -> None:
    count = page.locator(".action-row").count()
    page.locator("[data-action-add]").select_option(label=label)
    expect(page.locator("#actions-actions[data-htmx-ready] .action-row")).to_have_count(count + 1)


def test_admin_builds_vip_rule_and_it_routes_a_new_ticket(page: Page, live_server, vip_desk, desk):
    login(page, live_server.url, ADMIN)
    page.get_by_role("link", name="Admin").click()
    page.locator(".admin-tabs").get_by_role("link", name="Rules").click()
    expect(page.get_by_role("heading", name="No rules yet")).to_be_visible()
    page.get_by_role("link", name="Create your first rule").click()
    page.wait_for_url(re.compile(r"/admin/rules/new$"))   # and its load event: htmx is listening

    page.fill("#name", "VIP to senior")
    page.select_option("#department", label="Returns")   # the builder comes back with Returns' choices
    expect(page.locator('#rule-builder-body[data-htmx-ready] input[name="condition[meta][department]"]')
           ).to_have_value(re.compile(r"\d+"))

    # If: customer tier is VIP ...
    add_condition(page, "r", "r.0")
    pick_field(page, "r.0", "Customer tier")
    page.locator('.cond-row[data-node="r.0"] select[name="condition[r.0][value]"]').select_option(label="VIP")
    # ... and (subject contains any of 退款, refund or body contains any of 退款, refund)
    add_condition(page, "r", "r.1.0", "data-cond-add-group")
    expect(page.locator('fieldset[data-node="r.1"] select.cond-kind')).to_have_value("any")
    pick_field(page, "r.1.0", "Subject")
    add_keywords(page, "r.1.0", "退款", "refund")
    add_condition(page, "r.1", "r.1.1")
    pick_field(page, "r.1.1", "Request (first message)")
    add_keywords(page, "r.1.1", "退款", "refund")
    expect(page.locator('.cond-row[data-node="r.1.0"] .chip')).to_have_count(2)   # the first row kept its chips

    # Then: set priority to High, assign to team Senior.
    add_action(page, "Set a field")
    page.locator('select[name="actions[0][field]"]').select_option(label="Priority")
    page.locator('.action-row[data-htmx-ready] select[name="actions[0][value]"]').select_option(label="High")
    add_action(page, "Assign")
    page.locator('select[name="actions[1][team]"]').select_option(label="Senior")

    expect(page.locator("#rule-summary")).to_contain_text(
        "When a ticket is created, if customer tier is VIP and (subject contains any of 退款, refund or request "
        "(first message) contains any of 退款, refund), then set priority to High and assign to team Senior.")
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_role("heading", name=re.compile("VIP to senior"))).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("Rule “VIP to senior” created.")
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")

    # The agent opens a ticket for the VIP customer with 退款 in the subject.
    page.context.clear_cookies()
    login(page, live_server.url, desk.returns_agent)
    page.goto(live_server.url + "/tickets/new")
    page.fill("#contact_email", VIP_EMAIL)
    page.fill("#subject", "订单 2291 退款")
    page.fill("#body", "The parcel never arrived, please refund.")
    page.select_option("#department", label="Returns")
    page.get_by_role("button", name="Create ticket").click()
    page.wait_for_url(re.compile(r"/tickets/\d+$"))

    expect(page.locator("#field-priority")).to_have_value("high")
    expect(page.locator("#field-team option:checked")).to_have_text("Senior")
    page.locator(".tab[data-tab=history]").click()
    expect(page.locator("#history")).to_contain_text("rule 'VIP to senior' r1")
    by_rule = page.locator("#history .history-item", has_text="rule 'VIP to senior' r1")
    expect(by_rule.filter(has_text="Priority")).to_contain_text("Normal → High")
    expect(by_rule.filter(has_text="Team")).to_contain_text("Senior")
