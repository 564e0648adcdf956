"""Real-world messages from six open-source mail libraries (see ../shared/fixtures/mail/MANIFEST.md).

Every file parses without an exception; for a table of representative ones, the sender, subject
and a distinctive piece of body text are what a mail client shows (values read off by hand: the
Chinese, Japanese and Korean must be real text, not mojibake)."""
from __future__ import annotations

import pytest

from portal.channels.mail import ParsedMessage, parse_message

from .mailfiles import fixture_files, fixture_folder, fixture_ids, read

FILES = fixture_ids()
MISSING = f"mail fixtures not found at {fixture_folder()} (set DESKWRIGHT_SHARED to the shared folder)"


@pytest.mark.parametrize("name", FILES or [pytest.param("-", marks=pytest.mark.skip(reason=MISSING))])
def test_every_fixture_parses(name):
    parsed = parse_message(read(name))
    assert isinstance(parsed, ParsedMessage)
    assert isinstance(parsed.text, str) and isinstance(parsed.reply_text, str)
    if parsed.text:
        assert parsed.reply_text  # never empty when there is text
    assert all(a.filename and "/" not in a.filename and "\\" not in a.filename for a in parsed.attachments)
    assert parsed.date is None or parsed.date.utcoffset().total_seconds() == 0
    assert parsed.ok or parsed.problems  # an unusable message always says why


def test_fixture_folder_is_complete():
    if not FILES:
        pytest.skip(MISSING)
    assert len(fixture_files()) >= 150


