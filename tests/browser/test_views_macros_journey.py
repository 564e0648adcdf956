"""Saved views and macros in a real browser: an agent saves "VIP refunds" from the queue's filters,
sees its count in the sidebar, opens a ticket from it and applies a macro from the ticket page.

Each test gets its own copy of the seeded desk (conftest.py); this one adds a VIP customer and a
shared macro to its copy first.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from desk import login

pytestmark = pytest.mark.browser
MARK = "window.__deskwrightNoReload"


def prepare(app, desk) -> int:
    """Olga Novak becomes a VIP; a shared "VIP refund" macro (VIP tickets only). Returns her refund ticket."""
    from portal.extensions import db
    from portal.models import Contact, Ticket, User
    from rule_builder.macros import save_macro

    with app.app_context():
        olga = db.session.scalar(db.select(Contact).filter_by(name="Olga Novak"))
        olga.tier = "vip"
        sam = db.session.scalar(db.select(User).filter_by(email=desk.supervisor))
        save_macro(None, {"name": "VIP refund", "shared": True,
                          "condition": {"all": [{"field": "contact.tier", "op": "eq", "value": "vip"}]},
                          "actions": [{"type": "set_field", "field": "priority", "value": "urgent"},
                                      {"type": "add_tags", "tags": ["vip-refund"]},
                                      {"type": "add_note", "body": "Refund approved for a VIP customer."}]}, sam)
        save_macro(None, {"name": "Not for this one", "shared": True,
                          "condition": {"all": [{"field": "channel", "op": "eq", "value": "wechat"}]},
                          "actions": [{"type": "add_tags", "tags": ["never"]}]}, sam)
        ticket = db.session.scalar(db.select(Ticket).filter_by(subject="Refund not received after 14 days"))
        db.session.commit()
        return ticket.id


def test_save_a_view_then_apply_a_macro(page: Page, live_app, live_server, desk):
    number = prepare(live_app, desk)
    base = live_server.url
    login(page, base, desk.returns_agent)
    rows = page.locator("#ticket-rows tr.ticket-row")

    # Filters: high priority, tagged "refund" -> one ticket.
    page.locator("#queue-filters select[name=priority]").select_option("high")
    page.locator("#queue-filters input[name=tag]").fill("refund")
    page.locator("#queue-filters input[name=tag]").press("Enter")
    expect(rows).to_have_count(1)

    # Save them as a view: the first try without a name is refused on the field.
    page.get_by_text("Save as view").click()
    form = page.locator("#save-view-form")
    form.get_by_role("button", name="Save view").click()
    expect(page.locator("#save-view-form .error")).to_have_text("Give the view a name.")
    page.locator("#save-view-form input[name=name]").fill("VIP refunds")
    page.locator("#save-view-form").get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"/tickets\?saved=\d+$"))
    expect(page.locator(".queue-title")).to_contain_text("VIP refunds")
    link = page.locator(".saved-view-link", has_text="VIP refunds")
    expect(link).to_have_class(re.compile(r"\bactive\b"))
    expect(link.locator(".count")).to_have_text("1")
    expect(rows).to_have_count(1)

    # Its conditions open in the condition editor.
    page.get_by_role("link", name="Edit conditions").click()
    expect(page.locator("#view-name")).to_have_value("VIP refunds")
    expect(page.locator("[data-cond-editor]")).to_be_visible()
    page.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"/tickets\?saved=\d+$"))

    # Open the ticket from the view; apply the macro from its menu (no page reload).
    page.locator(f'tr.ticket-row[data-href="/tickets/{number}"] a.subject').click()
    expect(page.locator(".ticket-head h1")).to_contain_text("Refund not received")
    page.evaluate(f"{MARK} = 'same page'")
    page.get_by_text("Apply macro").click()
    menu = page.locator("#macro-menu")
    expect(menu.get_by_role("menuitem", name=re.compile("VIP refund"))).to_be_visible()
    expect(menu).not_to_contain_text("Not for this one")
    menu.get_by_role("menuitem", name=re.compile("VIP refund")).click()
    expect(page.locator("#toast")).to_have_text("Applied “VIP refund”.")
    expect(page.locator("#field-priority")).to_have_value("urgent")
    expect(page.locator("#tags .tag", has_text="vip-refund")).to_be_visible()
    expect(page.locator("#thread-list .thread-note")).to_contain_text("Refund approved for a VIP customer.")
    assert page.evaluate(MARK) == "same page"

    # The History shows the change, made by the agent.
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history .history-item").first).to_contain_text("Rita Ramos")
    expect(page.locator("#history")).to_contain_text("High → Urgent")

    # Back in the queue the view's count follows (the ticket is urgent now, no longer high).
    page.goto(base + "/tickets")
    expect(page.locator(".saved-view-link", has_text="VIP refunds").locator(".count")).to_have_text("0")
