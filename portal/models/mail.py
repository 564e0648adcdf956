"""Email intake: the desk's mailboxes, and every message that came in, kept raw.

An `InboundMessage` row is written for every message handed to the desk, whatever became of it
(`status`): a new ticket, a reply on one, a duplicate of a message already taken, ignored (the
desk's own mail, a bounce on a loop), held by the per-sender rate limit, or flagged (unreadable):
nothing is dropped, and an admin can look at the raw bytes of anything that didn't become a message.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .org import Department

INBOUND_STATUSES = ("ticket", "reply", "duplicate", "ignored", "rate_limited", "flagged")


class Mailbox(db.Model):
    """An address customers write to; its mail becomes tickets of `department`."""

    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(120), default="")      # the From name of replies
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # IMAP polling (portal/channels/mail/imap.py); no host: mail arrives by the pipe or HTTP only.
    imap_host: Mapped[Optional[str]] = mapped_column(String(255))
    imap_port: Mapped[Optional[int]] = mapped_column(Integer)
    imap_security: Mapped[str] = mapped_column(String(10), default="ssl")  # ssl / starttls / none
    imap_username: Mapped[Optional[str]] = mapped_column(String(320))
    imap_password: Mapped[Optional[str]] = mapped_column(Text)  # Fernet token (credentials.py), never plain
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    imap_after: Mapped[str] = mapped_column(String(10), default="seen")  # seen / move / delete
    imap_move_to: Mapped[Optional[str]] = mapped_column(String(200))
    poll_minutes: Mapped[int] = mapped_column(Integer, default=5)
    # Where the poller is: UIDs above imap_last_uid are new while UIDVALIDITY stays the same.
    imap_uidvalidity: Mapped[Optional[int]] = mapped_column(BigInteger)
    imap_last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_poll_ok: Mapped[Optional[bool]] = mapped_column(Boolean)
    last_poll_error: Mapped[Optional[str]] = mapped_column(Text)
    last_poll_count: Mapped[int] = mapped_column(Integer, default=0)  # messages taken by the last poll
    imported_count: Mapped[int] = mapped_column(Integer, default=0)   # ... by every poll
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)    # in a row; drives the back-off
    next_poll_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The lease: one poller per mailbox at a time (a guarded UPDATE takes it; works on SQLite and PG).
    poll_lease_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    poll_lease_owner: Mapped[Optional[str]] = mapped_column(String(64))

    department: Mapped[Department] = relationship()

    @property
    def polls(self) -> bool:
        return bool(self.imap_host)


class InboundMessage(db.Model):
    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[Optional[str]] = mapped_column(String(998))
    mailbox_id: Mapped[Optional[int]] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    sender: Mapped[Optional[str]] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    via: Mapped[str] = mapped_column(String(20), default="pipe")  # pipe / http / imap
    status: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    thread_id: Mapped[Optional[int]] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    loop_reason: Mapped[Optional[str]] = mapped_column(String(200))  # why the desk must not auto-reply to it
    problem: Mapped[Optional[str]] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Outlook's conversation (the Thread-Index header block, hex): threads a reply whose
    # In-Reply-To and References were lost on the way (channels/mail/headers.conversation_key).
    conversation: Mapped[Optional[str]] = mapped_column(String(44))

    mailbox: Mapped[Optional[Mailbox]] = relationship()

    __table_args__ = (
        Index("ix_inbound_messages_message_id", "message_id"),
        Index("ix_inbound_messages_sender_received", "sender", "received_at"),  # the per-sender rate limit
        Index("ix_inbound_messages_status_received", "status", "received_at"),  # the admin's "flagged" list
        Index("ix_inbound_messages_conversation", "conversation"),
    )
