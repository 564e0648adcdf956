"""Custom fields in the admin area: the list, and the editor in a side panel beside it.

The list page renders the panel when the URL names a field (/admin/fields/7) or "new"; HTMX
requests get the panel alone and swap it in beside the list, so opening, saving or rolling back
a field never reloads the page (the list comes along out of band when it changed). Every change
goes through portal.fields.services; its ValidationFailed errors land next to the input their
path names (editor.FieldEditor). Admins only: fields and layouts are the whole desk's.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from sqlalchemy import func, select

from ...extensions import db, htmx
from ...fields import services
from ...fields.models import CustomField
from ...models import Department
from ...services.errors import ValidationFailed
from ..access import require_admin
from ..views import bp, done
from ...fields.types import TYPES
from .editor import RULE_LABELS, TYPE_HINTS, VISIBILITY_LABELS, FieldEditor

SHOWS = ("active", "archived")


def field_or_404(field_id: int) -> CustomField:
    require_admin()
    field = db.session.get(CustomField, field_id)
    if field is None:
        abort(404)
    return field


def _listing(show: str) -> dict:
    archived = CustomField.archived_at.is_not(None)
    query = select(CustomField).order_by(CustomField.position, CustomField.id)
    fields = list(db.session.scalars(query.where(archived if show == "archived" else ~archived)))
    counts = dict(db.session.execute(select(archived, func.count()).group_by(archived)).all())
    return dict(fields=fields, show=show, active_count=counts.get(False, 0), archived_count=counts.get(True, 0),
                VISIBILITY_LABELS=VISIBILITY_LABELS, field_types=TYPES)


def _show() -> str:
    show = request.values.get("show", "active")
    return show if show in SHOWS else "active"


def _panel_context(editor: FieldEditor, **extra) -> dict:
    field = editor.field
    context = dict(editor=editor, field=field, show=_show(), TYPE_HINTS=TYPE_HINTS, RULE_LABELS=RULE_LABELS,
                   action=url_for("admin.field_edit", field_id=field.id) if field else url_for("admin.field_new"))
    if field is not None:
        context["revisions"] = services.field_revisions(field)
    return {**context, **extra}


def _panel(editor: FieldEditor, status: int = 200, *, with_list: bool = False, **extra):
    """The side panel (HTMX) or the list page with the panel open."""
    context = _panel_context(editor, **extra)
    if htmx:
        if with_list:
            context.update(_listing(context["show"]), list_oob=True)
        return render_template("portal/admin/fields/_field_panel.html", **context), status
    context.update(_listing(context["show"]))
    return render_template("portal/admin/fields/fields.html", **context), status


@bp.get("/fields")
def fields():
    require_admin()
    return render_template("portal/admin/fields/fields.html", editor=None, **_listing(_show()))


@bp.route("/fields/new", methods=["GET", "POST"])
def field_new():
    require_admin()
    return _save(None)


@bp.route("/fields/<int:field_id>", methods=["GET", "POST"])
def field_edit(field_id: int):
    return _save(field_or_404(field_id))


def _save(field: CustomField | None):
    if request.method == "GET":
        return _panel(FieldEditor(field))
    editor = FieldEditor(field, request.form)
    try:
        saved = services.save_field(field, editor.data(), current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        editor.show_errors(exc.errors)
        return _panel(editor, 422)
    message = _("Field “%(key)s” saved.", key=saved.key) if field else _("Field “%(key)s” created.", key=saved.key)
    if not htmx:
        return done(message, url_for("admin.field_edit", field_id=saved.id))
    return htmx_response(*_panel(FieldEditor(saved), with_list=True, saved=message),
                         push_url=url_for("admin.field_edit", field_id=saved.id))


@bp.post("/fields/editor")
def field_editor():
    """The panel again after a change that saves nothing: another type or parent, an option row
    added, moved or removed, a department given its own values or sent back to the default ones."""
    require_admin()
    field_id = request.form.get("field_id", type=int)
    field = field_or_404(field_id) if field_id else None
    editor = FieldEditor(field, request.form)
    editor.apply(request.form.get("_op", ""))
    return render_template("portal/admin/fields/_field_panel.html", **_panel_context(editor))


@bp.post("/fields/<int:field_id>/archive")
def field_archive(field_id: int):
    field = field_or_404(field_id)
    services.archive_field(field, current_user)
    db.session.commit()
    return _after_change(field, _("Field “%(key)s” archived. Tickets keep their values, read-only.", key=field.key))


@bp.post("/fields/<int:field_id>/restore")
def field_restore(field_id: int):
    field = field_or_404(field_id)
    services.restore_field(field, current_user)
    db.session.commit()
    return _after_change(field, _("Field “%(key)s” restored.", key=field.key))


@bp.post("/fields/<int:field_id>/rollback")
def field_rollback(field_id: int):
    field = field_or_404(field_id)
    revision = request.form.get("revision", type=int)
    if revision is None:
        abort(400)
    try:
        services.rollback_field(field, revision, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        field = db.session.get(CustomField, field_id)
        reason = "; ".join(str(m) for m in exc.errors.values())
        return _after_change(field, _("Revision %(revision)d can't be restored: %(reason)s", revision=revision,
                                      reason=reason), kind="error")
    return _after_change(field, _("Restored revision %(revision)d as revision %(new)d.", revision=revision,
                                  new=field.revision))


def _after_change(field: CustomField, message: str, kind: str = "success"):
    """The panel with `message` (HTMX, the list too), or back to the field's page."""
    if not htmx:
        flash(message, kind)
        return redirect(url_for("admin.field_edit", field_id=field.id))
    return _panel(FieldEditor(field), with_list=True, **{"saved" if kind == "success" else "problem": message})


