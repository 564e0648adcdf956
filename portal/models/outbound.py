"""Outgoing emails and webhooks, written in the transaction that decides to send them.

Nothing is sent inside a rule's (or macro's) transaction: the action writes an OutboundMessage,
and after commit a job delivers it (portal.channels.outbound.deliver_outbound), with retries.
Agents' replies are emailed the same way: their message has `thread_id`, and the thread's
`delivery_state` follows the message's status.
`dedupe_key` is unique, so a replayed event ("<event id>:<rule id>:<action index>") can never
create, and so never send, the same message twice.

Status: queued -> sending -> sent; or failed (after the last retry, or refused for good: a
webhook to a private address); or held (no MAIL_SERVER configured: kept, never pretended sent).
A failed or held message can be queued again (an agent's Retry on the ticket page).
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

OUTBOUND_KINDS = ("email", "webhook")
OUTBOUND_STATUSES = ("queued", "sending", "sent", "failed", "held")


class OutboundMessage(db.Model):
    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # email / webhook
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    recipient: Mapped[Optional[str]] = mapped_column(String(320))  # email address
    url: Mapped[Optional[str]] = mapped_column(String(2000))  # webhook
    sender: Mapped[Optional[str]] = mapped_column(String(320))  # email From
    subject: Mapped[Optional[str]] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")  # mail text, or the exact JSON bytes a webhook posts
    html: Mapped[Optional[str]] = mapped_column(Text)  # an email's HTML alternative
    # A webhook's JSON; an email's {"attachments": [Attachment ids], "left_off": [file names]}
    payload: Mapped[Optional[dict]] = mapped_column(JSON)
    # A webhook's HTTP headers (X-Deskwright-Signature); an email's Message-ID, In-Reply-To,
    # References, Reply-To. Fixed at creation, so every retry sends the same message.
    headers: Mapped[Optional[dict]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The rule firing that wrote it (rule_builder's rule_firings.id). No foreign key: portal's
    # tables don't reference the feature packages' tables.
    rule_firing_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    # The conversation message this email carries (an agent's reply): at most one email each.
    thread_id: Mapped[Optional[int]] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"), unique=True)

    # thread.outbound_message: what the ticket page's delivery badge shows.
    thread = relationship("Thread", backref=backref("outbound_message", uselist=False))

    # The sweep: queued messages never delivered (Redis was down), oldest first.
    __table_args__ = (Index("ix_outbound_messages_status_created", "status", "created_at"),)
