"""What the builder's pickers offer, for a department and a viewer.

The catalogue (portal.conditions) describes the fields; the desk's own records (teams, agents,
departments) fill the reference pickers, limited to what the viewer may see: a rule of Returns
offers Returns' teams and people; "all departments" offers those of every department the viewer
works in (admins: all).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_timezone
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.models import Department, Team, User
from portal.services.scoping import departments_for


@dataclass
class Names:
    """Pickers' choices and the names the summary uses."""

    departments: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    agents: list[tuple[int, str]]
    strategies: list[tuple[str, str]]

    def lookup(self) -> dict[str, dict]:
        return {"department": dict(self.departments), "team": dict(self.teams), "agent": dict(self.agents),
                "strategy": dict(self.strategies)}


def viewer_departments(user=None) -> list[Department]:
    user = user or current_user
    return departments_for(user)


def visible_department_id(raw, user=None) -> int | None:
    """A posted department id, if the viewer may see that department; else None (all)."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if any(d.id == value for d in viewer_departments(user)) else None


def names_for(department_id: int | None, user=None, *, extra_team_ids=(), extra_agent_ids=()) -> Names:
    """Choices for a rule in `department_id` (None: every department the viewer works in).

    `extra_*`: ids the rule already names that fall outside (so its picker still shows them)."""
    from ..actions import assignment_strategies

    departments = viewer_departments(user)
    dept_ids = [department_id] if department_id is not None else [d.id for d in departments]
    team_rows = list(db.session.scalars(
        select(Team).where((Team.department_id.in_(dept_ids)) | (Team.id.in_(list(extra_team_ids) or [-1])))
        .order_by(Team.name)))
    multi = department_id is None and len(dept_ids) > 1
    by_id = {d.id: d.label for d in departments}

    def team_label(t: Team) -> str:
        return f"{t.label} · {by_id.get(t.department_id, '')}" if multi else t.label

    agent_rows = list(db.session.scalars(
        select(User).where(((User.active.is_(True)) & User.departments.any(Department.id.in_(dept_ids)))
                           | (User.id.in_(list(extra_agent_ids) or [-1])))
        .order_by(User.name)))
    return Names(
        departments=[(d.id, d.label) for d in departments],
        teams=[(t.id, team_label(t)) for t in team_rows],
        agents=[(u.id, u.name) for u in agent_rows],
        strategies=sorted(assignment_strategies().items(), key=lambda kv: str(kv[1])),
    )


def teams_of(department_id: int | None) -> list[tuple[int, str]]:
    if department_id is None:
        return []
    return [(t.id, t.label) for t in db.session.scalars(
        select(Team).where(Team.department_id == department_id).order_by(Team.name))]


def viewer_tz() -> str:
    return str(get_timezone() or "UTC")
