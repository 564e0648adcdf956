"""A webhook channel and a simulated sender that signs its posts as a real integration would."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import pytest

from factories import make_department
from portal.channels.webhook.setup import save_channel
from portal.extensions import db

MAPPING = [
    {"field": "subject", "path": "order.title", "default": ""},
    {"field": "body", "path": "message", "default": ""},
    {"field": "contact_email", "path": "customer.email", "default": ""},
    {"field": "contact_name", "path": "customer.name", "default": ""},
    {"field": "priority", "path": "urgency", "default": "normal"},
    {"field": "tags", "path": "labels", "default": "shop"},
]


@dataclass
class Sender:
    """Signs like the docs tell a sender to: HMAC-SHA256 of the raw body, hex, after "sha256="."""

    client: object
    url: str
    secret: str

    def post(self, payload=None, *, raw: bytes | None = None, secret: str | None = None, timestamp=None,
             signature: str | None = None):
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json",
                   "X-Deskwright-Signature": signature if signature is not None else
                   "sha256=" + self.digest(body, timestamp, secret)}
        if timestamp is not None:
            headers["X-Deskwright-Timestamp"] = str(timestamp)
        return self.client.post(self.url, data=body, headers=headers)

    def digest(self, body: bytes, timestamp=None, secret: str | None = None) -> str:
        signed = f"{timestamp}.".encode() + body if timestamp is not None else body
        return hmac.new((secret or self.secret).encode(), signed, hashlib.sha256).hexdigest()

    def now(self) -> int:
        return int(time.time())


@pytest.fixture
def shop(app):
    department = make_department(name="Orders")
    channel, secret = save_channel(None, name="Shop", department=department, active=True, rows=MAPPING,
                                   external_id_path="event.id", conversation_path="order.number")
    db.session.commit()
    return channel, secret


@pytest.fixture
def sender(client, shop) -> Sender:
    channel, secret = shop
    return Sender(client, f"/channels/webhook/{channel.public_id}", secret)


def order(event_id="ev-1", number="A-100", title="Order A-100: wrong size", message="The shoes are too small.",
          email="wang.fang@example.com", **extra) -> dict:
    payload = {"event": {"id": event_id}, "order": {"number": number, "title": title}, "message": message,
               "customer": {"email": email, "name": "Wang Fang"}}
    payload.update(extra)
    return payload
