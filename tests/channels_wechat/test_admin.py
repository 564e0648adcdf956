"""Admin → Channels → WeChat: create and edit an account (errors on the field), the URL to paste
into the console, the message log."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from factories import csrf_token, login, make_admin, make_department
from portal.extensions import db
from portal.models import WeChatAccount

pytestmark = pytest.mark.integration


@pytest.fixture
def admin_client(client, app):
    login(client, make_admin(email="ada@desk.example"))
    return client


def errors(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="error">([^<]*)</p>', response.get_data(as_text=True))]


def post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/channels/wechat/new"), **data})


def test_create_with_errors_then_fixed(admin_client):
    department = make_department(name="Care")
    db.session.commit()
    new = html.unescape(admin_client.get("/admin/channels/wechat/new").get_data(as_text=True))
    assert "{ticket}" in new  # the default reply texts carry the placeholder
    data = {"name": "客服号", "department": str(department.id), "active": "y", "app_id": "12345",
            "token": "has space", "reply_zh": "收到 #{ticket}", "reply_en": "Got it #{ticket}"}
    bad = post(admin_client, "/admin/channels/wechat/new", data)
    assert bad.status_code == 422
    assert errors(bad) == ["An AppID starts with “wx”, e.g. wx1234567890abcdef.",
                           "WeChat accepts 3 to 32 letters and digits as the Token."]
    assert db.session.scalar(select(WeChatAccount)) is None
    ok = post(admin_client, "/admin/channels/wechat/new", {**data, "app_id": "wx1234567890abcdef", "token": "tok42"})
    assert ok.status_code == 302
    account = db.session.scalar(select(WeChatAccount))
    assert (account.app_id, account.token, account.department_id, account.reply_zh) == (
        "wx1234567890abcdef", "tok42", department.id, "收到 #{ticket}")
    page = html.unescape(admin_client.get(ok.location).get_data(as_text=True))
    assert f"/channels/wechat/{account.public_id}" in page and "明文模式" in page
    edit = post(admin_client, ok.location, {**data, "app_id": "wx1234567890abcdef", "token": "tok43", "active": ""})
    assert edit.status_code == 302
    db.session.refresh(account)
    assert account.token == "tok43" and account.active is False


def test_messages_show_in_the_log(admin_client, account, wechat):
    wechat.push(wechat.text("你好"))
    wechat.push(b"<xml>broken")
    page = html.unescape(admin_client.get(f"/admin/channels/wechat/{account.id}").get_data(as_text=True))
    assert re.findall(r"badge delivery-(\w+)", page) == ["rejected", "ticket"]
    assert "not well-formed XML" in page and "你好" in page


KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def field_errors(response, field: str) -> list[str]:
    """The errors shown under one field (inside its .field block)."""
    page = response.get_data(as_text=True)
    block = re.search(rf'<div class="field has-error">\s*<label for="{field}">.*?</div>', page, re.S)
    return [html.unescape(m) for m in re.findall(r'<p class="error">([^<]*)</p>', block.group(0))] if block else []


def test_safe_mode_needs_a_well_formed_key_and_keeps_it_sealed(admin_client):
    from portal.channels.mail.credentials import unseal

    department = make_department(name="Care")
    db.session.commit()
    data = {"name": "客服号", "department": str(department.id), "active": "y", "app_id": "wx1234567890abcdef",
            "token": "tok42", "mode": "safe", "encoding_aes_key": "", "reply_zh": "收到 #{ticket}", "reply_en": ""}
    missing = post(admin_client, "/admin/channels/wechat/new", data)
    assert missing.status_code == 422
    assert field_errors(missing, "encoding_aes_key") == [
        "Compatible and safe mode need the EncodingAESKey from the console's server configuration."]
    for bad in (KEY[:-1], KEY + "A", KEY[:-1] + "=", KEY[:-1] + "-"):  # 42, 44, padding, url-safe alphabet
        response = post(admin_client, "/admin/channels/wechat/new", {**data, "encoding_aes_key": bad})
        assert response.status_code == 422, bad
        assert field_errors(response, "encoding_aes_key") == [
            "An EncodingAESKey is exactly 43 characters: letters, digits, + and /."]
    assert db.session.scalar(select(WeChatAccount)) is None

    ok = post(admin_client, "/admin/channels/wechat/new", {**data, "encoding_aes_key": f" {KEY[:20]} {KEY[20:]}\n"})
    assert ok.status_code == 302
    account = db.session.scalar(select(WeChatAccount))
    assert account.mode == "safe" and KEY not in account.encoding_aes_key and unseal(account.encoding_aes_key) == KEY
    page = admin_client.get(ok.location).get_data(as_text=True)
    assert KEY not in page and "leave empty to keep it" in html.unescape(page)
    assert re.search(r'<option selected value="safe">|<option value="safe" selected>', page)

    # Saving again with the field empty keeps the key; switching to plaintext needs none.
    sealed = account.encoding_aes_key
    assert post(admin_client, ok.location, {**data, "token": "tok43"}).status_code == 302
    db.session.refresh(account)
    assert (account.token, account.encoding_aes_key) == ("tok43", sealed)
    assert post(admin_client, ok.location, {**data, "mode": "plaintext"}).status_code == 302
    db.session.refresh(account)
    assert account.mode == "plaintext"
    listing = html.unescape(admin_client.get("/admin/channels/").get_data(as_text=True))
    assert "Plaintext (明文模式)" in listing


def test_the_mode_and_key_errors_in_chinese(admin_client):
    from portal.models import User

    user = db.session.scalar(select(User).where(User.email == "ada@desk.example"))
    user.language = "zh_Hans"
    department = make_department(name="Care")
    db.session.commit()
    response = post(admin_client, "/admin/channels/wechat/new", {
        "name": "客服号", "department": str(department.id), "app_id": "wx1234567890abcdef", "token": "tok42",
        "mode": "compatible", "encoding_aes_key": "short"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert field_errors(response, "encoding_aes_key") == ["EncodingAESKey 须为 43 个字符：字母、数字、+ 和 /。"]
    assert ">兼容模式</option>" in page and "消息加解密方式" in page
