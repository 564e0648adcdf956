"""What every versioned configuration's revision table shares (rules, macros, custom fields, layouts).

Each table adds only its owner column (`rule_id`, `field_id`, ...) and the unique (owner, revision)
constraint; `record_revision` is the one way a new revision is written.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class RevisionColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)  # the config as its export writes it
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[str] = mapped_column(Text, default="")

    @declared_attr
    def author(cls) -> Mapped[Optional["User"]]:  # noqa: F821  (portal.models.org.User)
        return relationship("User")


def record_revision(config: Any, revision_model: type, owner_key: str, document: dict, by: Any, now: datetime,
                    summary: str) -> None:
    """Bump `config` (a rule, a macro, a field, a layout) to its next revision and keep the document:
    who, when, what. `owner_key` is the column naming the config in `revision_model` ("rule_id")."""
    config.revision += 1
    config.updated_at, config.updated_by_id = now, by.id if by else None
    db.session.flush()  # a new config gets its id
    db.session.add(revision_model(**{owner_key: config.id}, revision=config.revision, document=document,
                                  author_id=by.id if by else None, created_at=now, summary=summary))
    db.session.flush()
