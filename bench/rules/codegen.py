"""The practical limit: per-rule generated Python `if` code.

Each rule becomes one function whose body is a single boolean expression with the condition's
constants inlined (folded, priority ranks resolved, regexes pre-compiled, time units as
timedelta constants). The source is exec'd once. It runs over the prepared ticket (text folded
once per ticket), so per ticket the cost is: one prepare + one call per rule.
"""
from __future__ import annotations

from datetime import timedelta

import regex

from common import FIELDS, PRIORITY_RANK, fold

_UNIT = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1)}


class _Gen:
    def __init__(self):
        self.consts: dict[str, object] = {}

    def const(self, value) -> str:
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def value(self, field, x):
        kind = FIELDS[field]
        if x is None:
            return None
        if kind == "text":
            return [fold(v) for v in x] if isinstance(x, list) else fold(x)
        if kind == "priority":
            return [PRIORITY_RANK[v] for v in x] if isinstance(x, list) else PRIORITY_RANK[x]
        return x

    def expr(self, cond: dict) -> str:
        if "all" in cond:
            parts = [self.expr(c) for c in cond["all"]]
            return "(" + " and ".join(parts) + ")" if parts else "True"
        if "any" in cond:
            parts = [self.expr(c) for c in cond["any"]]
            return "(" + " or ".join(parts) + ")" if parts else "False"
        if "not" in cond:
            return f"(not {self.expr(cond['not'])})"
        return self.leaf(cond)

    def leaf(self, cond: dict) -> str:
        field, op = cond["field"], cond["op"]
        kind = FIELDS[field]
        get = f"d[{field!r}]"
        x = self.value(field, cond.get("value"))
        text = kind == "text"  # prepared text is never None ("" when empty)
        if op == "is_empty":
            return f"(not {get})" if text or kind in ("list", "ref", "enum") else f"({get} is None)"
        if op == "is_not_empty":
            return f"(not not {get})" if text or kind in ("list", "ref", "enum") else f"({get} is not None)"
        if op == "eq":
            if kind == "bool":
                return f"({get} is {x!r})"
            return f"({get} == {x!r})" if not (text and x == "") else "False"
        if op == "neq":
            return f"({get} != {x!r})"
        if op == "in":
            return f"({get} in {tuple(x)!r})"
        if op == "not_in":
            return f"({get} not in {tuple(x)!r})"
        if op == "contains":
            return f"({x!r} in {get})" if text else f"({get} is not None and {x!r} in {get})"
        if op == "not_contains":
            return f"({x!r} not in {get})" if text else f"({get} is None or {x!r} not in {get})"
        if op == "contains_any":
            if text:
                return "(" + " or ".join(f"{k!r} in {get}" for k in x) + ")"
            return f"(not {self.const(frozenset(x))}.isdisjoint({get} or ()))"
        if op == "starts_with":
            return f"{get}.startswith({x!r})"
        if op == "regex":
            pat = self.const(regex.compile(cond["value"], flags=regex.IGNORECASE | regex.V0))
            return f"({get} != '' and {pat}.search({get}) is not None)"
        cmp = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        if op in cmp:
            if kind == "priority":
                return f"({get} {cmp[op]} {x!r})"
            return f"((v := {get}) is not None and v {cmp[op]} {x!r})"
        if op == "between":
            return f"((v := {get}) is not None and {x[0]!r} <= v <= {x[1]!r})"
        if op in ("older_than", "within"):
            span = self.const(x * _UNIT[cond.get("unit", "hours")])
            sign = ">" if op == "older_than" else "<="
            return f"((v := {get}) is not None and d['now'] - v {sign} {span})"
        raise ValueError(f"codegen: unsupported op {op!r}")


def source(rules: list[tuple[int, dict]]) -> tuple[str, dict]:
    gen = _Gen()
    lines = []
    for key, cond in rules:
        lines.append(f"def rule_{key}(d):\n    return {gen.expr(cond)}\n")
    lines.append("RULES = [" + ", ".join(f"({key!r}, rule_{key})" for key, _ in rules) + "]\n")
    return "\n".join(lines), gen.consts


def build(rules: list[tuple[int, dict]]):
    """-> fire(prepared) -> [keys], and the generated source (for inspection)."""
    src, consts = source(rules)
    namespace: dict = dict(consts)
    exec(compile(src, "<bench-rules-generated>", "exec"), namespace)
    pairs = namespace["RULES"]

    def fire(d: dict) -> list:
        return [key for key, f in pairs if f(d)]
    return fire, src
