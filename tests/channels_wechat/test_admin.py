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
