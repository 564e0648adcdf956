"""One value checked against one field: its type, its validation rules and the options that apply.

    stored = check_value("decimal", "12.50", rules={"min": 0}, tz=None)     # 12.5
    stored = check_value("picklist", "books", options=["books", "toys"])   # "books"

Blank input gives None (no value); whether a field may be blank is decided by the caller (the
form's required flags, runtime.py). Rules were checked when the field was saved (schema.py), so
`min`/`max` are already in the type's stored form and compare directly with a stored value.
"""
from __future__ import annotations

import functools
from datetime import tzinfo
from typing import Any, Optional, Sequence

import regex
from flask_babel import lazy_gettext as _l

from ..conditions import regexes
from .types import TYPES, BadValue, FieldType, is_blank

_DATE_TYPES = ("date", "datetime")


def check_value(type_name: str, raw: Any, *, rules: Optional[dict] = None, options: Optional[Sequence[str]] = None,
                tz: tzinfo | str | None = None) -> Any:
    """The stored form of `raw` for a field of `type_name`, or None when it is blank; raises BadValue.

    `options`: the option values that apply, for picklists and multi-selects (options.py decides
    which); `tz`: the time zone a date-time without an offset is read in (default UTC).
    """
    if is_blank(raw):
        return None
    ftype = TYPES[type_name]
    value = ftype.coerce(raw, tz)
    if ftype.choices:
        value = _chosen(ftype, value, list(options or ()))
        if value == []:
            return None
    _obey(ftype, value, rules or {})
    return value


def _chosen(ftype: FieldType, value: Any, options: list[str]) -> Any:
    picked = [value] if ftype.choices == "one" else value
    for item in picked:
        if item not in options:
            raise BadValue(_l("'%(value)s' is not one of the options.", value=item))
    if ftype.choices == "one":
        return value
    chosen = set(value)
    return [option for option in options if option in chosen]  # the options' order, each once


def _obey(ftype: FieldType, value: Any, rules: dict) -> None:
    """Raise BadValue unless `value` keeps the field's validation rules."""
    low, high = rules.get("min"), rules.get("max")
    dated = ftype.name in _DATE_TYPES  # ISO text of one fixed shape: text order is time order
    if low is not None and value < low:
        raise BadValue(_l("Enter %(min)s or later.", min=low) if dated else _l("Enter %(min)s or more.", min=low))
    if high is not None and value > high:
        raise BadValue(_l("Enter %(max)s or earlier.", max=high) if dated else _l("Enter %(max)s or less.", max=high))
    shortest, longest = rules.get("min_length"), rules.get("max_length")
    if shortest is not None and len(value) < shortest:
        raise BadValue(_l("Use at least %(num)d characters.", num=shortest))
    if longest is not None and len(value) > longest:
        raise BadValue(_l("Use at most %(num)d characters.", num=longest))
    if rules.get("regex") and not matches(rules["regex"], value):
        raise BadValue(_l("Enter a value in the format this field asks for."))


@functools.lru_cache(maxsize=512)
def compiled(pattern: str):
    """A field's pattern, compiled once (schema.py has checked that it compiles)."""
    return regex.compile(pattern, regex.V0)


def matches(pattern: str, value: str) -> bool:
    """Does the whole of `value` match? Runs with the condition language's time limit, so a
    pattern that backtracks badly refuses the value rather than hanging the request."""
    try:
        return compiled(pattern).fullmatch(value, timeout=regexes.settings["timeout"]) is not None
    except TimeoutError:
        raise BadValue(_l("This value takes too long to check against the field's pattern; shorten it.")) from None
