"""compile_to_python: a condition as a predicate over a ticket snapshot and an event's changes.

    predicate = compile_to_python(cond, catalogue)   # cached per (condition JSON, catalogue)
    predicate(snapshot(ticket, now), changes) -> bool

The condition is compiled once into nested closures `node(m, d, ch)`: `d` is the snapshot, `ch`
the changes ({field: (old, new)}), and `m` a list of memo slots for one evaluation: each text field
is folded at most once per evaluation, and the costlier leaves (text tests, business hours) compute
at most once. A `Compiler` can compile many conditions into one slot space, so identical leaves of
different rules are one closure and one memo slot (RuleSetMatcher, matcher.py). Values are put in
the data's form at compile time (folded text, priority ranks, aware datetimes, timedeltas); a leaf
evaluates one expression. Groups test their cheaper parts first.
"""
from __future__ import annotations

import functools
import json
from types import MappingProxyType
from typing import Any, Callable, Mapping

from flask_babel import lazy_gettext as _l

from . import regexes
from .fields import CHANGE_OPS, Catalogue
from .fold import fold_text
from .ir import All, AnyOf, Const, Leaf, Node, Not, build
from .leaves import bind, variant_of
from .validate import ConditionError, InvalidCondition, validate

EMPTY: Mapping = MappingProxyType({})
NodeFn = Callable[[list, Mapping, Mapping], bool]

# Tests on a text field's folded value `t`, for the memoised text leaves.
_FOLDED_TESTS: dict[str, Callable[[Any], Callable[[str], bool]]] = {
    "eq": lambda x: lambda t: t == x, "neq": lambda x: lambda t: t != x,
    "not_contains": lambda x: lambda t: x not in t, "starts_with": lambda x: lambda t: t.startswith(x),
    "regex": lambda x: lambda t: t != "" and regexes.search(x, t),
}
_LONG_TEXT = ("body", "last_message")


class Compiler:
    """Compiles tree nodes into closures over one shared memo-slot space.

    `size` is the number of slots an evaluation needs; `deps[field]` the slots that depend on a
    snapshot field (what to forget when the field changes).
    """

    def __init__(self):
        self.size = 0
        self.deps: dict[str, list[int]] = {}
        self._folded: dict[str, int] = {}
        self._results: dict[Leaf, int] = {}
        self._leaves: dict[Leaf, tuple[NodeFn, int]] = {}

    def slot(self, *fields: str) -> int:
        index = self.size
        self.size += 1
        for name in fields:
            self.deps.setdefault(name, []).append(index)
        return index

    def compile(self, node: Node) -> tuple[NodeFn, int]:
        """(closure, estimated cost). Leaves are shared: the same leaf compiles once."""
        if isinstance(node, Leaf):
            compiled = self._leaves.get(node)
            if compiled is None:
                compiled = self._leaves[node] = self._leaf(node)
            return compiled
        if isinstance(node, Const):
            value = node.value
            return (lambda m, d, ch: value), 0
        if isinstance(node, Not):
            child, cost = self.compile(node.child)
            return (lambda m, d, ch: not child(m, d, ch)), cost
        if isinstance(node, AnyOf):
            parts = self._any_parts(node.children)
        else:
            parts = [self.compile(c) for c in node.children]
        parts.sort(key=lambda part: part[1])
        fns = tuple(fn for fn, _cost in parts)
        return (_all(fns) if isinstance(node, All) else _any(fns)), sum(cost for _fn, cost in parts)

    def _any_parts(self, children: tuple) -> list[tuple[NodeFn, int]]:
        """An any's keywords on one text field (a contains_any) become one node that tries them in turn."""
        keywords: dict[str, list[Leaf]] = {}
        parts = []
        for child in children:
            if isinstance(child, Leaf) and child.op == "contains" and child.spec.type == "text":
                keywords.setdefault(child.name, []).append(child)
            else:
                parts.append(self.compile(child))
        for group in keywords.values():
            parts.append(self._keywords(group) if len(group) > 1 else self.compile(group[0]))
        return parts

    def _leaf(self, leaf: Leaf) -> tuple[NodeFn, int]:
        spec, op = leaf.spec, leaf.op
        if op in CHANGE_OPS:
            return self._change(leaf), 1
        if spec.type == "text" and op not in ("is_empty", "is_not_empty"):
            return self._text(leaf)
        variant = variant_of(spec, leaf.value)
        node = bind(spec, variant, op, leaf.value)
        if variant == "business_hours":
            return self._memo(node, "department", "now"), 5
        slower = variant in ("list", "multiselect", "hours_since", "hours_until") or op in ("older_than", "within")
        return node, 2 if slower else 1

    def _memo(self, compute: NodeFn, *fields: str) -> NodeFn:
        i = self.slot(*fields)

        def node(m, d, ch):
            r = m[i]
            if r is None:
                r = m[i] = compute(m, d, ch)
            return r
        return node

    def _fold_slot(self, name: str) -> int:
        """The slot of a text field's folded value (folded at most once per evaluation)."""
        j = self._folded.get(name)
        if j is None:
            j = self._folded[name] = self.slot(name)
        return j

    def _result_slot(self, leaf: Leaf) -> int:
        """The slot of a text leaf's result, shared by every node that tests the leaf."""
        i = self._results.get(leaf)
        if i is None:
            i = self._results[leaf] = self.slot(leaf.name)
        return i

    def _text(self, leaf: Leaf) -> tuple[NodeFn, int]:
        """Text tests run on the field folded once per evaluation (slot j); each result is kept (slot i)."""
        name, op, x = leaf.name, leaf.op, leaf.value
        j, i = self._fold_slot(name), self._result_slot(leaf)
        cost = 4 if name in _LONG_TEXT else 3
        if op == "contains":  # the hot one (keywords): inlined
            def node(m, d, ch):
                r = m[i]
                if r is None:
                    t = m[j]
                    if t is None:
                        t = m[j] = fold_text(d.get(name))
                    r = m[i] = x in t
                return r
            return node, cost
        test = _FOLDED_TESTS[op](x)

        def node(m, d, ch):
            r = m[i]
            if r is None:
                t = m[j]
                if t is None:
                    t = m[j] = fold_text(d.get(name))
                r = m[i] = test(t)
            return r
        return node, cost + (30 if op == "regex" else 0)

    def _keywords(self, group: list[Leaf]) -> tuple[NodeFn, int]:
        """Any of several keywords in one text field: one call, each keyword's result still kept."""
        name = group[0].name
        j = self._fold_slot(name)
        pairs = tuple((self._result_slot(leaf), leaf.value) for leaf in group)

        def node(m, d, ch):
            t = m[j]
            if t is None:
                t = m[j] = fold_text(d.get(name))
            for i, x in pairs:
                r = m[i]
                if r is None:
                    r = m[i] = x in t
                if r:
                    return True
            return False
        return node, (4 if name in _LONG_TEXT else 3) + 1

    def _change(self, leaf: Leaf) -> NodeFn:
        """changed: the field is in the change set; changed_to X: it is X now and wasn't before."""
        name, op = leaf.name, leaf.op
        if op == "changed":
            return lambda m, d, ch: name in ch
        variant = variant_of(leaf.spec, leaf.value)
        is_x = bind(leaf.spec, variant, "contains" if variant in ("list", "multiselect") else "eq",
                     leaf.value, signature="test")
        now, before = (1, 0) if op == "changed_to" else (0, 1)

        def node(m, d, ch):
            pair = ch.get(name)
            return pair is not None and is_x(pair[now], d) and not is_x(pair[before], d)
        return node


