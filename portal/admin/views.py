"""The admin area: the blueprint, its gate, the overview page and helpers the screens share.

Departments, teams and agents have their own modules (department_views, team_views, agent_views);
who may do what is described in `portal.admin.access`.
"""
from flask import Blueprint, flash, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db, htmx
from ..redirects import see_other
from ..forms import apply_service_errors
from ..models import Department, Team
from .access import guard, managed_ids, visible_users_query
from .display import shift_label

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(guard)


@bp.context_processor
def admin_helpers():
    return dict(shift_label=shift_label)


def form_response(page: str, fragment: str, form, **context):
    """The whole page, or just the form for an HTMX post; 422 when the form has errors (app.js swaps it)."""
    invalid = request.method == "POST" and bool(form.errors or form.form_errors)
    return render_template(fragment if htmx else page, form=form, **context), 422 if invalid else 200


def done(message: str, location: str):
    """After a successful change: flash, then go to `location` (HX-Redirect for HTMX posts)."""
    flash(message, "success")
    return see_other(location)


def service_failed(form, exc) -> None:
    """A service refused the change: nothing of it may be saved; show its messages on the form."""
    db.session.rollback()
    apply_service_errors(form, exc.errors)


@bp.get("/")
def index():
    """Counts and links: what the viewer manages at a glance."""
    ids = managed_ids()
    people = visible_users_query().subquery()
    active_people = db.session.scalar(select(func.count()).select_from(people).where(people.c.active.is_(True)))
    available = db.session.scalar(select(func.count()).select_from(people).where(
        people.c.active.is_(True), people.c.availability == "available"))
    inactive_people = db.session.scalar(select(func.count()).select_from(people).where(people.c.active.is_(False)))
    counts = dict(
        departments=db.session.scalar(select(func.count(Department.id)).where(Department.id.in_(ids))),
        inactive_departments=db.session.scalar(select(func.count(Department.id)).where(
            Department.id.in_(ids), Department.active.is_(False))),
        teams=db.session.scalar(select(func.count(Team.id)).where(Team.department_id.in_(ids))),
        people=active_people, available=available, inactive_people=inactive_people,
    )
    return render_template("portal/admin/index.html", counts=counts, is_admin=current_user.is_admin)
