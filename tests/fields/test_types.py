"""Every field type: what it accepts, what it stores, and what it refuses (with which message)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.conditions.fields import CUSTOM_TYPES
from portal.fields.types import CURRENCY_MAX, NUMBER_MAX, TYPES, BadValue, is_blank
from portal.fields.values import check_value

SHANGHAI = ZoneInfo("Asia/Shanghai")


def refused(type_name, raw, **kw) -> str:
    with pytest.raises(BadValue) as exc:
        check_value(type_name, raw, **kw)
    return str(exc.value.message)


def test_every_type_maps_to_a_condition_type():
    assert set(TYPES) == {"text", "textarea", "number", "decimal", "currency", "date", "datetime", "checkbox",
                          "picklist", "multiselect", "dependent_picklist", "email", "phone", "url"}
    assert {name: t.condition_type for name, t in TYPES.items()} == {
        "text": "text", "textarea": "text", "email": "text", "phone": "text", "url": "text",
        "number": "number", "decimal": "number", "currency": "number", "checkbox": "bool", "date": "date",
        "datetime": "datetime", "picklist": "picklist", "dependent_picklist": "picklist",
        "multiselect": "multiselect"}
    assert {t.condition_type for t in TYPES.values()} <= set(CUSTOM_TYPES)


@pytest.mark.parametrize("raw", [None, "", "   ", [], ()])
def test_blank_input_is_no_value_for_every_type(raw):
    assert is_blank(raw)
    for name in TYPES:
        assert check_value(name, raw, options=["a"]) is None
    assert not is_blank(False) and not is_blank(0)


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_name, raw, stored", [
    ("text", "  Order SO12345678 ", "Order SO12345678"),
    ("text", "订单", "订单"),
    ("textarea", "line one\r\nline two\r\n", "line one\nline two"),
    ("number", 42, 42), ("number", "42", 42), ("number", " -7 ", -7), ("number", "１２３", 123), ("number", 3.0, 3),
    ("number", int(NUMBER_MAX), int(NUMBER_MAX)),
    ("decimal", "12.50", 12.5), ("decimal", 12.0, 12), ("decimal", ".5", 0.5), ("decimal", "-3", -3),
    ("currency", "99.9", 99.9), ("currency", "2.675", 2.68), ("currency", 2.675, 2.68), ("currency", "0.005", 0.01),
    ("currency", "100.00", 100), ("decimal", "1.5e3", 1500), ("decimal", "3.4e-53", 3.4e-53), ("currency", "1e-9", 0),
    ("date", "2026-11-20", "2026-11-20"), ("date", date(2026, 2, 28), "2026-02-28"),
    ("date", "２０２６-１１-２０", "2026-11-20"),
    ("datetime", "2026-11-20T09:30:00+08:00", "2026-11-20T01:30:00+00:00"),
    ("datetime", "2026-11-20T09:30Z", "2026-11-20T09:30:00+00:00"),
    ("datetime", "2026-11-20 09:30:15.999", "2026-11-20T09:30:15+00:00"),
    ("datetime", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI), "2026-11-20T01:30:00+00:00"),
    ("checkbox", True, True), ("checkbox", False, False), ("checkbox", "y", True), ("checkbox", "off", False),
    ("checkbox", " Yes ", True),
    ("email", "Li.Hua+desk@Example.COM", "Li.Hua+desk@example.com"), ("email", "wang@例子.中国", "wang@例子.中国"),
    ("phone", "+86 (10)  1234-5678", "+86 (10) 1234-5678"), ("phone", "12345", "12345"),
    ("phone", "＋８６ １３８００１３８０００", "+86 13800138000"),
    ("url", "https://shop.example.com/orders?id=1", "https://shop.example.com/orders?id=1"),
    ("url", "HTTP://example.com", "HTTP://example.com"),
])
def test_good_values_are_stored_in_the_types_form(type_name, raw, stored):
    value = check_value(type_name, raw)
    assert value == stored and type(value) is type(stored)


@pytest.mark.parametrize("type_name, raw, message", [
    ("text", 12, "Enter text."),
    ("text", "two\nlines", "single line"),
    ("text", "x" * 1001, "at most 1000 characters"),
    ("number", "4.5", "whole number"), ("number", 4.5, "whole number"), ("number", True, "whole number"),
    ("number", "1e3", "whole number"), ("number", "1_000", "whole number"), ("number", "٣", "whole number"),
    ("number", int(NUMBER_MAX) + 1, "too large"), ("number", "12 kg", "whole number"),
    ("decimal", "abc", "Enter a number"), ("decimal", float("nan"), "Enter a number"),
    ("decimal", float("inf"), "Enter a number"), ("decimal", "1,5", "Enter a number"),
    ("decimal", [1], "Enter a number"),
    ("decimal", 1e16, "too large"),
    ("currency", "¥12", "Enter an amount"),
    ("date", "2026-02-30", "not a date on the calendar"), ("date", "20261120", "YYYY-MM-DD"),
    ("date", "2026-W47-5", "YYYY-MM-DD"), ("date", datetime(2026, 1, 1), "YYYY-MM-DD"),
    ("date", 20261120, "YYYY-MM-DD"),
    ("datetime", "2026-11-20", "date and time"), ("datetime", "2026-11-20T25:00", "not a time on the calendar"),
    ("datetime", "tomorrow", "date and time"), ("datetime", "0001-01-01T00:00+08:00", "out of range"),
    ("checkbox", 1, "yes or no"), ("checkbox", "maybe", "yes or no"),
    ("picklist", 3, "Choose one of the options"), ("multiselect", [1, 2], "Choose options from the list"),
    ("multiselect", {"a": 1}, "Choose options from the list"),
    ("email", "li@", "email address"), ("email", "li@localhost", "email address"),
    ("email", "a b@x.cn", "email address"),
    ("email", ".li@x.cn", "email address"), ("email", "li..hua@x.cn", "email address"),
    ("email", "li@-x.cn", "email address"), ("email", "x" * 250 + "@x.cn", "email address"),
    ("phone", "1234", "5 to 20 digits"), ("phone", "1" * 21, "5 to 20 digits"),
    ("phone", "ext. 12345", "5 to 20 digits"),
    ("url", "example.com", "http:// or https://"), ("url", "ftp://example.com", "http:// or https://"),
    ("url", "https://", "http:// or https://"), ("url", "https://exa mple.com", "http:// or https://"),
    ("url", "https://example.com:99999/", "http:// or https://"), ("url", "javascript:alert(1)", "http://"),
])
def test_bad_values_are_refused_with_a_message_for_the_person(type_name, raw, message):
    assert message in refused(type_name, raw)


def test_naive_date_times_are_read_in_the_given_time_zone():
    assert check_value("datetime", "2026-11-20T09:30") == "2026-11-20T09:30:00+00:00"  # default UTC
    assert check_value("datetime", "2026-11-20T09:30", tz="Asia/Shanghai") == "2026-11-20T01:30:00+00:00"
    assert check_value("datetime", "2026-11-20T09:30", tz=SHANGHAI) == "2026-11-20T01:30:00+00:00"
    # an offset in the value wins over the time zone argument
    assert check_value("datetime", "2026-11-20T09:30-05:00", tz=SHANGHAI) == "2026-11-20T14:30:00+00:00"
    # daylight saving time: New York is UTC-4 in summer, UTC-5 in winter
    assert check_value("datetime", "2026-07-01T12:00", tz="America/New_York") == "2026-07-01T16:00:00+00:00"
    assert check_value("datetime", "2026-12-01T12:00", tz="America/New_York") == "2026-12-01T17:00:00+00:00"


def test_pytz_time_zones_from_flask_babel_are_read_by_their_name():
    pytz = pytest.importorskip("pytz")
    # pytz zones must be localised, not attached: attaching Shanghai would give its 1901 LMT offset (+08:06)
    assert check_value("datetime", "2026-11-20T09:30", tz=pytz.timezone("Asia/Shanghai")) == "2026-11-20T01:30:00+00:00"


# ---------------------------------------------------------------------------------------------
# Validation rules and options
def test_range_rules_on_numbers_and_dates_include_their_bounds():
    rules = {"min": 0, "max": 100}
    assert check_value("decimal", "0", rules=rules) == 0 and check_value("decimal", "100", rules=rules) == 100
    assert refused("decimal", "-0.01", rules=rules) == "Enter 0 or more."
    assert refused("decimal", "100.5", rules=rules) == "Enter 100 or less."
    dates = {"min": "2026-01-01", "max": "2026-12-31"}
    assert check_value("date", "2026-12-31", rules=dates) == "2026-12-31"
    assert refused("date", "2025-12-31", rules=dates) == "Enter 2026-01-01 or later."
    assert refused("date", "2027-01-01", rules=dates) == "Enter 2026-12-31 or earlier."
    times = {"max": "2026-11-20T00:00:00+00:00"}
    assert check_value("datetime", "2026-11-20T08:00+08:00", rules=times) == "2026-11-20T00:00:00+00:00"
    assert "or earlier" in refused("datetime", "2026-11-20T08:01+08:00", rules=times)


def test_length_and_pattern_rules_on_text_types():
    rules = {"min_length": 3, "max_length": 5, "regex": "[A-Z]+[0-9]*"}
    assert check_value("text", "AB1", rules=rules) == "AB1"
    assert check_value("text", "ABCD5", rules=rules) == "ABCD5"
    assert refused("text", "AB", rules=rules) == "Use at least 3 characters."
    assert refused("text", "ABCDEF", rules=rules) == "Use at most 5 characters."
    # the whole value must match, not a part of it
    assert "format" in refused("text", "ab12", rules=rules)
    assert "format" in refused("text", "AB12x", rules=rules)
    assert check_value("email", "li@x.cn", rules={"regex": r".*@x\.cn"}) == "li@x.cn"
    assert "format" in refused("email", "li@y.cn", rules={"regex": r".*@x\.cn"})


def test_a_pattern_that_backtracks_badly_refuses_the_value_in_time():
    message = refused("text", "a" * 40 + "!", rules={"regex": "(a|aa)+"})
    assert "takes too long" in message


def test_choices_come_from_the_options_that_apply():
    assert check_value("picklist", " books ", options=["books", "toys"]) == "books"
    assert refused("picklist", "Books", options=["books", "toys"]) == "'Books' is not one of the options."
    assert refused("dependent_picklist", "novel", options=[]) == "'novel' is not one of the options."
    # a multi-select keeps the options' order, each value once
    picked = check_value("multiselect", ["toys", "books", "toys"], options=["books", "games", "toys"])
    assert picked == ["books", "toys"]
    assert check_value("multiselect", "games", options=["books", "games"]) == ["games"]  # one posted value
    assert check_value("multiselect", ["", " "], options=["books"]) is None
    assert refused("multiselect", ["books", "cars"], options=["books"]) == "'cars' is not one of the options."


# ---------------------------------------------------------------------------------------------
# Properties: a stored value submitted again is stored unchanged; stored dates sort as time does.
FINITE = st.floats(min_value=-NUMBER_MAX, max_value=NUMBER_MAX, allow_nan=False, allow_infinity=False)
MOMENTS = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones())


@settings(max_examples=150, deadline=None)
@given(st.one_of(
    st.tuples(st.just("number"), st.integers(min_value=-int(NUMBER_MAX), max_value=int(NUMBER_MAX))),
    st.tuples(st.just("decimal"), FINITE), st.tuples(st.just("currency"), FINITE),
    st.tuples(st.just("decimal"), FINITE.map(repr)), st.tuples(st.just("currency"), FINITE.map(repr)),
    st.tuples(st.just("date"), st.dates()), st.tuples(st.just("datetime"), MOMENTS),
    st.tuples(st.just("datetime"), MOMENTS.map(datetime.isoformat)),
    st.tuples(st.just("text"), st.text().filter(lambda t: "\n" not in t and "\r" not in t)),
    st.tuples(st.just("textarea"), st.text(max_size=200)), st.tuples(st.just("checkbox"), st.booleans()),
))
def test_a_stored_value_resubmitted_is_stored_unchanged(case):
    type_name, raw = case
    try:
        stored = check_value(type_name, raw)
    except BadValue:
        assume(False)
    again = check_value(type_name, stored)
    assert again == stored and type(again) is type(stored)


@settings(max_examples=150, deadline=None)
@given(st.floats(min_value=-CURRENCY_MAX, max_value=CURRENCY_MAX, allow_nan=False, exclude_min=True, exclude_max=True))
def test_currency_keeps_the_exact_half_up_cents_of_the_typed_amount(amount):
    stored = check_value("currency", repr(amount))
    # what a reader of the JSON gets back is the typed amount rounded half-up to cents, exactly
    assert Decimal(repr(stored)) == Decimal(repr(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_amounts_that_a_double_cant_hold_to_the_cent_are_refused():
    assert check_value("currency", "9999999999999.99") == 9999999999999.99
    assert refused("currency", "10000000000000") == "The amount is too large."


@settings(max_examples=150, deadline=None)
@given(MOMENTS, MOMENTS)
def test_stored_date_times_sort_as_the_moments_do(a, b):
    try:
        first, second = check_value("datetime", a), check_value("datetime", b)
    except BadValue:  # the first or last hours of the calendar, out of UTC's range
        assume(False)
    # min/max rules and the SQL compiler compare the stored text: its order must be time order
    utc_a, utc_b = (m.astimezone(timezone.utc).replace(microsecond=0) for m in (a, b))
    assert (first < second) == (utc_a < utc_b) and (first == second) == (utc_a == utc_b)
    assert datetime.fromisoformat(first) == utc_a


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)), st.timezones())
def test_a_naive_date_time_means_the_same_moment_as_in_its_zone(naive, zone):
    try:
        expected = check_value("datetime", naive.replace(tzinfo=zone))
    except BadValue:
        assume(False)
    assert check_value("datetime", naive.isoformat(), tz=zone) == expected


@settings(max_examples=100, deadline=None)
@given(st.emails())
def test_ordinary_email_addresses_are_accepted(address):
    assume(len(address) <= 254)
    local, domain = address.rsplit("@", 1)
    assert check_value("email", address) == f"{local}@{domain.lower()}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1))
def test_a_multi_select_keeps_each_chosen_option_once_in_the_options_order(picked):
    stored = check_value("multiselect", picked, options=["d", "c", "b", "a"])
    assert stored == [o for o in ["d", "c", "b", "a"] if o in picked]


def test_dates_before_year_1000_keep_four_digits_so_text_order_is_time_order():
    assert check_value("date", date(999, 1, 1)) == "0999-01-01"
    assert check_value("datetime", datetime(999, 1, 1, tzinfo=timezone.utc)) == "0999-01-01T00:00:00+00:00"
    an_hour_later = datetime(999, 1, 1) + timedelta(hours=1)
    assert check_value("datetime", an_hour_later) < check_value("datetime", "1000-01-01T00:00")
