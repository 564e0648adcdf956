"""Custom fields in the queue and in exports: which fields an agent can filter, sort and show as
columns, and how a stored value reads to people ("Phone X" for the picklist value `phone_x`).

Filters and sorts themselves are condition rows and SQL expressions (ticket_list); this module only
knows the desk's fields and their labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from ..conditions import columns
from ..conditions.fields import CUSTOM_TYPES
from ..extensions import db
from ..fields.labels import localised
from ..fields.models import CustomField
from ..fields.options import department_lists, option_label
from ..fields.types import field_type

COLUMNS_COOKIE = "queue_columns"
MAX_COLUMNS = 6


@dataclass
class QueueField:
    """A custom field as the queue offers it."""

    field: CustomField
    label: str
    condition_type: str           # the condition language's type ("enum", "number", ...)
    choices: list[tuple[str, str]]  # (value, label) for picklists and multi-selects, every department's

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def sortable(self) -> bool:
        return columns.cf_order_expression(self.key, self.condition_type) is not None

    @property
    def ranged(self) -> bool:
        """Filtered by a range (min / max) rather than by values."""
        return self.condition_type in ("number", "date", "datetime")


def queue_fields(*, filterable_only: bool = False) -> list[QueueField]:
    """The active (not archived) custom fields, in the admin's order."""
    query = select(CustomField).where(CustomField.archived_at.is_(None))
    if filterable_only:
        query = query.where(CustomField.filterable.is_(True))
    out = []
    for field in db.session.scalars(query.order_by(CustomField.position, CustomField.id)):
        ctype = CUSTOM_TYPES[field_type(field.type).condition_type]
        out.append(QueueField(field, localised(field.label, field.label_zh), ctype, _choices(field)))
    return out


def _choices(field: CustomField) -> list[tuple[str, str]]:
    if not field_type(field.type).choices:
        return []
    seen: dict[str, str] = {}
    for options in [field.options, *department_lists(field).values()]:
        groups = options.values() if isinstance(options, dict) else [options or []]
        for group in groups:
            for option in group or []:
                if isinstance(option, dict) and "value" in option:
                    seen.setdefault(option["value"], option_label(option))
    return list(seen.items())


def chosen_columns(cookie: str | None, fields: Iterable[QueueField]) -> list[QueueField]:
    """The columns an agent picked (a cookie: "product.order_total"; keys have no dots, and a comma
    would make the cookie a quoted string), in the admin's order."""
    wanted = {key for key in (cookie or "").split(".") if key}
    return [f for f in fields if f.key in wanted][:MAX_COLUMNS]


class ValueText:
    """Stored custom-field values as text for people: picklist labels, Yes/No, lists joined."""

    def __init__(self, fields: Iterable[QueueField]):
        self.fields = {f.key: f for f in fields}
        self.labels = {f.key: dict(f.choices) for f in self.fields.values()}

    def __call__(self, key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return ""
        labels = self.labels.get(key, {})
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, list):
            return "; ".join(labels.get(v, str(v)) for v in value)
        if isinstance(value, str):
            return labels.get(value, value)
        field = self.fields.get(key)
        if field is not None and field.field.type == "currency" and isinstance(value, (int, float)):
            return f"{value:,.2f} {field.field.currency or ''}".strip()
        return f"{value:g}" if isinstance(value, float) else str(value)
