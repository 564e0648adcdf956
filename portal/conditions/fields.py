"""The field catalogue: every field a condition can name, its type, and the operators of each type.

A catalogue is the standard fields (below) plus a desk's custom fields (`cf.<key>`). The builder UI
is generated from it (`Catalogue.describe`), validation checks conditions against it, and both
compilers read a field's type from it. Custom fields come from a provider hook (filled by the
custom-fields feature): `app_catalogue()` = standard fields + whatever the provider returns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from ..models import CHANNELS, PRIORITY_KEYS, STATUSES, TIERS
from ..templating import CHANNEL_LABELS, PRIORITY_LABELS, STATUS_LABELS

# ---------------------------------------------------------------------------------------------
# Types and operators. Each operator names the kind of value it takes (None: no value); the kind
# decides both how the value is checked (values.py) and which input the builder shows (describe.py).
_EMPTY_OPS = {"is_empty": None, "is_not_empty": None}
_CHOICE_OPS = {"eq": "choice", "neq": "choice", "in": "choices", "not_in": "choices", **_EMPTY_OPS}


def _ordered(kind: str) -> dict:
    return {"gt": kind, "gte": kind, "lt": kind, "lte": kind, "between": f"{kind}_range"}


def _times(kind: str) -> dict:
    return {**_ordered(kind), "older_than": "duration", "within": "duration", **_EMPTY_OPS}


OPERATORS: dict[str, dict[str, Optional[str]]] = {
    "text": {"eq": "text", "neq": "text", "contains": "text", "not_contains": "text", "contains_any": "keywords",
             "starts_with": "text", "regex": "regex", **_EMPTY_OPS},
    "enum": _CHOICE_OPS,
    "priority": {**_CHOICE_OPS, "gt": "choice", "gte": "choice", "lt": "choice", "lte": "choice"},
    "ref": {"eq": "ref", "neq": "ref", "in": "refs", "not_in": "refs", **_EMPTY_OPS},
    "number": {"eq": "number", "neq": "number", **_ordered("number"), **_EMPTY_OPS},
    "bool": {"eq": "bool"},
    "datetime": _times("datetime"),
    "date": _times("date"),
    "list": {"contains": "element", "not_contains": "element", "contains_any": "elements", **_EMPTY_OPS},
}
CHANGE_OPS = ("changed", "changed_to", "changed_from")
# changed_to / changed_from take what eq takes; types without eq take one element or one time.
_CHANGE_VALUE = {"list": "element", "datetime": "datetime", "date": "date"}
ALL_OPS = frozenset(op for ops in OPERATORS.values() for op in ops) | set(CHANGE_OPS)
UNITS = ("minutes", "hours")

TYPE_LABELS = {"text": _l("text"), "enum": _l("choice"), "priority": _l("priority"), "ref": _l("record"),
               "number": _l("number"), "bool": _l("yes/no"), "datetime": _l("date-time"), "date": _l("date"),
               "list": _l("list")}
# Custom field types (what the custom-fields feature stores) -> condition types.
CUSTOM_TYPES = {"text": "text", "number": "number", "bool": "bool", "date": "date", "datetime": "datetime",
                "picklist": "enum", "multiselect": "list"}
CUSTOM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # safe inside a JSON path on both backends


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition can name.

    `choices`: ((value, label), ...) for fixed choices; `choices_by_department`: a custom picklist's
    values per department id; `ref`: what a record field points at ("department", "team", "agent",
    "contact"); `changeable`: the ticket service reports its changes (so change operators apply);
    `accepts_me`: "me" may stand for the viewer / acting user (assignee).
    """

    name: str
    type: str
    label: Any
    group: str = "ticket"
    choices: Optional[tuple] = None
    choices_by_department: Optional[tuple] = None   # ((department_id, (value, ...)), ...)
    ref: Optional[str] = None
    changeable: bool = False
    accepts_me: bool = False
    custom: bool = False
    max_abs: float = 1e15  # numbers beyond this are refused (hours fields: 1e6, so they stay datetimes)

    @property
    def key(self) -> str:
        """A custom field's key (cf.<key>)."""
        return self.name[3:] if self.custom else self.name

    def operators(self, context: str = "event") -> list[str]:
        ops = list(OPERATORS[self.type])
        if self.changeable and context == "event":
            ops += CHANGE_OPS
        return ops

    def value_kind(self, op: str) -> Optional[str]:
        if op == "changed":
            return None
        if op in CHANGE_OPS:
            return _CHANGE_VALUE.get(self.type) or OPERATORS[self.type]["eq"]
        return OPERATORS[self.type][op]

    def allowed_values(self, department_id: Optional[int] = None) -> Optional[list[str]]:
        """The values a choice (or multi-select element) may take; None when any text goes."""
        if self.choices is not None:
            return [value for value, _label in self.choices]
        if self.choices_by_department is None:
            return None
        picked = [values for dept, values in self.choices_by_department
                  if department_id is None or dept == department_id]
        return list(dict.fromkeys(v for values in picked for v in values))


