"""The one place that decides who sees which tickets and who manages what.

Every ticket query in the agent workspace starts from `visible_tickets(user)`, and every
ticket route loads through `get_ticket_or_404`, so a scope is never re-implemented.
"""
from flask import abort
from sqlalchemy import Select, false, select, true

from ..extensions import db
from ..models import MAX_TICKET_NUMBER, Department, Ticket, User


def ticket_scope(user: User):
    """A WHERE clause: admins see every ticket; agents and supervisors their departments'."""
    if user.is_admin:
        return true()
    ids = user.department_ids
    return Ticket.department_id.in_(ids) if ids else false()


def visible_tickets(user: User) -> Select:
    return select(Ticket).where(ticket_scope(user))


def can_see_ticket(user: User, ticket: Ticket) -> bool:
    return user.is_admin or ticket.department_id in user.department_ids


def get_ticket_or_404(user: User, number: int) -> Ticket:
    """Unknown and forbidden tickets answer the same 404, so subjects never leak."""
    if not 0 < number <= MAX_TICKET_NUMBER:  # a number the column can't hold: the database would raise
        abort(404)
    ticket = db.session.get(Ticket, number)
    if ticket is None or not can_see_ticket(user, ticket):
        abort(404)
    return ticket


def departments_for(user: User) -> list[Department]:
    """Departments a user works in (admins: all)."""
    if user.is_admin:
        return list(db.session.scalars(select(Department).order_by(Department.name)))
    return list(user.departments)


def managed_departments(user: User) -> list[Department]:
    """Departments whose teams and agents a user may change: admins all, supervisors their own."""
    if user.is_admin:
        return departments_for(user)
    if user.role == "supervisor":
        return list(user.departments)
    return []


def can_manage_department(user: User, department_id: int) -> bool:
    return any(d.id == department_id for d in managed_departments(user))


def can_manage_user(actor: User, target: User) -> bool:
    """Admins manage everyone; supervisors manage agents who work only in departments they manage."""
    if actor.is_admin:
        return True
    if actor.role != "supervisor" or target.role != "agent":
        return False
    managed = {d.id for d in actor.departments}
    return bool(target.department_ids) and set(target.department_ids) <= managed
