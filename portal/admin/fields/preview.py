"""The builder's live preview and check of a draft, by the domain's own code.

portal.fields.runtime builds forms from a department's *stored* layout, and save_layout is the
one check of a layout. So a draft is put in place inside a SAVEPOINT, the agent and customer
forms are built (runtime.build_form) and rendered, or save_layout runs, and the savepoint is
rolled back: the preview is exactly what the runtime would show for that document, the check is
exactly the save's, and nothing of the draft stays in the database.
"""
from __future__ import annotations

from typing import Optional

from flask import render_template
from markupsafe import Markup

from ...extensions import db
from ...fields import services
from ...fields.models import Layout
from ...fields.runtime import build_form
from ...services.errors import ValidationFailed

AUDIENCES = ("agent", "customer")


def render_forms(department_id: Optional[int]) -> dict[str, Markup]:
    """{audience: the form's HTML} as a new ticket of the department shows it now."""
    return {audience: Markup(render_template("portal/admin/fields/_preview_form.html", audience=audience,
                                             form=build_form(department_id, audience, {})))
            for audience in AUDIENCES}


def preview(department_id: Optional[int], document: dict) -> dict[str, Markup]:
    """The forms as they would be with `document` as the department's layout (None: the default)."""
    savepoint = db.session.begin_nested()
    try:
        layout = services.layout_row(department_id)
        if layout is None:
            layout = Layout(department_id=department_id, is_default=True if department_id is None else None, revision=0)
            db.session.add(layout)
        layout.document = document
        db.session.flush()
        return render_forms(department_id)
    finally:
        savepoint.rollback()


def check(department_id: Optional[int], document: dict) -> dict:
    """save_layout's errors for `document` ({} when it would be saved); nothing is kept."""
    savepoint = db.session.begin_nested()
    try:
        services.save_layout(department_id, document, None)
        return {}
    except ValidationFailed as exc:
        return dict(exc.errors)
    finally:
        savepoint.rollback()
