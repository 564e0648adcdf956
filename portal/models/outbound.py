"""Outgoing emails and webhooks, written in the transaction that decides to send them.

Nothing is sent inside a rule's (or macro's) transaction: the action writes an OutboundMessage,
and after commit a job delivers it (rule_builder.outbound.deliver_outbound), with retries.
`dedupe_key` is unique, so a replayed event ("<event id>:<rule id>:<action index>") can never
create, and so never send, the same message twice.

Status: queued -> sending -> sent; or failed (after the last retry, or refused for good: a
webhook to a private address); or held (no MAIL_SERVER configured: kept, never pretended sent).
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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
    payload: Mapped[Optional[dict]] = mapped_column(JSON)
    headers: Mapped[Optional[dict]] = mapped_column(JSON)  # e.g. X-Deskwright-Signature, fixed at creation
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

    # The sweep: queued messages never delivered (Redis was down), oldest first.
    __table_args__ = (Index("ix_outbound_messages_status_created", "status", "created_at"),)
