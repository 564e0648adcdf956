"""reply_text: quoted history cut in the styles of Gmail, Outlook, Foxmail, QQ Mail and NetEase;
auto-reply, list and bounce markers."""
from __future__ import annotations

import pytest

from portal.channels.mail import parse_message
from portal.channels.mail.quotes import strip_quotes

from .test_charsets import mail

CASES = {
    "gmail_en": ("Thanks, that fixed it.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Support <support@desk.example> wrote:\n"
                 "> Please try restarting.\n> \n> Best", "Thanks, that fixed it."),
    "gmail_en_wrapped": ("Still broken.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Very Long Support Name <\n"
                         "support@desk.example> wrote:\n\n> Please try again", "Still broken."),
    "gmail_zh": ("好的，收到了。\n\nSupport <support@desk.example> 于2024年1月1日周一 10:00写道：\n\n> 请重启试试。",
                 "好的，收到了。"),
    "netease": ("已经付款了\n\n\n在 2024-01-01 10:00:00，\"客服\" <support@desk.example> 写道：\n>您好，请付款", "已经付款了"),
    "outlook_en": ("I attached the invoice.\n\n________________________________\nFrom: Support <support@desk.example>\n"
                   "Sent: Monday, January 1, 2024 10:00 AM\nTo: Ann <ann@example.com>\nSubject: RE: Invoice\n\n"
                   "Could you send the invoice?", "I attached the invoice."),
    "outlook_original_message": ("See below.\n\n-----Original Message-----\nFrom: a@b.c\nSent: today\n\nold",
                                 "See below."),
    "outlook_zh": ("请查收附件。\n\n-----原始邮件-----\n发件人: 客服 <support@desk.example>\n"
                   "发送时间: 2024年1月1日 10:00\n收件人: 张三\n主题: 发票\n\n请提供发票。", "请查收附件。"),
    "foxmail": ("问题已解决，谢谢！\n\n\n\n张三\n\n发件人： 客服\n发送时间： 2024-01-01 10:00\n收件人： 张三\n"
                "主题： 回复：订单问题\n\n您好，请问还有问题吗？", "问题已解决，谢谢！\n\n\n\n张三"),
    "qq_mail": ("收到，谢谢\n\n\n------------------\xa0原始邮件\xa0------------------\n"
                "发件人: \"客服\"<support@desk.example>;\n发送时间: 2024年1月1日(星期一) 上午10:00\n"
                "收件人: \"张三\"<zhang@qq.com>;\n主题: 回复：订单\n\n请确认", "收到，谢谢"),
    "traditional_outlook": ("已處理。\n\n寄件者: 客服 <support@desk.example>\n寄件日期: 2024年1月1日 10:00\n"
                            "收件者: 陳大文\n主旨: 訂單\n\n舊內容", "已處理。"),
    "bottom_quote_and_signature": ("Yes please.\n\n-- \nAnn Example\nACME Ltd.", "Yes please."),
    "trailing_quote_lines": ("Agreed.\n\n> you said\n> something", "Agreed."),
    "interleaved_quotes_kept": ("> Do you want A?\nYes.\n> And B?\nNo.", "> Do you want A?\nYes.\n> And B?\nNo."),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_strip_quotes(name):
    text, expected = CASES[name]
    assert strip_quotes(text) == expected


def test_only_a_quote_falls_back_to_the_full_text():
    text = "On Mon, Jan 1, 2024 Ann <a@b.c> wrote:\n> hello"
    assert strip_quotes(text) == text


def test_forwards_keep_their_content():
    text = "FYI\n\n---------- Forwarded message ---------\nFrom: A <a@b.c>\nDate: Mon\nSubject: x\nTo: b@c.d\n\nBody"
    assert strip_quotes(text) == text
    assert strip_quotes("FYI\n\n-----原始邮件-----\n发件人: x\n\n内容", subject="转发：订单") .endswith("内容")


def test_reply_text_in_a_parsed_message_keeps_the_original_text():
    body = "好的，收到了。\n\n在 2024-01-01 10:00:00，\"客服\" <support@desk.example> 写道：\n>您好".encode("gbk")
    parsed = parse_message(mail(body, "text/plain; charset=gbk", subject="Re: 订单".encode("gbk")))
    assert parsed.reply_text == "好的，收到了。"
    assert parsed.text.endswith(">您好")


LOOPS = [
    (b"Auto-Submitted: auto-replied\r\n", True, False),
    (b"Auto-Submitted: no\r\n", False, False),
    (b"Precedence: bulk\r\n", True, False),
    (b"Precedence: junk\r\n", True, False),
    (b"Precedence: list\r\n", True, False),
    (b"X-Autoreply: yes\r\n", True, False),
    (b"X-Autorespond: yes\r\n", True, False),
    (b"X-Auto-Response-Suppress: OOF, AutoReply\r\n", True, False),
    (b"X-Auto-Response-Suppress: All\r\n", True, False),
    (b"List-Id: <support.lists.example.com>\r\n", True, False),
    (b"List-Unsubscribe: <mailto:leave@lists.example.com>\r\n", True, False),
    (b"Return-Path: <>\r\n", True, False),
    (b"", False, False),
]


@pytest.mark.parametrize("extra,flagged,bounce", LOOPS)
def test_loop_markers(extra, flagged, bounce):
    parsed = parse_message(mail(b"I am out of office", "text/plain; charset=utf-8", extra=extra))
    assert (parsed.loop_reason is not None) == flagged, parsed.loop_reason
    assert parsed.is_bounce == bounce
    assert parsed.auto_submitted == extra.startswith((b"Auto-Submitted: auto", b"X-Autore"))


@pytest.mark.parametrize("sender", [b"MAILER-DAEMON@mx.example.com", b"Mail System <postmaster@example.com>"])
def test_bounce_senders(sender):
    parsed = parse_message(mail(b"Delivery failed", "text/plain", sender=sender))
    assert parsed.is_bounce and parsed.loop_reason


def test_delivery_status_report_is_a_bounce():
    body = (b"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
            b"Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n--r--\r\n")
    parsed = parse_message(mail(body, 'multipart/report; report-type=delivery-status; boundary="r"', cte=None))
    assert parsed.is_bounce and "multipart/report" in parsed.loop_reason
    assert parsed.text == "Your message could not be delivered."
    assert [a.content_type for a in parsed.attachments] == ["message/delivery-status"]
