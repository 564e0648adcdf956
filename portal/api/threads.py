"""/api/v1/tickets/<number>/threads: a ticket's conversation, and replies and notes added to it.

A token acts as its agent, and agents see internal notes on the ticket page, so the list includes
notes for every token that can read the ticket (`?kind=` narrows it). A reply or note goes through
`add_thread` like the agent's reply box: the same status rules, the same events, and a reply is
mailed to the customer by the same path.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import STATUSES, Contact, Thread
from ..services import tickets as ticket_service
from ..services.errors import StaleEdit, ValidationFailed
from ..services.scoping import get_ticket_or_404
from .attachments import claim_uploads
from .auth import current_agent, requires
from .inputs import invalid, no_other_parameters
from .problems import ApiProblem
from .serialize import thread_json
from .tickets import _body, _service_errors, page_limit
from .views import bp

THREAD_KINDS = ("customer", "reply", "note")
NEW_KINDS = ("reply", "note")
THREAD_MEMBERS = {"kind", "body", "body_html", "status", "attachments"}
BODY_MAX = 200_000


def _loaded():
    return (selectinload(Thread.author), selectinload(Thread.contact).selectinload(Contact.identities),
            selectinload(Thread.attachments))


@bp.get("/tickets/<int:number>/threads")
@requires("tickets:read")
def list_threads(number: int):
    """Oldest first (the order of the conversation); `cursor` is the next_cursor of the previous page."""
    no_other_parameters(frozenset({"limit", "cursor", "kind"}))
    ticket = get_ticket_or_404(current_agent(), number)
    errors: dict[str, Any] = {}
    limit = page_limit(errors)
    cursor, kind = request.args.get("cursor"), request.args.get("kind")
    if cursor is not None and not (cursor.isdigit() and int(cursor) < 2**31):
        errors["cursor"] = "Use the next_cursor of the previous page."
    if kind is not None and kind not in THREAD_KINDS:
        errors["kind"] = f"One of {', '.join(THREAD_KINDS)}."
    if errors:
        raise invalid(errors)
    query = select(Thread).where(Thread.ticket_id == ticket.id).options(*_loaded())
    if cursor is not None:
        query = query.where(Thread.id > int(cursor))
    if kind is not None:
        query = query.where(Thread.kind == kind)
    rows = list(db.session.scalars(query.order_by(Thread.id).limit(limit + 1)))
    page = rows[:limit]
    return jsonify(items=[thread_json(t) for t in page], next_cursor=str(page[-1].id) if len(rows) > limit else None)


@bp.get("/tickets/<int:number>/threads/<int:thread_id>")
@requires("tickets:read")
def get_thread(number: int, thread_id: int):
    no_other_parameters()
    ticket = get_ticket_or_404(current_agent(), number)
    thread = db.session.scalar(select(Thread).where(Thread.ticket_id == ticket.id, Thread.id == thread_id)
                               .options(*_loaded())) if thread_id < 2**31 else None
    if thread is None:
        raise ApiProblem(404, "Not Found", "No such message on this ticket.")
    return jsonify(thread_json(thread))


@bp.post("/tickets/<int:number>/threads")
@requires("tickets:write")
def add_thread(number: int):
    agent = current_agent()
    ticket = get_ticket_or_404(agent, number)
    data = _body(THREAD_MEMBERS)
    errors: dict[str, Any] = {}
    kind = data.get("kind")
    if kind not in NEW_KINDS:
        errors["kind"] = f"Required: one of {', '.join(NEW_KINDS)}."
    text, html = data.get("body"), data.get("body_html")
    if text is not None and html is not None:
        errors["body_html"] = "Send body (plain text) or body_html, not both."
    for key, value in (("body", text), ("body_html", html)):
        if value is not None and not isinstance(value, str):
            errors[key] = "Must be a string."
        elif value is not None and len(value) > BODY_MAX:
            errors[key] = f"At most {BODY_MAX} characters."
    status = data.get("status")
    if status is not None and status not in STATUSES:
        errors["status"] = f"One of {', '.join(STATUSES)}."
    attachments = claim_uploads(data["attachments"], agent, errors) if "attachments" in data else []
    if errors:
        raise invalid(errors)
    try:
        thread = ticket_service.add_thread(ticket, kind=kind, body=text or "", body_html=html, by=agent,
                                           attachments=attachments, status=status)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        raise invalid(_service_errors(exc.errors)) from None
    except StaleEdit:
        db.session.rollback()
        raise ApiProblem(409, "Conflict", "The ticket changed while the message was being added; send it again.") \
            from None
    except IntegrityError:  # two messages claimed the same upload at the same moment
        db.session.rollback()
        raise invalid({"attachments": "An upload is already attached to a message; upload the file again."}) \
            from None
    thread = db.session.scalar(select(Thread).where(Thread.id == thread.id).options(*_loaded()))
    response = jsonify(thread_json(thread))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_thread", number=ticket.id, thread_id=thread.id)
    return response

