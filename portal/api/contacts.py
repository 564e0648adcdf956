"""/api/v1/contacts: find, read, create and change customers, through portal.services.contacts.

Any agent may look a contact up (as on the agent's contact pages); the tickets a contact shows are
only those the token's agent may see. A merged contact is still readable, with `merged_into` naming
the survivor, and is no longer listed or changeable.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import IDENTITY_KINDS, Contact, ContactIdentity, Ticket
from ..services import contacts as contact_service
from ..services.errors import ValidationFailed
from ..services.scoping import ticket_scope
from .auth import current_agent, requires
from .inputs import invalid, no_other_parameters
from .problems import ApiProblem
from .serialize import iso
from .tickets import _body, page_limit
from .views import bp

RECENT_TICKETS = 10
DETAILS = ("name", "account", "tier", "language", "timezone")
NEW_MEMBERS = {"identities", *DETAILS}
CHANGE_MEMBERS = {"add_identities", "remove_identities", *DETAILS}
LIST_PARAMETERS = frozenset({"q", "limit", "cursor", *IDENTITY_KINDS})


def recent_tickets(contact_ids: list[int]) -> dict[int, list[int]]:
    """Each contact's latest tickets the token's agent may see (newest first), for a whole page of
    contacts in one query."""
    if not contact_ids:
        return {}
    rank = func.row_number().over(partition_by=Ticket.contact_id, order_by=Ticket.id.desc()).label("rank")
    ranked = (select(Ticket.contact_id, Ticket.id, rank)
              .where(Ticket.contact_id.in_(contact_ids), ticket_scope(current_agent())).subquery())
    found: dict[int, list[int]] = {cid: [] for cid in contact_ids}
    for contact_id, ticket_id in db.session.execute(
            select(ranked.c.contact_id, ranked.c.id).where(ranked.c.rank <= RECENT_TICKETS)
            .order_by(ranked.c.contact_id, ranked.c.id.desc())):
        found[contact_id].append(ticket_id)
    return found


def contact_json(contact: Contact, recent: list[int] | None = None) -> dict:
    if recent is None:
        recent = recent_tickets([contact.id])[contact.id]
    return {
        "id": contact.id,
        "url": url_for("api.get_contact", contact_id=contact.id),
        "name": contact.name,
        "email": contact.email,
        "identities": [{"kind": i.kind, "value": i.value} for i in contact.identities],
        "account": contact.account.name if contact.account else None,
        "tier": contact.tier,
        "effective_tier": contact.effective_tier,
        "language": contact.language,
        "timezone": contact.timezone,
        "created_at": iso(contact.created_at),
        "merged_into": contact.merged_into_id,
        "recent_tickets": recent,
    }


def _contact_or_404(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id) if 0 < contact_id < 2**31 else None
    if contact is None:
        raise ApiProblem(404, "Not Found", "No such contact.")
    return contact


def _errors(exc: ValidationFailed, prefix: str = "") -> dict:
    return {prefix + key: str(message) for key, message in exc.errors.items()}


@bp.get("/contacts")
@requires("contacts:read")
def list_contacts():
    """By id; `email`, `phone` or `wechat` find the one owner of that identity, `q` searches names and identities."""
    no_other_parameters(LIST_PARAMETERS)
    errors: dict[str, Any] = {}
    limit = page_limit(errors)
    cursor = request.args.get("cursor")
    if cursor is not None and not (cursor.isdigit() and int(cursor) < 2**31):  # an id the column can hold
        errors["cursor"] = "Use the next_cursor of the previous page."
    if errors:
        raise invalid(errors)
    query = contact_service.search_contacts(request.args.get("q", "")).order_by(None)
    for kind in IDENTITY_KINDS:
        if kind in request.args:
            value = contact_service.normalise_identity(kind, request.args[kind])
            query = query.where(Contact.id.in_(select(ContactIdentity.contact_id).where(
                ContactIdentity.kind == kind, ContactIdentity.value == value)))
    if cursor is not None:
        query = query.where(Contact.id > int(cursor))
    query = query.options(selectinload(Contact.identities), selectinload(Contact.account))
    rows = list(db.session.scalars(query.order_by(Contact.id).limit(limit + 1)))
    page = rows[:limit]
    recent = recent_tickets([c.id for c in page])
    return jsonify(items=[contact_json(c, recent[c.id]) for c in page],
                   next_cursor=str(page[-1].id) if len(rows) > limit else None)


@bp.get("/contacts/<int:contact_id>")
@requires("contacts:read")
def get_contact(contact_id: int):
    no_other_parameters()
    return jsonify(contact_json(_contact_or_404(contact_id)))


def _identities(data: dict, key: str, errors: dict) -> list[tuple[str, str]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and set(item) == {"kind", "value"} and all(isinstance(v, str) for v in item.values())
            for item in value):
        errors[key] = 'Give a list of {"kind": "email" | "phone" | "wechat", "value": "..."}.'
        return []
    return [(item["kind"], item["value"]) for item in value]


def _details(data: dict, errors: dict) -> dict:
    changes = {}
    for key in DETAILS:
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors[key] = "Must be a string or null."
            changes[key] = value
    return changes


@bp.post("/contacts")
@requires("contacts:write")
def create_contact():
    data = _body(NEW_MEMBERS)
    errors: dict[str, Any] = {}
    identities = _identities(data, "identities", errors)
    if not identities and "identities" not in errors:
        errors["identities"] = "Give at least one identity (an email, phone or WeChat openid)."
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        errors.setdefault("name", "Required.")
    changes = _details(data, errors)
    if errors:
        raise invalid(errors)
    agent = current_agent()
    contact = Contact(name=data["name"].strip()[:200])
    db.session.add(contact)
    db.session.flush()
    for index, (kind, value) in enumerate(identities):
        try:
            contact_service.add_identity(contact, kind, value, by=agent)
        except ValidationFailed as exc:
            errors.update(_errors(exc, f"identities.{index}."))
    try:
        contact_service.update_contact(contact, changes, by=agent)
    except ValidationFailed as exc:
        errors.update(_errors(exc))
    if errors:
        db.session.rollback()
        raise invalid(errors)
    db.session.commit()
    response = jsonify(contact_json(contact))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_contact", contact_id=contact.id)
    return response


@bp.patch("/contacts/<int:contact_id>")
@requires("contacts:write")
def update_contact(contact_id: int):
    contact = _contact_or_404(contact_id)
    data = _body(CHANGE_MEMBERS)
    if contact.merged_into_id is not None:
        raise ApiProblem(409, "Conflict", f"This contact was merged into contact {contact.merged_into_id}; "
                                          "change that one.")
    errors: dict[str, Any] = {}
    added = _identities(data, "add_identities", errors)
    removed = _identities(data, "remove_identities", errors)
    changes = _details(data, errors)
    if errors:
        raise invalid(errors)
    agent = current_agent()
    try:
        contact_service.update_contact(contact, changes, by=agent)
    except ValidationFailed as exc:
        errors.update(_errors(exc))
    # Added first, so an identity can be swapped for another in one request without the contact
    # ever having none.
    for key, items, change in (("add_identities", added, contact_service.add_identity),
                               ("remove_identities", removed, contact_service.remove_identity)):
        for index, (kind, value) in enumerate(items):
            try:
                change(contact, kind, value, by=agent)
            except ValidationFailed as exc:
                errors.update(_errors(exc, f"{key}.{index}."))
    if errors:
        db.session.rollback()
        raise invalid(errors)
    db.session.commit()
    return jsonify(contact_json(contact))
