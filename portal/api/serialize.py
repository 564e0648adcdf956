"""Tickets as the API shows them (the OpenAPI schema `Ticket` in openapi.py describes exactly this)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask import url_for

from ..models import Ticket


def iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment else None


def _ref(obj, **extra) -> Optional[dict]:
    return None if obj is None else {"id": obj.id, "name": obj.name, **extra}


def ticket_json(ticket: Ticket) -> dict:
    contact = ticket.contact
    return {
        "number": ticket.id,
        "url": url_for("api.get_ticket", number=ticket.id),
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority_key,
        "channel": ticket.channel,
        "department": _ref(ticket.department),
        "team": _ref(ticket.team),
        "assignee": _ref(ticket.assignee, email=ticket.assignee.email) if ticket.assignee else None,
        "contact": _ref(contact, email=contact.email) if contact else None,
        "tags": list(ticket.tags),
        "custom_fields": dict(ticket.custom_fields or {}),
        "thread_count": ticket.thread_count,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "first_response_due_at": iso(ticket.first_response_due_at),
        "resolution_due_at": iso(ticket.resolution_due_at),
        "version": ticket.version,
    }
