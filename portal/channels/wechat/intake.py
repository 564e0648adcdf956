"""Pushed WeChat messages in, tickets and threads out, and the passive reply.

A follower's message (text, image, voice with its transcript, video, location, link) becomes a
customer thread on that follower's latest open ticket in the account's department, or a new ticket
when there is none. The follower is a contact with a "wechat" identity (their openid for this
account). Events (subscribe, unsubscribe, menu clicks...) are logged and make no ticket.

WeChat retries a push it got no answer to within 5 seconds, up to three times, with the same MsgId:
a MsgId already taken answers with the same reply and creates nothing (the thread's message id is
unique, so two racing retries can't both be taken). Every push is kept as a ChannelDelivery.
The caller commits (`take` and `receive` flush).

`take` is the front door for a POSTed push: it checks the signature and the account's encryption
mode (see protocol: plaintext, compatible, safe), decrypts an encrypted push and encrypts the
reply to it. A refused push is logged with the reason and writes nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...i18n import keep_text
from ...models import OPEN_STATUSES, ChannelDelivery, Thread, Ticket, WeChatAccount, utcnow
from ...services import tickets as ticket_service
from ...services.contacts import find_or_create_by_identity
from ...services.errors import ValidationFailed
from ...services.tickets import Actor
from ..mail.credentials import CredentialsUnreadable, seal, unseal
from . import protocol

SUBJECT_LENGTH = 60
TICKET_PLACEHOLDER = "{ticket}"


@dataclass
class Result:
    delivery: ChannelDelivery
    reply: Optional[bytes] = None   # the passive reply's XML; None: answer "success" (nothing to say)


def take(account: WeChatAccount, body: bytes, args: Mapping[str, str], *,
         now: Optional[datetime] = None) -> Result:
    """Check one POSTed push (`args`: its query string) and take it, or log why not (flushed)."""
    now = now or utcnow()
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if account.mode != "plaintext" and args.get("encrypt_type", "").lower() == "aes":
        return _take_encrypted(account, body, args, timestamp, nonce, now)
    if not protocol.signature_ok(account.token, timestamp, nonce, args.get("signature", "")):
        return Result(refuse(account, body, 403, _l("Bad signature: check that the Token matches the console's.")))
    if not account.active:
        return Result(refuse(account, body, 403, _l("This account is switched off.")))
    if account.mode == "safe":  # only encrypted pushes: a plaintext one means the two sides disagree
        return Result(refuse(account, body, 400, _l(
            "The account is in safe mode but the push isn't encrypted (no encrypt_type=aes): set the same "
            "message encryption mode here and in the console.")))
    return receive(account, body, now=now)


def _take_encrypted(account: WeChatAccount, body: bytes, args: Mapping[str, str], timestamp: str, nonce: str,
                    now: datetime) -> Result:
    if len(body) > protocol.MAX_BODY:
        return receive(account, body, now=now)  # refused as too large, like a plaintext push
    try:
        encrypted = protocol.encrypted_field(body)
    except protocol.BadMessage as exc:
        return Result(refuse(account, body, 400, str(exc)))
    if not encrypted:
        return Result(refuse(account, body, 400, _l("An encrypted push (encrypt_type=aes) without <Encrypt>.")))
    if not protocol.msg_signature_ok(account.token, timestamp, nonce, encrypted, args.get("msg_signature", "")):
        return Result(refuse(account, body, 403, _l(
            "Bad msg_signature: check that the Token matches the console's.")))
    if not account.active:
        return Result(refuse(account, body, 403, _l("This account is switched off.")))
    key = aes_key_of(account)
    if key is None:
        return Result(refuse(account, body, 500, _l(
            "The saved EncodingAESKey can't be read (the credentials key changed?): enter it again.")))
    try:
        message = protocol.decrypt(key, encrypted, account.app_id)
    except protocol.Undecryptable as exc:
        return Result(refuse(account, body, 400, _l("Can't decrypt the message: %(why)s.", why=str(exc))))
    # The log keeps the decrypted message: the ciphertext would tell the admin nothing.
    result = receive(account, message, now=now)
    if result.reply is not None:
        result.reply = protocol.encrypted_reply(key, account.token, account.app_id, result.reply,
                                                str(int(now.timestamp())), protocol.new_nonce())
    return result


def aes_key_of(account: WeChatAccount) -> Optional[bytes]:
    """The account's AES key, or None when none is saved or it can't be unsealed."""
    if not account.encoding_aes_key:
        return None
    try:
        return protocol.aes_key(unseal(account.encoding_aes_key))
    except (CredentialsUnreadable, ValueError):
        return None


def set_encoding_aes_key(account: WeChatAccount, encoding_aes_key: str) -> None:
    """Keep the console's EncodingAESKey on the account, sealed (protocol.aes_key checks it first)."""
    protocol.aes_key(encoding_aes_key)
    account.encoding_aes_key = seal(encoding_aes_key)


