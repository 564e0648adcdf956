"""API rate limits: API_RATE_LIMIT per token, per client address without a valid token; a 429 problem
with Retry-After; counted in process memory or in Redis; if Redis is unreachable the API keeps serving
(and says so in the log)."""
from __future__ import annotations

import logging
import os

import pytest

# Read here, not imported from conftest: with tests/browser collected too, `conftest` can be that one.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or None

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "redis"])
def app_config(request):
    config = {"API_RATE_LIMIT": "3 per minute"}
    if request.param == "redis":
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set")
        config["REDIS_URL"] = request.getfixturevalue("redis_url")
    return config


def test_each_token_has_its_own_budget_and_then_gets_a_429(api, desk, app):
    for _ in range(3):
        ok = api("GET", "/tickets")
        assert ok.status_code == 200
    over = api("GET", "/tickets")
    assert over.status_code == 429 and over.content_type == "application/problem+json"
    assert over.get_json()["title"] == "Too Many Requests"
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert api("POST", "/tickets", json={}).status_code == 429  # one budget for all of a token's requests
    assert api("GET", "/tickets", who="other").status_code == 200  # another token's is untouched
    if app.config.get("REDIS_URL"):  # counted where every web worker sees it
        from redis import Redis
        keys = Redis.from_url(app.config["REDIS_URL"]).keys()
        assert any(key.startswith(b"LIMITS:LIMITER/deskwright-api/token:") for key in keys), keys


def test_requests_without_a_valid_token_are_limited_by_address(api, desk):
    for _ in range(3):
        assert api("GET", "/tickets", who=None, headers={"Authorization": "Bearer dw_guess"}).status_code == 401
    # guessing with ever new tokens doesn't buy new budgets
    assert api("GET", "/tickets", who=None, headers={"Authorization": "Bearer dw_guess2"}).status_code == 429
    assert api("GET", "/openapi.json", who=None).status_code == 429
    assert api("GET", "/tickets", who=None, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 401
    assert api("GET", "/tickets").status_code == 200  # a valid token counts on its own


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "2 per minute",
                                         "API_RATE_LIMIT_STORAGE": "redis://127.0.0.1:1/0"}])
def test_an_unreachable_redis_fails_open_and_is_logged(api, desk, caplog):
    with caplog.at_level(logging.ERROR, logger="portal.api.limits"):
        for _ in range(4):
            assert api("GET", "/tickets").status_code == 200
    assert any("Failed to rate limit" in record.getMessage() for record in caplog.records), caplog.text
