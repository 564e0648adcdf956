"""WeChat's message push protocol, the parts the desk speaks: the signature, the pushed XML, the
passive reply. Pure functions (no database), so the tests' simulated WeChat server uses the same
definitions of the wire format and the adapter stays easy to read.

- Signature: WeChat sends `signature`, `timestamp` and `nonce` in the query string of every request;
  signature = hex sha1 of the three strings token, timestamp, nonce sorted and joined.
- Pushed messages are small XML documents (<xml><ToUserName>...</xml>). They are untrusted input:
  parsed with defusedxml, which refuses entity expansion and external entities.
- Safe mode (AES-encrypted bodies with EncodingAESKey) is not supported: a body with only <Encrypt>
  is refused with a message saying to choose plaintext or compatible mode (compatible mode sends the
  plaintext fields next to <Encrypt>, and is taken).
"""
from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from typing import Optional

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY = 64 * 1024  # WeChat's messages are a few hundred bytes


class BadMessage(ValueError):
    pass


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
        raise BadMessage("an encrypted (safe mode) message: set the account to plaintext or compatible mode")
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
