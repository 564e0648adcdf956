"""Running actions on a ticket: `apply_actions(ticket, actions, actor=..., context=...)`.

Order within one action list:
1. Field changes (set_field, assign, add/remove_tags, move_department) are gathered in order
   (a later action wins over an earlier one on the same field) and applied in ONE
   `update_ticket` call, so the History shows one entry per field under the actor's label
   ("rule 'VIP to senior' r3"). An assignment strategy sees the changes before it: they are
   applied first (a second update).
2. Then the outputs, in order, rendered from the updated ticket: internal notes (add_thread),
   emails and webhooks (OutboundMessage rows, sent after commit by a job), notifications.
3. `stop` only sets `result.stop`; the actions of its own list all run.

Errors that are the actions' fault raise: ValidationFailed (from the ticket service),
TemplateProblem, ActionFailed. The caller runs the list in a savepoint and rolls it back
(engine.py). Database errors propagate untouched (the job retries).

Dry run (`context.dry_run`): field changes are made through the ticket service inside a
savepoint that is rolled back at the end (so validation and the before/after are exact), and
notes, emails, webhooks and notifications are only described in `result.outputs`. With
`context.rollback_dry_run=False` the caller owns that savepoint (the simulator runs several
rules in one, so later rules see earlier changes).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from flask_babel import gettext as _

from portal.channels import outbound
from portal.channels.mail.ingest import automatic_reply_refusal
from portal.channels.mail.outgoing import sender_for, threading_headers
from portal.channels.netguard import UnsafeAddress, check_url
from portal.extensions import db
from portal.models import Notification, Priority, Ticket, User, utcnow
from portal.queue import PENDING_KEY
from portal.services.errors import ValidationFailed
from portal.services.tickets import Actor, add_thread, update_ticket

from . import templates
from .vocabulary import ACTION_TYPES, SETTABLE, assignment_strategy

OUTPUT_TYPES = ("add_note", "send_email", "notify", "webhook")


class ActionFailed(Exception):
    """An action cannot run on this ticket (an unsafe webhook, a strategy that is gone...)."""


# What fails a rule (its savepoint is rolled back, the firing is logged failed); anything else
# (database errors) is transient and propagates.
ACTION_ERRORS = (ActionFailed, templates.TemplateProblem, ValidationFailed)


def needs_savepoint(actions: list[dict]) -> bool:
    """Whether running `actions` may write rows before one of them fails: outputs (notes, emails,
    webhooks, notifications) and assignment strategies do. Field changes alone don't: they are
    gathered and validated by one update_ticket call before the ticket is touched."""
    for action in actions:
        kind = action.get("type") if isinstance(action, dict) else None
        if kind in OUTPUT_TYPES or kind not in ACTION_TYPES:
            return True
        if kind == "assign" and action.get("agent") is None and action.get("team") is None:
            return True
    return False


@dataclass
class ActionContext:
    dedupe_base: str                      # outputs' dedupe keys are "<dedupe_base>:<action index>"
    event_kind: str = "manual"            # "ticket.updated", "time", "macro"...
    event_id: Optional[int] = None
    changes: dict = field(default_factory=dict)  # the triggering change set, raw (webhook payload)
    rule: Any = None                      # the Rule (or Macro) whose actions these are
    dry_run: bool = False
    rollback_dry_run: bool = True
    now: datetime = field(default_factory=utcnow)
    reason: Optional[str] = None          # History "reason" for the field changes


@dataclass
class ActionResult:
    changes: dict = field(default_factory=dict)      # {field: [old, new]} as people read them (cf.<key> flat)
    raw_changes: dict = field(default_factory=dict)  # {field: [old, new]} as the outbox payload has them
    outputs: list = field(default_factory=list)      # one dict per note / email / webhook / notification
    stop: bool = False
    messages: list = field(default_factory=list)     # OutboundMessage rows created


def apply_actions(ticket: Ticket, actions: list[dict], *, actor: Actor, context: ActionContext) -> ActionResult:
    """Run `actions` on `ticket` as `actor`. See the module docstring for order and errors."""
    if context.dry_run and context.rollback_dry_run:
        with dry_run_scope():
            return _Run(ticket, actor, context).run(actions)
    return _Run(ticket, actor, context).run(actions)


@contextmanager
def dry_run_scope():
    """A savepoint that is always rolled back, leaving the queue's pending lists as they were."""
    session = db.session
    saved = {key: list(session.info.get(key, [])) for key in (PENDING_KEY, outbound.PENDING_KEY)}
    savepoint = session.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        for key, ids in saved.items():
            if ids:
                session.info[key] = ids
            else:
                session.info.pop(key, None)


