"""The plain leaves of compiled conditions: one Python expression per (kind of field, operator).

Each expression reads `v`, the snapshot's raw value (`x` is the canonical value, `lo`/`hi` a range's
ends, `d` the snapshot, for "now" and "me"); empty or wrongly typed values fail every positive test,
as SQL's NULL does. A leaf is one closure made from its expression's template (compiled once per
expression), so evaluating it is one function call with its values bound, no dispatch on strings.
"""
from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from .fields import HOURS_FIELDS, FieldSpec, business_hours
from .fold import fold_text
from .values import ME, date_text, datetime_text

_DT_TEXT = {  # custom date/date-time fields hold ISO text: compared as text (see values.datetime_text)
    "eq": "v == x", "gt": "v.__class__ is str and v != '' and v > x", "gte": "v.__class__ is str and v >= x",
    "lt": "v.__class__ is str and v != '' and v < x", "lte": "v.__class__ is str and v != '' and v <= x",
    "between": "v.__class__ is str and lo <= v <= hi",
    "older_than": "v.__class__ is str and v != '' and v < {fmt}(d['now'] - x)",
    "within": "v.__class__ is str and v >= {fmt}(d['now'] - x)",
    "is_empty": "v.__class__ is not str or v == ''", "is_not_empty": "v.__class__ is str and v != ''",
}
_HOURS = {  # a computed hours field, as a comparison of its timestamp `v` with now -/+ x
    "gt": "v is not None and v {lt} d['now'] {sign} x", "gte": "v is not None and v {le} d['now'] {sign} x",
    "lt": "v is not None and v {gt} d['now'] {sign} x", "lte": "v is not None and v {ge} d['now'] {sign} x",
    "eq": "v is not None and v == d['now'] {sign} x", "neq": "v is None or v != d['now'] {sign} x",
    "between": "v is not None and {between}", "is_empty": "v is None", "is_not_empty": "v is not None",
}
_NULLABLE = {"is_empty": "v is None", "is_not_empty": "v is not None"}
EXPRESSIONS: dict[str, dict[str, str]] = {
    "text": {"eq": "fold_text(v) == x", "is_empty": "v.__class__ is not str or v == ''",
             "is_not_empty": "v.__class__ is str and v != ''"},
    "enum": {"eq": "v == x", "neq": "v != x", "in": "v.__class__ is str and v in x",
             "not_in": "v.__class__ is not str or v not in x", "is_empty": "v.__class__ is not str or v == ''",
             "is_not_empty": "v.__class__ is str and v != ''"},
    "priority": {"eq": "v == x", "neq": "v != x", "in": "v in x", "not_in": "v not in x",
                 "gt": "v is not None and v > x", "gte": "v is not None and v >= x",
                 "lt": "v is not None and v < x", "lte": "v is not None and v <= x", **_NULLABLE},
    "ref": {"eq": "v == x", "neq": "v != x", "in": "v in x", "not_in": "v not in x", **_NULLABLE},
    "ref_me": {"eq": "v is not None and v == d.get('me')", "neq": "v is None or v != d.get('me')",
               "in": "v is not None and (v in x or v == d.get('me'))",
               "not_in": "v is None or (v not in x and v != d.get('me'))"},
    "number": {"eq": "v.__class__ in NUMS and v == x", "neq": "v.__class__ not in NUMS or v != x",
               "gt": "v.__class__ in NUMS and v > x", "gte": "v.__class__ in NUMS and v >= x",
               "lt": "v.__class__ in NUMS and v < x", "lte": "v.__class__ in NUMS and v <= x",
               "between": "v.__class__ in NUMS and lo <= v <= hi", "is_empty": "v.__class__ not in NUMS",
               "is_not_empty": "v.__class__ in NUMS"},
    "bool": {"eq": "v is x"},
    "business_hours": {"eq": "business_hours(d.get('department'), d['now']) is x"},
    "datetime": {"eq": "v == x", "gt": "v is not None and v > x", "gte": "v is not None and v >= x",
                 "lt": "v is not None and v < x", "lte": "v is not None and v <= x",
                 "between": "v is not None and lo <= v <= hi", "older_than": "v is not None and v < d['now'] - x",
                 "within": "v is not None and v >= d['now'] - x", **_NULLABLE},
    "datetime_text": {op: e.format(fmt="datetime_text") for op, e in _DT_TEXT.items()},
    "date_text": {op: e.format(fmt="date_text") for op, e in _DT_TEXT.items()},
    "list": {"contains": "v.__class__ is list and x in v", "not_contains": "v.__class__ is not list or x not in v",
             "contains_any": "v.__class__ is list and not x.isdisjoint(v)",
             "is_empty": "v.__class__ is not list or v == []", "is_not_empty": "v.__class__ is list and v != []"},
    "multiselect": {"contains": "v.__class__ is list and x in v",
                    "not_contains": "v.__class__ is not list or x not in v",
                    "contains_any": "v.__class__ is list and any(e.__class__ is str and e in x for e in v)",
                    "is_empty": "v.__class__ is not list or not any(e.__class__ is str for e in v)",
                    "is_not_empty": "v.__class__ is list and any(e.__class__ is str for e in v)"},
    "hours_since": {op: e.format(lt="<", le="<=", gt=">", ge=">=", sign="-",
                                 between="d['now'] - hi <= v <= d['now'] - lo") for op, e in _HOURS.items()},
    "hours_until": {op: e.format(lt=">", le=">=", gt="<", ge="<=", sign="+",
                                 between="d['now'] + lo <= v <= d['now'] + hi") for op, e in _HOURS.items()},
}
_ENV = {"NUMS": frozenset((int, float)), "fold_text": fold_text, "business_hours": business_hours,
        "datetime_text": datetime_text, "date_text": date_text}


