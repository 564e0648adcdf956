"""The builder's form fields <-> condition and action JSON. Pure functions: no request, no database.

The condition editor posts one set of inputs per node of the tree, named by the node's place in
the *editor* (not in the JSON; see below):

    <name>[meta][context]            event | query  (query: no change operators)
    <name>[meta][department]         the department whose choices the editor shows ("" = all)
    <name>[r][kind]                  the root group: all | any | none
    <name>[r.1][kind]                a nested group (the root's second child)
    <name>[r.0][field]               a row: field, op, value (repeated for lists), value2 (between's
    <name>[r.0][op]                  upper end), unit (older_than/within), kw (keywords typed but not
    <name>[r.0][value] ...           yet turned into chips: split on commas, 、，; and new lines)

A "none" group is `{"not": ...}`: with one child `{"not": child}`, with several
`{"not": {"any": [...]}}` ("none of these"). Editor ids are positions in the editor's tree; error
paths are positions in the JSON (spec: "" = root, "1", "1.0"; a not's child is index 0), so each
editor node carries the JSON paths whose errors it shows (`Node.paths`).

Actions post one set per row: <name>[<i>][type] and that type's settings (see ACTION_INPUTS).
A template (note, email subject/body, notification text) is two text areas, <key>_en and
<key>_zh: only English gives a plain string, both give {"en": ..., "zh": ...}.

Values keep what was typed when it doesn't parse ("abc" for a number), so validation reports it
on its row instead of the builder dropping it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

GROUP_KINDS = ("all", "any", "none")
NO_VALUE_OPS = frozenset({"is_empty", "is_not_empty", "changed"})
LIST_OPS = frozenset({"in", "not_in"})
DURATION_OPS = frozenset({"older_than", "within"})
CHANGE_OPS = frozenset({"changed", "changed_to", "changed_from"})
UNITS = ("minutes", "hours")
KEYWORD_SPLIT = re.compile(r"[,，、;；\n\r]+")
ROOT = "r"
_ID = r"r(?:\.\d+)*"


# ------------------------------------------------------------------------------------------
# What the editor needs to know about a field
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldUI:
    """One field of the catalogue, as the editor shows it (built from the catalogue's description)."""

    name: str
    type: str                   # text, enum, priority, ref, number, bool, date, datetime, list
    label: str = ""
    category: str = ""
    ops: tuple[str, ...] = ()
    choices: tuple[tuple[Any, str], ...] | None = None   # (value, label); None: free input
    widgets: tuple[tuple[str, str], ...] = ()             # (op, widget) where the catalogue says which
    op_labels: tuple[tuple[str, str], ...] = ()           # (op, label) from the catalogue

    def choice_for(self, raw: str) -> Any:
        """The choice whose value reads `raw` (form values are text); `raw` itself if none does."""
        for value, _label in self.choices or ():
            if str(value) == raw or (isinstance(value, bool) and str(value).lower() == raw):
                return value
        return raw

    def label_of(self, value: Any) -> str:
        for choice, label in self.choices or ():
            if choice == value or str(choice) == str(value):
                return str(label)
        return "" if value is None else str(value)


def widget_for(spec: FieldUI | None, op: str | None) -> str:
    """Which value input a row shows for this field and operator."""
    if spec is None or not op or op in NO_VALUE_OPS:
        return "none"
    told = dict(spec.widgets).get(op)
    if told is not None:
        return told
    if op in DURATION_OPS:
        return "duration"
    if op == "contains_any":
        return "multi" if spec.choices and spec.type == "list" else "keywords"
    if op in LIST_OPS:
        return "multi" if spec.choices else "keywords"
    if op == "between":
        return {"number": "number_range", "date": "date_range", "datetime": "datetime_range"}.get(spec.type,
                                                                                             "text_range")
    if spec.type == "bool":
        return "bool"
    if spec.choices:
        return "select"
    if spec.type == "ref":
        return "number"
    return {"number": "number", "date": "date", "datetime": "datetime"}.get(spec.type, "text")


def takes_value(op: str) -> bool:
    return bool(op) and op not in NO_VALUE_OPS


# ------------------------------------------------------------------------------------------
# Scalars: text <-> JSON
# ------------------------------------------------------------------------------------------
def _number(raw: str) -> Any:
    text = raw.strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return raw
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def local_to_iso(raw: str, tz: str | None) -> str:
    """A datetime-local input ("2026-03-01T09:30", the viewer's zone) -> ISO UTC "2026-03-01T01:30:00Z"."""
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        return raw
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(tz or "UTC"))
    return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_to_local(value: Any, tz: str | None) -> str:
    """The reverse of local_to_iso, for the input's value ("" if unreadable, the raw text kept)."""
    if not isinstance(value, str) or not value:
        return "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(tz or "UTC")).strftime("%Y-%m-%dT%H:%M")


