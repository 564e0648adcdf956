"""Saved views: queue filters kept as conditions, personal or shared.

Who may do what (every route goes through these functions; a view the user may not see is a 404):
- everyone sees their own views, plus the shared views of their departments (and the shared views
  for every department); admins see every shared view;
- everyone creates, renames, edits and deletes their own personal views;
- sharing (creating a shared view, editing or deleting one) is for supervisors, within the
  departments they manage (a view for every department: admins only), and for admins.

A view never widens what its viewer sees: its compiled condition is ANDed with the viewer's
ticket scope (`scoping.ticket_scope`), so a shared view shows each viewer their own departments'
tickets only. `"assignee" eq "me"` means the viewer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import false, func, select

from ..extensions import db
from ..models import OPEN_STATUSES, Department, SavedView, Ticket, User, utcnow
from .errors import ValidationFailed
from .scoping import managed_departments, ticket_scope

NAME_MAX = 120
MAX_VIEWS_PER_LIST = 50     # a user's personal views; the shared views of one department
COUNT_CAP = 1000            # as the built-in views' counts (ticket_list.COUNT_CAP)
SORTS = ("updated", "created", "priority", "due")


class ViewInvalid(ValidationFailed):
    """The view can't be saved: `errors` for the form's fields, `condition_errors` for the rows."""

    def __init__(self, errors: dict[str, str], condition_errors: list | None = None):
        self.condition_errors = list(condition_errors or [])
        if self.condition_errors and "condition" not in errors:
            errors = {**errors, "condition": _("Fix the conditions marked below.")}
        super().__init__(errors)


def _conditions():
    # Imported when first used: the condition language is a sibling package built alongside.
    from .. import conditions
    return conditions


def _custom_sort(sort: str) -> bool:
    """A sort by a custom field the queue can sort on ("cf.order_total:desc")."""
    from .ticket_list import custom_sort_field  # ticket_list builds on this module
    return custom_sort_field(sort) is not None


def catalogue():
    """The desk's field catalogue (standard fields, plus custom fields from the registered provider)."""
    conditions = _conditions()
    return conditions.app_catalogue() if hasattr(conditions, "app_catalogue") else conditions.standard_catalogue()


# ------------------------------------------------------------------------------------------
# Who sees and edits what
# ------------------------------------------------------------------------------------------
def _shared_visible_clause(user: User):
    if user.is_admin:
        return SavedView.owner_id.is_(None)
    ids = user.department_ids
    return SavedView.owner_id.is_(None) & (SavedView.department_id.is_(None)
                                           | (SavedView.department_id.in_(ids) if ids else false()))


def personal_views(user: User) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(SavedView.owner_id == user.id)
                                   .order_by(SavedView.position, SavedView.id)))


def shared_views(user: User) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(_shared_visible_clause(user))
                                   .order_by(SavedView.position, SavedView.name, SavedView.id)))


def get_visible(user: User, view_id: int | None) -> SavedView | None:
    """The view if this user may see it, else None (the route answers 404 either way)."""
    if view_id is None:
        return None
    view = db.session.get(SavedView, view_id)
    if view is None:
        return None
    if view.owner_id == user.id:
        return view
    if view.owner_id is None and db.session.scalar(
            select(SavedView.id).where(SavedView.id == view.id, _shared_visible_clause(user))):
        return view
    return None


def can_share(user: User) -> bool:
    return user.is_supervisor


def shareable_departments(user: User) -> list[Department]:
    """Departments a user may make a shared view for (supervisors: those they manage; admins: all)."""
    return managed_departments(user) if can_share(user) else []


def can_edit(user: User, view: SavedView) -> bool:
    if view.owner_id is not None:
        return view.owner_id == user.id
    if user.is_admin:
        return True
    if not can_share(user) or view.department_id is None:
        return False
    return view.department_id in {d.id for d in shareable_departments(user)}


# ------------------------------------------------------------------------------------------
# Saving
# ------------------------------------------------------------------------------------------
@dataclass
class ViewInput:
    name: str
    condition: Any
    sort: str = "updated"
    shared: bool = False
    department_id: int | None = None


