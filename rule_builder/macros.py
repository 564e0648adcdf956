"""Macros: named bundles of actions an agent applies to one ticket or a selection.

A macro is personal (owner) or shared (owner NULL), for one department or all, with an
availability condition (context "event", evaluated with no change set) and the same actions as
rules (no `stop`). Saves are validated and versioned like rules (MacroRevision). Applying one
runs its actions as the agent (the History shows the agent; the events are not marked as
rule-made, so rules do react to them), each ticket in a savepoint of its own, and counts usage.
"""
from __future__ import annotations

import uuid
from typing import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update

from portal import conditions
from portal.extensions import db
from portal.models import Ticket, User, utcnow
from portal.services.errors import ValidationFailed
from portal.services.tickets import Actor

from .actions import ACTION_ERRORS, ActionContext, apply_actions, validate_actions
from .catalogue import current_catalogue
from .models import Macro, MacroRevision
from portal.models.revisions import record_revision

from .services import DESCRIPTION_MAX, NAME_MAX, condition_errors, find_department, summarize

MACRO_KEYS = ("name", "description", "department", "shared", "condition", "actions")


def macro_document(macro: Macro) -> dict:
    return {"name": macro.name, "description": macro.description or "",
            "department": macro.department.name if macro.department else None, "shared": macro.owner_id is None,
            "condition": macro.condition, "actions": list(macro.actions or [])}


def save_macro(macro: Macro | None, data: dict, by: User, *, summary: str | None = None) -> Macro:
    """Create or change a macro; `data["shared"]` (default False) makes it everyone's, else `by`'s own.
    Raises ValidationFailed with errors by row, like save_rule."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        raise ValidationFailed({"macro": _l("A macro must be a JSON object.")})
    name = " ".join(data["name"].split()) if isinstance(data.get("name"), str) else ""
    if not name:
        errors["name"] = _l("A name is required.")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("A name may be at most %(num)d characters.", num=NAME_MAX)
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        errors["description"] = _l("A description is text of at most %(num)d characters.", num=DESCRIPTION_MAX)
    raw_dept = data["department_id"] if "department_id" in data else data.get("department")
    department = None
    if raw_dept not in (None, ""):
        department = find_department(raw_dept)
        if department is None:
            errors["department"] = _l("Unknown department %(department)s.", department=repr(raw_dept))
    shared = bool(data.get("shared", macro.owner_id is None if macro else False))
    condition = data.get("condition", {"all": []})
    actions = data.get("actions", [])
    catalogue = current_catalogue()
    errors.update(condition_errors(condition, catalogue, "event"))
    if isinstance(actions, list) and not actions:
        errors["actions"] = _l("A macro needs at least one action.")
    for error in validate_actions(actions, catalogue, department_id=department.id if department else None,
                                  allow_stop=False):
        errors[error.path] = error.message
    if errors:
        raise ValidationFailed(errors)
    document = {"name": name, "description": description, "department": department.name if department else None,
                "shared": shared, "condition": condition, "actions": actions}
    old = macro_document(macro) if macro else None
    if old == document:
        return macro
    now = utcnow()
    if macro is None:
        macro = Macro(revision=0, usage_count=0, created_at=now, created_by_id=by.id if by else None)
        db.session.add(macro)
    macro.name, macro.description, macro.condition, macro.actions = name, description, condition, actions
    macro.department, macro.department_id = department, department.id if department else None
    if shared:
        macro.owner_id = None
    elif macro.owner_id is None:
        macro.owner_id = by.id if by else None
    record_revision(macro, MacroRevision, "macro_id", document, by, now, summary or summarize(old, document))
    return macro


def rollback_macro(macro: Macro, revision: int, by: User) -> Macro:
    old = db.session.scalar(select(MacroRevision).filter_by(macro_id=macro.id, revision=revision))
    if old is None:
        raise ValidationFailed({"revision": _l("Macro '%(name)s' has no revision %(revision)d.", name=macro.name,
                                                revision=revision)})
    return save_macro(macro, old.document, by, summary=f"Rolled back to r{revision}.")


def delete_macro(macro: Macro) -> None:
    db.session.execute(delete(MacroRevision).where(MacroRevision.macro_id == macro.id))
    db.session.delete(macro)
    db.session.flush()


def macros_for(user: User, ticket: Ticket | None = None) -> list[Macro]:
    """The macros `user` may use (shared + own, of the ticket's department), available on `ticket`."""
    query = select(Macro).where(or_(Macro.owner_id.is_(None), Macro.owner_id == user.id))
    if ticket is not None:
        query = query.where(or_(Macro.department_id.is_(None), Macro.department_id == ticket.department_id))
    macros = list(db.session.scalars(query.order_by(Macro.usage_count.desc(), func.lower(Macro.name))))
    if ticket is None:
        return macros
    return [m for m in macros if availability_problem(m, ticket, user) is None]


def availability_problem(macro: Macro, ticket: Ticket, user: User) -> str | None:
    if macro.owner_id is not None and macro.owner_id != user.id:
        return _("This macro is someone else's.")
    if macro.department_id is not None and macro.department_id != ticket.department_id:
        return _("This macro is for another department.")
    try:
        predicate = conditions.compile_to_python(macro.condition, current_catalogue())
        if not predicate(conditions.snapshot(ticket, utcnow()), {}):
            return _("This macro is not available for this ticket.")
    except conditions.InvalidCondition as exc:
        return _("The macro's condition is no longer valid: %(reason)s", reason=str(exc))
    except conditions.ConditionTimeout:
        return _("The macro's condition took too long.")
    return None


def apply_macro(macro: Macro, tickets: Iterable[Ticket], by: User, *, dry_run: bool = False) -> dict[int, str]:
    """Apply to each ticket where available. Returns {ticket id: "applied" or the reason it wasn't}."""
    outcome: dict[int, str] = {}
    applied = 0
    actor = Actor(user=by, origin="macro")
    for ticket in tickets:
        problem = availability_problem(macro, ticket, by)
        if problem:
            outcome[ticket.id] = problem
            continue
        context = ActionContext(dedupe_base=f"macro:{macro.id}:{ticket.id}:{uuid.uuid4().hex[:12]}",
                                event_kind="macro", rule=macro, dry_run=dry_run, reason=f"macro '{macro.name}'")
        try:
            with db.session.begin_nested():
                apply_actions(ticket, list(macro.actions or []), actor=actor, context=context)
        except ACTION_ERRORS as exc:
            db.session.expire(ticket)
            outcome[ticket.id] = str(exc) or exc.__class__.__name__
            continue
        outcome[ticket.id] = "applied"
        applied += 1
    if applied and not dry_run:
        db.session.execute(update(Macro).where(Macro.id == macro.id).values(usage_count=Macro.usage_count + applied))
        db.session.expire(macro, ["usage_count"])
    return outcome
