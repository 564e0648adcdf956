"""Teams: listed per department; created and changed by admins and the department's supervisors.

The member list depends on the chosen department. Changing the department re-renders the member
list (HTMX posts the form with `refresh=1`; without JavaScript an "Update members" button does the
same), and the service refuses members who don't work in the team's department.
"""
from collections import defaultdict

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db, htmx
from ..models import Department, Team
from ..services.errors import ValidationFailed
from ..services.scoping import can_manage_department, managed_departments
from . import services
from .access import team_or_404
from .forms import TeamForm
from .views import bp, done, form_response, service_failed


def _department_filter() -> int | None:
    """?department=<id>, which must be one the viewer manages (404 otherwise)."""
    value = request.args.get("department", type=int)
    if value is not None and not can_manage_department(current_user, value):
        abort(404)
    return value


@bp.get("/teams")
def teams():
    departments = managed_departments(current_user)
    selected = _department_filter()
    shown = [d for d in departments if selected in (None, d.id)]
    rows = db.session.scalars(select(Team).where(Team.department_id.in_([d.id for d in shown]))
                              .options(selectinload(Team.members)).order_by(Team.name))
    by_department: dict[int, list[Team]] = defaultdict(list)
    for team in rows:
        by_department[team.department_id].append(team)
    context = dict(departments=departments, selected=selected, groups=[(d, by_department[d.id]) for d in shown])
    if htmx and htmx.target == "team-groups":
        return render_template("portal/admin/_team_groups.html", **context)
    return render_template("portal/admin/teams.html", **context)


def _save(team: Team | None):
    form = TeamForm.build(current_user, team, department_id=_department_filter() if team is None else None)
    if request.method == "POST" and request.values.get("refresh"):
        return form_response("portal/admin/team_form.html", "portal/admin/_team_form.html", form,
                             **_context(team))  # department changed: new member list, no errors yet
    if form.validate_on_submit():
        department = db.session.get(Department, form.department.data)
        try:
            saved = services.save_team(current_user, team, department=department, name=form.name.data,
                                       name_zh=form.name_zh.data, members=form.selected_members())
            db.session.commit()
            message = _("Team “%(name)s” saved.", name=saved.label) if team else \
                _("Team “%(name)s” created.", name=saved.label)
            return done(message, url_for("admin.teams", department=saved.department_id))
        except ValidationFailed as exc:
            service_failed(form, exc)
    return form_response("portal/admin/team_form.html", "portal/admin/_team_form.html", form, **_context(team))


def _context(team: Team | None) -> dict:
    if team is None:
        return dict(team=None, action=url_for("admin.team_new"))
    return dict(team=team, action=url_for("admin.team_edit", team_id=team.id),
                has_tickets=services.team_has_tickets(team))


@bp.route("/teams/new", methods=["GET", "POST"])
def team_new():
    return _save(None)


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
def team_edit(team_id: int):
    return _save(team_or_404(team_id))


@bp.post("/teams/<int:team_id>/delete")
def team_delete(team_id: int):
    team = team_or_404(team_id)
    name, department_id = team.label, team.department_id
    try:
        services.delete_team(team)
        db.session.commit()
    except ValidationFailed as exc:
        form = TeamForm.build(current_user, team, formdata=None)
        service_failed(form, exc)
        if htmx:
            return render_template("portal/_flash_inline.html", message=" ".join(form.form_errors), kind="error"), 422
        return render_template("portal/admin/team_form.html", form=form, **_context(team)), 422
    return done(_("Team “%(name)s” deleted.", name=name), url_for("admin.teams", department=department_id))
