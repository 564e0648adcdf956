"""Bearer-token authentication and scopes for the API. The token acts as its agent: every query goes
through the same scoping helper as the agent's pages."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from ..extensions import db
from ..models import User
from ..services import api_tokens
from .problems import ApiProblem

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="deskwright"'}


def requires(scope: str):
    """The view needs a live token with `scope`; its agent is then `current_agent()`."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            kind, _, secret = request.headers.get("Authorization", "").partition(" ")
            if kind.lower() != "bearer" or not secret.strip():
                raise ApiProblem(401, "Unauthorized", "Send an API token: Authorization: Bearer <token>.",
                                 headers=CHALLENGE)
            token = api_tokens.authenticate(secret.strip())
            if token is None:
                raise ApiProblem(401, "Unauthorized", "The token is unknown or revoked, or its agent is deactivated.",
                                 headers=CHALLENGE)
            if db.session.dirty:  # last_used_at moved on: keep it even if the request fails later
                db.session.commit()
            if scope not in token.scopes:
                raise ApiProblem(403, "Forbidden", f"This token does not have the scope {scope}.")
            g.api_user = token.user
            return view(*args, **kwargs)
        return wrapper
    return decorator


def current_agent() -> User:
    return g.api_user
