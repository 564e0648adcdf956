"""The demo desk's example rules (registered as a seed step: portal.seed.register_seed_step).

- "Overheating phones to Replacements" (Returns, on created): the request or subject mentions
  手机发热 / phone overheating -> priority high, team Replacements.
- "VIP to senior" (Tech support, on created): a VIP customer -> team Senior, tag "vip".
- "Long overdue conversations" (time-based, all departments): more than 10 messages and past
  the resolution due time -> notify the department's supervisors.
"""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Department, Team, User

from .models import Rule
from .services import save_rule

OVERHEATING = ["手机发热", "phone overheating", "overheats"]


def _team(department: Department, name: str, name_zh: str) -> Team:
    team = db.session.scalar(select(Team).filter_by(department_id=department.id, name=name))
    if team is None:
        team = Team(department=department, name=name, name_zh=name_zh)
        db.session.add(team)
        db.session.flush()
    return team


def demo_rules(returns: Department, tech: Department) -> list[dict]:
    replacements = _team(returns, "Replacements", "换货组")
    senior = _team(tech, "Senior", "资深组")
    return [
        {"name": "Overheating phones to Replacements", "trigger": "created", "department_id": returns.id,
         "description": "Seeded example: overheating phones are replaced, and quickly.",
         "condition": {"any": [{"field": "body", "op": "contains_any", "value": OVERHEATING},
                               {"field": "subject", "op": "contains_any", "value": OVERHEATING}]},
         "actions": [{"type": "set_field", "field": "priority", "value": "high"},
                     {"type": "assign", "team": replacements.id}]},
        {"name": "VIP to senior", "trigger": "created", "department_id": tech.id,
         "description": "Seeded example: VIP customers go to the senior team.",
         "condition": {"all": [{"field": "contact.tier", "op": "eq", "value": "vip"}]},
         "actions": [{"type": "assign", "team": senior.id}, {"type": "add_tags", "tags": ["vip"]}]},
        {"name": "Long overdue conversations", "trigger": "time", "department_id": None,
         "description": "Seeded example: a long conversation past its resolution time needs a supervisor.",
         "condition": {"all": [{"field": "thread_count", "op": "gt", "value": 10},
                               {"field": "hours_until_due", "op": "lt", "value": 0}]},
         "actions": [{"type": "notify", "to": "supervisor", "text": {
             "en": "{{ ticket.ref }} ({{ ticket.subject }}) has more than 10 messages and is past its "
                   "resolution time.",
             "zh": "{{ ticket.ref }}（{{ ticket.subject }}）已超过 10 条消息，并已超过解决时限。"}}]},
    ]


def seed_demo_rules(returns: Department | None = None, tech: Department | None = None) -> list[Rule]:
    """Add the example rules (skipping names that exist). Departments default to the demo
    desk's "Returns" and "Tech support"; without them nothing is seeded."""
    returns = returns or db.session.scalar(select(Department).filter_by(name="Returns"))
    tech = tech or db.session.scalar(select(Department).filter_by(name="Tech support"))
    if returns is None or tech is None:
        return []
    author = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id).limit(1))
    made = []
    for data in demo_rules(returns, tech):
        if db.session.scalar(select(Rule.id).filter_by(name=data["name"])) is None:
            made.append(save_rule(None, data, author))
    return made