def receive(account: WeChatAccount, body: bytes, *, now: Optional[datetime] = None) -> Result:
    """Take one push whose signature was checked (flushed, not committed)."""
    now = now or utcnow()
    record = ChannelDelivery(kind="wechat", wechat_id=account.id, received_at=now, status="rejected",
                             http_status=400, payload=body[:protocol.MAX_BODY].decode("utf-8", "replace"))
    db.session.add(record)
    if len(body) > protocol.MAX_BODY:
        return _finish(record, "rejected", 413, problem=_l("The body is over %(n)s bytes.",
                                                           n=f"{protocol.MAX_BODY:,}"))
    try:
        message = protocol.parse(body)
    except protocol.BadMessage as exc:
        return _finish(record, "rejected", 400, problem=str(exc))
    openid = message["FromUserName"][:255]
    record.conversation, record.external_id = openid, (message.get("MsgId") or None)
    if message["MsgType"] == "event":
        event = message.get("Event", "?")
        return _finish(record, "event", 200, problem=_l("Event “%(event)s”: no ticket.", event=event))
    text = protocol.describe(message)
    if text is None:
        return _finish(record, "rejected", 200, problem=_l("Message type “%(type)s” is not taken.",
                                                           type=message["MsgType"]))
    earlier = _earlier_ticket(account, record.external_id)
    if earlier is not None:
        _finish(record, "duplicate", 200, ticket=earlier)
        return Result(record, _reply(account, message, earlier, now))
    contact = find_or_create_by_identity("wechat", openid)
    ticket = _open_ticket(account, contact.id)
    actor = Actor(label=f"wechat {openid}"[:120])
    message_id = _message_id(account, record.external_id)
    savepoint = db.session.begin_nested()
    try:
        if ticket is not None:
            thread = ticket_service.add_thread(ticket, kind="customer", body=text, contact=contact, channel="wechat",
                                               sender=openid, message_id=message_id, by=actor, now=now)
            status = "thread"
        else:
            ticket = ticket_service.create_ticket(
                subject=_subject(message, text), body=text, department=account.department, contact=contact,
                channel="wechat", sender=openid, message_id=message_id, by=actor, now=now)
            thread, status = ticket.threads[0], "ticket"
        savepoint.commit()
    except IntegrityError:  # a retry of the same MsgId taken a moment ago by another worker
        savepoint.rollback()
        earlier = _earlier_ticket(account, record.external_id)
        if earlier is None:
            raise
        _finish(record, "duplicate", 200, ticket=earlier)
        return Result(record, _reply(account, message, earlier, now))
    except ValidationFailed as exc:
        savepoint.rollback()
        return _finish(record, "rejected", 200, problem=list(exc.errors.items()))
    _finish(record, status, 200, ticket=ticket, thread=thread)
    return Result(record, _reply(account, message, ticket, now))


def refuse(account: WeChatAccount, body: bytes, http_status: int, problem) -> ChannelDelivery:
    """Log a push refused before it was read (a bad signature, a switched-off account); `problem`
    a lazy message (or plain text), kept for the log's readers' languages."""
    record = ChannelDelivery(kind="wechat", wechat_id=account.id, received_at=utcnow(), status="rejected",
                             http_status=http_status, problem=keep_text(problem),
                             payload=body[:protocol.MAX_BODY].decode("utf-8", "replace"))
    db.session.add(record)
    db.session.flush()
    return record


def _finish(record: ChannelDelivery, status: str, http_status: int, *, problem=None,
            ticket: Optional[Ticket] = None, thread: Optional[Thread] = None) -> Result:
    problems = problem if isinstance(problem, list) else [problem]
    record.status, record.http_status, record.problem = status, http_status, keep_text(*problems)
    record.ticket_id = ticket.id if ticket is not None else None
    record.thread_id = thread.id if thread is not None else None
    db.session.flush()
    return Result(record)


def _message_id(account: WeChatAccount, msg_id: Optional[str]) -> Optional[str]:
    return f"wechat:{account.public_id}:{msg_id}" if msg_id else None


def _earlier_ticket(account: WeChatAccount, msg_id: Optional[str]) -> Optional[Ticket]:
    if not msg_id:
        return None
    thread = db.session.scalar(select(Thread).where(Thread.message_id == _message_id(account, msg_id)))
    return thread.ticket if thread is not None else None


def _open_ticket(account: WeChatAccount, contact_id: int) -> Optional[Ticket]:
    return db.session.scalar(select(Ticket).where(
        Ticket.contact_id == contact_id, Ticket.department_id == account.department_id,
        Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id.desc()).limit(1))


def _subject(message: dict, text: str) -> str:
    if message["MsgType"] == "text":
        first = " ".join(text.split())
        return "WeChat: " + (first if len(first) <= SUBJECT_LENGTH else first[:SUBJECT_LENGTH - 1] + "…")
    return "WeChat: " + text.split("]", 1)[0].lstrip("[") if "]" in text else "WeChat message"


def reply_text(account: WeChatAccount, ticket: Ticket) -> str:
    """The account's reply texts (Chinese first: WeChat's followers mostly read it), with the number in."""
    texts = [t.replace(TICKET_PLACEHOLDER, str(ticket.id)).strip() for t in (account.reply_zh, account.reply_en)]
    return "\n\n".join(t for t in texts if t)


def _reply(account: WeChatAccount, message: dict, ticket: Ticket, now: datetime) -> Optional[bytes]:
    content = reply_text(account, ticket)
    if not content:
        return None
    return protocol.text_reply(message["FromUserName"], message["ToUserName"], content, int(now.timestamp()))
