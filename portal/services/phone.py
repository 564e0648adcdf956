"""Phone calls agents log: as a new ticket, or as a message on an existing one.

A call is a thread with channel "phone" plus a PhoneCall row (direction, number in E.164,
duration). What kind of thread:
- an inbound call is the customer speaking: kind "customer" (it reopens a pending ticket, like
  a customer's email would);
- an outbound call is the agent answering: kind "reply" (it counts as the agent's response for
  first-response times). It is never emailed: the customer was on the line. The thread's
  channel "phone" is what tells the outbound mail path to skip it.
The number becomes a phone identity of the ticket's contact unless another contact owns it
(then the call is logged, and the identity stays where it is).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from flask_babel import gettext as _

from ..extensions import db
from ..models import CALL_DIRECTIONS, Contact, PhoneCall, Thread, Ticket, User
from . import tickets as ticket_service
from .contacts import (add_identity, find_contact_by_identity, find_or_create_by_identity, normalise_identity,
                       validate_identity)
from .errors import ValidationFailed

MAX_CALL_SECONDS = 24 * 3600
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,3}):([0-5]\d)$")     # h:mm:ss or m:ss
_MINUTES = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(?:m|min|mins|minutes?|分钟?)?$", re.IGNORECASE)


@dataclass(frozen=True)
class CallDetails:
    direction: str
    number: str            # E.164
    duration_seconds: int


def parse_duration(text: str) -> int:
    """Seconds from "m:ss", "h:mm:ss" or minutes ("7", "2.5", "7 min"). Raises ValueError."""
    text = (text or "").strip()
    match = _CLOCK.match(text)
    if match:
        hours, minutes, seconds = match.groups()
        total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    else:
        match = _MINUTES.match(text)
        if not match:
            raise ValueError(text)
        total = round(float(match.group(1).replace(",", ".")) * 60)
    if total > MAX_CALL_SECONDS:
        raise ValueError(text)
    return total


def format_duration(seconds: Optional[int]) -> str:
    """12:05, or 1:02:03 for calls over an hour."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def check_call(direction: str, number: str, duration: str) -> CallDetails:
    """The call's details in stored form. Raises ValidationFailed with a message for every bad
    field: call_direction, call_number, call_duration."""
    errors = {}
    if direction not in CALL_DIRECTIONS:
        errors["call_direction"] = _("Choose inbound or outbound.")
    e164 = ""
    if not (number or "").strip():
        errors["call_number"] = _("Enter the phone number of the call.")
    else:
        try:
            e164 = validate_identity("phone", number)
        except ValidationFailed as exc:
            errors["call_number"] = exc.errors["value"]
    seconds = 0
    if not (duration or "").strip():
        errors["call_duration"] = _("Enter how long the call took (mm:ss or minutes).")
    else:
        try:
            seconds = parse_duration(duration)
        except ValueError:
            errors["call_duration"] = _("Write the duration as mm:ss (e.g. 4:30) or minutes (e.g. 5), "
                                        "at most 24 hours.")
    if errors:
        raise ValidationFailed(errors)
    return CallDetails(direction, e164, seconds)


def _claim_number(contact: Optional[Contact], number: str, by) -> None:
    """The call's number joins the contact's identities, unless somebody already owns it."""
    if contact is None or find_contact_by_identity("phone", number) is not None:
        return
    add_identity(contact, "phone", number, by=by)


def log_call(ticket: Ticket, *, direction: str, number: str, duration: str, notes: str,
             by: User, status: Optional[str] = None) -> Thread:
    """Log a call on an existing ticket (flushed, the caller commits). Raises ValidationFailed:
    call_direction/call_number/call_duration for the call, body for empty notes, status."""
    errors = {} if (notes or "").strip() else {"body": _("Write down what the call was about.")}
    try:
        call = check_call(direction, number, duration)
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **errors}) from None
    if errors:
        raise ValidationFailed(errors)
    kind = "customer" if call.direction == "inbound" else "reply"
    thread = ticket_service.add_thread(ticket, kind=kind, body=notes, by=by, channel="phone",
                                       sender=call.number, status=status)
    db.session.add(PhoneCall(thread=thread, direction=call.direction, number=call.number,
                             duration_seconds=call.duration_seconds))
    _claim_number(ticket.contact, call.number, by)
    db.session.flush()
    return thread


def contact_for_call(number: str, name: str = "", email: str = "") -> Contact:
    """Who called (or was called) for a new ticket: the owner of the number; else the owner of
    the email (who then gets the number too); else a new contact with both."""
    contact = find_contact_by_identity("phone", number)
    if contact is not None:
        return contact
    if email:
        contact = find_or_create_by_identity("email", email, name or None)
        return contact  # the number is claimed by open_call_ticket, audited
    return find_or_create_by_identity("phone", number, name or None)


def open_call_ticket(*, direction: str, number: str, duration: str, subject: str, notes: str,
                     department, by: User, name: str = "", email: str = "", priority: str = "normal",
                     custom_fields: dict | None = None, attachments=()) -> Ticket:
    """A new ticket from a call (channel "phone"); its first message holds the call's notes.
    Raises ValidationFailed for the call's fields and for every bad ticket field."""
    call = check_call(direction, number, duration)
    contact = contact_for_call(call.number, name, normalise_identity("email", email) if email else "")
    ticket = ticket_service.create_ticket(subject=subject, body=notes, department=department, priority=priority,
                                          channel="phone", contact=contact, by=by, sender=call.number,
                                          custom_fields=custom_fields, attachments=attachments)
    db.session.add(PhoneCall(thread=ticket.threads[0], direction=call.direction, number=call.number,
                             duration_seconds=call.duration_seconds))
    _claim_number(contact, call.number, by)
    db.session.flush()
    return ticket
