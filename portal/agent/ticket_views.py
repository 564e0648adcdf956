"""The ticket page and everything that changes a ticket from it."""
from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db, htmx
from ..models import OPEN_STATUSES, PRIORITY_KEYS, STATUSES, Attachment, Ticket, TicketEvent
from ..services import phone as phone_service
from ..services import tickets as ticket_service
from ..services.attachments import attachment_path, store_uploads
from ..fields.runtime import build_form
from ..services.contacts import find_or_create_contact
from ..services.errors import StaleEdit, ValidationFailed
from ..services.scoping import can_see_ticket, departments_for, get_ticket_or_404

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

INLINE_FIELDS = ("status", "priority", "department", "team", "assignee")


def field_options(ticket: Ticket) -> dict:
    """Choices for the inline editors: teams and agents of the ticket's department only."""
    dept = ticket.department
    return {
        "status": STATUSES,
        "priority": PRIORITY_KEYS,
        "department": departments_for(current_user) if current_user.is_admin else
        [d for d in current_user.departments],
        "team": list(dept.teams),
        "assignee": sorted([u for u in dept.members if u.active], key=lambda u: u.name),
    }


def ticket_context(ticket: Ticket, **extra) -> dict:
    other = []
    if ticket.contact_id:
        other = list(db.session.scalars(
            select(Ticket).where(Ticket.contact_id == ticket.contact_id, Ticket.id != ticket.id)
            .order_by(Ticket.updated_at.desc()).limit(8)))
        other = [t for t in other if can_see_ticket(current_user, t)]
    from .custom_field_views import custom_fields_context  # that module imports this one
    return dict(options=field_options(ticket), other_tickets=other, open_statuses=OPEN_STATUSES,
                max_upload=current_app.config["MAX_ATTACHMENT_BYTES"], **custom_fields_context(ticket), **extra)


@bp.get("/<int:number>")
@login_required
def show(number: int):
    ticket = get_ticket_or_404(current_user, number)
    return render_template("portal/ticket/page.html", **ticket_context(ticket))


@bp.get("/<int:number>/history")
@login_required
def history(number: int):
    ticket = get_ticket_or_404(current_user, number)
    events = list(db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc())))
    return render_template("portal/ticket/_history.html", ticket=ticket, events=events)


@bp.get("/<int:number>/conversation")
@login_required
def conversation(number: int):
    ticket = get_ticket_or_404(current_user, number)
    return render_template("portal/ticket/_conversation.html", **ticket_context(ticket))


@bp.post("/<int:number>/fields/<field>")
@login_required
def edit_field(number: int, field: str):
    """Inline edit of one property. Answers with that property's fragment (and OOB version)."""
    if field not in INLINE_FIELDS:
        abort(404)
    ticket = get_ticket_or_404(current_user, number)
    value = request.form.get(field, "")
    version = request.form.get("version", type=int)
    error = conflict = None
    saved = False
    try:
        diff = ticket_service.update_ticket(ticket, {field: value or None}, by=current_user,
                                            expected_version=version)
        db.session.commit()
        saved = bool(diff)
    except ValidationFailed as exc:
        db.session.rollback()
        error = "; ".join(str(v) for v in exc.errors.values())
    except StaleEdit as exc:
        db.session.rollback()
        conflict = exc
    ticket = db.session.get(Ticket, number)
    ctx = ticket_context(ticket, field=field, error=error, conflict=conflict, saved=saved, attempted=value)
    if (field == "department" and saved) or conflict:
        # Team and assignee choices depend on the department; after a conflict any field may be
        # stale ("the current values are shown"): re-render the whole panel, and the header.
        response = current_app.make_response(render_template("portal/ticket/_properties_response.html", **ctx))
        response.headers["HX-Retarget"] = "#properties"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return render_template("portal/ticket/_field_response.html", **ctx)


