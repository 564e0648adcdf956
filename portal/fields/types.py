"""The field types: one registry entry per type.

Each type says how a submitted value - text from a form, or JSON from the API - becomes the JSON
value stored in `tickets.custom_fields`, which condition type it is in the condition language,
which validation rules apply to it and how a form shows it. `coerce(value, tz)` returns the
stored value or raises BadValue with a message for the person who typed it. Blank input (see
`is_blank`) never reaches `coerce`: whether blank is allowed is the caller's business.

Stored forms: text types -> str; number -> int; decimal and currency -> a JSON number (an int when
it is whole, currency rounded half-up to cents); date -> "YYYY-MM-DD"; datetime -> UTC ISO 8601
with "+00:00" and whole seconds (the form portal.conditions compares as text); checkbox -> bool;
picklist and dependent picklist -> the option's `value`; multiselect -> a list of option values.
Options themselves are checked by values.py: a type only knows the shape of a choice.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Optional
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

TEXT_MAX = 1000          # single-line types
TEXTAREA_MAX = 20_000
NUMBER_MAX = 1e15        # as the condition language's number values (FieldSpec.max_abs)
# Amounts are stored as JSON numbers (doubles): 15 significant digits always survive a double, so
# below 10^13 every amount keeps its exact cents.
CURRENCY_MAX = 10 ** 13
EMAIL_MAX = 254
URL_MAX = 2000
PHONE_DIGITS = (5, 20)
CENT = Decimal("0.01")


class BadValue(ValueError):
    """A value a field can't hold; `message` (a lazy string) says why, for the person who typed it."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class FieldType:
    name: str
    label: Any                    # lazy: what the builder's palette shows
    condition_type: str           # a key of portal.conditions.fields.CUSTOM_TYPES
    coerce: Callable[[Any, Optional[tzinfo]], Any]
    rules: tuple[str, ...] = ()   # the validation keys that apply (see schema.py)
    choices: Optional[str] = None  # "one" or "many": the value comes from the field's options
    widget: str = "text"          # how build_form renders it


