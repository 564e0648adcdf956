"""/api/v1/tickets: create, read, update and list tickets.

Thin: the JSON is checked for shape here (types, unknown members), every rule about values is the
ticket service's, and custom fields go through the department's layout exactly as the agent's and
the customer's forms do (`validate_submission(audience="api")`), so a field that is hidden, archived
or required behaves the same on every channel.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from email_validator import EmailNotValidError, validate_email
from flask import jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import conditions
from ..extensions import db
from ..fields.runtime import validate_submission
from ..models import CHANNELS, MAX_TICKET_NUMBER, PRIORITY_KEYS, STATUSES, Contact, Department, Ticket, User, utcnow
from ..services import tickets as ticket_service
from ..services.contacts import find_or_create_contact
from ..services.errors import StaleEdit, ValidationFailed
from ..services.scoping import departments_for, get_ticket_or_404, ticket_scope
from .auth import current_agent, requires
from .inputs import NUL_MESSAGE, invalid, no_other_parameters, nul_members
from .problems import ApiProblem
from .serialize import ticket_json
from .views import bp

LIST_LIMIT_MAX = 100
LIST_PARAMETERS = frozenset({"filter", "limit", "cursor"})
CREATE_MEMBERS = {"subject", "body", "contact_email", "contact_name", "department", "priority", "channel", "tags",
                  "custom_fields"}
UPDATE_MEMBERS = {"subject", "status", "priority", "department", "team", "assignee", "tags", "custom_fields",
                  "version"}


def _body(allowed: set[str]) -> dict:
    no_other_parameters()
    if not request.is_json:
        raise ApiProblem(415, "Unsupported Media Type", "Send the request body as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiProblem(400, "Bad Request", "The body must be a JSON object.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise invalid({key: "Unknown member." for key in unknown})
    nul = nul_members(data)
    if nul:
        raise invalid({key: NUL_MESSAGE for key in nul})
    return data


def _service_errors(errors: dict) -> dict:
    """The ticket service's field names, as the request body spells them."""
    return {("custom_fields." + key[3:] if key.startswith("cf.") else key): message for key, message in errors.items()}


def page_limit(errors: dict) -> int:
    """The `limit` query parameter of a list (default 25)."""
    limit = request.args.get("limit", "25")
    if not limit.isdigit() or not 1 <= int(limit) <= LIST_LIMIT_MAX:
        errors["limit"] = f"A whole number from 1 to {LIST_LIMIT_MAX}."
        return 1
    return int(limit)


def _text(data: dict, key: str, errors: dict, *, required: bool = False) -> Optional[str]:
    value = data.get(key)
    if value is None:
        if required:
            errors[key] = "Required."
        return None
    if not isinstance(value, str):
        errors[key] = "Must be a string."
        return None
    return value


def _department(value: Any, errors: dict) -> Optional[Department]:
    """A department by id, or by its name in either language, among those the agent works in."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors["department"] = "Give the department's id or name."
        return None
    mine = departments_for(current_agent())
    for dept in mine:
        if (isinstance(value, int) and dept.id == value) or (isinstance(value, str) and value.strip().casefold()
                                                                in {dept.name.casefold(), (dept.name_zh or "").casefold()}):
            if not dept.active:
                errors["department"] = "This department is deactivated."
            return dept
    errors["department"] = "No such department among yours."
    return None


def _id_or_null(data: dict, key: str, errors: dict) -> Any:
    value = data[key]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        errors[key] = "Give an id (an integer) or null."
    return value


def _assignee(value: Any, errors: dict) -> Any:
    """An agent by id or by email; null unassigns."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        user = db.session.scalar(select(User).where(User.email == value.strip().lower()))
        if user is None:
            errors["assignee"] = "No agent with this email."
        return user
    errors["assignee"] = "Give the agent's id or email, or null."
    return None


def _tags(value: Any, errors: dict) -> list:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        errors["tags"] = "Give a list of strings."
        return []
    return value


def _custom_fields(value: Any, department_id: Optional[int], current: Optional[dict], standard: dict,
                   errors: dict) -> dict:
    """The layout's check of the submitted custom fields: {key: value to store, None to remove}."""
    if not isinstance(value, dict):
        errors["custom_fields"] = "Give an object of field keys to values."
        return {}
    clean, problems = validate_submission(department_id, "api", value, current, "UTC", ticket_fields=standard)
    errors.update({f"custom_fields.{key}": message for key, message in problems.items()})
    return clean


