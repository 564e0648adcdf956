"""Safe mode (安全模式) and compatible mode (兼容模式): encrypted pushes against a simulated WeChat that
encrypts with its own implementation of WeChat's scheme (peer.py), pinned to WeChat's sample vectors;
the encrypted passive reply; and every way an encrypted push is refused, with nothing half-saved."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from factories import make_department
from portal.channels.mail.credentials import unseal
from portal.channels.wechat import protocol
from portal.extensions import db
from portal.models import ChannelDelivery, Contact, ContactIdentity, Thread, Ticket, WeChatAccount

from .conftest import ACCOUNT, APP_ID, ENCODING_AES_KEY, TOKEN, WeChatServer, encrypted_mode
from .peer import JAVA_SAMPLE, PYTHON_SAMPLE, PeerCrypto

pytestmark = pytest.mark.integration


def tickets() -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def log() -> list[ChannelDelivery]:
    return list(db.session.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id)))


def nothing_saved() -> bool:
    counts = [db.session.scalar(select(func.count()).select_from(model))
              for model in (Ticket, Thread, Contact, ContactIdentity)]
    return counts == [0, 0, 0, 0]


# --------------------------------------------------------------------------------------------
# The algorithm against WeChat's own sample vectors
# --------------------------------------------------------------------------------------------
def test_the_peer_and_the_desk_both_reproduce_wechats_java_sample():
    s = JAVA_SAMPLE
    peer = PeerCrypto(s["encoding_aes_key"], s["app_id"], s["token"])
    assert peer.encrypt(s["message"].encode(), random=s["random"]) == s["encrypted"]
    key = protocol.aes_key(s["encoding_aes_key"])
    assert protocol.encrypt(key, s["message"].encode(), s["app_id"], random_prefix=s["random"]) == s["encrypted"]
    assert protocol.decrypt(key, s["encrypted"], s["app_id"]).decode() == s["message"]


def test_the_desk_opens_wechats_python_sample_push():
    s = PYTHON_SAMPLE
    encrypted = protocol.encrypted_field(s["body"])
    assert protocol.msg_signature_ok(s["token"], s["timestamp"], s["nonce"], encrypted, s["msg_signature"])
    assert not protocol.msg_signature_ok("other", s["timestamp"], s["nonce"], encrypted, s["msg_signature"])
    message = protocol.decrypt(protocol.aes_key(s["encoding_aes_key"]), encrypted, s["app_id"])
    assert protocol.parse(message)["Content"] == "abcdteT"
    assert PeerCrypto(s["encoding_aes_key"], s["app_id"], s["token"]).decrypt(encrypted) == (message, s["app_id"])


def test_padding_is_to_32_byte_blocks_not_16():
    peer = PeerCrypto(ENCODING_AES_KEY, APP_ID, TOKEN)
    key = protocol.aes_key(ENCODING_AES_KEY)
    for size in range(0, 70):  # every padding length 1..32 comes up
        message = b"x" * size
        encrypted = protocol.encrypt(key, message, APP_ID)
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert peer.decrypt(encrypted) == (message, APP_ID)
        assert protocol.decrypt(key, peer.encrypt(message), APP_ID) == message


def test_the_sample_push_over_http_in_compatible_mode(client, app):
    """WeChat's sample push, byte for byte, at an account with the sample's settings."""
    s = PYTHON_SAMPLE
    account = WeChatAccount(public_id="wx-sample", name="sample", department=make_department(name="Sample"),
                            app_id=s["app_id"], token=s["token"], reply_zh="", reply_en="")
    db.session.add(account)
    encrypted_mode(account, "compatible", s["encoding_aes_key"])
    response = client.post(f"/channels/wechat/{account.public_id}", data=s["body"], query_string={
        "timestamp": s["timestamp"], "nonce": s["nonce"], "encrypt_type": "aes",
        "msg_signature": s["msg_signature"]}, headers={"Content-Type": "text/xml"})
    assert (response.status_code, response.data) == (200, b"success")
    [ticket] = tickets()
    assert ticket.threads[0].body_text == "abcdteT" and ticket.threads[0].sender == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


# --------------------------------------------------------------------------------------------
# Safe mode
# --------------------------------------------------------------------------------------------
def test_a_text_message_in_safe_mode_makes_a_ticket_and_an_encrypted_reply(safe_wechat):
    xml = safe_wechat.text("我的快递三天没动了")
    reply = safe_wechat.push_encrypted(xml)
    assert reply.status == 200
    [ticket] = tickets()
    assert ticket.subject == "WeChat: 我的快递三天没动了" and ticket.threads[0].sender == "oFollowerA"
    # The reply is WeChat's envelope; inside, for this AppID, the text reply with the ticket number.
    assert set(reply.envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert b"Content" not in reply.body and "工单号" not in reply.body.decode()
    assert reply.app_id == APP_ID
    assert (reply.fields["ToUserName"], reply.fields["FromUserName"], reply.fields["MsgType"]) == (
        "oFollowerA", ACCOUNT, "text")
    assert reply.content == f"已收到，工单号 #{ticket.id}。\n\nReceived: ticket #{ticket.id}."
    # the log keeps the decrypted message, which is what an admin can read
    [entry] = log()
    assert (entry.status, entry.ticket_id) == ("ticket", ticket.id) and "我的快递三天没动了" in entry.payload


def test_safe_mode_threads_retries_and_events_work_as_in_plaintext(safe_wechat):
    xml = safe_wechat.text("第一条", msg_id=555)
    first, retry = safe_wechat.push_encrypted(xml), safe_wechat.push_encrypted(xml)
    second = safe_wechat.push_encrypted(safe_wechat.text("第二条"))
    [ticket] = tickets()
    assert [t.body_text for t in ticket.threads] == ["第一条", "第二条"]
    assert first.content == retry.content == second.content and f"#{ticket.id}" in first.content
    event = safe_wechat.push_encrypted(safe_wechat.message("event", Event="subscribe"))
    assert (event.status, event.body) == (200, b"success")
    assert [d.status for d in log()] == ["ticket", "duplicate", "thread", "event"]


def test_safe_mode_refuses_a_plaintext_push(safe_wechat):
    reply = safe_wechat.push(safe_wechat.text("not encrypted"))  # correctly signed, but in the clear
    assert reply.status == 400 and nothing_saved()
    [entry] = log()
    assert entry.status == "rejected" and "safe mode" in entry.problem


def test_the_key_is_stored_sealed(safe_account):
    stored = db.session.scalar(select(WeChatAccount.encoding_aes_key).where(WeChatAccount.id == safe_account.id))
    assert ENCODING_AES_KEY not in stored and unseal(stored) == ENCODING_AES_KEY


def test_a_key_sealed_under_another_secret_is_refused_with_a_reason(safe_wechat, safe_account):
    safe_account.encoding_aes_key = "gAAAAABnot-a-token-of-this-desk"
    db.session.commit()
    reply = safe_wechat.push_encrypted(safe_wechat.text("hello"))
    assert reply.status == 500 and nothing_saved()
    assert "EncodingAESKey" in log()[0].problem


# --------------------------------------------------------------------------------------------
# Compatible mode
# --------------------------------------------------------------------------------------------
def test_compatible_mode_reads_the_encrypted_fields_and_takes_plaintext_pushes_too(wechat, account):
    encrypted_mode(account, "compatible")
    peer = EncryptingPeer(wechat)
    plain = wechat.text("plaintext copy", msg_id=901)
    inner = wechat.text("加密的内容", msg_id=901)
    # WeChat's plaintext copy is the same message; here it differs, to show which one the desk trusts
    reply = peer.push_encrypted(inner, compatible=True, encrypted=peer.crypto.encrypt(inner),
                                plain_body=plain)
    assert reply.status == 200 and reply.app_id == APP_ID
    [ticket] = tickets()
    assert ticket.threads[0].body_text == "加密的内容" and f"#{ticket.id}" in reply.content
    # a compatible account still takes a plain push (signature only) and answers in the clear
    plain_reply = wechat.push(wechat.text("明文消息"))
    assert plain_reply.status == 200 and f"#{ticket.id}" in plain_reply.content
    assert [t.body_text for t in ticket.threads] == ["加密的内容", "明文消息"]


def test_a_plaintext_account_takes_compatible_pushes_by_their_plaintext_fields(wechat):
    """Before the admin enters the key: the console is already compatible, the desk still plaintext."""
    reply = EncryptingPeer(wechat).push_encrypted(wechat.text("兼容模式"), compatible=True)
    assert reply.status == 200 and b"<Encrypt>" not in reply.body
    [ticket] = tickets()
    assert ticket.threads[0].body_text == "兼容模式"


# --------------------------------------------------------------------------------------------
# Refusals: logged with the reason, nothing else written
# --------------------------------------------------------------------------------------------
def test_a_wrong_msg_signature_is_403_and_logged(safe_wechat):
    xml = safe_wechat.text("hi")
    assert safe_wechat.push_encrypted(xml, msg_signature="0" * 40).status == 403
    assert safe_wechat.push_encrypted(xml, token="otherToken").status == 403
    # a signature over another ciphertext (the body swapped under a valid query string)
    other = safe_wechat.crypto.encrypt(safe_wechat.text("swapped"))
    query_sig = safe_wechat.crypto.sign(safe_wechat.query()["timestamp"], "1405632457", other)
    assert safe_wechat.push_encrypted(xml, msg_signature=query_sig).status == 403
    assert nothing_saved()
    assert [(d.status, d.http_status) for d in log()] == [("rejected", 403)] * 3
    assert all("msg_signature" in d.problem and "Token" in d.problem for d in log())


def test_a_message_for_another_appid_is_refused(safe_wechat):
    encrypted = safe_wechat.crypto.encrypt(safe_wechat.text("for someone else"), app_id="wx0000000000000000")
    reply = safe_wechat.push_encrypted(b"", encrypted=encrypted)
    assert reply.status == 400 and nothing_saved()
    [entry] = log()
    assert entry.status == "rejected" and "wx0000000000000000" in entry.problem and APP_ID in entry.problem
    assert encrypted in entry.payload  # the raw push is kept


def _flip_in_second_last_block(encrypted: str) -> str:
    data = bytearray(base64.b64decode(encrypted))
    data[-17] ^= 0x01  # CBC: flips the last plaintext byte, the padding
    return base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize("tamper, why", [
    (_flip_in_second_last_block, "padding"),
    (lambda e: base64.b64encode(base64.b64decode(e)[:-5]).decode(), "not whole AES blocks"),
    (lambda e: e[:20] + "!!!!" + e[24:], "not base64"),
    (lambda e: PeerCrypto("Z" * 43, APP_ID, TOKEN).encrypt(b"<xml>under another key</xml>" * 3), "EncodingAESKey"),
])
def test_a_tampered_or_undecryptable_ciphertext_is_refused(safe_wechat, tamper, why):
    """Signed correctly (whoever tampered knew the Token), but it doesn't open: refused, nothing saved."""
    encrypted = tamper(safe_wechat.crypto.encrypt(safe_wechat.text("原来的消息")))
    reply = safe_wechat.push_encrypted(b"", encrypted=encrypted)
    assert reply.status == 400 and nothing_saved()
    [entry] = log()
    assert entry.status == "rejected" and "decrypt" in entry.problem and why in entry.problem


