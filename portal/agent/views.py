"""The queue: built-in views, filters, bulk actions, CSV export."""
import tempfile
from datetime import datetime

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import get_timezone, gettext as _, ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db, htmx
from ..models import CHANNELS, PRIORITY_KEYS, STATUSES, Department, Team, Ticket, User
from ..services import custom_columns, saved_views, ticket_export, ticket_list
from ..services.errors import ValidationFailed
from ..services.scoping import departments_for, ticket_scope
from ..services.tickets import bulk_update
from . import hooks

bp = Blueprint("agent", __name__)


@bp.get("/")
@login_required
def home():
    return redirect(url_for("agent.queue"))


def nav_context(query: ticket_list.QueueQuery) -> dict:
    """The sidebar: built-in views, the user's own and the shared saved views, with live counts."""
    mine, shared = saved_views.personal_views(current_user), saved_views.shared_views(current_user)
    return dict(counts=ticket_list.view_counts(current_user), personal_views=mine, shared_views=shared,
                saved_counts=saved_views.counts(current_user, mine + shared))


def queue_context(query: ticket_list.QueueQuery) -> dict:
    """Everything the queue page and its fragments render from (one place, so they never drift)."""
    saved_view = saved_views.get_visible(current_user, query.saved)
    if query.saved is not None and saved_view is None:
        abort(404)   # not yours, or gone: the same answer, so a shared view's name never leaks
    page = ticket_list.fetch_page(query, current_user, page_size=current_app.config["QUEUE_PAGE_SIZE"])
    departments = departments_for(current_user)
    dept_ids = [d.id for d in departments]
    teams = list(db.session.scalars(select(Team).where(Team.department_id.in_(dept_ids)).order_by(Team.name)))
    agents_q = select(User).where(User.active.is_(True)).order_by(User.name)
    if not current_user.is_admin:
        agents_q = agents_q.where(User.departments.any(Department.id.in_(dept_ids)))
    agents = list(db.session.scalars(agents_q))
    fields = custom_columns.queue_fields()
    columns = custom_columns.chosen_columns(_columns_cookie(), fields)
    return dict(query=query, page=page, departments=departments, teams=teams, agents=agents,
                cf_filters=[f for f in fields if f.field.filterable], cf_fields=fields, cf_columns=columns,
                cf_text=custom_columns.ValueText(columns), cf_values=_custom_values(query),
                statuses=STATUSES, priorities=PRIORITY_KEYS, channels=CHANNELS, saved_view=saved_view,
                view_problems=saved_views.condition_problems(saved_view) if saved_view else [],
                can_edit_view=bool(saved_view and saved_views.can_edit(current_user, saved_view)),
                can_share=saved_views.can_share(current_user),
                share_departments=saved_views.shareable_departments(current_user))


def _columns_cookie() -> str:
    """The custom-field columns picked in this request's form (it carries `columns_set`), else the
    ones remembered in the cookie."""
    if request.args.get("columns_set"):
        return ".".join(request.args.getlist("column"))
    return request.cookies.get(custom_columns.COLUMNS_COOKIE, "")


def _custom_values(query: ticket_list.QueueQuery) -> dict[str, list[str]]:
    """{"cf.<key>" / "cf.<key>.min" / "cf.<key>.max": [values]} to fill the filter inputs back in."""
    return {name: [str(v) for v in (value if isinstance(value, list) else [value])]
            for name, value in ticket_list.custom_args(query.custom).items()}


@bp.get("/tickets")
@login_required
def queue():
    query = ticket_list.QueueQuery.from_args(request.args)
    if query.saved is not None and "sort" not in request.args:
        view = saved_views.get_visible(current_user, query.saved)
        if view and (view.sort in ticket_list.SORTS or ticket_list.custom_sort_field(view.sort)):
            query.sort = view.sort
    ctx = queue_context(query)
    if htmx and request.args.get("after"):
        response = current_app.make_response(render_template("portal/agent/_ticket_rows.html", **ctx))
    elif htmx and htmx.target == "queue-results":
        response = current_app.make_response(render_template("portal/agent/_queue_results.html", **ctx))
    else:
        response = current_app.make_response(render_template("portal/agent/queue.html", **ctx,
                                                             **nav_context(query)))
    if request.args.get("columns_set"):  # remember the picked columns for this browser (a year)
        response.set_cookie(custom_columns.COLUMNS_COOKIE, ".".join(c.key for c in ctx["cf_columns"]),
                            max_age=365 * 86400, httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


@bp.get("/tickets/export.csv")
@login_required
def export():
    """The queue as it is filtered and sorted now, every page up to EXPORT_MAX_ROWS, as CSV.

    Written to a spooled file inside the request (memory, then disk past 8 MB) rather than streamed:
    the database work ends with the request instead of following a slow download."""
    query = ticket_list.QueueQuery.from_args(request.args)
    if query.saved is not None and saved_views.get_visible(current_user, query.saved) is None:
        abort(404)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")
    for chunk in ticket_export.export_csv(query, current_user, get_timezone(),
                                          limit=current_app.config["EXPORT_MAX_ROWS"]):
        out.write(chunk.encode("utf-8"))
    out.seek(0)
    stamp = datetime.now(get_timezone()).strftime("%Y%m%d-%H%M")
    return send_file(out, mimetype="text/csv", as_attachment=True, download_name=f"tickets-{stamp}.csv",
                     max_age=0)


@bp.get("/tickets/counts")
@login_required
def counts():
    query = ticket_list.QueueQuery.from_args(request.args)
    return render_template("portal/agent/_view_nav.html", query=query, **nav_context(query))


@bp.post("/tickets/bulk")
@login_required
def bulk():
    """Apply one change to the selected tickets; tickets outside the user's scope are ignored."""
    action, value = request.form.get("action", ""), request.form.get("value", "")
    extra = hooks.queue_bulk_action(action)
    if extra is not None:   # a feature package's bulk action (e.g. "Apply macro"): its own view handles it
        return current_app.view_functions[extra.endpoint]()
    numbers = [int(n) for n in request.form.getlist("ticket") if n.isdigit()]
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
    response = current_app.make_response(render_template("portal/agent/_bulk_result.html", message=message,
                                                         kind=kind))
    if refresh:
        response.headers["HX-Trigger"] = "queue-changed"
    return response