@functools.cache
def _template(expression: str, signature: str):
    """A factory of closures evaluating `expression`: made once per expression (exec of a fixed
    template), so each leaf is one plain function call with its values bound."""
    body = ("def node(m, d, ch):\n        v = d.get(name)\n        return " if signature == "node"
            else "def test(v, d):\n        return ")
    source = f"def make(name, x, lo, hi):\n    {body}{expression}\n    return {signature}\n"
    namespace = dict(_ENV)
    exec(compile(source, f"<condition: {expression}>", "exec"), namespace)  # noqa: S102 - fixed templates
    return namespace["make"]


def variant_of(spec: FieldSpec, value: Any) -> str:
    """Which expression table a leaf uses (the field's type, refined where evaluation differs)."""
    if spec.name in HOURS_FIELDS:
        return "hours_since" if HOURS_FIELDS[spec.name][1] > 0 else "hours_until"
    if spec.name == "is_business_hours":
        return "business_hours"
    if spec.type == "ref" and (value == ME or (isinstance(value, frozenset) and ME in value)):
        return "ref_me"
    if spec.type in ("datetime", "date") and spec.custom:
        return f"{spec.type}_text"
    if spec.type == "list" and spec.custom:
        return "multiselect"
    return spec.type


def bind(spec: FieldSpec, variant: str, op: str, value: Any, signature: str = "node"):
    """The closure for one leaf: `node(m, d, ch)` reading the field (for hours fields, their timestamp)
    from the snapshot, or with signature "test", `test(v, d)` on a given value (change operators)."""
    name = spec.name
    if variant.startswith("hours_"):
        name = HOURS_FIELDS[spec.name][0]
        value = _hours(value)
    if variant == "ref_me" and isinstance(value, frozenset):
        value = value - {ME}
    lo, hi = value if isinstance(value, tuple) else (None, None)
    return _template(EXPRESSIONS[variant][op], signature)(name, value, lo, hi)


def _hours(value):
    if isinstance(value, tuple):
        return tuple(timedelta(hours=v) for v in value)
    return None if value is None else timedelta(hours=value)