# ------------------------------------------------------------------------------------------
# Removing a picklist value that tickets may hold
# ------------------------------------------------------------------------------------------
def _value_context(field: CustomField) -> dict:
    value = request.values.get("value", "")
    department_id = request.values.get("department", type=int)
    department = db.session.get(Department, department_id) if department_id else None
    if department_id and department is None:
        abort(404)
    editor = FieldEditor(field)
    scope = editor.scope(f"dopt{department.id}" if department else "opt")
    if scope is None:
        abort(404)
    holding = [g for g in scope.groups if any(r.value == value and r.saved for r in g.rows)]
    if not holding:
        abort(404)
    others = [r for g in holding for r in g.rows if r.value != value]
    return dict(field=field, value=value, department=department, others=others,
                count=services.picklist_value_usage(field, value, department), show=_show())


@bp.get("/fields/<int:field_id>/remove-value")
def field_value_dialog(field_id: int):
    """'37 tickets have this value: map them to [...] / leave them' before a saved value goes."""
    field = field_or_404(field_id)
    return render_template("portal/admin/fields/_remove_value.html", **_value_context(field))


@bp.post("/fields/<int:field_id>/remove-value")
def field_value_remove(field_id: int):
    field = field_or_404(field_id)
    context = _value_context(field)
    map_to = request.form.get("map_to") or None if request.form.get("choice") == "map" else None
    try:
        changed = services.remove_picklist_value(field, context["value"], map_to=map_to,
                                                 department=context["department"], by=current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        field = db.session.get(CustomField, field_id)
        context = _value_context(field)
        body = render_template("portal/admin/fields/_remove_value.html", errors=exc.errors, **context)
        if htmx:  # the form targets the panel; an error belongs in the dialog
            return htmx_response(body, 422, retarget="#field-dialog", reswap="innerHTML")
        return body, 422
    if map_to:
        message = ngettext("Removed “%(value)s”; %(num)d ticket now holds “%(other)s”.",
                           "Removed “%(value)s”; %(num)d tickets now hold “%(other)s”.", changed,
                           value=context["value"], other=map_to)
    else:
        message = _("Removed “%(value)s”. Tickets that hold it keep it until an agent changes it.",
                    value=context["value"])
    return _after_change(field, message)
