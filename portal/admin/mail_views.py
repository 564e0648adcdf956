"""Admin → Inbound mail: every message handed to the desk and what became of it, the ones that need
a look (flagged, held, ignored) first, each with its raw bytes to download; and the mailboxes (their
address, department, IMAP settings, how their polls went). Admins only: raw mail can hold anything,
from any department, and mailbox passwords open whole mailboxes."""
from __future__ import annotations

from flask import Response, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select

from ..channels.mail.imap import ImapProblem, poll_mailbox, test_connection
from ..channels.mail.mailboxes import check as check_mailbox
from ..channels.mail.mailboxes import save_mailbox, set_mailbox_active, settings_for_test
from ..extensions import db
from ..redirects import see_other
from ..models import InboundMessage, Mailbox
from ..services.errors import ValidationFailed
from .access import require_admin
from .mail_forms import AFTER_LABELS, SECURITY_LABELS, MailboxForm
from .views import bp, done, form_response, service_failed

PAGE = 100
NEEDS_A_LOOK = ("flagged", "rate_limited", "ignored")
FILTERS = {"attention": (_l("Needs a look"), NEEDS_A_LOOK), "all": (_l("All"), None),
           "taken": (_l("Tickets and replies"), ("ticket", "reply")), "duplicate": (_l("Duplicates"), ("duplicate",))}
STATUS_LABELS = {"ticket": _l("New ticket"), "reply": _l("Reply"), "duplicate": _l("Duplicate"),
                 "ignored": _l("Ignored"), "rate_limited": _l("Held (rate limit)"), "flagged": _l("Flagged")}


@bp.get("/mail")
def inbound_mail():
    require_admin()
    shown = request.args.get("show", "attention")
    if shown not in FILTERS:
        shown = "attention"
    query = select(InboundMessage).order_by(InboundMessage.id.desc())
    statuses = FILTERS[shown][1]
    if statuses:
        query = query.where(InboundMessage.status.in_(statuses))
    before = request.args.get("before", type=int)
    if before:
        query = query.where(InboundMessage.id < before)
    rows = list(db.session.scalars(query.limit(PAGE + 1)))
    return render_template("portal/admin/inbound_mail.html", messages=rows[:PAGE], filters=FILTERS, shown=shown,
                           status_labels=STATUS_LABELS, older=rows[PAGE - 1].id if len(rows) > PAGE else None)