# (file, sender address, exact subject, snippet of the text a mail client shows)
TABLE = [
    # Chinese
    ("spamscope-mail-parser/mail_test_12.eml", "baoguan@hotmail.com", "代开各地增值税发票",
     "你好！我公司可代开各类增值税发票，17%专用发票"),
    ("spamscope-mail-parser/mail_test_9.eml", "zyb@sgis.com.cn",
     "我把镜头拉近些，你们看看这个是什么屄，这种场合自然少不了内射", "我把镜头拉近些"),
    ("webklex-php-imap/gbk_charset.eml", "from@there.com", "Nuu", "Hi"),
    ("mikel-mail/error_emails__content_transfer_encoding_empty.eml", "3712f2@msa.hinet.net",
     "4d8119 (大補泡麵專賣) 大家說英語 每日聽MP3 (2004年6月份) 繁體中文光碟版 (英語教學) 8afb90",
     "Yahoo! 工具列 - 內置防止彈出視窗工能！"),
    ("enmime/parts__chardet-success-big-5.raw.eml", None, "", "夫九州之人，言語不同，生民已來，固常然矣。"),
    # Japanese
    ("mikel-mail/multi_charset__japanese.eml", "raasdnil@gmail.com", "まみむめも", "かきくえこ"),
    ("mikel-mail/multi_charset__japanese_iso_2022.eml", "raasdnil@gmail.com", "まみむめも", "すみません。"),
    ("mikel-mail/multi_charset__japanese_shift_jis.eml", "xxxxxxx@docomo.ne.jp", "test",
     "このメールはテスト用のメールです。"),
    ("mikel-mail/rfc2822__example14.eml", "atsushi@example.com", "Re: TEST テストテスト", "Hello"),
    ("webklex-php-imap/issue-410.eml", "from@there.com",
     "☆第132号 「ガーデン&エクステリア」専門店のためのＱ&Ａサロン 【月刊エクステリア・ワーク】", ""),
    ("stalwart-mail-parser/thirdparty__005.eml", None, "", "『世界人権宣言』"),
    # Korean
    ("mikel-mail/multi_charset__ks_c_5601-1987.eml", "from@example.com", "test", "스티해"),
    ("mikel-mail/plain_emails__raw_email.eml", "jamis@37signals.com", "NOTE: 한국말로 하는 것",
     "대부분의 마찬가지로, 우리는 하나님을 믿습니다."),
    ("webklex-php-imap/ks_c_5601-1987_headers.eml", "from@there.com", "RE: 회원님께 Ersi님이 메시지를 보냈습니다.",
     "Content"),
    # Cyrillic, Latin with 8-bit headers
    ("spamscope-mail-parser/mail_test_6.eml", "noreply@ggg.com", "Быстрее вкладывайте в золото!",
     "Профессионалы.ru — ведущая деловая сеть России"),
    ("flanker/mailgun-pic.eml", "hello@example.com", "Mailgun rocks!", "Мейлган! Хахах!"),
    ("flanker/from-encoding.eml", "ingo@blank.pages.de", "Re: running server as root (Was: Re: PUT method)",
     "Marc Slemko wrote:"),
    ("mikel-mail/error_emails__invalid_subject_characters.eml", "info@formacaofrenetik.info",
     "Formação FrenetikPolis: Mega Campanha Final Verão | Cursos de Setembro", "TEST"),
    ("flanker/spam__broken-headers.eml", "admin@advertise-bz.cn", "Forget Asking For A Link Exchange…",
     "Do you really know what it takes to quickly"),
    ("mikel-mail/rfc6532__utf8_headers.eml", "jdöe@mächine.example", "Säying Hello", "body"),
    ("mikel-mail/plain_emails__raw_email_bad_time.eml", "yusuf75thu@auracom.net", "[0]: XXXXXXX XXXXX XXXXX !",
     "This message has been scanned for viruses"),
    # HTML-only, inline images
    ("enmime/mail__html-only-inline.raw.eml", "james@makita.skynet", "MIME test 1", "Test of HTML section"),
    ("webklex-php-imap/html_only.eml", "from@there.com", "Nuu", "Hi"),
    ("spamscope-mail-parser/mail_test_4.eml", "anabelgonzalo@fanox.com", "PI",
     "We have made the payment of USD 103,349,35."),
    # Nested messages
    ("flanker/enclosed.eml", "bob@example.net", "Wow", "Hello"),
    ("webklex-php-imap/embedded_email.eml", "demo@cerstor.cz", "embedded message",
     "email that contains embedded message"),
    ("flanker/torture-part.eml", "mrc@cac.washington.edu", "Multi-media mail demonstration",
     "This is a demonstration of multi-part mail with encapsulated messages."),
    # Encoded attachment names, threading, quoted replies
    ("spamscope-mail-parser/mail_test_11.eml", "suvorov.s@nalg.ru", "письмо уведом-е",
     "Информируем Вас об имеющейся задолженности."),
    ("webklex-php-imap/issue-412.eml", "tonymarston@hotmail.com", "RE: TEST MESSAGE",
     "Here is my reply to your reply."),
    ("flanker/text-only.eml", "bob@marley.com", "Testing message parsing", "I'm just testing message parsing"),
    # Bounces and reports
    ("flanker/bounce__delayed.eml", "mailer-daemon@cs.example.com", "Returned mail: Cannot send message for 5 days",
     "The following addresses had delivery problems"),
    ("flanker/bounce__gmail-no-dns.eml", "mailer-daemon@googlemail.com", "Delivery Status Notification (Failure)",
     "DNS Error: Domain name not found"),
    ("flanker/bounce__office365.eml", "postmaster@example.no", "Undeliverable: test_bounce 8",
     "Your message to noname@example.com couldn't be delivered."),
    ("mikel-mail/multipart_report_emails__report_422.eml", "mailer-daemon@tppppp.com.au",
     "Warning: could not send message for past 8 hours", "THIS IS A WARNING MESSAGE ONLY"),
    ("webklex-php-imap/example_bounce.eml", "mailer-daemon@sslproxy01.your-server.de", "Mail delivery failed",
     "This message was created automatically by mail delivery software."),
    ("enmime/mail__multipart-wo-boundary.raw.eml", "mailer-daemon@example.com",
     "Delivery Status Notification (Failure)", "multipart message without boundary"),
    # Malformed
    ("flanker/mailformed-headers.eml", "headers@gmail.com", "´!", "Hello"),
    ("enmime/low-quality__bad-header-start.raw.eml", None, "plain text", "A text section"),
    ("stalwart-mail-parser/thirdparty__004.eml", None, "", ""),
]
BOUNCES = {"flanker/bounce__delayed.eml", "flanker/bounce__gmail-no-dns.eml", "flanker/bounce__office365.eml",
           "mikel-mail/multipart_report_emails__report_422.eml", "webklex-php-imap/example_bounce.eml",
           "enmime/mail__multipart-wo-boundary.raw.eml"}
NOT_ANSWERED = BOUNCES | {"spamscope-mail-parser/mail_test_6.eml", "flanker/from-encoding.eml"}  # lists, bulk


@pytest.mark.parametrize("name,sender,subject,snippet", TABLE, ids=[row[0] for row in TABLE])
def test_what_a_mail_client_shows(name, sender, subject, snippet):
    if not FILES:
        pytest.skip(MISSING)
    parsed = parse_message(read(name))
    assert parsed.from_address == sender
    assert parsed.subject == subject
    assert snippet in parsed.text
    assert "\ufffd" not in parsed.subject
    assert parsed.is_bounce == (name in BOUNCES)
    assert (parsed.loop_reason is not None) == (name in NOT_ANSWERED), parsed.loop_reason


def test_table_is_representative():
    assert len(TABLE) >= 30


def _parsed(name: str):
    if not FILES:
        pytest.skip(MISSING)
    return parse_message(read(name))


