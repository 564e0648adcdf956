"""Journeys: a phone call logged as a new ticket, the caller found among the contacts with the call
in their timeline, a duplicate contact merged so their tickets are together; and every contact and
phone screen at desktop and phone width, in English and Chinese.

Screenshots go to $CONTACTS_SHOTS_DIR (default /tmp/shots/contacts): <lang>-<device>-<nn>-<screen>.png.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from screens import Shooter, device_pages
from desk import login

SHOTS = Path(os.environ.get("CONTACTS_SHOTS_DIR", "/tmp/shots/contacts"))


def _log_inbound_call_as_new_ticket(page: Page, base: str, name: str = "Chen (mobile)",
                                    number: str = "138 0013 8000") -> None:
    page.goto(base + "/tickets/new")
    page.check("#is_call")
    page.locator("input[name=call_direction][value=inbound]").check()
    page.fill("#call-number", number)
    page.fill("#call-duration", "4:30")
    page.fill("#contact_name", name)
    page.fill("#subject", "Kettle sparks when switched on")
    page.fill("#body", "Called from her mobile: the kettle sparks. Wants a replacement.")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(lambda url: "/tickets/new" not in url)


def test_call_then_contact_then_merge(page: Page, live_server, desk):
    base = live_server.url
    login(page, base, desk.supervisor)   # works in Returns and Billing: may merge Chen's tickets
    _log_inbound_call_as_new_ticket(page, base)
    call = page.locator(".thread .call-facts").first
    expect(call).to_contain_text("Inbound call")
    expect(call).to_contain_text("+86 138 0013 8000")
    expect(call).to_contain_text("4:30")
    number = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # Log a follow-up (outbound) call on the same ticket, with a mistake first.
    page.locator("#call-composer summary").click()
    expect(page.locator("#call-number")).to_have_value("+86 138 0013 8000")   # prefilled from the contact
    page.locator("#call-composer input[name=call_direction][value=outbound]").check()
    page.fill("#call-duration", "4:99")
    page.fill("#call-notes", "Told her a new kettle ships Monday.")
    page.locator("#call-composer button[type=submit]").click()
    expect(page.locator("#call-composer .error")).to_contain_text("mm:ss")
    page.fill("#call-duration", "2")
    page.locator("#call-composer button[type=submit]").click()
    expect(page.locator("#thread-list")).to_contain_text("Told her a new kettle ships Monday.")
    expect(page.locator("#thread-list .call-facts").last).to_contain_text("Outbound call")

    # Find the caller among the contacts by their number, and see the call in their timeline.
    page.locator(".topnav a", has_text="Contacts").click()
    page.fill(".contact-search input[name=q]", "13800138000")
    expect(page.locator("#contact-results")).to_contain_text("Chen (mobile)")
    page.locator("#contact-results a", has_text="Chen (mobile)").click()
    duplicate_url = page.url
    expect(page.locator(".contact-timeline")).to_contain_text("Wants a replacement")
    expect(page.locator(".contact-timeline .call-facts").first).to_contain_text("Outbound call")

    # She is Chen Jing: merge the phone-only contact into her.
    page.goto(base + "/contacts?q=chen.jing")
    page.locator("#contact-results a", has_text="Chen Jing").click()
    expect(page.locator(".contact-tickets tbody tr")).to_have_count(4)
    page.fill("#merge-search", "mobile")
    page.locator(".merge-candidates button", has_text="Chen (mobile)").click()
    expect(page.locator(".merge-preview")).to_contain_text("1 ticket moves to Chen Jing")
    expect(page.locator(".merge-preview")).to_contain_text("+86 138 0013 8000")
    page.locator(".merge-preview button", has_text="Merge").click()
    expect(page.locator(".flash")).to_contain_text("was merged into Chen Jing")
    expect(page.locator(".contact-tickets tbody tr")).to_have_count(5)
    expect(page.locator(".contact-tickets")).to_contain_text("Kettle sparks")
    expect(page.locator(".contact-identities")).to_contain_text("+86 138 0013 8000")
    expect(page.locator(".contact-timeline")).to_contain_text("Told her a new kettle ships Monday.")
    survivor = page.url

    # The duplicate's old link leads to Chen Jing; the ticket's customer card links to her.
    page.goto(duplicate_url)
    assert page.url == survivor
    page.goto(f"{base}/tickets/{number}")
    page.locator(".customer-name a").click()
    assert page.url == survivor



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_contact_and_phone_screen(browser, live_server, desk, lang):
    base = live_server.url
    for device, page in device_pages(browser, lang):
        login(page, base, desk.returns_agent_zh if lang == "zh" else desk.returns_agent)
        shot = Shooter(page, SHOTS, lang, device)

        page.goto(base + "/tickets/new")
        page.check("#is_call")
        page.fill("#call-number", "12")
        page.fill("#call-duration", "later")
        page.locator("form.card button[type=submit]").click()
        expect(page.locator(".call-fields .error").first).to_be_visible()
        shot("new-call-errors")
        number = "138 0013 8000" if device == "desktop" else "139 0013 9000"
        _log_inbound_call_as_new_ticket(page, base, name=f"Caller {device}", number=number)
        page.locator("#call-composer summary").click()
        page.fill("#call-duration", "x")
        page.locator("#call-composer button[type=submit]").click()
        expect(page.locator("#call-composer .error").first).to_be_visible()
        shot("ticket-call-errors")
        page.locator("#call-composer input[name=call_direction][value=outbound]").check()
        page.fill("#call-duration", "1:15")
        page.fill("#call-notes", "Called back: a courier collects it tomorrow.")
        page.locator("#call-composer button[type=submit]").click()
        expect(page.locator("#thread-list .call-facts").last).to_contain_text("1:15")
        shot("ticket-call-logged")
        page.goto(base + "/contacts")
        shot("contacts")
        page.goto(base + "/contacts?q=nobody-like-this")
        shot("contacts-none")
        page.goto(base + "/contacts?q=olga")
        page.locator("#contact-results a").first.click()
        page.locator("#contact-identities .identity-add input[name=value]").fill("chen.jing@customer.example")
        page.locator("#contact-identities .identity-add button").click()
        expect(page.locator("#contact-identities .error")).to_be_visible()
        page.fill("#contact-timezone", "Mars/Base")
        page.locator("#contact-timezone").press("Tab")
        expect(page.locator("#contact-details .error")).to_be_visible()
        page.fill("#merge-search", "chen")
        page.locator(".merge-candidates button").first.click()
        expect(page.locator(".merge-preview")).to_be_visible()
        shot("contact-errors-merge")
        page.goto(base + "/contacts?q=" + number.replace(" ", ""))
        page.locator("#contact-results a").first.click()
        shot("contact-caller")
        page.goto(base + "/contacts?q=olga")
        page.locator("#contact-results a").first.click()
        page.fill("#merge-search", f"Caller {device}")
        page.locator(".merge-candidates button").first.click()
        page.locator(".merge-preview button.btn-danger").click()
        expect(page.locator(".flash")).to_be_visible()
        expect(page.locator(".contact-tickets")).to_contain_text("Kettle sparks")
        shot("contact-merged")
