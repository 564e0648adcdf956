"""Tickets, their conversation threads, attachments and tags."""
import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .org import Department, Team, User
from .people import Contact

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
OPEN_STATUSES = ("new", "open", "pending", "on_hold")
CHANNELS = ("portal", "email", "api", "phone", "webhook", "wechat")
THREAD_KINDS = ("customer", "reply", "note")


class Priority(enum.IntEnum):
    """Stored as a small integer so queues sort and compare by urgency with an index."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> "Priority":
        try:
            return cls[str(key).upper()]
        except KeyError:
            raise ValueError(f"unknown priority {key!r}") from None


PRIORITY_KEYS = tuple(p.key for p in Priority)
MAX_TICKET_NUMBER = 2**31 - 1  # tickets.id is an INTEGER (int4 on PostgreSQL)


class Ticket(db.Model):
    __tablename__ = "tickets"
    # The primary key is the human ticket number shown everywhere as #1042.
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[int] = mapped_column(SmallInteger, default=int(Priority.NORMAL))
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("contacts.id"), index=True)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    first_response_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    resolved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_customer_reply_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_agent_reply_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    thread_count: Mapped[int] = mapped_column(Integer, default=0)
    # Subject plus message text, kept by the ticket service, so one (trigram-indexed on
    # PostgreSQL) column answers "search subject and messages" without a join.
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    department: Mapped[Department] = relationship()
    team: Mapped[Optional[Team]] = relationship()
    assignee: Mapped[Optional[User]] = relationship()
    contact: Mapped[Optional[Contact]] = relationship()
    threads: Mapped[list["Thread"]] = relationship(back_populates="ticket", order_by="Thread.id",
                                                   cascade="all, delete-orphan")
    tag_rows: Mapped[list["TicketTag"]] = relationship(cascade="all, delete-orphan", order_by="TicketTag.tag")

    # The service bumps `version` once per change; the UPDATE also checks it, so two
    # concurrent writers can never both win (optimistic locking).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    __table_args__ = (
        # The agent queue's keyset pages: (scope, status) then newest first.
        Index("ix_tickets_dept_status_updated", "department_id", "status", "updated_at", "id"),
        # INCLUDE: an agent's "mine" count (scope + assignee + status) is an index-only scan (0002).
        Index("ix_tickets_assignee_status_updated", "assignee_id", "status", "updated_at", "id",
              postgresql_include=["department_id"]),
        Index("ix_tickets_status_updated", "status", "updated_at", "id"),
        Index("ix_tickets_updated", "updated_at", "id"),
        Index("ix_tickets_team_status", "team_id", "status"),
        Index("ix_tickets_resolution_due", "resolution_due_at"),
        Index("ix_tickets_priority_id", "priority", "id"),  # the "priority" sort (0002)
        # PostgreSQL only: trigram index for text search over subject and messages.
        Index("ix_tickets_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        # PostgreSQL only: 2-character Chinese/Japanese terms (no trigram of their own) are looked up
        # in the doubled-CJK key; the function deskwright_cjk_key is created by migration 0002.
        Index("ix_tickets_search_cjk", text("deskwright_cjk_key(search_text) gin_trgm_ops"),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    @property
    def number(self) -> int:
        return self.id

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    @property
    def priority_key(self) -> str:
        return Priority(self.priority).key

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        return bool(self.is_open and self.resolution_due_at and self.resolution_due_at < now)


class TicketTag(db.Model):
    __tablename__ = "ticket_tags"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    __table_args__ = (Index("ix_ticket_tags_tag", "tag", "ticket_id"),)


class Thread(db.Model):
    """One message in a ticket's conversation: a customer message, an agent reply or an internal note."""

    __tablename__ = "threads"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised with nh3 on the way in
    body_text: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("contacts.id"))
    sender: Mapped[Optional[str]] = mapped_column(String(320))  # as the channel gave it
    message_id: Mapped[Optional[str]] = mapped_column(String(998), unique=True)
    delivery_state: Mapped[Optional[str]] = mapped_column(String(20))  # an emailed reply: its OutboundMessage status
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="threads")
    author: Mapped[Optional[User]] = relationship()
    contact: Mapped[Optional[Contact]] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="thread", order_by="Attachment.id")

    __table_args__ = (Index("ix_threads_ticket_created", "ticket_id", "id"),
                      Index("ix_threads_contact", "contact_id"))  # a contact's messages on any ticket (0011)

    @property
    def is_note(self) -> bool:
        return self.kind == "note"

    @property
    def author_name(self) -> str:
        # A customer message an agent logged (a phone call) is still the customer's words.
        if self.kind == "customer" and self.contact:
            return self.contact.name
        if self.author:
            return self.author.name
        if self.contact:
            return self.contact.name
        return self.sender or "—"


class Attachment(db.Model):
    """A file kept outside static/ and served only after an authorization check."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[Optional[int]] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    content_id: Mapped[Optional[str]] = mapped_column(String(255))  # an inline image's cid: in the HTML
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    thread: Mapped[Optional[Thread]] = relationship(back_populates="attachments")
