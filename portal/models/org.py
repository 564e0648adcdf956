"""The organisation: departments, teams, agents and their skills, shifts and capacity."""
from datetime import datetime, time
from typing import Optional

from flask_babel import get_locale
from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table, Integer, Boolean, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

ROLES = ("agent", "supervisor", "admin")
AVAILABILITY = ("available", "away", "offline")

user_departments = Table(
    "user_departments", db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)
team_members = Table(
    "team_members", db.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)
user_skills = Table(
    "user_skills", db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


class Localised:
    """Admin-entered names come in English and (optionally) Chinese."""

    name: str
    name_zh: Optional[str]

    @property
    def label(self) -> str:
        try:
            locale = str(get_locale() or "en")
        except RuntimeError:  # outside a request
            locale = "en"
        if locale.startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name


class Department(Localised, db.Model):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    name_zh: Mapped[Optional[str]] = mapped_column(String(120))
    email: Mapped[Optional[str]] = mapped_column(String(254))  # From address for replies
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    teams: Mapped[list["Team"]] = relationship(back_populates="department", order_by="Team.name")
    members: Mapped[list["User"]] = relationship(secondary=user_departments, back_populates="departments")

    def __repr__(self) -> str:
        return f"<Department {self.name}>"


class Team(Localised, db.Model):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[Optional[str]] = mapped_column(String(120))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(back_populates="teams")
    members: Mapped[list["User"]] = relationship(secondary=team_members, back_populates="teams",
                                                  order_by="User.name")
    __table_args__ = (db.UniqueConstraint("department_id", "name", name="uq_teams_department_name"),)


class Skill(db.Model):
    __tablename__ = "skills"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class User(UserMixin, db.Model):
    """A person who works the desk: agent, supervisor or admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    language: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    capacity: Mapped[int] = mapped_column(Integer, default=20)  # open tickets at most
    # Shift in the agent's own time zone; days as ISO weekday digits, "12345" = Mon-Fri.
    shift_start: Mapped[Optional[time]] = mapped_column(Time)
    shift_end: Mapped[Optional[time]] = mapped_column(Time)
    shift_days: Mapped[str] = mapped_column(String(7), default="12345")
    availability: Mapped[str] = mapped_column(String(20), default="available")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    departments: Mapped[list[Department]] = relationship(secondary=user_departments, back_populates="members",
                                                         order_by="Department.name")
    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")
    skills: Mapped[list[Skill]] = relationship(secondary=user_skills, order_by="Skill.name")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("supervisor", "admin")

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated agents cannot sign in
        return self.active

    @property
    def department_ids(self) -> list[int]:
        return [d.id for d in self.departments]

    @property
    def initials(self) -> str:
        parts = self.name.split()
        if len(parts) >= 2 and parts[0].isascii():
            return (parts[0][0] + parts[-1][0]).upper()
        return self.name[:2].upper() if self.name.isascii() else self.name[-2:]

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginAttempt(db.Model):
    """Failed sign-ins per account and address, for throttling across all web workers."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
