"""Custom fields, their per-department picklist values, and the layouts forms are built from.

A field's definition and a layout are versioned documents (see documents.py): the live row holds
the current revision, and every save also writes a *Revision row with the whole document, who
saved it and a one-line summary, so any revision can be looked at or restored (services.py).
Ticket values live in `tickets.custom_fields` (JSON), keyed by the field's `key`, which is why
a key never changes once the field exists.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Department, User, UTCDateTime, utcnow
from ..models.revisions import RevisionColumns

# Who sees a field: agents only; customers see it read-only; customers may fill it in.
VISIBILITIES = ("agents", "customers_see", "customers_edit")
KEY_MAX = 63  # portal.conditions.fields.CUSTOM_KEY allows 63 characters


class CustomField(db.Model):
    __tablename__ = "custom_fields"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX), unique=True)
    type: Mapped[str] = mapped_column(String(30))
    label: Mapped[str] = mapped_column(String(200))
    label_zh: Mapped[str] = mapped_column(String(200), default="")
    help_text: Mapped[str] = mapped_column(Text, default="")
    help_text_zh: Mapped[str] = mapped_column(Text, default="")
    default: Mapped[Optional[Any]] = mapped_column(JSON)
    required: Mapped[bool] = mapped_column(Boolean, default=False)  # layouts may override it
    validation: Mapped[dict] = mapped_column(JSON, default=dict)
    visibility: Mapped[str] = mapped_column(String(20), default="agents")
    # picklist/multiselect: [{"value", "label", "label_zh"}]; dependent: {"<parent value>": [...]}
    options: Mapped[Optional[Any]] = mapped_column(JSON)
    parent_key: Mapped[Optional[str]] = mapped_column(String(KEY_MAX))
    currency: Mapped[Optional[str]] = mapped_column(String(3))
    filterable: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the builder's palette
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[Optional[User]] = relationship(foreign_keys=[updated_by_id])

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<CustomField {self.key} {self.type} r{self.revision}>"


class FieldDepartmentOptions(db.Model):
    """A department's own picklist values for a field (same shape as CustomField.options); a
    department without a row uses the field's options."""

    __tablename__ = "field_department_options"
    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    options: Mapped[Any] = mapped_column(JSON)

    field: Mapped[CustomField] = relationship()
    department: Mapped[Department] = relationship()

    __table_args__ = (db.UniqueConstraint("field_id", "department_id",
                                          name="uq_field_department_options_field_department"),)


class FieldRevision(RevisionColumns, db.Model):
    __tablename__ = "field_revisions"
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    __table_args__ = (db.UniqueConstraint("field_id", "revision", name="uq_field_revisions_field_revision"),)


class Layout(db.Model):
    """The form of one department (department_id NULL: the default layout, for departments
    without their own). `document`: {"version": 1, "sections": [...]}, see schema.py."""

    __tablename__ = "layouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"),
                                                         unique=True)
    # True on the default layout, NULL on the others. UNIQUE treats NULLs as distinct, so
    # department_id alone can't stop a second default layout; this column can (one True, any NULLs).
    is_default: Mapped[Optional[bool]] = mapped_column(Boolean, unique=True)
    document: Mapped[dict] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    department: Mapped[Optional[Department]] = relationship()
    updated_by: Mapped[Optional[User]] = relationship()

    __table_args__ = (db.CheckConstraint("(department_id IS NULL) = (is_default IS NOT NULL)",
                                         name="default_has_no_department"),)

    def __repr__(self) -> str:
        return f"<Layout {self.department_id or 'default'} r{self.revision}>"


def stored_layout(department_id: Optional[int]) -> Optional[Layout]:
    """The saved layout of a department (None: the default layout), if there is one."""
    where = Layout.department_id.is_(None) if department_id is None else Layout.department_id == department_id
    return db.session.scalar(select(Layout).where(where))


class LayoutRevision(RevisionColumns, db.Model):
    __tablename__ = "layout_revisions"
    layout_id: Mapped[int] = mapped_column(ForeignKey("layouts.id", ondelete="CASCADE"))
    __table_args__ = (db.UniqueConstraint("layout_id", "revision", name="uq_layout_revisions_layout_revision"),)
