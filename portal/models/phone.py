"""Phone calls an agent logged: the call's facts, kept beside the thread that holds its notes."""
from typing import Optional

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

CALL_DIRECTIONS = ("inbound", "outbound")


class PhoneCall(db.Model):
    __tablename__ = "phone_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), unique=True)
    direction: Mapped[str] = mapped_column(String(10))
    number: Mapped[str] = mapped_column(String(32))  # E.164, as the contact's phone identity
    duration_seconds: Mapped[Optional[int]] = mapped_column(Integer)

    thread = relationship("Thread", backref=db.backref("phone_call", uselist=False, lazy="joined"))
