"""Creating and changing departments, teams and agents.

Each function checks everything first and raises `ValidationFailed({field: message})` before it
touches a row, so a refused change leaves nothing behind; then it changes and flushes. The view
commits (or rolls back). Permission checks lean on `portal.services.scoping`; the views have
already loaded the record through `portal.admin.access`, these checks are the second line.
"""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import time

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import AVAILABILITY, ROLES, Department, Skill, Team, Ticket, User
from ..services.accounts import MIN_PASSWORD, create_user, hash_password
from ..services.errors import ValidationFailed
from ..services.scoping import can_manage_department, can_manage_user

CAPACITY_MIN, CAPACITY_MAX = 1, 500
SKILL_MAX = 80
_SKILL_SPLIT = re.compile(r"[,，、;；\n]+")


def _text(value: str | None) -> str:
    return (value or "").strip()


def _has_tickets(**where) -> bool:
    column, value = next(iter(where.items()))
    return db.session.scalar(select(Ticket.id).where(getattr(Ticket, column) == value).limit(1)) is not None


# --- departments -------------------------------------------------------------------------------

def save_department(department: Department | None, *, name: str, name_zh: str | None = None,
                    email: str | None = None) -> Department:
    """Create (department=None) or update a department. Names are unique, ignoring case."""
    name, name_zh, email = _text(name), _text(name_zh) or None, _text(email).lower() or None
    errors = {}
    if not name:
        errors["name"] = _("Enter a name.")
    else:
        query = select(Department.id).where(func.lower(Department.name) == name.lower())
        if department is not None and department.id is not None:
            query = query.where(Department.id != department.id)
        if db.session.scalar(query.limit(1)) is not None:
            errors["name"] = _("A department named “%(name)s” already exists.", name=name)
    if errors:
        raise ValidationFailed(errors)
    if department is None:
        department = Department()
        db.session.add(department)
    department.name, department.name_zh, department.email = name, name_zh, email
    db.session.flush()
    return department


def set_department_active(department: Department, active: bool) -> None:
    """Inactive departments keep their tickets, teams and people; they just stop taking new work."""
    department.active = active
    db.session.flush()


def department_has_tickets(department: Department) -> bool:
    return _has_tickets(department_id=department.id)


def delete_department(department: Department) -> None:
    """Only a department that never had a ticket can go; otherwise deactivate it."""
    if department_has_tickets(department):
        raise ValidationFailed({"form": _("This department has tickets, so it can't be deleted. "
                                          "Deactivate it instead.")})
    for team in list(department.teams):
        team.members = []
        db.session.delete(team)
    department.members = []
    db.session.delete(department)
    try:
        db.session.flush()
    except IntegrityError:  # something else (a rule, a layout) still points at it
        raise ValidationFailed({"form": _("This department is still in use, so it can't be deleted. "
                                          "Deactivate it instead.")}) from None


# --- teams -------------------------------------------------------------------------------------

def save_team(actor: User, team: Team | None, *, department: Department | None, name: str,
              name_zh: str | None = None, members: list[User] = ()) -> Team:
    """Create (team=None) or update a team; its members must work in its department."""
    name, name_zh = _text(name), _text(name_zh) or None
    errors = {}
    if department is None or not can_manage_department(actor, department.id):
        errors["department"] = _("Choose a department you manage.")
    elif team is not None and team.department_id != department.id and _has_tickets(team_id=team.id):
        errors["department"] = _("This team has tickets, so it stays in its department. "
                                 "Create a new team in the other department instead.")
    if not name:
        errors["name"] = _("Enter a name.")
    elif department is not None:
        query = select(Team.id).where(Team.department_id == department.id, func.lower(Team.name) == name.lower())
        if team is not None:
            query = query.where(Team.id != team.id)
        if db.session.scalar(query.limit(1)) is not None:
            errors["name"] = _("%(department)s already has a team named “%(name)s”.",
                               department=department.label, name=name)
    if department is not None and "department" not in errors:
        outsiders = [u.name for u in members if department.id not in u.department_ids]
        if outsiders:
            errors["members"] = _("Not in %(department)s: %(names)s. Add them to the department first.",
                                  department=department.label, names=", ".join(outsiders))
    if errors:
        raise ValidationFailed(errors)
    if team is None:
        team = Team()
        db.session.add(team)
    team.name, team.name_zh, team.department = name, name_zh, department
    team.members = list(members)
    db.session.flush()
    return team


def team_has_tickets(team: Team) -> bool:
    return _has_tickets(team_id=team.id)


def delete_team(team: Team) -> None:
    if team_has_tickets(team):
        raise ValidationFailed({"form": _("Tickets are assigned to this team, so it can't be deleted. "
                                          "Move them to another team first.")})
    team.members = []
    db.session.delete(team)
    db.session.flush()


# --- agents ------------------------------------------------------------------------------------

@dataclass
class AgentData:
    """What the agent form collects, already converted to models and Python values."""

    email: str
    name: str
    role: str = "agent"
    password: str | None = None
    departments: list[Department] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    skills: str = ""
    capacity: int = 20
    shift_start: time | None = None
    shift_end: time | None = None
    shift_days: str = "12345"
    timezone: str = "UTC"
    language: str = "en"
    availability: str = "available"


def parse_skills(text: str | None) -> list[str]:
    """"billing, 退款、VIP" -> ["billing", "退款", "VIP"]; duplicates (ignoring case) dropped."""
    seen, names = set(), []
    for part in _SKILL_SPLIT.split(text or ""):
        part = " ".join(part.split())
        if part and part.lower() not in seen:
            seen.add(part.lower())
            names.append(part)
    return names


