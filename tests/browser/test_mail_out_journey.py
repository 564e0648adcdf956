"""Email out in a real browser: an agent replies on an email ticket and watches its delivery state
become Sent, and the SMTP server (aiosmtpd on loopback, started here) got the mail; a refused
recipient shows Failed with the server's reason, and Retry sends it. Screenshots (en, zh; desktop
and phone) of a thread with a Sent and a Failed badge go to /tmp/shots/mailout/."""
from __future__ import annotations

import shutil
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from desk import LiveServer, login, make_live_app
from screens import device_pages, no_sideways_scroll
from smtp_sink import smtp_sink

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/mailout")
CUSTOMER = "chen.jing@customer.example"   # the journey ticket's contact (desk.py)


@pytest.fixture()
def smtp():
    with smtp_sink() as inbox:
        yield inbox


@pytest.fixture()
def mail_server(seeded_template, tmp_path, smtp):
    """The live desk with MAIL_SERVER pointing at the test's SMTP server (jobs run inline)."""
    shutil.copy(seeded_template[0], tmp_path / "e2e.db")
    app = make_live_app(str(tmp_path), MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, OUTBOUND_MAX_ATTEMPTS=1)
    server = LiveServer(app).start()
    yield server
    server.stop()


def reply(page: Page, text: str):
    page.locator("#composer-body").fill(text)
    page.locator("#composer [data-send]").click()
    article = page.locator("#thread-list article.thread-reply", has_text=text)
    expect(article).to_have_count(1)
    return article


def test_a_reply_is_emailed_and_its_state_shown(page: Page, mail_server, smtp, desk):
    base = mail_server.url
    login(page, base, desk.returns_agent)
    page.goto(f"{base}/tickets/{desk.journey}")
    sent = reply(page, "A replacement is on its way.")
    expect(sent.locator(".mail-delivery-state")).to_have_text("Sent")
    expect(sent.locator(".mail-delivery")).to_contain_text(CUSTOMER)
    (envelope,) = smtp.envelopes
    assert envelope.rcpt_tos == [CUSTOMER] and envelope.mail_from == "returns@shop.example"
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == f"Re: {desk.subjects[desk.journey]} [#{desk.journey}]"
    assert mail.get_body(("plain",)).get_content().strip() == "A replacement is on its way."

    # The customer's server refuses the next one: Failed, with its reason; Retry once it takes it.
    smtp.refuse.add(CUSTOMER)
    failed = reply(page, "Did the courier come?")
    expect(failed.locator(".mail-delivery-state")).to_have_text("Failed")
    expect(failed.locator(".mail-delivery-error")).to_contain_text("550 5.1.1 No such user here")
    smtp.refuse.clear()
    failed.get_by_role("button", name="Retry").click()
    expect(failed.locator(".mail-delivery-state")).to_have_text("Sent")
    expect(failed.get_by_role("button", name="Retry")).to_have_count(0)
    assert len(smtp.envelopes) == 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_screenshots_of_sent_and_failed_badges(browser, mail_server, smtp, desk, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = mail_server.url
    for device, page in device_pages(browser, lang):
        login(page, base, desk.returns_agent_zh if lang == "zh" else desk.returns_agent)
        page.goto(f"{base}/tickets/{desk.journey}")
        smtp.refuse.clear()
        sent = reply(page, f"好的，今天寄出 ({device})" if lang == "zh" else f"Shipped today ({device})")
        expect(sent.locator(".mail-delivery-sent")).to_be_visible()
        smtp.refuse.add(CUSTOMER)
        failed = reply(page, f"快递到了吗？({device})" if lang == "zh" else f"Did it arrive? ({device})")
        expect(failed.locator(".mail-delivery-failed")).to_be_visible()
        no_sideways_scroll(page, f"{lang}/{device}")
        failed.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"{lang}-{device}-thread-badges.png"), full_page=True)
        failed.screenshot(path=str(SHOTS / f"{lang}-{device}-failed-badge.png"))
