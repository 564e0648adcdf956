"""Checking a condition when it is saved: every problem, on the row it belongs to.

A row is addressed by its path: dotted child indexes from the root ("" the root, "1.0" the first
row of the second part; a `not`'s child is index 0). validate() never raises on bad input: whatever
JSON it is given, it answers with a list of ConditionError (empty: the condition is fine).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from .fields import ALL_OPS, CHANGE_OPS, OPERATORS, TYPE_LABELS, Catalogue
from .values import BadValue, canonical

CONTEXTS = ("event", "query")
LEAF_KEYS = frozenset(("field", "op", "value", "unit"))
GROUP_KEYS = ("all", "any", "not")
MAX_DEPTH = 12
MAX_NODES = 1000


@dataclass(frozen=True)
class ConditionError:
    path: str
    message: Any  # a lazy string: rendered in the reader's language

    def __str__(self) -> str:
        return f"{self.path or 'condition'}: {self.message}"

    def as_dict(self) -> dict:
        return {"path": self.path, "message": str(self.message)}


class InvalidCondition(ValueError):
    """Raised by the compilers for a condition that doesn't validate; `errors` says why."""

    def __init__(self, errors: list[ConditionError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


def validate(cond: Any, catalogue: Catalogue, context: str = "event") -> list[ConditionError]:
    """Problems of `cond` in `context`: "event" (rules, macros) or "query" (views, time rules,
    backtests, SQL), where change operators have nothing to read."""
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS}, not {context!r}")
    checker = _Checker(catalogue, context)
    checker.walk(cond, "", 0)
    return checker.errors


def child_path(path: str, index: int) -> str:
    return f"{path}.{index}" if path else str(index)


class _Checker:
    def __init__(self, catalogue: Catalogue, context: str):
        self.catalogue = catalogue
        self.context = context
        self.errors: list[ConditionError] = []
        self.nodes = 0

    def error(self, path: str, message) -> None:
        self.errors.append(ConditionError(path, message))

    def walk(self, cond: Any, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes == MAX_NODES + 1:
            self.error(path, _l("The condition has too many parts (at most %(num)d).", num=MAX_NODES))
        if self.nodes > MAX_NODES:
            return
        if not isinstance(cond, dict):
            self.error(path, _l("Expected a group (all, any, not) or a row (field, op, value)."))
            return
        groups = [k for k in GROUP_KEYS if k in cond]
        if not groups:
            self.leaf(cond, path)
            return
        if len(cond) != 1:
            extra = sorted(str(k) for k in cond if k != groups[0])
            self.error(path, _l("A group has exactly one of all, any or not; remove %(keys)s.", keys=", ".join(extra)))
            return
        if depth >= MAX_DEPTH:
            self.error(path, _l("Groups are nested too deeply (at most %(num)d levels).", num=MAX_DEPTH))
            return
        kind = groups[0]
        body = cond[kind]
        if kind == "not":
            self.walk(body, child_path(path, 0), depth + 1)
        elif not isinstance(body, list):
            self.error(path, _l("'%(group)s' must be a list of conditions.", group=kind))
        else:
            for i, child in enumerate(body):
                self.walk(child, child_path(path, i), depth + 1)

    def leaf(self, cond: dict, path: str) -> None:
        unknown = sorted(str(k) for k in cond if k not in LEAF_KEYS)
        if unknown:
            self.error(path, _l("Unknown keys: %(keys)s.", keys=", ".join(unknown)))
            return
        name, op = cond.get("field"), cond.get("op")
        if not isinstance(name, str) or not name:
            self.error(path, _l("Choose a field."))
            return
        spec = self.catalogue.get(name)
        if spec is None:
            self.error(path, _l("Unknown field '%(field)s'.", field=name))
            return
        if not isinstance(op, str) or not op:
            self.error(path, _l("Choose an operator."))
            return
        if op not in ALL_OPS:
            self.error(path, _l("Unknown operator '%(op)s'.", op=op))
            return
        if op in CHANGE_OPS:
            if self.context == "query":
                self.error(path, _l("'%(op)s' only works in rules that react to a change; views, time-based "
                                    "rules and backtests look at tickets as they are.", op=op))
                return
            if not spec.changeable:
                self.error(path, _l("Changes of %(field)s aren't recorded, so '%(op)s' can't be used with it.",
                                    field=spec.label, op=op))
                return
        elif op not in OPERATORS[spec.type]:
            self.error(path, _l("'%(op)s' doesn't apply to a %(type)s field; use %(ops)s.", op=op,
                                type=TYPE_LABELS[spec.type], ops=", ".join(OPERATORS[spec.type])))
            return
        kind = spec.value_kind(op)
        if kind is None and cond.get("value") is not None:
            self.error(path, _l("'%(op)s' takes no value.", op=op))
            return
        unit = cond.get("unit")
        if unit is not None and kind != "duration":
            self.error(path, _l("'%(op)s' takes no unit.", op=op))
            return
        try:
            canonical(spec, op, cond.get("value"), unit)
        except BadValue as exc:
            self.error(path, exc.message)
