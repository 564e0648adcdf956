"""WeChat's message push protocol, the parts the desk speaks: the signature, the pushed XML, the
passive reply. Pure functions (no database), so the tests' simulated WeChat server uses the same
definitions of the wire format and the adapter stays easy to read.

- Signature: WeChat sends `signature`, `timestamp` and `nonce` in the query string of every request;
  signature = hex sha1 of the three strings token, timestamp, nonce sorted and joined.
- Pushed messages are small XML documents (<xml><ToUserName>...</xml>). They are untrusted input:
  parsed with defusedxml, which refuses entity expansion and external entities.
- Safe mode (安全模式) and compatible mode (兼容模式) encrypt the message ("消息加解密"): the push's
  query string adds `encrypt_type=aes` and `msg_signature`, and the XML carries <Encrypt>, which is
  base64(AES-256-CBC(16 random bytes + 4-byte big-endian length + message + AppID)) under the key
  base64decode(EncodingAESKey + "="), with its first 16 bytes as the IV and PKCS#7 padding to a
  32-byte block (WeChat's own choice; AES's block is 16). msg_signature = sha1 of the sorted, joined
  token, timestamp, nonce and Encrypt: it authenticates the ciphertext, CBC itself doesn't. A reply to
  an encrypted push is encrypted the same way and wrapped in <Encrypt>/<MsgSignature>/<TimeStamp>/<Nonce>.
  Compatible mode sends the plaintext fields next to <Encrypt>; when `encrypt_type=aes` the desk
  reads the decrypted ones.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import xml.etree.ElementTree as ET
from typing import Optional

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY = 64 * 1024  # WeChat's messages are a few hundred bytes
MODES = ("plaintext", "compatible", "safe")  # the console's 明文模式, 兼容模式, 安全模式
ENCODING_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")  # the console's EncodingAESKey: 43 base64 characters
_BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with a 32-byte block), not to AES's 16


class BadMessage(ValueError):
    pass


class Undecryptable(BadMessage):
    """An <Encrypt> that doesn't open under the account's key, or is for another AppID."""


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def signature_ok(token: str, timestamp: str, nonce: str, given: str) -> bool:
    if not (timestamp and nonce and given):
        return False
    return hmac.compare_digest(signature(token, timestamp, nonce).encode(), given.strip().lower().encode())


def parse(body: bytes) -> dict[str, str]:
    """The message's fields, {tag: text} of <xml>'s children; BadMessage if it isn't one."""
    try:
        root = fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise BadMessage(f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise BadMessage(f"the root element is <{root.tag}>, not <xml>")
    fields = {child.tag: (child.text or "").strip() for child in root if len(child) == 0}
    if "MsgType" not in fields and "Encrypt" in fields:
        raise BadMessage("an encrypted (safe mode) message: set the account to safe mode and enter its "
                         "EncodingAESKey")
    for required in ("ToUserName", "FromUserName", "MsgType"):
        if not fields.get(required):
            raise BadMessage(f"no <{required}>")
    return fields


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> bytes:
    """A passive reply: a text message back to the sender, as the body of the push's response."""
    root = ET.Element("xml")
    for tag, value in (("ToUserName", to_user), ("FromUserName", from_user), ("CreateTime", str(create_time)),
                       ("MsgType", "text"), ("Content", content)):
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="utf-8")


