"""Bearer-token authentication and scopes for the API. The token acts as its agent: every query goes
through the same scoping helper as the agent's pages."""
from __future__ import annotations

from functools import wraps
from typing import Optional

from flask import g, request

from ..models import User
from ..models.tokens import ApiToken
from ..services import api_tokens
from .problems import ApiProblem

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="deskwright"'}
_UNSET = object()
_CACHE = "deskwright.api_token"


def _presented_secret() -> Optional[str]:
    kind, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if kind.lower() == "bearer" and secret.strip() else None


def current_token() -> Optional[ApiToken]:
    """The request's live token, or None; looked up once per request (the rate limiter asks first).

    Kept on the request, not on `g`: a test's app context (and its `g`) outlives many requests."""
    token = request.environ.get(_CACHE, _UNSET)
    if token is _UNSET:
        secret = _presented_secret()
        token = api_tokens.authenticate(secret) if secret else None
        request.environ[_CACHE] = token
    return token


def requires(scope: str):
    """The view needs a live token with `scope`; its agent is then `current_agent()`."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            token = current_token()
            if token is None:
                detail = ("Send an API token: Authorization: Bearer <token>." if _presented_secret() is None
                          else "The token is unknown or revoked, or its agent is deactivated.")
                raise ApiProblem(401, "Unauthorized", detail, headers=CHALLENGE)
            if scope not in token.scopes:
                raise ApiProblem(403, "Forbidden", f"This token does not have the scope {scope}.")
            g.api_user = token.user
            return view(*args, **kwargs)
        return wrapper
    return decorator


def current_agent() -> User:
    return g.api_user
