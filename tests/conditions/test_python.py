"""compile_to_python beyond the operator table: change operators, "me", regex time limits, caching."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import literal, select
from sqlalchemy.exc import OperationalError

from portal.conditions import (Catalogue, ConditionTimeout, CustomFieldSpec, changes_from_payload, compile_to_python,
                               standard_catalogue)
from portal.conditions import regexes
from portal.extensions import db

CATALOGUE = Catalogue(custom=[CustomFieldSpec("size", "picklist", "Size"), CustomFieldSpec("seen_at", "datetime", "Seen")])
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
SNAPSHOT = {"id": 1, "now": NOW, "subject": "ＲＥＦＵＮＤ please", "priority": 3, "status": "open", "assignee": 7,
            "tags": ["vip"], "cf.size": "M", "resolution_due_at": NOW + timedelta(hours=2)}


def holds(cond, changes=None, snapshot=SNAPSHOT, catalogue=CATALOGUE) -> bool:
    predicate = compile_to_python(cond, catalogue)
    return predicate(snapshot) if changes is None else predicate(snapshot, changes)


@pytest.mark.parametrize("cond, changes, expected", [
    ({"field": "priority", "op": "changed"}, {"priority": (2, 3)}, True),
    ({"field": "priority", "op": "changed"}, {"status": ("new", "open")}, False),
    ({"field": "priority", "op": "changed_to", "value": "high"}, {"priority": (2, 3)}, True),
    ({"field": "priority", "op": "changed_to", "value": "urgent"}, {"priority": (2, 3)}, False),
    ({"field": "priority", "op": "changed_from", "value": "normal"}, {"priority": (2, 3)}, True),
    ({"field": "priority", "op": "changed_from", "value": "high"}, {"priority": (2, 3)}, False),
    ({"field": "status", "op": "changed_to", "value": "open"}, {}, False),
    # text: folded on both sides, so a change of case only is no change "to" refund
    ({"field": "subject", "op": "changed_to", "value": "refund please"}, {"subject": ("Hello", "Refund please")}, True),
    ({"field": "subject", "op": "changed_to", "value": "refund please"},
     {"subject": ("refund please", "REFUND PLEASE")}, False),
    # lists: an element added / removed
    ({"field": "tags", "op": "changed_to", "value": "vip"}, {"tags": (["a"], ["a", "vip"])}, True),
    ({"field": "tags", "op": "changed_to", "value": "vip"}, {"tags": (["vip"], ["vip", "a"])}, False),
    ({"field": "tags", "op": "changed_from", "value": "a"}, {"tags": (["a"], ["vip"])}, True),
    # records, "me" from the snapshot
    ({"field": "assignee", "op": "changed_to", "value": "me"}, {"assignee": (None, 7)}, False),
    ({"field": "team", "op": "changed_from", "value": 4}, {"team": (4, None)}, True),
    ({"field": "resolution_due_at", "op": "changed_to", "value": "2026-11-20T13:00:00+08:00"},
     changes_from_payload({"resolution_due_at": [None, "2026-11-20T05:00:00+00:00"]}), True),
    # custom fields, flattened from the outbox payload; unchanged keys are no change
    ({"field": "cf.size", "op": "changed_to", "value": "M"},
     changes_from_payload({"custom_fields": [{"size": "S", "x": 1}, {"size": "M", "x": 1}]}), True),
    ({"field": "cf.size", "op": "changed"}, changes_from_payload({"custom_fields": [{"size": "M"}, {"size": "M"}]}),
     False),
    ({"not": {"field": "status", "op": "changed"}}, {"priority": (2, 3)}, True),
    ({"all": [{"field": "priority", "op": "changed_to", "value": "high"},
              {"field": "subject", "op": "contains", "value": "refund"}]}, {"priority": (1, 3)}, True),
])
def test_change_operators(cond, changes, expected):
    assert holds(cond, changes) is expected


def test_me_is_read_from_the_snapshot():
    cond = {"field": "assignee", "op": "eq", "value": "me"}
    assert holds(cond) is False  # nobody is "me" without one
    assert holds(cond, snapshot={**SNAPSHOT, "me": 7}) is True
    assert holds({"field": "assignee", "op": "changed_to", "value": "me"}, {"assignee": (None, 7)},
                 snapshot={**SNAPSHOT, "me": 7}) is True


def test_changes_from_payload_shapes():
    assert changes_from_payload({
        "priority": [2, 4], "department": [1, 2], "tags": [[], ["vip"]],
        "first_response_due_at": ["2026-11-20T05:00:00+00:00", None],
        "custom_fields": [{"a": 1, "b": True, "c": "x"}, {"a": True, "b": True, "d": None}],
    }) == {
        "priority": (2, 4), "department": (1, 2), "tags": ([], ["vip"]),
        "first_response_due_at": (datetime(2026, 11, 20, 5, tzinfo=timezone.utc), None),
        "cf.a": (1, True), "cf.c": ("x", None),
    }


def test_a_runaway_regex_is_stopped():
    cond = {"field": "subject", "op": "regex", "value": "(a|aa)+$"}
    predicate = compile_to_python(cond, CATALOGUE)
    assert predicate({**SNAPSHOT, "subject": "a" * 40}) is True
    with pytest.raises(ConditionTimeout):
        predicate({**SNAPSHOT, "subject": "a" * 40 + "b"})


@pytest.mark.usefixtures("pool")
def test_a_runaway_regex_stops_a_sqlite_query_too(pool_app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL runs the pattern with its own engine")
    assert db.session.scalar(select(literal("ABC").regexp_match("b"))) == 1  # ours, not SQLAlchemy's re.search
    with pytest.raises(OperationalError):
        db.session.scalar(select(literal("a" * 40 + "b").regexp_match("(a|aa)+$")))


def test_regex_time_limit_comes_from_the_config(make_app):
    default = regexes.settings["timeout"]
    try:
        make_app(REGEX_TIMEOUT_SECONDS=0.5)
        assert regexes.settings["timeout"] == 0.5
    finally:
        regexes.settings["timeout"] = default


def test_compiled_once_per_condition_and_catalogue():
    cond = {"all": [{"field": "status", "op": "eq", "value": "open"}, {"field": "cf.size", "op": "eq", "value": "M"}]}
    first = compile_to_python(cond, CATALOGUE)
    reordered = {"all": [{"value": "open", "op": "eq", "field": "status"}, copy.deepcopy(cond["all"][1])]}
    assert compile_to_python(reordered, CATALOGUE) is first
    same_fields = Catalogue(custom=[CustomFieldSpec("size", "picklist", "Size"),
                                    CustomFieldSpec("seen_at", "datetime", "Seen")])
    assert compile_to_python(cond, same_fields) is first
    other = Catalogue(custom=[CustomFieldSpec("size", "picklist", "Size", choices_by_department={1: ["M"]})])
    assert compile_to_python(cond, other) is not first


def test_the_catalogue_decides_a_custom_fields_type():
    date_field = Catalogue(custom=[CustomFieldSpec("due", "date", "Due")])
    number_field = Catalogue(custom=[CustomFieldSpec("due", "number", "Due")])
    assert compile_to_python({"field": "cf.due", "op": "gt", "value": "2026-01-01"}, date_field)(
        {"cf.due": "2026-02-01", "now": NOW})
    assert compile_to_python({"field": "cf.due", "op": "gt", "value": 5}, number_field)({"cf.due": 7, "now": NOW})
    assert standard_catalogue().get("cf.due") is None
