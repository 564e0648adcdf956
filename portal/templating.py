"""Template helpers: translated labels for stored keys, times in the viewer's time zone."""
import html
import re
from datetime import datetime

from flask import Flask, request, url_for
from markupsafe import Markup, escape
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import lazy_gettext as _l

from .models import utcnow
from .i18n import read_text

STATUS_LABELS = {"new": _l("New"), "open": _l("Open"), "pending": _l("Pending"), "on_hold": _l("On hold"),
                 "solved": _l("Solved"), "closed": _l("Closed")}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
CHANNEL_LABELS = {"portal": _l("Web portal"), "email": _l("Email"), "api": _l("API"), "phone": _l("Phone"),
                  "webhook": _l("Webhook"), "wechat": _l("WeChat")}
ROLE_LABELS = {"agent": _l("Agent"), "supervisor": _l("Supervisor"), "admin": _l("Admin")}
VIEW_LABELS = {"mine": _l("My open tickets"), "unassigned": _l("Unassigned"), "open": _l("All open"),
               "overdue": _l("Overdue"), "recent": _l("Recently updated")}
FIELD_LABELS = {"subject": _l("Subject"), "status": _l("Status"), "priority": _l("Priority"),
                "channel": _l("Channel"), "department": _l("Department"), "team": _l("Team"),
                "assignee": _l("Assignee"), "contact": _l("Customer"), "tags": _l("Tags"),
                "custom_fields": _l("Custom fields"), "first_response_due_at": _l("First response due"),
                "resolution_due_at": _l("Resolution due"), "rules": _l("Workflow rules")}
ACTOR_LABELS = {"customer": _l("Customer"), "system": _l("System"), "assignment": _l("Assignment"),
                "rules": _l("Workflow rules")}
IDENTITY_LABELS = {"email": _l("Email"), "phone": _l("Phone"), "wechat": _l("WeChat")}
LANGUAGE_LABELS = {"en": "English", "zh_Hans": "简体中文"}
AVAILABILITY_LABELS = {"available": _l("Available"), "away": _l("Away"), "offline": _l("Offline")}


def local_time(value: datetime | None, fmt: str = "short") -> str:
    return format_datetime(value, fmt) if value else ""


def ago(value: datetime | None) -> str:
    """'3 hours ago' / '3小时前'; in the future: 'in 2 hours'."""
    if not value:
        return ""
    return format_timedelta(value - utcnow(), add_direction=True, granularity="minute", threshold=1.1)


def modify_query(**changes) -> str:
    """The current URL with some query args replaced (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


_CID_SOURCE = re.compile(r'src="cid:([^"]+)"')


def thread_html(thread) -> Markup:
    """A message's (sanitised) HTML with its inline images (`src="cid:..."`, as mail sends them)
    pointing at their saved attachments, which are served only after the ticket's scope check."""
    body = thread.body_html or ""
    if "cid:" not in body:
        return Markup(body)
    by_cid = {a.content_id: a for a in thread.attachments if a.content_id}

    def swap(match: re.Match) -> str:
        found = by_cid.get(html.unescape(match.group(1)))
        if found is None:
            return match.group(0)
        url = url_for("tickets.attachment", attachment_id=found.id, filename=found.filename)
        return f'src="{escape(url)}"'
    return Markup(_CID_SOURCE.sub(swap, body))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local_time=local_time, ago=ago, thread_html=thread_html, stored_text=read_text)
    app.jinja_env.globals.update(
        STATUS_LABELS=STATUS_LABELS, PRIORITY_LABELS=PRIORITY_LABELS, CHANNEL_LABELS=CHANNEL_LABELS,
        ROLE_LABELS=ROLE_LABELS, VIEW_LABELS=VIEW_LABELS, FIELD_LABELS=FIELD_LABELS,
        AVAILABILITY_LABELS=AVAILABILITY_LABELS, ACTOR_LABELS=ACTOR_LABELS, IDENTITY_LABELS=IDENTITY_LABELS,
        LANGUAGE_LABELS=LANGUAGE_LABELS, modify_query=modify_query, now=utcnow,
        current_locale=lambda: str(get_locale() or "en"))
