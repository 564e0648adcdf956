"""Helpers for the rule engine's tests (fixtures are in conftest.py)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboundMessage, Ticket
from rule_builder.models import RuleFiring
from rule_builder.services import save_rule


def make_rule(name=None, *, trigger="created", condition=None, actions=(), department=None, enabled=True,
              by=None, commit=True, **extra):
    make_rule.n += 1
    data = {"name": name or f"Rule {make_rule.n}", "trigger": trigger, "condition": condition or {"all": []},
            "actions": list(actions), "enabled": enabled,
            "department_id": department.id if department is not None else None, **extra}
    rule = save_rule(None, data, by)
    if commit:
        db.session.commit()
    return rule


make_rule.n = 0


def fresh(ticket_or_id) -> Ticket:
    """The ticket as committed (the rules ran in another session)."""
    ticket_id = ticket_or_id if isinstance(ticket_or_id, int) else ticket_or_id.id
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def firings(rule=None, ticket=None) -> list[RuleFiring]:
    db.session.expire_all()
    query = select(RuleFiring).order_by(RuleFiring.id)
    if rule is not None:
        query = query.where(RuleFiring.rule_id == rule.id)
    if ticket is not None:
        query = query.where(RuleFiring.ticket_id == ticket.id)
    return list(db.session.scalars(query))


def messages(kind=None) -> list[OutboundMessage]:
    db.session.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    if kind:
        query = query.where(OutboundMessage.kind == kind)
    return list(db.session.scalars(query))


def leaf(field, op, value=None, **kw):
    cond = {"field": field, "op": op, **kw}
    if value is not None:
        cond["value"] = value
    return cond


class WebhookServer:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.secret: str | None = None
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.receive(self, body)
                self.send_response(outer.status)
                if 300 <= outer.status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def receive(self, handler, body: bytes):
        record = {"path": handler.path, "headers": dict(handler.headers), "body": body, "json": json.loads(body)}
        if self.secret is not None:
            expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            record["signature_ok"] = hmac.compare_digest(expected, handler.headers.get("X-Deskwright-Signature", ""))
            self.bad_signatures += not record["signature_ok"]
        self.requests.append(record)