def test_gb2312_sender_name_and_undeclared_big5_header_bytes():
    assert _parsed("spamscope-mail-parser/mail_test_12.eml").from_name == "张先生"
    parsed = _parsed("mikel-mail/error_emails__content_transfer_encoding_empty.eml")
    assert not parsed.headers_ok  # the 8-bit subject had to be worked around
    assert "軟體帝國更新迅速" in parsed.text


def test_korean_and_japanese_names():
    assert _parsed("webklex-php-imap/ks_c_5601-1987_headers.eml").from_name == "김 현진"
    assert _parsed("mikel-mail/multi_charset__japanese.eml").from_name == "Mikel Lindsaar"


def test_rfc2047_and_rfc2231_attachment_names():
    names = [a.filename for a in _parsed("mikel-mail/multi_charset__japanese_attachment.eml").attachments]
    assert names == ["てすと.txt"]
    names = [a.filename for a in _parsed("mikel-mail/multi_charset__japanese_attachment_long_name.eml").attachments]
    assert names == ["かきくけこかきくけこかきくけこかきくけこかきくけこ.txt"]
    names = [a.filename for a in _parsed("spamscope-mail-parser/mail_test_11.eml").attachments]
    assert names[0].startswith("Prokuratura Rejonowa Warszawa-Śródmieście północ")
    assert names[0].endswith("postepowaniu.pdf")
    names = [a.filename for a in _parsed("spamscope-mail-parser/mail_test_1.eml").attachments]
    assert names == ["ФНС_РФ558.zip"]


def test_inline_image_keeps_its_content_id_and_the_html_its_cid_reference():
    parsed = _parsed("enmime/mail__html-only-inline.raw.eml")
    [image] = parsed.attachments
    assert (image.filename, image.content_type, image.inline) == ("favicon.png", "image/png", True)
    assert image.content_id == "8B8481A2-25CA-4886-9B5A-8EB9115DD064@skynet"
    assert image.data.startswith(b"\x89PNG")
    assert f'src="cid:{image.content_id}"' in parsed.html


def test_nested_messages_are_attachments_named_from_their_subject_not_body_text():
    parsed = _parsed("flanker/enclosed.eml")
    assert parsed.text == "Hello"
    [nested] = parsed.attachments
    assert (nested.filename, nested.content_type) == ("thanks.eml", "message/rfc822")
    inner = parse_message(nested.data)
    assert inner.subject == "Thanks!" and inner.text  # (named by its own filename parameter)
    assert inner.text not in parsed.text
    torture = _parsed("flanker/torture-part.eml")
    assert [a.filename for a in torture.attachments] == ["Re_ a MIME-Version misfeature.eml"]


def test_forwarded_bounce_inside_an_attachment_is_not_a_bounce():
    parsed = _parsed("webklex-php-imap/embedded_email.eml")
    assert not parsed.is_bounce and parsed.loop_reason is None


def test_threading_headers():
    parsed = _parsed("webklex-php-imap/thread_re_my_topic.eml")
    assert parsed.in_reply_to and all("<" not in i and ">" not in i for i in parsed.in_reply_to)
    refs = _parsed("mikel-mail/error_emails__multiple_references_with_one_invalid.eml").references
    assert refs and all("<" not in r for r in refs)


def test_outlook_reply_is_stripped_to_the_new_text():
    parsed = _parsed("webklex-php-imap/issue-412.eml")
    assert parsed.reply_text == "Here is my reply to your reply.\n\nTony Marston"
    assert "From: gmx@tonymarston.co.uk" in parsed.text  # the original is kept


def test_forwarded_message_is_not_stripped():
    parsed = _parsed("flanker/multi-received-headers.eml")
    assert parsed.reply_text == parsed.text


def test_unusable_input_is_flagged_not_raised():
    for name in ("enmime/mail__erroneous.raw.eml", "spamscope-mail-parser/mail_outlook_1.eml"):
        parsed = _parsed(name)
        assert not parsed.ok and parsed.problems


def test_ordinary_mail_is_ok_and_answerable():
    parsed = _parsed("flanker/text-only.eml")
    assert parsed.ok and parsed.headers_ok and not parsed.problems
    assert not parsed.auto_submitted and not parsed.is_bounce and parsed.loop_reason is None
    assert parsed.from_name == "Bob Marley"
    assert parsed.date.isoformat() == "2011-12-29T10:06:53+00:00"
    assert parsed.message_id == "CAEAsyCbSF1Bk7CBuu6zp3Qs8=j2iUkNi3dPkGe6z40q4dmaogQ@mail.gmail.com"


def test_auto_submitted_reports():
    parsed = _parsed("mikel-mail/multipart_report_emails__report_530.eml")
    assert parsed.auto_submitted and parsed.is_bounce
    assert "Auto-Submitted" in parsed.loop_reason
