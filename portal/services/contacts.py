"""Contacts: the customers tickets are for, found by any of their identities."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Contact, ContactIdentity


def normalise_identity(kind: str, value: str) -> str:
    """The stored form of an identity: emails compare case-insensitively, the rest as given (trimmed)."""
    value = (value or "").strip()
    return value.lower() if kind == "email" else value


def find_contact_by_identity(kind: str, value: str) -> Contact | None:
    identity = db.session.scalar(
        select(ContactIdentity).filter_by(kind=kind, value=normalise_identity(kind, value)))
    return identity.contact if identity else None


def find_or_create_by_identity(kind: str, value: str, name: str | None = None) -> Contact:
    """The contact who owns this identity (email, phone, wechat openid), or a new one with it
    (flushed, not committed). A new contact without a name is called by the identity."""
    value = normalise_identity(kind, value)
    contact = find_contact_by_identity(kind, value)
    if contact is not None:
        return contact
    fallback = value.split("@")[0] if kind == "email" else value
    contact = Contact(name=(name or "").strip()[:200] or fallback[:200])
    contact.identities.append(ContactIdentity(kind=kind, value=value))
    db.session.add(contact)
    db.session.flush()
    return contact


def find_or_create_contact(email: str, name: str | None) -> Contact:
    """The contact who owns this email address, or a new one with it (flushed, not committed)."""
    return find_or_create_by_identity("email", email, name)
