"""CSV export of the queue: the tickets the agent's current filters show, in the same order, with
every active custom field as a column.

Rows come from `ticket_list.fetch_page` page after page (keyset pages), so the export sees exactly
what the queue shows, respects the agent's scope, and costs the same per page at a million tickets.
Memory stays at one page too: the session's identity map holds clean objects weakly, so a page's
tickets are freed once the next page replaces it (a test holds it to that).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Iterator

from flask_babel import gettext as _

from ..models import User
from ..templating import CHANNEL_LABELS, PRIORITY_LABELS, STATUS_LABELS
from . import ticket_list
from .custom_columns import ValueText, queue_fields

PAGE = 500
# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection): the
# export prefixes it with an apostrophe, which spreadsheets show as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _time(value: datetime | None, zone) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def export_csv(q: ticket_list.QueueQuery, user: User, zone, *, limit: int | None = None) -> Iterator[str]:
    """The CSV text in chunks (a UTF-8 byte-order mark first, so Excel reads Chinese right)."""
    fields = queue_fields()
    text = ValueText(fields)
    header = [_("Number"), _("Subject"), _("Status"), _("Priority"), _("Department"), _("Team"), _("Assignee"),
              _("Contact"), _("Channel"), _("Tags"), _("Created"), _("Updated"), _("Due"),
              *[f.label for f in fields]]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(str(h)) for h in header])
    yield "\ufeff" + buffer.getvalue()
    q = ticket_list.QueueQuery(**{**q.__dict__, "cursor": None})
    written = 0
    while True:
        page = ticket_list.fetch_page(q, user, page_size=PAGE)
        buffer.seek(0)
        buffer.truncate()
        for t in page.tickets:
            values = t.custom_fields or {}
            row = [str(t.id), t.subject, str(STATUS_LABELS.get(t.status, t.status)),
                   str(PRIORITY_LABELS.get(t.priority_key, t.priority_key)), t.department.label,
                   t.team.label if t.team else "", t.assignee.name if t.assignee else "",
                   t.contact.name if t.contact else "", str(CHANNEL_LABELS.get(t.channel, t.channel)),
                   "; ".join(t.tags), _time(t.created_at, zone), _time(t.updated_at, zone),
                   _time(t.resolution_due_at, zone), *[text(f.key, values.get(f.key)) for f in fields]]
            writer.writerow([safe_cell(cell) for cell in row])
            written += 1
            if limit is not None and written >= limit:
                break
        yield buffer.getvalue()
        if not page.next_cursor or (limit is not None and written >= limit):
            return
        q.cursor = page.next_cursor
