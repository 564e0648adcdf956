"""Generated messages in the charsets a help desk in China receives, declared right, wrong or not
at all; attachment names in RFC 2231 and RFC 2047."""
from __future__ import annotations

import base64

import pytest

from portal.channels.mail import parse_message
from portal.channels.mail.charsets import codec_for, decode_bytes

ZH = "您好，我的订单还没有发货，请尽快处理退款。谢谢！"
ZH_GB18030_ONLY = "㐀㐁 我想咨询一下𠀀𠀁的问题"  # CJK Ext-A/B: not in GBK, only GB18030
ZH_TW = "您好，我的訂單還沒有發貨，請盡快處理退款。謝謝！"
JA = "お世話になっております。注文の件でご連絡いたしました。"


def mail(body: bytes, content_type: str = "text/plain", *, cte: str = "8bit", subject: bytes = b"Hello",
         sender: bytes = b"Customer <customer@example.com>", extra: bytes = b"") -> bytes:
    ctype = b"Content-Type: " + content_type.encode() + b"\r\n" if content_type else b""
    cte_line = b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n" if cte is not None else b""
    return (b"From: " + sender + b"\r\nTo: support@desk.example\r\nSubject: " + subject +
            b"\r\nMessage-ID: <m1@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0800\r\nMIME-Version: 1.0\r\n" +
            ctype + cte_line + extra + b"\r\n" + body)


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "cp936", "GB18030"])
def test_gbk_declared(label):
    parsed = parse_message(mail(ZH.encode("gbk"), f"text/plain; charset={label}"))
    assert parsed.text == ZH and not parsed.problems


def test_gb18030_characters_under_a_gb2312_label():
    parsed = parse_message(mail(ZH_GB18030_ONLY.encode("gb18030"), "text/plain; charset=gb2312"))
    assert parsed.text == ZH_GB18030_ONLY


@pytest.mark.parametrize("content_type", ["text/plain; charset=us-ascii", "text/plain", "",
                                          "text/plain; charset=fakescii", "text/plain; charset=ascii"])
@pytest.mark.parametrize("codec,text", [("gbk", ZH), ("gb18030", ZH_GB18030_ONLY), ("big5", ZH_TW),
                                        ("utf-8", ZH), ("shift_jis", JA)])
def test_mislabelled_or_undeclared_body_is_detected(codec, text, content_type):
    parsed = parse_message(mail(text.encode(codec), content_type))
    assert parsed.text == text


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_gbk_in_transfer_encodings(cte):
    import quopri
    data = ZH.encode("gbk")
    body = base64.encodebytes(data) if cte == "base64" else quopri.encodestring(data)
    parsed = parse_message(mail(body, "text/plain; charset=gb2312", cte=cte))
    assert parsed.text == ZH


def test_empty_content_transfer_encoding_with_big5():
    parsed = parse_message(mail(ZH_TW.encode("big5"), 'text/plain; charset="big5"', cte=""))
    assert parsed.text == ZH_TW


def test_big5_hkscs_characters():
    text = "香港的客戶：邨、啲、嘅"
    parsed = parse_message(mail(text.encode("big5hkscs"), "text/plain; charset=big5"))
    assert parsed.text == text


def test_utf8_labelled_as_gb2312_wins():
    parsed = parse_message(mail(ZH.encode("utf-8"), "text/plain; charset=gb2312"))
    assert parsed.text == ZH


def test_big5_labelled_as_gb2312_is_read_as_big5():
    parsed = parse_message(mail(ZH_TW.encode("big5"), "text/plain; charset=gb2312"))
    assert parsed.text == ZH_TW


@pytest.mark.parametrize("label", ["ISO-2022-JP", "iso-2022-jp-2", "csISO2022JP"])
def test_iso_2022_jp(label):
    parsed = parse_message(mail(JA.encode("iso2022_jp"), f"text/plain; charset={label}", cte="7bit"))
    assert parsed.text == JA


def test_iso_2022_jp_half_width_katakana():
    text = "ｶﾀｶﾅのお問い合わせ"
    parsed = parse_message(mail(text.encode("iso2022_jp_ext"), "text/plain; charset=iso-2022-jp", cte="7bit"))
    assert parsed.text == text


def test_korean_cp949_under_ks_c_5601_label():
    text = "똠방각하 문의드립니다"  # 똠 is only in cp949 (UHC), not in EUC-KR
    parsed = parse_message(mail(text.encode("cp949"), "text/plain; charset=ks_c_5601-1987"))
    assert parsed.text == text


def test_html_only_gbk_uses_meta_charset():
    html = f"<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>" \
           f"<style>p {{color: red}}</style><script>alert(1)</script></head>" \
           f"<body><p>{ZH}</p><div>订单号：&nbsp;12345 &amp; 678</div><ul><li>一</li><li>二</li></ul>" \
           f"<img src='cid:logo@x'></body></html>"
    parsed = parse_message(mail(html.encode("gbk"), "text/html"))
    assert parsed.text.splitlines()[0] == ZH
    assert "订单号： 12345 & 678" in parsed.text
    assert "alert" not in parsed.text and "color" not in parsed.text
    assert "- 一\n- 二" in parsed.text
    assert "<script" not in parsed.html and 'src="cid:logo@x"' in parsed.html