def _all(fns: tuple) -> NodeFn:
    if len(fns) == 2:
        a, b = fns
        return lambda m, d, ch: a(m, d, ch) and b(m, d, ch)
    if len(fns) == 3:
        a, b, c = fns
        return lambda m, d, ch: a(m, d, ch) and b(m, d, ch) and c(m, d, ch)

    def node(m, d, ch):
        for fn in fns:
            if not fn(m, d, ch):
                return False
        return True
    return node


def _any(fns: tuple) -> NodeFn:
    if len(fns) == 2:
        a, b = fns
        return lambda m, d, ch: a(m, d, ch) or b(m, d, ch)
    if len(fns) == 3:
        a, b, c = fns
        return lambda m, d, ch: a(m, d, ch) or b(m, d, ch) or c(m, d, ch)

    def node(m, d, ch):
        for fn in fns:
            if fn(m, d, ch):
                return True
        return False
    return node


# ---------------------------------------------------------------------------------------------
class Predicate:
    """A compiled condition: `predicate(snapshot, changes={}) -> bool`. Raises ConditionTimeout when a
    regex runs out of time. The snapshot needs "now" for time fields, and "me" for `"assignee" eq "me"`."""

    __slots__ = ("_root", "_size")

    def __init__(self, root: NodeFn, size: int):
        self._root = root
        self._size = size

    def __call__(self, snapshot: Mapping, changes: Mapping = EMPTY) -> bool:
        return self._root([None] * self._size, snapshot, changes)


def canonical_json(cond: Any) -> str:
    """The cache key of a condition. Raises InvalidCondition for what JSON can't hold."""
    try:
        return json.dumps(cond, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise InvalidCondition([ConditionError("", _l("The condition is not valid JSON."))]) from None


def compile_to_python(cond: Any, catalogue: Catalogue) -> Predicate:
    """The condition as a predicate; raises InvalidCondition if it doesn't validate (context "event")."""
    return _compiled(canonical_json(cond), catalogue)


@functools.lru_cache(maxsize=2048)
def _compiled(text: str, catalogue: Catalogue) -> Predicate:
    cond = json.loads(text)
    errors = validate(cond, catalogue, "event")
    if errors:
        raise InvalidCondition(errors)
    compiler = Compiler()
    root, _cost = compiler.compile(build(cond, catalogue))
    return Predicate(root, compiler.size)