class _Run:
    def __init__(self, ticket: Ticket, actor: Actor, context: ActionContext):
        self.ticket, self.actor, self.context = ticket, actor, context
        self.result = ActionResult()
        self.pending: dict[str, Any] = {}
        self.reasons: list[str] = []

    def run(self, actions: list[dict]) -> ActionResult:
        outputs = []
        for index, action in enumerate(actions):
            kind = action.get("type") if isinstance(action, dict) else None
            if kind not in ACTION_TYPES:
                raise ActionFailed(f"Action {index}: unknown action type {kind!r}.")
            if kind in OUTPUT_TYPES:
                outputs.append((index, action))
            elif kind == "stop":
                self.result.stop = True
            else:
                self._guarded(index, getattr(self, "_" + kind), action)
        self._flush()
        for index, action in outputs:
            self._guarded(index, getattr(self, "_" + action["type"]), index, action)
        return self.result

    @staticmethod
    def _guarded(index: int, handler, *args):
        """Run one action; a malformed one (stored without validation) fails the rule, not the event."""
        try:
            handler(*args)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ActionFailed(f"Action {index} is malformed ({exc.__class__.__name__}: {exc}).") from None

    # -- field changes ----------------------------------------------------------------------
    def _set_field(self, action):
        name, value = action["field"], action.get("value")
        if name not in SETTABLE and not name.startswith("cf."):
            raise ActionFailed(_("Field %(field)s cannot be set by an action.", field=repr(name)))
        if name.startswith("cf."):
            values = self.pending.setdefault("custom_fields", dict(self.ticket.custom_fields or {}))
            if value is None:
                values.pop(name[3:], None)
            else:
                values[name[3:]] = value
        else:
            self.pending[name] = value

    def _assign(self, action):
        if action.get("agent") is not None:
            self.pending["assignee"] = action["agent"]
        elif action.get("team") is not None:
            self.pending["team"] = action["team"]
        else:
            name = action.get("strategy")
            strategy = assignment_strategy(name)
            if strategy is None:
                raise ActionFailed(_("The assignment strategy %(name)s is not available.", name=repr(name)))
            self._flush()  # the strategy chooses from the ticket as the earlier actions left it
            decision = dict(strategy(self.ticket, self.context) or {})
            reason = decision.pop("reason", None)
            if reason:
                self.reasons.append(str(reason))
            self.pending.update(decision)
            self.result.outputs.append({"type": "assign", "strategy": name, "reason": reason,
                                        "chose": {k: _raw(v) for k, v in decision.items()}})

    def _add_tags(self, action):
        tags = self.pending.setdefault("tags", list(self.ticket.tags))
        for tag in action["tags"]:
            tag = " ".join(str(tag).split()).lower()
            if tag and tag not in tags:
                tags.append(tag)

    def _remove_tags(self, action):
        tags = self.pending.setdefault("tags", list(self.ticket.tags))
        drop = {" ".join(str(t).split()).lower() for t in action["tags"]}
        tags[:] = [t for t in tags if t not in drop]

    def _move_department(self, action):
        self.pending["department"] = action["department"]
        if action.get("team") is not None:
            self.pending["team"] = action["team"]
        else:
            self.pending.pop("team", None)  # the ticket service drops a team that doesn't fit

    def _flush(self):
        if not self.pending:
            return
        changes, self.pending = self.pending, {}
        reason = "; ".join(r for r in [self.context.reason, *self.reasons] if r) or None
        self.reasons = []
        diff = update_ticket(self.ticket, changes, by=self.actor, reason=reason, now=self.context.now)
        for name, (old, new) in diff.items():
            self._merge(name, old, new)

    def _merge(self, name, old, new):
        raw = self.result.raw_changes
        first_old = raw[name][0] if name in raw else _raw(old)
        raw[name] = [first_old, _raw(new)]
        if name == "custom_fields":
            before, after = dict(old or {}), dict(new or {})
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    self._merge_display(f"cf.{key}", before.get(key), after.get(key))
        else:
            self._merge_display(name, _display(name, old), _display(name, new))

    def _merge_display(self, name, old, new):
        shown = self.result.changes
        shown[name] = [shown[name][0] if name in shown else old, new]

    # -- outputs ----------------------------------------------------------------------------
    def _key(self, index: int, suffix: str = "") -> str:
        return f"{self.context.dedupe_base}:{index}" + (f":{suffix}" if suffix else "")

    def _add_note(self, index, action):
        language = self.ticket.assignee.language if self.ticket.assignee else None
        body = templates.render(action["body"], templates.context_for(self.ticket, language), language)
        output = {"type": "add_note", "body": body}
        if not self.context.dry_run:
            thread = add_thread(self.ticket, kind="note", body=body, by=self.actor, now=self.context.now)
            output["thread_id"] = thread.id
        self.result.outputs.append(output)

    def _send_email(self, index, action):
        if action["to"] == "customer" and (loop := automatic_reply_refusal(self.ticket)):
            self.result.outputs.append({"type": "send_email", "to": "customer", "status": "skipped", "reason": _(
                "The customer's last message was automatic (%(reason)s): not answered, so mail can't loop.",
                reason=loop)})
            return
        recipients, missing = email_recipients(self.ticket, action)
        if not recipients:
            self.result.outputs.append({"type": "send_email", "to": action["to"], "status": "skipped",
                                        "reason": missing})
            return
        sender, _mailbox = sender_for(self.ticket)
        # To the customer, in the ticket's conversation, so their mail client threads it there.
        headers = threading_headers(self.ticket) if action["to"] == "customer" else None
        fan_out = len(recipients) > 1 or action["to"] in ("team", "supervisor")
        for address, language, suffix in recipients:
            context = templates.context_for(self.ticket, language)
            subject = " ".join(templates.render(action["subject"], context, language).split())[:500]
            body = templates.render(action["body"], context, language)
            output = {"type": "send_email", "to": action["to"], "recipient": address, "subject": subject,
                      "body": body}
            if self.context.dry_run:
                output["status"] = "dry run"
            else:
                message, created = outbound.queue_message(
                    kind="email", dedupe_key=self._key(index, suffix if fan_out else ""), ticket_id=self.ticket.id,
                    recipient=address, sender=sender, subject=subject, body=body, headers=headers)
                output.update(message_id=message.id, status=message.status if created else "duplicate")
                if created:
                    self.result.messages.append(message)
            self.result.outputs.append(output)

    def _notify(self, index, action):
        users, missing = notify_recipients(self.ticket, action)
        if not users:
            self.result.outputs.append({"type": "notify", "to": action["to"], "status": "skipped", "reason": missing})
            return
        for user in users:
            text = templates.render(action["text"], templates.context_for(self.ticket, user.language), user.language)
            self.result.outputs.append({"type": "notify", "to": action["to"], "user_id": user.id, "user": user.name,
                                        "text": text})
            if not self.context.dry_run:
                db.session.add(Notification(user_id=user.id, ticket_id=self.ticket.id, text=text,
                                            created_at=self.context.now))

    def _webhook(self, index, action):
        try:
            check_url(action["url"], resolve=False)  # literal addresses now; names are resolved when sent
        except UnsafeAddress as exc:
            raise ActionFailed(_("Webhook refused: %(reason)s", reason=str(exc))) from None
        rule = self.context.rule
        payload = {
            "event": {"kind": self.context.event_kind, "id": self.context.event_id,
                      "rule": {"id": rule.id, "name": rule.name, "revision": rule.revision} if rule else None},
            "ticket": ticket_payload(self.ticket),
            "changes": self.context.changes,
        }
        body = outbound.webhook_body(payload)
        key = self._key(index)
        headers = {"X-Deskwright-Event": self.context.event_kind, "X-Deskwright-Delivery": key}
        if action.get("secret"):
            headers["X-Deskwright-Signature"] = outbound.signature(action["secret"], body)
        output = {"type": "webhook", "url": action["url"], "payload": payload}
        if self.context.dry_run:
            output["status"] = "dry run"
        else:
            message, created = outbound.queue_message(kind="webhook", dedupe_key=key, ticket_id=self.ticket.id,
                                                      url=action["url"], body=body.decode(), payload=payload,
                                                      headers=headers)
            output.update(message_id=message.id, status=message.status if created else "duplicate")
            if created:
                self.result.messages.append(message)
        self.result.outputs.append(output)


