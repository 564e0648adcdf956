"""Who may see and change which rule (the admin area's rule, applied to rules).

- Admins see and change every rule, global ("all departments") or per department.
- Supervisors see their departments' rules and the global ones (those also run on their tickets),
  and change only their departments' rules; a global rule is read-only for them.
- Everyone else gets 403 (the blueprint's guard, shared with portal's admin screens).

A rule the viewer may not see answers 404; one they see but may not change answers 403.
"""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import or_, select

from portal.admin.access import guard, managed_ids  # noqa: F401  (guard: the blueprints' before_request)
from portal.extensions import db

from ..models import Rule


def can_see(rule: Rule, user=None) -> bool:
    user = user or current_user
    return user.is_admin or rule.department_id is None or rule.department_id in managed_ids()


def can_edit(rule: Rule, user=None) -> bool:
    user = user or current_user
    return user.is_admin or (rule.department_id is not None and rule.department_id in managed_ids())


def can_use_department(department_id: int | None, user=None) -> bool:
    """May the viewer put a rule in this department (None: all departments)?"""
    user = user or current_user
    if user.is_admin:
        return True
    return department_id is not None and department_id in managed_ids()


def rule_or_404(rule_id: int, *, edit: bool = False) -> Rule:
    rule = db.session.get(Rule, rule_id)
    if rule is None or not can_see(rule):
        abort(404)
    if edit and not can_edit(rule):
        abort(403)
    return rule


def visible_rules_query(department_id: int | None = None):
    """Rules in the admin's order that the viewer sees; with `department_id`, that department's and
    the global ones (what runs on its tickets)."""
    query = select(Rule).order_by(Rule.position, Rule.id)
    if not current_user.is_admin:
        query = query.where(or_(Rule.department_id.is_(None), Rule.department_id.in_(managed_ids())))
    if department_id is not None:
        query = query.where(or_(Rule.department_id.is_(None), Rule.department_id == department_id))
    return query
