"""The catalogue as the condition builder needs it: labels, operators, value inputs and choices, JSON-ready.

    [{"name": "priority", "label": "Priority", "type": "priority", "group": "ticket",
      "operators": [{"op": "eq", "label": "is", "widget": "select", "multiple": false, "range": false}, ...],
      "choices": [{"value": "low", "label": "Low"}, ...]}, ...]

Widgets: text, number, select, multiselect, date, datetime, bool, keywords (a list of words), duration
(a number and a unit: "units" lists them). "multiple": the value is a list (multiselect, keywords, or
several customer ids); "range": the value is [low, high].
"""
from __future__ import annotations

from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Department, Team, User
from ..models.org import user_departments
from .fields import UNITS, Catalogue, FieldSpec

OP_LABELS = {
    "eq": _l("is"), "neq": _l("is not"), "contains": _l("contains"), "not_contains": _l("does not contain"),
    "contains_any": _l("contains any of"), "starts_with": _l("starts with"), "regex": _l("matches the pattern"),
    "is_empty": _l("is empty"), "is_not_empty": _l("is not empty"), "in": _l("is one of"),
    "not_in": _l("is not one of"), "gt": _l("is more than"), "gte": _l("is at least"), "lt": _l("is less than"),
    "lte": _l("is at most"), "between": _l("is between"), "older_than": _l("is more than … ago"),
    "within": _l("is less than … ago"), "changed": _l("changed"), "changed_to": _l("changed to"),
    "changed_from": _l("changed from"),
}
TYPE_OP_LABELS = {
    "datetime": {"gt": _l("is after"), "gte": _l("is on or after"), "lt": _l("is before"),
                 "lte": _l("is on or before")},
    "priority": {"gt": _l("is higher than"), "gte": _l("is at least"), "lt": _l("is lower than"),
                 "lte": _l("is at most")},
    "list": {"contains": _l("has"), "not_contains": _l("does not have"), "contains_any": _l("has any of")},
}
TYPE_OP_LABELS["date"] = TYPE_OP_LABELS["datetime"]
GROUP_LABELS = {"ticket": _l("Ticket"), "customer": _l("Customer"), "computed": _l("Computed"),
                "custom": _l("Custom fields")}
UNIT_LABELS = {"minutes": _l("minutes"), "hours": _l("hours")}
# value kind -> (widget, multiple, range)
_WIDGETS = {
    "text": ("text", False, False), "regex": ("text", False, False), "keywords": ("keywords", True, False),
    "choice": ("select", False, False), "choices": ("multiselect", True, False),
    "ref": ("select", False, False), "refs": ("multiselect", True, False),
    "number": ("number", False, False), "number_range": ("number", False, True), "bool": ("bool", False, False),
    "datetime": ("datetime", False, False), "datetime_range": ("datetime", False, True),
    "date": ("date", False, False), "date_range": ("date", False, True), "duration": ("duration", False, False),
    "element": ("select", False, False), "elements": ("multiselect", True, False),
}


def describe(catalogue: Catalogue, department_id: Optional[int], context: str) -> list[dict]:
    out = []
    for spec in catalogue:
        choices = _choices(spec, department_id, context)
        out.append({
            "name": spec.name, "label": str(spec.label), "type": spec.type, "group": spec.group,
            "group_label": str(GROUP_LABELS[spec.group]),
            "operators": [_operator(spec, op, choices is not None) for op in spec.operators(context)],
            "choices": choices,
        })
    return out


def _operator(spec: FieldSpec, op: str, has_choices: bool) -> dict:
    label = TYPE_OP_LABELS.get(spec.type, {}).get(op) or OP_LABELS[op]
    entry = {"op": op, "label": str(label), "widget": None, "multiple": False, "range": False}
    kind = spec.value_kind(op)
    if kind is None:
        return entry
    widget, multiple, is_range = _WIDGETS[kind]
    if widget in ("select", "multiselect") and not has_choices:
        # Free values: tags and custom fields without a value list are typed; customers by id.
        widget = "number" if spec.type == "ref" else ("keywords" if multiple else "text")
    entry.update(widget=widget, multiple=multiple, range=is_range)
    if widget == "duration":
        entry["units"] = [{"value": u, "label": str(UNIT_LABELS[u])} for u in UNITS]
    return entry


def _choices(spec: FieldSpec, department_id: Optional[int], context: str) -> Optional[list[dict]]:
    if spec.type == "ref":
        rows = _records(spec.ref, department_id)
        if rows is None:
            return None
        if spec.accepts_me and context == "query":
            rows.insert(0, ("me", _l("Me")))
        return [{"value": value, "label": str(label)} for value, label in rows]
    if spec.choices is not None:
        return [{"value": value, "label": str(label)} for value, label in spec.choices]
    values = spec.allowed_values(department_id)
    return None if values is None else [{"value": v, "label": v} for v in values]


def _records(ref: str, department_id: Optional[int]) -> Optional[list[tuple]]:
    """(id, label) of the records a ref field may point at, read now."""
    if ref == "department":
        return [(d.id, d.label) for d in db.session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.name))]
    if ref == "team":
        stmt = select(Team).options(selectinload(Team.department)).order_by(Team.department_id, Team.name)
        if department_id is not None:
            teams = db.session.scalars(stmt.where(Team.department_id == department_id))
            return [(t.id, t.label) for t in teams]
        return [(t.id, f"{t.department.label} / {t.label}") for t in db.session.scalars(stmt)]
    if ref == "agent":
        stmt = select(User).where(User.active.is_(True)).order_by(User.name)
        if department_id is not None:
            works_there = select(user_departments.c.user_id).where(user_departments.c.department_id == department_id)
            stmt = stmt.where(or_(User.id.in_(works_there), User.role == "admin"))
        return [(u.id, u.name) for u in db.session.scalars(stmt)]
    return None  # customers: too many to list, typed as an id
