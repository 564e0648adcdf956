"""A condition's value checked and put in the form both compilers use, once, when it is compiled.

`canonical(spec, op, value, unit)` returns the value as the data holds it (folded text, priority
ranks, aware UTC datetimes, timedeltas, frozensets for `in`) or raises BadValue with a message for
the builder's row. Canonical values are hashable, so identical leaves can be shared.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from flask_babel import lazy_gettext as _l

from ..models import PRIORITY_KEYS, Priority
from . import regexes
from .fields import UNITS, FieldSpec
from .fold import fold, fold_keywords

ME = "me"
MAX_TEXT = 1000
MAX_ITEMS = 200
TAG_MAX = 64  # as the ticket service (services.tickets.TAG_MAX)


class BadValue(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def canonical(spec: FieldSpec, op: str, value: Any, unit: Optional[str] = None) -> Any:
    kind = spec.value_kind(op)
    if kind is None:
        return None
    if value is None:
        raise BadValue(_l("Enter a value."))
    return _KINDS[kind](spec, value, unit)


def _text(spec, value, unit) -> str:
    if not isinstance(value, str) or not value:
        raise BadValue(_l("Enter some text."))
    if len(value) > MAX_TEXT:
        raise BadValue(_l("Use at most %(num)d characters.", num=MAX_TEXT))
    return fold(value)


def _keywords(spec, value, unit) -> tuple[str, ...]:
    words = _list(value, _l("Enter at least one keyword."))
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise BadValue(_l("A keyword can't be blank."))
        if len(word) > MAX_TEXT:
            raise BadValue(_l("Use at most %(num)d characters.", num=MAX_TEXT))
    return fold_keywords(words)


def _regex(spec, value, unit) -> str:
    if not isinstance(value, str) or not value:
        raise BadValue(_l("Enter a pattern."))
    problem = regexes.problem(value)
    if problem is not None:
        raise BadValue(problem)
    return value


def _choice(spec, value, unit):
    if spec.type == "priority":
        if isinstance(value, str) and value in PRIORITY_KEYS:
            return int(Priority.from_key(value))
        raise BadValue(_l("Unknown priority %(value)s; use low, normal, high or urgent.", value=_show(value)))
    if not isinstance(value, str) or not value:
        raise BadValue(_l("Choose a value."))
    allowed = spec.allowed_values()
    if allowed is not None and value not in allowed:
        raise BadValue(_l("%(value)s is not one of the choices of %(field)s.", value=_show(value), field=spec.label))
    return value


def _ref(spec, value, unit):
    if value == ME and spec.accepts_me:
        return ME
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadValue(_l("Choose a record (an id, not %(value)s).", value=_show(value)))
    return value


def _number(spec, value, unit):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadValue(_l("Enter a number."))
    if abs(value) > spec.max_abs:
        raise BadValue(_l("The number is too large."))
    return value


def _bool(spec, value, unit) -> bool:
    if not isinstance(value, bool):
        raise BadValue(_l("Choose yes or no."))
    return value


def _datetime(spec, value, unit):
    """Standard fields: an aware UTC datetime. Custom fields are stored as ISO text, so they are
    compared as UTC ISO text (datetime.isoformat() of UTC times sorts in time order)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            moment = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
            return datetime_text(moment) if spec.custom else moment
    raise BadValue(_l("Enter a date and time (ISO 8601, such as 2026-11-20T09:30:00+08:00)."))


def datetime_text(moment: datetime) -> str:
    """A custom date-time field's stored form, UTC ISO text (also the form thresholds take)."""
    return moment.astimezone(timezone.utc).isoformat()


def date_text(moment: datetime) -> str:
    """The UTC day of `moment` as a custom date field stores days."""
    return moment.astimezone(timezone.utc).date().isoformat()


def _date(spec, value, unit) -> str:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise BadValue(_l("Enter a date (ISO 8601, such as 2026-11-20)."))


def _range(single):
    def check(spec, value, unit):
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise BadValue(_l("Enter two values: the lowest and the highest."))
        low, high = single(spec, value[0], unit), single(spec, value[1], unit)
        if low > high:
            raise BadValue(_l("The first value must not be greater than the second."))
        return low, high
    return check


def _duration(spec, value, unit) -> timedelta:
    unit = "hours" if unit is None else unit
    if unit not in UNITS:
        raise BadValue(_l("The unit must be minutes or hours."))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise BadValue(_l("Enter a positive number of %(unit)s.", unit=unit))
    if value > 1e6:
        raise BadValue(_l("The number is too large."))
    return timedelta(**{unit: value})


def _element(spec, value, unit) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadValue(_l("Enter a value."))
    if spec.custom:
        return _choice(spec, value, unit)
    tag = normalise_tag(value)
    if len(tag) > TAG_MAX:
        raise BadValue(_l("A tag may be at most %(n)d characters.", n=TAG_MAX))
    return tag


def normalise_tag(value: str) -> str:
    """As the ticket service stores tags (whitespace collapsed, lower case), so conditions find them."""
    return " ".join(value.split()).lower()


def _many(single, empty_message):
    def check(spec, value, unit) -> frozenset:
        return frozenset(single(spec, item, unit) for item in _list(value, empty_message))
    return check


def _list(value, empty_message) -> list:
    if not isinstance(value, list) or not value:
        raise BadValue(empty_message)
    if len(value) > MAX_ITEMS:
        raise BadValue(_l("Use at most %(num)d values.", num=MAX_ITEMS))
    return value


def _show(value) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


_KINDS = {
    "text": _text, "keywords": _keywords, "regex": _regex, "choice": _choice,
    "choices": _many(_choice, _l("Choose at least one value.")), "ref": _ref,
    "refs": _many(_ref, _l("Choose at least one.")), "number": _number, "number_range": _range(_number),
    "bool": _bool, "datetime": _datetime, "datetime_range": _range(_datetime), "date": _date,
    "date_range": _range(_date), "duration": _duration, "element": _element,
    "elements": _many(_element, _l("Enter at least one value.")),
}
