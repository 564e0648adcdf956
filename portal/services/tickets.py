"""The ticket service: the one place that creates and changes tickets.

Every change goes through `create_ticket`, `update_ticket` or `add_thread`. Each validates
its input, applies it, and records in the same transaction: one TicketEvent per changed
field (the History tab), and one OutboxEvent (what rules, assignment and SLA react to).
Services flush; the caller commits. After commit the outbox event goes to the queue.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import (CHANNELS, STATUSES, Attachment, Contact, Department, OutboxEvent, Priority, Team,
                      Thread, Ticket, TicketEvent, TicketTag, User, utcnow)
from ..channels.mail.outgoing import email_reply
from ..events import subscribers_for
from ..fields.ticket_values import check_custom_values
from ..queue import note_outbox_event
from .errors import StaleEdit, ValidationFailed
from .sanitize import clean_html, html_to_text, text_to_html

SUBJECT_MAX = 300
SEARCH_TEXT_MAX = 20_000
TAG_MAX = 64
# Fields an update may change, in the order the History tab lists them.
EDITABLE = ("subject", "status", "priority", "channel", "department", "team", "assignee", "contact", "tags",
            "custom_fields", "first_response_due_at", "resolution_due_at")
RESOLVED = ("solved", "closed")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user, or a named machine/customer actor."""

    user: Optional[User] = None
    label: Optional[str] = None  # "customer", "rule 'VIP to senior' r3", "assignment", "system"
    # What caused the change, for subscribers: "rules" marks changes made by rule actions, so the
    # rule engine skips the events they cause (other subscribers still see them).
    origin: Optional[str] = None

    @property
    def name(self) -> str:
        return self.user.name if self.user else (self.label or "system")

    def as_payload(self) -> dict:
        payload = {"user_id": self.user.id if self.user else None, "label": self.label}
        if self.origin:
            payload["origin"] = self.origin
        return payload


def as_actor(by: Actor | User | str | None) -> Actor:
    if isinstance(by, Actor):
        return by
    if isinstance(by, User):
        return Actor(user=by)
    return Actor(label=by or "system")


# --------------------------------------------------------------------------------------------
# Normalising and validating input
# --------------------------------------------------------------------------------------------
def _entity(model, value, field: str, errors: dict) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, model):
        return value
    try:
        obj = db.session.get(model, int(value))
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        errors[field] = _l("Unknown %(field)s.", field=field)
    return obj


def _normalise_tags(values: Iterable[str], errors: dict) -> list[str]:
    tags = []
    for raw in values or ():
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            errors["tags"] = _l("A tag may be at most %(n)d characters.", n=TAG_MAX)
        elif tag not in tags:
            tags.append(tag)
    return sorted(tags)  # a set, kept sorted: reordering the same tags is not a change


