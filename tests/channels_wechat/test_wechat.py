"""The WeChat adapter against a simulated WeChat server: verification, signatures, messages to tickets
and threads, retries, events, the passive reply, malformed and hostile XML."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ChannelDelivery, ContactIdentity, Thread, Ticket
from portal.services.tickets import update_ticket

from .conftest import ACCOUNT

pytestmark = pytest.mark.integration


def tickets() -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def log() -> list[ChannelDelivery]:
    return list(db.session.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id)))


def test_url_verification_echoes_echostr_only_when_signed(wechat):
    good = wechat.verify("abc123")
    assert (good.status_code, good.data) == (200, b"abc123")
    assert wechat.verify("abc123", token="otherToken").status_code == 403
    assert wechat.client.get(wechat.url, query_string={"echostr": "x"}).status_code == 403
    assert wechat.client.get("/channels/wechat/unknown", query_string=wechat.query()).status_code == 404


def test_a_text_message_becomes_a_ticket_and_gets_the_passive_reply(wechat, account):
    reply = wechat.push(wechat.text("你好，我的订单还没发货"))
    assert reply.status == 200
    [ticket] = tickets()
    assert (ticket.channel, ticket.department_id, ticket.subject) == ("wechat", account.department_id,
                                                                      "WeChat: 你好，我的订单还没发货")
    assert ticket.threads[0].body_text == "你好，我的订单还没发货" and ticket.threads[0].sender == "oFollowerA"
    identity = db.session.scalar(select(ContactIdentity).where(ContactIdentity.contact_id == ticket.contact_id))
    assert (identity.kind, identity.value) == ("wechat", "oFollowerA")
    # the reply goes back to the follower, from the account, as text, with the ticket number
    assert (reply.fields["ToUserName"], reply.fields["FromUserName"], reply.fields["MsgType"]) == (
        "oFollowerA", ACCOUNT, "text")
    assert reply.content == f"已收到，工单号 #{ticket.id}。\n\nReceived: ticket #{ticket.id}."
    assert int(reply.fields["CreateTime"]) > 0


def test_the_next_message_threads_onto_the_open_ticket_until_it_is_closed(wechat):
    wechat.push(wechat.text("第一条"))
    second = wechat.push(wechat.text("第二条"))
    [ticket] = tickets()
    assert [t.body_text for t in ticket.threads] == ["第一条", "第二条"]
    assert f"#{ticket.id}" in second.content
    other = wechat.push(wechat.text("another follower", openid="oFollowerB"))
    assert len(tickets()) == 2 and f"#{tickets()[1].id}" in other.content
    update_ticket(ticket, {"status": "closed"}, by="test")
    db.session.commit()
    wechat.push(wechat.text("第三条"))
    assert len(tickets()) == 3 and tickets()[2].contact_id == ticket.contact_id


def test_a_retried_msgid_creates_nothing_and_gets_the_same_reply(wechat):
    xml = wechat.text("重试", msg_id=1234567890123456)
    replies = [wechat.push(xml) for _ in range(3)]  # WeChat retries up to three times
    assert len(tickets()) == 1 and db.session.scalar(select(func.count(Thread.id))) == 1
    assert len({r.content for r in replies}) == 1 and replies[0].content
    assert [d.status for d in log()] == ["ticket", "duplicate", "duplicate"]


@pytest.mark.parametrize("msg_type, fields, expected", [
    ("image", {"PicUrl": "http://mmbiz.qpic.cn/abc", "MediaId": "media_1"}, "[Image / 图片] http://mmbiz.qpic.cn/abc"),
    ("voice", {"MediaId": "m2", "Format": "amr", "Recognition": "我要退货"}, "[Voice / 语音] 我要退货"),
    ("voice", {"MediaId": "m3", "Format": "amr"}, "no transcript"),
    ("location", {"Location_X": "23.134521", "Location_Y": "113.358803", "Scale": "20", "Label": "广州市天河区"},
     "[Location / 位置] 广州市天河区 (23.134521, 113.358803)"),
    ("link", {"Title": "订单截图", "Description": "看这里", "Url": "https://example.com/o/1"},
     "[Link / 链接] 订单截图\n看这里\nhttps://example.com/o/1"),
])
def test_other_message_types_become_readable_threads(wechat, msg_type, fields, expected):
    reply = wechat.push(wechat.message(msg_type, **fields))
    [ticket] = tickets()
    assert expected in ticket.threads[0].body_text
    assert reply.content and f"#{ticket.id}" in reply.content


def test_events_are_logged_and_make_no_ticket(wechat):
    for event in ("subscribe", "unsubscribe", "CLICK"):
        reply = wechat.push(wechat.message("event", Event=event))
        assert (reply.status, reply.body) == (200, b"success")
    assert tickets() == []
    assert [d.status for d in log()] == ["event", "event", "event"]


def test_a_bad_signature_is_403_and_logged(wechat):
    reply = wechat.push(wechat.text("hi"), token="wrongToken")
    assert reply.status == 403 and tickets() == []
    [entry] = log()
    assert (entry.status, entry.http_status) == ("rejected", 403) and "Token" in entry.problem
    query = wechat.query()
    query["timestamp"] = str(int(query["timestamp"]) + 1)  # a signature over other values
    assert wechat.push(wechat.text("hi"), query=query).status == 403


@pytest.mark.parametrize("body, why", [
    (b"<xml><ToUserName>gh</ToUserName>", "well-formed"),
    (b"not xml at all", "well-formed"),
    (b"<html><MsgType>text</MsgType></html>", "root element"),
    (b"<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>", "FromUserName"),
    (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
     b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType>"
     b"<Content>&b;</Content></xml>", "well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType>"
     b"<Content>&x;</Content></xml>", "well-formed"),
    (b"<xml><ToUserName>gh</ToUserName><Encrypt>abc</Encrypt></xml>", "safe mode"),
])
def test_malformed_or_hostile_xml_is_400_and_logged(wechat, body, why):
    reply = wechat.push(body)
    assert reply.status == 400 and tickets() == []
    [entry] = log()
    assert entry.status == "rejected" and entry.http_status == 400 and why in entry.problem
    assert entry.payload == body.decode()


def test_no_reply_text_answers_success(wechat, account):
    account.reply_zh = account.reply_en = ""
    db.session.commit()
    reply = wechat.push(wechat.text("hello"))
    assert (reply.status, reply.body) == (200, b"success") and len(tickets()) == 1


def test_a_switched_off_account_refuses_pushes(wechat, account):
    account.active = False
    db.session.commit()
    assert wechat.push(wechat.text("hello")).status == 403
    assert tickets() == [] and log()[0].http_status == 403
