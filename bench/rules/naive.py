"""The toy baseline: a naive recursive interpreter over our condition JSON.

It walks the JSON for every (rule, ticket), dispatching on "op" strings, over the *prepared*
ticket (text already folded once per ticket, see common.prepare). It is also the reference
semantics the generator calibrates with and the translators are checked against.
"""
from __future__ import annotations

from datetime import timedelta

import regex

from common import FIELDS, PRIORITY_RANK, fold, is_empty

_UNIT = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1)}
_REGEX_FLAGS = regex.IGNORECASE | regex.V0


def _norm(field: str, value):
    """A condition value in the data's representation (text folded, priority keys ranked)."""
    kind = FIELDS[field]
    if kind == "text":
        return [fold(v) for v in value] if isinstance(value, list) else fold(value)
    if kind == "priority":
        return [PRIORITY_RANK[v] for v in value] if isinstance(value, list) else PRIORITY_RANK[value]
    return value


def evaluate(cond: dict, d: dict) -> bool:
    if "all" in cond:
        for c in cond["all"]:
            if not evaluate(c, d):
                return False
        return True
    if "any" in cond:
        for c in cond["any"]:
            if evaluate(c, d):
                return True
        return False
    if "not" in cond:
        return not evaluate(cond["not"], d)
    field, op = cond["field"], cond["op"]
    v = d.get(field)
    if op == "is_empty":
        return is_empty(v)
    if op == "is_not_empty":
        return not is_empty(v)
    x = _norm(field, cond.get("value"))
    empty = is_empty(v)
    if op == "neq":
        return empty or v != x
    if op == "not_in":
        return empty or v not in x
    if op == "not_contains":
        return empty or x not in v
    if empty:
        return False
    if op == "eq":
        return v == x
    if op == "in":
        return v in x
    if op == "contains":
        return x in v
    if op == "contains_any":
        for k in x:
            if k in v:
                return True
        return False
    if op == "starts_with":
        return v.startswith(x)
    if op == "regex":
        return regex.search(cond["value"], v, flags=_REGEX_FLAGS) is not None
    if op == "gt":
        return v > x
    if op == "gte":
        return v >= x
    if op == "lt":
        return v < x
    if op == "lte":
        return v <= x
    if op == "between":
        return x[0] <= v <= x[1]
    if op == "older_than":
        return d["now"] - v > x * _UNIT[cond.get("unit", "hours")]
    if op == "within":
        return d["now"] - v <= x * _UNIT[cond.get("unit", "hours")]
    raise ValueError(f"naive: unsupported op {op!r} on {field!r}")


def fire(rules: list[tuple[int, dict]], d: dict) -> list[int]:
    return [key for key, cond in rules if evaluate(cond, d)]