def describe(fields: dict[str, str]) -> Optional[str]:
    """The message as text for a ticket thread, or None for a type the desk doesn't take."""
    kind = fields.get("MsgType")
    if kind == "text":
        return fields.get("Content") or None
    if kind == "image":
        return f"[Image / 图片] {fields.get('PicUrl', '')} (MediaId {fields.get('MediaId', '')})".strip()
    if kind == "voice":
        said = fields.get("Recognition")
        if said:
            return f"[Voice / 语音] {said}"
        return f"[Voice / 语音] (no transcript; MediaId {fields.get('MediaId', '')}, {fields.get('Format', '')})"
    if kind in ("video", "shortvideo"):
        return f"[Video / 视频] (MediaId {fields.get('MediaId', '')})"
    if kind == "location":
        return (f"[Location / 位置] {fields.get('Label', '')} "
                f"({fields.get('Location_X', '')}, {fields.get('Location_Y', '')})").strip()
    if kind == "link":
        parts = [fields.get("Title", ""), fields.get("Description", ""), fields.get("Url", "")]
        return "[Link / 链接] " + "\n".join(p for p in parts if p)
    return None


# --------------------------------------------------------------------------------------------
# Message encryption (safe and compatible mode)
# --------------------------------------------------------------------------------------------
def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a console's EncodingAESKey; ValueError if it isn't one."""
    if not ENCODING_AES_KEY.match(encoding_aes_key or ""):
        raise ValueError("an EncodingAESKey is 43 characters of the base64 alphabet")
    return base64.b64decode(encoding_aes_key + "=")


def msg_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def msg_signature_ok(token: str, timestamp: str, nonce: str, encrypted: str, given: str) -> bool:
    if not (timestamp and nonce and encrypted and given):
        return False
    return hmac.compare_digest(msg_signature(token, timestamp, nonce, encrypted).encode(),
                               given.strip().lower().encode())


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(key: bytes, message: bytes, app_id: str, *, random_prefix: Optional[bytes] = None) -> str:
    """<Encrypt>'s text for `message` (the random prefix is fresh unless given: the tests pin it)."""
    prefix = os.urandom(16) if random_prefix is None else random_prefix
    plain = prefix + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = _BLOCK - len(plain) % _BLOCK
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")


def decrypt(key: bytes, encrypted: str, app_id: str) -> bytes:
    """The message inside <Encrypt>, checked to be for `app_id`; Undecryptable saying why not."""
    try:
        data = base64.b64decode(encrypted.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Undecryptable("<Encrypt> is not base64") from None
    if not data or len(data) % 16:
        raise Undecryptable(f"<Encrypt> is {len(data)} bytes, not whole AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise Undecryptable("<Encrypt> doesn't decrypt with this EncodingAESKey (bad padding): "
                            "check that the key matches the console's")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise Undecryptable("<Encrypt> decrypts to too little to hold a message")
    (length,) = struct.unpack(">I", plain[16:20])
    if length > len(plain) - 20:
        raise Undecryptable("<Encrypt> doesn't decrypt with this EncodingAESKey (bad length): "
                            "check that the key matches the console's")
    message, sender = plain[20:20 + length], plain[20 + length:]
    if sender != app_id.encode():
        shown = sender.decode("ascii", "replace")[:40]
        raise Undecryptable(f"the message is for AppID “{shown}”, not this account's {app_id}")
    return message


def encrypted_field(body: bytes) -> str:
    """<Encrypt>'s text in a pushed body ("" when there is none); BadMessage if the body isn't XML."""
    try:
        root = fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise BadMessage(f"not well-formed XML: {exc}") from None
    found = root.find("Encrypt") if root.tag == "xml" else None
    return (found.text or "").strip() if found is not None else ""


def encrypted_reply(key: bytes, token: str, app_id: str, reply: bytes, timestamp: str, nonce: str,
                    *, random_prefix: Optional[bytes] = None) -> bytes:
    """A passive reply to an encrypted push: `reply` encrypted, signed, in WeChat's envelope."""
    encrypted = encrypt(key, reply, app_id, random_prefix=random_prefix)
    root = ET.Element("xml")
    for tag, value in (("Encrypt", encrypted), ("MsgSignature", msg_signature(token, timestamp, nonce, encrypted)),
                       ("TimeStamp", timestamp), ("Nonce", nonce)):
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="utf-8")


def new_nonce() -> str:
    return str(int.from_bytes(os.urandom(4), "big"))