@pytest.mark.parametrize("codec,label", [("gbk", "gb2312"), ("big5", "big5"), ("gb18030", "gb18030")])
def test_undeclared_8bit_subject_and_sender_name(codec, label):
    subject, name = "关于退款的问题" if codec != "big5" else "關於退款的問題", "张三" if codec != "big5" else "陳大文"
    raw = mail(ZH.encode(codec) if codec != "big5" else ZH_TW.encode(codec), f"text/plain; charset={label}",
               subject=subject.encode(codec), sender=name.encode(codec) + b" <Zhang@Example.COM>")
    parsed = parse_message(raw)
    assert parsed.subject == subject
    assert (parsed.from_name, parsed.from_address) == (name, "zhang@example.com")
    assert not parsed.headers_ok


def test_undeclared_8bit_subject_without_any_hint():
    parsed = parse_message(mail(b"hello", "text/plain", subject="请问发票怎么开".encode("gbk")))
    assert parsed.subject == "请问发票怎么开"
    parsed = parse_message(mail(b"hello", "text/plain", subject="Müller Straße".encode("latin-1")))
    assert parsed.subject == "Müller Straße"


@pytest.mark.parametrize("charset,enc", [("gb2312", "B"), ("GBK", "Q"), ("utf-8", "B"), ("big5", "B")])
def test_rfc2047_subject(charset, enc):
    text = "订单问题 Re: 退款" if charset != "big5" else "訂單問題 Re: 退款"
    data = text.encode(codec_for(charset))
    if enc == "B":
        word = f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    else:
        word = f"=?{charset}?Q?" + "".join(f"={b:02X}" if b > 127 or b in b" =?_" else chr(b) for b in data) + "?="
    parsed = parse_message(mail(b"x", "text/plain", subject=word.encode()))
    assert parsed.subject == text


def test_rfc2047_words_splitting_a_character_are_joined():
    data = "发票已开".encode("gbk")
    w1, w2 = base64.b64encode(data[:3]).decode(), base64.b64encode(data[3:]).decode()
    parsed = parse_message(mail(b"x", subject=f"=?GBK?B?{w1}?=\r\n =?GBK?B?{w2}?=".encode()))
    assert parsed.subject == "发票已开"


def _with_attachment(disposition: bytes) -> bytes:
    body = (b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "请看附件".encode() + b"\r\n"
            b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n" + disposition +
            b"\r\n\r\n" + base64.encodebytes(b"%PDF-1.4 test") + b"--b--\r\n")
    return mail(body, 'multipart/mixed; boundary="b"', cte=None)


def test_rfc2231_chinese_attachment_name():
    from urllib.parse import quote
    name = quote("发票 2024.pdf".encode("utf-8"))
    parsed = parse_message(_with_attachment(b"Content-Disposition: attachment; filename*=UTF-8''" + name.encode()))
    [att] = parsed.attachments
    assert (att.filename, att.content_type, att.data, att.inline) == ("发票 2024.pdf", "application/pdf",
                                                                       b"%PDF-1.4 test", False)
    assert parsed.text == "请看附件"


def test_rfc2231_continuations_in_gbk():
    from urllib.parse import quote
    name = quote("很长的附件名称报价单.pdf".encode("gbk"))
    half = len(name) // 2
    while name[half - 1] == "%" or name[half - 2] == "%":
        half += 1
    header = (f"Content-Disposition: attachment;\r\n filename*0*=gbk''{name[:half]};\r\n"
              f" filename*1*={name[half:]}").encode()
    assert parse_message(_with_attachment(header)).attachments[0].filename == "很长的附件名称报价单.pdf"


def test_rfc2047_attachment_name_in_gb2312():
    word = "=?gb2312?B?" + base64.b64encode("合同.pdf".encode("gb2312")).decode() + "?="
    parsed = parse_message(_with_attachment(f'Content-Disposition: attachment; filename="{word}"'.encode()))
    assert parsed.attachments[0].filename == "合同.pdf"


def test_raw_gbk_attachment_name():
    parsed = parse_message(_with_attachment(b'Content-Disposition: attachment; filename="' +
                                            "发票.pdf".encode("gbk") + b'"'))
    assert parsed.attachments[0].filename == "发票.pdf"


@pytest.mark.parametrize("header,expected", [
    (b'Content-Disposition: attachment; filename="../../etc/passwd"', "passwd"),
    (b'Content-Disposition: attachment; filename="C:\\\\Users\\\\a\\\\x.pdf"', "x.pdf"),
    (b"Content-Disposition: attachment", "attachment-1.pdf"),
    (b'Content-Disposition: attachment; filename=".."', "attachment-1.pdf"),
])
def test_attachment_names_are_safe(header, expected):
    assert parse_message(_with_attachment(header)).attachments[0].filename == expected


def test_decode_bytes_never_raises_and_reports_loss():
    decoded = decode_bytes(b"\xff\xfe\xfa\x80\x81" * 3, "utf-8")
    assert decoded.text and isinstance(decoded.text, str)
    assert decode_bytes(b"", "gb2312").text == ""
    assert decode_bytes("退款".encode("gbk"), "no-such-charset").text == "退款"
