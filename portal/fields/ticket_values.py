"""The ticket service's check of custom-field values, for every writer (forms, API, rules, imports).

Only the keys whose value changes are checked: a ticket that moved to another department keeps
values its new department doesn't offer (they are reported by runtime.department_conflicts for an
agent to resolve, never dropped), and a value stored before a field's options changed stays until
someone changes it. A changed key must name a field that exists and isn't archived; its new value
is coerced by type and checked against the field's rules and the options of the ticket's (new)
department. None (or blank) removes the value.
"""
from __future__ import annotations

from datetime import tzinfo
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from .labels import localised
from .models import CustomField
from .options import DEPENDENT, OptionBook
from .types import BadValue, is_blank
from .values import check_value

_ABSENT = object()


def same_value(a: Any, b: Any) -> bool:
    """Equal and of the same JSON type: 1 == True and 1 == 1.0 in Python, but not as stored values."""
    return type(a) is type(b) and a == b


def changed_keys(current: dict, new: dict) -> list[str]:
    """The keys whose value differs between two custom_fields mappings (None counts as absent)."""
    def value(mapping: dict, key: str) -> Any:
        found = mapping.get(key, _ABSENT)
        return _ABSENT if found is None else found

    keys = dict.fromkeys([*current, *new])
    return [k for k in keys if not (value(current, k) is _ABSENT and value(new, k) is _ABSENT
                                    or same_value(value(current, k), value(new, k)))]


def check_custom_values(current: dict, new: dict, department_id: Optional[int], tz: tzinfo | str | None = None
                        ) -> tuple[dict, dict]:
    """(the mapping to store, errors keyed "cf.<key>") for replacing `current` with `new`."""
    changed = changed_keys(current, new)
    stored = {k: v for k, v in new.items() if k not in changed and v is not None}
    if not changed:
        return stored, {}
    fields = {f.key: f for f in db.session.scalars(select(CustomField).where(CustomField.key.in_(changed)))}
    book = OptionBook(fields.values(), department_id)
    errors: dict[str, Any] = {}
    # Parents before their dependents: a dependent's options depend on the parent's new value.
    for key in sorted(changed, key=lambda k: fields[k].type == DEPENDENT if k in fields else False):
        field = fields.get(key)
        if field is None:
            errors[f"cf.{key}"] = _l("There is no custom field %(key)s.", key=key)
            continue
        if field.archived:
            errors[f"cf.{key}"] = _l("%(field)s is archived: its values can't be changed.",
                                     field=localised(field.label, field.label_zh))
            continue
        raw = new.get(key)
        if is_blank(raw):
            continue  # removed
        try:
            stored[key] = _checked(field, raw, stored, book, tz)
        except BadValue as exc:
            errors[f"cf.{key}"] = exc.message
    return stored, errors


def _checked(field: CustomField, raw: Any, values: dict, book: OptionBook, tz) -> Any:
    parent_value = None
    if field.type == DEPENDENT:
        parent_value = values.get(field.parent_key)
        if parent_value is None:
            raise BadValue(_l("Choose a value of %(parent)s first.", parent=field.parent_key))
    return check_value(field.type, raw, rules=field.validation, options=book.values(field, parent_value), tz=tz)
