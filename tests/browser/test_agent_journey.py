"""The agent's day in a real browser: queue filters, keyboard, replies with files, inline edits, scoping.

Each test gets its own copy of the seeded desk (see conftest.py) and its own live server.
No sleeps: every wait is a Playwright `expect` (auto-retrying) or an explicit navigation wait.
"""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from desk import login

pytestmark = pytest.mark.browser

ZH_CATALOG = Path(__file__).resolve().parents[2] / "portal/translations/zh_Hans/LC_MESSAGES/messages.mo"
CJK = re.compile(r"[\u4e00-\u9fff]")
MARK = "window.__deskwrightNoReload"   # set before an htmx action; a full page load would lose it


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built here so the test needs no fixture files."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00")) + chunk(b"IEND", b""))


def set_marker(page: Page) -> None:
    page.evaluate(f"{MARK} = 'same page'")


def assert_no_reload(page: Page) -> None:
    assert page.evaluate(MARK) == "same page", "the page was reloaded instead of swapped by htmx"


def open_ticket(page: Page, base: str, number: int) -> None:
    page.goto(f"{base}/tickets/{number}")
    expect(page.locator("#composer")).to_be_visible()


def threads(page: Page):
    return page.locator("#thread-list article.thread")


# --------------------------------------------------------------------------------------------
def test_agent_journey(page: Page, live_server, desk, browser):
    """The issue's journey, end to end, as the Returns agent; then the Billing agent is kept out."""
    base = live_server.url
    journey_subject = desk.subjects[desk.journey]

    # Sign in: lands on the queue ("All open"), every open Returns ticket, no Billing ticket.
    login(page, base, desk.returns_agent)
    expect(page).to_have_url(re.compile(r"/tickets(\?|$)"))
    rows = page.locator("#ticket-rows tr.ticket-row")
    expect(rows).to_have_count(len(desk.returns_open))
    expect(page.locator("#queue-results")).not_to_contain_text(desk.subjects[desk.billing])

    # Filter priority=high with the select: rows are swapped in place and the URL is pushed.
    set_marker(page)
    page.locator("#queue-filters select[name=priority]").select_option("high")
    expect(rows).to_have_count(len(desk.high))
    for number in desk.high:
        expect(page.locator(f'tr.ticket-row[data-href="/tickets/{number}"]')).to_be_visible()
    expect(rows.locator(".prio")).to_have_text(["High"] * len(desk.high))
    expect(page).to_have_url(re.compile(r"[?&]priority=high(&|$)"))
    assert_no_reload(page)

    # Keyboard: j/k move the selection, Enter opens the selected ticket.
    page.keyboard.press("Escape")   # leave the select, so keys go to the queue
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    expect(rows.nth(0)).not_to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    target = rows.nth(0).get_attribute("data-href")
    page.keyboard.press("Enter")
    page.wait_for_url(base + target)
    assert int(target.rsplit("/", 1)[1]) in desk.high
    expect(page.locator(".ticket-head h1")).to_contain_text(desk.subjects[int(target.rsplit("/", 1)[1])])

    # Back: the pushed URL reproduces the filtered queue (bookmarkable); clear the filter again.
    page.go_back()
    expect(page.locator("#queue-filters select[name=priority]")).to_have_value("high")
    expect(rows).to_have_count(len(desk.high))
    page.locator("#queue-filters select[name=priority]").select_option("")
    expect(rows).to_have_count(len(desk.returns_open))

    # Click a row (not its link: the row itself is the target) to open the journey ticket.
    page.locator(f'tr.ticket-row[data-href="/tickets/{desk.journey}"] td.col-time').click()
    page.wait_for_url(f"{base}/tickets/{desk.journey}")
    expect(page.locator(".ticket-head h1")).to_contain_text(journey_subject)
    expect(threads(page)).to_have_count(1)

    # Reply with two attachments; the reply appears in the conversation without a reload.
    set_marker(page)
    reply_text = "We are sending a replacement today. The return label is attached."
    label = b"Return label RMA-2291\nDrop off at any post office.\n"
    page.locator("#composer-body").fill(reply_text)
    page.locator("#composer [data-file-input]").set_input_files([
        {"name": "return-label.txt", "mimeType": "text/plain", "buffer": label},
        {"name": "photo.png", "mimeType": "image/png", "buffer": tiny_png()},
    ])
    expect(page.locator("#composer [data-file-names]")).to_have_text("return-label.txt, photo.png")
    page.locator("#composer [data-send]").click()
    expect(threads(page)).to_have_count(2)
    reply = threads(page).nth(1)
    expect(reply).to_have_class(re.compile(r"\bthread-reply\b"))
    expect(reply.locator(".thread-body")).to_contain_text(reply_text)
    expect(page.locator("#composer-body")).to_have_value("")          # a fresh composer
    expect(page.locator("#composer .error:visible")).to_have_count(0)
    # Replying to a new ticket opens it; the header and the properties panel follow (out of band).
    expect(page.locator("#ticket-meta .badge")).to_have_text("Open")
    expect(page.locator("#field-status")).to_have_value("open")
    assert_no_reload(page)

    # The attachments download: the text file as a download with the same bytes, the PNG inline.
    txt_link = reply.locator(".attachments a", has_text="return-label.txt")
    png_link = reply.locator(".attachments a", has_text="photo.png")
    expect(txt_link).to_be_visible()
    expect(png_link).to_be_visible()
    with page.expect_download() as download:
        txt_link.click()
    assert download.value.suggested_filename == "return-label.txt"
    assert Path(download.value.path()).read_bytes() == label
    txt_response = page.request.get(base + txt_link.get_attribute("href"))
    assert txt_response.status == 200
    assert txt_response.body() == label
    png_response = page.request.get(base + png_link.get_attribute("href"))
    assert png_response.status == 200
    assert png_response.headers["content-type"] == "image/png"
    assert png_response.body() == tiny_png()

    # Inline edit: priority normal -> high saves at once (the version moved on with the reply).
    expect(page.locator("#field-priority")).to_have_value("normal")
    page.locator("#field-priority").select_option("high")
    expect(page.locator("#prop-priority .saved-mark")).to_contain_text("Saved")
    expect(page.locator("#prop-priority .conflict")).to_have_count(0)
    expect(page.locator("#ticket-meta .prio")).to_have_text("High")
    assert_no_reload(page)

    # History tab: the priority change, normal -> high, by the agent.
    page.get_by_role("tab", name="History").click()
    change = page.locator("#history .history-item").filter(
        has=page.locator(".hist-field", has_text="Priority")).filter(has=page.locator(".old"))
    expect(change).to_have_count(1)
    expect(change.locator("strong")).to_have_text("Rita Ramos")
    expect(change.locator(".old")).to_have_text("Normal")    # labels, as in the rest of the page
    expect(change.locator(".new")).to_have_text("High")
    expect(page.get_by_role("tab", name="History")).to_have_attribute("aria-selected", "true")
    # ...and back to the conversation, which still has the reply.
    page.get_by_role("tab", name="Conversation").click()
    expect(threads(page)).to_have_count(2)

    # The Billing agent gets the plain 404 page for the Returns ticket (and its attachment):
    # no subject, no customer, nothing that says the ticket exists.
    attachment_href = txt_link.get_attribute("href")
    context = browser.new_context()
    try:
        other = context.new_page()
        login(other, base, desk.billing_agent)
        response = other.goto(f"{base}/tickets/{desk.journey}")
        assert response.status == 404
        expect(other.locator("main h1")).to_have_text("Not found")
        html = other.content()
        assert journey_subject not in html
        assert "Chen Jing" not in html
        assert other.request.get(base + attachment_href).status == 404
        # Same answer as a ticket that doesn't exist at all.
        assert other.goto(f"{base}/tickets/99999").status == 404
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
def test_empty_reply_shows_error_in_composer_and_keeps_choices(agent_page: Page, live_server, desk):
    page = agent_page
    open_ticket(page, live_server.url, desk.journey)
    set_marker(page)
    page.locator("#composer select[name=status]").select_option("pending")
    page.locator("#composer-body").fill("   ")
    page.locator("#composer [data-send]").click()

    error = page.locator("#composer p.error", has_text="The message is empty.")
    expect(error).to_be_visible()
    expect(page.locator("#composer-body")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#composer select[name=status]")).to_have_value("pending")   # the choice is kept
    expect(page.locator("#composer [data-kind-reply]")).to_be_checked()
    expect(threads(page)).to_have_count(1)
    expect(page.locator("#field-status")).to_have_value("new")
    assert_no_reload(page)

    # Fix it and send: the error goes, the reply is added and the status change applies.
    page.locator("#composer-body").fill("We need a photo of the damage, please.")
    page.locator("#composer [data-send]").click()
    expect(threads(page)).to_have_count(2)
    expect(page.locator("#composer p.error:visible")).to_have_count(0)
    expect(page.locator("#field-status")).to_have_value("pending")
    expect(page.locator("#ticket-meta .badge")).to_have_text("Pending")


def test_oversized_attachment_is_refused_in_the_browser_and_text_kept(agent_page: Page, live_server, desk):
    page = agent_page
    open_ticket(page, live_server.url, desk.journey)
    replies = []
    page.on("request", lambda r: replies.append(r.url) if r.method == "POST" and r.url.endswith("/reply") else None)
    text = "Here is the scan of the receipt you asked for."
    page.locator("#composer-body").fill(text)
    page.locator("#composer [data-file-input]").set_input_files(
        {"name": "receipt-scan.txt", "mimeType": "text/plain", "buffer": b"x" * 30_000})

    error = page.locator("#composer [data-client-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("receipt-scan.txt")
    expect(error).to_contain_text("20 KB")        # the limit, in a unit that makes sense (not "0 MB")
    page.locator("#composer [data-send]").click()
    expect(error).to_be_visible()
    expect(page.locator("#composer-body")).to_have_value(text)
    page.evaluate("() => new Promise(requestAnimationFrame)")   # let any (wrong) request start
    assert replies == [], "an oversized upload must not be sent"
    expect(threads(page)).to_have_count(1)

    # Dropping the file clears the error, and the text goes out.
    page.locator("#composer [data-file-input]").set_input_files([])
    expect(error).to_be_hidden()
    page.locator("#composer [data-send]").click()
    expect(threads(page)).to_have_count(2)
    expect(threads(page).nth(1)).to_contain_text(text)


def test_oversized_attachment_refused_by_server_keeps_text(agent_page: Page, live_server, desk):
    """If the browser check is bypassed (old script, limit lowered meanwhile), the server says so."""
    page = agent_page
    open_ticket(page, live_server.url, desk.journey)
    set_marker(page)
    page.evaluate("document.querySelector('#composer').dataset.maxUpload = '0'")   # no browser check
    text = "Scan attached, sorry it is large."
    page.locator("#composer-body").fill(text)
    page.locator("#composer [data-file-input]").set_input_files(
        {"name": "receipt-scan.txt", "mimeType": "text/plain", "buffer": b"x" * 30_000})
    expect(page.locator("#composer [data-client-error]")).to_be_hidden()
    page.locator("#composer [data-send]").click()

    error = page.locator("#composer [data-upload-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("receipt-scan.txt")
    expect(page.locator("#composer-body")).to_have_value(text)
    expect(threads(page)).to_have_count(1)
    assert_no_reload(page)


def test_stale_inline_edit_shows_who_changed_it_meanwhile(agent_page: Page, live_server, live_app, desk):
    page = agent_page
    open_ticket(page, live_server.url, desk.journey)
    expect(page.locator("#field-priority")).to_have_value("normal")

    # A supervisor changes the status while the page is open.
    from portal.extensions import db
    from portal.models import Ticket, User
    from portal.services.tickets import update_ticket
    with live_app.app_context():
        supervisor = db.session.scalar(db.select(User).filter_by(email=desk.supervisor))
        update_ticket(db.session.get(Ticket, desk.journey), {"status": "pending"}, by=supervisor)
        db.session.commit()

    page.locator("#field-priority").select_option("high")
    conflict = page.locator("#prop-priority .conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("changed this ticket meanwhile")
    expect(conflict.locator("li")).to_have_text(["Sam Supervisor: Status New → Pending"])
    expect(page.locator("#prop-priority .saved-mark")).to_have_count(0)
    expect(page.locator("#field-priority")).to_have_value("normal")   # nothing was saved
    # "The current values are shown": the status the supervisor set, not the stale one.
    expect(page.locator("#field-status")).to_have_value("pending")
    expect(page.locator("#ticket-meta .badge")).to_have_text("Pending")

    # Choosing again applies the change on top of theirs (once htmx has wired the swapped-in form).
    expect(page.locator("[data-htmx-ready] #prop-priority, #prop-priority[data-htmx-ready]")).to_have_count(1)
    page.locator("#field-priority").select_option("high")
    expect(page.locator("#prop-priority .saved-mark")).to_contain_text("Saved")
    expect(page.locator("#prop-priority .conflict")).to_have_count(0)
    with live_app.app_context():
        ticket = db.session.get(Ticket, desk.journey)
        assert (ticket.status, ticket.priority_key) == ("pending", "high")


def test_help_overlay_opens_with_question_mark(agent_page: Page, live_server, desk):
    page = agent_page
    overlay = page.locator("#help-overlay")
    expect(overlay).to_be_hidden()
    page.keyboard.press("?")
    expect(overlay).to_be_visible()
    expect(overlay.get_by_role("heading")).to_have_text("Keyboard shortcuts")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    # Typing "?" in a text box types it; it doesn't open the help.
    search = page.locator(".topsearch input[type=search]")
    search.press("?")
    expect(search).to_have_value("?")
    expect(overlay).to_be_hidden()
    # The topbar button opens it too, and Close closes it.
    page.locator("[data-help-open]").click()
    expect(overlay).to_be_visible()
    overlay.locator("[data-help-close]").click()
    expect(overlay).to_be_hidden()
    # "/" searches: the queue's filter box there, the top bar's search box on a ticket page.
    page.keyboard.press("/")
    expect(page.locator("#queue-filters .filter-search")).to_be_focused()
    open_ticket(page, live_server.url, desk.journey)
    page.keyboard.press("/")
    expect(page.locator(".topsearch input[type=search]")).to_be_focused()


def test_language_switch_on_login_page_sets_the_locale(page: Page, live_server, desk):
    """Works without the zh catalog: the page language and admin-entered Chinese names switch."""
    page.goto(live_server.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    # A signed-in user's own setting wins; this one works in Chinese.
    login(page, live_server.url, desk.returns_agent_zh)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#queue-filters select[name=department] option", has_text="退换货")).to_have_count(1)


@pytest.mark.skipif(not ZH_CATALOG.exists(), reason="the zh_Hans catalog isn't compiled (make translations)")
def test_chinese_ui(page: Page, live_server, desk):
    page.goto(live_server.url + "/login")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("form[novalidate]")).to_contain_text(CJK)          # labels and button translated
    login(page, live_server.url, desk.returns_agent_zh)
    expect(page.locator(".topnav")).to_contain_text(CJK)
    expect(page.locator("#view-nav")).to_contain_text(CJK)
