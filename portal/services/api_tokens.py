"""Issuing, checking and revoking REST API tokens (portal/models/tokens.py)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Iterable, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import User, utcnow
from ..models.tokens import DEFAULT_SCOPES, SCOPES, ApiToken
from .errors import ValidationFailed

PREFIX = "dw_"
# Writing last_used_at on every request would make every read a write; a minute's precision is plenty.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "", scopes: Iterable[str] = DEFAULT_SCOPES) -> tuple[ApiToken, str]:
    """A new token for `user` (flushed; the caller commits) and its secret, shown once and never stored."""
    scopes = list(dict.fromkeys(scopes))
    errors = {}
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        errors["scopes"] = f"Choose scopes from {', '.join(SCOPES)}" + (f" (not {', '.join(unknown)})." if unknown
                                                                         else ".")
    if not user.active:
        errors["user"] = "A deactivated agent can't have API tokens."
    if errors:
        raise ValidationFailed(errors)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=(name or "API token").strip()[:120], token_hash=_digest(secret),
                     prefix=secret[:10], scopes=scopes, created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    return token, secret


def authenticate(secret: str) -> Optional[ApiToken]:
    """The live token for this secret, its agent still active; None otherwise."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    # The agent in the same query: every API request needs both (one round trip fewer per request).
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                              .where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        _touch(token, now)
    return token


def _touch(token: ApiToken, now) -> None:
    """Note the token's use in a short transaction of its own: it stands even if the request fails,
    and the request's session keeps the token and its agent loaded (committing that session here
    would expire them, and the request would read them again)."""
    with db.engine.begin() as connection:
        connection.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    set_committed_value(token, "last_used_at", now)


def revoke(token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or utcnow()
