"""The peers: json-logic-qubit 0.9.1, panzi-json-logic 1.0.1 and business-rules 1.1.1, each with a
translator from our condition JSON and a data adapter, written as a fair user of each library would.

Fairness notes (also in bench/README.md):
- Text is folded once per ticket in the adapter (common.prepare) and the rules' keywords are
  folded at translation time, so each library does plain substring tests; datetimes become epoch
  seconds (JsonLogic) or ages in hours (business-rules), which they can compare.
- Only what a library lacks is added through its own extension point: JsonLogic gets a "regex"
  operation (add_operation / the operations table); business-rules gets a text type with the
  negated operators it has no name for (not equal, does not contain, ...). Everything else uses
  the libraries' built-in operators; business-rules has no `not`, so negations are pushed down to
  the leaves (De Morgan) at translation time.
- Empty values: both JsonLogic libraries coerce null in comparisons (panzi: null < 5 is true), and
  business-rules refuses None for numbers, so comparisons on fields that can be empty
  (common.NULLABLE_NUMBERS) are guarded with an explicit "is set" test, as a correct adapter must.

The two JsonLogic libraries both install a top-level package `json_logic`. They are installed
side by side into bench/rules/.deps/<name> (see the Makefile's bench-rules target) and loaded
here under fresh module names (json_logic_qubit, json_logic_panzi) with importlib.
"""
from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timezone
from pathlib import Path

import regex

from common import FIELDS, NULLABLE_NUMBERS, PRIORITY_RANK, fold

DEPS = Path(__file__).resolve().parent / ".deps"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_UNIT_S = {"minutes": 60, "hours": 3600}
_REGEX_FLAGS = regex.IGNORECASE | regex.V0


def _value(field, x):
    kind = FIELDS[field]
    if x is None:
        return None
    if kind == "text":
        return [fold(v) for v in x] if isinstance(x, list) else fold(x)
    if kind == "priority":
        return [PRIORITY_RANK[v] for v in x] if isinstance(x, list) else PRIORITY_RANK[x]
    return x


def _regex_search(pattern, text) -> bool:
    return bool(text) and regex.search(pattern, text, flags=_REGEX_FLAGS) is not None


# =============================================================================================
# JsonLogic (both libraries take the same rules and data)
def load_jsonlogic(name: str):
    """Import bench/rules/.deps/<name>/json_logic as module json_logic_<name>; -> (module, apply)."""
    folder = DEPS / name
    init = folder / "json_logic" / "__init__.py"
    if not init.exists():
        raise FileNotFoundError(f"{init} missing: run `make bench-rules` (it pip-installs the peers there)")
    mod_name = f"json_logic_{name}"
    if mod_name in sys.modules:
        mod = sys.modules[mod_name]
    else:
        # qubit imports `six` from its folder: put the folder on sys.path while importing
        sys.path.insert(0, str(folder))
        try:
            spec = importlib.util.spec_from_file_location(mod_name, init,
                                                          submodule_search_locations=[str(init.parent)])
            mod = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = mod
            spec.loader.exec_module(mod)
        finally:
            sys.path.remove(str(folder))
    return mod


# "contact.tier" and "cf.order_total" are paths into nested objects for JsonLogic, so a field
# that is also such a head ("contact", the contact's id) moves to "<head>.id".
_HEADS = {f.split(".", 1)[0] for f in FIELDS if "." in f}


def jl_var(field: str) -> dict:
    return {"var": f"{field}.id" if field in _HEADS else field}


