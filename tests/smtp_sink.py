"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests that send mail: rules, email out, the
browser journeys. `.envelopes` holds what it accepted; an address in `.refuse` gets a 550 at RCPT TO."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.refuse: set[str] = set()
        self.port = 0

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


@contextmanager
def smtp_sink(port: int | None = None) -> Iterator[Inbox]:
    """Run an SMTP server on 127.0.0.1 (`port`, or a free one) until the block ends."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    inbox.port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
