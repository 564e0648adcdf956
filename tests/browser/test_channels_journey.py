"""An admin creates a webhook channel with a mapping, tests a sample payload in the page, and a
signed POST from "another system" becomes a ticket in the queue; then every channel screen at desktop
and phone width, in English and Chinese, with nothing spilling sideways.

Screenshots go to $CHANNELS_SHOTS_DIR (default /tmp/shots/webhook): <lang>-<device>-<nn>-<screen>.png.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from screens import Shooter, device_pages
from desk import ADMIN, ADMIN_ZH, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CHANNELS_SHOTS_DIR", "/tmp/shots/webhook"))
PAYLOAD = {"event": {"id": "evt_1001"}, "order": {"title": "Order 1001: wrong colour"},
           "message": "I ordered the blue jacket and got a green one.",
           "customer": {"email": "mei@example.com", "name": "Mei Lin"}, "urgency": "high"}



def signed_post(url: str, secret: str, payload: dict) -> tuple[int, dict]:
    """What the sending system does (docs/channels.md): HMAC-SHA256 of the raw body."""
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Deskwright-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def fill_row(page: Page, n: int, field: str, path: str, default: str = "") -> None:
    page.get_by_label(f"Ticket field, row {n}", exact=True).fill(field)
    page.get_by_label(f"JSON path, row {n}", exact=True).fill(path)
    if default:
        page.get_by_label(f"Default, row {n}", exact=True).fill(default)


def test_admin_sets_up_a_webhook_and_a_signed_post_lands_in_the_queue(page: Page, live_server, admin_desk):
    login(page, live_server.url, ADMIN)
    page.get_by_role("link", name="Admin").click()
    page.locator(".admin-tabs").get_by_role("link", name="Channels").click()
    expect(page.get_by_role("heading", name="No webhook channel yet")).to_be_visible()
    page.get_by_role("link", name="New webhook channel").first.click()

    page.fill("#name", "Shop orders")
    page.select_option("#department", label="Returns")
    fill_row(page, 1, "subject", "order.title")
    fill_row(page, 2, "body", "message")
    fill_row(page, 3, "contact_email", "customer..email")   # a typo: refused on its row
    page.get_by_role("button", name="Create channel").click()
    expect(page.locator(".mapping-row.has-error")).to_contain_text("is not a path")
    expect(page.get_by_label("Ticket field, row 2", exact=True)).to_have_value("body")  # what was typed is kept

    fill_row(page, 3, "contact_email", "customer.email")
    fill_row(page, 4, "priority", "urgency", "normal")
    page.fill("#external_id_path", "event.id")
    page.get_by_role("button", name="Create channel").click()
    expect(page.get_by_role("heading", name="Webhook: Shop orders")).to_be_visible()
    secret = page.locator("#webhook-secret").input_value()
    url = page.locator("#webhook-url").input_value()
    assert secret.startswith("whsec_") and "/channels/webhook/" in url

    # The sample test: errors first, then the ticket it would make; nothing saved either way.
    page.fill("#sample-payload", json.dumps({"order": {"title": "no message"}}))
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#sample-result")).to_contain_text("would be refused")
    expect(page.locator("#sample-result")).to_contain_text("message")
    page.fill("#sample-payload", json.dumps(PAYLOAD))
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#sample-result")).to_contain_text("A new ticket in Returns")
    expect(page.locator("#sample-result")).to_contain_text("Order 1001: wrong colour")
    # An edit on the form is tested before it is saved: the body from another path.
    fill_row(page, 2, "body", "order.title")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#sample-result")).to_contain_text("not saved yet")
    fill_row(page, 2, "body", "message")  # back as saved
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#sample-result")).not_to_contain_text("not saved yet")

    # The other system posts, signed with the secret; a retry of the same event makes no second ticket.
    status, answer = signed_post(url, secret, PAYLOAD)
    assert status == 201 and answer["status"] == "ticket"
    again_status, again = signed_post(url, secret, PAYLOAD)
    assert (again_status, again["ticket"]) == (200, answer["ticket"])
    bad_status, _ = signed_post(url, "whsec_wrong", PAYLOAD)
    assert bad_status == 401

    page.reload()
    expect(page.locator(".delivery-table tbody tr").first.locator(".badge")).to_have_text("Refused")
    expect(page.locator(".delivery-table")).to_contain_text(f"#{answer['ticket']}")
    page.goto(live_server.url + "/tickets")
    row = page.locator(".ticket-row", has_text="Order 1001: wrong colour")
    expect(row).to_be_visible()
    row.get_by_role("link", name="Order 1001: wrong colour").click()
    expect(page.get_by_text("I ordered the blue jacket and got a green one.")).to_be_visible()


@pytest.fixture()
def furnished_desk(admin_desk):
    """A webhook channel with deliveries of every kind, and a WeChat account with messages."""
    from portal.channels.webhook.intake import receive, sign
    from portal.channels.webhook.setup import save_channel
    from portal.channels.wechat import intake as wechat_intake
    from portal.extensions import db
    from portal.models import Department, WeChatAccount

    with admin_desk.app_context():
        returns = db.session.scalar(db.select(Department).filter_by(name="Returns"))
        rows = [{"field": "subject", "path": "order.title", "default": ""},
                {"field": "body", "path": "message", "default": ""},
                {"field": "contact_email", "path": "customer.email", "default": ""},
                {"field": "priority", "path": "urgency", "default": "normal"}]
        channel, secret = save_channel(None, name="Shop orders", department=returns, active=True, rows=rows,
                                       external_id_path="event.id", conversation_path="order.number")
        for body in (json.dumps(PAYLOAD).encode(), json.dumps(PAYLOAD).encode(), b'{"order": {"title": "x"}}',
                     b"{not json"):
            receive(channel, body, {"X-Deskwright-Signature": sign(secret, body)})
        receive(channel, b"{}", {"X-Deskwright-Signature": "sha256=00"})
        account = WeChatAccount(public_id="wx-shots", name="客服公众号", department=returns,
                                app_id="wx1234567890abcdef", token="deskToken42",
                                reply_zh="您的消息已收到，工单号 #{ticket}。", reply_en="We received your message: ticket #{ticket}.")
        db.session.add(account)
        db.session.flush()
        for xml in ("<xml><ToUserName>gh_1</ToUserName><FromUserName>oF1</FromUserName><CreateTime>1</CreateTime>"
                    "<MsgType>text</MsgType><Content>快递一直没到</Content><MsgId>1</MsgId></xml>".encode(),
                    b"<xml><ToUserName>gh_1</ToUserName><FromUserName>oF1</FromUserName><CreateTime>1</CreateTime>"
                    b"<MsgType>event</MsgType><Event>subscribe</Event></xml>", b"<xml>broken"):
            wechat_intake.receive(account, xml)
        db.session.commit()
        ids = {"webhook": channel.id, "wechat": account.id}
        db.engine.dispose()
    admin_desk.config["SHOT_IDS"] = ids
    return admin_desk



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_channel_screen_at_desktop_and_phone(browser, live_server, furnished_desk, lang):
    ids = furnished_desk.config["SHOT_IDS"]
    for device, page in device_pages(browser, lang):
        login(page, live_server.url, ADMIN_ZH if lang == "zh" else ADMIN)
        shot = Shooter(page, SHOTS, lang, device)

        page.goto(live_server.url + "/admin/channels/")
        expect(page.locator(".channel-table").first).to_contain_text("Shop orders")
        shot("channels")
        page.goto(live_server.url + "/admin/channels/webhook/new")
        page.locator("#webhook-form button[type=submit]").click()
        expect(page.locator("#webhook-form .error").first).to_be_visible()
        shot("webhook-new-errors")
        page.goto(live_server.url + f"/admin/channels/webhook/{ids['webhook']}")
        page.fill("#sample-payload", json.dumps({**PAYLOAD, "event": {"id": "evt_2"}, "order": {
            "title": "Order 1002", "number": "1002"}}))
        page.locator("#sample button[type=submit]").click()
        expect(page.locator("#sample-result .sample-outcome")).to_be_visible()
        for details in page.locator(".delivery-body").all()[:2]:
            details.locator("summary").click()
        shot("webhook-channel")
        page.goto(live_server.url + "/admin/channels/wechat/new")
        page.fill("#app_id", "12")
        page.locator("#wechat-form button[type=submit]").click()
        expect(page.locator("#wechat-form .error").first).to_be_visible()
        shot("wechat-new-errors")
        page.goto(live_server.url + f"/admin/channels/wechat/{ids['wechat']}")
        expect(page.locator(".delivery-table")).to_be_visible()
        shot("wechat-account")
