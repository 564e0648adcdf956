"""Saved views: a named queue filter, stored as a condition (the same JSON as rules use).

Personal (owner_id set: only its owner sees and edits it) or shared (owner_id NULL: everyone in
`department_id`, or everyone when that is NULL, sees it; supervisors and admins edit it, see
portal/services/saved_views.py). A view never widens what its viewer may see: its condition is
applied on top of the viewer's ticket scope.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .org import Department, User


class SavedView(db.Model):
    __tablename__ = "saved_views"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # NULL: shared
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    condition: Mapped[dict] = mapped_column(JSON, default=dict)
    sort: Mapped[str] = mapped_column(String(80), default="updated")  # or "cf.<key>[:desc]"
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[Optional[User]] = relationship(foreign_keys=[owner_id])
    department: Mapped[Optional[Department]] = relationship()
    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])

    # The sidebar's two lookups: a user's own views, and the shared views of their departments.
    __table_args__ = (Index("ix_saved_views_owner_position", "owner_id", "position"),
                      Index("ix_saved_views_department", "department_id"))

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    def __repr__(self) -> str:
        return f"<SavedView {self.id} {self.name!r} {'shared' if self.is_shared else self.owner_id}>"
