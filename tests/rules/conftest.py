"""Fixtures for the rule engine's tests: a local HTTP server (webhooks) on loopback (the SMTP
server, `smtp_server`, is the suite's). Helpers (make_rule, fresh, firings...) are in helpers.py."""
from __future__ import annotations

import pytest

from .helpers import WebhookServer


@pytest.fixture
def app_config():
    # Tests' webhooks go to a server on 127.0.0.1; tests of the refusal turn this off.
    return {"WEBHOOK_ALLOW_PRIVATE": True}


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
