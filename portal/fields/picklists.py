"""Removing a picklist value safely: how many tickets hold it, and mapping them to another value.

A value belongs to one list: the field's own (department=None), used by every department without
a list of its own, or one department's. Its tickets are the tickets of those departments holding
it. Removing it without a mapping leaves those tickets' values as they are (shown to agents as
values to resolve, never dropped); with `map_to`, each of them is changed through the ticket
service, so the History tab shows who mapped it and why, and rules see an ordinary change.
"""
from __future__ import annotations

from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..conditions import Catalogue, CustomFieldSpec, compile_to_sql
from ..extensions import db
from ..models import Department, Ticket, User, utcnow
from ..services.errors import ValidationFailed
from ..services.tickets import update_ticket
from . import services
from .models import CustomField, FieldDepartmentOptions
from .options import DEPENDENT, department_lists, values_of
from .types import TYPES

BATCH = 200  # tickets loaded and changed at a time


def picklist_value_usage(field: CustomField, value: str, department: Optional[Department] = None) -> int:
    """How many tickets hold `value` in `field` within the list's departments."""
    return db.session.scalar(select(func.count()).select_from(Ticket).where(*_holding(field, value, department)))


def remove_picklist_value(field: CustomField, value: str, *, map_to: Optional[str] = None,
                          department: Optional[Department] = None, by: Optional[User]) -> int:
    """Remove `value` from the field's own list (department=None) or a department's, first moving
    the tickets that hold it to `map_to` when given. Returns how many tickets were changed."""
    if TYPES[field.type].choices is None:
        raise ValidationFailed({"value": _l("Only picklists and multi-selects have values to remove.")})
    lists = department_lists(field)
    if department is not None and department.id not in lists:
        raise ValidationFailed({"department": _l("%(department)s uses the field's own values; remove the value there.",
                                                 department=department.label)})
    options = lists[department.id] if department is not None else field.options
    remaining = _without(field, options, value, map_to)
    changed = _map_tickets(field, value, map_to, department, by) if map_to is not None else 0
    if department is not None:
        services.set_department_options(field, department, remaining, by)
    else:
        services.save_field(field, {"options": remaining}, by)
    return changed


def _without(field: CustomField, options: Any, value: str, map_to: Optional[str]) -> Any:
    """The list (or dependent mapping) without `value`; ValidationFailed when that can't be done."""
    groups = options if field.type == DEPENDENT else {None: options}
    holding = [parent for parent, group in groups.items() if value in values_of(group)]
    if not holding:
        raise ValidationFailed({"value": _l("'%(value)s' is not a value of %(field)s here.", value=value,
                                            field=field.key)})
    if map_to is not None and (map_to == value or any(map_to not in values_of(groups[p]) for p in holding)):
        raise ValidationFailed({"map_to": _l("Map to another value of the same list, not '%(value)s'.",
                                             value=map_to)})
    trimmed = {parent: [o for o in group if o["value"] != value] for parent, group in groups.items()}
    if any(not group for parent, group in trimmed.items() if parent in holding):
        raise ValidationFailed({"value": _l("'%(value)s' is the last value of its list; a list keeps at least one.",
                                            value=value)})
    return trimmed if field.type == DEPENDENT else trimmed[None]


def _holding(field: CustomField, value: str, department: Optional[Department]) -> list:
    """WHERE clauses: the tickets of the list's departments whose value is (or includes) `value`."""
    spec = CustomFieldSpec(field.key, TYPES[field.type].condition_type, field.label)  # no choices: any value
    op = "contains" if TYPES[field.type].choices == "many" else "eq"
    holds = compile_to_sql({"field": f"cf.{field.key}", "op": op, "value": value}, Catalogue(custom=[spec]),
                           now=utcnow())
    if department is not None:
        return [holds, Ticket.department_id == department.id]
    own_lists = select(FieldDepartmentOptions.department_id).where(FieldDepartmentOptions.field_id == field.id)
    return [holds, Ticket.department_id.not_in(own_lists)]


def _map_tickets(field: CustomField, value: str, map_to: str, department: Optional[Department],
                 by: Optional[User]) -> int:
    ids = list(db.session.scalars(select(Ticket.id).where(*_holding(field, value, department)).order_by(Ticket.id)))
    reason = f"{field.key}: value '{value}' removed, mapped to '{map_to}'"
    with db.session.begin_nested():  # one ticket that can't take the new value undoes the mapping
        for start in range(0, len(ids), BATCH):
            batch = db.session.scalars(select(Ticket).where(Ticket.id.in_(ids[start:start + BATCH]))
                                       .order_by(Ticket.id))
            for ticket in batch:
                values = dict(ticket.custom_fields or {})
                values[field.key] = _mapped(values.get(field.key), value, map_to)
                try:
                    update_ticket(ticket, {"custom_fields": values}, by=by, reason=reason)
                except ValidationFailed as exc:
                    raise ValidationFailed({"map_to": _l("Ticket #%(number)d can't take '%(value)s': %(reason)s",
                                                         number=ticket.id, value=map_to,
                                                         reason="; ".join(map(str, exc.errors.values())))}) from None
    return len(ids)


def _mapped(current: Any, value: str, map_to: str) -> Any:
    if isinstance(current, list):
        return list(dict.fromkeys(map_to if v == value else v for v in current))
    return map_to
