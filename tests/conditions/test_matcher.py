"""RuleSetMatcher: the same answers as each rule's own predicate, with less work."""
from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.conditions import InvalidCondition, RuleSetMatcher, compile_to_python
from portal.conditions import python as python_compiler

from .strategies import conditions

pytestmark = pytest.mark.integration  # the snapshots come from both backends


@st.composite
def changes_for(draw, pool, snapshot):
    """A change set as an event brings it: some changeable fields, from another ticket's value to this one's."""
    other = draw(st.sampled_from(pool.snapshots))
    names = draw(st.lists(st.sampled_from([s.name for s in pool.catalogue if s.changeable]), max_size=4, unique=True))
    return {name: (other.get(name), snapshot.get(name)) for name in names}


def test_matcher_agrees_with_each_rules_predicate(pool_data):
    pool = pool_data

    @given(st.lists(conditions(pool, context="event", max_leaves=6), min_size=1, max_size=25), st.data())
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(conds, data):
        rules = [(f"rule{i}", cond) for i, cond in enumerate(conds)]
        matcher = RuleSetMatcher(rules, pool.catalogue)
        predicates = [(key, compile_to_python(cond, pool.catalogue)) for key, cond in rules]
        for snap in data.draw(st.lists(st.sampled_from(pool.snapshots), min_size=1, max_size=5)):
            changes = data.draw(changes_for(pool, snap))
            expected = [key for key, predicate in predicates if predicate(snap, changes)]
            assert matcher.match_all(snap, changes) == expected
            candidates = matcher.candidates(snap)
            assert set(expected) <= set(candidates)
            assert candidates == [key for key, _ in rules if key in candidates]  # in the rules' order
            evaluation = matcher.evaluation(snap, changes)
            assert [key for key, _ in reversed(rules) if evaluation.matches(key)] == expected[::-1]

    check()


RULES = [
    ("support_refund", {"all": [{"field": "department", "op": "eq", "value": 1},
                                {"field": "body", "op": "contains_any", "value": ["refund", "退款"]}]}),
    ("urgent", {"field": "priority", "op": "gte", "value": "high"}),
    ("not_closed", {"field": "status", "op": "not_in", "value": ["solved", "closed"]}),
    ("refund_anywhere", {"any": [{"field": "subject", "op": "contains", "value": "REFUND"},
                                 {"field": "body", "op": "contains", "value": "refund"}]}),
    ("size_m", {"field": "cf.size", "op": "eq", "value": "M"}),
]
SNAPSHOT = {"now": None, "department": 2, "priority": 2, "status": "closed", "subject": "Refund?", "body": "No",
            "cf.size": "M"}


def test_candidates_come_from_the_top_level_equalities(pool_data):
    matcher = RuleSetMatcher(RULES, pool_data.catalogue)
    assert matcher.candidates(SNAPSHOT) == ["refund_anywhere", "size_m"]
    assert matcher.candidates({**SNAPSHOT, "department": 1, "priority": 4, "status": "open"}) == [
        "support_refund", "urgent", "not_closed", "refund_anywhere", "size_m"]
    # a junk custom value can't slip through the index (True is not 1, a list is not hashable)
    assert "size_m" not in matcher.candidates({**SNAPSHOT, "cf.size": ["M"]})


def test_identical_leaves_are_compiled_once(pool_data):
    one = RuleSetMatcher(RULES[:1], pool_data.catalogue)
    twice = RuleSetMatcher([RULES[0], ("copy", RULES[0][1])], pool_data.catalogue)
    assert twice._size == one._size


def test_each_text_field_is_folded_once_per_evaluation(pool_data):
    rules = [(i, {"field": "body", "op": "contains", "value": word}) for i, word in enumerate(["a", "b", "c", "d"])]
    matcher = RuleSetMatcher(rules, pool_data.catalogue)
    with mock.patch.object(python_compiler, "fold_text", wraps=python_compiler.fold_text) as folded:
        assert matcher.match_all({"body": "A B C"}) == [0, 1, 2]
    assert folded.call_count == 1


def test_invalidate_forgets_what_changed(pool_data):
    matcher = RuleSetMatcher(RULES, pool_data.catalogue)
    snap = dict(SNAPSHOT, department=1)
    evaluation = matcher.evaluation(snap)
    assert [k for k, _ in RULES if evaluation.matches(k)] == ["refund_anywhere", "size_m"]
    # an earlier rule's actions change the ticket
    snap.update(priority=3, status="open", subject="Hello", body="退款", **{"cf.size": "L"})
    assert evaluation.matches("urgent") is False  # remembered until told
    evaluation.invalidate(["priority", "status", "subject", "body", "custom_fields"])
    assert [k for k, _ in RULES if evaluation.matches(k)] == ["support_refund", "urgent", "not_closed"]


def test_bad_rule_sets_are_refused(pool_data):
    with pytest.raises(ValueError, match="twice"):
        RuleSetMatcher([RULES[0], RULES[0]], pool_data.catalogue)
    with pytest.raises(InvalidCondition) as info:
        RuleSetMatcher([("bad", {"field": "nope", "op": "eq", "value": 1})], pool_data.catalogue)
    assert info.value.key == "bad"
