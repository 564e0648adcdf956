"""Admin → Inbound mail: every message handed to the desk and what became of it, the ones that need
a look (flagged, held, ignored) first, each with its raw bytes to download. Admins only: raw mail
can hold anything, from any department."""
from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import InboundMessage
from .access import require_admin
from .views import bp

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
