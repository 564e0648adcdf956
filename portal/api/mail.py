"""POST /api/v1/mail/inbound: a raw message (the request body, as an MTA or a mail service hands it
over), made a ticket or a reply exactly as `flask ingest-email` does. Needs the `mail:ingest` scope."""
from __future__ import annotations

from flask import current_app, jsonify, request
from sqlalchemy import select

from ..channels.mail.ingest import ingest
from ..extensions import db
from ..models import Mailbox
from .auth import requires
from .inputs import invalid, no_other_parameters
from .problems import ApiProblem
from .views import bp


@bp.post("/mail/inbound")
@requires("mail:ingest")
def inbound_mail():
    no_other_parameters(frozenset({"mailbox"}))
    # A mail's own limit, not the app's request limit (MAX_CONTENT_LENGTH, sized for forms and
    # uploads and smaller): a message the desk would take by email must not be refused by HTTP.
    # Over it, werkzeug answers 413 before reading the body.
    request.max_content_length = current_app.config["MAX_INBOUND_MAIL_BYTES"]
    raw = request.get_data(cache=False)
    if not raw:
        raise ApiProblem(400, "Bad Request", "Send the raw message (RFC 5322) as the request body.")
    if len(raw) > current_app.config["MAX_INBOUND_MAIL_BYTES"]:
        raise ApiProblem(413, "Content Too Large", "The message is over MAX_INBOUND_MAIL_BYTES.")
    box = None
    if request.args.get("mailbox"):
        box = db.session.scalar(select(Mailbox).where(Mailbox.address == request.args["mailbox"].strip().lower()))
        if box is None:
            raise invalid({"mailbox": "No such mailbox."})
    record = ingest(raw, via="http", mailbox=box)
    db.session.commit()
    response = jsonify(inbound_message=record.id, status=record.status, ticket=record.ticket_id,
                       problem=record.problem)
    response.status_code = 201 if record.status in ("ticket", "reply") else 200
    return response