def parse_scalar(spec: FieldUI | None, raw: str, tz: str | None = None) -> Any:
    """One typed value from its input's text."""
    raw = raw if isinstance(raw, str) else str(raw)
    if spec is None:
        return raw
    if spec.choices:
        return spec.choice_for(raw)
    if spec.type == "number":
        return _number(raw) if raw.strip() else raw
    if spec.type == "ref":
        return int(raw) if raw.strip().isdigit() else raw
    if spec.type == "bool":
        return {"true": True, "false": False}.get(raw.strip().lower(), raw)
    if spec.type == "datetime":
        return local_to_iso(raw, tz) if raw.strip() else raw
    return raw


def format_scalar(spec: FieldUI | None, value: Any, tz: str | None = None) -> str:
    """The input text for one typed value (parse_scalar's inverse)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if spec is not None and spec.type == "datetime" and not spec.choices:
        return iso_to_local(value, tz)
    return str(value)


def split_keywords(*texts: str) -> list[str]:
    """Keywords from chips and typed text, in order, without blanks or repeats."""
    seen: list[str] = []
    for text in texts:
        for word in KEYWORD_SPLIT.split(text or ""):
            word = word.strip()
            if word and word not in seen:
                seen.append(word)
    return seen


# ------------------------------------------------------------------------------------------
# The editor's tree
# ------------------------------------------------------------------------------------------
@dataclass
class Node:
    """A group (kind all/any/none, children) or a row (kind "row", leaf = {field, op, value, unit})."""

    kind: str
    children: list["Node"] = dc_field(default_factory=list)
    leaf: dict = dc_field(default_factory=dict)
    paths: tuple[str, ...] = ()      # JSON paths whose errors this node shows

    @property
    def is_group(self) -> bool:
        return self.kind != "row"


def blank_row() -> Node:
    return Node("row", leaf={"field": "", "op": ""})


def tree_from_condition(condition: Any) -> Node:
    """The editor's tree for a condition; the root is always a group."""
    if isinstance(condition, Mapping) and _group_kind(condition) is not None:
        return _node(condition, "")
    if condition in (None, {}, ""):
        return Node("all", paths=("",))
    # A lone leaf (or something unreadable) at the root: show it inside an "all" group.
    return Node("all", [_node(condition, "")], paths=())


def _group_kind(cond: Mapping) -> str | None:
    if len(cond) != 1:
        return None
    key = next(iter(cond))
    return key if key in ("all", "any", "not") else None


def _child_path(path: str, index: int) -> str:
    return f"{path}.{index}" if path else str(index)


def _node(cond: Any, path: str) -> Node:
    if isinstance(cond, Mapping):
        kind = _group_kind(cond)
        if kind in ("all", "any"):
            items = cond[kind] if isinstance(cond[kind], list) else []
            return Node(kind, [_node(c, _child_path(path, i)) for i, c in enumerate(items)], paths=(path,))
        if kind == "not":
            inner, inner_path = cond["not"], _child_path(path, 0)
            if isinstance(inner, Mapping) and _group_kind(inner) == "any" and isinstance(inner["any"], list):
                children = [_node(c, _child_path(inner_path, i)) for i, c in enumerate(inner["any"])]
                return Node("none", children, paths=(path, inner_path))
            return Node("none", [_node(inner, inner_path)], paths=(path,))
        leaf = {k: cond[k] for k in ("field", "op", "value", "unit") if k in cond}
        return Node("row", leaf={"field": leaf.get("field") or "", "op": leaf.get("op") or "", **{
            k: v for k, v in leaf.items() if k in ("value", "unit")}}, paths=(path,))
    return Node("row", leaf={"field": "", "op": ""}, paths=(path,))


