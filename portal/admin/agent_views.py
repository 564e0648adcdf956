"""Agents (everyone who works the desk): list, create, edit, deactivate/reactivate.

Admins manage everyone. Supervisors see the people of the departments they manage and change
only agents who work solely in those departments (`can_manage_user`); they can't create or make
supervisors and admins, nor give anyone a department they don't manage. Nobody is deleted:
deactivated people can't sign in and keep their tickets and history. The last active admin can
be neither demoted nor deactivated.
"""
from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_
from sqlalchemy.orm import selectinload

from ..extensions import db, htmx
from ..models import Department, User
from ..services.errors import ValidationFailed
from ..services.scoping import can_manage_department, can_manage_user, managed_departments
from . import services
from .access import manageable_user_or_404, visible_users_query
from .forms import AgentForm
from .views import bp, done, form_response, service_failed

LIST_LIMIT = 500


def _filters() -> dict:
    department = request.args.get("department", type=int)
    if department is not None and not can_manage_department(current_user, department):
        abort(404)
    status = request.args.get("status", "")
    return dict(department=department, status=status if status in ("active", "inactive") else "",
                q=request.args.get("q", "").strip())


@bp.get("/agents")
def agents():
    filters = _filters()
    query = visible_users_query().options(
        selectinload(User.departments), selectinload(User.teams), selectinload(User.skills))
    if filters["department"]:
        query = query.where(User.departments.any(Department.id == filters["department"]))
    if filters["status"]:
        query = query.where(User.active.is_(filters["status"] == "active"))
    if filters["q"]:
        like = f"%{filters['q'].lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), func.lower(User.email).like(like)))
    people = list(db.session.scalars(query.order_by(User.active.desc(), User.name).limit(LIST_LIMIT + 1)))
    context = dict(people=people[:LIST_LIMIT], truncated=len(people) > LIST_LIMIT, filters=filters,
                   departments=managed_departments(current_user), can_manage=lambda u: can_manage_user(current_user, u),
                   filtered=any(filters.values()))
    if htmx and htmx.target == "agent-results":
        return render_template("portal/admin/_agent_results.html", **context)
    return render_template("portal/admin/agents.html", **context)


def _context(user: User | None) -> dict:
    if user is None:
        return dict(person=None, action=url_for("admin.agent_new"))
    return dict(person=user, action=url_for("admin.agent_edit", user_id=user.id),
                last_admin=user.role == "admin" and user.active and services.other_active_admins(user) == 0)


def _show_service_errors(form: AgentForm, user: User | None) -> None:
    """The form refused the post: add what the service would also say, on fields without a message yet,
    so every problem shows at once (e.g. a taken email next to a bad capacity)."""
    if form.csrf_token.errors:
        form.form_errors.append(_("The form expired. Reload the page and try again."))
        return
    for name, message in services.check_agent(current_user, user, form.agent_data()).items():
        target = getattr(form, name, None)
        if target is not None and not target.errors:
            target.errors = list(target.errors) + [message]


def _save(user: User | None):
    form = AgentForm.build(current_user, user, department_id=_filters()["department"] if user is None else None)
    templates = ("portal/admin/agent_form.html", "portal/admin/_agent_form.html")
    if request.method == "POST" and request.values.get("refresh"):
        return form_response(*templates, form, **_context(user))  # departments changed: new team list
    if form.validate_on_submit():
        try:
            saved = services.save_agent(current_user, user, form.agent_data())
            db.session.commit()
            message = _("%(name)s saved.", name=saved.name) if user else \
                _("%(name)s can now sign in as %(email)s.", name=saved.name, email=saved.email)
            return done(message, url_for("admin.agents"))
        except ValidationFailed as exc:
            service_failed(form, exc)
    elif request.method == "POST":
        _show_service_errors(form, user)
    return form_response(*templates, form, **_context(user))


@bp.route("/agents/new", methods=["GET", "POST"])
def agent_new():
    return _save(None)


@bp.route("/agents/<int:user_id>/edit", methods=["GET", "POST"])
def agent_edit(user_id: int):
    return _save(manageable_user_or_404(user_id))


@bp.post("/agents/<int:user_id>/active")
def agent_active(user_id: int):
    """Deactivate (active=0) or reactivate (active=1)."""
    user = manageable_user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        services.set_agent_active(current_user, user, active)
        db.session.commit()
    except ValidationFailed as exc:
        form = AgentForm.build(current_user, user, formdata=None)
        service_failed(form, exc)
        return render_template("portal/admin/agent_form.html", form=form, **_context(user)), 422
    message = _("%(name)s can sign in again.", name=user.name) if active else \
        _("%(name)s is deactivated and can no longer sign in.", name=user.name)
    return done(message, url_for("admin.agents"))
