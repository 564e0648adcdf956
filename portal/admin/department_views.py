"""Departments: the list, create/edit, deactivate/reactivate, delete.

Permission choice: departments are the desk's structure (and their From address is what customers
see), so only admins create, rename, deactivate or delete them. Supervisors see the departments they
manage, read-only, with links to those departments' teams and agents. A department that has tickets
is never deleted, only deactivated (it keeps its tickets, teams and people and stops taking new
work); one that never had a ticket may be deleted.
"""
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db, htmx
from ..models import Department, Team, Ticket
from ..models.org import user_departments
from ..services.errors import ValidationFailed
from . import services
from .access import department_or_404, managed_ids, require_admin
from .forms import DepartmentForm
from .views import bp, done, form_response, service_failed


def _counts(column, ids) -> dict[int, int]:
    return dict(db.session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column)).all())


@bp.get("/departments")
def departments():
    ids = managed_ids()
    rows = list(db.session.scalars(select(Department).where(Department.id.in_(ids))
                                   .order_by(Department.active.desc(), Department.name)))
    return render_template(
        "portal/admin/departments.html", departments=rows, is_admin=current_user.is_admin,
        members=_counts(user_departments.c.department_id, ids), teams=_counts(Team.department_id, ids))


def _edit_context(department: Department | None) -> dict:
    if department is None:
        return dict(department=None, action=url_for("admin.department_new"))
    return dict(department=department, action=url_for("admin.department_edit", department_id=department.id),
                has_tickets=services.department_has_tickets(department),
                ticket_count=db.session.scalar(select(func.count(Ticket.id)).where(
                    Ticket.department_id == department.id)))


def _save(department: Department | None):
    require_admin()
    form = DepartmentForm(data=dict(name=department.name, name_zh=department.name_zh, email=department.email)
                          if department else None)
    if form.validate_on_submit():
        try:
            saved = services.save_department(department, name=form.name.data, name_zh=form.name_zh.data,
                                              email=form.email.data)
            db.session.commit()
            message = _("Department “%(name)s” saved.", name=saved.label) if department else \
                _("Department “%(name)s” created. Add its teams and agents next.", name=saved.label)
            return done(message, url_for("admin.departments"))
        except ValidationFailed as exc:
            service_failed(form, exc)
    return form_response("portal/admin/department_form.html", "portal/admin/_department_form.html", form,
                         **_edit_context(department))


@bp.route("/departments/new", methods=["GET", "POST"])
def department_new():
    return _save(None)


@bp.route("/departments/<int:department_id>/edit", methods=["GET", "POST"])
def department_edit(department_id: int):
    return _save(department_or_404(department_id))


@bp.post("/departments/<int:department_id>/active")
def department_active(department_id: int):
    """Deactivate (active=0) or reactivate (active=1)."""
    department = department_or_404(department_id)
    require_admin()
    active = request.form.get("active") == "1"
    services.set_department_active(department, active)
    db.session.commit()
    message = _("“%(name)s” is active again.", name=department.label) if active else \
        _("“%(name)s” is deactivated. Its tickets, teams and people are kept.", name=department.label)
    return done(message, url_for("admin.departments"))


@bp.post("/departments/<int:department_id>/delete")
def department_delete(department_id: int):
    department = department_or_404(department_id)
    require_admin()
    name = department.label
    try:
        services.delete_department(department)
        db.session.commit()
    except ValidationFailed as exc:
        form = DepartmentForm(formdata=None, data=dict(name=department.name, name_zh=department.name_zh,
                                                       email=department.email))
        service_failed(form, exc)
        if htmx:
            return render_template("portal/_flash_inline.html", message=" ".join(form.form_errors), kind="error"), 422
        return render_template("portal/admin/department_form.html", form=form, **_edit_context(department)), 422
    return done(_("Department “%(name)s” deleted.", name=name), url_for("admin.departments"))