# --------------------------------------------------------------------------------------------
# Recipients and payloads
# --------------------------------------------------------------------------------------------
def supervisors(ticket: Ticket) -> list[User]:
    """The active supervisors working in the ticket's department."""
    return [u for u in ticket.department.members if u.active and u.role == "supervisor"]


def email_recipients(ticket: Ticket, action: dict) -> tuple[list[tuple[str, str, str]], str | None]:
    """[(address, language, dedupe suffix)], or ([], why nobody)."""
    to = action["to"]
    if to == "customer":
        contact = ticket.contact
        if contact is None or not contact.email:
            return [], _("The ticket's customer has no email address.")
        return [(contact.email, contact.language, "")], None
    if to == "address":
        language = ticket.contact.language if ticket.contact else "en"
        return [(action["address"].strip(), language, "")], None
    if to == "assignee":
        user = ticket.assignee
        if user is None or not user.active:
            return [], _("The ticket has no assignee.")
        return [(user.email, user.language, "")], None
    users = _users_for(ticket, to)
    if not users:
        return [], _("The ticket has no team.") if to == "team" else _("The department has no supervisor.")
    return [(u.email, u.language, f"u{u.id}") for u in users], None


def notify_recipients(ticket: Ticket, action: dict) -> tuple[list[User], str | None]:
    to = action["to"]
    if to == "agent":
        user = db.session.get(User, action.get("agent"))
        return ([user], None) if user and user.active else ([], _("The agent is no longer active."))
    if to == "assignee":
        user = ticket.assignee
        return ([user], None) if user and user.active else ([], _("The ticket has no assignee."))
    users = _users_for(ticket, to)
    if not users:
        return [], _("The ticket has no team.") if to == "team" else _("The department has no supervisor.")
    return users, None


