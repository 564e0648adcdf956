"""validate(): every problem on the row it belongs to, in words an admin can act on; never an exception."""
from __future__ import annotations

import pytest
from flask_babel import LazyString
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.conditions import (Catalogue, CustomFieldSpec, InvalidCondition, compile_to_python, compile_to_sql,
                               standard_catalogue, validate)

from .pool import NOW

CATALOGUE = Catalogue(custom=[
    CustomFieldSpec("size", "picklist", "Size", choices_by_department={1: ["S", "M"], 2: ["XL"]}),
    CustomFieldSpec("order_total", "number", "Order total"),
    CustomFieldSpec("ship_date", "date", "Ship date"),
    CustomFieldSpec("colors", "multiselect", "Colours", choices_by_department={1: ["red"]}),
])


def errors(cond, context="event"):
    return [(e.path, str(e.message)) for e in validate(cond, CATALOGUE, context)]


def leaf(field, op, value=None, **extra):
    cond = {"field": field, "op": op, **extra}
    if value is not None:
        cond["value"] = value
    return cond


@pytest.mark.parametrize("cond", [
    {"all": []}, {"any": []}, {"not": {"all": []}},
    leaf("subject", "contains", "退款"), leaf("subject", "contains_any", ["a", "Ｂ"]),
    leaf("priority", "gte", "high"), leaf("assignee", "eq", "me"), leaf("assignee", "in", ["me", 3]),
    leaf("cf.size", "in", ["S", "XL"]), leaf("cf.order_total", "between", [1, 1.5]),
    leaf("cf.ship_date", "between", ["2026-01-01", "2026-01-01"]), leaf("created_at", "gt", "2026-11-20"),
    leaf("created_at", "within", 30, unit="minutes"), leaf("resolution_due_at", "older_than", 2),
    leaf("hours_until_due", "lt", -2.5), leaf("tags", "contains_any", ["vip", "VIP "]),
    leaf("status", "changed"), leaf("cf.size", "changed_to", "M"), leaf("tags", "changed_from", "vip"),
    leaf("status", "is_empty", None), {"field": "status", "op": "is_empty", "value": None},
    leaf("subject", "regex", r"^(re|fwd?):\s*\d{3,}[a-z]+(?=x)(?!y)"),
])
def test_valid_conditions(cond):
    assert errors(cond) == []


