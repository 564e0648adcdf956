"""Email out: a real SMTP server (aiosmtpd) on 127.0.0.1 at a free port; the app's MAIL_SERVER
points at it. `.envelopes` holds what it accepted; `.refuse` makes it answer RCPT TO with a 550."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest

from factories import make_contact, make_department
from portal.extensions import db
from portal.models import Mailbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_server(app):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def shop(app):
    """Returns has a mailbox; Billing only a department address; Misc neither."""
    returns = make_department(name="Returns", email="returns-dept@shop.example")
    billing = make_department(name="Billing", email="billing@shop.example")
    misc = make_department(name="Misc")
    db.session.add(Mailbox(address="help@shop.example", name="Shop Help", department=returns))
    contact = make_contact(email="li.lei@example.com", name="Li Lei")
    db.session.commit()
    return {"returns": returns, "billing": billing, "misc": misc, "contact": contact}