def condition_from_tree(node: Node) -> dict:
    """The JSON condition for an editor tree (groups and rows as they are; blanks included)."""
    if not node.is_group:
        return dict(node.leaf)
    children = [condition_from_tree(c) for c in node.children]
    if node.kind == "none":
        if len(children) == 1:
            return {"not": children[0]}
        return {"not": {"any": children}}
    return {node.kind: children}


def find(node: Node, node_id: str) -> Node | None:
    """The node at editor id "r.1.0"."""
    if not re.fullmatch(_ID, node_id or ""):
        return None
    current = node
    for part in node_id.split(".")[1:]:
        index = int(part)
        if not current.is_group or index >= len(current.children):
            return None
        current = current.children[index]
    return current


def apply_op(root: Node, op: str, node_id: str, *, max_depth: int = 4) -> Node:
    """A structural change asked for by a button: add_row / add_group at a group, remove a node,
    kind (set from the posted value, nothing to do here). Unknown ops and ids change nothing."""
    target = find(root, node_id)
    if target is None:
        return root
    depth = node_id.count(".")
    if op == "add_row" and target.is_group:
        target.children.append(blank_row())
    elif op == "add_group" and target.is_group and depth + 1 < max_depth:
        target.children.append(Node("all" if target.kind == "any" else "any", [blank_row()]))
    elif op == "remove" and node_id != ROOT:
        parent = find(root, node_id.rsplit(".", 1)[0])
        index = int(node_id.rsplit(".", 1)[1])
        if parent is not None and index < len(parent.children):
            del parent.children[index]
    return root


def _ids_in(form: Mapping[str, Any], name: str) -> dict[str, dict[str, list[str]]]:
    pattern = re.compile(rf"^{re.escape(name)}\[({_ID})\]\[(\w+)\]$")
    found: dict[str, dict[str, list[str]]] = {}
    for key in _keys(form):
        match = pattern.match(key)
        if match:
            found.setdefault(match.group(1), {})[match.group(2)] = _getlist(form, key)
    return found


def tree_from_form(form: Mapping[str, Any], name: str, fields: Mapping[str, FieldUI],
                   tz: str | None = None) -> Node:
    """The editor's tree from posted inputs (see the module docstring)."""
    inputs = _ids_in(form, name)

    def build(node_id: str) -> Node:
        own = inputs.get(node_id, {})
        child_ids = sorted((i for i in inputs if i.rsplit(".", 1)[0] == node_id and i != node_id),
                           key=lambda i: int(i.rsplit(".", 1)[1]))
        kind = (own.get("kind") or [""])[0]
        if kind in GROUP_KINDS or node_id == ROOT:
            return Node(kind if kind in GROUP_KINDS else "all", [build(c) for c in child_ids])
        return Node("row", leaf=_leaf_from_inputs(own, fields, tz))

    return build(ROOT)


def _leaf_from_inputs(own: Mapping[str, list[str]], fields: Mapping[str, FieldUI], tz: str | None) -> dict:
    field = (own.get("field") or [""])[0]
    op = (own.get("op") or [""])[0]
    spec = fields.get(field)
    leaf: dict[str, Any] = {"field": field, "op": op}
    if not takes_value(op):
        return leaf
    values = [v for v in own.get("value", [])]
    kind = widget_for(spec, op)
    if kind == "keywords":
        words = split_keywords(*values, *own.get("kw", []))
        if spec is not None and spec.type in ("ref", "number") and not spec.choices:
            leaf["value"] = [parse_scalar(spec, w, tz) for w in words]
        else:
            leaf["value"] = words
    elif kind == "multi":
        leaf["value"] = [parse_scalar(spec, v, tz) for v in values if v != ""]
    elif kind.endswith("_range"):
        lo = values[0] if values else ""
        hi = (own.get("value2") or [""])[0]
        leaf["value"] = [parse_scalar(spec, lo, tz), parse_scalar(spec, hi, tz)]
    elif kind == "duration":
        raw = values[0] if values else ""
        leaf["value"] = _number(raw) if raw.strip() else raw
        unit = (own.get("unit") or ["hours"])[0]
        leaf["unit"] = unit
    else:
        leaf["value"] = parse_scalar(spec, values[0] if values else "", tz)
    return leaf


