"""Signed JSON in, tickets and threads out: the generic webhook channel.

A sender POSTs JSON to /channels/webhook/<public id> with
`X-Deskwright-Signature: sha256=<hex HMAC-SHA256(secret, signed bytes)>`, where the signed bytes
are the raw body, or `<timestamp>.<raw body>` when it also sends `X-Deskwright-Timestamp: <unix
seconds>` (then a request older or newer than REPLAY_WINDOW is refused, so a captured request can't
be replayed later; the timestamp is inside the signature, so it can't be changed either).

Order of the checks, each a reason to stop (and every one leaves a ChannelDelivery with the raw body
and the problem): switched off (403), too large (413), signature (401), JSON (400), the mapping's
required values and types (422), then: an external id seen before answers 200 with that ticket
(senders retry; one ticket per id); a conversation key whose ticket is still open gets a customer
thread; otherwise a new ticket of the channel's department. Only the ticket service writes tickets.
The caller commits (`receive` flushes), so one delivery is one transaction.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...fields.ticket_values import check_custom_values
from ...i18n import keep_text
from ...models import OPEN_STATUSES, ChannelDelivery, Contact, Priority, Thread, Ticket, WebhookChannel, utcnow
from ...services import tickets as ticket_service
from ...services.contacts import find_contact_by_identity, find_or_create_by_identity
from ...services.errors import ValidationFailed
from ...services.tickets import Actor
from .mapping import Extracted, extract

SIGNATURE_HEADER = "X-Deskwright-Signature"
TIMESTAMP_HEADER = "X-Deskwright-Timestamp"
REPLAY_WINDOW = 300  # seconds either side of our clock
TAKEN = ("ticket", "thread")
LOGGED_BODY_MAX = 64 * 1024  # what the log keeps of a body too large to take


def sign(secret: str, body: bytes, timestamp: Optional[int | str] = None) -> str:
    """The header value a sender computes (the docs and the tests' simulated sender use this)."""
    signed = f"{timestamp}.".encode() + body if timestamp is not None else body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass
class Result:
    delivery: ChannelDelivery
    title: str = ""                                  # the problem's title when refused
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return self.delivery.http_status


def body_limit() -> int:
    return current_app.config["WEBHOOK_MAX_BYTES"]


def receive(channel: WebhookChannel, body: bytes, headers: Mapping[str, str], *, too_large: bool = False,
            now: Optional[datetime] = None) -> Result:
    """Take one delivery (flushed, not committed). `too_large`: the body was cut at body_limit()."""
    now = now or utcnow()
    record = ChannelDelivery(kind="webhook", webhook_id=channel.id, received_at=now, status="rejected",
                             http_status=400, payload=body[:LOGGED_BODY_MAX].decode("utf-8", "replace"))
    db.session.add(record)
    if not channel.active:
        return _refuse(record, 403, _("Channel switched off"), _l("This channel is switched off; an admin can "
                                                                "switch it on again."))
    if too_large:
        return _refuse(record, 413, _("Content Too Large"),
                       _l("The body is over the limit of %(n)s bytes.", n=f"{body_limit():,}"))
    problem = signature_problem(channel.secret, body, headers, now)
    if problem:
        return _refuse(record, 401, _("Bad signature"), problem)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _refuse(record, 400, _("Bad JSON"), _l("The body is not JSON (UTF-8): %(error)s", error=str(exc)))
    taken = extract(channel.mapping or [], payload, channel.external_id_path, channel.conversation_path)
    record.external_id, record.conversation = taken.external_id, taken.conversation
    if taken.problems:
        return _refuse(record, 422, _("A mapped value is missing or unusable"), list(taken.problems.values()),
                       taken.problems)
    earlier = _earlier_ticket(channel, taken.external_id)
    if earlier is not None:
        return _finish(record, "duplicate", 200, earlier)
    contact, problems = _contact(taken, create=True)
    if problems:
        return _refuse(record, 422, _("A mapped value is missing or unusable"), list(problems.values()),
                       problems)
    return _take(record, channel, taken, contact, now)


def signature_problem(secret: str, body: bytes, headers: Mapping[str, str], now: datetime):
    """What is wrong with the request's signature (a lazy message), or None."""
    given = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not given:
        return _l("Sign the body: send %(header)s: sha256=<hex HMAC-SHA256 of the body with the channel's secret>.",
                 header=SIGNATURE_HEADER)
    stamp = (headers.get(TIMESTAMP_HEADER) or "").strip() or None
    if stamp is not None:
        if not stamp.isdigit():
            return _l("%(header)s must be the time in Unix seconds.", header=TIMESTAMP_HEADER)
        if abs(now.timestamp() - int(stamp)) > REPLAY_WINDOW:
            return _l("The request's timestamp is more than 5 minutes from the desk's clock (a replay, or a "
                      "clock out of sync).")
    if not hmac.compare_digest(given.encode(), sign(secret, body, stamp).encode()):
        return _l("The signature does not match this channel's secret (was the secret rotated?).")
    return None


def _refuse(record: ChannelDelivery, status: int, title: str, detail, errors: Optional[dict] = None) -> Result:
    """`detail`: a lazy message, or a list of them; the log keeps them for its readers' languages."""
    details = detail if isinstance(detail, list) else [detail]
    record.status, record.http_status, record.problem = "rejected", status, keep_text(*details)
    db.session.flush()
    return Result(record, title=title, errors=dict(errors or {}))


def _finish(record: ChannelDelivery, status: str, http_status: int, ticket: Ticket,
            thread: Optional[Thread] = None) -> Result:
    record.status, record.http_status, record.ticket_id = status, http_status, ticket.id
    record.thread_id = thread.id if thread is not None else None
    db.session.flush()
    return Result(record)


def _message_id(channel: WebhookChannel, external_id: Optional[str]) -> Optional[str]:
    # Threads' message ids are unique: two racing deliveries of one id can't both be taken.
    return f"webhook:{channel.public_id}:{external_id}" if external_id else None


def _earlier_ticket(channel: WebhookChannel, external_id: Optional[str]) -> Optional[Ticket]:
    if not external_id:
        return None
    thread = db.session.scalar(select(Thread).where(Thread.message_id == _message_id(channel, external_id)))
    return thread.ticket if thread is not None else None


def _open_conversation(channel: WebhookChannel, key: Optional[str]) -> Optional[Ticket]:
    """The ticket the conversation's latest taken delivery went to, if it is still open."""
    if not key:
        return None
    ticket_id = db.session.scalar(select(ChannelDelivery.ticket_id).where(
        ChannelDelivery.webhook_id == channel.id, ChannelDelivery.conversation == key,
        ChannelDelivery.status.in_(TAKEN), ChannelDelivery.ticket_id.is_not(None))
        .order_by(ChannelDelivery.id.desc()).limit(1))
    ticket = db.session.get(Ticket, ticket_id) if ticket_id else None
    return ticket if ticket is not None and ticket.status in OPEN_STATUSES else None


def _contact(taken: Extracted, *, create: bool) -> tuple[Optional[Contact], dict[str, str]]:
    """The customer, by the mapped email, else the mapped phone; `create=False` only looks."""
    email, phone = taken.values.get("contact_email"), taken.values.get("contact_phone")
    name = taken.values.get("contact_name")
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            return None, {"contact_email": _l("“%(value)s” is not an email address.", value=email)}
        kind, value = "email", email
    elif phone:
        kind, value = "phone", phone[:320]
    else:
        return None, {}
    if not create:
        return find_contact_by_identity(kind, value), {}
    return find_or_create_by_identity(kind, value, name), {}


def _take(record: ChannelDelivery, channel: WebhookChannel, taken: Extracted, contact: Optional[Contact],
          now: datetime) -> Result:
    actor = Actor(label=f"webhook {channel.name}"[:120])
    values = taken.values
    ticket = _open_conversation(channel, taken.conversation)
    savepoint = db.session.begin_nested()
    try:
        if ticket is not None:
            thread = ticket_service.add_thread(
                ticket, kind="customer", body=values.get("body", ""), contact=contact or ticket.contact,
                channel="webhook", sender=values.get("contact_email") or values.get("contact_phone"),
                message_id=_message_id(channel, taken.external_id), by=actor, now=now)
            status = "thread"
        else:
            ticket = ticket_service.create_ticket(
                subject=values.get("subject", "")[:300], body=values.get("body", ""), department=channel.department,
                contact=contact, channel="webhook", priority=values.get("priority") or "normal",
                tags=values.get("tags", ()), custom_fields=taken.custom_fields or None,
                sender=values.get("contact_email") or values.get("contact_phone"),
                message_id=_message_id(channel, taken.external_id), by=actor, now=now)
            thread = ticket.threads[0]
            status = "ticket"
        savepoint.commit()
    except IntegrityError:  # the same external id taken by a concurrent delivery a moment ago
        savepoint.rollback()
        earlier = _earlier_ticket(channel, taken.external_id)
        if earlier is None:
            raise
        return _finish(record, "duplicate", 200, earlier)
    except ValidationFailed as exc:
        savepoint.rollback()
        errors = _by_path(channel, exc.errors)
        return _refuse(record, 422, _("A mapped value is missing or unusable"), list(errors.items()), errors)
    return _finish(record, status, 201, ticket, thread)


def _by_path(channel: WebhookChannel, errors: dict) -> dict:
    """The ticket service names fields ("priority", "cf.order"); the sender knows its paths."""
    paths = {row["field"]: row.get("path") for row in channel.mapping or []}
    return {(paths.get(key) or key): message for key, message in errors.items()}


# --------------------------------------------------------------------------------------------
# The admin's "test with a sample payload": the same mapping and checks, nothing written
# --------------------------------------------------------------------------------------------
@dataclass
class Preview:
    taken: Optional[Extracted] = None
    errors: dict[str, str] = field(default_factory=dict)
    outcome: str = ""                      # "ticket" / "thread" / "duplicate"
    ticket: Optional[Ticket] = None        # the existing ticket a thread or duplicate goes to
    contact: Optional[Contact] = None      # an existing contact it would be filed under
    custom_fields: dict[str, Any] = field(default_factory=dict)


def preview(channel: WebhookChannel, text: str) -> Preview:
    try:
        payload = json.loads(text)
    except ValueError as exc:
        return Preview(errors={"json": _("This is not JSON: %(error)s", error=str(exc))})
    taken = extract(channel.mapping or [], payload, channel.external_id_path, channel.conversation_path)
    result = Preview(taken=taken, errors=dict(taken.problems))
    if result.errors:
        return result
    earlier = _earlier_ticket(channel, taken.external_id)
    if earlier is not None:
        result.outcome, result.ticket = "duplicate", earlier
        return result
    result.contact, problems = _contact(taken, create=False)
    result.errors.update(problems)
    result.ticket = _open_conversation(channel, taken.conversation)
    result.outcome = "thread" if result.ticket is not None else "ticket"
    if result.outcome == "ticket":
        priority = taken.values.get("priority")
        if priority:
            try:
                Priority.from_key(priority)
            except ValueError:
                result.errors["priority"] = _("Unknown priority.")
        stored, problems = check_custom_values({}, taken.custom_fields, channel.department_id)
        result.custom_fields = stored
        result.errors.update({k: str(v) for k, v in problems.items()})
    result.errors = _by_path(channel, result.errors)
    return result
