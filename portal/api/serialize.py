"""Tickets, threads, attachments and contacts as the API shows them (the OpenAPI schemas in openapi.py
describe exactly these)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask import url_for

from ..models import Attachment, Thread, Ticket


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


def _person(user) -> Optional[dict]:
    return None if user is None else {"id": user.id, "name": user.name, "email": user.email}


def attachment_json(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "url": url_for("api.get_attachment", attachment_id=attachment.id),
        "content_url": url_for("api.attachment_content", attachment_id=attachment.id),
        "ticket": attachment.ticket_id,
        "thread": attachment.thread_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "created_at": iso(attachment.created_at),
    }


def thread_json(thread: Thread) -> dict:
    """One message; `body_html` is the sanitised HTML the agent's page shows, `body_text` its text."""
    return {
        "id": thread.id,
        "url": url_for("api.get_thread", number=thread.ticket_id, thread_id=thread.id),
        "ticket": thread.ticket_id,
        "kind": thread.kind,
        "channel": thread.channel,
        "author": _person(thread.author),
        "contact": _person(thread.contact),
        "sender": thread.sender,
        "body_text": thread.body_text or "",
        "body_html": thread.body_html or "",
        "delivery_state": thread.delivery_state,
        "attachments": [attachment_json(a) for a in thread.attachments],
        "created_at": iso(thread.created_at),
    }