def _check(user: User, data: ViewInput, view: SavedView | None) -> tuple[dict, list]:
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("Give the view a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Use at most %(num)d characters.", num=NAME_MAX)
    if data.sort not in SORTS and not _custom_sort(data.sort):
        errors["sort"] = _("Choose how to sort.")
    if data.shared:
        if not can_share(user):
            errors["shared"] = _("Only supervisors and admins share views.")
        elif data.department_id is None:
            if not user.is_admin:
                errors["department"] = _("Choose one of your departments.")
        elif data.department_id not in {d.id for d in shareable_departments(user)}:
            errors["department"] = _("Choose one of your departments.")
    if "name" not in errors:
        same = select(SavedView.id).where(func.lower(SavedView.name) == name.lower())
        if data.shared:
            same = same.where(SavedView.owner_id.is_(None), _department_is(data.department_id))
        else:
            same = same.where(SavedView.owner_id == user.id)
        if view is not None:
            same = same.where(SavedView.id != view.id)
        if db.session.scalar(same.limit(1)):
            errors["name"] = _("There is already a view called “%(name)s”.", name=name)
    condition_errors = _conditions().validate(data.condition, catalogue(), context="query")
    return errors, condition_errors


def _department_is(department_id: int | None):
    return SavedView.department_id.is_(None) if department_id is None else SavedView.department_id == department_id


def _count_in_list(user: User, shared: bool, department_id: int | None) -> int:
    stmt = select(func.count(SavedView.id))
    if shared:
        stmt = stmt.where(SavedView.owner_id.is_(None), _department_is(department_id))
    else:
        stmt = stmt.where(SavedView.owner_id == user.id)
    return db.session.scalar(stmt) or 0


def create_view(user: User, data: ViewInput) -> SavedView:
    """Validate and add a view (flushes; the caller commits). Raises ViewInvalid, saving nothing."""
    errors, condition_errors = _check(user, data, None)
    department_id = data.department_id if data.shared else None
    if not errors and not condition_errors and \
            _count_in_list(user, data.shared, department_id) >= MAX_VIEWS_PER_LIST:
        errors["name"] = _("A list holds at most %(num)d views; delete one first.", num=MAX_VIEWS_PER_LIST)
    if errors or condition_errors:
        raise ViewInvalid(errors, condition_errors)
    position = (db.session.scalar(select(func.max(SavedView.position)).where(
        SavedView.owner_id.is_(None) if data.shared else SavedView.owner_id == user.id)) or 0) + 1
    view = SavedView(name=data.name.strip(), owner_id=None if data.shared else user.id, department_id=department_id,
                     condition=data.condition, sort=data.sort, position=position, created_by_id=user.id)
    db.session.add(view)
    db.session.flush()
    return view


def update_view(user: User, view: SavedView, *, name: str | None = None, condition: Any = None,
                sort: str | None = None) -> SavedView:
    """Rename, change the conditions or the sort of a view the user may edit. Sharing stays as it is."""
    if not can_edit(user, view):
        raise PermissionError("not allowed to edit this view")
    data = ViewInput(name=view.name if name is None else name,
                     condition=view.condition if condition is None else condition,
                     sort=view.sort if sort is None else sort, shared=view.is_shared,
                     department_id=view.department_id)
    errors, condition_errors = _check(user, data, view)
    errors.pop("shared", None)        # an existing shared view keeps its department
    errors.pop("department", None)
    if errors or condition_errors:
        raise ViewInvalid(errors, condition_errors)
    view.name, view.condition, view.sort = data.name.strip(), data.condition, data.sort
    view.updated_at = utcnow()
    db.session.flush()
    return view


def delete_view(user: User, view: SavedView) -> None:
    if not can_edit(user, view):
        raise PermissionError("not allowed to delete this view")
    db.session.delete(view)
    db.session.flush()


