"""Which picklist options apply: a department's own list or the field's, and for a dependent
picklist the list under its parent's current value.

Options are stored as `[{"value": "books", "label": "Books", "label_zh": "图书"}, ...]`; a dependent
picklist stores `{"<parent value>": [options...]}`. The `value` is the stable key tickets store;
labels may change freely.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from sqlalchemy import select

from ..extensions import db
from .labels import localised
from .models import CustomField, FieldDepartmentOptions

DEPENDENT = "dependent_picklist"


def values_of(options: Any) -> list[str]:
    """The option values of a list, or of every list of a dependent mapping, each once."""
    if isinstance(options, dict):
        return list(dict.fromkeys(v for group in options.values() for v in values_of(group)))
    return [o["value"] for o in options or () if isinstance(o, dict) and "value" in o]


def option_label(option: dict) -> str:
    return localised(option.get("label") or option["value"], option.get("label_zh"))


class OptionBook:
    """The options of several fields in one department (None: no department, the fields' own),
    with every department row read in one query."""

    def __init__(self, fields: Iterable[CustomField], department_id: Optional[int]):
        ids = [f.id for f in fields if f.id is not None]
        self.department_id = department_id
        self._own: dict[int, Any] = {}
        if department_id is not None and ids:
            self._own = dict(db.session.execute(
                select(FieldDepartmentOptions.field_id, FieldDepartmentOptions.options).where(
                    FieldDepartmentOptions.department_id == department_id,
                    FieldDepartmentOptions.field_id.in_(ids))).all())

    def raw(self, field: CustomField) -> Any:
        """The department's list (or mapping), else the field's own."""
        return self._own.get(field.id, field.options)

    def has_own(self, field: CustomField) -> bool:
        return field.id in self._own

    def options(self, field: CustomField, parent_value: Any = None) -> list[dict]:
        raw = self.raw(field)
        if field.type == DEPENDENT:
            if not isinstance(parent_value, str) or not isinstance(raw, dict):
                return []
            return list(raw.get(parent_value) or [])
        return list(raw or []) if isinstance(raw, list) else []

    def values(self, field: CustomField, parent_value: Any = None) -> list[str]:
        return values_of(self.options(field, parent_value))

    def every_value(self, field: CustomField) -> list[str]:
        """Every value the field may take in this department, whatever its parent's value."""
        return values_of(self.raw(field))


def field_options(field: CustomField, department_id: Optional[int], parent_value: Any = None) -> list[dict]:
    """The options of `field` in a department (for a dependent picklist: under `parent_value`)."""
    return OptionBook([field], department_id).options(field, parent_value)


def department_lists(field: CustomField) -> dict[int, Any]:
    """{department id: options} of the departments that have their own list for `field`."""
    if field.id is None:
        return {}
    return dict(db.session.execute(
        select(FieldDepartmentOptions.department_id, FieldDepartmentOptions.options)
        .where(FieldDepartmentOptions.field_id == field.id).order_by(FieldDepartmentOptions.department_id)).all())


def values_anywhere(field: CustomField) -> list[str]:
    """Every value of the field's own options and of every department's list."""
    lists = [field.options, *department_lists(field).values()]
    return list(dict.fromkeys(v for options in lists for v in values_of(options)))
