"""A small seeded desk served by a real HTTP server, for browser tests and tools/screenshots.py.

Everything is created through the services (accounts.create_user, tickets.create_ticket,
tickets.update_ticket), so the data looks like what the app itself writes: audit events,
versions, search text.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

PASSWORD = "e2e-pass-1"
ADMIN, ADMIN_ZH = "ada@desk.example", "an@desk.example"  # the admin_desk fixture's admins

# Chromium flags that work with Debian's /usr/bin/chromium (see shared/stack.md section 4).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Desk:
    """What the seed created: logins and ticket numbers the tests refer to."""

    returns_agent: str = "rita@returns.example"
    billing_agent: str = "bill@billing.example"
    returns_agent_zh: str = "li@returns.example"   # same desk, Chinese UI (user.language = zh_Hans)
    supervisor: str = "sam@desk.example"           # makes "meanwhile" changes in the conflict test
    password: str = PASSWORD
    journey: int = 0              # Returns, normal priority, new: the ticket the journey works on
    billing: int = 0              # the one Billing ticket
    high: list[int] = field(default_factory=list)   # open tickets with priority high
    returns_open: list[int] = field(default_factory=list)  # every Returns ticket in the "All open" view
    subjects: dict[int, str] = field(default_factory=dict)


# (subject, body, priority, status, hours ago, assigned to the Returns agent?, tags)
RETURNS_TICKETS = [
    ("Parcel arrived damaged, need a replacement", "The box was crushed and the vase inside is broken.",
     "normal", "new", 1, False, ["damaged"]),
    ("Refund not received after 14 days", "I sent the shoes back two weeks ago, still no refund.",
     "high", "open", 2, True, ["refund"]),
    ("退货标签打不开", "邮件里的退货标签链接打不开，请重新发送。", "high", "new", 3, False, []),
    ("Wrong size delivered", "Ordered M, got XL.", "low", "pending", 5, True, []),
    ("Exchange for a different colour", "Can I swap the blue jacket for the black one?",
     "normal", "open", 8, False, ["exchange"]),
    ("Courier lost my return", "Tracking has not moved for ten days.", "urgent", "open", 12, True, ["courier"]),
    ("Return window question", "Is the return window 30 days for sale items?", "low", "on_hold", 20, False, []),
    ("Thanks, refund arrived", "All good now, thank you!", "normal", "solved", 30, True, []),
]
BILLING_TICKET = ("Invoice shows the wrong VAT number", "Please correct the VAT number on invoice 2291.",
                  "normal", "open", 4)


def seed_small_desk() -> Desk:
    """Create the desk in the current app context and commit. Returns what the tests need."""
    from portal.extensions import db
    from portal.models import Contact, ContactIdentity, Department, Team, utcnow
    from portal.services.accounts import create_user
    from portal.services.tickets import create_ticket, update_ticket

    desk = Desk()
    returns = Department(name="Returns", name_zh="退换货", email="returns@shop.example")
    billing = Department(name="Billing", name_zh="账单", email="billing@shop.example")
    db.session.add_all([returns, billing])
    db.session.flush()
    db.session.add_all([Team(name="Couriers", name_zh="快递", department_id=returns.id),
                        Team(name="Refunds", name_zh="退款", department_id=returns.id)])
    rita = create_user(email=desk.returns_agent, password=PASSWORD, name="Rita Ramos", departments=[returns])
    create_user(email=desk.billing_agent, password=PASSWORD, name="Bill Brandt", departments=[billing])
    create_user(email=desk.returns_agent_zh, password=PASSWORD, name="李娜", departments=[returns],
                language="zh_Hans", timezone="Asia/Shanghai")
    create_user(email=desk.supervisor, password=PASSWORD, name="Sam Supervisor", role="supervisor",
                departments=[returns, billing])

    def contact(name: str, email: str) -> Contact:
        c = Contact(name=name)
        c.identities.append(ContactIdentity(kind="email", value=email))
        db.session.add(c)
        return c

    chen = contact("Chen Jing", "chen.jing@customer.example")
    olga = contact("Olga Novak", "olga@customer.example")
    db.session.flush()

    now = utcnow()
    for i, (subject, body, priority, status, hours, mine, tags) in enumerate(RETURNS_TICKETS):
        when = now - timedelta(hours=hours)
        t = create_ticket(subject=subject, body=body, department=returns, priority=priority, status=status,
                          channel=("email", "portal", "phone")[i % 3], contact=chen if i % 2 == 0 else olga,
                          assignee=rita if mine else None, tags=tags, by="customer", now=when)
        desk.subjects[t.id] = subject
        if i == 0:
            desk.journey = t.id
        if priority == "high":
            desk.high.append(t.id)
        if status != "solved":
            desk.returns_open.append(t.id)
        if subject.startswith("Courier"):
            # One overdue ticket, so the "Overdue" view and the red due time have something to show.
            update_ticket(t, {"resolution_due_at": now - timedelta(hours=2)}, by="system", now=when)
    subject, body, priority, status, hours = BILLING_TICKET
    t = create_ticket(subject=subject, body=body, department=billing, priority=priority, status=status,
                      channel="email", contact=olga, by="customer", now=now - timedelta(hours=hours))
    desk.billing = t.id
    desk.subjects[t.id] = subject
    db.session.commit()
    return desk


def make_live_app(tmp_dir: str, **overrides: Any):
    """An app on the SQLite file tmp_dir/e2e.db (tables created if missing), jobs run inline."""
    from portal.app import create_app
    from portal.extensions import db

    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir}/e2e.db",
        "QUEUE_MODE": "sync",
        "SECRET_KEY": "e2e-not-secret",
        "ATTACHMENT_DIR": os.path.join(tmp_dir, "attachments"),
        "TESTING": False,
        "WTF_CSRF_ENABLED": True,
        **overrides,
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def seeded_db(tmp_dir: str) -> Desk:
    """Seed tmp_dir/e2e.db once; copying that file gives each test a fresh desk in milliseconds
    (the seed itself spends most of its second hashing four argon2 passwords)."""
    import functools

    from portal.extensions import db
    from portal.services import accounts

    app = make_live_app(tmp_dir)
    original = accounts.hash_password
    accounts.hash_password = functools.lru_cache(original)   # one argon2 hash for the shared password
    try:
        with app.app_context():
            desk = seed_small_desk()
            db.engine.dispose()
    finally:
        accounts.hash_password = original
    return desk


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # no access log lines in the test output
        pass


class LiveServer:
    """werkzeug's threaded dev server on a free port, in a daemon thread."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval: shutdown() waits up to one interval (the default is 0.5 s).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="live-server")

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        from portal.extensions import db
        with self.app.app_context():
            db.engine.dispose()   # close SQLite files held by server threads' pool


def login(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form (the real CSRF token and session cookie)."""
    page.goto(base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("form[novalidate] button[type=submit]").click()   # the sign-in form, not the language switch
    page.wait_for_url(lambda url: "/login" not in url)
