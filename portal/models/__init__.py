"""All models, importable from one place (Alembic autogenerate sees them through here)."""
from .base import UTCDateTime, utcnow
from .events import EVENT_KINDS, OutboxDelivery, OutboxEvent, TicketEvent
from .org import AVAILABILITY, ROLES, Department, LoginAttempt, Skill, Team, User
from .people import IDENTITY_KINDS, TIERS, Account, Contact, ContactIdentity
from .tickets import (CHANNELS, OPEN_STATUSES, PRIORITY_KEYS, STATUSES, THREAD_KINDS, Attachment, Priority,
                      Thread, Ticket, TicketTag)

__all__ = [
    "UTCDateTime", "utcnow", "EVENT_KINDS", "OutboxDelivery", "OutboxEvent", "TicketEvent", "AVAILABILITY",
    "ROLES", "Department", "LoginAttempt", "Skill", "Team", "User", "IDENTITY_KINDS", "TIERS", "Account",
    "Contact", "ContactIdentity", "CHANNELS", "OPEN_STATUSES", "PRIORITY_KEYS", "STATUSES", "THREAD_KINDS",
    "Attachment", "Priority", "Thread", "Ticket", "TicketTag",
]
