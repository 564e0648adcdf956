"""The layout builder: one layout per department plus the default one, built by dragging fields.

    /admin/layouts               the default layout (departments without their own use it)
    /admin/layouts/<department>  a department's layout, or "uses the default layout" + create

The page holds the draft document in a hidden input. Every change (a drop, a keyboard move, a
section added or renamed, a field's settings applied in the drawer) posts the draft to
`layout_draft`, which applies it (draft.py) and answers the builder body: palette, canvas, the
agent and customer previews (preview.py, built by the runtime) and the new hidden document.
"Save" hands the draft to save_layout: a new revision, or every error next to the section or
row it names and nothing saved. Admins only.
"""
from __future__ import annotations

import json
from typing import Optional

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...agent.condition_editor import condition_editor
from ...extensions import db, htmx
from ...fields import services
from ...fields.models import CustomField, Layout
from ...fields.types import TYPES
from ...models import Department, utcnow
from ...services.errors import ValidationFailed
from ...services.import_files import read_import_file
from ..access import require_admin
from ..views import bp, done
from . import draft, preview
from .editor import VISIBILITY_LABELS



def _department(department_id: Optional[int]) -> Optional[Department]:
    require_admin()
    if department_id is None:
        return None
    department = db.session.get(Department, department_id)
    if department is None:
        abort(404)
    return department


def _read_draft() -> dict:
    try:
        return draft.read(request.form)
    except draft.UnreadableDraft:
        abort(400)


class Builder:
    """What the builder shows for one department (None: the default layout) and draft."""

    def __init__(self, department: Optional[Department], document: dict, errors: Optional[dict] = None):
        self.department = department
        self.department_id = department.id if department else None
        self.document = document
        self.stored: Optional[Layout] = services.layout_row(self.department_id)
        self.errors = draft.LayoutErrors(errors)
        self.fields = {f.key: f for f in db.session.scalars(select(CustomField).order_by(CustomField.position,
                                                                                          CustomField.id))}
        placed = set(draft.keys(document))
        self.palette = [f for f in self.fields.values() if f.key not in placed and not f.archived]

    @property
    def dirty(self) -> bool:
        return self.stored is None or self.stored.document != self.document

    @property
    def document_json(self) -> str:
        return draft.dumps(self.document)

    def scope(self) -> dict:
        """url_for arguments naming this layout."""
        return {"department_id": self.department_id} if self.department_id else {}

    def context(self, **extra) -> dict:
        return dict(builder=self, department=self.department, scope=self.scope(), field_types=TYPES,
                    VISIBILITY_LABELS=VISIBILITY_LABELS, previews=preview.preview(self.department_id, self.document),
                    **extra)


def _page_context(department: Optional[Department]) -> dict:
    departments = list(db.session.scalars(select(Department).order_by(Department.active.desc(), Department.name)))
    own = set(db.session.scalars(select(Layout.department_id).where(Layout.department_id.is_not(None))))
    return dict(departments=departments, own=own, department=department)


def _editor_context(builder: Builder, **extra) -> dict:
    revisions = services.layout_revisions(builder.stored) if builder.stored else []
    return builder.context(revisions=revisions, **extra)


@bp.get("/layouts", defaults={"department_id": None})
@bp.get("/layouts/<int:department_id>")
def layouts(department_id: Optional[int]):
    department = _department(department_id)
    context = _page_context(department)
    if department is not None and department.id not in context["own"]:
        return render_template("portal/admin/fields/layouts.html", uses_default=True,
                               previews=preview.render_forms(department.id), **context)
    stored = services.layout_row(department_id)
    builder = Builder(department, draft.empty(stored.document if stored else None))
    return render_template("portal/admin/fields/layouts.html", uses_default=False,
                           **{**context, **_editor_context(builder)})


