"""Raw email in, tickets and threads out: the one entry point of every mail channel (the MTA pipe,
the HTTP endpoint, the IMAP poller).

Every message is kept (an InboundMessage row with its raw bytes) whatever becomes of it, and only
the ticket service creates tickets and threads. Order of the checks, each a reason to stop:
too large or unreadable (flagged for an admin), already taken (duplicate, by Message-ID), the desk's
own mail or a bounce (ignored: answering would loop), the sender's rate limit (held), then
threading: In-Reply-To / References against the messages the desk knows, then a ticket number in
the subject when the sender is that ticket's customer, then Outlook's Thread-Index; otherwise a new ticket of the mailbox's
department. The caller commits (`ingest` flushes), so one message is one transaction.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import ContactIdentity, Department, InboundMessage, Mailbox, Thread, Ticket, utcnow
from ...services import tickets as ticket_service
from ...services.attachments import mail_attachment_problem, store_bytes
from ...services.contacts import find_or_create_contact
from ...services.errors import ValidationFailed
from ...services.tickets import Actor
from .headers import conversation_key
from .parse import ParsedMessage, parse_message

# "[#123]" as the desk writes it in the subjects of its replies, or "Ticket #123" / "工单 #123".
SUBJECT_NUMBER = re.compile(r"\[#(\d{1,9})\]|(?:ticket|工单)\s*#\s*(\d{1,9})", re.IGNORECASE)
TAKEN = ("ticket", "reply")


def ingest(raw: bytes, *, via: str = "pipe", mailbox: Optional[Mailbox] = None,
           now: Optional[datetime] = None) -> InboundMessage:
    """Take one raw message; the InboundMessage says what became of it (flushed, not committed)."""
    now = now or utcnow()
    # "flagged" until decided: queries below autoflush the row
    record = InboundMessage(raw=raw, size=len(raw), via=via, received_at=now, mailbox=mailbox, subject="",
                            status="flagged")
    db.session.add(record)
    if len(raw) > current_app.config["MAX_INBOUND_MAIL_BYTES"]:
        return _finish(record, "flagged", problem=f"The message is {len(raw):,} bytes, over the limit of "
                                                   f"{current_app.config['MAX_INBOUND_MAIL_BYTES']:,}.")
    parsed = parse_message(raw)
    record.message_id = (parsed.message_id or None) and parsed.message_id[:998]
    record.sender = parsed.from_address[:320] if parsed.from_address else None
    record.subject = (parsed.subject or "")[:500]
    record.loop_reason = parsed.loop_reason[:200] if parsed.loop_reason else None
    record.conversation = conversation_key(parsed.thread_index)
    earlier = _already_taken(record.message_id)
    if earlier is not None:
        return _finish(record, "duplicate", ticket_id=earlier)
    if not parsed.ok or not record.sender:
        return _finish(record, "flagged", problem="; ".join(parsed.problems) or "No sender address.")
    addresses = _desk_addresses()
    if record.sender in addresses:
        return _finish(record, "ignored", problem="Sent from one of the desk's own addresses (a mail loop).")
    ticket = _thread_target(parsed)
    if parsed.is_bounce:
        return _finish(record, "ignored", ticket_id=ticket.id if ticket else None,
                       problem=f"A bounce or delivery report: {parsed.loop_reason or 'not answered'}.")
    if _over_rate_limit(record.sender, now):
        return _finish(record, "rate_limited", problem="Too many messages from this sender in a short time.")
    mailbox = mailbox or _mailbox_for(parsed, addresses)
    record.mailbox = mailbox
    department = mailbox.department if mailbox else _fallback_department()
    if department is None:
        return _finish(record, "flagged", problem="No active department to receive mail.")
    if ticket is None:
        ticket = _by_subject_number(parsed) or _by_conversation(record.conversation)
    return _take(record, parsed, ticket, department, now)


def _finish(record: InboundMessage, status: str, *, ticket_id: Optional[int] = None,
            problem: Optional[str] = None) -> InboundMessage:
    record.status, record.ticket_id = status, ticket_id
    if problem:
        record.problem = "\n".join(filter(None, [record.problem, problem]))
    db.session.flush()
    return record


def _already_taken(message_id: Optional[str]) -> Optional[int]:
    """The ticket a message with this Message-ID already went to, if any."""
    if not message_id:
        return None
    thread = db.session.scalar(select(Thread).where(Thread.message_id == message_id))
    if thread is not None:
        return thread.ticket_id
    return db.session.scalar(select(InboundMessage.ticket_id).where(
        InboundMessage.message_id == message_id, InboundMessage.status.in_(TAKEN)).limit(1))


def _desk_addresses() -> set[str]:
    return set(db.session.scalars(select(Mailbox.address)))


def _thread_target(parsed: ParsedMessage) -> Optional[Ticket]:
    """The ticket the message answers, by In-Reply-To, then References (newest first)."""
    ids = [i[:998] for i in [*parsed.in_reply_to, *reversed(parsed.references)] if i]
    if not ids:
        return None
    found = dict(db.session.execute(select(Thread.message_id, Thread.ticket_id).where(Thread.message_id.in_(ids))).all())
    for message_id in ids:
        if message_id in found:
            return db.session.get(Ticket, found[message_id])
    return None


def _by_subject_number(parsed: ParsedMessage) -> Optional[Ticket]:
    """A ticket number in the subject counts only when the sender is that ticket's customer: anyone
    can type "[#12]", and a stranger's mail must not land in someone else's conversation."""
    match = SUBJECT_NUMBER.search(parsed.subject or "")
    if not match:
        return None
    ticket = db.session.get(Ticket, int(match.group(1) or match.group(2)))
    if ticket is None or ticket.contact_id is None:
        return None
    owner = db.session.scalar(select(ContactIdentity.contact_id).where(
        ContactIdentity.kind == "email", ContactIdentity.value == parsed.from_address))
    return ticket if owner == ticket.contact_id else None


def _by_conversation(conversation: Optional[str]) -> Optional[Ticket]:
    """The ticket of the latest message taken from the same Outlook conversation. Like a Message-ID
    in References (and unlike a ticket number), a Thread-Index carries a random GUID: only those who
    received the conversation know it."""
    if not conversation:
        return None
    ticket_id = db.session.scalar(select(InboundMessage.ticket_id).where(
        InboundMessage.conversation == conversation, InboundMessage.status.in_(TAKEN),
        InboundMessage.ticket_id.is_not(None)).order_by(InboundMessage.id.desc()).limit(1))
    return db.session.get(Ticket, ticket_id) if ticket_id is not None else None


def _over_rate_limit(sender: str, now: datetime) -> bool:
    limit = current_app.config["MAIL_SENDER_LIMIT"]
    window = timedelta(seconds=current_app.config["MAIL_SENDER_WINDOW_SECONDS"])
    count = db.session.scalar(select(func.count(InboundMessage.id)).where(
        InboundMessage.sender == sender, InboundMessage.received_at > now - window,
        InboundMessage.status.in_(TAKEN)))
    return count >= limit


def _mailbox_for(parsed: ParsedMessage, addresses: set[str]) -> Optional[Mailbox]:
    """The first of the message's recipients that is one of the desk's mailboxes, else the oldest mailbox."""
    for address in [*parsed.to, *parsed.cc]:
        if address and address.lower() in addresses:
            return db.session.scalar(select(Mailbox).where(Mailbox.address == address.lower(),
                                                           Mailbox.active.is_(True)))
    return db.session.scalar(select(Mailbox).where(Mailbox.active.is_(True)).order_by(Mailbox.id).limit(1))


def _fallback_department() -> Optional[Department]:
    return db.session.scalar(select(Department).where(Department.active.is_(True)).order_by(Department.id).limit(1))


def _attachments(record: InboundMessage, parsed: ParsedMessage) -> list:
    rows = []
    for part in parsed.attachments:
        problem = mail_attachment_problem(part.filename, part.data, part.content_type) if part.data else "empty file"
        if problem:
            record.problem = "\n".join(filter(None, [record.problem, f"Not attached ({problem}); it is in the "
                                                                      f"original message."]))
            continue
        rows.append(store_bytes(part.filename, part.data, part.content_type, part.content_id))
    return rows


def _take(record: InboundMessage, parsed: ParsedMessage, ticket: Optional[Ticket], department: Department,
          now: datetime) -> InboundMessage:
    contact = find_or_create_contact(parsed.from_address, parsed.from_name)
    attachments = _attachments(record, parsed)
    savepoint = db.session.begin_nested()  # a racing worker may take the same Message-ID first
    try:
        if ticket is not None:
            thread = ticket_service.add_thread(
                ticket, kind="customer", body=parsed.reply_text or parsed.text or parsed.subject or "-",
                contact=contact, channel="email", sender=parsed.from_address, message_id=record.message_id,
                attachments=attachments, by=Actor(label=parsed.from_address), now=now)
            status = "reply"
        else:
            ticket = ticket_service.create_ticket(
                subject=(parsed.subject or "").strip()[:300] or "(no subject)", department=department,
                body=parsed.text or parsed.subject or "-", body_html=parsed.html if parsed.html else None,
                contact=contact, channel="email", sender=parsed.from_address, message_id=record.message_id,
                attachments=attachments, by=Actor(label=parsed.from_address), now=now)
            thread = ticket.threads[0]
            status = "ticket"
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        return _finish(record, "duplicate", ticket_id=_already_taken(record.message_id))
    except ValidationFailed as exc:
        savepoint.rollback()
        return _finish(record, "flagged", problem="; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
    record.thread_id = thread.id
    return _finish(record, status, ticket_id=ticket.id)


__all__ = ["ingest", "automatic_reply_refusal", "SUBJECT_NUMBER"]


def automatic_reply_refusal(ticket: Ticket) -> Optional[str]:
    """Why the desk must not answer the customer automatically: their latest message was itself
    automatic (an out-of-office, a list, a bounce), and answering it is how mail loops start."""
    latest = select(Thread.id).where(Thread.ticket_id == ticket.id, Thread.kind == "customer") \
        .order_by(Thread.id.desc()).limit(1).scalar_subquery()
    return db.session.scalar(select(InboundMessage.loop_reason).where(InboundMessage.thread_id == latest))
