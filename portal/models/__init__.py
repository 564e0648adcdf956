"""All models, importable from one place (Alembic autogenerate sees them through here)."""
from .base import UTCDateTime, utcnow
from .channels import (CHANNEL_KINDS, DELIVERY_STATUSES, ChannelDelivery,  # noqa: F401  (webhook, WeChat)
                       WebhookChannel, WeChatAccount)
from .events import EVENT_KINDS, OutboxDelivery, OutboxEvent, TicketEvent
from .mail import INBOUND_STATUSES, InboundMessage, Mailbox  # noqa: F401  (email intake)
from .notifications import Notification
from .outbound import OUTBOUND_KINDS, OUTBOUND_STATUSES, OutboundMessage
from .org import AVAILABILITY, ROLES, Department, LoginAttempt, Skill, Team, User
from .people import CONTACT_EVENT_ACTIONS, IDENTITY_KINDS, TIERS, Account, Contact, ContactEvent, ContactIdentity
from .tickets import (CHANNELS, MAX_TICKET_NUMBER, OPEN_STATUSES, PRIORITY_KEYS, STATUSES, THREAD_KINDS, Attachment, Priority,
                      Thread, Ticket, TicketTag)
from .phone import CALL_DIRECTIONS, PhoneCall  # noqa: F401  (phone calls, issue #5)
from .tokens import ApiToken  # noqa: F401  (REST API tokens)
from .views import SavedView  # noqa: F401  (saved queue views, issue #3)

__all__ = [
    "UTCDateTime", "utcnow", "EVENT_KINDS", "OutboxDelivery", "OutboxEvent", "TicketEvent", "AVAILABILITY",
    "ROLES", "Department", "LoginAttempt", "Skill", "Team", "User", "IDENTITY_KINDS", "TIERS", "Account",
    "Contact", "ContactIdentity", "CHANNELS", "MAX_TICKET_NUMBER", "OPEN_STATUSES", "PRIORITY_KEYS", "STATUSES", "THREAD_KINDS",
    "Attachment", "Priority", "Thread", "Ticket", "TicketTag", "Notification", "OUTBOUND_KINDS",
    "OUTBOUND_STATUSES", "OutboundMessage",
]