def is_blank(value: Any) -> bool:
    """No value: None, empty or whitespace-only text, an empty list. False is a value (a checkbox)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple)) and not value


def zone(tz: tzinfo | str | None) -> tzinfo:
    """The time zone naive date-times are read in: a tzinfo, a zone name, or None for UTC."""
    if tz is None:
        return timezone.utc
    if isinstance(tz, str):
        return ZoneInfo(tz)
    if hasattr(tz, "localize"):  # pytz (what flask_babel.get_timezone returns): replace() would give LMT offsets
        return ZoneInfo(tz.zone)
    return tz


def _typed(value: Any) -> str:
    """Text as typed, with full-width digits and signs made ASCII (a Chinese IME types １２３)."""
    return unicodedata.normalize("NFKC", value).strip()


def _string(value: Any, message) -> str:
    if not isinstance(value, str):
        raise BadValue(message)
    return value


def _at_most(text: str, limit: int) -> str:
    if len(text) > limit:
        raise BadValue(_l("Use at most %(num)d characters.", num=limit))
    return text


# ---------------------------------------------------------------------------------------------
# Text
def _text(value, tz) -> str:
    text = _string(value, _l("Enter text.")).strip()
    if "\n" in text or "\r" in text:
        raise BadValue(_l("Use a single line (no line breaks)."))
    return _at_most(text, TEXT_MAX)


def _textarea(value, tz) -> str:
    text = _string(value, _l("Enter text.")).replace("\r\n", "\n").replace("\r", "\n").strip()
    return _at_most(text, TEXTAREA_MAX)


_EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_EMAIL_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"  # \w: letters of any script (internationalised domains)
EMAIL = re.compile(rf"({_EMAIL_LOCAL})@({_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})+)")


def _email(value, tz) -> str:
    text = _string(value, _l("Enter an email address.")).strip()
    match = EMAIL.fullmatch(text)
    if match is None or len(text) > EMAIL_MAX:
        raise BadValue(_l("Enter an email address such as name@example.com."))
    return f"{match.group(1)}@{match.group(2).lower()}"  # domains are case-insensitive, local parts need not be


_PHONE = re.compile(r"[0-9 +\-()]+")


def _phone(value, tz) -> str:
    text = " ".join(_typed(_string(value, _l("Enter a phone number."))).split())
    digits = sum(c.isdigit() for c in text)
    if not _PHONE.fullmatch(text) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        raise BadValue(_l("Enter a phone number: digits, spaces, +, -, ( and ), with %(low)d to %(high)d digits.",
                          low=PHONE_DIGITS[0], high=PHONE_DIGITS[1]))
    return text


def _url(value, tz) -> str:
    text = _string(value, _l("Enter a web address.")).strip()
    try:
        parts = urlsplit(text)
        parts.port  # reading it raises ValueError for a port that isn't a number up to 65535
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(c.isspace() for c in text) or len(text) > URL_MAX):
        raise BadValue(_l("Enter a web address starting with http:// or https://, such as https://example.com."))
    return text


# ---------------------------------------------------------------------------------------------
# Numbers
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _bounded(number: Decimal) -> Decimal:
    if abs(number) > NUMBER_MAX:
        raise BadValue(_l("The number is too large."))
    return number


def _decimal_of(value, message) -> Decimal:
    """A JSON number or typed text as an exact Decimal (floats by their shortest repr: 2.675 is 2.675)."""
    if isinstance(value, bool):
        raise BadValue(message)
    if isinstance(value, int):
        return _bounded(Decimal(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue(message)
        return _bounded(Decimal(repr(value)))
    if isinstance(value, str) and _DECIMAL.fullmatch(text := _typed(value)):
        return _bounded(Decimal(text))
    raise BadValue(message)


def _json_number(number: Decimal) -> int | float:
    """Whole numbers as ints, so 12.0 and 12 are stored (and shown) alike."""
    value = float(number)
    return int(value) if value.is_integer() else value


def _number(value, tz) -> int:
    message = _l("Enter a whole number.")
    if isinstance(value, str) and not _INTEGER.fullmatch(_typed(value)):
        raise BadValue(message)
    number = _decimal_of(value, message)
    if number != number.to_integral_value():
        raise BadValue(message)
    return int(number)


def _decimal(value, tz) -> int | float:
    return _json_number(_decimal_of(value, _l("Enter a number, such as 12.5.")))


def _currency(value, tz) -> int | float:
    amount = _decimal_of(value, _l("Enter an amount, such as 99.90."))
    if abs(amount) >= CURRENCY_MAX:
        raise BadValue(_l("The amount is too large."))
    return _json_number(amount.quantize(CENT, rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------------
# Dates and times
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
                       r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?")


def _date(value, tz) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(text := _typed(value)):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise BadValue(_l("%(value)s is not a date on the calendar.", value=text)) from None
    raise BadValue(_l("Enter a date as YYYY-MM-DD, such as 2026-11-20."))


def _datetime(value, tz) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and _DATETIME.fullmatch(text := _typed(value)):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadValue(_l("%(value)s is not a time on the calendar.", value=text)) from None
    else:
        raise BadValue(_l("Enter a date and time, such as 2026-11-20T09:30 or 2026-11-20T09:30:00+08:00."))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    try:
        return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()
    except OverflowError:  # 0001-01-01T00:00+08:00 is before the first UTC moment Python has
        raise BadValue(_l("The date is out of range.")) from None


# ---------------------------------------------------------------------------------------------
# Yes/no and choices
_YES = frozenset(("true", "1", "on", "yes", "y"))
_NO = frozenset(("false", "0", "off", "no", "n"))


def _checkbox(value, tz) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise BadValue(_l("Choose yes or no."))


def _choice(value, tz) -> str:
    return _string(value, _l("Choose one of the options.")).strip()


def _choices(value, tz) -> list[str]:
    if isinstance(value, str):  # a form posting a single value
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise BadValue(_l("Choose options from the list."))
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


# ---------------------------------------------------------------------------------------------
TEXT_RULES = ("min_length", "max_length", "regex")
RANGE_RULES = ("min", "max")

_ALL = (
    FieldType("text", _l("Single line"), "text", _text, TEXT_RULES),
    FieldType("textarea", _l("Multi-line text"), "text", _textarea, TEXT_RULES, widget="textarea"),
    FieldType("number", _l("Whole number"), "number", _number, RANGE_RULES, widget="number"),
    FieldType("decimal", _l("Decimal"), "number", _decimal, RANGE_RULES, widget="decimal"),
    FieldType("currency", _l("Currency"), "number", _currency, RANGE_RULES, widget="decimal"),
    FieldType("date", _l("Date"), "date", _date, RANGE_RULES, widget="date"),
    FieldType("datetime", _l("Date and time"), "datetime", _datetime, RANGE_RULES, widget="datetime-local"),
    FieldType("checkbox", _l("Checkbox"), "bool", _checkbox, widget="checkbox"),
    FieldType("picklist", _l("Picklist"), "picklist", _choice, choices="one", widget="select"),
    FieldType("multiselect", _l("Multi-select"), "multiselect", _choices, choices="many", widget="multiselect"),
    FieldType("dependent_picklist", _l("Dependent picklist"), "picklist", _choice, choices="one", widget="select"),
    FieldType("email", _l("Email"), "text", _email, TEXT_RULES, widget="email"),
    FieldType("phone", _l("Phone"), "text", _phone, TEXT_RULES, widget="tel"),
    FieldType("url", _l("Web address"), "text", _url, TEXT_RULES, widget="url"),
)
TYPES: dict[str, FieldType] = {t.name: t for t in _ALL}


def field_type(name: str) -> FieldType:
    return TYPES[name]
