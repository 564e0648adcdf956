"""A supervisor adds an agent to their department; the agent signs in and works that department."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from desk import login

pytestmark = pytest.mark.browser


def test_supervisor_creates_an_agent_who_then_signs_in(page: Page, live_server, desk):
    login(page, live_server.url, desk.supervisor)
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Agents").first.click()
    page.get_by_role("link", name="New agent").click()

    # First a bad submit: errors on the fields, nothing created, what was typed kept.
    page.fill("#email", "new.agent@shop.example")
    page.fill("#name", "Nina New")
    page.fill("#password", "short")
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_text("Use 8 to 200 characters.")).to_be_visible()
    expect(page.get_by_text("Choose at least one department.")).to_be_visible()
    expect(page.locator("#name")).to_have_value("Nina New")

    page.fill("#password", "long-enough-1")
    page.get_by_label("Returns").check()
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("link", name="Nina New")).to_be_visible()

    # The new agent signs in and sees Returns tickets, and not Billing's.
    page.context.clear_cookies()
    login(page, live_server.url, "new.agent@shop.example", "long-enough-1")
    expect(page.locator(".ticket-row").first).to_be_visible()
    expect(page.locator("#ticket-rows")).not_to_contain_text("Billing")