def _users_for(ticket: Ticket, to: str) -> list[User]:
    if to == "team":
        return [u for u in ticket.team.members if u.active] if ticket.team else []
    return supervisors(ticket)


def ticket_payload(ticket: Ticket) -> dict:
    def ref(obj, *extra):
        if obj is None:
            return None
        data = {"id": obj.id, "name": obj.name}
        for name in extra:
            data[name] = getattr(obj, name)
        return data

    return {
        "number": ticket.id, "subject": ticket.subject, "status": ticket.status,
        "priority": Priority(ticket.priority).key, "channel": ticket.channel,
        "department": ref(ticket.department), "team": ref(ticket.team), "assignee": ref(ticket.assignee, "email"),
        "contact": ref(ticket.contact, "email"), "tags": list(ticket.tags),
        "custom_fields": dict(ticket.custom_fields or {}),
        "created_at": _raw(ticket.created_at), "updated_at": _raw(ticket.updated_at),
        "resolution_due_at": _raw(ticket.resolution_due_at), "url": templates.ticket_url(ticket.id),
    }


def _raw(value: Any) -> Any:
    if hasattr(value, "__tablename__") and hasattr(value, "id"):
        return value.id
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _display(name: str, value: Any) -> Any:
    if value is None or value == [] or value == {}:
        return None
    if name == "priority":
        return Priority(value).key
    if hasattr(value, "__tablename__"):
        return getattr(value, "name", value.id)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return value
