"""A WeChat account and a simulated WeChat server: it signs each push as WeChat does (sha1 of the
sorted token, timestamp and nonce, in the query string), builds the message XML a follower's action
produces, and parses the passive reply it gets back. In safe and compatible mode it also encrypts the
push and decrypts the reply, with its own implementation of WeChat's scheme (peer.py)."""
from __future__ import annotations

import hashlib
import itertools
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest

from factories import make_department
from portal.extensions import db
from portal.models import WeChatAccount

from .peer import PeerCrypto

TOKEN = "deskToken42"
ACCOUNT = "gh_0123456789ab"
APP_ID = "wx1234567890abcdef"
ENCODING_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
_msg_ids = itertools.count(6_800_000_000_000_000_001)


@pytest.fixture
def account(app) -> WeChatAccount:
    department = make_department(name="WeChat care", name_zh="微信客服")
    acct = WeChatAccount(public_id="wx-test-account", name="客服号", department=department, app_id=APP_ID,
                         token=TOKEN, reply_zh="已收到，工单号 #{ticket}。", reply_en="Received: ticket #{ticket}.")
    db.session.add(acct)
    db.session.commit()
    return acct


@dataclass
class Reply:
    status: int
    body: bytes
    fields: dict

    @property
    def content(self) -> str:
        return self.fields.get("Content", "")


@dataclass
class WeChatServer:
    client: object
    url: str
    token: str = TOKEN

    def query(self, token: str | None = None, **extra) -> dict:
        timestamp, nonce = str(int(time.time())), "1405632457"
        signature = hashlib.sha1("".join(sorted([token or self.token, timestamp, nonce])).encode()).hexdigest()
        return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}

    def verify(self, echostr="5837397520665436492", token=None):
        return self.client.get(self.url, query_string=self.query(token, echostr=echostr))

    def push(self, xml: bytes, token: str | None = None, query: dict | None = None) -> Reply:
        response = self.client.post(self.url, query_string=query or self.query(token), data=xml,
                                    headers={"Content-Type": "text/xml"})
        fields = {}
        if response.status_code == 200 and response.data.startswith(b"<xml"):
            fields = {child.tag: child.text or "" for child in ET.fromstring(response.data)}
        return Reply(response.status_code, response.data, fields)

    @staticmethod
    def message(msg_type: str, openid: str = "oFollowerA", msg_id: int | None = None, **fields) -> bytes:
        """The XML WeChat pushes for a follower's message (MsgId fresh unless given) or event (no MsgId)."""
        root = ET.Element("xml")
        values = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": str(int(time.time())),
                  "MsgType": msg_type, **fields}
        if msg_type != "event":
            values["MsgId"] = str(msg_id if msg_id is not None else next(_msg_ids))
        for tag, value in values.items():
            ET.SubElement(root, tag).text = str(value)
        return ET.tostring(root, encoding="utf-8")

    def text(self, content: str, **kw) -> bytes:
        return self.message("text", Content=content, **kw)


@pytest.fixture
def wechat(client, account) -> WeChatServer:
    return WeChatServer(client, f"/channels/wechat/{account.public_id}")


def encrypted_mode(account: WeChatAccount, mode: str, encoding_aes_key: str = ENCODING_AES_KEY) -> WeChatAccount:
    from portal.channels.wechat.intake import set_encoding_aes_key

    account.mode = mode
    set_encoding_aes_key(account, encoding_aes_key)
    db.session.commit()
    return account


@pytest.fixture
def safe_account(account) -> WeChatAccount:
    return encrypted_mode(account, "safe")


@dataclass
class EncryptedReply(Reply):
    envelope: dict = field(default_factory=dict)   # <Encrypt>, <MsgSignature>, <TimeStamp>, <Nonce>
    app_id: str = ""                               # the AppID at the end of the decrypted reply


@dataclass
class EncryptingWeChatServer(WeChatServer):
    """WeChat in safe or compatible mode: pushes carry encrypt_type=aes, msg_signature and <Encrypt>."""
    crypto: PeerCrypto = None

    def push_encrypted(self, xml: bytes, *, compatible: bool = False, encrypted: str | None = None,
                       msg_signature: str | None = None, token: str | None = None) -> EncryptedReply:
        encrypted = self.crypto.encrypt(xml) if encrypted is None else encrypted
        if compatible:  # the plaintext fields and <Encrypt> side by side
            body = xml.replace(b"</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode())
        else:
            body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        query = self.query(token)
        signer = PeerCrypto(self.crypto.encoding_aes_key, self.crypto.app_id, token or self.token)
        query.update(openid="oFollowerA", encrypt_type="aes", msg_signature=msg_signature or signer.sign(
            query["timestamp"], query["nonce"], encrypted))
        response = self.client.post(self.url, query_string=query, data=body, headers={"Content-Type": "text/xml"})
        reply = EncryptedReply(response.status_code, response.data, {})
        if response.status_code == 200 and response.data.startswith(b"<"):
            reply.envelope = {child.tag: child.text or "" for child in ET.fromstring(response.data)}
            if "Encrypt" not in reply.envelope:  # a reply in the clear (allowed in compatible mode)
                reply.fields, reply.envelope = reply.envelope, {}
                return reply
            # WeChat checks the reply's signature before it opens it
            assert reply.envelope["MsgSignature"] == self.crypto.sign(
                reply.envelope["TimeStamp"], reply.envelope["Nonce"], reply.envelope["Encrypt"])
            inner, reply.app_id = self.crypto.decrypt(reply.envelope["Encrypt"])
            reply.fields = {child.tag: child.text or "" for child in ET.fromstring(inner)}
        return reply


@pytest.fixture
def safe_wechat(client, safe_account) -> EncryptingWeChatServer:
    return EncryptingWeChatServer(client, f"/channels/wechat/{safe_account.public_id}",
                                  crypto=PeerCrypto(ENCODING_AES_KEY, APP_ID, TOKEN))