def skills_named(names: list[str]) -> list[Skill]:
    """The Skill rows for these names, creating the missing ones (matched ignoring case)."""
    if not names:
        return []
    existing = {s.name.lower(): s for s in db.session.scalars(
        select(Skill).where(func.lower(Skill.name).in_([n.lower() for n in names])))}
    skills = []
    for name in names:
        skill = existing.get(name.lower())
        if skill is None:
            skill = existing[name.lower()] = Skill(name=name)
            db.session.add(skill)
        skills.append(skill)
    return skills


def other_active_admins(user: User | None) -> int:
    query = select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))
    if user is not None and user.id is not None:
        query = query.where(User.id != user.id)
    return db.session.scalar(query)


def _is_last_admin(user: User | None) -> bool:
    return user is not None and user.role == "admin" and user.active and other_active_admins(user) == 0


def check_agent(actor: User, user: User | None, data: AgentData) -> dict[str, str]:
    """Every reason `save_agent` would refuse `data`, as {field: message} (empty: fine)."""
    errors: dict[str, str] = {}
    email = data.email.strip().lower()
    if not email:
        errors["email"] = _("Enter an email address.")
    else:
        query = select(User.id).where(func.lower(User.email) == email)
        if user is not None:
            query = query.where(User.id != user.id)
        if db.session.scalar(query.limit(1)) is not None:
            errors["email"] = _("Someone already signs in with %(email)s.", email=email)
    if not data.name.strip():
        errors["name"] = _("Enter a name.")

    if data.role not in ROLES:
        errors["role"] = _("Choose a role.")
    elif not actor.is_admin and data.role != "agent":
        errors["role"] = _("Only an admin can make someone a supervisor or an admin.")
    elif _is_last_admin(user) and data.role != "admin":
        errors["role"] = _("You are the last active admin. Make someone else an admin first.") if user.id == actor.id \
            else _("This is the last active admin. Make someone else an admin first.")

    if user is None and not data.password:
        errors["password"] = _("Set a password.")
    elif data.password and len(data.password) < MIN_PASSWORD:
        errors["password"] = _("Use at least %(num)d characters.", num=MIN_PASSWORD)

    outside = [d.label for d in data.departments if not can_manage_department(actor, d.id)]
    if outside:
        errors["departments"] = _("You don't manage %(names)s.", names=", ".join(outside))
    elif not data.departments and data.role != "admin":
        errors["departments"] = _("Choose at least one department.")
    dept_ids = {d.id for d in data.departments}
    stray = [t for t in data.teams if t.department_id not in dept_ids]
    if stray:
        errors["teams"] = _("%(teams)s: the agent isn't in that department. Tick the department too, "
                            "or untick the team.", teams=", ".join(f"{t.label} ({t.department.label})" for t in stray))

    too_long = [s for s in parse_skills(data.skills) if len(s) > SKILL_MAX]
    if too_long:
        errors["skills"] = _("A skill can have at most %(num)d characters.", num=SKILL_MAX)
    if not (CAPACITY_MIN <= (data.capacity or 0) <= CAPACITY_MAX):
        errors["capacity"] = _("Between %(min)d and %(max)d open tickets.", min=CAPACITY_MIN, max=CAPACITY_MAX)

    if data.shift_start and not data.shift_end:
        errors["shift_end"] = _("Set when the shift ends too (or clear the start).")
    elif data.shift_end and not data.shift_start:
        errors["shift_start"] = _("Set when the shift starts too (or clear the end).")
    elif data.shift_start and data.shift_start == data.shift_end:
        errors["shift_end"] = _("The shift must end at a different time than it starts.")
    if data.shift_start and not data.shift_days:
        errors["shift_days"] = _("Choose at least one working day.")
    try:
        zoneinfo.ZoneInfo(data.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        errors["timezone"] = _("Unknown time zone.")
    if data.availability not in AVAILABILITY:
        errors["availability"] = _("Choose an availability.")
    return errors


def save_agent(actor: User, user: User | None, data: AgentData) -> User:
    """Create (user=None) or update a person. `actor` is who is doing it (limits for supervisors)."""
    if user is not None and not can_manage_user(actor, user):
        raise ValidationFailed({"form": _("You can't change this person.")})
    errors = check_agent(actor, user, data)
    if errors:
        raise ValidationFailed(errors)
    attrs = dict(capacity=data.capacity, shift_start=data.shift_start, shift_end=data.shift_end,
                 shift_days="".join(sorted(set(data.shift_days))), timezone=data.timezone,
                 language=data.language, availability=data.availability)
    if user is None:
        user = create_user(email=data.email, password=data.password, name=data.name.strip(), role=data.role,
                           departments=data.departments, **attrs)
    else:
        user.email, user.name, user.role = data.email.strip().lower(), data.name.strip(), data.role
        user.departments = list(data.departments)
        for key, value in attrs.items():
            setattr(user, key, value)
        if data.password:
            user.password_hash = hash_password(data.password)
    user.teams = list(data.teams)
    user.skills = skills_named(parse_skills(data.skills))
    db.session.flush()
    return user


def set_agent_active(actor: User, user: User, active: bool) -> None:
    """Deactivated people can't sign in; their tickets and history stay."""
    if not can_manage_user(actor, user):
        raise ValidationFailed({"form": _("You can't change this person.")})
    if not active and _is_last_admin(user):
        raise ValidationFailed({"form": _("You are the last active admin, so you can't deactivate yourself. "
                                          "Make someone else an admin first.") if user.id == actor.id else
                                _("This is the last active admin. Make someone else an admin first.")})
    user.active = active
    db.session.flush()
