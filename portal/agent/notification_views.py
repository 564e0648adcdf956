"""In-app notifications: the bell in the top bar, its menu, the full list, marking read.

A notification belongs to one user: anyone else's answers 404. The bell's count polls every
60 s (htmx); the menu loads when opened. Opening a notification marks it read and goes to its
ticket (if the user can still see it).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from ..extensions import db, htmx
from ..models import Notification, Ticket, utcnow
from ..services.scoping import can_see_ticket

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

MENU_SIZE = 8
PAGE_SIZE = 50
COUNT_CAP = 100   # the bell shows "99+" beyond this


def unread_count(user) -> int:
    capped = select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None)) \
        .limit(COUNT_CAP).subquery()
    return db.session.scalar(select(func.count()).select_from(capped)) or 0


def _mine_or_404(notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    return row


def _with_tickets(rows: list[Notification]) -> list[tuple[Notification, Ticket | None]]:
    """Each notification with its ticket, when the user may still see that ticket."""
    ids = {n.ticket_id for n in rows if n.ticket_id}
    tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))} if ids else {}
    return [(n, t if t is not None and can_see_ticket(current_user, t) else None)
            for n in rows for t in [tickets.get(n.ticket_id)]]


@bp.get("")
@login_required
def index():
    """The full list (newest first, keyset pages by id), or the bell's menu (?menu=1, htmx)."""
    stmt = select(Notification).where(Notification.user_id == current_user.id).order_by(Notification.id.desc())
    if request.args.get("menu"):
        rows = list(db.session.scalars(stmt.limit(MENU_SIZE)))
        return render_template("portal/agent/_bell_menu.html", items=_with_tickets(rows),
                               unread=unread_count(current_user))
    before = request.args.get("before", type=int)
    if before:
        stmt = stmt.where(Notification.id < before)
    rows = list(db.session.scalars(stmt.limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template("portal/agent/notifications.html", items=_with_tickets(rows),
                           next_before=rows[-1].id if more else None, unread=unread_count(current_user))


@bp.get("/bell")
@login_required
def bell():
    """The bell's count (polled)."""
    return render_template("portal/agent/_bell_count.html", unread=unread_count(current_user))


@bp.get("/<int:notification_id>/open")
@login_required
def open_(notification_id: int):
    """Follow a notification: mark it read, then go to its ticket."""
    row = _mine_or_404(notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.commit()
    ticket = db.session.get(Ticket, row.ticket_id) if row.ticket_id else None
    if ticket is None or not can_see_ticket(current_user, ticket):
        if row.ticket_id:
            flash(_("That ticket is no longer yours to see."), "info")
        return redirect(url_for("notifications.index"))
    return redirect(url_for("tickets.show", number=ticket.id))


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    row = _mine_or_404(notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.commit()
    if not htmx:
        return redirect(url_for("notifications.index"))
    (item,) = _with_tickets([row])
    return render_template("portal/agent/_notification_item.html", item=item, where=request.form.get("where", "menu"),
                           unread=unread_count(current_user), count_oob=True)


@bp.post("/read-all")
@login_required
def mark_all_read():
    db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                  Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    if not htmx:
        return redirect(url_for("notifications.index"))
    rows = list(db.session.scalars(select(Notification).where(Notification.user_id == current_user.id)
                                   .order_by(Notification.id.desc()).limit(MENU_SIZE)))
    return render_template("portal/agent/_bell_menu.html", items=_with_tickets(rows), unread=0)