@dataclass(frozen=True)
class CustomFieldSpec:
    """A custom field as the provider describes it: `CustomFieldSpec("size", "picklist", _l("Size"),
    choices_by_department={1: ["S", "M", "L"]})`. Types: see CUSTOM_TYPES."""

    key: str
    type: str
    label: Any
    choices_by_department: Optional[dict] = field(default=None, hash=False, compare=False)

    def __post_init__(self):
        if not CUSTOM_KEY.match(self.key):
            raise ValueError(f"custom field key {self.key!r}: use a-z, 0-9 and _, starting with a letter")
        if self.type not in CUSTOM_TYPES:
            raise ValueError(f"custom field {self.key!r}: unknown type {self.type!r}")

    def spec(self) -> FieldSpec:
        by_dept = None
        if self.choices_by_department is not None:
            by_dept = tuple(sorted((int(d), tuple(str(v) for v in values))
                                   for d, values in self.choices_by_department.items()))
        return FieldSpec(f"cf.{self.key}", CUSTOM_TYPES[self.type], self.label, group="custom",
                         choices_by_department=by_dept, changeable=True, custom=True)


def _choices(values: Iterable[str], labels: dict) -> tuple:
    return tuple((v, labels.get(v, v)) for v in values)


TIER_LABELS = {"standard": _l("Standard"), "vip": _l("VIP")}
# A contact's language as conditions see it: the family of their locale ("zh_Hans" -> "zh").
CONTACT_LANGUAGES = {"en": "English", "zh": "中文"}
STANDARD_FIELDS = (
    FieldSpec("subject", "text", _l("Subject"), changeable=True),
    FieldSpec("body", "text", _l("Request (first message)")),
    FieldSpec("last_message", "text", _l("Last customer message")),
    FieldSpec("status", "enum", _l("Status"), choices=_choices(STATUSES, STATUS_LABELS), changeable=True),
    FieldSpec("priority", "priority", _l("Priority"), choices=_choices(PRIORITY_KEYS, PRIORITY_LABELS),
              changeable=True),
    FieldSpec("channel", "enum", _l("Channel"), choices=_choices(CHANNELS, CHANNEL_LABELS), changeable=True),
    FieldSpec("department", "ref", _l("Department"), ref="department", changeable=True),
    FieldSpec("team", "ref", _l("Team"), ref="team", changeable=True),
    FieldSpec("assignee", "ref", _l("Assignee"), ref="agent", changeable=True, accepts_me=True),
    FieldSpec("contact", "ref", _l("Customer"), ref="contact", changeable=True),
    FieldSpec("tags", "list", _l("Tags"), changeable=True),
    FieldSpec("created_at", "datetime", _l("Created")),
    FieldSpec("updated_at", "datetime", _l("Last updated")),
    FieldSpec("resolution_due_at", "datetime", _l("Resolution due"), changeable=True),
    FieldSpec("first_response_due_at", "datetime", _l("First response due"), changeable=True),
    FieldSpec("last_customer_reply_at", "datetime", _l("Last customer reply")),
    FieldSpec("contact.name", "text", _l("Customer name"), group="customer"),
    FieldSpec("contact.email", "text", _l("Customer email"), group="customer"),
    FieldSpec("account.name", "text", _l("Account name"), group="customer"),
    FieldSpec("contact.tier", "enum", _l("Customer tier"), group="customer", choices=_choices(TIERS, TIER_LABELS)),
    FieldSpec("contact.language", "enum", _l("Customer language"), group="customer",
              choices=_choices(CONTACT_LANGUAGES, CONTACT_LANGUAGES)),
    FieldSpec("thread_count", "number", _l("Number of messages"), group="computed"),
    FieldSpec("customer_reply_count", "number", _l("Number of customer messages"), group="computed"),
    FieldSpec("hours_since_created", "number", _l("Hours since created"), group="computed", max_abs=1e6),
    FieldSpec("hours_since_customer_reply", "number", _l("Hours since last customer reply"), group="computed",
              max_abs=1e6),
    FieldSpec("hours_until_due", "number", _l("Hours until resolution due"), group="computed", max_abs=1e6),
    FieldSpec("is_business_hours", "bool", _l("During business hours"), group="computed"),
)
# Computed number fields: the timestamp they are measured from and the direction (+1: hours since
# the timestamp, -1: hours until it). Both compilers turn them into comparisons on the timestamp.
HOURS_FIELDS = {"hours_since_created": ("created_at", 1), "hours_since_customer_reply": ("last_customer_reply_at", 1),
                "hours_until_due": ("resolution_due_at", -1)}