@bp.get("/mail/<int:message_id>/raw")
def inbound_mail_raw(message_id: int):
    require_admin()
    message = db.session.get(InboundMessage, message_id)
    if message is None:
        abort(404)
    return Response(message.raw, mimetype="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="inbound-{message.id}.eml"',
        "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})


# --- mailboxes ----------------------------------------------------------------------------------
# Endpoints are named inbound_mail_* so the "Inbound mail" admin tab stays current on them.

def _mailbox_or_404(mailbox_id: int) -> Mailbox:
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        abort(404)
    return mailbox


@bp.get("/mail/mailboxes")
def inbound_mail_mailboxes():
    require_admin()
    rows = list(db.session.scalars(select(Mailbox).order_by(Mailbox.active.desc(), Mailbox.address)))
    counts: dict[int, dict[str, int]] = {}
    for mailbox_id, status, count in db.session.execute(
            select(InboundMessage.mailbox_id, InboundMessage.status, func.count())
            .where(InboundMessage.mailbox_id.is_not(None))
            .group_by(InboundMessage.mailbox_id, InboundMessage.status)):
        counts.setdefault(mailbox_id, {})[status] = count
    return render_template("portal/admin/mailboxes.html", mailboxes=rows, counts=counts,
                           security_labels=SECURITY_LABELS, after_labels=AFTER_LABELS)


def _save_mailbox(mailbox: Mailbox | None):
    require_admin()
    form = MailboxForm.build(mailbox)
    if form.is_submitted():
        readable = form.validate()  # types (a port that isn't a number), CSRF
        try:
            if not readable:
                # Still say everything else that is wrong, each on its field, in this one answer.
                _data, errors = check_mailbox(mailbox, form.mailbox_data())
                raise ValidationFailed({k: v for k, v in errors.items() if not getattr(form, k).errors})
            saved = save_mailbox(mailbox, form.mailbox_data())
            db.session.commit()
            message = _("Mailbox %(address)s saved.", address=saved.address) if mailbox else \
                _("Mailbox %(address)s created.", address=saved.address)
            return done(message, url_for("admin.inbound_mail_mailboxes"))
        except ValidationFailed as exc:
            service_failed(form, exc)
    return form_response("portal/admin/mailbox_form.html", "portal/admin/_mailbox_form.html", form,
                         mailbox=mailbox, action=url_for("admin.inbound_mail_mailbox_edit", mailbox_id=mailbox.id)
                         if mailbox else url_for("admin.inbound_mail_mailbox_new"))


@bp.route("/mail/mailboxes/new", methods=["GET", "POST"])
def inbound_mail_mailbox_new():
    return _save_mailbox(None)


@bp.route("/mail/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
def inbound_mail_mailbox_edit(mailbox_id: int):
    return _save_mailbox(_mailbox_or_404(mailbox_id))


@bp.post("/mail/mailboxes/<int:mailbox_id>/active")
def inbound_mail_mailbox_active(mailbox_id: int):
    require_admin()
    mailbox = _mailbox_or_404(mailbox_id)
    active = request.form.get("active") == "1"
    set_mailbox_active(mailbox, active)
    db.session.commit()
    message = _("%(address)s is active again.", address=mailbox.address) if active else \
        _("%(address)s is deactivated: it is no longer polled. Its messages and tickets are kept.",
          address=mailbox.address)
    return done(message, url_for("admin.inbound_mail_mailboxes"))


@bp.post("/mail/mailboxes/test")
def inbound_mail_mailbox_test():
    """"Test connection" (HTMX): log in with the form's settings and count the folder's messages."""
    require_admin()
    mailbox_id = request.args.get("mailbox", type=int)
    mailbox = _mailbox_or_404(mailbox_id) if mailbox_id else None
    form = MailboxForm.build(mailbox)
    form.validate()  # types only; the service says what is wrong with the values
    problems = {f.name: f.errors[0] for f in form if f.name.startswith("imap_") and f.errors}
    try:
        if problems:
            raise ValidationFailed(problems)
        settings = settings_for_test(mailbox, form.mailbox_data())
        count = test_connection(settings)
    except ValidationFailed as exc:
        return render_template("portal/admin/_mailbox_test.html", ok=False, fields=exc.errors, form=form)
    except ImapProblem as problem:
        return render_template("portal/admin/_mailbox_test.html", ok=False, problem=problem)
    return render_template("portal/admin/_mailbox_test.html", ok=True, count=count, settings=settings,
                           first_poll=mailbox is None or mailbox.imap_last_uid == 0)


@bp.post("/mail/mailboxes/<int:mailbox_id>/poll")
def inbound_mail_mailbox_poll(mailbox_id: int):
    """"Poll now": runs here (the lease keeps a worker's poll of the same mailbox out)."""
    require_admin()
    mailbox = _mailbox_or_404(mailbox_id)
    address = mailbox.address
    db.session.commit()
    result = poll_mailbox(mailbox_id)
    if result.status == "ok":
        flash(ngettext("%(address)s: %(num)d new message.", "%(address)s: %(num)d new messages.", result.taken,
                       address=address), "success")
    elif result.status == "busy":
        flash(_("%(address)s is being polled right now; try again in a moment.", address=address), "info")
    else:
        flash(_("%(address)s: the poll failed: %(error)s", address=address, error=result.error or ""), "error")
    return see_other(url_for("admin.inbound_mail_mailboxes"))
