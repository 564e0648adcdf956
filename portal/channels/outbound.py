"""Emails and webhooks: written in the deciding transaction, delivered by a job after commit.

Used by agent replies (portal/channels/mail/outgoing.py) and by rule and macro actions (send
email, webhook). `queue_message(...)` adds an OutboundMessage to the caller's transaction, unless
one with the same dedupe_key exists (a replayed event: nothing is created, nothing is sent twice).
After the transaction commits, `deliver_outbound(id)` is enqueued (RQ, with back-off retries); a
rolled back transaction enqueues nothing. `deliver_outbound` claims the message (queued ->
sending) with a guarded UPDATE, sends it outside any transaction, and records sent / failed with
`last_error`. With no MAIL_SERVER configured an email is kept as `held` with that reason.
The periodic `sweep_outbound` re-enqueues messages that were never picked up (Redis down) and
takes back messages stuck in `sending` (a worker died mid-send: at-least-once, as for events).
A message written for a conversation message (`thread_id`, an agent's emailed reply) keeps that
thread's `delivery_state` equal to its own status at every step.

Email: `body` is the text part, `html` (if any) the HTML alternative, `payload["attachments"]`
the Attachment ids to attach, `headers` the threading headers fixed when the message was written
(Message-ID, In-Reply-To, References, Reply-To). Mail without a thread is automatic (a rule's
notification) and carries `Auto-Submitted: auto-generated` (RFC 3834); a person's reply doesn't.

Webhook payload (the message's `body`, UTF-8 JSON; what the HMAC signs):

    {"event": {"kind": "ticket.updated", "id": 812, "rule": {"id": 3, "name": "VIP to senior", "revision": 2}},
     "ticket": {"number": 1042, "subject": ..., "status": "open", "priority": "high", "channel": "email",
                "department": {"id": 1, "name": "Returns"}, "team": {"id": 2, "name": "Replacements"} | null,
                "assignee": {"id": 5, "name": ..., "email": ...} | null, "contact": {...} | null,
                "tags": [...], "custom_fields": {...}, "created_at": ISO, "updated_at": ISO,
                "resolution_due_at": ISO | null, "url": "https://desk.example.com/tickets/1042"},
     "changes": {"priority": ["normal", "high"]}}     # the triggering event's changes (raw values)

Headers: Content-Type: application/json, X-Deskwright-Event, X-Deskwright-Delivery (the dedupe key,
stable across retries), and X-Deskwright-Signature: sha256=<hex HMAC-SHA256(secret, body)> when the
action has a secret.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from rq import Retry
from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Attachment, OutboundMessage, Thread, utcnow
from ..queue import get_queue
from ..services.attachments import attachment_path
from .netguard import UnsafeAddress, post_json

log = logging.getLogger(__name__)

PENDING_KEY = "deskwright_outbound_pending"
JOB = "portal.channels.outbound.deliver_outbound"
NO_MAIL_SERVER = "MAIL_SERVER is not configured: the email was kept (held), not sent."
STUCK_AFTER = timedelta(minutes=10)
# Headers an email's `headers` may set; anything else there is ignored (the rest are built here).
THREADING_HEADERS = ("Message-ID", "In-Reply-To", "References", "Reply-To")


def retry_policy() -> Retry | None:
    attempts = int(current_app.config["OUTBOUND_MAX_ATTEMPTS"])
    if attempts <= 1:
        return None
    intervals = list(current_app.config["OUTBOUND_RETRY_INTERVALS"])
    return Retry(max=attempts - 1, interval=intervals[:attempts - 1] or 60)


def _sync_thread(message: OutboundMessage, status: str | None = None) -> None:
    """Copy a message's status (or `status`, just written by an UPDATE) onto the thread it was
    written for (its delivery_state). No query for a message without a thread (a rule's email, a
    webhook); the thread of a reply is usually in the session already."""
    if message.thread_id is not None and (thread := db.session.get(Thread, message.thread_id)) is not None:
        thread.delivery_state = status or message.status


def _sync_threads(message_ids) -> None:
    """_sync_thread for messages changed by an UPDATE (their ids): reads their status back."""
    rows = db.session.execute(select(OutboundMessage.thread_id, OutboundMessage.status).where(
        OutboundMessage.id.in_(list(message_ids)), OutboundMessage.thread_id.is_not(None))).all()
    for thread_id, status in rows:  # one or a few: a reply has one message
        thread = db.session.get(Thread, thread_id)
        if thread is not None:
            thread.delivery_state = status


# --------------------------------------------------------------------------------------------
# Writing messages (inside the caller's transaction)
# --------------------------------------------------------------------------------------------
def queue_message(*, kind: str, dedupe_key: str, ticket_id: int | None, **fields) -> tuple[OutboundMessage, bool]:
    """Add a message unless its dedupe_key exists. Returns (message, created)."""
    existing = db.session.scalar(select(OutboundMessage).filter_by(dedupe_key=dedupe_key))
    if existing is not None:
        return existing, False
    now = utcnow()
    message = OutboundMessage(kind=kind, dedupe_key=dedupe_key, ticket_id=ticket_id, created_at=now, attempts=0,
                              status="queued", enqueued_at=now, **fields)
    if kind == "email" and not current_app.config.get("MAIL_SERVER"):
        message.status, message.last_error, message.enqueued_at = "held", NO_MAIL_SERVER, None
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # a concurrent worker wrote the same message first
        return db.session.scalar(select(OutboundMessage).filter_by(dedupe_key=dedupe_key)), False
    _sync_thread(message)
    if message.status == "queued":
        db.session.info.setdefault(PENDING_KEY, []).append(message.id)
    return message, True


def webhook_body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    ids = session.info.pop(PENDING_KEY, None)
    if ids:
        enqueue(ids)


def _after_rollback(session: Session, previous_transaction=None) -> None:
    if previous_transaction is not None and previous_transaction.nested:
        return  # ids noted in a rolled-back savepoint stay; deliver_outbound answers "missing" for them
    session.info.pop(PENDING_KEY, None)


def enqueue(ids: list[int]) -> None:
    queue = get_queue()
    for message_id in ids:
        try:
            queue.enqueue(JOB, message_id, retry=retry_policy(), description=f"outbound message {message_id}")
        except Exception:  # Redis down (or, inline, the first try failed): the sweep takes it up again
            log.warning("outbound message %s not delivered now; the sweep retries it", message_id, exc_info=True)


def init_app(app) -> None:
    """After-commit delivery and the periodic sweep (called by the app factory)."""
    from ..events import periodic

    if not sa_event.contains(Session, "after_commit", _after_commit):
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_soft_rollback", _after_rollback)
    periodic("outbound_sweep", "OUTBOUND_SWEEP_SECONDS")(sweep_outbound)


# --------------------------------------------------------------------------------------------
# Delivering (a job)
# --------------------------------------------------------------------------------------------
class PermanentFailure(Exception):
    """Retrying cannot help (refused address, rejected recipient)."""


class TemporaryFailure(Exception):
    """The server deferred the message (4xx): try again later."""


def deliver_outbound(message_id: int) -> str:
    """Send one message. Raises after a temporary failure while tries are left, so RQ retries."""
    message = db.session.get(OutboundMessage, message_id)
    if message is None:
        return "missing"
    config = current_app.config
    if message.kind == "email" and not config.get("MAIL_SERVER"):
        if message.status == "queued":
            message.status, message.last_error = "held", NO_MAIL_SERVER
            _sync_thread(message)
            db.session.commit()
        return message.status
    now = utcnow()
    claimed = db.session.execute(
        update(OutboundMessage).where(OutboundMessage.id == message_id, OutboundMessage.status == "queued")
        .values(status="sending", attempts=OutboundMessage.attempts + 1, last_attempt_at=now)).rowcount
    if claimed == 1:
        _sync_thread(message, "sending")
    db.session.commit()
    if claimed != 1:
        return f"not queued ({db.session.get(OutboundMessage, message_id).status})"
    message = db.session.get(OutboundMessage, message_id)
    try:
        if message.kind == "email":
            _send_email(message)
        else:
            post_json(message.url, message.body.encode(), dict(message.headers or {}),
                      timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the message
        permanent = isinstance(exc, (PermanentFailure, UnsafeAddress)) or getattr(exc, "permanent", False)
        last_try = message.attempts >= int(config["OUTBOUND_MAX_ATTEMPTS"])
        message.last_error = (str(exc) if isinstance(exc, PermanentFailure) else
                              f"{exc.__class__.__name__}: {exc}")[:2000]
        message.status = "failed" if permanent or last_try else "queued"
        _sync_thread(message)
        db.session.commit()
        log.warning("outbound message %s (%s) failed: %s", message_id, message.kind, message.last_error)
        if message.status == "queued":
            raise  # RQ retries with back-off
        return "failed"
    message.status, message.sent_at, message.last_error = "sent", utcnow(), None
    _sync_thread(message)
    db.session.commit()
    return "sent"


def build_email(message: OutboundMessage) -> EmailMessage:
    """The MIME message for an email row: text (+ HTML alternative) (+ attachments)."""
    config = current_app.config
    headers = {k: v for k, v in (message.headers or {}).items() if k in THREADING_HEADERS and v}
    mail = EmailMessage()
    mail["From"] = message.sender or config.get("MAIL_DEFAULT_SENDER") or "deskwright@localhost"
    mail["To"] = message.recipient
    mail["Subject"] = message.subject or ""
    mail["Date"] = format_datetime(utcnow())
    domain = mail["From"].addresses[0].domain or "localhost"
    mail["Message-ID"] = headers.pop("Message-ID", None) or make_msgid(domain=domain)
    for name in ("In-Reply-To", "References", "Reply-To"):
        if name in headers:
            mail[name] = headers[name]
    if message.thread_id is None:
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders must not answer
    mail["X-Deskwright-Delivery"] = message.dedupe_key
    mail.set_content(message.body or "")
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    for attachment in _attachments(message):
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(_read(attachment), maintype=maintype or "application",
                            subtype=subtype or "octet-stream", filename=attachment.filename)
    return mail


def _attachments(message: OutboundMessage) -> list[Attachment]:
    ids = list((message.payload or {}).get("attachments") or ())
    if not ids:
        return []
    rows = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]  # a file deleted since is left off


def _read(attachment: Attachment) -> bytes:
    try:
        return attachment_path(attachment).read_bytes()
    except OSError as exc:
        raise PermanentFailure(f"The attachment {attachment.filename} can't be read ({exc.strerror}).") from None


def _send_email(message: OutboundMessage) -> None:
    config = current_app.config
    mail = build_email(message)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                      timeout=float(config["MAIL_TIMEOUT_SECONDS"])) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        try:
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            text = "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in exc.recipients.items())
            if all(500 <= code < 600 for code in codes):  # 5xx: the server refuses for good
                raise PermanentFailure(f"Recipient refused: {text}") from None
            raise TemporaryFailure(f"Recipient deferred: {text}") from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused...
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"Refused by the mail server: {exc.smtp_code} {_text(exc.smtp_error)}") from None
            raise


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def sweep_outbound(now=None) -> int:
    """Re-enqueue queued messages nobody delivered, take back ones stuck in `sending`."""
    now = now or utcnow()
    stale = now - timedelta(seconds=current_app.config["OUTBOUND_STALE_SECONDS"])
    stuck = list(db.session.scalars(select(OutboundMessage.id).where(
        OutboundMessage.status == "sending", OutboundMessage.last_attempt_at < now - STUCK_AFTER)))
    if stuck:
        db.session.execute(
            update(OutboundMessage).where(OutboundMessage.id.in_(stuck), OutboundMessage.status == "sending")
            .values(status="queued", last_error="the worker sending it stopped; tried again"))
        _sync_threads(stuck)
    ids = list(db.session.scalars(
        select(OutboundMessage.id).where(OutboundMessage.status == "queued", OutboundMessage.enqueued_at < stale)
        .order_by(OutboundMessage.created_at).limit(500)))
    if ids:
        db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(enqueued_at=now))
    db.session.commit()
    if ids:
        enqueue(ids)
    return len(ids)


def release_held(ids: list[int] | None = None) -> int:
    """Queue held emails again (after MAIL_SERVER was configured); returns how many."""
    query = select(OutboundMessage.id).where(OutboundMessage.status == "held")
    if ids is not None:
        query = query.where(OutboundMessage.id.in_(ids))
    chosen = list(db.session.scalars(query))
    if chosen:
        _requeue(chosen)
    db.session.commit()
    return len(chosen)


def retry(message: OutboundMessage) -> bool:
    """Send a failed (or held) message again, with a fresh round of tries. The caller commits;
    the job is enqueued after the commit. False if the message isn't failed or held."""
    if message.status not in ("failed", "held"):
        return False
    _requeue([message.id], reset_attempts=True)
    db.session.refresh(message)
    return True


def _requeue(ids: list[int], *, reset_attempts: bool = False) -> None:
    values = dict(status="queued", enqueued_at=utcnow(), last_error=None)
    if reset_attempts:
        values["attempts"] = 0
    db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids),
                                                     OutboundMessage.status.in_(("failed", "held")))
                       .values(**values).execution_options(synchronize_session=False))
    _sync_threads(ids)
    db.session.info.setdefault(PENDING_KEY, []).extend(ids)