def condition_from_form(form: Mapping[str, Any], name: str, fields: Mapping[str, FieldUI],
                        tz: str | None = None) -> dict:
    return condition_from_tree(tree_from_form(form, name, fields, tz))


def meta_from_form(form: Mapping[str, Any], name: str) -> dict[str, str]:
    return {key: (_getlist(form, f"{name}[meta][{key}]") or [""])[0] for key in ("context", "department")}


def row_inputs(leaf: Mapping[str, Any], spec: FieldUI | None, tz: str | None = None) -> dict[str, Any]:
    """What a row's value inputs show: {"widget", "value": str, "values": [str], "value2", "unit"}."""
    op = leaf.get("op") or ""
    widget = widget_for(spec, op)
    value = leaf.get("value")
    shown: dict[str, Any] = {"widget": widget, "value": "", "values": [], "value2": "", "unit": "hours"}
    if widget in ("keywords", "multi"):
        items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        shown["values"] = [format_scalar(spec, v, tz) for v in items]
    elif widget.endswith("_range"):
        pair = value if isinstance(value, list) else [value, None]
        pair = (list(pair) + [None, None])[:2]
        shown["value"], shown["value2"] = (format_scalar(spec, v, tz) for v in pair)
    elif widget == "duration":
        shown["value"] = format_scalar(None, value, tz)
        shown["unit"] = leaf.get("unit") if leaf.get("unit") in UNITS else "hours"
    elif widget != "none":
        shown["value"] = format_scalar(spec, value, tz)
    return shown


def form_from_tree(node: Node, name: str, fields: Mapping[str, FieldUI], tz: str | None = None,
                   node_id: str = ROOT) -> list[tuple[str, str]]:
    """The (input name, value) pairs the editor would post for this tree (what the template renders)."""
    pairs: list[tuple[str, str]] = []
    if node.is_group:
        pairs.append((f"{name}[{node_id}][kind]", node.kind))
        for i, child in enumerate(node.children):
            pairs += form_from_tree(child, name, fields, tz, f"{node_id}.{i}")
        return pairs
    leaf = node.leaf
    spec = fields.get(leaf.get("field") or "")
    pairs += [(f"{name}[{node_id}][field]", leaf.get("field") or ""), (f"{name}[{node_id}][op]", leaf.get("op") or "")]
    shown = row_inputs(leaf, spec, tz)
    key = f"{name}[{node_id}]"
    if shown["widget"] in ("keywords", "multi"):
        pairs += [(f"{key}[value]", v) for v in shown["values"]]
    elif shown["widget"].endswith("_range"):
        pairs += [(f"{key}[value]", shown["value"]), (f"{key}[value2]", shown["value2"])]
    elif shown["widget"] == "duration":
        pairs += [(f"{key}[value]", shown["value"]), (f"{key}[unit]", shown["unit"])]
    elif shown["widget"] != "none":
        pairs.append((f"{key}[value]", shown["value"]))
    return pairs


