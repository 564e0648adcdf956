"""The catalogue as the builder shows it: fields grouped by category, their operators and choices.

`field_uis(department_id, context=...)` turns the condition catalogue's description for a
department (portal.conditions) into builder_state.FieldUI, adding the pickers the catalogue
leaves to the desk (teams, agents, departments the viewer may see).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from ..builder_state import FieldUI
from .choices import names_for

# Operator labels, by field type where the wording differs ("is after" for dates).
_OPS = {
    "eq": _l("is"), "neq": _l("is not"), "in": _l("is any of"), "not_in": _l("is none of"),
    "contains": _l("contains"), "not_contains": _l("does not contain"), "contains_any": _l("contains any of"),
    "starts_with": _l("starts with"), "regex": _l("matches pattern"),
    "gt": _l("is more than"), "gte": _l("is at least"), "lt": _l("is less than"), "lte": _l("is at most"),
    "between": _l("is between"), "is_empty": _l("is empty"), "is_not_empty": _l("is not empty"),
    "changed": _l("changed"), "changed_to": _l("changed to"), "changed_from": _l("changed from"),
    "older_than": _l("is more than … ago"), "within": _l("is within the last"),
}
_BY_TYPE = {
    "datetime": {"gt": _l("is after"), "gte": _l("is on or after"), "lt": _l("is before"),
                 "lte": _l("is on or before")},
    "date": {"gt": _l("is after"), "gte": _l("is on or after"), "lt": _l("is before"), "lte": _l("is on or before")},
    "priority": {"gt": _l("is higher than"), "gte": _l("is at least"), "lt": _l("is lower than"),
                 "lte": _l("is at most")},
    "list": {"contains": _l("includes"), "not_contains": _l("does not include"),
             "contains_any": _l("includes any of")},
}


class _OpLabels:
    def label(self, op: str, type_: str | None = None) -> str:
        return str(_BY_TYPE.get(type_ or "", {}).get(op) or _OPS.get(op) or op)


OP_LABELS = _OpLabels()

# The builder's value inputs (builder_state.widget_for); anything else falls back to its own choice.
WIDGETS = frozenset({"none", "text", "number", "select", "multi", "bool", "date", "datetime", "duration", "keywords",
                     "number_range", "date_range", "datetime_range", "text_range"})


def _ui_widget(operator: Mapping[str, Any]) -> str | None:
    """The catalogue's input for an operator (widget, multiple, range) as one of WIDGETS, or None."""
    widget, multiple, ranged = operator.get("widget"), bool(operator.get("multiple")), bool(operator.get("range"))
    if widget is None:
        return "none"
    if widget == "multiselect" or (widget == "select" and multiple):
        return "multi"
    if widget == "keywords" or (multiple and widget in ("text", "number")):
        return "keywords"
    if ranged and widget in ("number", "date", "datetime", "text"):
        return f"{widget}_range"
    return widget if widget in WIDGETS else None


# Reference pickers the viewer's scope limits (the catalogue lists every active record).
_SCOPED_REFS = {"department": "departments", "team": "teams", "assignee": "agents"}


def field_uis(department_id: int | None, *, context: str = "event", user=None) -> dict[str, FieldUI]:
    """name -> FieldUI for a condition in `department_id`'s scope (None: every department)."""
    from flask_login import current_user

    user = user or current_user
    described = _catalogue().describe(department_id, context)
    allowed = None
    if not getattr(user, "is_admin", False):
        names = names_for(department_id, user)
        allowed = {field: {v for v, _label in getattr(names, attr)} for field, attr in _SCOPED_REFS.items()}
    found: dict[str, FieldUI] = {}
    for item in described:
        name = str(item["name"])
        choices = item.get("choices")
        if choices is not None:
            pairs = [(c["value"], str(c["label"])) for c in choices]
            if allowed is not None and name in allowed:
                pairs = [(v, label) for v, label in pairs if v == "me" or v in allowed[name]]
            choices = tuple(pairs)
        operators = item.get("operators") or []
        widgets = [(o["op"], w) for o in operators if (w := _ui_widget(o)) is not None]
        found[name] = FieldUI(
            name=name, type=_ui_type(str(item.get("type") or "text")), label=str(item.get("label") or name),
            category=str(item.get("group_label") or item.get("group") or ""),
            ops=tuple(o["op"] for o in operators), choices=choices, widgets=tuple(widgets),
            op_labels=tuple((o["op"], str(o.get("label") or o["op"])) for o in operators))
    return found


def _catalogue():
    from ..catalogue import current_catalogue
    return current_catalogue()


def _ui_type(kind: str) -> str:
    return {"picklist": "enum", "multiselect": "list"}.get(kind, kind)


def action_fields(fields: Mapping[str, FieldUI]) -> dict[str, FieldUI]:
    """Fields an action can set: status, priority, channel, team, assignee and custom fields."""
    from ..actions import SETTABLE
    return {name: spec for name, spec in fields.items() if name in SETTABLE or name.startswith("cf.")}