def _normalise(changes: dict, ticket: Optional[Ticket]) -> dict:
    """Turn user/API input into model values, collecting every error at once."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed({f: _l("This field cannot be changed here.") for f in sorted(unknown)})
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "subject":
            subject = " ".join(str(value or "").split())
            if not subject:
                errors[field] = _l("A subject is required.")
            elif len(subject) > SUBJECT_MAX:
                errors[field] = _l("A subject may be at most %(n)d characters.", n=SUBJECT_MAX)
            out[field] = subject
        elif field == "status":
            if value not in STATUSES:
                errors[field] = _l("Unknown status.")
            out[field] = value
        elif field == "priority":
            try:
                out[field] = int(value if isinstance(value, Priority) else Priority.from_key(value))
            except ValueError:
                errors[field] = _l("Unknown priority.")
        elif field == "channel":
            if value not in CHANNELS:
                errors[field] = _l("Unknown channel.")
            out[field] = value
        elif field == "department":
            dept = _entity(Department, value, field, errors)
            if dept is None and field not in errors:
                errors[field] = _l("A department is required.")
            out[field] = dept
        elif field == "team":
            out[field] = _entity(Team, value, field, errors)
        elif field == "assignee":
            out[field] = _entity(User, value, field, errors)
        elif field == "contact":
            out[field] = _entity(Contact, value, field, errors)
        elif field == "tags":
            out[field] = _normalise_tags(value, errors)
        elif field == "custom_fields":
            if not isinstance(value, dict):
                errors[field] = _l("Custom fields must be a mapping of field keys to values.")
            out[field] = dict(value) if isinstance(value, dict) else {}
        elif field in ("first_response_due_at", "resolution_due_at"):
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                errors[field] = _l("A due time must be a time-zone-aware datetime.")
            out[field] = value
    # Cross-field rules: a team belongs to the ticket's department; an assignee works in it.
    dept = out.get("department") or (ticket.department if ticket else None)
    team = out["team"] if "team" in out else (ticket.team if ticket else None)
    assignee = out["assignee"] if "assignee" in out else (ticket.assignee if ticket else None)
    if dept is not None and "department" in out and ticket is not None:
        # Moving department: a team or assignee that doesn't fit is dropped (and audited).
        if team is not None and team.department_id != dept.id and "team" not in changes:
            out["team"] = team = None
        if assignee is not None and not _works_in(assignee, dept) and "assignee" not in changes:
            out["assignee"] = assignee = None
    if "custom_fields" in out and "custom_fields" not in errors:
        # Only the keys whose value changes are checked, against the (new) department's options.
        current = dict(ticket.custom_fields or {}) if ticket is not None else {}
        out["custom_fields"], problems = check_custom_values(current, out["custom_fields"],
                                                             dept.id if dept is not None else None)
        errors.update(problems)
    if dept is not None and team is not None and team.department_id != dept.id:
        errors["team"] = _l("Team %(team)s is not part of %(dept)s.", team=team.label, dept=dept.label)
    if assignee is not None and "assignee" in out:
        if not assignee.active:
            errors["assignee"] = _l("%(name)s is deactivated.", name=assignee.name)
        elif dept is not None and not _works_in(assignee, dept):
            errors["assignee"] = _l("%(name)s does not work in %(dept)s.", name=assignee.name, dept=dept.label)
    if errors:
        raise ValidationFailed(errors)
    return out


def _works_in(user: User, dept: Department) -> bool:
    return user.is_admin or dept.id in user.department_ids


# --------------------------------------------------------------------------------------------
# Reading current values, for diffs and the audit trail
# --------------------------------------------------------------------------------------------
def _current(ticket: Ticket, field: str) -> Any:
    if field in ("department", "team", "assignee", "contact"):
        return getattr(ticket, field)
    if field == "tags":
        return ticket.tags
    if field == "custom_fields":
        return dict(ticket.custom_fields or {})
    return getattr(ticket, field)


def _raw(value: Any) -> Any:
    """JSON-safe value for the outbox payload (ids for entities, keys for priorities)."""
    if hasattr(value, "id") and hasattr(value, "__tablename__"):
        return value.id
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _display(field: str, value: Any) -> Optional[str]:
    """What the History tab shows."""
    if value is None or value == [] or value == {}:
        return None
    if field == "priority":
        return Priority(value).key
    if field in ("department", "team"):
        return value.name
    if field in ("assignee", "contact"):
        return value.name
    if field == "tags":
        return ", ".join(value)
    if field == "custom_fields":
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


def _set(ticket: Ticket, field: str, value: Any) -> None:
    if field == "tags":  # rows of tags it keeps stay as they are: only added and removed ones are written
        kept = {row.tag: row for row in ticket.tag_rows}
        ticket.tag_rows = [kept.get(t) or TicketTag(tag=t) for t in value]
    elif field in ("department", "team", "assignee", "contact"):
        setattr(ticket, field, value)
        setattr(ticket, f"{field}_id", value.id if value is not None else None)
    else:
        setattr(ticket, field, value)


def _record(ticket: Ticket, kind: str, diff: dict, actor: Actor, reason: Optional[str], extra: dict | None = None,
            now: Optional[datetime] = None, history: list[tuple] | None = None) -> int:
    """Audit rows and the outbox event, in the caller's transaction; the event's id.

    `history` (field, old, new, actor, reason) rows replace the ones `diff` would give (a batch
    records each change under the actor who made it).

    Both are plain INSERTs, not ORM objects: nothing reads them back in the writing session, and
    every ticket write pays for them (a new ticket has ~7 history rows: as objects they cost more
    than the ticket itself). The statements autoflush the ticket first.
    """
    now = now or utcnow()
    # The outbox row keeps real time even when `now` is backdated (imports, the demo seed):
    # the sweep judges staleness by it. It counts as enqueued at commit (after_commit does that).
    real_now = utcnow()
    payload = {"changes": {f: [_raw(old), _raw(new)] for f, (old, new) in diff.items()},
               "actor": actor.as_payload(), **(extra or {})}
    wanted = bool(subscribers_for(kind, payload))
    # Nobody acts on an event no subscriber wants: kept for the audit trail, never queued.
    status, processed_at = ("pending", None) if wanted else ("done", real_now)
    event_id = db.session.execute(
        insert(OutboxEvent).values(kind=kind, ticket_id=ticket.id, payload=payload, status=status, attempts=0,
                                   created_at=real_now, enqueued_at=real_now, processed_at=processed_at)
        .returning(OutboxEvent.id)).scalar_one()
    if history is None:
        history = [(field, old, new, actor, reason) for field, (old, new) in diff.items()]
    if history:
        # render_nulls: one INSERT for all rows (otherwise rows are grouped by which values are None)
        db.session.execute(insert(TicketEvent).execution_options(render_nulls=True), [
            dict(ticket_id=ticket.id, outbox_id=event_id, actor_id=who.user.id if who.user else None,
                 actor_label=None if who.user else who.label, field=field, old_value=_display(field, old),
                 new_value=_display(field, new), reason=why, version=ticket.version, created_at=now)
            for field, old, new, who, why in history])
    if wanted:
        note_outbox_event(db.session, event_id)
    return event_id


# --------------------------------------------------------------------------------------------
# Batches: several changes to one ticket as one version and one outbox event
# --------------------------------------------------------------------------------------------
BATCH_KEY = "deskwright_ticket_batches"


class ChangeBatch:
    """`update_ticket` calls on one ticket gathered while the batch is open (see `batched`)."""

    def __init__(self, ticket: Ticket, actor: Actor, now: datetime):
        self.ticket, self.actor, self.now = ticket, actor, now
        self.history: list[tuple] = []   # (field, old, new, actor, reason) per update, in order

    def mark(self) -> int:
        return len(self.history)

    def discard_after(self, mark: int) -> None:
        """Forget the changes recorded after `mark` (the caller rolled them back)."""
        del self.history[mark:]

    def diff(self) -> dict:
        merged: dict = {}
        for field, old, new, _who, _why in self.history:
            merged[field] = (merged[field][0] if field in merged else old, new)
        return {f: (old, new) for f, (old, new) in merged.items() if old != new}

    def close(self) -> None:
        if not self.history:
            return
        ticket = self.ticket
        ticket.version += 1
        ticket.updated_at = self.now
        _flush_or_stale(ticket)
        _record(ticket, "ticket.updated", self.diff(), self.actor, None, now=self.now, history=self.history)


@contextmanager
def batched(ticket: Ticket, *, by: Actor | User | str | None, now: datetime | None = None):
    """Gather the `update_ticket` calls on `ticket` inside the block into one version bump, one
    flush and one ticket.updated event (payload actor `by`), written when the block ends; each
    History row keeps the actor and reason of its own call. The rule engine runs a pass of rules
    this way. Inside the block changes are validated and applied in memory at once (a refused
    change raises before touching the ticket); nothing is written if the block raises.
    """
    batches = db.session.info.setdefault(BATCH_KEY, {})
    if id(ticket) in batches:  # nested: the outer batch records everything
        yield batches[id(ticket)]
        return
    batch = batches[id(ticket)] = ChangeBatch(ticket, as_actor(by), now or utcnow())
    try:
        yield batch
        batches.pop(id(ticket), None)
        batch.close()
    finally:
        batches.pop(id(ticket), None)


def _open_batch(ticket: Ticket) -> Optional[ChangeBatch]:
    batches = db.session.info.get(BATCH_KEY)
    return batches.get(id(ticket)) if batches else None


def _apply_status_side_effects(ticket: Ticket, diff: dict, now: datetime) -> None:
    if "status" not in diff:
        return
    old, new = diff["status"]
    if new in RESOLVED and old not in RESOLVED:
        ticket.resolved_at = now
    elif new not in RESOLVED and old in RESOLVED:
        ticket.resolved_at = None


def _stale(ticket: Ticket, seen_version: int) -> StaleEdit:
    """Another session changed the ticket since this one loaded it at `seen_version`."""
    db.session.rollback()
    fresh = db.session.get(Ticket, ticket.id)
    return StaleEdit(fresh, changes_since(fresh, seen_version))


def _flush_or_stale(ticket: Ticket) -> None:
    seen_version = ticket.version - 1  # callers bump the version once, then flush
    try:
        db.session.flush()
    except StaleDataError:
        raise _stale(ticket, seen_version) from None


# --------------------------------------------------------------------------------------------
# The public write path
# --------------------------------------------------------------------------------------------
def create_ticket(*, subject: str, department: Department | int, body: str = "", body_html: str | None = None,
                  contact: Contact | int | None = None, priority: str | Priority = "normal", status: str = "new",
                  channel: str = "portal", team: Team | int | None = None, assignee: User | int | None = None,
                  tags: Iterable[str] = (), custom_fields: dict | None = None,
                  by: Actor | User | str | None = None, attachments: Iterable[Attachment] = (),
                  sender: str | None = None, message_id: str | None = None,
                  first_response_due_at: datetime | None = None, resolution_due_at: datetime | None = None,
                  now: datetime | None = None) -> Ticket:
    """Open a ticket with its first message. Raises ValidationFailed with every bad field."""
    actor = as_actor(by)
    now = now or utcnow()
    values = _normalise({"subject": subject, "department": department, "priority": priority, "status": status,
                         "channel": channel, "team": team, "assignee": assignee, "contact": contact,
                         "tags": list(tags), "custom_fields": custom_fields or {},
                         "first_response_due_at": first_response_due_at,
                         "resolution_due_at": resolution_due_at}, None)
    html_body, text_body = _bodies(body, body_html)
    attachments = list(attachments)
    if not text_body and not attachments:
        raise ValidationFailed({"body": _l("Please describe the request.")})
    ticket = Ticket(version=1, created_at=now, updated_at=now, thread_count=0, last_customer_reply_at=now,
                    search_text=_search_text(values["subject"], [text_body]))
    for field, value in values.items():
        _set(ticket, field, value)
    db.session.add(ticket)
    # The first message is always the customer's request, even when an agent typed it in
    # (a phone call): the thread keeps the agent as author so the History says who. Its flush
    # writes the ticket too, complete: two INSERTs, no UPDATE after.
    thread = _new_thread(ticket, kind="customer",
                         html_body=html_body, text_body=text_body, actor=actor, channel=ticket.channel,
                         sender=sender, message_id=message_id, attachments=attachments, now=now)
    diff = {f: (None, v) for f, v in values.items() if v not in (None, [], {})}
    _record(ticket, "ticket.created", diff, actor, None, {"thread_id": thread.id}, now)
    return ticket


def update_ticket(ticket: Ticket, changes: dict, *, by: Actor | User | str | None,
                  expected_version: int | None = None, reason: str | None = None,
                  now: datetime | None = None) -> dict:
    """Apply field changes. Returns {field: (old, new)} of what actually changed.

    `expected_version` is the version the editor saw; if the ticket moved on since, nothing is
    saved and StaleEdit says who changed what meanwhile.
    """
    actor = as_actor(by)
    if expected_version is not None and int(expected_version) != ticket.version:
        raise StaleEdit(ticket, changes_since(ticket, int(expected_version)))
    values = _normalise(changes, ticket)
    diff = {}
    for field in EDITABLE:
        if field in values:
            old = _current(ticket, field)
            new = values[field]
            if old != new:
                diff[field] = (old, new)
    if not diff:
        return {}
    batch = _open_batch(ticket)
    now = now or (batch.now if batch else utcnow())
    for field, (_, new) in diff.items():
        _set(ticket, field, new)
    _apply_status_side_effects(ticket, diff, now)
    if "subject" in diff:
        ticket.search_text = ticket.subject + "\n" + ticket.search_text.split("\n", 1)[-1]
    if batch is not None:  # written when the batch closes
        batch.history.extend((field, old, new, actor, reason) for field, (old, new) in diff.items())
        return diff
    ticket.version += 1
    ticket.updated_at = now
    _flush_or_stale(ticket)
    _record(ticket, "ticket.updated", diff, actor, reason, now=now)
    return diff


def add_thread(ticket: Ticket, *, kind: str, body: str = "", body_html: str | None = None,
               by: Actor | User | str | None = None, contact: Contact | None = None, channel: str | None = None,
               sender: str | None = None, message_id: str | None = None,
               attachments: Iterable[Attachment] = (), status: str | None = None,
               now: datetime | None = None, send_email: bool = True) -> Thread:
    """Add a customer message, an agent reply or an internal note (and an optional status change).

    An agent's reply is emailed to the ticket's customer (if they have an email address) by a job
    after commit, unless `send_email` is False (history being imported or seeded) or the reply
    already has a Message-ID (it was sent by whoever wrote it).
    """
    if kind not in ("customer", "reply", "note"):
        raise ValidationFailed({"kind": _l("Unknown message kind.")})
    actor = as_actor(by)
    html_body, text_body = _bodies(body, body_html)
    attachments = list(attachments)
    if not text_body and not attachments:
        raise ValidationFailed({"body": _l("The message is empty.")})
    if status is not None and status not in STATUSES:
        raise ValidationFailed({"status": _l("Unknown status.")})
    now = now or utcnow()
    seen_version = ticket.version
    diff: dict = {}
    new_status = status
    if kind == "customer":
        ticket.last_customer_reply_at = now
        if new_status is None and ticket.status in ("pending", "solved"):
            new_status = "open"  # the customer answered: back in the agents' court
    elif kind == "reply":
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        ticket.last_agent_reply_at = now
        if new_status is None and ticket.status == "new":
            new_status = "open"
    if new_status and new_status != ticket.status:
        diff["status"] = (ticket.status, new_status)
        ticket.status = new_status
        _apply_status_side_effects(ticket, diff, now)
    ticket.search_text = _search_text(ticket.search_text, [text_body])
    ticket.version += 1
    ticket.updated_at = now
    try:  # one flush: the ticket's version-checked UPDATE (it can be the stale one) and the thread
        thread = _new_thread(ticket, kind=kind, html_body=html_body, text_body=text_body, actor=actor,
                             channel=channel or ticket.channel, sender=sender, message_id=message_id,
                             attachments=attachments, now=now, contact=contact)
    except StaleDataError:
        raise _stale(ticket, seen_version) from None
    event_kind = {"customer": "ticket.customer_replied", "reply": "ticket.agent_replied",
                  "note": "ticket.note_added"}[kind]
    _record(ticket, event_kind, diff, actor, None, {"thread_id": thread.id}, now)
    # A call logged by phone (channel "phone") reached the customer on the line: never emailed.
    if kind == "reply" and send_email and message_id is None and thread.channel != "phone":
        email_reply(thread)
    return thread


def bulk_update(tickets: Iterable[Ticket], changes: dict, *, by: Actor | User | str | None) -> dict[int, str]:
    """Apply the same change to many tickets; one savepoint each, so one bad ticket spoils none.

    Returns {ticket number: error message} for the ones that were refused.
    """
    failures: dict[int, str] = {}
    for ticket in tickets:
        try:
            with db.session.begin_nested():
                update_ticket(ticket, changes, by=by)
        except ValidationFailed as exc:
            failures[ticket.id] = "; ".join(str(v) for v in exc.errors.values())
    return failures


def move_contact(source: Contact, into: Contact, *, by: Actor | User | str | None,
                 reason: str | None = None) -> list[Ticket]:
    """Give every ticket and message of `source` to `into` (a contact merge): each ticket's contact
    changes through `update_ticket`, so its History and a ticket.updated event record the move,
    and the customer messages `source` wrote are re-attributed. Returns the tickets moved.
    Raises StaleEdit if a ticket changed underneath (nothing is written then).
    """
    tickets = list(db.session.scalars(select(Ticket).where(Ticket.contact_id == source.id).order_by(Ticket.id)))
    for ticket in tickets:
        update_ticket(ticket, {"contact": into}, by=by, reason=reason)
    # A message keeps its ticket; only who wrote it changes (also on tickets of another contact,
    # where the source was copied in).
    for thread in db.session.scalars(select(Thread).where(Thread.contact_id == source.id)):
        thread.contact = into
    db.session.flush()
    return tickets


def edit_tags(ticket: Ticket, *, add: Iterable[str] = (), remove: Iterable[str] = (),
              by: Actor | User | str | None, expected_version: int | None = None) -> dict:
    tags = [t for t in ticket.tags if t not in {r.lower() for r in remove}]
    return update_ticket(ticket, {"tags": tags + list(add)}, by=by, expected_version=expected_version)


def changes_since(ticket: Ticket, version: int) -> list[TicketEvent]:
    return list(db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.version > version)
        .order_by(TicketEvent.id)))


# --------------------------------------------------------------------------------------------
def _bodies(body: str, body_html: str | None) -> tuple[str, str]:
    if body_html is not None:
        html_body = clean_html(body_html)
        return html_body, html_to_text(html_body)
    text = (body or "").strip()
    return text_to_html(text), text


def _new_thread(ticket: Ticket, *, kind: str, html_body: str, text_body: str, actor: Actor, channel: str,
                sender: str | None, message_id: str | None, attachments: list[Attachment], now: datetime,
                contact: Contact | None = None) -> Thread:
    thread = Thread(ticket=ticket, kind=kind, channel=channel, body_html=html_body, body_text=text_body,
                    author=actor.user, contact=contact or (ticket.contact if kind == "customer" else None),
                    sender=sender, message_id=message_id, created_at=now)
    db.session.add(thread)
    ticket.thread_count = (ticket.thread_count or 0) + 1
    db.session.flush()
    for attachment in attachments:
        attachment.ticket_id = ticket.id
        attachment.thread_id = thread.id
        db.session.add(attachment)
    return thread


def _search_text(existing: str, texts: list[str]) -> str:
    combined = "\n".join([existing, *texts]) if existing else "\n".join(texts)
    return combined[:SEARCH_TEXT_MAX]
