"""Rate limits for /api/v1 (Flask-Limiter): API_RATE_LIMIT per token, or per client address for
requests without a valid token (so guessing tokens is limited too).

Counted in Redis when REDIS_URL is set (shared by every web worker), in process memory otherwise.
If the storage fails (Redis down) the API keeps serving unlimited and the failure is logged:
a help desk that stops taking tickets because a counter is unreachable is worse than one that
briefly counts nothing.
"""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded

from .auth import current_token
from .problems import problem

log = logging.getLogger(__name__)


def rate_key() -> str:
    token = current_token()
    return f"token:{token.id}" if token is not None else f"ip:{request.remote_addr}"


def _limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def init_app(app: Flask, bp: Blueprint) -> None:
    storage = app.config.get("API_RATE_LIMIT_STORAGE") or app.config.get("REDIS_URL") or "memory://"
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if storage.startswith("redis") else {}
    limiter = Limiter(key_func=rate_key, storage_uri=storage, storage_options=options, strategy="fixed-window",
                      key_prefix="deskwright-api", headers_enabled=False, swallow_errors=True,
                      default_limits=[], application_limits=[])
    limiter.logger = log  # "Failed to rate limit. Swallowing error" goes to the app's log, with the traceback
    limiter.init_app(app)
    limiter.shared_limit(_limit, scope="api")(bp)  # one budget for all of a token's requests
    app.extensions["deskwright_api_limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        # Retry-After only here: Flask-Limiter's X-RateLimit-* headers on every answer would cost two
        # more Redis round trips per request (measured in bench/api).
        current = limiter.current_limit
        window = exc.limit.limit.get_expiry()
        # reset_at is rounded up to a whole second: never more than the window itself
        wait = min(window, max(1, round(current.reset_at - time.time()))) if current else window
        return problem(429, "Too Many Requests", f"Over the API rate limit ({exc.limit.limit}); "
                       "retry after the number of seconds in Retry-After.", headers={"Retry-After": str(wait)})
