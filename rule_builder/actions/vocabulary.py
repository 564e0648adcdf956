"""The action vocabulary shared by rules, macros and blueprints, and its validation.

An action is a JSON object `{"type": ..., ...}`:

| type | settings |
|---|---|
| set_field | field: status, priority, channel, team, assignee or cf.<key>; value (null clears team/assignee/cf) |
| assign | exactly one of agent (user id), team (team id), strategy (a registered assignment strategy) |
| add_tags, remove_tags | tags: list of tags |
| add_note | body: template (internal note) |
| send_email | to: customer, assignee, team, supervisor or address; address (to=address); subject, body: templates |
| notify | to: assignee, team, supervisor or agent; agent (user id, when to=agent); text: template |
| webhook | url; secret (optional: signs the body, header X-Deskwright-Signature: sha256=<hex HMAC>) |
| move_department | department (id); team (optional id, in that department) |
| stop | (none): no further rules run for this event |

A template is a string or {"en": ..., "zh": ...} (see templates.py).
`validate_actions` returns every problem as ActionError(path="actions.<i>", message); nothing is
stored while any remain (services.py).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from portal.channels.netguard import UnsafeAddress, check_url
from portal.extensions import db
from portal.models import CHANNELS, PRIORITY_KEYS, STATUSES, Department, Team, User

from . import templates

ACTION_TYPES = ("set_field", "assign", "add_tags", "remove_tags", "add_note", "send_email", "notify", "webhook",
                "move_department", "stop")
SETTABLE = ("status", "priority", "channel", "team", "assignee")
EMAIL_TO = ("customer", "assignee", "team", "supervisor", "address")
NOTIFY_TO = ("assignee", "team", "supervisor", "agent")
ACTIONS_MAX = 50
TAG_MAX = 64
SETTINGS = {
    "set_field": {"field", "value"},
    "assign": {"agent", "team", "strategy"},
    "add_tags": {"tags"},
    "remove_tags": {"tags"},
    "add_note": {"body"},
    "send_email": {"to", "address", "subject", "body"},
    "notify": {"to", "agent", "text"},
    "webhook": {"url", "secret"},
    "move_department": {"department", "team"},
    "stop": set(),
}


@dataclass(frozen=True)
class ActionError:
    path: str     # "actions.2"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# --------------------------------------------------------------------------------------------
# Assignment strategies: the assignment issue registers round-robin, least-loaded, skills...
# --------------------------------------------------------------------------------------------
Strategy = Callable[..., "Mapping[str, Any] | None"]
_strategies: dict[str, tuple[Strategy, str]] = {}


def register_assignment_strategy(name: str, fn: Strategy, label: str | None = None) -> None:
    """Make `{"type": "assign", "strategy": name}` available.

    `fn(ticket, context)` returns the ticket-service changes to make, e.g. {"assignee": user}
    (optionally {"team": team}), plus an optional "reason" (shown in the History), or None/{}
    when it chooses nobody. `context` is the ActionContext (context.dry_run: choose, don't reserve).
    """
    _strategies[name] = (fn, label or name)


def unregister_assignment_strategy(name: str) -> None:
    _strategies.pop(name, None)


def assignment_strategies() -> dict[str, str]:
    """name -> label, for the builder's picklist."""
    return {name: label for name, (_fn, label) in _strategies.items()}


def assignment_strategy(name: str) -> Strategy | None:
    entry = _strategies.get(name)
    return entry[0] if entry else None


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def validate_actions(actions: Any, catalogue, *, department_id: int | None = None,
                     allow_stop: bool = True) -> list[ActionError]:
    """Every problem in `actions`, each on its row ("actions.<i>"); [] when all is well.

    `department_id` is the owning rule's/macro's department (None: all departments): teams and
    agents named by the actions must belong to it.
    """
    if not isinstance(actions, list):
        return [ActionError("actions", _l("Actions must be a list."))]
    if len(actions) > ACTIONS_MAX:
        return [ActionError("actions", _l("A rule may have at most %(num)d actions.", num=ACTIONS_MAX))]
    errors = []
    for i, action in enumerate(actions):
        message = _check(action, catalogue, department_id, allow_stop)
        if message:
            errors.append(ActionError(f"actions.{i}", message))
    return errors


def _check(action: Any, catalogue, department_id: int | None, allow_stop: bool) -> str | None:
    if not isinstance(action, Mapping):
        return _l("An action must be an object with a type.")
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        return _l("Unknown action type %(type)s.", type=repr(kind))
    unknown = sorted(set(action) - SETTINGS[kind] - {"type"})
    if unknown:
        return _l("Unknown setting %(setting)s for %(type)s.", setting=repr(unknown[0]), type=kind)
    return _CHECKS[kind](action, catalogue, department_id, allow_stop)


def _check_set_field(action, catalogue, department_id, _allow_stop):
    field, value = action.get("field"), action.get("value")
    if field == "status":
        return None if value in STATUSES else _l("Unknown status %(value)s.", value=repr(value))
    if field == "priority":
        return None if value in PRIORITY_KEYS else _l("Unknown priority %(value)s.", value=repr(value))
    if field == "channel":
        return None if value in CHANNELS else _l("Unknown channel %(value)s.", value=repr(value))
    if field == "team":
        return None if value is None else _team_problem(value, department_id)
    if field == "assignee":
        return None if value is None else _agent_problem(value, department_id)
    if isinstance(field, str) and field.startswith("cf."):
        from ..catalogue import custom_value_problem
        return custom_value_problem(catalogue, field, value, department_id)
    return _l("Field %(field)s cannot be set by an action.", field=repr(field)) if field else _l("Choose a field.")


def _check_assign(action, _catalogue, department_id, _allow_stop):
    given = [k for k in ("agent", "team", "strategy") if action.get(k) is not None]
    if len(given) != 1:
        return _l("Assign to exactly one of: an agent, a team, a strategy.")
    if given[0] == "agent":
        return _agent_problem(action["agent"], department_id)
    if given[0] == "team":
        return _team_problem(action["team"], department_id)
    if action["strategy"] not in _strategies:
        return _l("Unknown assignment strategy %(strategy)s.", strategy=repr(action["strategy"]))
    return None


def _check_tags(action, *_):
    tags = action.get("tags")
    if not isinstance(tags, list) or not tags:
        return _l("List at least one tag.")
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            return _l("A tag must be non-empty text.")
        if len(" ".join(tag.split())) > TAG_MAX:
            return _l("A tag may be at most %(n)d characters.", n=TAG_MAX)
    return None


def _check_note(action, *_):
    return templates.check(action.get("body"), _l("Note"))


def _check_email(action, _catalogue, _department_id, _allow_stop):
    to = action.get("to")
    if to not in EMAIL_TO:
        return _l("Send to one of: %(choices)s.", choices=", ".join(EMAIL_TO))
    if to == "address":
        problem = email_problem(action.get("address"))
        if problem:
            return problem
    elif action.get("address") is not None:
        return _l("An address is only used with to=address.")
    return templates.check(action.get("subject"), _l("Subject")) or templates.check(action.get("body"), _l("Body"))


def _check_notify(action, _catalogue, department_id, _allow_stop):
    to = action.get("to")
    if to not in NOTIFY_TO:
        return _l("Notify one of: %(choices)s.", choices=", ".join(NOTIFY_TO))
    if to == "agent":
        problem = _agent_problem(action.get("agent"), department_id)
        if problem:
            return problem
    elif action.get("agent") is not None:
        return _l("An agent is only used with to=agent.")
    return templates.check(action.get("text"), _l("Text"))


def _check_webhook(action, *_):
    secret = action.get("secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) > 200):
        return _l("The secret must be text of at most %(num)d characters.", num=200)
    try:
        check_url(action.get("url"), resolve=True)
    except UnsafeAddress as exc:
        return str(exc)
    return None


def _check_move(action, _catalogue, _department_id, _allow_stop):
    dept = _get(Department, action.get("department"))
    if dept is None:
        return _l("Unknown department.")
    if action.get("team") is not None:
        return _team_problem(action["team"], dept.id)
    return None


def _check_stop(_action, _catalogue, _department_id, allow_stop):
    return None if allow_stop else _l("Stop only applies to rules.")


_CHECKS = {"set_field": _check_set_field, "assign": _check_assign, "add_tags": _check_tags,
           "remove_tags": _check_tags, "add_note": _check_note, "send_email": _check_email, "notify": _check_notify,
           "webhook": _check_webhook, "move_department": _check_move, "stop": _check_stop}


def _get(model, value):
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return db.session.get(model, value)


def _team_problem(value, department_id) -> str | None:
    team = _get(Team, value)
    if team is None:
        return _l("Unknown team.")
    if department_id is not None and team.department_id != department_id:
        return _l("Team %(team)s is not part of this rule's department.", team=team.name)
    return None


def _agent_problem(value, department_id) -> str | None:
    user = _get(User, value)
    if user is None:
        return _l("Unknown agent.")
    if not user.active:
        return _l("%(name)s is deactivated.", name=user.name)
    if department_id is not None and not user.is_admin and department_id not in user.department_ids:
        return _l("%(name)s does not work in this rule's department.", name=user.name)
    return None


def email_problem(address: Any) -> str | None:
    if not isinstance(address, str) or not address.strip():
        return _l("An email address is required.")
    try:
        validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return _l("Not a valid email address: %(reason)s", reason=str(exc))
    return None
