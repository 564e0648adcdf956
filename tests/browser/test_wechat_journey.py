"""An admin connects a WeChat Official Account in safe mode (安全模式) through the UI; then "WeChat"
(this test, encrypting as WeChat's documentation says, with tests/channels_wechat/peer.py) verifies
the server URL and pushes an encrypted message to the live server. The ticket it makes shows in the
account's message log and in the ticket list, and the encrypted passive reply carries its number.
Then every WeChat screen at desktop and phone width, in English and Chinese.

Screenshots go to $WECHAT_SHOTS_DIR (default /tmp/shots/wechat): <lang>-<device>-<nn>-<screen>.png.
"""
from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from channels_wechat.peer import PeerCrypto
from desk import ADMIN, ADMIN_ZH, login
from screens import Shooter, device_pages

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("WECHAT_SHOTS_DIR", "/tmp/shots/wechat"))
APP_ID = "wx5823bf96d3bd56c7"
TOKEN = "QDG6eK2024"
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ORIGINAL_ID = "gh_7f083739789a"



class WeChat:
    """The platform's side: signs the query string, encrypts the push, opens the passive reply."""

    def __init__(self, url: str, token: str = TOKEN, key: str = KEY, app_id: str = APP_ID):
        self.url, self.crypto = url, PeerCrypto(key, app_id, token)

    def _query(self, **extra) -> dict:
        timestamp, nonce = str(int(time.time())), "1372623149"
        signature = hashlib.sha1("".join(sorted([self.crypto.token, timestamp, nonce])).encode()).hexdigest()
        return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}

    def verify(self, echostr: str) -> tuple[int, str]:
        """The console's "submit": GET with echostr, which the server must echo."""
        with urllib.request.urlopen(self.url + "?" + urllib.parse.urlencode(self._query(echostr=echostr)),
                                    timeout=10) as response:
            return response.status, response.read().decode()

    def push_text(self, openid: str, content: str, msg_id: int, *, msg_signature: str | None = None):
        """A follower's text message in safe mode: (HTTP status, the decrypted reply's fields or {})."""
        message = (f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
                   f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                   f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>").encode()
        encrypted = self.crypto.encrypt(message)
        body = (f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        query = self._query(openid=openid, encrypt_type="aes")
        query["msg_signature"] = msg_signature or self.crypto.sign(query["timestamp"], query["nonce"], encrypted)
        request = urllib.request.Request(self.url + "?" + urllib.parse.urlencode(query), data=body, method="POST",
                                         headers={"Content-Type": "text/xml"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        envelope = {child.tag: child.text for child in ET.fromstring(answer)}
        assert envelope["MsgSignature"] == self.crypto.sign(envelope["TimeStamp"], envelope["Nonce"],
                                                            envelope["Encrypt"])
        inner, app_id = self.crypto.decrypt(envelope["Encrypt"])
        assert app_id == self.crypto.app_id
        return status, {child.tag: child.text for child in ET.fromstring(inner)}


def test_admin_connects_a_safe_mode_account_and_an_encrypted_message_lands_in_the_queue(
        page: Page, live_server, admin_desk):
    login(page, live_server.url, ADMIN)
    page.get_by_role("link", name="Admin").click()
    page.locator(".admin-tabs").get_by_role("link", name="Channels").click()
    expect(page.get_by_role("heading", name="No WeChat account yet")).to_be_visible()
    page.get_by_role("link", name="New WeChat account").first.click()

    page.fill("#name", "客服公众号")
    page.select_option("#department", label="Returns")
    page.fill("#app_id", APP_ID)
    page.fill("#token", TOKEN)
    page.get_by_label("Message encryption").select_option(label="Safe (安全模式)")
    page.get_by_label("EncodingAESKey").fill(KEY[:-1])   # one character short: refused on the field
    page.get_by_role("button", name="Create account").click()
    key_field = page.locator(".field", has=page.locator("#encoding_aes_key"))
    expect(key_field.locator(".error")).to_have_text(
        "An EncodingAESKey is exactly 43 characters: letters, digits, + and /.")
    expect(page.get_by_label("Message encryption")).to_have_value("safe")   # what was chosen is kept
    expect(page.locator("#app_id")).to_have_value(APP_ID)

    page.get_by_label("EncodingAESKey").fill(KEY)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="WeChat: 客服公众号")).to_be_visible()
    expect(page.get_by_label("EncodingAESKey")).to_have_value("")           # never shown again
    expect(page.locator("#encoding_aes_key-hint")).to_contain_text("leave empty to keep it")
    url = page.locator("#wechat-url").input_value()
    assert "/channels/wechat/" in url

    # The console's submit, then a follower writes; WeChat retries once (same MsgId): one ticket.
    wechat = WeChat(url)
    assert wechat.verify("5927782489442352469") == (200, "5927782489442352469")
    status, reply = wechat.push_text("oFollowerMei", "我的快递三天没动了，单号 SF1234", 6100000000000000001)
    assert status == 200 and reply["ToUserName"] == "oFollowerMei" and reply["FromUserName"] == ORIGINAL_ID
    number = reply["Content"].split("#", 1)[1].split("。", 1)[0]
    assert number.isdigit()
    again_status, again = wechat.push_text("oFollowerMei", "我的快递三天没动了，单号 SF1234", 6100000000000000001)
    assert (again_status, again["Content"]) == (200, reply["Content"])
    forged_status, _ = wechat.push_text("oFollowerMei", "forged", 6100000000000000002, msg_signature="0" * 40)
    assert forged_status == 403
    other_key_status, _ = WeChat(url, key="A" * 43).push_text("oFollowerMei", "wrong key", 6100000000000000003)
    assert other_key_status == 400

    page.reload()
    table = page.locator(".delivery-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table.locator("tbody tr").nth(0).locator(".badge")).to_have_text("Refused")   # refused ones first
    expect(table).to_contain_text("Can't decrypt the message")
    expect(table).to_contain_text("Bad msg_signature")
    ticket_row = table.locator("tbody tr", has=page.locator(".delivery-ticket"))
    expect(ticket_row).to_contain_text(f"#{number}")
    ticket_row.locator("summary").click()
    expect(ticket_row.locator(".delivery-body pre")).to_contain_text("我的快递三天没动了")  # decrypted, readable

    page.goto(live_server.url + "/admin/channels/")
    expect(page.locator(".channel-table").last).to_contain_text("Safe (安全模式)")
    page.goto(live_server.url + "/tickets")
    subject = "WeChat: 我的快递三天没动了，单号 SF1234"
    row = page.locator(".ticket-row", has_text=subject)
    expect(row).to_be_visible()
    row.get_by_role("link", name=subject).click()
    expect(page.get_by_text("我的快递三天没动了，单号 SF1234").first).to_be_visible()
    assert f"/tickets/{number}" in page.url


@pytest.fixture()
def furnished_desk(admin_desk):
    """A safe-mode account with an encrypted message taken, a duplicate, an event and refusals."""
    from portal.channels.wechat import intake
    from portal.extensions import db
    from portal.models import Department, WeChatAccount

    with admin_desk.app_context():
        returns = db.session.scalar(db.select(Department).filter_by(name="Returns"))
        account = WeChatAccount(public_id="wx-safe-shots", name="客服公众号", department=returns, app_id=APP_ID,
                                token=TOKEN, mode="safe", reply_zh="您的消息已收到，工单号 #{ticket}。",
                                reply_en="We received your message: ticket #{ticket}.")
        intake.set_encoding_aes_key(account, KEY)
        db.session.add(account)
        db.session.flush()
        crypto = PeerCrypto(KEY, APP_ID, TOKEN)

        def push(xml: str, *, app_id: str = APP_ID, signature: str | None = None):
            encrypted = crypto.encrypt(xml.encode(), app_id=app_id)
            body = f"<xml><ToUserName>{ORIGINAL_ID}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>".encode()
            args = {"timestamp": "1409659813", "nonce": "1372623149", "encrypt_type": "aes",
                    "msg_signature": signature or crypto.sign("1409659813", "1372623149", encrypted)}
            intake.take(account, body, args)

        text = (f"<xml><ToUserName>{ORIGINAL_ID}</ToUserName><FromUserName>oFollowerMei</FromUserName>"
                "<CreateTime>1409659813</CreateTime><MsgType>text</MsgType><Content>快递一直没到，能帮我查一下吗？</Content>"
                "<MsgId>7001</MsgId></xml>")
        push(text)
        push(text)
        push(f"<xml><ToUserName>{ORIGINAL_ID}</ToUserName><FromUserName>oFollowerMei</FromUserName>"
             "<CreateTime>1409659814</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>")
        push(text.replace("7001", "7002"), app_id="wx0000000000000000")
        push(text.replace("7001", "7003"), signature="0" * 40)
        db.session.commit()
        ids = {"wechat": account.id}
        db.engine.dispose()
    admin_desk.config["SHOT_IDS"] = ids
    return admin_desk


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_wechat_screen_at_desktop_and_phone(browser, live_server, furnished_desk, lang):
    ids = furnished_desk.config["SHOT_IDS"]
    for device, page in device_pages(browser, lang):
        login(page, live_server.url, ADMIN_ZH if lang == "zh" else ADMIN)
        shot = Shooter(page, SHOTS, lang, device)

        page.goto(live_server.url + "/admin/channels/")
        expect(page.locator(".channel-table")).to_contain_text("客服公众号")
        shot("channels")
        page.goto(live_server.url + "/admin/channels/wechat/new")
        page.select_option("#mode", "safe")
        page.fill("#encoding_aes_key", "not-a-key")
        page.locator("#wechat-form button[type=submit]").click()
        expect(page.locator(".field.has-error #encoding_aes_key")).to_be_visible()
        shot("wechat-new-safe-errors")
        page.goto(live_server.url + f"/admin/channels/wechat/{ids['wechat']}")
        expect(page.locator(".delivery-table")).to_be_visible()
        for details in page.locator(".delivery-body").all()[:3]:
            details.locator("summary").click()
        page.evaluate("window.scrollTo(0, 0)")  # the fixed navigation bar where it belongs in the full page
        shot("wechat-safe-account")
        page.locator(".delivery-table a", has_text="#").first.click()
        expect(page.get_by_text("快递一直没到，能帮我查一下吗？").first).to_be_visible()
        shot("wechat-ticket")
