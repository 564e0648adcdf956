"""Saved views: "Save as view" from the queue's filters, the conditions editor, rename and delete.

Permissions are portal/services/saved_views.py's: a view the user can't see answers 404, one they
see but can't change (a shared view, for an agent) 403. Nothing invalid is stored: bad input
answers 422 with the form and its messages (the conditions' on their rows).
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..extensions import db
from ..redirects import see_other
from ..services import custom_columns, saved_views, ticket_list
from ..services.saved_views import ViewInput, ViewInvalid
from .condition_editor import condition_editor

bp = Blueprint("saved_views", __name__, url_prefix="/views")

SORT_LABELS = (("updated", _l("Recently updated")), ("created", _l("Newest")), ("priority", _l("Priority")),
               ("due", _l("Due soonest")))


def _custom_sorts():
    """Each sortable custom field, both ways, as the queue's sort menu offers them."""
    for f in custom_columns.queue_fields(filterable_only=True):
        if f.sortable:
            yield f"cf.{f.key}", _("%(field)s, ascending", field=f.label)
            yield f"cf.{f.key}:desc", _("%(field)s, descending", field=f.label)


def _view_or_404(view_id: int, *, edit: bool = False):
    view = saved_views.get_visible(current_user, view_id)
    if view is None:
        abort(404)
    if edit and not saved_views.can_edit(current_user, view):
        abort(403)
    return view


def _department_id(form) -> int | None:
    value = form.get("department", "")
    return int(value) if value.isdigit() else None


@bp.post("")
@login_required
def save_from_filters():
    """Save the queue's current filters (and the saved view they refine, if any) as a new view."""
    query = ticket_list.QueueQuery.from_args(request.form)
    if query.saved is not None and saved_views.get_visible(current_user, query.saved) is None:
        abort(404)
    if request.form.get("then") == "edit":   # "Edit conditions first": the editor, starting from these filters
        return see_other(url_for("saved_views.new", name=request.form.get("name", "").strip()[:120] or None,
                                 **query.args()))
    data = ViewInput(name=request.form.get("name", ""), condition=saved_views.condition_from_query(query, current_user),
                     sort=query.sort, shared=request.form.get("shared") == "1",
                     department_id=_department_id(request.form))
    try:
        view = saved_views.create_view(current_user, data)
        db.session.commit()
    except ViewInvalid as exc:
        db.session.rollback()
        return render_template("portal/agent/_save_view_form.html", query=query, errors=exc.errors, data=data,
                               can_share=saved_views.can_share(current_user),
                               share_departments=saved_views.shareable_departments(current_user),
                               condition_errors=exc.condition_errors, open=True), 422
    return see_other(url_for("agent.queue", saved=view.id))


def _editor_page(view, data: ViewInput, errors: dict | None = None, condition_errors=None, status: int = 200):
    editor = condition_editor()
    return render_template(
        "portal/agent/view_editor.html", view=view, data=data, errors=errors or {},
        condition_html=editor.render(data.condition, list(condition_errors or []), name="condition", context="query"),
        sorts=[*SORT_LABELS, *_custom_sorts()], can_share=saved_views.can_share(current_user),
        share_departments=saved_views.shareable_departments(current_user),
        can_edit=view is None or saved_views.can_edit(current_user, view)), status


def _read_condition(errors: dict):
    try:
        return condition_editor().parse(request.form, name="condition")
    except ValueError as exc:
        errors["condition"] = _("The conditions could not be read: %(reason)s", reason=str(exc))
        return request.form.get("condition", "")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if request.method == "GET":
        # "Edit conditions" before saving: start from the queue's current filters.
        query = ticket_list.QueueQuery.from_args(request.args)
        if query.saved is not None and saved_views.get_visible(current_user, query.saved) is None:
            abort(404)
        has_start = query.saved is not None or query.has_filters or "view" in request.args
        condition = saved_views.condition_from_query(query, current_user) if has_start else {"all": []}
        return _editor_page(None, ViewInput(name=request.args.get("name", ""), condition=condition, sort=query.sort))
    errors: dict = {}
    condition = _read_condition(errors)
    data = ViewInput(name=request.form.get("name", ""), condition=condition, sort=request.form.get("sort", "updated"),
                     shared=request.form.get("shared") == "1", department_id=_department_id(request.form))
    if errors:
        return _editor_page(None, data, errors, status=422)
    try:
        view = saved_views.create_view(current_user, data)
        db.session.commit()
    except ViewInvalid as exc:
        db.session.rollback()
        return _editor_page(None, data, exc.errors, exc.condition_errors, status=422)
    return see_other(url_for("agent.queue", saved=view.id))


@bp.route("/<int:view_id>/edit", methods=["GET", "POST"])
@login_required
def edit(view_id: int):
    view = _view_or_404(view_id, edit=request.method == "POST")
    if request.method == "GET":
        data = ViewInput(name=view.name, condition=view.condition, sort=view.sort, shared=view.is_shared,
                         department_id=view.department_id)
        return _editor_page(view, data, condition_errors=saved_views.condition_problems(view))
    errors: dict = {}
    condition = _read_condition(errors)
    data = ViewInput(name=request.form.get("name", ""), condition=condition, sort=request.form.get("sort", view.sort),
                     shared=view.is_shared, department_id=view.department_id)
    if errors:
        return _editor_page(view, data, errors, status=422)
    try:
        saved_views.update_view(current_user, view, name=data.name, condition=data.condition, sort=data.sort)
        db.session.commit()
    except ViewInvalid as exc:
        db.session.rollback()
        return _editor_page(db.session.get(type(view), view_id), data, exc.errors, exc.condition_errors, status=422)
    return see_other(url_for("agent.queue", saved=view_id))


@bp.post("/<int:view_id>/delete")
@login_required
def delete(view_id: int):
    view = _view_or_404(view_id, edit=True)
    saved_views.delete_view(current_user, view)
    db.session.commit()
    return see_other(url_for("agent.queue"))
