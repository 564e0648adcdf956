"""One customer view: find contacts, see everything of one, edit them, merge duplicates.

The rules live in portal.services.contacts; these views only turn requests into its calls and
its errors into inline messages.
"""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db, htmx
from ..redirects import see_other
from ..models import IDENTITY_KINDS, TIERS, Contact, ContactEvent
from ..services import contacts as contact_service
from ..services.errors import StaleEdit, ValidationFailed

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

PAGE_SIZE = 25
TIMELINE_PAGE = 20
MERGE_CANDIDATES = 8


def _contact_or_redirect(contact_id: int):
    """The live contact, or a redirect to the one it was merged into."""
    contact, survivor = contact_service.live_contact(contact_id)
    if contact is None:
        abort(404)
    if survivor is not None:
        return None, redirect(url_for("contacts.show", contact_id=survivor.id), code=301)
    return contact, None


def _live_or_404(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.merged_into_id is not None:
        abort(404)
    return contact


@bp.get("")
@login_required
def index():
    q = request.args.get("q", "").strip()
    page = db.paginate(contact_service.search_contacts(q), page=request.args.get("page", 1, type=int),
                       per_page=PAGE_SIZE, error_out=False)
    template = "portal/contacts/_results.html" if htmx and htmx.target == "contact-results" else \
        "portal/contacts/index.html"
    return render_template(template, q=q, page=page)


def _page_context(contact: Contact, **extra) -> dict:
    tickets = list(db.session.scalars(contact_service.contact_tickets(contact, current_user).limit(100)))
    return dict(contact=contact, tickets=tickets, kinds=IDENTITY_KINDS, tiers=TIERS,
                languages=current_app.config["LANGUAGES"], **_timeline_context(contact, 1), **extra)


def _timeline_context(contact: Contact, page_number: int) -> dict:
    timeline = db.paginate(contact_service.contact_timeline(contact, current_user), page=page_number,
                           per_page=TIMELINE_PAGE, error_out=False)
    return dict(timeline=timeline)


@bp.get("/<int:contact_id>")
@login_required
def show(contact_id: int):
    contact, moved = _contact_or_redirect(contact_id)
    if moved:
        return moved
    merges = list(db.session.scalars(select(ContactEvent).where(ContactEvent.contact_id == contact.id,
                                                                ContactEvent.action == "merged")
                                     .order_by(ContactEvent.id.desc()).limit(10)))
    return render_template("portal/contacts/show.html", merges=merges, **_page_context(contact))


@bp.get("/<int:contact_id>/timeline")
@login_required
def timeline(contact_id: int):
    contact = _live_or_404(contact_id)
    return render_template("portal/contacts/_timeline.html", contact=contact,
                           **_timeline_context(contact, request.args.get("page", 1, type=int)))


@bp.post("/<int:contact_id>/details")
@login_required
def edit_details(contact_id: int):
    contact = _live_or_404(contact_id)
    changes = {f: request.form.get(f, "") for f in contact_service.CONTACT_FIELDS if f in request.form}
    errors, saved = {}, False
    try:
        saved = bool(contact_service.update_contact(contact, changes, by=current_user))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        errors = {k: str(v) for k, v in exc.errors.items()}
    contact = db.session.get(Contact, contact_id)
    response = render_template("portal/contacts/_details.html", contact=contact, tiers=TIERS,
                               languages=current_app.config["LANGUAGES"], errors=errors, attempted=changes,
                               saved=saved)
    return response, 422 if errors else 200


@bp.post("/<int:contact_id>/identities")
@login_required
def add_identity(contact_id: int):
    contact = _live_or_404(contact_id)
    kind, value = request.form.get("kind", ""), request.form.get("value", "")
    errors, owner = {}, None
    try:
        contact_service.add_identity(contact, kind, value, by=current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        errors = {k: str(v) for k, v in exc.errors.items()}
        owner = getattr(exc, "owner", None)
    contact = db.session.get(Contact, contact_id)
    return render_template("portal/contacts/_identities.html", contact=contact, kinds=IDENTITY_KINDS,
                           errors=errors, owner=owner, attempted_kind=kind,
                           attempted_value=value if errors else ""), 422 if errors else 200


@bp.post("/<int:contact_id>/identities/remove")
@login_required
def remove_identity(contact_id: int):
    contact = _live_or_404(contact_id)
    errors = {}
    try:
        contact_service.remove_identity(contact, request.form.get("kind", ""), request.form.get("value", ""),
                                        by=current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        errors = {k: str(v) for k, v in exc.errors.items()}
    contact = db.session.get(Contact, contact_id)
    return render_template("portal/contacts/_identities.html", contact=contact, kinds=IDENTITY_KINDS,
                           remove_error=errors.get("value")), 422 if errors else 200


# --------------------------------------------------------------------------------------------
# Merging a duplicate into this contact
# --------------------------------------------------------------------------------------------
@bp.get("/<int:contact_id>/merge")
@login_required
def merge_search(contact_id: int):
    """Contacts matching the search, to pick the duplicate to merge into this one."""
    contact = _live_or_404(contact_id)
    q = request.args.get("q", "").strip()
    candidates = list(db.session.scalars(contact_service.search_contacts(q, exclude=[contact.id])
                                         .limit(MERGE_CANDIDATES))) if q else []
    return render_template("portal/contacts/_merge_candidates.html", contact=contact, q=q, candidates=candidates)


@bp.get("/<int:contact_id>/merge/<int:source_id>")
@login_required
def merge_preview(contact_id: int, source_id: int):
    contact = _live_or_404(contact_id)
    source = _live_or_404(source_id)
    return render_template("portal/contacts/_merge_preview.html", contact=contact, source=source,
                           preview=contact_service.merge_preview(source, contact),
                           allowed=contact_service.can_merge(current_user, source))


@bp.post("/<int:contact_id>/merge")
@login_required
def merge(contact_id: int):
    contact = _live_or_404(contact_id)
    source = db.session.get(Contact, request.form.get("source", type=int) or 0)
    if source is None:
        abort(404)
    source_name = source.name
    try:
        event = contact_service.merge_contacts(source, contact, current_user,
                                               fingerprint=request.form.get("fingerprint") or None)
        db.session.commit()
    except (contact_service.MergeRefused, StaleEdit) as exc:
        db.session.rollback()
        message = exc.message if isinstance(exc, contact_service.MergeRefused) else \
            _("A ticket of %(name)s changed while merging; nothing was merged. Please try again.", name=source_name)
        if htmx:
            return render_template("portal/contacts/_merge_preview.html", contact=db.session.get(Contact, contact_id),
                                   source=None, merge_error=message), 422
        flash(message, "error")
        return redirect(url_for("contacts.show", contact_id=contact_id))
    flash(ngettext("%(source)s was merged into %(name)s: %(num)d ticket moved.",
                   "%(source)s was merged into %(name)s: %(num)d tickets moved.", len(event.detail["tickets"]),
                   source=source_name, name=contact.name), "success")
    return see_other(url_for("contacts.show", contact_id=contact.id))


@bp.app_template_filter("identity")
def identity_filter(identity) -> str:
    return contact_service.display_identity(identity.kind, identity.value)


@bp.app_template_filter("duration")
def duration_filter(seconds) -> str:
    from ..services.phone import format_duration
    return format_duration(seconds)


@bp.app_context_processor
def contact_helpers() -> dict:
    return {"display_identity": contact_service.display_identity}