def to_jsonlogic(cond: dict) -> dict:
    if "all" in cond:
        return {"and": [to_jsonlogic(c) for c in cond["all"]]}
    if "any" in cond:
        return {"or": [to_jsonlogic(c) for c in cond["any"]]}
    if "not" in cond:
        return {"!": [to_jsonlogic(cond["not"])]}
    field, op = cond["field"], cond["op"]
    kind = FIELDS[field]
    var = jl_var(field)
    x = _value(field, cond.get("value"))
    if kind in ("number",) and field in NULLABLE_NUMBERS:
        guard = {"!==": [var, None]}
    else:
        guard = None

    def guarded(expr):
        return {"and": [guard, expr]} if guard else expr

    if op == "is_empty":
        return {"!": [var]}           # null, "" and [] are falsy (numbers are never tested so)
    if op == "is_not_empty":
        return {"!!": [var]}
    if op == "eq":
        return {"===": [var, x]}
    if op == "neq":
        return {"!==": [var, x]}
    if op == "in":
        return {"in": [var, x]}
    if op == "not_in":
        return {"!": [{"in": [var, x]}]}
    if op == "contains":
        return {"in": [x, var]}
    if op == "not_contains":
        return {"!": [{"in": [x, var]}]}
    if op == "contains_any":
        return {"or": [{"in": [k, var]} for k in x]}
    if op == "starts_with":
        return {"==": [{"substr": [var, 0, len(x)]}, x]}
    if op == "regex":
        return {"regex": [cond["value"], var]}
    cmp = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    if op in cmp:
        return guarded({cmp[op]: [var, x]})
    if op == "between":
        return guarded({"<=": [x[0], var, x[1]]})
    if op in ("older_than", "within"):
        span = x * _UNIT_S[cond.get("unit", "hours")]
        age = {"-": [{"var": "now"}, var]}
        return {"and": [{"!==": [var, None]}, {">" if op == "older_than" else "<=": [age, span]}]}
    raise ValueError(f"jsonlogic: unsupported op {op!r}")


def jsonlogic_data(d: dict) -> dict:
    """Prepared ticket -> JsonLogic data: nested objects for dotted names, epoch seconds for times."""
    out: dict = {head: {} for head in _HEADS}
    for k, v in d.items():
        if isinstance(v, datetime):
            v = (v - EPOCH).total_seconds()
        if "." in k:
            head, tail = k.split(".", 1)
            out[head][tail] = v
        elif k in _HEADS:
            out[k]["id"] = v
        else:
            out[k] = v
    return out


def make_jsonlogic_engine(name: str, rules: list[tuple[int, dict]]):
    mod = load_jsonlogic(name)
    translated = [(key, to_jsonlogic(cond)) for key, cond in rules]
    if name == "qubit":
        mod.add_operation("regex", _regex_search)
        apply = mod.jsonLogic

        def fire(data):
            return [key for key, logic in translated if apply(logic, data)]
    else:
        apply_mod = sys.modules[f"json_logic_{name}.apply"]
        builtins = sys.modules[f"json_logic_{name}.builtins"]
        ops = dict(builtins.BUILTINS)
        ops["regex"] = lambda data, pattern, text, *_: _regex_search(pattern, text)
        apply = apply_mod.apply
        to_bool = builtins.to_bool

        def fire(data):
            return [key for key, logic in translated if to_bool(apply(logic, data, ops))]
    version = _dist_version(DEPS / name, {"qubit": "json_logic_qubit", "panzi": "panzi_json_logic"}[name])
    return fire, translated, version


def _dist_version(folder: Path, dist: str) -> str:
    hits = sorted(folder.glob(f"{dist}-*.dist-info"))
    return hits[0].name[len(dist) + 1:-len(".dist-info")] if hits else "?"


