"""API tokens: an agent's key for the REST API (`Authorization: Bearer dw_...`).

Only a SHA-256 of the token is stored (tokens are 256 random bits, so a slow password hash buys
nothing and would cost every request); `prefix` is its first characters, shown in lists so an
agent can tell tokens apart. A token acts as its agent, never more: its scopes narrow what the
agent may do, the agent's departments bound what it sees.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .org import User

SCOPES = ("tickets:read", "tickets:write", "contacts:read", "contacts:write", "mail:ingest")
# contacts:write (which changes and merges customers) and mail:ingest (an MTA's) only when asked for.
DEFAULT_SCOPES = ("tickets:read", "tickets:write", "contacts:read")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… of {self.user_id}>"