@bp.post("/<int:number>/tags")
@login_required
def edit_tags(number: int):
    ticket = get_ticket_or_404(current_user, number)
    add = [t for t in request.form.get("add", "").split(",") if t.strip()]
    remove = request.form.getlist("remove")
    error = None
    try:
        ticket_service.edit_tags(ticket, add=add, remove=remove, by=current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        error = "; ".join(str(v) for v in exc.errors.values())
        ticket = db.session.get(Ticket, number)
    return render_template("portal/ticket/_tags.html", ticket=ticket, tag_error=error,
                           version_oob=True)


@bp.post("/<int:number>/reply")
@login_required
def reply(number: int):
    """A reply or an internal note, with attachments and an optional status change."""
    ticket = get_ticket_or_404(current_user, number)
    kind = "note" if request.form.get("kind") == "note" else "reply"
    body = request.form.get("body", "")
    status = request.form.get("status") or None
    errors = {}
    thread = None
    try:
        files = request.files.getlist("attachments")
        attachments = store_uploads(files)
        thread = ticket_service.add_thread(ticket, kind=kind, body=body, by=current_user, attachments=attachments,
                                           status=status if kind == "reply" else None)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        errors = {k: str(v) for k, v in exc.errors.items()}
    ticket = db.session.get(Ticket, number)
    if not htmx:
        return redirect(url_for("tickets.show", number=number))
    ctx = ticket_context(ticket, composer_errors=errors, composer_kind=kind,
                         composer_body=body if errors else "", composer_status=status, new_thread=thread)
    return render_template("portal/ticket/_reply_response.html", **ctx), 422 if errors else 200


@bp.post("/<int:number>/call")
@login_required
def log_call(number: int):
    """A phone call logged on this ticket: the call's facts and the agent's notes."""
    ticket = get_ticket_or_404(current_user, number)
    values = {k: request.form.get(k, "") for k in ("call_direction", "call_number", "call_duration", "notes")}
    errors, thread = {}, None
    try:
        thread = phone_service.log_call(ticket, direction=values["call_direction"], number=values["call_number"],
                                        duration=values["call_duration"], notes=values["notes"], by=current_user)
        db.session.commit()
    except (ValidationFailed, StaleEdit) as exc:
        db.session.rollback()
        errors = exc.errors if isinstance(exc, ValidationFailed) else \
            {"body": _("Not saved: %(who)s changed this ticket meanwhile. Please log the call again.",
                       who=exc.changed_by)}
        errors = {k: str(v) for k, v in errors.items()}
    ticket = db.session.get(Ticket, number)
    if not htmx:
        return redirect(url_for("tickets.show", number=number))
    ctx = ticket_context(ticket, call_errors=errors, call_values=values if errors else {}, new_thread=thread)
    return render_template("portal/ticket/_call_response.html", **ctx), 422 if errors else 200


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """An agent opens a ticket for a customer (a phone call, a walk-in), with the custom fields of
    the chosen department's layout."""
    from .forms import NewTicketForm
    form = NewTicketForm.for_user(current_user)
    if form.is_submitted() and form.is_call.data:
        form.channel.data = "phone"  # a logged call is a phone ticket, whatever the menu says
    first = form.department.choices[0].value if form.department.choices else None
    department_id = form.department.data if form.is_submitted() else first
    fields = build_form(department_id, "agent", {}, request.form if form.is_submitted() else None,
                        ticket_fields={"priority": form.priority.data, "channel": form.channel.data})
    submitted = form.is_submitted()
    valid = form.validate_on_submit()
    fields_valid = fields.validate() if submitted else False  # both run, so every error shows at once
    call_problems = {}
    if submitted and form.is_call.data:  # the call's own checks run with the form's, so all errors show
        try:
            phone_service.check_call(form.call_direction.data, form.call_number.data, form.call_duration.data)
        except ValidationFailed as exc:
            call_problems = exc.errors
            from ..forms import apply_service_errors
            apply_service_errors(form, call_problems)
    if valid and fields_valid and not call_problems:
        try:
            custom = {k: v for k, v in fields.clean.items() if v is not None}
            attachments = store_uploads(request.files.getlist("attachments"))
            if form.is_call.data:
                ticket = phone_service.open_call_ticket(
                    direction=form.call_direction.data, number=form.call_number.data,
                    duration=form.call_duration.data, subject=form.subject.data, notes=form.body.data,
                    department=form.department.data, priority=form.priority.data, by=current_user,
                    name=form.contact_name.data or "", email=form.contact_email.data or "", custom_fields=custom,
                    attachments=attachments)
            else:
                contact = find_or_create_contact(form.contact_email.data, form.contact_name.data)
                ticket = ticket_service.create_ticket(
                    subject=form.subject.data, body=form.body.data, department=form.department.data,
                    priority=form.priority.data, channel=form.channel.data, contact=contact, by=current_user,
                    attachments=attachments, custom_fields=custom)
            db.session.commit()
            return redirect(url_for("tickets.show", number=ticket.id))
        except ValidationFailed as exc:
            db.session.rollback()
            from ..forms import apply_service_errors
            apply_service_errors(form, exc.errors)
    failed = form.errors or form.form_errors or (submitted and fields.errors)
    return render_template("portal/ticket/new.html", form=form, cf_form=fields), 400 if failed else 200


@bp.get("/new/custom-fields")
@login_required
def new_custom_fields():
    """The custom fields of the department picked on the new-ticket form (HTMX, on change)."""
    department_id = request.args.get("department", type=int)
    if department_id not in {d.id for d in departments_for(current_user)}:
        abort(404)
    fields = build_form(department_id, "agent", {}, ticket_fields={"priority": request.args.get("priority"),
                                                                 "channel": request.args.get("channel")})
    return render_template("portal/ticket/_new_custom_fields.html", cf_form=fields)


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(attachment_id: int, filename: str):
    """Served only to users who can see the ticket; never rendered inline except images and PDFs."""
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        abort(404)
    get_ticket_or_404(current_user, row.ticket_id)
    inline = row.content_type in ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
    response = send_file(attachment_path(row), mimetype=row.content_type, as_attachment=not inline,
                         download_name=row.filename, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
