"""The rule engine's view of the condition language (portal.conditions).

One place that knows which catalogue rules use, how a custom field's value is checked, and how
compiled rule sets are cached (once per rule revision).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from portal import conditions

MATCHER_CACHE_SIZE = 128
_matchers: OrderedDict = OrderedDict()
_lock = threading.Lock()


def current_catalogue():
    """The desk's catalogue: standard fields plus the registered custom fields."""
    return conditions.app_catalogue()


def catalogue_key(catalogue) -> Any:
    return catalogue  # catalogues with the same fields compare and hash equal


def validate_condition(condition: Any, catalogue, context: str) -> list:
    return conditions.validate(condition, catalogue, context=context)


def custom_value_problem(catalogue, field: str, value: Any, department_id: int | None) -> str | None:
    """Why `value` can't be stored in custom field `field` ("cf.<key>"), or None."""
    spec = catalogue.get(field)
    if spec is None or not spec.custom:
        return f"Unknown field {field!r}."
    if value is None:
        return None
    if spec.type == "list":  # a multi-select: a list of its values
        if not isinstance(value, list):
            return "Choose a list of values."
        leaves = [{"field": field, "op": "contains", "value": v} for v in value]
    else:
        leaves = [{"field": field, "op": "eq", "value": value}]
    for leaf in leaves:
        errors = conditions.validate(leaf, catalogue, context="query")
        if errors:
            return str(errors[0].message)
    allowed = spec.allowed_values(department_id)
    if allowed is not None:
        for v in value if isinstance(value, list) else [value]:
            if v not in allowed:
                return f"{v!r} is not a value of {field}" + (" in this department." if department_id else ".")
    return None


def matcher_for(rules: list, catalogue) -> tuple[Any, dict]:
    """(RuleSetMatcher over `rules` keyed by rule id, {rule id: why its condition is invalid}).

    Compiled once per set of rule revisions - a revision is (id, revision, updated_at), since
    SQLite may give a new rule the id of a deleted one. A rule whose condition no longer
    validates (a custom field was removed since it was saved) is left out and reported.
    """
    key = (catalogue_key(catalogue), tuple((r.id, r.revision, r.updated_at) for r in rules))
    cacheable = all(r.id is not None for r in rules)
    if cacheable:
        with _lock:
            entry = _matchers.get(key)
            if entry is not None:
                _matchers.move_to_end(key)
                return entry
    invalid: dict = {}
    while True:
        try:
            matcher = conditions.RuleSetMatcher(
                [(r.id, r.condition) for r in rules if r.id not in invalid], catalogue)
            break
        except conditions.InvalidCondition as exc:
            if getattr(exc, "key", None) is None or exc.key in invalid:
                raise
            invalid[exc.key] = "; ".join(f"row {e.path or 'condition'}: {e.message}" for e in exc.errors)
    entry = (matcher, invalid)
    if cacheable:
        with _lock:
            _matchers[key] = entry
            while len(_matchers) > MATCHER_CACHE_SIZE:
                _matchers.popitem(last=False)
    return entry


def clear_cache() -> None:
    with _lock:
        _matchers.clear()