def errors_by_path(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Row errors keyed by JSON path ("" = root), from ConditionError-like objects (path, message),
    (path, message) pairs or a {path: message} dict; with `prefix` ("condition") only the keys under
    it ("condition.1.0" -> "1.0", "condition" -> "")."""
    items: list[tuple[str, str]] = []
    if isinstance(errors, Mapping):
        items = [(str(k), str(v)) for k, v in errors.items()]
    else:
        for e in errors or ():
            if isinstance(e, tuple):
                items.append((str(e[0]), str(e[1])))
            else:
                items.append((str(getattr(e, "path", "")), str(getattr(e, "message", e))))
    found: dict[str, list[str]] = {}
    for path, message in items:
        if prefix:
            if path == prefix:
                path = ""
            elif path.startswith(prefix + "."):
                path = path[len(prefix) + 1:]
            else:
                continue
        found.setdefault(path, []).append(message)
    return found


# ------------------------------------------------------------------------------------------
# Actions
# ------------------------------------------------------------------------------------------
TEMPLATE_KEYS = {"add_note": ("body",), "send_email": ("subject", "body"), "notify": ("text",)}
# The inputs of each action type besides its templates (see parse_action).
ACTION_INPUTS = {
    "set_field": ("field", "value"),
    "assign": ("assign_to", "agent", "team", "strategy"),
    "add_tags": ("tags", "kw"),
    "remove_tags": ("tags", "kw"),
    "add_note": (),
    "send_email": ("to", "address"),
    "notify": ("to", "agent"),
    "webhook": ("url", "secret"),
    "move_department": ("department", "team"),
    "stop": (),
}


def _int_or_raw(raw: str) -> Any:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else (raw or None)


def parse_template(en: str, zh: str) -> Any:
    en, zh = (en or "").replace("\r\n", "\n"), (zh or "").replace("\r\n", "\n")
    if zh.strip() and en.strip():
        return {"en": en, "zh": zh}
    if zh.strip():
        return {"zh": zh}
    return en


def template_inputs(template: Any) -> tuple[str, str]:
    """(en, zh) text areas for a template value."""
    if isinstance(template, Mapping):
        return str(template.get("en") or ""), str(template.get("zh") or "")
    return ("" if template is None else str(template)), ""


def parse_action(inputs: Mapping[str, list[str]], fields: Mapping[str, FieldUI], tz: str | None = None) -> dict:
    """One action from its row's inputs ({key: [values]})."""
    def one(key: str) -> str:
        return (inputs.get(key) or [""])[0]

    kind = one("type")
    action: dict[str, Any] = {"type": kind}
    if kind == "set_field":
        field = one("field")
        action["field"] = field
        raw = one("value")
        if field in ("team", "assignee"):
            action["value"] = _int_or_raw(raw)
        else:
            spec = fields.get(field)
            if spec is not None and spec.type in ("list",):
                action["value"] = split_keywords(*inputs.get("value", []))
            elif spec is not None and spec.type in ("number", "bool", "ref", "datetime") and not raw.strip():
                action["value"] = None
            else:
                action["value"] = parse_scalar(spec, raw, tz) if spec else raw
    elif kind == "assign":
        to = one("assign_to") or "team"
        value = one(to) if to in ("agent", "team", "strategy") else ""
        action[to if to in ("agent", "team", "strategy") else "team"] = (
            value or None if to == "strategy" else _int_or_raw(value))
    elif kind in ("add_tags", "remove_tags"):
        action["tags"] = split_keywords(*inputs.get("tags", []), *inputs.get("kw", []))
    elif kind == "send_email":
        action["to"] = one("to")
        if action["to"] == "address":
            action["address"] = one("address").strip()
    elif kind == "notify":
        action["to"] = one("to")
        if action["to"] == "agent":
            action["agent"] = _int_or_raw(one("agent"))
    elif kind == "webhook":
        action["url"] = one("url").strip()
        if one("secret"):
            action["secret"] = one("secret")
    elif kind == "move_department":
        action["department"] = _int_or_raw(one("department"))
        if one("team").strip():
            action["team"] = _int_or_raw(one("team"))
    for key in TEMPLATE_KEYS.get(kind, ()):
        action[key] = parse_template(one(f"{key}_en"), one(f"{key}_zh"))
    return action


def actions_from_form(form: Mapping[str, Any], name: str, fields: Mapping[str, FieldUI],
                      tz: str | None = None) -> list[dict]:
    pattern = re.compile(rf"^{re.escape(name)}\[(\d+)\]\[(\w+)\]$")
    rows: dict[int, dict[str, list[str]]] = {}
    for key in _keys(form):
        match = pattern.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = _getlist(form, key)
    return [parse_action(rows[i], fields, tz) for i in sorted(rows)]


def action_inputs(action: Mapping[str, Any], fields: Mapping[str, FieldUI], tz: str | None = None) -> dict[str, Any]:
    """What one action row's inputs show (parse_action's inverse): {input key: text or [texts]}."""
    kind = action.get("type") or ""
    shown: dict[str, Any] = {"type": kind}
    if kind == "set_field":
        field = action.get("field") or ""
        shown["field"] = field
        value = action.get("value")
        spec = fields.get(field)
        if isinstance(value, list):
            shown["value"] = [format_scalar(spec, v, tz) for v in value]
        else:
            shown["value"] = format_scalar(spec, value, tz)
    elif kind == "assign":
        to = next((k for k in ("agent", "team", "strategy") if action.get(k) is not None), "team")
        shown["assign_to"] = to
        shown[to] = format_scalar(None, action.get(to))
    elif kind in ("add_tags", "remove_tags"):
        tags = action.get("tags")
        shown["tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
    elif kind == "send_email":
        shown["to"] = str(action.get("to") or "")
        shown["address"] = str(action.get("address") or "")
    elif kind == "notify":
        shown["to"] = str(action.get("to") or "")
        shown["agent"] = format_scalar(None, action.get("agent"))
    elif kind == "webhook":
        shown["url"] = str(action.get("url") or "")
        shown["secret"] = str(action.get("secret") or "")
    elif kind == "move_department":
        shown["department"] = format_scalar(None, action.get("department"))
        shown["team"] = format_scalar(None, action.get("team"))
    for key in TEMPLATE_KEYS.get(kind, ()):
        shown[f"{key}_en"], shown[f"{key}_zh"] = template_inputs(action.get(key))
    return shown


def form_from_actions(actions: Sequence[Mapping[str, Any]], name: str, fields: Mapping[str, FieldUI],
                      tz: str | None = None) -> list[tuple[str, str]]:
    """The (input name, value) pairs the actions list would post (what the template renders)."""
    pairs: list[tuple[str, str]] = []
    for i, action in enumerate(actions):
        shown = action_inputs(action, fields, tz)
        kind = shown["type"]
        keys = ["type", *ACTION_INPUTS.get(kind, ()),
                *(f"{k}_{lang}" for k in TEMPLATE_KEYS.get(kind, ()) for lang in ("en", "zh"))]
        for key in keys:
            if key == "kw":
                continue
            if kind == "assign" and key in ("agent", "team", "strategy") and key != shown["assign_to"]:
                continue
            value = shown.get(key, "")
            for v in value if isinstance(value, list) else [value]:
                pairs.append((f"{name}[{i}][{key}]", v))
    return pairs


def apply_action_op(actions: list[dict], op: str, index: int | None, new_type: str = "") -> list[dict]:
    """add (a new row of `new_type`), remove, up, down."""
    actions = list(actions)
    if op == "add":
        actions.append({"type": new_type})
    elif index is not None and 0 <= index < len(actions):
        if op == "remove":
            del actions[index]
        elif op == "up" and index > 0:
            actions[index - 1], actions[index] = actions[index], actions[index - 1]
        elif op == "down" and index < len(actions) - 1:
            actions[index + 1], actions[index] = actions[index], actions[index + 1]
    return actions


def action_errors(errors: Any, prefix: str = "actions") -> dict[int, list[str]]:
    """{"actions.2": msg} / ActionError(path="actions.2") -> {2: [msg]}; "actions" itself -> key -1."""
    found: dict[int, list[str]] = {}
    for path, messages in errors_by_path(errors, prefix).items():
        head = path.split(".", 1)[0]
        found.setdefault(int(head) if head.isdigit() else -1, []).extend(messages)
    return found


# ------------------------------------------------------------------------------------------
# Form access that works with werkzeug MultiDicts and plain dicts (tests)
# ------------------------------------------------------------------------------------------
def _keys(form: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys(form.keys()))


def _getlist(form: Mapping[str, Any], key: str) -> list[str]:
    if hasattr(form, "getlist"):
        return list(form.getlist(key))
    value = form.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def multidict(pairs: Sequence[tuple[str, str]]):
    """Pairs as a werkzeug MultiDict (what a post of them would give)."""
    from werkzeug.datastructures import MultiDict
    return MultiDict(list(pairs))
