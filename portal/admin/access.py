"""Who may open which admin page, and loading records through that rule.

Every admin route runs `guard()` first (a `before_request` on the blueprint) and loads its record
through one of the `*_or_404` helpers below, which lean on `portal.services.scoping` only:

- admins manage every department, team and person;
- supervisors see and manage the teams and agents of the departments they belong to
  (`managed_departments` / `can_manage_department` / `can_manage_user`), and see those
  departments read-only: creating, renaming, deactivating or deleting a department is for admins;
- everyone else gets 403 on every /admin page.

A record outside the viewer's departments answers 404 (its existence is not revealed); a person the
viewer can see but not change (a fellow supervisor, an agent who also works elsewhere) answers 403.
"""
from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db, login_manager
from ..models import Department, Team, User
from ..services.scoping import can_manage_department, can_manage_user, managed_departments


def guard():
    """The blueprint's before_request: sign-in required, then supervisors and admins only."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_supervisor:
        abort(403)
    return None


def require_admin() -> None:
    if not current_user.is_admin:
        abort(403)


def managed_ids() -> list[int]:
    return [d.id for d in managed_departments(current_user)]


def department_or_404(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None or not can_manage_department(current_user, department.id):
        abort(404)
    return department


def team_or_404(team_id: int) -> Team:
    team = db.session.get(Team, team_id)
    if team is None or not can_manage_department(current_user, team.department_id):
        abort(404)
    return team


def visible_user_or_404(user_id: int) -> User:
    """A person in one of the viewer's departments (admins: anyone)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not current_user.is_admin and not set(user.department_ids) & set(managed_ids()):
        abort(404)
    return user


def manageable_user_or_404(user_id: int) -> User:
    user = visible_user_or_404(user_id)
    if not can_manage_user(current_user, user):
        abort(403)
    return user


def visible_users_query():
    """People listed on the agents page: admins all, supervisors those in their departments."""
    query = select(User)
    if not current_user.is_admin:
        query = query.where(User.departments.any(Department.id.in_(managed_ids())))
    return query
