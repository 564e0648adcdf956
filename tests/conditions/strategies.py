"""Hypothesis strategies: random valid conditions over the pool's catalogue (pool.py)."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from portal.models import PRIORITY_KEYS

from .pool import NOW, WORDS

TEXTS = WORDS + ["re", "Ｒ", "so", "a_b", "100%", "hi", "alice", "@bigcorp", "wrap", "broken", "。", "王", "Ｄａｎ"]
# Patterns both engines read alike (PostgreSQL ARE and the regex package)
REGEXES = ["^re", r"so\d{4}", "(refund|退款)", r"error\s*\d{3}", "b.g", "[0-9]+", "phone|手机", "x*", "n$"]
TAGS = ["refund", "vip", "bug", "login", "spam", "billing", "nope"]
HOURS = [-50, -1, 0, 0.5, 2, 24, 48, 100, 300]
DURATIONS = [1, 2, 30, 90, 48, 400]


def _times(form):
    return st.sampled_from([-600, -50, -5, -1, 0, 1, 3, 20, 30, 50, 100, 200, 600]).map(
        lambda h: form(NOW - timedelta(hours=h)))


def _values(pool, spec, op):
    """A strategy for the value of `op` on `spec`, or None when the op takes none."""
    kind = spec.value_kind(op)
    if kind is None:
        return None
    one = _single(pool, spec, kind.removesuffix("_range").removesuffix("s") if kind != "keywords" else "text")
    if kind in ("keywords", "choices", "refs", "elements"):
        return st.lists(one, min_size=1, max_size=3, unique=True)
    if kind.endswith("_range"):
        return st.lists(one, min_size=2, max_size=2).map(sorted)
    return one


def _single(pool, spec, kind):
    if kind == "text":
        return st.sampled_from(TEXTS)
    if kind == "regex":
        return st.sampled_from(REGEXES)
    if kind == "choice":
        return st.sampled_from(PRIORITY_KEYS if spec.type == "priority" else spec.allowed_values())
    if kind == "ref":
        ids = {"department": pool.depts, "team": pool.teams, "agent": pool.agents, "contact": pool.contacts}[spec.ref]
        return st.sampled_from(list(ids.values()) + (["me"] if spec.accepts_me else []))
    if kind == "number":
        if spec.name.startswith("hours_"):
            return st.sampled_from(HOURS)
        return st.sampled_from([0, 1, 2, 3, 12, 99.5, 100, 1000, 2500.25])
    if kind == "bool":
        return st.booleans()
    if kind == "datetime":
        return _times(lambda t: t.isoformat())
    if kind == "date":
        return _times(lambda t: t.date().isoformat())
    if kind == "duration":
        return st.sampled_from(DURATIONS)
    if kind == "element":
        return st.sampled_from(spec.allowed_values() or TAGS)
    raise AssertionError(kind)


def leaves(pool, context="query"):
    @st.composite
    def leaf(draw):
        spec = draw(st.sampled_from(list(pool.catalogue)))
        op = draw(st.sampled_from(spec.operators(context)))
        cond = {"field": spec.name, "op": op}
        values = _values(pool, spec, op)
        if values is not None:
            cond["value"] = draw(values)
        if spec.value_kind(op) == "duration":
            cond["unit"] = draw(st.sampled_from(["minutes", "hours"]))
        return cond
    return leaf()


def conditions(pool, context="query", max_leaves=8):
    return st.recursive(
        leaves(pool, context),
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(lambda parts: {"all": parts}),
            st.lists(children, max_size=4).map(lambda parts: {"any": parts}),
            children.map(lambda part: {"not": part})),
        max_leaves=max_leaves)