@pytest.mark.parametrize("cond, path, message", [
    # shape
    ("status = open", "", "Expected a group (all, any, not) or a row (field, op, value)."),
    ({"all": {"field": "status"}}, "", "'all' must be a list of conditions."),
    ({"all": [], "any": []}, "", "A group has exactly one of all, any or not; remove any."),
    ({"all": [leaf("status", "eq", "open"), {"not": [1]}]}, "1.0",
     "Expected a group (all, any, not) or a row (field, op, value)."),
    (leaf("status", "eq", "open", colour="red"), "", "Unknown keys: colour."),
    ({"op": "eq"}, "", "Choose a field."),
    # fields and operators
    (leaf("cf.size2", "eq", "S"), "", "Unknown field 'cf.size2'."),
    ({"any": [leaf("status", "eq", "open"), leaf("subject", "near", "x")]}, "1", "Unknown operator 'near'."),
    (leaf("cf.order_total", "contains", "1"), "",
     "'contains' doesn't apply to a number field; use eq, neq, gt, gte, lt, lte, between, is_empty, is_not_empty."),
    (leaf("status", "gt", "open"), "", "'gt' doesn't apply to a choice field; use eq, neq, in, not_in, is_empty, "
                                       "is_not_empty."),
    (leaf("hours_since_created", "changed"), "",
     "Changes of Hours since created aren't recorded, so 'changed' can't be used with it."),
    # values
    (leaf("status", "eq", "opened"), "", "'opened' is not one of the choices of Status."),
    (leaf("cf.size", "eq", "XXL"), "", "'XXL' is not one of the choices of Size."),
    (leaf("priority", "eq", "HIGH"), "", "Unknown priority 'HIGH'; use low, normal, high or urgent."),
    (leaf("priority", "in", [3]), "", "Unknown priority 3; use low, normal, high or urgent."),
    (leaf("status", "in", []), "", "Choose at least one value."),
    (leaf("status", "eq"), "", "Enter a value."),
    (leaf("status", "is_empty", "x"), "", "'is_empty' takes no value."),
    (leaf("subject", "contains", ""), "", "Enter some text."),
    (leaf("subject", "contains", 5), "", "Enter some text."),
    (leaf("subject", "contains_any", []), "", "Enter at least one keyword."),
    (leaf("subject", "contains_any", ["refund", " "]), "", "A keyword can't be blank."),
    (leaf("department", "eq", "2"), "", "Choose a record (an id, not '2')."),
    (leaf("team", "eq", "me"), "", "Choose a record (an id, not 'me')."),
    (leaf("department", "eq", True), "", "Choose a record (an id, not True)."),
    (leaf("thread_count", "gt", "3"), "", "Enter a number."),
    (leaf("thread_count", "between", [5, 2]), "", "The first value must not be greater than the second."),
    (leaf("thread_count", "between", [5]), "", "Enter two values: the lowest and the highest."),
    (leaf("cf.order_total", "eq", float("inf")), "", "Enter a number."),
    (leaf("created_at", "gt", "yesterday"), "",
     "Enter a date and time (ISO 8601, such as 2026-11-20T09:30:00+08:00)."),
    (leaf("cf.ship_date", "lt", "2026-13-01"), "", "Enter a date (ISO 8601, such as 2026-11-20)."),
    (leaf("created_at", "within", -1, unit="hours"), "", "Enter a positive number of hours."),
    (leaf("created_at", "within", 3, unit="days"), "", "The unit must be minutes or hours."),
    (leaf("created_at", "gt", "2026-11-20", unit="hours"), "", "'gt' takes no unit."),
    (leaf("cf.colors", "contains", "blue"), "", "'blue' is not one of the choices of Colours."),
    (leaf("tags", "contains", "x" * 65), "", "A tag may be at most 64 characters."),
    # regular expressions
    (leaf("subject", "regex", "(unclosed"), "",
     "The pattern is not a valid regular expression: missing ) at position 9."),
    (leaf("body", "regex", "(?<=order )\\d+"), "", "Lookbehind (?<=…) and (?<!…) isn't supported in patterns."),
    (leaf("body", "regex", "(?P<n>x)"), "", "Only (?:…), (?=…) and (?!…) groups are supported in patterns."),
    (leaf("body", "regex", "\\brefund\\b"), "", "'\\b' isn't supported in patterns."),
    (leaf("body", "regex", "a++"), "", "Possessive quantifiers (such as a++) aren't supported in patterns."),
    (leaf("body", "regex", "x" * 501), "", "The pattern is too long (at most 500 characters)."),
])
def test_invalid_conditions(cond, path, message):
    assert errors(cond) == [(path, message)]


def test_every_bad_row_is_reported_with_its_path():
    cond = {"all": [leaf("status", "eq", "open"), {"any": [leaf("nope", "eq", 1), leaf("priority", "eq", "hi")]},
                    {"not": leaf("tags", "gt", 1)}]}
    assert [path for path, _ in errors(cond)] == ["1.0", "1.1", "2.0"]


def test_change_operators_are_refused_in_queries():
    assert errors(leaf("priority", "changed_to", "high"), context="query") == [(
        "", "'changed_to' only works in rules that react to a change; views, time-based rules and backtests "
            "look at tickets as they are.")]
    assert errors(leaf("priority", "changed_to", "high"), context="event") == []


def test_deep_and_huge_conditions_are_refused_not_crashed():
    deep = leaf("status", "eq", "open")
    for _ in range(50):
        deep = {"not": deep}
    assert errors(deep)[0][1] == "Groups are nested too deeply (at most 12 levels)."
    huge = {"any": [leaf("status", "eq", "open")] * 1200}
    assert errors(huge) == [("999", "The condition has too many parts (at most 1000).")]


def test_compilers_refuse_invalid_conditions():
    bad = leaf("cf.size2", "eq", "S")
    for compile_ in (lambda c: compile_to_python(c, CATALOGUE), lambda c: compile_to_sql(c, CATALOGUE, now=NOW)):
        with pytest.raises(InvalidCondition) as info:
            compile_(bad)
        assert [e.as_dict() for e in info.value.errors] == [{"path": "", "message": "Unknown field 'cf.size2'."}]
    with pytest.raises(InvalidCondition):
        compile_to_python({"field": "created_at", "op": "gt", "value": NOW}, CATALOGUE)  # not JSON


def test_messages_are_lazy_so_each_reader_gets_their_language():
    error = validate(leaf("nope", "eq", 1), standard_catalogue())[0]
    assert isinstance(error.message, LazyString)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["all", "any", "not", "field", "op", "value", "unit", "x"]), children, max_size=3),
    max_leaves=12)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_validate_never_raises(cond):
    for context in ("event", "query"):
        assert isinstance(validate(cond, CATALOGUE, context), list)