def test_an_encrypted_push_without_encrypt_is_refused(safe_wechat):
    query = safe_wechat.query(encrypt_type="aes", msg_signature="0" * 40)
    reply = safe_wechat.push(safe_wechat.text("plain body, aes query"), query=query)
    assert reply.status == 400 and nothing_saved() and "<Encrypt>" in log()[0].problem


def test_an_oversized_encrypted_push_is_413(safe_wechat):
    padding = "x" * protocol.MAX_BODY
    reply = safe_wechat.push_encrypted(safe_wechat.text(padding))
    assert reply.status == 413 and nothing_saved() and log()[0].status == "rejected"


def test_a_switched_off_safe_account_refuses(safe_wechat, safe_account):
    safe_account.active = False
    db.session.commit()
    assert safe_wechat.push_encrypted(safe_wechat.text("hello")).status == 403
    assert nothing_saved() and "switched off" in log()[0].problem


class EncryptingPeer:
    """A plaintext-fixture server speaking compatible mode (optionally with a different plaintext copy)."""

    def __init__(self, server: WeChatServer):
        from .conftest import EncryptingWeChatServer
        self.crypto = PeerCrypto(ENCODING_AES_KEY, APP_ID, TOKEN)
        self.server = EncryptingWeChatServer(server.client, server.url, crypto=self.crypto)

    def push_encrypted(self, xml: bytes, *, compatible: bool, encrypted: str | None = None,
                       plain_body: bytes | None = None):
        encrypted = encrypted or self.crypto.encrypt(xml)
        return self.server.push_encrypted(plain_body or xml, compatible=compatible, encrypted=encrypted)
