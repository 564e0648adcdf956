"""Fixtures for the rule engine's tests: a local SMTP server and a local HTTP server (webhooks),
both on loopback. Helpers (make_rule, fresh, firings...) are in helpers.py."""
from __future__ import annotations

import pytest

from .helpers import WebhookServer, free_port


@pytest.fixture
def app_config():
    # Tests' webhooks go to a server on 127.0.0.1; tests of the refusal turn this off.
    return {"WEBHOOK_ALLOW_PRIVATE": True}


# ------------------------------------------------------------------------------------------
# SMTP (aiosmtpd)
# ------------------------------------------------------------------------------------------
class _Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1; the app's MAIL_SERVER points at it. `.envelopes` holds the mail."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield inbox
    finally:
        controller.stop()


# ------------------------------------------------------------------------------------------
# HTTP (webhooks)
# ------------------------------------------------------------------------------------------
@pytest.fixture
def webhook_server():
    server = WebhookServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
