"""A validated condition as a small tree both compilers walk: values canonical, groups simplified.

Simplifications (they keep the meaning): nested all-in-all / any-in-any are flattened, repeated
parts dropped, constants folded, not(not(x)) is x, and a text `contains_any` becomes an `any` of
`contains` leaves, so each keyword is one leaf that rules can share.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Union

from .fields import Catalogue, FieldSpec
from .values import canonical


@dataclass(frozen=True)
class Leaf:
    name: str
    op: str
    value: Any  # canonical (hashable): two leaves with the same (name, op, value) are the same test
    spec: FieldSpec = field(compare=False, repr=False)


@dataclass(frozen=True)
class All:
    children: tuple


@dataclass(frozen=True)
class AnyOf:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class Const:
    value: bool


TRUE, FALSE = Const(True), Const(False)
Node = Union[Leaf, All, AnyOf, Not, Const]


def build(cond: dict, catalogue: Catalogue) -> Node:
    """The tree of a condition that validate() accepted."""
    if "all" in cond:
        return make_group(All, [build(c, catalogue) for c in cond["all"]])
    if "any" in cond:
        return make_group(AnyOf, [build(c, catalogue) for c in cond["any"]])
    if "not" in cond:
        return make_not(build(cond["not"], catalogue))
    spec = catalogue.get(cond["field"])
    op = cond["op"]
    value = canonical(spec, op, cond.get("value"), cond.get("unit"))
    if spec.type == "text" and op == "contains_any":
        return make_group(AnyOf, [Leaf(spec.name, "contains", word, spec) for word in value])
    return Leaf(spec.name, op, value, spec)


def make_group(kind: type, children: Iterable[Node]) -> Node:
    # all: TRUE parts drop out, a FALSE part decides; any: the other way round.
    neutral, absorbing = (TRUE, FALSE) if kind is All else (FALSE, TRUE)
    parts: list[Node] = []
    for child in children:
        for part in (child.children if isinstance(child, kind) else (child,)):
            if part == absorbing:
                return absorbing
            if part != neutral and part not in parts:
                parts.append(part)
    if not parts:
        return neutral
    return parts[0] if len(parts) == 1 else kind(tuple(parts))


def make_not(child: Node) -> Node:
    if isinstance(child, Not):
        return child.child
    if isinstance(child, Const):
        return FALSE if child.value else TRUE
    return Not(child)


def leaves(node: Node) -> Iterable[Leaf]:
    if isinstance(node, Leaf):
        yield node
    elif isinstance(node, (All, AnyOf)):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Not):
        yield from leaves(node.child)