@bp.post("/tickets")
@requires("tickets:write")
def create_ticket():
    data = _body(CREATE_MEMBERS)
    errors: dict[str, Any] = {}
    subject = _text(data, "subject", errors, required=True)
    body = _text(data, "body", errors, required=True)
    email = _text(data, "contact_email", errors, required=True)
    name = _text(data, "contact_name", errors)
    priority = _text(data, "priority", errors) or "normal"
    channel = _text(data, "channel", errors) or "api"
    if priority not in PRIORITY_KEYS:
        errors.setdefault("priority", f"One of {', '.join(PRIORITY_KEYS)}.")
    if channel not in CHANNELS:
        errors.setdefault("channel", f"One of {', '.join(CHANNELS)}.")
    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors["contact_email"] = str(exc)
    dept = _department(data["department"], errors) if "department" in data else None
    if "department" not in data:
        errors["department"] = "Required."
    tags = _tags(data["tags"], errors) if "tags" in data else []
    custom = {}
    if dept is not None and "department" not in errors:
        custom = _custom_fields(data.get("custom_fields", {}), dept.id, None,
                                {"priority": priority, "channel": channel}, errors)
    if errors:
        raise invalid(errors)
    try:
        contact = find_or_create_contact(email, name)
        ticket = ticket_service.create_ticket(
            subject=subject, body=body, department=dept, contact=contact, priority=priority, channel=channel,
            tags=tags, custom_fields={k: v for k, v in custom.items() if v is not None}, by=current_agent())
        # Read before the commit expires it: after, the answer would reload the ticket and each relation.
        answer = ticket_json(ticket)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        raise invalid(_service_errors(exc.errors)) from None
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = answer["url"]
    return response


@bp.get("/tickets/<int:number>")
@requires("tickets:read")
def get_ticket(number: int):
    no_other_parameters()
    return jsonify(ticket_json(get_ticket_or_404(current_agent(), number)))


@bp.patch("/tickets/<int:number>")
@requires("tickets:write")
def update_ticket(number: int):
    ticket = get_ticket_or_404(current_agent(), number)
    data = _body(UPDATE_MEMBERS)
    errors: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for key in ("subject", "status", "priority"):
        if key in data:
            changes[key] = _text(data, key, errors, required=True)
    if "status" in changes and changes["status"] not in STATUSES and "status" not in errors:
        errors["status"] = f"One of {', '.join(STATUSES)}."
    if "priority" in changes and changes["priority"] not in PRIORITY_KEYS and "priority" not in errors:
        errors["priority"] = f"One of {', '.join(PRIORITY_KEYS)}."
    dept = ticket.department
    if "department" in data:
        dept = _department(data["department"], errors)
        changes["department"] = dept
    if "team" in data:
        changes["team"] = _id_or_null(data, "team", errors)
    if "assignee" in data:
        changes["assignee"] = _assignee(data["assignee"], errors)
    if "tags" in data:
        changes["tags"] = _tags(data["tags"], errors)
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        errors["version"] = "Give the version you read (an integer)."
    if "custom_fields" in data and dept is not None and "department" not in errors:
        standard = {"priority": changes.get("priority") or ticket.priority_key, "channel": ticket.channel}
        clean = _custom_fields(data["custom_fields"], dept.id, ticket.custom_fields or {}, standard, errors)
        values = dict(ticket.custom_fields or {})
        for key, value in clean.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        changes["custom_fields"] = values
    if errors:
        raise invalid(errors)
    try:
        ticket_service.update_ticket(ticket, changes, by=current_agent(), expected_version=version)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        raise invalid(_service_errors(exc.errors)) from None
    except StaleEdit as exc:
        db.session.rollback()
        current = db.session.get(Ticket, number)
        raise ApiProblem(409, "Conflict", f"The ticket changed since version {version} (by {exc.changed_by}); "
                         f"it is at version {current.version}. Read it again and resend your change.") from None
    return jsonify(ticket_json(db.session.get(Ticket, number)))


@bp.get("/tickets")
@requires("tickets:read")
def list_tickets():
    """Newest first, `limit` per page; `cursor` from the previous page; `filter` a condition (JSON)."""
    no_other_parameters(LIST_PARAMETERS)
    errors: dict[str, Any] = {}
    limit = page_limit(errors)
    cursor = request.args.get("cursor")
    if cursor is not None and not (cursor.isdigit() and int(cursor) <= MAX_TICKET_NUMBER + 1):
        errors["cursor"] = "Use the next_cursor of the previous page."
    agent = current_agent()
    query = select(Ticket).where(ticket_scope(agent))
    raw = request.args.get("filter")
    if raw is not None:
        try:
            condition = json.loads(raw)
        except ValueError as exc:
            errors["filter"] = f"Not JSON: {exc}"
        else:
            catalogue = conditions.app_catalogue()
            problems = conditions.validate(condition, catalogue, context="query")
            if problems:
                errors.update({("filter." + p.path if p.path else "filter"): p.message for p in problems})
            else:
                query = query.where(conditions.compile_to_sql(condition, catalogue, now=utcnow(), me=agent.id))
    if errors:
        raise invalid(errors)
    if cursor is not None:
        query = query.where(Ticket.id < int(cursor))
    # What ticket_json reads, in a few IN queries instead of several per ticket.
    query = query.options(selectinload(Ticket.department), selectinload(Ticket.team), selectinload(Ticket.assignee),
                          selectinload(Ticket.contact).selectinload(Contact.identities),
                          selectinload(Ticket.tag_rows))
    rows = list(db.session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return jsonify(items=[ticket_json(t) for t in page], next_cursor=str(page[-1].id) if len(rows) > limit else None)