# ------------------------------------------------------------------------------------------
# Running a view
# ------------------------------------------------------------------------------------------
def condition_clause(view: SavedView, user: User, now: datetime | None = None):
    """The view's condition as a WHERE clause (without the scope). Raises InvalidCondition."""
    return _conditions().compile_to_sql(view.condition, catalogue(), now=now or utcnow(), me=user.id)


def condition_problems(view: SavedView) -> list:
    """Row errors of a stored condition that no longer validates (a custom field was removed...)."""
    return _conditions().validate(view.condition, catalogue(), context="query")


def clause_for(view_id: int, user: User, now: datetime | None = None):
    """WHERE clause for the queue: the visible view's condition, or false (nothing) if it can't run."""
    view = get_visible(user, view_id)
    if view is None:
        return false()
    try:
        return condition_clause(view, user, now)
    except _conditions().InvalidCondition:
        return false()


def counts(user: User, views: list[SavedView], now: datetime | None = None) -> dict[int, int | None]:
    """Capped live counts, within the user's scope; None for a view whose condition no longer runs."""
    now = now or utcnow()
    result: dict[int, int | None] = {}
    for view in views:
        try:
            clause = condition_clause(view, user, now)
        except _conditions().InvalidCondition:
            result[view.id] = None
            continue
        capped = select(Ticket.id).where(ticket_scope(user), clause).limit(COUNT_CAP).subquery()
        result[view.id] = db.session.scalar(select(func.count()).select_from(capped))
    return result


# ------------------------------------------------------------------------------------------
# The queue's simple filters as a condition ("Save as view")
# ------------------------------------------------------------------------------------------
def condition_from_query(q, user: User) -> dict:
    """A condition for a ticket_list.QueueQuery: its base view (or saved view), then each filter.

    The free-text search becomes "subject, the request or the last message contains the text"
    (the queue's search also looks at every reply and at the ticket number).
    """
    parts: list[dict] = []
    base = get_visible(user, q.saved) if getattr(q, "saved", None) else None
    if base is not None:
        if base.condition and base.condition != {"all": []}:
            parts.append(base.condition)
    elif q.view == "mine":
        parts += [{"field": "assignee", "op": "eq", "value": "me"},
                  {"field": "status", "op": "in", "value": list(OPEN_STATUSES)}]
    elif q.view == "unassigned":
        parts += [{"field": "assignee", "op": "is_empty"},
                  {"field": "status", "op": "in", "value": list(OPEN_STATUSES)}]
    elif q.view == "overdue":
        parts += [{"field": "status", "op": "in", "value": list(OPEN_STATUSES)},
                  {"field": "hours_until_due", "op": "lt", "value": 0}]
    elif q.view == "open":
        parts.append({"field": "status", "op": "in", "value": list(OPEN_STATUSES)})
    if q.statuses:
        parts.append({"field": "status", "op": "in", "value": list(q.statuses)})
    if q.priorities:
        parts.append({"field": "priority", "op": "in", "value": list(q.priorities)})
    if q.department_id:
        parts.append({"field": "department", "op": "eq", "value": q.department_id})
    if q.team_id:
        parts.append({"field": "team", "op": "eq", "value": q.team_id})
    if q.assignee == "me":
        parts.append({"field": "assignee", "op": "eq", "value": "me"})
    elif q.assignee == "none":
        parts.append({"field": "assignee", "op": "is_empty"})
    elif q.assignee:
        parts.append({"field": "assignee", "op": "eq", "value": int(q.assignee)})
    if q.channel:
        parts.append({"field": "channel", "op": "eq", "value": q.channel})
    if q.tag:
        parts.append({"field": "tags", "op": "contains", "value": q.tag})
    if q.text:
        parts.append({"any": [{"field": f, "op": "contains", "value": q.text}
                              for f in ("subject", "body", "last_message")]})
    parts.extend(getattr(q, "custom", None) or [])  # custom-field filters are condition rows already
    return {"all": parts}


def view_or_none_for(user: User, view_id: Any) -> SavedView | None:
    """`view_id` from a form or URL (a string), looked up with get_visible."""
    try:
        return get_visible(user, int(view_id))
    except (TypeError, ValueError):
        return None

