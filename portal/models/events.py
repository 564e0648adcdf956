"""Audit trail and the transactional outbox.

`TicketEvent` is what people read (the History tab). `OutboxEvent` is what machines read:
written in the same transaction as the change, then handed to the queue after commit.
`OutboxDelivery` records which subscriber has handled which event, so a duplicate delivery
changes nothing twice.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .org import User

EVENT_KINDS = ("ticket.created", "ticket.updated", "ticket.customer_replied", "ticket.agent_replied",
               "ticket.note_added", "ticket.csat_received")


class TicketEvent(db.Model):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    outbox_id: Mapped[Optional[int]] = mapped_column(ForeignKey("outbox_events.id"))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    # Who did it when it wasn't a signed-in user: "customer", "rule 'VIP' r3", "assignment", "system".
    actor_label: Mapped[Optional[str]] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Optional[str]] = mapped_column(Text)
    new_value: Mapped[Optional[str]] = mapped_column(Text)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)  # the ticket's version after this change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Optional[User]] = relationship()
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    @property
    def actor_name(self) -> str:
        return self.actor.name if self.actor else (self.actor_label or "system")


class OutboxEvent(db.Model):
    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / done / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    processed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    # The sweep's one query: pending events, oldest first.
    __table_args__ = (Index("ix_outbox_events_status_created", "status", "created_at"),)


class OutboxDelivery(db.Model):
    __tablename__ = "outbox_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    subscriber: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running / done / failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[Optional[str]] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    __table_args__ = (db.UniqueConstraint("event_id", "subscriber", name="uq_outbox_deliveries_event_subscriber"),)