_STANDARD = {f.name: f for f in STANDARD_FIELDS}


class Catalogue:
    """Standard fields plus `custom` (CustomFieldSpec list). Two catalogues with the same fields
    compare equal (and hash alike), so compiled conditions can be cached per catalogue."""

    def __init__(self, custom: Iterable[CustomFieldSpec] = ()):
        self.custom = tuple(custom)
        self.fields: dict[str, FieldSpec] = dict(_STANDARD)
        for cf in self.custom:
            self.fields[f"cf.{cf.key}"] = cf.spec()
        self._signature = tuple((s.name, s.type, s.choices_by_department) for s in self.fields.values() if s.custom)

    def get(self, name: str) -> Optional[FieldSpec]:
        return self.fields.get(name) if isinstance(name, str) else None

    def __iter__(self):
        return iter(self.fields.values())

    def __eq__(self, other) -> bool:
        return isinstance(other, Catalogue) and self._signature == other._signature

    def __hash__(self) -> int:
        return hash(self._signature)

    def describe(self, department_id: Optional[int] = None, context: str = "event") -> list[dict]:
        """Every field with its operators, value inputs and choices, JSON-ready, for the builder UI.

        Record choices (departments, teams, agents) are read from the database now; with
        `department_id`, teams, agents and picklist values are those of that department.
        """
        from .describe import describe
        return describe(self, department_id, context)


# ---------------------------------------------------------------------------------------------
# Hooks filled by other features
_custom_field_provider: Optional[Callable[[], Iterable[CustomFieldSpec]]] = None


def register_custom_field_provider(fn: Optional[Callable[[], Iterable[CustomFieldSpec]]]) -> None:
    """`fn()` returns the desk's custom fields; called each time `app_catalogue()` is built."""
    global _custom_field_provider
    _custom_field_provider = fn


def standard_catalogue() -> Catalogue:
    """The standard and computed fields only."""
    return Catalogue()


def app_catalogue() -> Catalogue:
    """The desk's catalogue: standard fields plus the registered provider's custom fields."""
    return Catalogue(custom=_custom_field_provider() if _custom_field_provider else ())


# Default business hours: Monday to Friday, 09:00-18:00, in BUSINESS_TIMEZONE (init_app sets it).
business_settings = {"timezone": "Asia/Shanghai"}
_OPEN, _CLOSE = time(9), time(18)


def default_business_hours(department_id: Optional[int], now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(business_settings["timezone"]))
    return local.isoweekday() <= 5 and _OPEN <= local.time() < _CLOSE


_business_hours: Callable[[Optional[int], datetime], bool] = default_business_hours


def register_business_hours(fn: Optional[Callable[[Optional[int], datetime], bool]]) -> None:
    """`fn(department_id, now) -> bool` decides is_business_hours (None: back to the default)."""
    global _business_hours
    _business_hours = fn or default_business_hours


def business_hours(department_id: Optional[int], now: datetime) -> bool:
    return bool(_business_hours(department_id, now))