# =============================================================================================
# business-rules
def make_business_rules_engine(rules: list[tuple[int, dict]]):
    import business_rules
    from business_rules import engine as br_engine
    from business_rules.fields import FIELD_TEXT
    from business_rules.operators import (BooleanType, NumericType, SelectMultipleType, SelectType,
                                          StringType, type_operator)
    from business_rules.variables import BaseVariables, rule_variable

    class FoldedText(StringType):
        """StringType plus the negations business-rules has no operator for (data is pre-folded)."""
        name = "folded_text"

        @type_operator(FIELD_TEXT)
        def not_equal_to(self, other):
            return self.value != other

        @type_operator(FIELD_TEXT)
        def does_not_contain(self, other):
            return other not in self.value

        @type_operator(FIELD_TEXT)
        def not_starts_with(self, other):
            return not self.value.startswith(other)

        @type_operator(FIELD_TEXT)
        def matches(self, pattern):
            return _regex_search(pattern, self.value)

        @type_operator(FIELD_TEXT)
        def does_not_match(self, pattern):
            return not _regex_search(pattern, self.value)

    variables: dict[str, tuple[type, object]] = {}  # name -> (field type, getter(prepared) -> value)

    def var(name, ftype, getter):
        variables.setdefault(name, (ftype, getter))
        return name

    def vname(field, suffix=""):
        return field.replace(".", "__") + suffix

    def leaf(c, neg: bool) -> dict:
        """Our leaf (negated if neg) as a business-rules condition (maybe an any/all group)."""
        field, op = c["field"], c["op"]
        kind = FIELDS[field]
        x = _value(field, c.get("value"))

        def cond(name, operator, value=None):
            return {"name": name, "operator": operator, "value": value}

        def any_(*items):
            return {"any": list(items)}

        def all_(*items):
            return {"all": list(items)}

        if op in ("is_empty", "is_not_empty"):
            name = var(vname(field, "__empty"), BooleanType,
                       lambda d, f=field: d[f] is None or d[f] == "" or d[f] == [])
            return cond(name, "is_true" if (op == "is_empty") != neg else "is_false")
        if kind == "text":
            name = var(vname(field), FoldedText, lambda d, f=field: d[f])
            if op == "contains_any":
                return any_(*[cond(name, "contains", k) for k in x]) if not neg else \
                    all_(*[cond(name, "does_not_contain", k) for k in x])
            pos, negop = {"eq": ("equal_to", "not_equal_to"), "neq": ("not_equal_to", "equal_to"),
                          "contains": ("contains", "does_not_contain"),
                          "not_contains": ("does_not_contain", "contains"),
                          "starts_with": ("starts_with", "not_starts_with"),
                          "regex": ("matches", "does_not_match")}[op]
            # eq: an empty value never equals; "" == x is false already since rule values are not empty
            assert x != "" or op not in ("eq", "neq"), "empty text value"
            if op == "regex":
                x = c["value"]
            return cond(name, negop if neg else pos, x)
        if kind in ("enum", "ref") or (kind == "list"):
            if kind == "list":
                one = var(vname(field, "__one"), SelectType, lambda d, f=field: d[f] or [])
                many = var(vname(field, "__many"), SelectMultipleType, lambda d, f=field: d[f] or [])
                table = {"contains": (one, "contains", "does_not_contain"),
                         "not_contains": (one, "does_not_contain", "contains"),
                         "contains_any": (many, "shares_at_least_one_element_with", "shares_no_elements_with")}
            else:
                one = var(vname(field, "__one"), SelectType,
                          lambda d, f=field: [] if d[f] is None else [d[f]])
                many = var(vname(field, "__many"), SelectMultipleType,
                           lambda d, f=field: [] if d[f] is None else [d[f]])
                table = {"eq": (one, "contains", "does_not_contain"), "neq": (one, "does_not_contain", "contains"),
                         "in": (many, "shares_at_least_one_element_with", "shares_no_elements_with"),
                         "not_in": (many, "shares_no_elements_with", "shares_at_least_one_element_with")}
            name, pos, negop = table[op]
            return cond(name, negop if neg else pos, x)
        if kind == "priority":
            name = var("priority", NumericType, lambda d: d["priority"])
            if op in ("eq", "neq", "in", "not_in"):
                sel = var("priority__many", SelectMultipleType, lambda d: [d["priority"]])
                vals = x if isinstance(x, list) else [x]
                positive = op in ("eq", "in")
                return cond(sel, "shares_at_least_one_element_with" if positive != neg else "shares_no_elements_with",
                            vals)
            pos = {"gt": "greater_than", "gte": "greater_than_or_equal_to", "lt": "less_than",
                   "lte": "less_than_or_equal_to"}
            flip = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}
            return cond(name, pos[flip[op]] if neg else pos[op], x)
        if kind == "bool":
            has = var(vname(field, "__set"), BooleanType, lambda d, f=field: d[f] is not None)
            name = var(vname(field), BooleanType, lambda d, f=field: bool(d[f]))
            want = "is_true" if x else "is_false"
            other = "is_false" if x else "is_true"
            return all_(cond(has, "is_true"), cond(name, want)) if not neg else \
                any_(cond(has, "is_false"), cond(name, other))
        if kind in ("number", "datetime"):
            if kind == "datetime":  # older_than / within -> the value's age in the rule's unit
                unit = c.get("unit", "hours")
                name = var(vname(field, f"__age_{unit}"), NumericType,
                           lambda d, f=field, s=_UNIT_S[unit]: (d["now"] - d[f]).total_seconds() / s)
                op = {"older_than": "gt", "within": "lte"}[op]
                nullable = True
            else:
                name = var(vname(field), NumericType, lambda d, f=field: d[f])
                nullable = field in NULLABLE_NUMBERS
            has = var(vname(field, "__set"), BooleanType, lambda d, f=field: d[f] is not None) if nullable else None
            pos = {"gt": "greater_than", "gte": "greater_than_or_equal_to", "lt": "less_than",
                   "lte": "less_than_or_equal_to", "eq": "equal_to"}
            if op == "neq":  # holds for an empty value: the negation of "is set and equal"
                op, neg = "eq", not neg
            if op == "between":
                test = all_(cond(name, "greater_than_or_equal_to", x[0]), cond(name, "less_than_or_equal_to", x[1]))
                ntest = any_(cond(name, "less_than", x[0]), cond(name, "greater_than", x[1]))
            elif op == "eq":
                test = cond(name, "equal_to", x)
                ntest = any_(cond(name, "less_than", x), cond(name, "greater_than", x))
            else:
                flip = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}
                test, ntest = cond(name, pos[op], x), cond(name, pos[flip[op]], x)
            if not neg:
                return all_(cond(has, "is_true"), test) if has else test
            return any_(cond(has, "is_false"), ntest) if has else ntest
        raise ValueError(f"business-rules: unsupported {field} {op}")

    def translate(c, neg=False) -> dict:
        if "all" in c or "any" in c:
            key = "all" if "all" in c else "any"
            if neg:
                key = "any" if key == "all" else "all"
            return {key: [translate(x, neg) for x in c.get("all", c.get("any"))]}
        if "not" in c:
            return translate(c["not"], not neg)
        return leaf(c, neg)

    translated = [{"conditions": translate(cond), "actions": [{"name": "fire", "params": {"key": key}}]}
                  for key, cond in rules]
    for r in translated:
        _check_nonempty_groups(r["conditions"])

    # One Variables class for the rule set: a method per variable, reading the prepared ticket.
    attrs = {}
    for name, (ftype, getter) in variables.items():
        def method(self, _g=getter):
            return _g(self.d)
        method.__name__ = name
        attrs[name] = rule_variable(ftype)(method)

    def __init__(self, d):
        self.d = d
    attrs["__init__"] = __init__
    TicketVariables = type("TicketVariables", (BaseVariables,), attrs)

    class Fired:
        def __init__(self):
            self.keys = []

        def fire(self, key):
            self.keys.append(key)

    run = br_engine.run

    def prepare(d):
        return TicketVariables(d)

    def fire(variables_obj):
        fired = Fired()
        for rule in translated:
            run(rule, variables_obj, fired)
        return fired.keys
    version = getattr(business_rules, "__version__", "1.1.1")
    return fire, prepare, translated, version


def _check_nonempty_groups(c):
    if "all" in c or "any" in c:
        items = c.get("all", c.get("any"))
        assert items, "business-rules refuses empty groups"
        for x in items:
            _check_nonempty_groups(x)
