"""Agents' replies by email, threaded so the customer's mail client shows one conversation.

`email_reply(thread)` is called by the ticket service when an agent's public reply is written
(never for notes), in the same transaction: it writes an OutboundMessage
(portal/channels/outbound.py) that a job sends after commit, so a rolled back reply sends
nothing. What the customer gets:

- Message-ID: made now and stored on the thread, so the customer's answer (In-Reply-To: it)
  threads back onto this ticket when it comes in (ingest.py looks Thread.message_id up).
- In-Reply-To: the latest customer message on the ticket that came with a Message-ID (else the
  desk's own latest one); References: the ticket's earlier message ids, the first and the last
  few (mail clients need the root and the recent chain; a long ticket would overflow the header).
- Subject "Re: <subject> [#<number>]": ingest also threads by the number.
- From and Reply-To: `sender_for(ticket)`, the department's mailbox (the one the customer wrote
  to, if it still belongs to the department), else the department's email, else MAIL_DEFAULT_SENDER.
- text and HTML (the reply's sanitised HTML), and its attachments up to MAIL_MAX_ATTACHMENTS_BYTES
  in total; the ones left off are named on the thread's delivery badge.
"""
from __future__ import annotations

from email.headerregistry import Address
from email.utils import make_msgid
from typing import Optional

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import Attachment, InboundMessage, Mailbox, OutboundMessage, Thread, Ticket
from .. import outbound

REFERENCES_HEAD = 1   # the conversation's root...
REFERENCES_TAIL = 10  # ...and its latest messages


def sender_for(ticket: Ticket) -> tuple[str, Optional[Mailbox]]:
    """The From address ("Name <address>") for mail about `ticket`, and the mailbox it is, if any."""
    department = ticket.department
    mailboxes = [m for m in db.session.scalars(
        select(Mailbox).where(Mailbox.department_id == department.id, Mailbox.active.is_(True)).order_by(Mailbox.id))]
    if mailboxes:
        written_to = db.session.scalar(
            select(InboundMessage.mailbox_id).where(InboundMessage.ticket_id == ticket.id,
                                                    InboundMessage.mailbox_id.is_not(None))
            .order_by(InboundMessage.id.desc()).limit(1))
        mailbox = next((m for m in mailboxes if m.id == written_to), mailboxes[0])
        return _named(mailbox.name or department.name, mailbox.address), mailbox
    if department.email:
        return department.email, None
    return current_app.config.get("MAIL_DEFAULT_SENDER") or "deskwright@localhost", None


def threading_headers(ticket: Ticket, *, before: Optional[int] = None) -> dict[str, str]:
    """In-Reply-To and References pointing at the ticket's conversation (messages before thread
    id `before`, if given). Empty when no message of the ticket has a Message-ID."""
    query = select(Thread.id, Thread.kind, Thread.message_id).where(
        Thread.ticket_id == ticket.id, Thread.message_id.is_not(None)).order_by(Thread.id)
    if before is not None:
        query = query.where(Thread.id < before)
    rows = db.session.execute(query).all()
    if not rows:
        return {}
    customer = [r.message_id for r in rows if r.kind == "customer"]
    parent = customer[-1] if customer else rows[-1].message_id
    ids = [r.message_id for r in rows]
    if len(ids) > REFERENCES_HEAD + REFERENCES_TAIL:
        ids = ids[:REFERENCES_HEAD] + ids[-REFERENCES_TAIL:]
    return {"In-Reply-To": f"<{parent}>", "References": " ".join(f"<{i}>" for i in ids)}


def reply_subject(ticket: Ticket) -> str:
    subject = ticket.subject
    if f"[#{ticket.number}]" not in subject:
        subject = f"{subject} [#{ticket.number}]"
    if not subject.lower().startswith(("re:", "回复:", "回复：")):
        subject = f"Re: {subject}"
    return subject[:500]


def email_reply(thread: Thread) -> Optional[OutboundMessage]:
    """Queue the email of an agent's reply to the ticket's customer; None when there is nobody to
    email (no contact, or a contact without an email address)."""
    ticket = thread.ticket
    contact = ticket.contact
    if thread.kind != "reply" or contact is None or not contact.email:
        return None
    sender, mailbox = sender_for(ticket)
    domain = _address(sender).rpartition("@")[2] or "localhost"
    thread.message_id = make_msgid(idstring=f"t{ticket.number}", domain=domain)[1:-1]
    headers = {"Message-ID": f"<{thread.message_id}>", **threading_headers(ticket, before=thread.id)}
    if mailbox is not None:
        headers["Reply-To"] = sender
    attached, left_off = _within_cap(thread)
    message, _created = outbound.queue_message(
        kind="email", dedupe_key=f"reply:{thread.id}", ticket_id=ticket.id, thread_id=thread.id,
        recipient=contact.email, sender=sender, subject=reply_subject(ticket), body=thread.body_text,
        html=thread.body_html or None, headers=headers,
        payload={"attachments": [a.id for a in attached], "left_off": [a.filename for a in left_off]})
    return message


def _named(name: str, address: str) -> str:
    """'Returns <returns@shop.example>' (quoted as needed; encoded only when the mail is built)."""
    try:
        return str(Address(display_name=name or "", addr_spec=address))
    except (ValueError, IndexError):  # an address the email package can't take apart: use it bare
        return address


def _address(sender: str) -> str:
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()


def _within_cap(thread: Thread) -> tuple[list[Attachment], list[Attachment]]:
    """The attachments that fit MAIL_MAX_ATTACHMENTS_BYTES in order, and the ones that don't."""
    db.session.flush()  # the service added the attachments: give them ids
    budget = int(current_app.config["MAIL_MAX_ATTACHMENTS_BYTES"])
    attached, left_off = [], []
    for attachment in db.session.scalars(
            select(Attachment).where(Attachment.thread_id == thread.id).order_by(Attachment.id)):
        if attachment.size <= budget:
            attached.append(attachment)
            budget -= attachment.size
        else:
            left_off.append(attachment)
    return attached, left_off


def retry_delivery(thread: Thread) -> bool:
    """Send a reply's failed (or held, once a mail server is configured) email again, with a fresh
    round of tries. The caller commits; False if there is nothing to retry."""
    message = thread.outbound_message
    if message is None or (message.status == "held" and not current_app.config.get("MAIL_SERVER")):
        return False  # nothing sent; or, held, it would only be held again
    return outbound.retry(message)  # False unless failed or held
