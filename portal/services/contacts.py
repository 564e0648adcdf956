"""Contacts: the customers tickets are for, found by any of their identities."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Contact, ContactIdentity


def find_or_create_contact(email: str, name: str | None) -> Contact:
    """The contact who owns this email address, or a new one with it (flushed, not committed)."""
    email = email.strip().lower()
    identity = db.session.scalar(select(ContactIdentity).filter_by(kind="email", value=email))
    if identity:
        return identity.contact
    contact = Contact(name=(name or "").strip() or email.split("@")[0])
    contact.identities.append(ContactIdentity(kind="email", value=email))
    db.session.add(contact)
    db.session.flush()
    return contact
