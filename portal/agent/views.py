"""The queue: built-in views, filters, bulk actions."""
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db, htmx
from ..models import CHANNELS, PRIORITY_KEYS, STATUSES, Department, Team, Ticket, User
from ..services import ticket_list
from ..services.errors import ValidationFailed
from ..services.scoping import departments_for, ticket_scope
from ..services.tickets import bulk_update

bp = Blueprint("agent", __name__)


@bp.get("/")
@login_required
def home():
    return redirect(url_for("agent.queue"))


def queue_context(query: ticket_list.QueueQuery) -> dict:
    """Everything the queue page and its fragments render from (one place, so they never drift)."""
    page = ticket_list.fetch_page(query, current_user, page_size=current_app.config["QUEUE_PAGE_SIZE"])
    departments = departments_for(current_user)
    dept_ids = [d.id for d in departments]
    teams = list(db.session.scalars(select(Team).where(Team.department_id.in_(dept_ids)).order_by(Team.name)))
    agents_q = select(User).where(User.active.is_(True)).order_by(User.name)
    if not current_user.is_admin:
        agents_q = agents_q.where(User.departments.any(Department.id.in_(dept_ids)))
    agents = list(db.session.scalars(agents_q))
    return dict(query=query, page=page, departments=departments, teams=teams, agents=agents,
                statuses=STATUSES, priorities=PRIORITY_KEYS, channels=CHANNELS,
                counts=ticket_list.view_counts(current_user))


@bp.get("/tickets")
@login_required
def queue():
    query = ticket_list.QueueQuery.from_args(request.args)
    ctx = queue_context(query)
    if htmx and request.args.get("after"):
        return render_template("portal/agent/_ticket_rows.html", **ctx)   # "load more": rows only
    if htmx and htmx.target == "queue-results":
        return render_template("portal/agent/_queue_results.html", **ctx)
    return render_template("portal/agent/queue.html", **ctx)


@bp.get("/tickets/counts")
@login_required
def counts():
    query = ticket_list.QueueQuery.from_args(request.args)
    return render_template("portal/agent/_view_nav.html", query=query,
                           counts=ticket_list.view_counts(current_user))


@bp.post("/tickets/bulk")
@login_required
def bulk():
    """Apply one change to the selected tickets; tickets outside the user's scope are ignored."""
    numbers = [int(n) for n in request.form.getlist("ticket") if n.isdigit()]
    action, value = request.form.get("action", ""), request.form.get("value", "")
    changes = {}
    if action in ("status", "priority"):
        changes[action] = value
    elif action == "assignee":
        changes["assignee"] = current_user.id if value == "me" else (value or None)
    elif action in ("add_tag", "remove_tag"):
        pass
    else:
        return _bulk_result(_("Choose what to change."), "error")
    tickets = list(db.session.scalars(select(Ticket).where(ticket_scope(current_user), Ticket.id.in_(numbers))))
    if not tickets:
        return _bulk_result(_("Select at least one ticket."), "error")
    from ..services.tickets import edit_tags
    failures = {}
    if action in ("add_tag", "remove_tag"):
        tag = value.strip()
        if not tag:
            return _bulk_result(_("Type a tag."), "error")
        for ticket in tickets:
            try:
                with db.session.begin_nested():
                    edit_tags(ticket, add=[tag] if action == "add_tag" else [],
                              remove=[tag] if action == "remove_tag" else [], by=current_user)
            except ValidationFailed as exc:
                failures[ticket.id] = "; ".join(str(v) for v in exc.errors.values())
    else:
        failures = bulk_update(tickets, changes, by=current_user)
    db.session.commit()
    done = len(tickets) - len(failures)
    message = ngettext("Updated %(num)d ticket.", "Updated %(num)d tickets.", done)
    if failures:
        message += " " + _("Not changed: %(list)s", list="; ".join(f"#{n}: {e}" for n, e in failures.items()))
    return _bulk_result(message, "error" if failures else "success", refresh=True)


def _bulk_result(message: str, kind: str, refresh: bool = False):
    response = current_app.make_response(render_template("portal/_flash_inline.html", message=message, kind=kind))
    if refresh:
        response.headers["HX-Trigger"] = "queue-changed"
    return response
