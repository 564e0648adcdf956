"""The delivery badge of an emailed reply on the ticket page: its state (polled while the email is
on its way) and Retry after a failure. Routes on the ticket blueprint."""
from flask import abort, render_template
from flask_login import current_user, login_required

from ..channels.mail.outgoing import retry_delivery
from ..extensions import db
from ..models import Thread
from ..services.scoping import get_ticket_or_404
from .ticket_views import bp


def _thread(number: int, thread_id: int) -> Thread:
    ticket = get_ticket_or_404(current_user, number)  # admins, and agents of the ticket's department
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.ticket_id != ticket.id or thread.outbound_message is None:
        abort(404)
    return thread


@bp.get("/<int:number>/threads/<int:thread_id>/delivery")
@login_required
def delivery(number: int, thread_id: int):
    return render_template("portal/ticket/_delivery.html", thread=_thread(number, thread_id))


@bp.post("/<int:number>/threads/<int:thread_id>/delivery/retry")
@login_required
def retry(number: int, thread_id: int):
    thread = _thread(number, thread_id)
    if retry_delivery(thread):
        db.session.commit()  # the job is enqueued after this commit
    db.session.expire_all()  # inline delivery (no queue) has already run: show where it is now
    return render_template("portal/ticket/_delivery.html", thread=db.session.get(Thread, thread_id))
