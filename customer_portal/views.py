"""Submitting a request: the portal form, with the chosen department's portal fields."""
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import select

from portal.extensions import db
from portal.fields.runtime import build_form
from portal.models import Department
from portal.services import tickets as ticket_service
from portal.services.contacts import find_or_create_contact
from portal.services.errors import ValidationFailed
from portal.services.tickets import Actor

from .forms import RequestForm

bp = Blueprint("customer_portal", __name__, url_prefix="/support", template_folder="templates")
PORTAL_FIELDS = {"channel": "portal"}  # what a layout's conditions see of a portal request


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.name)))


@bp.route("/", methods=["GET", "POST"])
def new_request():
    departments = _departments()
    form = RequestForm.with_departments(departments)
    if request.method == "GET" and request.args.get("department", type=int) in {d.id for d in departments}:
        form.department.data = request.args.get("department", type=int)
    department_id = form.department.data or (departments[0].id if departments else None)
    submitted = form.is_submitted()
    fields = build_form(department_id, "customer", {}, request.form if submitted else None,
                        ticket_fields=PORTAL_FIELDS)
    if submitted:
        valid = form.validate_on_submit()
        if fields.validate() and valid:
            if form.website.data:  # the honeypot: answer as if it worked, create nothing
                session["portal_received"] = {"number": None, "email": form.email.data}
                return redirect(url_for("customer_portal.received"))
            try:
                contact = find_or_create_contact(form.email.data, form.name.data)
                ticket = ticket_service.create_ticket(
                    subject=form.subject.data, body=form.body.data, department=form.department.data,
                    channel="portal", contact=contact, by=Actor(label="customer"),
                    custom_fields={k: v for k, v in fields.clean.items() if v is not None})
                db.session.commit()
            except ValidationFailed as exc:
                db.session.rollback()
                from portal.forms import apply_service_errors
                apply_service_errors(form, exc.errors)
            else:
                session["portal_received"] = {"number": ticket.id, "email": contact_email(form.email.data)}
                return redirect(url_for("customer_portal.received"))
    status = 400 if submitted else 200
    return render_template("customer_portal/new_request.html", form=form, cf_form=fields), status


@bp.get("/fields")
def request_fields():
    """The portal fields of the department picked on the form (HTMX, on change)."""
    department_id = request.args.get("department", type=int)
    if department_id not in {d.id for d in _departments()}:
        abort(404)
    fields = build_form(department_id, "customer", {}, ticket_fields=PORTAL_FIELDS)
    return render_template("customer_portal/_request_fields.html", cf_form=fields)


@bp.get("/received")
def received():
    """The confirmation, for the browser that submitted (its number is kept in the session only)."""
    info = session.get("portal_received")
    if not info:
        return redirect(url_for("customer_portal.new_request"))
    return render_template("customer_portal/received.html", info=info)


def contact_email(email: str) -> str:
    return email.strip().lower()
