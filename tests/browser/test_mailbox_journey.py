"""An admin adds a mailbox that the desk polls over IMAP (a real Dovecot on loopback): a wrong password
first ("Test connection" says so), then the right one, saves it, polls it and finds the customer's
mail as a ticket. Then the mailbox screens at desktop and phone width, in English and Chinese.

Screenshots go to $IMAP_SHOTS_DIR (default /tmp/shots/imap): <lang>-<device>-<nn>-<screen>.png.
"""
from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from desk import ADMIN, ADMIN_ZH, login
from mail_imap import dovecot
from screens import Shooter, device_pages

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("IMAP_SHOTS_DIR", "/tmp/shots/imap"))


@pytest.fixture(scope="module")
def imapd():
    with dovecot.running_or_skip() as server:
        yield server



def customer_mail(subject: str, sender: str = "Olga Ode <olga@customer.example>") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "help@shop.example", subject
    msg["Message-ID"] = f"<{abs(hash(subject))}@customer.example>"
    msg.set_content("The kettle leaks from the bottom.")
    return msg.as_bytes()


def test_admin_adds_a_mailbox_tests_it_polls_it_and_finds_the_ticket(page: Page, live_server, admin_desk, imapd):
    user = imapd.new_user()
    imapd.append(user, customer_mail("Kettle leaking"))
    login(page, live_server.url, ADMIN)
    page.goto(live_server.url + "/admin/")
    page.get_by_role("link", name="Inbound mail").click()
    page.get_by_role("link", name="Mailboxes").click()
    page.get_by_role("link", name="Add the first mailbox").click()

    page.fill("#address", "help@shop.example")
    page.fill("#name", "Shop Help")
    page.select_option("#department_id", label="Returns")
    page.fill("#imap_host", dovecot.Dovecot.host)
    page.fill("#imap_port", str(imapd.port))
    page.select_option("#imap_security", "none")
    page.fill("#imap_username", user)
    page.fill("#imap_password", "not-the-password")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#imap-test-result")).to_contain_text(f"Login failed for {user}")

    page.fill("#imap_password", dovecot.PASSWORD)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#imap-test-result")).to_contain_text("Connected. INBOX has 1 message.")
    page.get_by_role("button", name="Create mailbox").click()
    expect(page.locator(".flash-success")).to_contain_text("Mailbox help@shop.example created.")
    row = page.locator("tr", has_text="help@shop.example")
    expect(row).to_contain_text("Not polled yet")

    row.get_by_role("button", name="Poll now").click()
    expect(page.locator(".flash-success")).to_contain_text("help@shop.example: 1 new message.")
    expect(page.locator("tr", has_text="help@shop.example")).to_contain_text("OK")

    page.get_by_role("link", name="Messages").click()
    page.get_by_role("link", name="Tickets and replies").click()
    message = page.locator("tr", has_text="Kettle leaking")
    expect(message).to_contain_text("New ticket")
    message.locator("a[href*='/tickets/']").click()
    expect(page.locator("h1")).to_contain_text("Kettle leaking")
    expect(page.get_by_text("The kettle leaks from the bottom.")).to_be_visible()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_mailbox_screens_at_desktop_and_phone(browser, live_server, admin_desk, imapd, lang):
    from portal.channels.mail.imap import poll_mailbox
    from portal.channels.mail.mailboxes import MailboxData, save_mailbox
    from portal.extensions import db
    from portal.models import Department

    user = imapd.new_user()
    imapd.append(user, customer_mail(f"Screens {lang}"))
    with admin_desk.app_context():
        returns = db.session.scalar(db.select(Department.id).filter_by(name="Returns"))
        good = save_mailbox(None, MailboxData(
            address="help@shop.example", name="Shop Help", department_id=returns, imap_host="127.0.0.1",
            imap_port=imapd.port, imap_security="none", imap_username=user, imap_password=dovecot.PASSWORD))
        bad = save_mailbox(None, MailboxData(
            address="returns-archive@shop.example", department_id=returns, imap_host="127.0.0.1",
            imap_port=imapd.port, imap_security="none", imap_username=user, imap_password="wrong-password",
            imap_folder="Archive/2025"))
        db.session.add_all([good, bad])
        db.session.commit()
        good_id, bad_id = good.id, bad.id
        poll_mailbox(good_id)
        poll_mailbox(bad_id)
        db.engine.dispose()
    for device, page in device_pages(browser, lang, phone_scale=2):
        login(page, live_server.url, ADMIN_ZH if lang == "zh" else ADMIN)
        shot = Shooter(page, SHOTS, lang, device)

        page.goto(live_server.url + "/admin/mail/mailboxes")
        expect(page.locator(".mailbox-table")).to_contain_text("Login failed")
        shot("mailboxes")
        page.goto(live_server.url + "/admin/mail/mailboxes/new")
        page.fill("#address", "not an address")
        page.fill("#imap_host", "imap.example.com")
        page.select_option("#imap_security", "none")
        page.fill("#poll_minutes", "0")
        page.locator("#mailbox-form button[type=submit]").click()
        expect(page.locator("#mailbox-form .field.has-error").first).to_be_visible()
        shot("mailbox-errors")
        page.goto(live_server.url + f"/admin/mail/mailboxes/{good_id}")
        page.locator("#test-connection").click()
        expect(page.locator("#imap-test-result .test-ok")).to_be_visible()
        shot("mailbox-tested")
        page.goto(live_server.url + "/admin/mail?show=all")
        shot("messages")
