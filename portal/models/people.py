"""Customers: accounts (companies) and contacts with several identities."""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

TIERS = ("standard", "vip")
IDENTITY_KINDS = ("email", "phone", "wechat")


class Account(db.Model):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(20), default="standard")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(back_populates="account")


class Contact(db.Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("accounts.id"), index=True)
    # A contact's own tier wins; otherwise the account's (see `effective_tier`).
    tier: Mapped[Optional[str]] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A contact merged into another is kept (its old links redirect to the survivor) but owns
    # nothing any more: its tickets, threads and identities moved (portal.services.contacts).
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("contacts.id"), index=True)
    merged_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    account: Mapped[Optional[Account]] = relationship(back_populates="contacts")
    merged_into: Mapped[Optional["Contact"]] = relationship(remote_side="Contact.id")
    identities: Mapped[list["ContactIdentity"]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactIdentity.id")

    @property
    def effective_tier(self) -> str:
        if self.tier:
            return self.tier
        return self.account.tier if self.account else "standard"

    @property
    def is_vip(self) -> bool:
        return self.effective_tier == "vip"

    @property
    def email(self) -> Optional[str]:
        return next((i.value for i in self.identities if i.kind == "email"), None)


class ContactIdentity(db.Model):
    """One way to reach a contact. (kind, value) is unique: an address belongs to one person."""

    __tablename__ = "contact_identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))

    contact: Mapped[Contact] = relationship(back_populates="identities")
    __table_args__ = (db.UniqueConstraint("kind", "value", name="uq_contact_identities_kind_value"),)


CONTACT_EVENT_ACTIONS = ("updated", "identity_added", "identity_removed", "merged")


class ContactEvent(db.Model):
    """The audit trail of a contact: who changed what, added or removed which identity, merged whom."""

    __tablename__ = "contact_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[Optional[str]] = mapped_column(String(200))  # when not a signed-in user
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User")
    __table_args__ = (Index("ix_contact_events_contact", "contact_id", "id"),)