@bp.post("/layouts/<int:department_id>/create")
def layout_create(department_id: int):
    """A department gets its own layout, starting as a copy of the default one."""
    department = _department(department_id)
    default = services.layout_row(None)
    try:
        services.save_layout(department, draft.empty(default.document if default else None), current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        message = _("The default layout can't be copied: %(reason)s",
                    reason="; ".join(str(m) for m in exc.errors.values()))
        flash(message, "error")
        return redirect(url_for("admin.layouts", department_id=department.id))
    return done(_("%(department)s has its own layout now, copied from the default one.", department=department.label),
                url_for("admin.layouts", department_id=department.id))


# ------------------------------------------------------------------------------------------
# The draft: one change per request
# ------------------------------------------------------------------------------------------
def _apply(document: dict, op: str) -> Optional[str]:
    """Apply the posted change; returns the key whose settings drawer stays open, if any."""
    form = request.form
    key, section_id = form.get("_key", ""), form.get("_section", "")
    if op == "add":  # from a palette item's "+" (its key) or the phone's select (_pick)
        draft.add(document, key or form.get("_pick", ""), form.get("_to") or None)
    elif op == "arrange":
        try:
            draft.arrange(document, json.loads(form.get("arrangement") or "[]"))
        except ValueError:
            abort(400)
    elif op in ("up", "down"):
        draft.move(document, key, op)
    elif op == "remove":
        draft.remove(document, key)
    elif op == "add_section":
        draft.add_section(document)
    elif op == "remove_section":
        draft.remove_section(document, section_id)
    elif op in ("section_up", "section_down"):
        draft.move_section(document, section_id, op.removeprefix("section_"))
    elif op == "settings":
        _apply_settings(document, key)
        return key
    return None


def _apply_settings(document: dict, key: str) -> None:
    form = request.form
    required = {"1": True, "0": False}.get(form.get("row_required", ""))
    editor = condition_editor()
    conditions = {}
    for name in ("show_when", "require_when"):
        try:
            conditions[name] = editor.parse(form, name=name)
        except ValueError:  # the JSON stand-in editor with unreadable text: save_layout names it
            conditions[name] = form.get(name)
    draft.set_row(document, key, required=required, portal=form.get("row_portal") == "1", **conditions)


@bp.post("/layouts/draft", defaults={"department_id": None})
@bp.post("/layouts/<int:department_id>/draft")
def layout_draft(department_id: Optional[int]):
    """One change to the draft; the builder body again, and the drawer closed (or, after
    "Apply", kept open when a save would refuse the field's new settings)."""
    department = _department(department_id)
    document = _read_draft()
    settings_of = _apply(document, request.form.get("_op", ""))
    builder = Builder(department, document)
    body = render_template("portal/admin/fields/_layout_body.html", **builder.context())
    drawer = _closed_drawer()
    if settings_of is not None:
        errors = draft.LayoutErrors(preview.check(builder.department_id, document))
        where = _position(document, settings_of)
        if where is not None and errors.row(*where):
            drawer = _drawer(builder, settings_of, errors, oob=True)
    return body + drawer


def _closed_drawer() -> str:
    return render_template("portal/admin/fields/_layout_drawer.html", key=None, oob=True, scope={})


def _position(document: dict, key: str) -> Optional[tuple[int, int]]:
    for i, section in enumerate(document["sections"]):
        for j, row in enumerate(section["fields"]):
            if row.get("key") == key:
                return i, j
    return None


def _drawer(builder: Builder, key: str, errors: draft.LayoutErrors, *, oob: bool = False) -> str:
    where = _position(builder.document, key)
    if where is None:
        return ""
    row = builder.document["sections"][where[0]]["fields"][where[1]]
    editor = condition_editor()
    conditions = {name: editor.render(row.get(name) or {"all": []}, errors.condition(*where, name), name=name,
                                      context="query", department_id=builder.department_id)
                  for name in ("show_when", "require_when")}
    return render_template("portal/admin/fields/_layout_drawer.html", builder=builder, row=row, key=key, oob=oob,
                           field=builder.fields.get(key), messages=errors.row(*where), conditions=conditions,
                           scope=builder.scope(), field_types=TYPES, VISIBILITY_LABELS=VISIBILITY_LABELS)


@bp.post("/layouts/row", defaults={"department_id": None})
@bp.post("/layouts/<int:department_id>/row")
def layout_row_settings(department_id: Optional[int]):
    """The drawer with a placed field's layout settings (and what a save would say about them)."""
    department = _department(department_id)
    document = _read_draft()
    key = request.form.get("_key", "")
    builder = Builder(department, document)
    if draft.find_row(document, key) is None:
        abort(404)
    errors = draft.LayoutErrors(preview.check(builder.department_id, document))
    return _drawer(builder, key, errors)


# ------------------------------------------------------------------------------------------
# Saving, revisions
# ------------------------------------------------------------------------------------------
@bp.post("/layouts/save", defaults={"department_id": None})
@bp.post("/layouts/<int:department_id>/save")
def layout_save(department_id: Optional[int]):
    department = _department(department_id)
    document = _read_draft()
    try:
        layout = services.save_layout(department, document, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        builder = Builder(department, document, exc.errors)
        return _editor(builder, 422, problem=_("Nothing was saved. Fix what is marked in red, then save again."))
    builder = Builder(department, draft.empty(layout.document))
    return _editor(builder, saved=_("Layout saved as revision %(revision)d.", revision=layout.revision))


def _editor(builder: Builder, status: int = 200, **extra):
    if not htmx:  # without JavaScript: the whole page
        context = {**_page_context(builder.department), **_editor_context(builder, **extra)}
        return render_template("portal/admin/fields/layouts.html", uses_default=False, **context), status
    return render_template("portal/admin/fields/_layout_editor.html", **_editor_context(builder, **extra)), status


@bp.post("/layouts/rollback", defaults={"department_id": None})
@bp.post("/layouts/<int:department_id>/rollback")
def layout_rollback(department_id: Optional[int]):
    department = _department(department_id)
    layout = services.layout_row(department_id)
    revision = request.form.get("revision", type=int)
    if layout is None or revision is None:
        abort(404 if layout is None else 400)
    try:
        layout = services.rollback_layout(layout, revision, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        builder = Builder(department, draft.empty(services.layout_row(department_id).document))
        return _editor(builder, 422, problem=_("Revision %(revision)d can't be restored: %(reason)s",
                                               revision=revision, reason="; ".join(str(m) for m in exc.errors.values())))
    builder = Builder(department, draft.empty(layout.document))
    return _editor(builder, saved=_("Restored revision %(revision)d as revision %(new)d.", revision=revision,
                                    new=layout.revision))


# ------------------------------------------------------------------------------------------
# Export and import: fields, department values and layouts in one JSON file
# ------------------------------------------------------------------------------------------
@bp.get("/layouts/export")
def layout_export():
    require_admin()
    body = json.dumps(services.export_layouts(), ensure_ascii=False, indent=2) + "\n"
    name = f"deskwright-fields-{utcnow():%Y%m%d}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/layouts/import", methods=["GET", "POST"])
def layout_import():
    require_admin()
    problems: list[str] = []
    if request.method == "POST":
        text, problems = read_import_file(request.files.get("file"))
        if text is not None:
            try:
                outcome = services.import_layouts(text, current_user)
                db.session.commit()
            except ValidationFailed as exc:
                db.session.rollback()
                problems = [str(m) for m in exc.errors.values()]
            else:
                fields, layouts_ = outcome["fields"], outcome["layouts"]
                return done(_("Imported: fields %(fc)d new, %(fu)d updated; layouts %(lc)d new, %(lu)d updated.",
                              fc=len(fields["created"]), fu=len(fields["updated"]), lc=len(layouts_["created"]),
                              lu=len(layouts_["updated"])), url_for("admin.layouts"))
    status = 422 if problems else 200
    return render_template("portal/admin/fields/layout_import.html", problems=problems), status
