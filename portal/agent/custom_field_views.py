"""The ticket page's custom fields: the department's layout as a form, saved through the ticket service.

The form is `portal.fields.forms.build_form` for the "agent" audience, the same engine the customer
portal and the API use. Changing a value re-renders the form (a show-when condition may reveal or
hide fields) without saving; "Save" validates on the server and writes one update.
"""
from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..fields import runtime
from ..fields.runtime import build_form
from ..models import Ticket
from ..services import tickets as ticket_service
from ..services.errors import StaleEdit, ValidationFailed
from ..services.scoping import get_ticket_or_404
from .ticket_views import bp


def ticket_fields(ticket: Ticket) -> dict:
    """The standard fields a layout's conditions may read."""
    return {"priority": ticket.priority_key, "channel": ticket.channel}


def custom_fields_context(ticket: Ticket, formdata=None, **extra) -> dict:
    """What the panel renders from: the form, and the stored values the department doesn't accept."""
    form = build_form(ticket.department_id, "agent", ticket.custom_fields or {}, formdata,
                      ticket_fields=ticket_fields(ticket))
    conflicts = {c["key"]: c["reason"] for c in runtime.department_conflicts(ticket, ticket.department_id)}
    return dict(ticket=ticket, cf_form=form, cf_conflicts=conflicts, **extra)


@bp.post("/<int:number>/custom-fields/refresh")
@login_required
def refresh_custom_fields(number: int):
    """The form again for the values typed so far (conditions may show or hide fields). Saves nothing."""
    ticket = get_ticket_or_404(current_user, number)
    return render_template("portal/ticket/_custom_fields.html",
                           **custom_fields_context(ticket, request.form, editing=True))


@bp.post("/<int:number>/custom-fields")
@login_required
def save_custom_fields(number: int):
    ticket = get_ticket_or_404(current_user, number)
    version = request.form.get("version", type=int)
    ctx = custom_fields_context(ticket, request.form)
    form = ctx["cf_form"]
    if not form.validate():
        return render_template("portal/ticket/_custom_fields.html", **ctx, editing=True), 422
    values = dict(ticket.custom_fields or {})
    for key, value in form.clean.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    try:
        diff = ticket_service.update_ticket(ticket, {"custom_fields": values}, by=current_user,
                                            expected_version=version)
        db.session.commit()
    except ValidationFailed as exc:  # the ticket service's own check (a definition changed meanwhile)
        db.session.rollback()
        ctx = custom_fields_context(db.session.get(Ticket, number), request.form)
        ctx["cf_form"].validate()
        ctx["cf_form"].form_errors.extend(str(v) for v in exc.errors.values())
        return render_template("portal/ticket/_custom_fields.html", **ctx, editing=True), 422
    except StaleEdit as exc:
        db.session.rollback()
        ticket = db.session.get(Ticket, number)
        return render_template("portal/ticket/_custom_fields.html", **custom_fields_context(ticket),
                               conflict=exc, version_oob=True), 409
    ticket = db.session.get(Ticket, number)
    return render_template("portal/ticket/_custom_fields.html", **custom_fields_context(ticket),
                           saved=bool(diff), version_oob=True)
